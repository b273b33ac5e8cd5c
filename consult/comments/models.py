"""Annotations: comments anchored to the words they are about, with an ``Anchor`` per version
of the text. The ``Contribution`` itself lives in ``consult.contributions``."""

from __future__ import annotations

import enum

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.contributions.models import Contribution
from consult.core.models import db
from consult.proposals.models import Version


class AnchorState(enum.StrEnum):
    ANCHORED = "anchored"  # the same words, found
    CHANGED = "changed"  # found, but the wording differs
    MOVED = "moved"  # found in another section
    ORPHANED = "orphaned"  # gone from this version


class Anchor(db.Model):
    """Where an annotation's words are in one version: the original placement on the version it
    was written on, and one re-anchored placement per later version."""

    __tablename__ = "anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10), default=AnchorState.ANCHORED)
    section_key: Mapped[str | None] = mapped_column(String(80))
    start: Mapped[int | None]
    end: Mapped[int | None]
    exact: Mapped[str | None] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(200), default="")
    suffix: Mapped[str] = mapped_column(String(200), default="")
    score: Mapped[float] = mapped_column(Float, default=100.0)

    contribution: Mapped[Contribution] = relationship(back_populates="anchors")
    version: Mapped[Version] = relationship()

    @property
    def is_orphaned(self) -> bool:
        """Its words are not in this version: pages say so instead of quoting them as its text."""
        return self.state == AnchorState.ORPHANED

    @property
    def is_changed(self) -> bool:
        return self.state == AnchorState.CHANGED

    @property
    def is_moved(self) -> bool:
        return self.state == AnchorState.MOVED

    __table_args__ = (
        UniqueConstraint("contribution_id", "version_id"),
        Index("ix_anchors_version_section", "version_id", "section_key"),
        CheckConstraint("state IN ('anchored', 'changed', 'moved', 'orphaned')", name="state_known"),
        CheckConstraint(
            "(state = 'orphaned') = (section_key IS NULL) AND (section_key IS NULL OR (start >= 0 AND \"end\" > start))",
            name="placed_unless_orphaned",
        ),
    )


class ThreadCount(db.Model):
    """What the public sees of a section's discussion (``section_key`` "" for the whole
    consultation's), kept up to date by ``comments.counts`` in the transaction of every change
    that can alter it, so no page counts a whole thread per request. ``stamp`` grows with each
    recount, a new random value each time: the whole-consultation row's says whether what was read
    of the consultation's annotations (cached highlights) is current."""

    __tablename__ = "thread_counts"

    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    section_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    #: comments and replies that everyone sees (``visible_contributions(None)``)
    comments: Mapped[int] = mapped_column(default=0)
    #: top-level comments shown as threads to everyone, tombstones included (the pages of threads)
    threads: Mapped[int] = mapped_column(default=0)
    stamp: Mapped[int] = mapped_column(BigInteger, default=0)
