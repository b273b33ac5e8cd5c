"""Statements for the opinion map: short contributions people agree or disagree with, the next
one to vote on, and the opinion map itself, cached and recomputed off the request path.

The computation is ``consult.voting.opinion.compute``; this module feeds it the latest vote of
each participant on each visible statement and keeps its result in ``opinion_maps`` with the
count and the date of the votes it saw, so a page can tell whether it is current, and the change
stamps (``core.cache``) at which it was: while they have not moved, a page need not count the
votes again.
"""

from __future__ import annotations

import array
import functools
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import chain

import numpy as np
from sqlalchemy import case, func, select

from consult.accounts.models import User
from consult.contributions.models import Contribution, ContributionKind
from consult.contributions.services import BODY_RULES, add_contribution
from consult.core import cache as change_cache
from consult.core import jobs
from consult.core.models import db, reading_first, utcnow
from consult.core.signals import vote_changed
from consult.permissions import visible_contributions
from consult.proposals.models import Consultation
from consult.voting.models import OpinionMapCache, Vote

log = logging.getLogger(__name__)

MAX_STATEMENT_LENGTH = BODY_RULES[ContributionKind.STATEMENT].max_length
VALUE_OF = {"agree": 1, "disagree": -1, "pass": 0}


def post_statement(consultation: Consultation, *, actor: User, body: str) -> Contribution:
    """A short statement others will agree or disagree with (participants write them; moderators
    seed the first ones)."""
    return add_contribution(consultation, actor=actor, kind=ContributionKind.STATEMENT, body=body)


def statements_query(consultation: Consultation, user: User | None):
    """Visible statements, least voted first (the order the voting view offers them in)."""
    votes = select(func.count(Vote.id)).where(Vote.contribution_id == Contribution.id).correlate(Contribution).scalar_subquery()
    return (
        select(Contribution)
        .where(
            Contribution.consultation_id == consultation.id, Contribution.kind == ContributionKind.STATEMENT, visible_contributions(user)
        )
        .order_by(votes, Contribution.created_at, Contribution.id)
    )


def visible_statements(consultation: Consultation, user: User | None) -> list[Contribution]:
    return list(db.session.scalars(statements_query(consultation, user)))


def next_statement(consultation: Consultation, user: User) -> Contribution | None:
    """The least-voted statement ``user`` has not voted on yet (not their own)."""
    mine = select(Vote.contribution_id).where(Vote.user_id == user.id, Vote.contribution_id.is_not(None))
    return db.session.scalar(
        statements_query(consultation, user)
        .where(~Contribution.id.in_(mine), Contribution.author_id.is_not_distinct_from(None) | (Contribution.author_id != user.id))
        .limit(1)
    )


def voted_statement(consultation: Consultation, user: User, statement_id: int | None) -> Contribution | None:
    """The visible statement numbered ``statement_id`` if ``user`` has voted on it (the card
    shows its tally after the vote), else None."""
    if statement_id is None:
        return None
    voted = select(Vote.contribution_id).where(Vote.user_id == user.id, Vote.contribution_id == statement_id)
    return db.session.scalar(statements_query(consultation, user).where(Contribution.id == statement_id, Contribution.id.in_(voted)))


@dataclass(frozen=True)
class Progress:
    """How far a person is through the statements: those of others (what ``next_statement``
    offers them) and those of their own they voted on too, so the count agrees with the list."""

    voted: int
    total: int
    others: int  # visible statements by others
    own: int  # visible statements of their own (offered to them only on the list)


def voting_progress(consultation: Consultation, user: User) -> Progress:
    """``user``'s progress through the statements, in one query."""
    offered = statements_query(consultation, user).order_by(None).subquery()
    mine = select(Vote.contribution_id).where(Vote.user_id == user.id, Vote.contribution_id.is_not(None))
    theirs = offered.c.author_id.is_(None) | (offered.c.author_id != user.id)
    voted = offered.c.id.in_(mine)
    others, others_voted, own, own_voted = db.session.execute(
        select(
            func.count().filter(theirs),
            func.count().filter(theirs & voted),
            func.count().filter(~theirs),
            func.count().filter(~theirs & voted),
        ).select_from(offered)
    ).one()
    return Progress(voted=others_voted + own_voted, total=others + own_voted, others=others, own=own)


def tallies_shown(consultation: Consultation, user: User | None, items: Iterable[Contribution], votes: dict) -> set[int]:
    """The statements among ``items`` whose tally ``user`` sees: all of them once voting has
    closed; while it is open, only those they voted on (``votes``: their votes by contribution
    id) or wrote, so that the count does not anchor their vote (Pol.is hides it too)."""
    if not consultation.is_open:
        return {s.id for s in items}
    me = user.id if user is not None and getattr(user, "is_authenticated", False) else None
    return {s.id for s in items if s.id in votes or (me is not None and s.author_id == me)}


