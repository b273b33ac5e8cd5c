"""Votes racing each other and the close, against a real server: gunicorn with several sync
workers in a subprocess, on a fresh SQLite file and, when ``CONSULT_TEST_DATABASE_URL`` is set,
on a scratch PostgreSQL database created beside the test database (and dropped afterwards).

The data is made in this process through the app's services; the votes go over HTTP from
threads, each signed-in person with their own cookie, released together by a barrier.
The server helpers come from bench/pages.py and the HTTP client from bench/votes.py.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from flask import Flask

from bench.pages import stop
from bench.votes import Client, Reply, sign_in_all, start_gunicorn

pytestmark = pytest.mark.server

WORKERS = 4
VOTERS = 20
PASSWORD = "race-password-1"
VALUES = ("support", "oppose", "abstain")
TEXT = """## Purpose

This policy sets out how the council publishes open data.

## Scope

It applies to every department and to contractors working for them.
"""
TEST_DATABASE_URL = os.environ.get("CONSULT_TEST_DATABASE_URL", "")


@pytest.fixture(autouse=True)
def _transaction():
    """Override tests/conftest.py's autouse fixture with a no-op here: it swaps ``db.session`` for
    one bound to the unit tests' database, and this module's setup must write to the database the
    server uses."""
    yield


@dataclass
class Place:
    """A consultation of the race: its slug, the amendment and the section voted on."""

    slug: str
    id: int
    amendment_id: int
    section_key: str


@dataclass
class Race:
    port: int
    database_url: str
    app: Flask  # in this process, on the server's database: for setting up and reading back
    log: Path  # gunicorn's
    burst: Place  # stays open
    closing: Place  # the author closes it during the burst
    author: Client
    voters: list[Client]

    def votes(self, place: Place) -> list[dict]:
        from sqlalchemy import select

        from consult.core.models import db
        from consult.voting.models import Vote

        with self.app.app_context():
            rows = db.session.execute(select(Vote).where(Vote.consultation_id == place.id)).scalars()
            return [
                {
                    "user_id": v.user_id,
                    "contribution_id": v.contribution_id,
                    "section_key": v.section_key,
                    "value": v.value,
                    "created_at": v.created_at,
                    "updated_at": v.updated_at,
                }
                for v in rows
            ]

    def log_size(self) -> int:
        return self.log.stat().st_size

    def assert_no_server_error(self, since: int) -> None:
        """Nothing went wrong on the server since the log had ``since`` bytes."""
        with open(self.log, "rb") as f:
            f.seek(since)
            log = f.read().decode(errors="replace")
        if "Traceback" in log:
            first = log.index("Traceback")
            pytest.fail(f"the server logged an error:\n{log[max(0, first - 200) : first + 6000]}", pytrace=False)

    def consultation(self, place: Place):
        from consult.core.models import db
        from consult.proposals.models import Consultation

        with self.app.app_context():
            c = db.session.get(Consultation, place.id)
            return c.state, c.closes_at


# ---- the database and the server -------------------------------------------------------------


@contextmanager
def _scratch_postgresql(url: str) -> Iterator[str]:
    """A database of its own on the test server, so the unit tests' database is left alone."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"consult_vote_races_{uuid.uuid4().hex[:12]}"
    base = make_url(url)
    with psycopg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(app: Flask) -> tuple[Place, Place, dict[str, int]]:
    """Two open consultations with an amendment each, an author and the voters (the author
    first; returned as email -> user id), through the app's services."""
    from flask_migrate import upgrade

    from consult.accounts import services as accounts
    from consult.accounts.models import Role
    from consult.amendments.services import propose_amendment
    from consult.core.models import db
    from consult.policies.services import record_agreement
    from consult.proposals import services as proposals
    from consult.proposals.models import Transition

    real_hash = accounts.hash_password
    with app.app_context():  # the hash method is a setting of the app
        one_hash = real_hash(PASSWORD)  # scrypt is slow on purpose; everyone here has the same password
    with app.app_context(), mock.patch.object(accounts, "hash_password", lambda p: one_hash if p == PASSWORD else real_hash(p)):
        upgrade()
        council = accounts._new_organisation(slug="council", name="Riverside Council")
        author = accounts.create_user(email="author@race.example", password=PASSWORD, display_name="Ada Author")
        accounts.grant_role(council, author, Role.AUTHOR)
        voters = [accounts.create_user(email=f"voter{n}@race.example", password=PASSWORD, display_name=f"Voter {n}") for n in range(VOTERS)]
        for person in (author, *voters):  # as at sign-up: they sign in without the terms step
            record_agreement(person)
        places = []
        for slug in ("burst", "closing"):
            c = proposals.create_consultation(council, actor=author, slug=slug, title=f"Open data ({slug})")
            proposals.write_markdown(c, TEXT, actor=author)
            proposals.publish_version(c, actor=author)
            proposals.change_state(c, Transition.OPEN, actor=author)
            section = c.current_version.sections[1]
            amendment = propose_amendment(
                c,
                actor=voters[0],
                section_key=section.key,
                rationale="Say who checks it.",
                proposed_text=section.body.strip() + " An auditor checks it every year.",
            )
            places.append(Place(slug, c.id, amendment.id, c.current_version.sections[0].key))
        db.session.commit()
        ids = {u.email: u.id for u in [author, *voters]}
    return places[0], places[1], ids


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def race(request, tmp_path_factory) -> Iterator[Race]:
    from consult import create_app

    tmp = tmp_path_factory.mktemp(f"vote-races-{request.param}")
    if request.param == "postgresql" and not TEST_DATABASE_URL.startswith(("postgres://", "postgresql")):
        pytest.skip("set CONSULT_TEST_DATABASE_URL=postgresql://... to race on PostgreSQL too")
    with ExitStack() as cleanup:
        if request.param == "postgresql":
            database_url = cleanup.enter_context(_scratch_postgresql(TEST_DATABASE_URL))
        else:
            database_url = f"sqlite:///{tmp / 'race.db'}"
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "race", "INSTANCE_PATH": str(tmp / "instance")})
        cleanup.callback(_dispose, app)  # runs before the scratch database is dropped
        burst, closing, ids = _seed(app)
        env = os.environ | {
            "CONSULT_DATABASE_URL": database_url,
            "CONSULT_SECRET_KEY": "race",
            "CONSULT_SESSION_COOKIE_SECURE": "false",
            "CONSULT_INSTANCE_PATH": str(tmp / "instance"),
            "CONSULT_RATE_LIMITS": "false",
        }  # races, not the posting limits
        server, port = start_gunicorn(env, WORKERS, tmp / "gunicorn.log")
        cleanup.callback(stop, server)
        author, *voters = sign_in_all(port, list(ids), PASSWORD)
        for client in (author, *voters):
            client.user_id = ids[client.email]
        yield Race(port, database_url, app, tmp / "gunicorn.log", burst, closing, author, voters)


