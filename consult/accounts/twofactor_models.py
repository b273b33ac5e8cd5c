"""A second factor for signing in: a TOTP authenticator (RFC 6238) and one-time recovery codes.

The rules are in ``consult/accounts/twofactor.py``; these are the tables and what the database
holds of them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consult.core.models import UTCDateTime, db, utcnow


class TwoFactor(db.Model):
    """A person's authenticator. The row exists from the start of enrolment (so the secret shown
    on the enrolment page stays the same when it is reloaded); ``enabled_at`` is set once the
    person has entered a code from it, and only then is it asked at sign-in.

    ``secret`` is the TOTP secret encrypted with a key derived from the site's secret key: the
    database alone (a backup, a dump) gives no one the codes. ``last_step`` is the TOTP time
    step of the last code accepted: a code is accepted only for a later step, so each works once.
    """

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_enabled(self) -> bool:
        return self.enabled_at is not None


class RecoveryCode(db.Model):
    """One of the codes that stand in for the authenticator (a lost phone), each usable once.
    Only a hash is kept; making new codes deletes the old ones."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)


class TwoFactorFailure(db.Model):
    """A wrong code given for an account (at sign-in, or to turn the second factor off), counted
    to throttle guessing."""

    __tablename__ = "two_factor_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_two_factor_failures_user_at", "user_id", "attempted_at"),)