# ---- the opinion map -----------------------------------------------------------------------


def _statement_votes(consultation: Consultation):
    """Votes on the consultation's statements, hidden and meta ones included: the computation
    excludes those itself, the way Pol.is does (see ``opinion.compute``'s ``excluded_statements``)."""
    return (
        select(Vote.user_id, Vote.contribution_id, Vote.value, Vote.updated_at)
        .join(Contribution, Contribution.id == Vote.contribution_id)
        .where(
            Contribution.consultation_id == consultation.id,
            Contribution.kind == ContributionKind.STATEMENT,
            Contribution.deleted_at.is_(None),
        )
    )


def map_stamps(consultation: Consultation) -> tuple[int, int]:
    """The change stamps every vote moves: the consultation's (a vote row is the consultation's)
    and the site's (a bulk statement that names no one consultation, an erasure). Read before the
    votes: a vote committed in between moves them, so a map can be thought stale, never current
    when it is not (on PostgreSQL each statement sees the commits made before it)."""
    site, own = change_cache.stamps(change_cache.SITE, change_cache.consultation_scope(consultation.id))
    return site, own


def votes_fingerprint(consultation: Consultation) -> tuple[int, object]:
    """How many votes there are on the visible statements, and the latest change."""
    subquery = _statement_votes(consultation).subquery()
    count, last = db.session.execute(select(func.count(), func.max(subquery.c.updated_at)).select_from(subquery)).one()
    return count or 0, last


@dataclass(frozen=True)
class MapInputs:
    """What one computation of the map reads, in one snapshot: the votes, the statements left
    out, the k-smoothing state of the stored map, and the fingerprint of the votes seen."""

    fingerprint: tuple[int, object]
    stamps: tuple[int, int]  # read before the votes (``map_stamps``)
    votes: np.ndarray  # (participant, statement, +1/-1/0) rows, int64, oldest first
    excluded: set[int]
    smoothing: object  # opinion.KSmoothing | None


NOT_A_STATEMENT_VALUE = 9  # a value the map does not use (none is stored on statements)


def _vote_table(query) -> np.ndarray:
    """The integer rows of ``query`` as one (n, 3) int64 array, read in C (``array.array``), with
    no Python tuple per row: 2.5 million votes are one array, not 7.5 million Python ints in tuples."""
    flat = array.array("q", chain.from_iterable(db.session.execute(query)))
    return np.frombuffer(flat, dtype=np.int64).reshape(-1, 3)


def map_inputs(
    consultation: Consultation, *, stamps: tuple[int, int] | None = None, fingerprint: tuple[int, object] | None = None
) -> MapInputs:
    """Everything one computation reads; ``stamps`` and ``fingerprint`` when the caller read them
    already, in this snapshot (the stamps first)."""
    from consult.voting.opinion import KSmoothing

    if stamps is None:
        stamps = map_stamps(consultation)
    if fingerprint is None:
        fingerprint = votes_fingerprint(consultation)
    value = case(
        *((Vote.value == name, number) for name, number in VALUE_OF.items()), else_=NOT_A_STATEMENT_VALUE
    )  # the number the maths takes, computed by the database
    base = _statement_votes(consultation)
    table = _vote_table(base.with_only_columns(Vote.user_id, Vote.contribution_id, value).order_by(Vote.updated_at, Vote.id))
    mapped = set(  # shown to the public, and about the policy rather than the conversation itself
        db.session.scalars(
            select(Contribution.id).where(
                Contribution.consultation_id == consultation.id,
                Contribution.kind == ContributionKind.STATEMENT,
                Contribution.is_meta.is_(False),
                visible_contributions(None),
            )
        )
    )
    cache = db.session.get(OpinionMapCache, consultation.id)
    previous = None
    if cache is not None and cache.best_k is not None and cache.best_k_runs is not None and cache.shown_k is not None:
        previous = KSmoothing(cache.best_k, cache.best_k_runs, cache.shown_k)
    return MapInputs(
        fingerprint=fingerprint,
        stamps=stamps,
        votes=table[table[:, 2] != NOT_A_STATEMENT_VALUE],
        excluded=set(np.unique(table[:, 1]).tolist()) - mapped,
        smoothing=previous,
    )


def computed_map(inputs: MapInputs):
    """The maths, on inputs already read: no database, so no lock held while it runs."""
    from consult.voting.opinion import compute

    return compute(inputs.votes, excluded_statements=inputs.excluded, smoothing=inputs.smoothing)


