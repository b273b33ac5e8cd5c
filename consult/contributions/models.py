"""Contributions: everything a participant says (comments, replies, amendments, statements),
with one author, one consultation, one moderation state, so votes, reports, moderation, themes,
citations, search and export treat every kind alike."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import User
from consult.core.models import UTCDateTime, db, utcnow
from consult.proposals.models import Consultation, Version

if TYPE_CHECKING:  # the relationship is resolved by name; comments sit above contributions
    from consult.comments.models import Anchor


class ContributionKind(enum.StrEnum):
    COMMENT = "comment"
    REPLY = "reply"
    AMENDMENT = "amendment"
    STATEMENT = "statement"
    ANSWER = "answer"  # the words of a free-text answer to a questionnaire (consult/questionnaires)


class ModerationState(enum.StrEnum):
    VISIBLE = "visible"
    PENDING = "pending"  # waiting for a moderator (pre-moderation)
    HIDDEN = "hidden"  # hidden by a moderator, shown as a tombstone with the public reason


class Contribution(db.Model):
    """A comment, reply, amendment or statement. Replies point at their parent and their
    thread's root; ``section_key`` is None for a comment on the whole consultation."""

    __tablename__ = "contributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"), index=True)
    depth: Mapped[int] = mapped_column(default=0)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    section_key: Mapped[str | None] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    #: the language it was written in (a code of consult/core/i18n.py's kind: "en", "fr"…)
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    moderation_state: Mapped[str] = mapped_column(String(20), default=ModerationState.VISIBLE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the public reason a moderator gave for hiding it (shown in its tombstone)
    hidden_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A statement about the conversation itself (Pol.is's ``is-meta``): voted on, left out of the opinion map.
    is_meta: Mapped[bool] = mapped_column(default=False, server_default=false())

    consultation: Mapped[Consultation] = relationship()
    author: Mapped[User | None] = relationship()
    version: Mapped[Version] = relationship()
    parent: Mapped[Contribution | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    revisions: Mapped[list[ContributionRevision]] = relationship(
        back_populates="contribution", order_by="ContributionRevision.id", cascade="all, delete-orphan"
    )
    anchors: Mapped[list[Anchor]] = relationship(back_populates="contribution", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("kind IN ('comment', 'reply', 'amendment', 'statement', 'answer')", name="kind_known"),
        CheckConstraint("moderation_state IN ('visible', 'pending', 'hidden')", name="moderation_state_known"),
        CheckConstraint("(kind = 'reply') = (parent_id IS NOT NULL)", name="replies_have_parents"),
        CheckConstraint("(parent_id IS NULL) = (thread_id IS NULL)", name="replies_have_threads"),
        CheckConstraint("depth >= 0 AND (depth = 0) = (parent_id IS NULL)", name="depth_matches_parent"),
        Index("ix_contributions_consultation_section", "consultation_id", "section_key", "created_at"),
    )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def posted_message(self, published: str) -> str:
        """What its author is told once it is saved: ``published``, or, under pre-moderation,
        that it waits for a moderator (never "published" for what nobody else can see yet)."""
        if self.is_pending:
            return _(
                "Thank you: what you wrote is saved and waits for a moderator. Others see it once it is approved; "
                "after that, what you write appears at once."
            )
        return published

    @property
    def is_pending(self) -> bool:
        """Waiting for a moderator (pre-moderation): only its author sees it."""
        return self.moderation_state == ModerationState.PENDING

    @property
    def anchor(self) -> Anchor | None:
        """The anchor on the version it was written on (None for a plain comment)."""
        return next((a for a in self.anchors if a.version_id == self.version_id), None)

    def anchor_on(self, version: Version | None) -> Anchor | None:
        """Where its quote is in ``version``: anchored, changed, moved or orphaned (None for a
        plain comment, or a version published before it was written)."""
        return next((a for a in self.anchors if version is not None and a.version_id == version.id), None)

    def __repr__(self) -> str:
        return f"<Contribution {self.id} {self.kind}>"


class ContributionRevision(db.Model):
    """An earlier text of an edited contribution, kept so an edit cannot rewrite history."""

    __tablename__ = "contribution_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contribution: Mapped[Contribution] = relationship(back_populates="revisions")


class Draft(db.Model):
    """What a signed-out person wrote in a form (a comment, an amendment) before being asked to
    sign up or in, kept until they come back signed in (``contributions.drafts``). It names no
    account: it belongs to the browser whose cookie holds the token ``browser_hash`` is the hash
    of, for ``drafts.KEEP_HOURS``."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    #: The form it was written in: "comment:KEY" (a section, or "comment:" the whole consultation), "amend:KEY".
    place: Mapped[str] = mapped_column(String(100))
    fields: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("browser_hash", "consultation_id", "place"),)
