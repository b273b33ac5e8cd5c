"""Casting, changing and withdrawing votes, and counting them.

A vote is written with one INSERT ... ON CONFLICT DO UPDATE on the unique (user, item), in
the transaction that holds the consultation open (``hold_open``): twenty requests racing for
one person's vote leave one row, and no vote is dated after the close. Tallies are COUNTs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from consult.accounts.models import User
from consult.contributions.models import Contribution, ContributionKind, ModerationState
from consult.core.cache import SCOPE_OPTION, consultation_scope
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.core.signals import vote_changed
from consult.permissions import Action, authorize
from consult.proposals.models import Consultation, ConsultationState, Section, Version
from consult.proposals.services import hold_open
from consult.voting.models import STATEMENT_VALUES, SUPPORT_VALUES, Vote, VoteValue

VOTABLE_KINDS = (ContributionKind.AMENDMENT, ContributionKind.STATEMENT)


@dataclass(frozen=True)
class Tally:
    support: int = 0
    oppose: int = 0
    abstain: int = 0
    agree: int = 0
    disagree: int = 0
    passed: int = 0

    @property
    def total(self) -> int:
        return self.support + self.oppose + self.abstain + self.agree + self.disagree + self.passed

    @classmethod
    def of(cls, counts: dict[str, int]) -> Tally:
        return cls(
            support=counts.get("support", 0),
            oppose=counts.get("oppose", 0),
            abstain=counts.get("abstain", 0),
            agree=counts.get("agree", 0),
            disagree=counts.get("disagree", 0),
            passed=counts.get("pass", 0),
        )

    def as_dict(self, values: Iterable[VoteValue]) -> dict[str, int]:
        return {v.value: getattr(self, "passed" if v is VoteValue.PASS else v.value) for v in values}


# ---- targets -------------------------------------------------------------------------------


def _allowed_values(contribution: Contribution | None) -> tuple[VoteValue, ...]:
    if contribution is not None and contribution.kind == ContributionKind.STATEMENT:
        return STATEMENT_VALUES
    return SUPPORT_VALUES


def _check_target(consultation: Consultation, contribution: Contribution | None, section_key: str | None) -> None:
    if contribution is not None:
        if contribution.consultation_id != consultation.id:
            raise RuleViolation(_("That item is not part of this consultation."), status=400)
        if contribution.kind not in VOTABLE_KINDS:
            raise RuleViolation(_("You can vote on amendments, statements and sections, not on comments."), status=400)
        if contribution.moderation_state != ModerationState.VISIBLE or contribution.deleted_at is not None:
            raise RuleViolation(_("This contribution is hidden or deleted: it cannot be voted on."))
        amendment = getattr(contribution, "amendment", None)
        if amendment is not None and amendment.state == "withdrawn":
            raise RuleViolation(_("This amendment was withdrawn by its author: it can no longer be voted on."))
    else:
        if not section_key or not _in_current_version(consultation, section_key):
            raise RuleViolation(_("That section is not in the current version of the text."), status=400)


def _in_current_version(consultation: Consultation, key: str) -> bool:
    """Whether the current version (the last published) has a section of that key: one indexed
    look-up, without loading the versions nor any section's text."""
    current = (
        select(Version.id)
        .where(Version.consultation_id == consultation.id, Version.published_at.is_not(None))
        .order_by(Version.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    return db.session.scalar(select(Section.id).where(Section.version_id == current, Section.key == key).limit(1)) is not None


def _locked_target(contribution_id: int | None) -> None:
    """Re-read the contribution's state under a shared lock, so a vote cannot slip in as a
    moderator hides it (PostgreSQL; SQLite serialises writers)."""
    if contribution_id is None:
        return
    state, deleted = db.session.execute(
        select(Contribution.moderation_state, Contribution.deleted_at).where(Contribution.id == contribution_id).with_for_update(read=True)
    ).one()
    if state != ModerationState.VISIBLE or deleted is not None:
        raise RuleViolation(_("This contribution is hidden or deleted: it cannot be voted on."))


def vote_target(consultation: Consultation, contribution_id: int) -> Contribution | None:
    """The contribution numbered ``contribution_id`` when it belongs to ``consultation`` (whether
    it can be voted on is ``cast_vote``'s to say)."""
    amendment = getattr(Contribution, "amendment", None)  # the amendments domain's, when loaded: checked below
    contribution = db.session.get(Contribution, contribution_id, options=[joinedload(amendment)] if amendment is not None else [])
    return contribution if contribution is not None and contribution.consultation_id == consultation.id else None


# ---- casting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteToCast:
    """A vote checked against everything but the state of its consultation and of its item,
    which ``record_vote`` re-reads under a lock: what the transaction that writes it needs, as
    plain values (no object to reload there)."""

    consultation: Consultation
    user_id: int
    value: str | None  # None: a withdrawal
    contribution_id: int | None
    section_key: str | None
    statement: bool  # a vote on a statement (the opinion map is then stale)
    contribution: Contribution | None = None


def vote_to_cast(
    consultation: Consultation, *, actor: User, value: str | None, contribution: Contribution | None = None, section_key: str | None = None
) -> VoteToCast:
    """Check that ``actor`` may cast ``value`` (None: withdraw their vote) on the item: reads
    only, with no lock (``record_vote`` takes them)."""
    authorize(actor, Action.VOTE, consultation)
    statement = contribution is not None and contribution.kind == ContributionKind.STATEMENT
    if value is not None:
        _check_target(consultation, contribution, section_key)
        if statement:
            authorize(actor, Action.VOTE_ON_STATEMENT, consultation)
        allowed = _allowed_values(contribution)
        if value not in {v.value for v in allowed}:
            raise RuleViolation(_("Choose one of: %(values)s.", values=", ".join(v.value for v in allowed)), status=400)
    return VoteToCast(
        consultation,
        actor.id,
        value,
        contribution.id if contribution is not None else None,
        None if contribution is not None else section_key,
        statement,
        contribution,
    )


def record_vote(vote: VoteToCast) -> bool:
    """Write a checked vote (or take it back) in as little as the database allows, and nothing
    after it but a signal whose receivers only queue work for after the commit. Returns whether
    a row was written (a withdrawal: whether there was a vote to take back).

    A vote is one statement: INSERT ... SELECT from the consultation (and the item), FOR SHARE
    (PostgreSQL; SQLite serialises writers), only while it is open and the item visible, ON
    CONFLICT DO UPDATE. It holds the rows a close or a moderator's hiding must update, so either
    the vote gets in before them or it sees them and inserts nothing; then ``hold_open`` and
    ``_locked_target`` say why, and raise. A withdrawal holds the consultation open, then deletes."""
    writes = {SCOPE_OPTION: consultation_scope(vote.consultation.id)}  # what the cache's stamps count (consult/core/cache.py)
    if vote.value is None:
        hold_open(vote.consultation, versions=False)
        target = (
            Vote.contribution_id == vote.contribution_id
            if vote.contribution_id is not None
            else ((Vote.consultation_id == vote.consultation.id) & (Vote.section_key == vote.section_key))
        )
        statement = delete(Vote).where(Vote.user_id == vote.user_id, target)
        written = db.session.execute(statement, execution_options=writes).rowcount > 0
    else:
        upsert = _upsert_while_open(db.session.get_bind().dialect.name, vote.contribution_id is not None)
        written = db.session.execute(upsert, _upsert_values(vote, utcnow()), execution_options=writes).first() is not None
        if not written:  # closed or hidden meanwhile: the reason, under the same locks
            now = hold_open(vote.consultation, versions=False)
            _locked_target(vote.contribution_id)
            written = (
                db.session.execute(upsert, _upsert_values(vote, now), execution_options=writes).first() is not None
            )  # open again: held so now
    if written:
        vote_changed.send(vote.consultation, contribution=vote.contribution, statement=vote.statement)
    return written


@functools.cache
def _upsert_while_open(dialect: str, on_contribution: bool):
    """The vote's one statement, built once per database and kind of item, its values bound at
    execution (``_upsert_values``): building it anew for each vote cost more than running it."""
    stamp = bindparam("vote_now", type_=Vote.updated_at.type)
    rows = select(
        bindparam("vote_user_id", type_=Vote.user_id.type), Consultation.id, bindparam("vote_value", type_=Vote.value.type), stamp, stamp,
        bindparam("vote_contribution_id", type_=Vote.contribution_id.type), bindparam("vote_section_key", type_=Vote.section_key.type),
    ).where(
        Consultation.id == bindparam("vote_consultation_id", type_=Consultation.id.type),
        Consultation.state == ConsultationState.OPEN,
        Consultation.closes_at.is_(None) | (Consultation.closes_at > stamp),
    )  # fmt: skip
    if on_contribution:
        rows = rows.join(Contribution, Contribution.id == bindparam("vote_contribution_id")).where(
            Contribution.moderation_state == ModerationState.VISIBLE, Contribution.deleted_at.is_(None)
        )
    columns = ["user_id", "consultation_id", "value", "created_at", "updated_at", "contribution_id", "section_key"]
    # On the table, not the mapped class: an ORM INSERT given its values at execution is a bulk
    # insert of rows, not one statement with bound values.
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Vote.__table__)
    statement = insert.from_select(columns, rows.with_for_update(read=True))
    conflict = ["user_id", "contribution_id"] if on_contribution else ["user_id", "consultation_id", "section_key"]
    # Two of a person's votes on one item can overlap (PostgreSQL: both hold the consultation
    # FOR SHARE): the one that read the clock first may write second, onto a row created later
    # than its ``now``. Never move updated_at back, or the row breaks ck_votes_dates_ordered.
    updated_at = case((insert.table.c.updated_at > stamp, insert.table.c.updated_at), else_=stamp)
    # RETURNING says whether a row was written (psycopg's rowcount is 0 for an INSERT ... SELECT that upserts).
    return statement.on_conflict_do_update(
        index_elements=conflict, set_={"value": statement.excluded.value, "updated_at": updated_at}
    ).returning(Vote.id)


def _upsert_values(vote: VoteToCast, now) -> dict:
    return {
        "vote_user_id": vote.user_id,
        "vote_consultation_id": vote.consultation.id,
        "vote_value": vote.value,
        "vote_now": now,
        "vote_contribution_id": vote.contribution_id,
        "vote_section_key": vote.section_key,
    }


def cast_vote(
    consultation: Consultation, *, actor: User, value: str, contribution: Contribution | None = None, section_key: str | None = None
) -> str:
    """Record ``actor``'s vote on an amendment or statement, or on a section; a second vote on
    the same item replaces the first. Returns the value stored."""
    record_vote(vote_to_cast(consultation, actor=actor, value=value, contribution=contribution, section_key=section_key))
    return value


def withdraw_vote(
    consultation: Consultation, *, actor: User, contribution: Contribution | None = None, section_key: str | None = None
) -> bool:
    """Take back ``actor``'s vote on an item while the consultation is open; True if there was one."""
    return record_vote(vote_to_cast(consultation, actor=actor, value=None, contribution=contribution, section_key=section_key))


# ---- counting ------------------------------------------------------------------------------


def tallies(contribution_ids: Iterable[int]) -> dict[int, Tally]:
    """Tallies of the given contributions, in one query."""
    ids = list(contribution_ids)
    if not ids:
        return {}
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for contribution_id, value, n in db.session.execute(
        select(Vote.contribution_id, Vote.value, func.count())
        .where(Vote.contribution_id.in_(ids))
        .group_by(Vote.contribution_id, Vote.value)
    ):
        counts[contribution_id][value] = n
    return {i: Tally.of(c) for i, c in counts.items()}


def section_tallies(consultation: Consultation) -> dict[str, Tally]:
    counts: dict[str, dict[str, int]] = {}
    for key, value, n in db.session.execute(
        select(Vote.section_key, Vote.value, func.count())
        .where(Vote.consultation_id == consultation.id, Vote.section_key.is_not(None))
        .group_by(Vote.section_key, Vote.value)
    ):
        counts.setdefault(key, {})[value] = n
    return {key: Tally.of(c) for key, c in counts.items()}


def my_votes(user: User | None, consultation: Consultation) -> dict[int | str, str]:
    """``user``'s votes in a consultation: contribution id or section key -> value."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    rows = db.session.execute(
        select(Vote.contribution_id, Vote.section_key, Vote.value).where(Vote.user_id == user.id, Vote.consultation_id == consultation.id)
    )
    return {(cid if cid is not None else key): value for cid, key, value in rows}