def store_map(consultation: Consultation, inputs: MapInputs, result) -> dict:
    """Keep ``result``, computed from ``inputs``, as the consultation's map (with the fingerprint
    of the votes it saw, so a page can tell whether it is current)."""
    data = _as_json(result, consultation)
    cache = db.session.get(OpinionMapCache, consultation.id) or OpinionMapCache(consultation_id=consultation.id)
    if result.smoothing is not None:
        cache.best_k, cache.best_k_runs, cache.shown_k = result.smoothing.last_k, result.smoothing.last_k_count, result.smoothing.smoothed_k
    (count, last) = inputs.fingerprint
    cache.vote_count, cache.last_vote_at, cache.computed_at, cache.result = count, last, utcnow(), json.dumps(data)
    cache.site_stamp, cache.consultation_stamp = inputs.stamps
    cache.failed_at = cache.failure = cache.failed_vote_count = cache.failed_last_vote_at = None
    db.session.add(cache)
    db.session.flush()
    return data


def compute_map(consultation: Consultation) -> dict:
    """Compute the opinion map now (the CLI, tests) and store it, in the caller's transaction."""
    inputs = map_inputs(consultation)
    return store_map(consultation, inputs, computed_map(inputs))


def _as_json(result, consultation: Consultation) -> dict:
    """The map with participants named by their external ids (imported) or Consult ids."""
    ids = {p for group in result.groups for p in group}
    names = dict(db.session.execute(select(User.id, User.external_id).where(User.id.in_(ids))).all()) if ids else {}

    def who(user_id):
        return names.get(user_id) or str(user_id)

    def statements(items: Iterable) -> list[dict]:
        return [asdict(s) if hasattr(s, "__dataclass_fields__") else dict(s) for s in items]

    return {
        "consultation": consultation.slug,
        "k": result.k,
        "groups": [
            {
                "id": i,
                "participants": [who(p) for p in group],
                "representative": statements(result.representative[i]) if i < len(result.representative) else [],
            }
            for i, group in enumerate(result.groups)
        ],
        "positions": {who(p): list(map(float, xy)) for p, xy in result.positions.items()},
        "consensus": {direction: statements(items) for direction, items in _consensus(result).items()},
    }


def _consensus(result) -> dict[str, list]:
    """Consensus statements split by direction: what (nearly) everyone agrees and disagrees with."""
    split: dict[str, list] = {"agree": [], "disagree": []}
    for item in result.consensus:
        split.setdefault(item.direction, []).append(item)
    return split


@dataclass(frozen=True)
class ShownMap:
    enough: bool  # a map to draw: at least one group (k = 1: everyone votes alike, one group and its consensus)
    bodies: dict[int, str]  # the statements it quotes (representative of a group, or consensus)
    my_group: int | None  # the group of the participant looking at it


def shown_map(consultation: Consultation, data: dict | None, *, me: str | None) -> ShownMap:
    """What the map page shows of a computed map ``data``, for participant ``me`` (their id in the map)."""
    if not data or data.get("k", 0) < 1:
        return ShownMap(False, {}, None)
    ids = {s["statement"] for g in data["groups"] for s in g["representative"]}
    ids |= {s["statement"] for items in data.get("consensus", {}).values() for s in items}
    my_group = None
    for group in data["groups"]:
        if me is not None and me in group["participants"]:
            my_group = group["id"]
    return ShownMap(True, statement_bodies(consultation, ids), my_group)


def statement_bodies(consultation: Consultation, ids: Iterable[int]) -> dict[int, str]:
    """The public text of the given statements of ``consultation`` (what the opinion map quotes)."""
    ids = list(ids)
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Contribution.id, Contribution.body).where(
                Contribution.id.in_(ids), Contribution.consultation_id == consultation.id, visible_contributions(None)
            )
        ).all()
    )


@dataclass(frozen=True)
class CachedMap:
    """The stored map as a page shows it."""

    result: str | None  # the last good map as stored (JSON), None while none was computed
    current: bool  # computed from the votes as they are now
    computed_at: datetime | None  # when ``data`` was computed: the map shows the votes "as of" then
    failed_at: datetime | None = None  # the computation for the votes as they are now failed then (moderators see it)
    failure: str | None = None  # why, in short (the error's class)

    @functools.cached_property
    def data(self) -> dict | None:
        """The map, read from its JSON when a page draws it (the status poll does not: 5,000
        participants' positions take milliseconds to read)."""
        return json.loads(self.result) if self.result is not None else None

    @property
    def updating(self) -> bool:
        """A computation is queued for the latest votes (not given up on after a failure)."""
        return not self.current and self.failed_at is None


