"""Webhooks and their deliveries (models)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import Organisation
from consult.core.models import UTCDateTime, db, utcnow


class WebhookEvent(enum.StrEnum):
    VERSION_PUBLISHED = "version.published"
    STATE_CHANGED = "consultation.state_changed"
    AMENDMENT_ANSWERED = "amendment.answered"
    OUTCOME_PUBLISHED = "outcome.published"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first try or its next one
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # every try failed: no more


class Webhook(db.Model):
    """An address an organisation's admins registered, with the events it wants. Its secret
    signs every delivery; it is kept encrypted with a key derived from the site's secret key."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    deliveries: Mapped[list[WebhookDelivery]] = relationship(back_populates="webhook", cascade="all, delete-orphan", passive_deletes=True)


class WebhookDelivery(db.Model):
    """One event for one webhook: its body (kept as sent, so every try signs the same bytes)
    and what became of it."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_status: Mapped[int | None] = mapped_column()
    error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    webhook: Mapped[Webhook] = relationship(back_populates="deliveries")

    @property
    def is_delivered(self) -> bool:
        return self.status == DeliveryStatus.DELIVERED

    @property
    def has_failed(self) -> bool:
        """Failed for good: no more tries."""
        return self.status == DeliveryStatus.FAILED

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )
