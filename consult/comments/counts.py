"""How many comments and threads each section shows, from ``thread_counts`` rows kept up to date
in the transaction of every change that can alter them, not counted over the whole thread on
each page (issue 22).

What can change a count: a comment or reply posted, deleted, hidden, restored, approved, moved or
erased (a ``Contribution`` row), a participant blocked or unblocked (a ``Block`` row: all their
contributions in the organisation's consultations), an account erased (its blocks go with it).
The session notes the (consultation, section) pairs such a change touches, through the ORM
(``after_flush``) and through bulk UPDATE and DELETE statements (``do_orm_execute``, which asks
the database what the statement will touch before it runs), and recounts those pairs before the
commit, or before a read in the same transaction. Counting one section's thread then costs a
write, not every page view.

Visibility: the rows hold what everyone sees (``visible_contributions(None)``); a signed-in
person also sees their own contributions that wait for a moderator, counted for them apart
(an indexed query on their own contributions).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Delete, Update, delete, event, func, insert, or_, select
from sqlalchemy.orm import Session, attributes

from consult.accounts.models import User
from consult.comments.models import ThreadCount
from consult.contributions.models import Contribution, ContributionKind, ModerationState
from consult.core.models import db
from consult.moderation.models import Block
from consult.permissions import visible_contributions
from consult.proposals.models import Consultation

DISCUSSION_KINDS = (ContributionKind.COMMENT, ContributionKind.REPLY)
#: session.info: the (consultation id, section key or "") pairs to recount; (id, None): all its sections.
_TOUCHED = "consult.thread_counts"
#: Columns of a contribution whose change can change what the counts count.
_COUNTED = ("moderation_state", "deleted_at", "section_key", "parent_id", "kind", "author_id", "consultation_id")
_WHOLE = None  # every section of the consultation


@dataclass(frozen=True)
class Counts:
    comments: int = 0  # comments and replies the reader sees
    threads: int = 0  # top-level threads shown to the reader, tombstones included
    stamp: int = 0  # the consultation's latest recount (its whole-consultation row's)


def _key(section_key: str | None) -> str:
    return section_key or ""


def counts_for(consultation: Consultation, user: User | None, section_key: str | None) -> Counts:
    """What ``user`` sees of the discussion of section ``section_key`` (None: of the whole
    consultation), with the consultation's stamp: one indexed read, plus one on their own
    waiting contributions when signed in."""
    _recount_touched(db.session)
    rows = db.session.execute(
        select(ThreadCount.section_key, ThreadCount.comments, ThreadCount.threads, ThreadCount.stamp).where(
            ThreadCount.consultation_id == consultation.id, ThreadCount.section_key.in_({_key(section_key), ""})
        )
    ).all()
    found = {key: (comments, threads, stamp) for key, comments, threads, stamp in rows}
    comments, threads, _ = found.get(_key(section_key), (0, 0, 0))
    stamp = found.get("", (0, 0, 0))[2]
    if getattr(user, "is_authenticated", False):
        mine, my_threads = _own_waiting(consultation, user, section_key)
        comments, threads = comments + mine, threads + my_threads
    return Counts(comments, threads, stamp)


def section_counts(consultation: Consultation, user: User | None) -> dict[str | None, int]:
    """How many comments and replies ``user`` sees on each section (None: the whole consultation)."""
    _recount_touched(db.session)
    rows = db.session.execute(
        select(ThreadCount.section_key, ThreadCount.comments).where(
            ThreadCount.consultation_id == consultation.id, ThreadCount.comments > 0
        )
    ).all()
    result: dict[str | None, int] = {key or None: n for key, n in rows}
    if getattr(user, "is_authenticated", False):
        for key, n in db.session.execute(
            select(Contribution.section_key, func.count())
            .where(_waiting_of(consultation, user), Contribution.deleted_at.is_(None))
            .group_by(Contribution.section_key)
        ):
            result[key] = result.get(key, 0) + n
    return result


def _waiting_of(consultation: Consultation, user: User):
    return (
        (Contribution.author_id == user.id)
        & (Contribution.moderation_state == ModerationState.PENDING.value)
        & (Contribution.consultation_id == consultation.id)
        & Contribution.kind.in_(DISCUSSION_KINDS)
    )


def _own_waiting(consultation: Consultation, user: User, section_key: str | None) -> tuple[int, int]:
    place = (Contribution.section_key == section_key) if section_key else Contribution.section_key.is_(None)
    top = Contribution.parent_id.is_(None) & (Contribution.kind == ContributionKind.COMMENT)
    row = db.session.execute(
        select(
            func.count().filter(Contribution.deleted_at.is_(None)),
            func.count().filter(top),
        ).where(_waiting_of(consultation, user), place)
    ).one()
    return row[0], row[1]


# ---- recounting ------------------------------------------------------------------------------


def recount(consultation_ids: Iterable[int] = (), pairs: Iterable[tuple[int, str]] = ()) -> None:
    """Count again every section of ``consultation_ids`` and the given (consultation, section key)
    pairs (section key "" for the whole consultation), in the current transaction."""
    consultation_ids = set(consultation_ids)
    pairs = {(c, k) for c, k in pairs if c not in consultation_ids}
    pairs |= {(c, "") for c, _ in pairs}  # its row carries the consultation's stamp
    if not consultation_ids and not pairs:
        return
    key = func.coalesce(Contribution.section_key, "")
    where = []
    if consultation_ids:
        where.append(Contribution.consultation_id.in_(consultation_ids))
    by_consultation: dict[int, set[str]] = {}
    for c, k in pairs:
        by_consultation.setdefault(c, set()).add(k)
    for c, keys in by_consultation.items():  # the index on (consultation, section) serves each
        named = [k for k in keys if k]
        places = [Contribution.section_key.in_(named)] if named else []
        where.append((Contribution.consultation_id == c) & or_(*places, Contribution.section_key.is_(None)))
    counted = db.session.execute(
        select(
            Contribution.consultation_id,
            key,
            func.count().filter(Contribution.kind.in_(DISCUSSION_KINDS), visible_contributions(None)),
            func.count().filter(
                Contribution.parent_id.is_(None),
                Contribution.kind == ContributionKind.COMMENT,
                visible_contributions(None, tombstones=True),
            ),
        )
        .where(or_(*where))
        .group_by(Contribution.consultation_id, key)
    ).all()
    touched = consultation_ids | set(by_consultation)
    # Only consultations that still exist (a deleted one's rows went with it).
    existing = set(db.session.scalars(select(Consultation.id).where(Consultation.id.in_(touched))))
    db.session.execute(delete(ThreadCount).where(ThreadCount.consultation_id.in_(consultation_ids)))
    for c, keys in by_consultation.items():
        db.session.execute(delete(ThreadCount).where(ThreadCount.consultation_id == c, ThreadCount.section_key.in_(keys)))
    rows = {(c, k): {"consultation_id": c, "section_key": k, "comments": 0, "threads": 0} for c, k in {*pairs, *((c, "") for c in touched)}}
    for c, k, comments, threads in counted:
        rows[(c, k)] = {"consultation_id": c, "section_key": k, "comments": comments, "threads": threads}
    for row in rows.values():  # a new value, never a repeated one: what was read with the old one is stale
        row["stamp"] = secrets.randbits(62)
    kept = [row for row in rows.values() if row["consultation_id"] in existing]
    if kept:
        db.session.execute(insert(ThreadCount), kept)


def _touched(session: Session) -> set[tuple[int, str | None]]:
    return session.info.setdefault(_TOUCHED, set())


def _recount_touched(session: Session) -> None:
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    whole = {c for c, k in touched if k is _WHOLE}
    recount(whole, [(c, k) for c, k in touched if k is not _WHOLE])


def _changes(state, name: str) -> list:
    history = attributes.get_history(state, name, passive=attributes.PASSIVE_NO_INITIALIZE)
    return [*history.added, *history.deleted] if history.has_changes() else []


@event.listens_for(Session, "before_flush")
def _note_erased_accounts(session: Session, flush_context, instances) -> None:
    """An account erased through the ORM takes its blocks with it (a database cascade)."""
    erased = [u.id for u in session.deleted if isinstance(u, User) and u.id is not None]
    if erased:
        _note_blocks(session, select(Block.organisation_id).where(Block.user_id.in_(erased)))


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, flush_context) -> None:
    touched = _touched(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        changed = obj in session.dirty
        if isinstance(obj, Contribution):
            if not {obj.kind, *_changes(obj, "kind")} & set(DISCUSSION_KINDS):
                continue  # amendments, statements and answers have counts of their own
            if changed and not any(_changes(obj, name) for name in _COUNTED):
                continue  # an edit, a theme...
            for c in {obj.consultation_id, *_changes(obj, "consultation_id")} - {None}:
                touched.update((c, _key(key)) for key in {obj.section_key, *_changes(obj, "section_key")})
        elif isinstance(obj, Block) and not (changed and not _changes(obj, "user_id") and not _changes(obj, "organisation_id")):
            _note_blocks(session, None, organisations=[obj.organisation_id, *_changes(obj, "organisation_id")])
    if not touched:
        session.info.pop(_TOUCHED, None)


def _note_blocks(session: Session, organisations_query, organisations: Iterable[int] = ()) -> None:
    """Every section of the consultations of the organisations (a block hides or shows all its person wrote there)."""
    organisations = {*organisations, *(session.execute(organisations_query).scalars() if organisations_query is not None else ())}
    if organisations:
        ids = session.execute(select(Consultation.id).where(Consultation.organisation_id.in_(organisations))).scalars()
        _touched(session).update((c, _WHOLE) for c in ids)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state) -> None:
    """UPDATE and DELETE statements on contributions, blocks and accounts: what they will touch."""
    statement = state.statement
    if not isinstance(statement, Update | Delete):
        return
    table = getattr(statement.table, "name", None)  # an ORM statement's table is an annotated copy
    session = state.session
    where = statement.whereclause
    if table == Contribution.__tablename__:
        query = select(Contribution.consultation_id, Contribution.section_key).distinct()
        rows = session.execute(query.where(where) if where is not None else query).all()
        _touched(session).update((c, _key(k)) for c, k in rows)
    elif table == Block.__tablename__:
        query = select(Block.organisation_id)
        _note_blocks(session, query.where(where) if where is not None else query)
    elif table == User.__tablename__:
        users = select(User.id)
        users = users.where(where) if where is not None else users
        _note_blocks(session, select(Block.organisation_id).where(Block.user_id.in_(users)))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get(_TOUCHED) or any(
        isinstance(o, Contribution | Block | User) for o in (*session.new, *session.dirty, *session.deleted)
    ):
        session.flush()
        _recount_touched(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
