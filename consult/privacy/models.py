"""A person's data exports and the log of erased accounts.

- A ``DataExport`` is one zip of everything Consult holds about a person, built by a job into the
  instance folder (``file_name``: random, never guessable from the person), offered to that
  person alone until ``expires_at``, then removed with its row by a job.
- An ``Erasure`` is the site's log of an erased account: its ``id`` is the N of "Former
  participant N" (stable: one row per erased person), how their contributions were treated
  (``mode``), when, and, when a site admin erased it on request, who and why. It holds nothing
  personal about the erased person.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import User
from consult.core.models import UTCDateTime, db, utcnow


class ErasureMode(enum.StrEnum):
    KEEP = "keep"  # contributions stay, under "Former participant N"
    WITHDRAW = "withdraw"  # contributions removed (tombstones where others replied), votes removed


class DataExport(db.Model):
    """A zip of one person's data: being prepared while ``ready_at`` is null, then offered until ``expires_at``."""

    __tablename__ = "data_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: the zip's name in the exports folder: random, so a listing of the folder names nobody
    file_name: Mapped[str] = mapped_column(String(100), unique=True)
    size: Mapped[int | None] = mapped_column()

    user: Mapped[User] = relationship()

    __table_args__ = (CheckConstraint("(ready_at IS NULL) = (expires_at IS NULL)", name="ready_until"),)

    @property
    def is_ready(self) -> bool:
        return self.ready_at is not None


class Erasure(db.Model):
    """One erased account, numbered: "Former participant N" is the erased person's name from then on."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the pseudonymous account that keeps the contributions (KEEP); null once it is gone (WITHDRAW)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    mode: Mapped[str] = mapped_column(String(10))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the site admin who erased it on the person's request; null when the person did it themselves
    erased_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the admin's reason (the request it answers), never the person's name or address
    reason: Mapped[str] = mapped_column(Text, default="")

    erased_by: Mapped[User | None] = relationship(foreign_keys=[erased_by_id])

    __table_args__ = (CheckConstraint("mode IN ('keep', 'withdraw')", name="mode_known"),)

    @property
    def pseudonym(self) -> str:
        return pseudonym(self.id)


def pseudonym(number: int) -> str:
    return f"Former participant {number}"
