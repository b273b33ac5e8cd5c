"""What happened (events), who follows what (follows), and what each person was told
(notifications), as rows.

- An ``Event`` is written once, in the unit of work that made it happen, and fanned out by a
  job after that commits (``services.fan_out``). Its ``dedupe_key`` (unique) keeps events that
  a periodic job or a retried request could record twice ("closing in 3 days") to one row.
- A ``Follow`` ties a person to a consultation, to a section of it, or to one contribution
  (an amendment or a thread). ``target`` is one string (``consultation``, ``section:KEY``,
  ``contribution:ID``) so that one unique constraint holds without NULLs. ``active`` False
  records an unfollow, so taking part again does not quietly follow again.
- A ``Notification`` is one event for one person: unique per (person, event), so a fan-out
  that runs twice tells nobody twice. ``delivery`` is how it is (or was) to be mailed, chosen
  from the person's settings when it was made; ``mailed_at`` when it went out, alone or in a
  digest.
- A ``NotificationSetting`` is a person's choice of delivery for one kind of event; without a
  row, ``DEFAULT_DELIVERY`` applies. ``NotificationPreferences`` holds the person-wide choices.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import User
from consult.contributions.models import Contribution
from consult.core.models import UTCDateTime, db, utcnow
from consult.proposals.models import Consultation, Version


class EventKind(enum.StrEnum):
    """Every kind of event a person can be told about. The first group is about the person's
    own contributions (sent to their author); the second about what they follow."""

    REPLY = "reply"  # a reply to my comment (and to the thread's followers)
    AMENDMENT_ANSWERED = "amendment_answered"  # data: decision, reason
    AMENDMENT_INCORPORATED = "amendment_incorporated"  # data: version (number)
    CITED_IN_SUMMARY = "cited_in_summary"  # data: theme or section the summary is about
    CITED_IN_CHANGE = "cited_in_change"  # data: version, section_key
    ANCHOR_MOVED = "anchor_moved"  # my annotation re-anchored; data: state (changed, moved, orphaned), version
    HIDDEN = "hidden"  # data: reason (the public one)
    RESTORED = "restored"
    NEW_COMMENT = "new_comment"  # on a section, thread or consultation I follow
    NEW_AMENDMENT = "new_amendment"  # on a consultation or section I follow
    OPENED = "opened"
    CLOSING_SOON = "closing_soon"  # data: closes_at
    CLOSED = "closed"
    CONCLUDED = "concluded"  # the outcome page is published
    VERSION_PUBLISHED = "version_published"  # data: version (number)
    UPDATE = "update"  # an author's message to everyone following; data: subject, body
    DATA_EXPORT_READY = "data_export_ready"  # my data download is ready (no consultation); data: export, expires_at
    CALL_PUBLISHED = "call_published"  # a call to action on a consultation I follow, or by a group I am in; data: call (id)

    @property
    def is_personal(self) -> bool:
        return self in PERSONAL_KINDS


PERSONAL_KINDS = frozenset(
    {
        EventKind.REPLY,
        EventKind.AMENDMENT_ANSWERED,
        EventKind.AMENDMENT_INCORPORATED,
        EventKind.CITED_IN_SUMMARY,
        EventKind.CITED_IN_CHANGE,
        EventKind.ANCHOR_MOVED,
        EventKind.HIDDEN,
        EventKind.RESTORED,
        EventKind.DATA_EXPORT_READY,
    }
)

#: Kinds about a person's account rather than a consultation: recorded without one, told to
#: their recipient alone.
ACCOUNT_KINDS = frozenset({EventKind.DATA_EXPORT_READY})


class Delivery(enum.StrEnum):
    IMMEDIATE = "immediate"  # a message of its own (up to the daily cap; the rest go in the next digest)
    DAILY = "daily"  # in the daily digest
    WEEKLY = "weekly"  # in the weekly digest
    OFF = "off"  # on the notifications page only, never mailed


#: Until a person chooses: what is about their own contribution comes at once, the rest in a
#: daily digest, and the stream of other people's comments is never mailed.
DEFAULT_DELIVERY: dict[EventKind, Delivery] = {
    **{kind: Delivery.IMMEDIATE for kind in PERSONAL_KINDS},
    EventKind.NEW_COMMENT: Delivery.OFF,
    EventKind.NEW_AMENDMENT: Delivery.DAILY,
    EventKind.OPENED: Delivery.DAILY,
    EventKind.CLOSING_SOON: Delivery.IMMEDIATE,
    EventKind.CLOSED: Delivery.DAILY,
    EventKind.CONCLUDED: Delivery.IMMEDIATE,
    EventKind.VERSION_PUBLISHED: Delivery.DAILY,
    EventKind.UPDATE: Delivery.IMMEDIATE,
    EventKind.CALL_PUBLISHED: Delivery.IMMEDIATE,
}

_KINDS_SQL = ", ".join(f"'{k.value}'" for k in EventKind)
_DELIVERIES_SQL = ", ".join(f"'{d.value}'" for d in Delivery)


class Event(db.Model):
    """Something that happened that someone may be told about, recorded once."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    #: None for the kinds about a person's account (``ACCOUNT_KINDS``)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    #: who made it happen (never told about it); None for the schedule
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the one person it is addressed to (personal kinds), besides the followers it reaches
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"), index=True)
    section_key: Mapped[str | None] = mapped_column(String(80))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: events that could be recorded twice (a periodic job, a retried publication) name themselves
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    consultation: Mapped[Consultation | None] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    recipient: Mapped[User | None] = relationship(foreign_keys=[recipient_id])
    contribution: Mapped[Contribution | None] = relationship()
    version: Mapped[Version | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS_SQL})", name="kind_known"),
        Index("ix_events_fanned_out_at_created_at", "fanned_out_at", "created_at"),
    )

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.kind}>"


class Follow(db.Model):
    """A person following a consultation, a section of it, or one contribution."""

    __tablename__ = "follows"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    #: ``consultation``, ``section:KEY`` or ``contribution:ID``
    target: Mapped[str] = mapped_column(String(100))
    #: False once the person unfollowed: kept so that taking part does not follow again
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    #: followed by taking part, not by asking
    automatic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
    consultation: Mapped[Consultation] = relationship()

    __table_args__ = (
        UniqueConstraint("user_id", "consultation_id", "target"),
        CheckConstraint(
            "target = 'consultation' OR target LIKE 'section:%' OR target LIKE 'contribution:%'",
            name="target_known",
        ),
        # the fan-out reads followers by consultation and target
        Index("ix_follows_consultation_target", "consultation_id", "target", "active"),
    )


class Notification(db.Model):
    """One event for one person: on their notifications page, and mailed as they chose."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    delivery: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    event: Mapped[Event] = relationship()

    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        CheckConstraint(f"delivery IN ({_DELIVERIES_SQL})", name="delivery_known"),
        Index("ix_notifications_user_read_at", "user_id", "read_at"),
        Index("ix_notifications_delivery_mailed_at", "delivery", "mailed_at"),
    )


class NotificationSetting(db.Model):
    """A person's delivery for one kind of event."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    delivery: Mapped[str] = mapped_column(String(10))

    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS_SQL})", name="kind_known"),
        CheckConstraint(f"delivery IN ({_DELIVERIES_SQL})", name="delivery_known"),
    )


class NotificationPreferences(db.Model):
    """A person's choices that hold for every kind."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    #: follow what I take part in (the consultation, my amendment, my thread)
    follow_when_taking_part: Mapped[bool] = mapped_column(default=True, server_default=true())
