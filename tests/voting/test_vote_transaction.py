"""A vote holds the write lock for its write only (issue 22, point 4): the request reads and
checks everything in a reading transaction (SQLite: a deferred BEGIN, no write lock), then one
short transaction holds the consultation open, re-reads the item's state and writes the vote,
and nothing is read after the commit (the redirect's address was worked out before)."""

from __future__ import annotations

from contextlib import closing

import pytest
from sqlalchemy import event, select

from consult.core.jobs import queue
from consult.core.models import db
from consult.voting.models import Vote
from tests.factories import explain_changes, login, make_consultation, make_organisation, make_user
from tests.voting.file_app import sqlite_file_app


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction here: this module's app has its own SQLite file."""
    yield


@pytest.fixture
def site(tmp_path):
    app = sqlite_file_app(tmp_path, WTF_CSRF_ENABLED=False, JOBS_IMMEDIATE=True)
    from consult.amendments.services import propose_amendment
    from consult.voting.statements import post_statement

    client = app.test_client()
    with app.app_context():
        db.create_all()
        council = make_organisation(slug="council")
        author = make_user(role="author", organisation=council)
        citizen = make_user(email="casey@example.org")
        c = make_consultation(council, author=author, slug="open-one")
        section = c.current_version.sections[1]
        amendment = propose_amendment(c, actor=author, section_key=section.key, rationale="Say who.", proposed_text="Every department.")
        statement = post_statement(c, actor=author, body="Publish the data weekly.")
        db.session.commit()
        login(client, citizen)
        targets = {"amendment": amendment.id, "statement": statement.id, "section": section.key, "citizen": citizen.id, "author": author.id}
    queue(app).huey.immediate = False  # as in production: the map's recomputation is queued, not run in the request
    try:
        yield app, client, targets
    finally:
        queue(app).huey.flush()
        with app.app_context():
            db.engine.dispose()


def statements_of(app, client, form) -> tuple[int, list[str]]:
    """(the answer's status, the SQL the request ran, BEGINs included, in order)."""
    run: list[str] = []

    def record(_conn, _cursor, statement, *_):
        run.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        status = client.post("/c/open-one/vote", data=form).status_code
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return status, run


@pytest.mark.parametrize(
    ("kind", "value", "written"),
    [
        ("amendment", "support", "INSERT INTO votes"),
        ("section", "oppose", "INSERT INTO votes"),
        ("statement", "agree", "INSERT INTO votes"),
    ],
)
def test_the_write_lock_is_held_for_the_write_only(site, kind, value, written):
    app, client, targets = site
    form = {"contribution_id": targets[kind]} if kind != "section" else {"section_key": targets[kind]}
    status, run = statements_of(app, client, {**form, "value": value})
    assert status == 302
    assert run[0] == "BEGIN"  # the reads: no write lock (a POST would begin IMMEDIATE)
    assert run.count("BEGIN IMMEDIATE") == 1
    write = run[run.index("BEGIN IMMEDIATE") + 1 :]
    # the vote in one statement, then the consultation's cache stamp (consult/core/cache.py,
    # written by the same transaction so a cached public page never outlives the vote); nothing read
    assert len(write) == 2 and write[0].startswith("INSERT INTO votes")
    assert write[1].startswith("INSERT INTO cache_stamps") and "ON CONFLICT (scope) DO UPDATE" in write[1]
    assert "FROM consultations" in write[0] and "consultations.state = ?" in write[0]  # only while open...
    if kind != "section":
        assert "JOIN contributions" in write[0] and "contributions.moderation_state = ?" in write[0]  # ...and the item visible
    assert not any(s.startswith("SELECT sections.id, sections.version_id") for s in run)  # a section is looked up, the text not loaded
    assert not any("FROM memberships" in s for s in run)  # signing the voter in needs no roles of theirs (nor does the vote)
    with app.app_context():
        stored = db.session.scalars(select(Vote.value).where(Vote.user_id == targets["citizen"])).all()
    assert stored == [value]


def test_a_withdrawal_deletes_under_the_lock_and_says_whether_there_was_a_vote(site):
    app, client, targets = site
    form = {"contribution_id": targets["amendment"], "value": "withdraw"}
    assert client.post("/c/open-one/vote", data=form, follow_redirects=True).get_data(as_text=True).count("You had not voted on this.") == 1
    client.post("/c/open-one/vote", data={"contribution_id": targets["amendment"], "value": "support"})
    status, run = statements_of(app, client, form)
    write = run[run.index("BEGIN IMMEDIATE") + 1 :]
    assert status == 302 and len(write) == 3 and write[1].startswith("DELETE FROM votes")
    assert write[2].startswith("INSERT INTO cache_stamps")  # the consultation's cache stamp (consult/core/cache.py)
    page = client.get(f"/amendments/{targets['amendment']}", follow_redirects=True).get_data(as_text=True)
    assert "Your vote is withdrawn." in page


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("UPDATE consultations SET state = 'closed'", "This consultation is closed"),
        (
            "UPDATE consultations SET closes_at = strftime('%Y-%m-%d %H:%M:%S.000000', opens_at, '+1 seconds')",
            "This consultation is closed",
        ),
        ("UPDATE contributions SET moderation_state = 'hidden' WHERE kind = 'amendment'", "This contribution is hidden or deleted"),
    ],
)
def test_a_vote_refused_by_the_write_itself_says_why_and_writes_nothing(site, monkeypatch, change, said):
    """Closed or hidden after the checks that come before the write (as a close or a moderator
    can, between them): the upsert inserts nothing, and the answer says why."""
    from consult.voting import services

    app, client, targets = site
    checked = services.vote_to_cast

    def then_changed(*args, **kwargs):
        vote = checked(*args, **kwargs)
        with closing(db.engine.raw_connection()) as raw:
            raw.cursor().execute(change)
            raw.commit()
        return vote

    monkeypatch.setattr(services, "vote_to_cast", then_changed)
    answer = client.post("/c/open-one/vote", data={"contribution_id": targets["amendment"], "value": "support"})
    assert answer.status_code == 409 and said in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Vote.id)).all() == []


def test_a_section_vote_needs_the_key_in_the_last_published_version(site):
    """The key is looked up in the current version alone: not in a draft, nor in an older one."""
    from consult.accounts.models import User
    from consult.proposals import services as proposals
    from consult.proposals.models import Consultation

    app, client, targets = site

    def vote_on(key):
        return client.post("/c/open-one/vote", data={"section_key": key, "value": "support"})

    with app.app_context():
        c = db.session.scalar(select(Consultation).where(Consultation.slug == "open-one"))
        author = db.session.get(User, targets["author"])
        proposals.write_markdown(c, "# Only this\n\nOne new section, in a draft.", actor=author)
        db.session.commit()
    assert vote_on("only-this").status_code == 400  # a draft's section
    assert vote_on(targets["section"]).status_code == 302  # still in the current version
    with app.app_context():
        c = db.session.scalar(select(Consultation).where(Consultation.slug == "open-one"))
        author = db.session.get(User, targets["author"])
        explain_changes(c, author)
        proposals.publish_version(c, actor=author, note="Cut down to one section.")
        db.session.commit()
    assert vote_on("only-this").status_code == 302
    assert vote_on(targets["section"]).status_code == 400  # only in version 1 now