def _dispose(app: Flask) -> None:
    from consult.core.models import db

    with app.app_context():
        db.engine.dispose()


# ---- helpers ---------------------------------------------------------------------------------


def fire(jobs: list[Callable[[], Reply]]) -> list[Reply | BaseException]:
    """Run every job in its own thread, all released at once by a barrier."""
    barrier = threading.Barrier(len(jobs))
    out: list[Reply | BaseException | None] = [None] * len(jobs)

    def run(n: int) -> None:
        barrier.wait()
        try:
            out[n] = jobs[n]()
        except BaseException as error:  # noqa: BLE001 - reported by the caller's assertion
            out[n] = error

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return out  # type: ignore[return-value]


def assert_clean(reply: Reply | BaseException, refusals: tuple[int, ...]) -> None:
    """A redirect, or a refusal with a message for the person; never a 500 or a dropped connection."""
    assert isinstance(reply, Reply), f"the request failed: {reply!r}"
    if reply.redirect:
        return
    assert reply.status in refusals, f"answered {reply.status}: {reply.message or reply.body[:500]}"
    assert reply.message, f"a {reply.status} without a message: {reply.body[:500]}"


def _target(place: Place, kind: str) -> dict:
    return {"contribution_id": place.amendment_id} if kind == "amendment" else {"section_key": place.section_key}


# ---- the races -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["amendment", "section"])
def test_twenty_simultaneous_votes_by_one_person_leave_one_row(race, kind):
    who, place = race.voters[1], race.burst
    values = [VALUES[n % len(VALUES)] for n in range(20)]
    since, started = race.log_size(), time.perf_counter()
    replies = fire([lambda v=v: who.vote(place.slug, v, **_target(place, kind)) for v in values])
    elapsed = time.perf_counter() - started

    race.assert_no_server_error(since)
    for reply in replies:
        assert_clean(reply, refusals=(409,))
    succeeded = {v for v, r in zip(values, replies, strict=True) if isinstance(r, Reply) and r.redirect}
    refused = [r.message for r in replies if not r.redirect]
    # Nothing stands in the way of a vote on an open consultation: each one is taken, the last wins.
    assert not refused, f"{len(refused)} of one person's 20 votes refused: {refused}"
    mine = [
        v
        for v in race.votes(place)
        if v["user_id"] == who.user_id
        and (v["contribution_id"] == place.amendment_id if kind == "amendment" else v["section_key"] == place.section_key)
    ]
    assert len(mine) == 1, f"{len(mine)} rows for one person's vote on one {kind}: {mine}"
    assert mine[0]["value"] in succeeded
    assert mine[0]["updated_at"] >= mine[0]["created_at"]
    assert elapsed < 30


