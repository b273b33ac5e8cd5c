"""API access tokens and the idempotency keys of the writes made with them (models)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import Organisation, User
from consult.core.models import UTCDateTime, db, utcnow


class Scope(enum.StrEnum):
    """What a token may be used for: an upper bound on what its person may do anyway."""

    READ = "read"  # GET requests, seeing what the person sees (drafts for an organisation's editors)
    CONTRIBUTE = "contribute"  # comments, replies, annotations, amendments, votes, reports
    MODERATE = "moderate"  # hiding, restoring and approving contributions
    PUBLISH = "publish"  # publishing versions, answering amendments, opening and closing


#: What an organisation's token may carry: it acts for the organisation, never as a participant.
ORGANISATION_SCOPES = (Scope.READ, Scope.MODERATE, Scope.PUBLISH)


class ApiToken(db.Model):
    """A bearer token. Only the SHA-256 of the token is kept (it is shown once, when made); its
    first characters (``prefix``) tell tokens apart in lists. A personal token acts as its
    person; an organisation's token (``organisation_id``) acts as the admin who made it, only in
    that organisation's consultations and only while they are still its admin. Every token
    expires; a revoked one stays listed, refused."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    organisation: Mapped[Organisation | None] = relationship()

    def allows(self, scope: Scope | str) -> bool:
        return str(scope) in self.scopes

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}…>"


class IdempotentRequest(db.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``: the same key sent again with
    the same token and body gets this answer again, and nothing is written twice. The unique
    key settles two sent at once: the second one's write is rolled back."""

    __tablename__ = "api_idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("token_id", "key"),
        Index("ix_api_idempotency_keys_created_at", "created_at"),
    )