def cached_map(consultation: Consultation) -> CachedMap:
    """The stored map and whether it is current; when it is not, a recomputation is queued (once
    while one is pending), so no page waits for it, unless the computation already failed for
    these very votes: then the last good map is shown as of its date, and the next vote tries again.

    Current while the change stamps are those the map was stored (or last found current) at:
    two stamps read, not the votes (unless this transaction has written: its stamps are drawn as
    it commits). When they moved (a vote, but also a comment or a sign-up),
    the votes are counted as before, and a job queued to record the new stamps if the map is
    still current, or to recompute it if not."""
    cache = db.session.get(OpinionMapCache, consultation.id)
    stamps = map_stamps(consultation)
    if (
        cache is not None
        and cache.vote_count >= 0
        and (cache.site_stamp, cache.consultation_stamp) == stamps
        and not change_cache.writes_pending()
    ):
        return CachedMap(result=cache.result, current=True, computed_at=cache.computed_at)
    count, last = votes_fingerprint(consultation)
    current = cache is not None and cache.vote_count == count and cache.last_vote_at == last
    failed = (
        cache is not None
        and not current
        and cache.failed_at is not None
        and (cache.failed_vote_count, cache.failed_last_vote_at) == (count, last)
    )
    if not failed:  # stale: recomputed; current: its stamps recorded
        jobs.enqueue_quietly(recompute_opinion_map, consultation.id, once=map_job_key(consultation.id))
    has_map = cache is not None and cache.vote_count >= 0
    return CachedMap(
        result=cache.result if has_map else None,
        current=current,
        computed_at=cache.computed_at if has_map else None,
        failed_at=cache.failed_at if failed else None,
        failure=cache.failure if failed else None,
    )


def record_map_failure(consultation: Consultation, error: Exception, fingerprint: tuple[int, object]) -> None:
    """Keep the last good map and note that computing one for the votes ``fingerprint`` failed."""
    cache = db.session.get(OpinionMapCache, consultation.id)
    if cache is None:  # no map yet: a row that says so (vote_count -1) carries the failure
        cache = OpinionMapCache(consultation_id=consultation.id, vote_count=-1, last_vote_at=None, computed_at=utcnow(), result="{}")
        db.session.add(cache)
    cache.failed_at, cache.failure = utcnow(), type(error).__name__[:200]
    cache.failed_vote_count, cache.failed_last_vote_at = fingerprint
    cache.site_stamp = cache.consultation_stamp = None  # not current: the votes are counted
    db.session.flush()


def map_job_key(consultation_id: int) -> str:
    return f"opinion-map:{consultation_id}"


def map_votes_changed(consultation: Consultation) -> None:
    """A vote on a statement makes the stored map stale: recompute it once the vote commits."""
    jobs.enqueue_after_commit(recompute_opinion_map, consultation.id, once=map_job_key(consultation.id))


@vote_changed.connect
def _statement_vote_changed(consultation: Consultation, *, statement: bool = False, **_) -> None:
    if statement:
        map_votes_changed(consultation)


@jobs.job(retries=2)
def recompute_opinion_map(consultation_id: int) -> None:
    """The job: compute and store the map of one consultation; when its votes have not changed,
    only record the change stamps it is current at (a page counted the votes because they moved).

    The votes are read in a reading transaction that ends before the maths starts, and the map
    is written in a short transaction after it: on SQLite a job's transaction holds the write
    lock from its first statement, and the computation can take seconds on a busy machine,
    which every vote would wait for. A map stored from votes that changed meanwhile is not
    current, so the page still says "being updated" and the vote that changed them has queued
    the next run."""
    with reading_first():
        consultation = db.session.get(Consultation, consultation_id)
        cache = db.session.get(OpinionMapCache, consultation_id)
        if consultation is None:
            db.session.rollback()
            return
        stamps = map_stamps(consultation)
        fingerprint = votes_fingerprint(consultation)  # counted once: the inputs take it
        unchanged = cache is not None and cache.vote_count >= 0 and (cache.vote_count, cache.last_vote_at) == fingerprint
        inputs = None if unchanged else map_inputs(consultation, stamps=stamps, fingerprint=fingerprint)
        db.session.rollback()  # nothing written: end the snapshot, release the connection
    if unchanged:
        _record_stamps(consultation_id, stamps)
        return
    try:
        result = computed_map(inputs)
    except Exception as error:  # noqa: BLE001 - recorded and shown to moderators; retrying the same votes fails the same way
        consultation = db.session.get(Consultation, consultation_id)
        if consultation is not None:
            record_map_failure(consultation, error, inputs.fingerprint)
        log.warning("opinion map of consultation %s not computed: %s", consultation_id, type(error).__name__)
        return
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is not None:
        store_map(consultation, inputs, result)


def _record_stamps(consultation_id: int, stamps: tuple[int, int]) -> None:
    """Note that the stored map is current at ``stamps`` (read before the votes that match it)."""
    cache = db.session.get(OpinionMapCache, consultation_id)
    if cache is not None:
        cache.site_stamp, cache.consultation_stamp = stamps
        db.session.flush()