def test_votes_racing_the_close_never_land_after_it(race):
    place, author, voters = race.closing, race.author, race.voters
    rounds = 5  # each voter votes this many times in a row: amendment, section, amendment...
    close_after = VOTERS * rounds // 3  # the author closes once a third of the votes are answered
    answered = threading.Semaphore(0)
    log: list[list[tuple[str, str, Reply | BaseException]]] = [[] for _ in voters]
    since = race.log_size()

    def voter(n: int) -> Callable[[], None]:
        def run() -> None:
            # As in a browser, the page first: so workers also take votes right after a GET.
            page = voters[n].request("GET", f"/c/{place.slug}", keep_cookies=False)
            assert page.status == 200, f"the consultation page answered {page.status}: {page.message}"
            for r in range(rounds):
                kind = ("amendment", "section")[(n + r) % 2]
                value = VALUES[(n + r) % len(VALUES)]
                try:
                    reply: Reply | BaseException = voters[n].vote(place.slug, value, **_target(place, kind))
                except Exception as error:  # noqa: BLE001 - asserted below
                    reply = error
                log[n].append((kind, value, reply))
                answered.release()

        return run

    def close() -> Reply:
        for _ in range(close_after):
            answered.acquire(timeout=60)
        return author.post(f"/c/{place.slug}/state", {"transition": "close"})

    *voter_outcomes, closed = fire([voter(n) for n in range(VOTERS)] + [close])

    race.assert_no_server_error(since)
    for outcome in voter_outcomes:
        assert outcome is None, f"a voter's thread failed: {outcome!r}"
    assert isinstance(closed, Reply) and closed.redirect, f"the close failed: {closed!r}"
    state, closes_at = race.consultation(place)
    assert state == "closed" and closes_at is not None

    outcomes = {"accepted": 0, "refused": 0}
    for entries in log:
        assert len(entries) == rounds
        for _kind, _value, reply in entries:
            assert_clean(reply, refusals=(403, 409))
            outcomes["accepted" if reply.redirect else "refused"] += 1
            if reply.ended < closed.started:  # answered before the close was even sent
                assert reply.redirect, f"refused while the consultation was open: {reply.status} {reply.message}"
            if reply.started > closed.ended:  # sent after the close was answered
                assert not reply.redirect, "a vote was accepted after the close was answered"
    # The race happened: some votes got in before the close and some were turned away after it.
    assert outcomes["accepted"] and outcomes["refused"], outcomes

    stored = race.votes(place)
    late = [v for v in stored if v["created_at"] > closes_at or v["updated_at"] > closes_at]
    assert not late, f"votes dated after the close at {closes_at}: {late}"

    # What is stored is exactly each voter's last accepted vote on each item: every accepted vote
    # is there (unless the same person's later accepted vote replaced it), no refused one is.
    expected = {}
    for client, entries in zip(voters, log, strict=True):
        for kind, value, reply in entries:
            if reply.redirect:
                expected[(client.user_id, kind)] = value
    found = {}
    for v in stored:
        key = (v["user_id"], "amendment" if v["contribution_id"] is not None else "section")
        assert key not in found, f"two rows for one person and item: {v}"
        found[key] = v["value"]
    assert found == expected


@pytest.mark.parametrize("kind", ["amendment", "section"])
def test_a_vote_that_read_the_clock_first_but_writes_second_keeps_its_row_dated_in_order(race, kind):
    """The interleaving behind a rare 409 in the burst on PostgreSQL, made deterministic: two of
    one person's votes hold the consultation open at once; the one that took ``now`` first
    upserts second, onto the row the other created a moment later."""
    from consult.accounts.models import User
    from consult.contributions.models import Contribution
    from consult.core.models import db
    from consult.proposals.models import Consultation
    from consult.voting import services as voting

    place, who = race.burst, race.voters[2]
    with race.app.app_context():
        c, actor = db.session.get(Consultation, place.id), db.session.get(User, who.user_id)
        target = (
            {"contribution": db.session.get(Contribution, place.amendment_id)}
            if kind == "amendment"
            else {"section_key": place.section_key}
        )
        voting.cast_vote(c, actor=actor, value="support", **target)
        db.session.commit()
        (created,) = [
            v["created_at"]
            for v in race.votes(place)
            if v["user_id"] == who.user_id and (v["contribution_id"] is not None) == (kind == "amendment")
        ]
        earlier = created - timedelta(milliseconds=5)
        with (
            mock.patch("consult.voting.services.utcnow", return_value=earlier),
            mock.patch("consult.proposals.services.utcnow", return_value=earlier),
        ):
            voting.cast_vote(c, actor=actor, value="oppose", **target)  # the vote's clock, and hold_open's
        db.session.commit()
    (row,) = [v for v in race.votes(place) if v["user_id"] == who.user_id and (v["contribution_id"] is not None) == (kind == "amendment")]
    assert row["value"] == "oppose"
    assert row["created_at"] == created and row["updated_at"] == created
