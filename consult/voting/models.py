"""Votes: one per person per item, on a contribution (an amendment or a statement) or on a
section of a consultation. Tallies are counted from these rows, never kept beside them, so
they always equal the votes stored."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import User
from consult.contributions.models import Contribution
from consult.core.models import UTCDateTime, db, utcnow


class VoteValue(enum.StrEnum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    ABSTAIN = "abstain"
    AGREE = "agree"
    DISAGREE = "disagree"
    PASS = "pass"


#: What may be said of each kind of item.
SUPPORT_VALUES = (VoteValue.SUPPORT, VoteValue.OPPOSE, VoteValue.ABSTAIN)  # amendments, sections
STATEMENT_VALUES = (VoteValue.AGREE, VoteValue.DISAGREE, VoteValue.PASS)  # statements


class Vote(db.Model):
    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))
    section_key: Mapped[str | None] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
    contribution: Mapped[Contribution | None] = relationship()

    __table_args__ = (
        # One vote per person per item: the database, not the application, guarantees it.
        UniqueConstraint("user_id", "contribution_id", name="uq_votes_user_contribution"),
        UniqueConstraint("user_id", "consultation_id", "section_key", name="uq_votes_user_section"),
        CheckConstraint("(contribution_id IS NULL) <> (section_key IS NULL)", name="one_target"),
        CheckConstraint("value IN ('support', 'oppose', 'abstain', 'agree', 'disagree', 'pass')", name="value_known"),
        CheckConstraint("updated_at >= created_at", name="dates_ordered"),
        Index("ix_votes_contribution_value", "contribution_id", "value"),
        Index("ix_votes_section_value", "consultation_id", "section_key", "value"),
    )


class OpinionMapCache(db.Model):
    """The last opinion map computed for a consultation, and which votes it was computed from:
    pages show it and a job (``statements.recompute_opinion_map``) recomputes it when the votes change.

    A computation that fails keeps the last good map and records when, why (the error's class:
    no data) and for which votes, so pages show the map "as of" its date and moderators the
    failure, and no page queues the same failing computation again. ``vote_count`` is -1 while
    no map was ever computed."""

    __tablename__ = "opinion_maps"

    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    vote_count: Mapped[int] = mapped_column(default=0)
    last_vote_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    result: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure: Mapped[str | None] = mapped_column(String(200))
    failed_vote_count: Mapped[int | None] = mapped_column()
    failed_last_vote_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Pol.is's k-smoothing (``opinion.KSmoothing``): the k the last computation preferred, how many
    # computations in a row preferred it, and the k shown; None until a map chose a k.
    best_k: Mapped[int | None] = mapped_column()
    best_k_runs: Mapped[int | None] = mapped_column()
    shown_k: Mapped[int | None] = mapped_column()
    # The change stamps (``core.cache``: the site's, the consultation's) at which this map was
    # known to be current: while both are unchanged no vote can have changed, and a page needs
    # no COUNT over the votes to know it. None: not known (the votes are counted).
    site_stamp: Mapped[int | None] = mapped_column(BigInteger)
    consultation_stamp: Mapped[int | None] = mapped_column(BigInteger)
