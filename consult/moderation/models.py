"""Moderation and synthesis: reports, the public moderation log, blocks, themes and summaries.

A contribution's ``moderation_state`` (``visible``, ``pending``, ``hidden``) and the blocks of
its organisation decide who sees it; ``permissions.visible_contributions`` is the one filter
that applies them. The log is public without the identity of reporters or of the moderator.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import Organisation, User
from consult.contributions.models import Contribution
from consult.core.models import UTCDateTime, db, utcnow
from consult.proposals.models import Consultation


class ReportReason(enum.StrEnum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    OFF_TOPIC = "off_topic"
    PERSONAL_DATA = "personal_data"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "spam": _("Spam or advertising"),
            "offensive": _("Offensive or abusive"),
            "off_topic": _("Off topic"),
            "personal_data": _("Reveals personal data"),
            "other": _("Something else"),
        }[self.value]


class Report(db.Model):
    """Someone signed in flags a contribution; one report per person per contribution."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: set when a moderator acts on the contribution; open reports are the queue's
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    contribution: Mapped[Contribution] = relationship()
    reporter: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("contribution_id", "reporter_id"),
        CheckConstraint("reason IN ('spam', 'offensive', 'off_topic', 'personal_data', 'other')", name="reason_known"),
        Index("ix_reports_open", "contribution_id", "resolved_at"),
    )


class LogAction(enum.StrEnum):
    AUTO_HIDE = "auto_hide"  # reported by enough people: hidden pending review
    HOLD = "hold"  # pre-moderation: waits for approval
    APPROVE = "approve"
    HIDE = "hide"
    RESTORE = "restore"
    BLOCK = "block"
    UNBLOCK = "unblock"


class ModerationLogEntry(db.Model):
    """One moderation action, public: what, when, under which rule, with the public reason.
    ``moderator_id`` is kept for the organisation's own audit and never published."""

    __tablename__ = "moderation_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="SET NULL"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # who was blocked
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(40), default="")  # e.g. a report reason, or "reports threshold"
    reason: Mapped[str] = mapped_column(Text, default="")  # public
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contribution: Mapped[Contribution | None] = relationship()
    consultation: Mapped[Consultation | None] = relationship()

    __table_args__ = (
        CheckConstraint("action IN ('auto_hide', 'hold', 'approve', 'hide', 'restore', 'block', 'unblock')", name="action_known"),
        Index("ix_moderation_log_org_time", "organisation_id", "created_at"),
    )


class Block(db.Model):
    """A participant blocked by an organisation's moderators: everything they wrote in its
    consultations is hidden (and comes back when the block is lifted); they cannot take part."""

    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    #: indexed: a signed-in request asks whether anyone blocks the person (``user_for_session``)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)


class Theme(db.Model):
    """A group of contributions a moderator names, with a summary of what they say."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text, default="")  # Markdown; [#123] cites contribution 123
    summary_html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    consultation: Mapped[Consultation] = relationship()

    __table_args__ = (UniqueConstraint("consultation_id", "name"),)


class ContributionTheme(db.Model):
    __tablename__ = "contribution_themes"

    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_contribution_themes_contribution", "contribution_id"),)


class SectionSummary(db.Model):
    """A moderator's summary of what was said about one section."""

    __tablename__ = "section_summaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    section_key: Mapped[str] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_html: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("consultation_id", "section_key"),)


class SummaryCitation(db.Model):
    """A ``[#123]`` in a theme's or a section's summary: the contribution it cites."""

    __tablename__ = "summary_citations"

    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    section_summary_id: Mapped[int | None] = mapped_column(ForeignKey("section_summaries.id", ondelete="CASCADE"))
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))

    __table_args__ = (
        CheckConstraint("(theme_id IS NULL) <> (section_summary_id IS NULL)", name="one_summary"),
        UniqueConstraint("theme_id", "section_summary_id", "contribution_id"),
        Index("ix_summary_citations_contribution", "contribution_id"),
    )
