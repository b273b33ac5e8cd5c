"""Retention: personal data Consult needs only for a while is removed by the worker, every hour.

- ``RETENTION_UNCONFIRMED_DAYS`` (default 7): an account whose address was never confirmed is
  deleted that many days after sign-up, unless anything was written or voted with it (a Pol.is
  import's participants are unconfirmed and have contributions and votes: they stay), or it is
  known by another platform's id, or holds a role. Its agreements, sessions and the like go
  with it (their foreign keys cascade).
- ``RETENTION_ADDRESS_DAYS`` (default 30): IP addresses are blanked in the sign-in attempts
  older than that, and in login sessions older than that when sessions store one (their
  ``address`` column, if the model has it). No other table stores an address: the posting
  limits count per address in ``RATELIMIT_STORAGE_URI`` for their window (a minute to a day) and
  expire there; what the web server and a proxy log is described in docs/operations.md.

The privacy notice that ships with Consult states both periods from these settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, exists, select, update

from consult.accounts.models import LoginSession, Membership, SignInAttempt, User
from consult.contributions.models import Contribution
from consult.core.jobs import crontab, job
from consult.core.models import db, utcnow
from consult.voting.models import Vote


def remove_unconfirmed_accounts(*, now: datetime | None = None) -> int:
    """Delete accounts unconfirmed for more than ``RETENTION_UNCONFIRMED_DAYS`` that hold nothing
    anyone else relies on; returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=int(current_app.config["RETENTION_UNCONFIRMED_DAYS"]))
    doomed = select(User.id).where(
        User.confirmed_at.is_(None),
        User.created_at < cutoff,
        User.external_id.is_(None),
        User.is_site_admin.is_(False),
        ~exists().where(Contribution.author_id == User.id),
        ~exists().where(Vote.user_id == User.id),
        ~exists().where(Membership.user_id == User.id),
    )
    ids = list(db.session.scalars(doomed))
    if ids:
        db.session.execute(delete(User).where(User.id.in_(ids)), execution_options={"synchronize_session": False})
    return len(ids)


def drop_old_addresses(*, now: datetime | None = None) -> int:
    """Blank the IP addresses recorded more than ``RETENTION_ADDRESS_DAYS`` ago; returns how many rows changed."""
    cutoff = (now or utcnow()) - timedelta(days=int(current_app.config["RETENTION_ADDRESS_DAYS"]))
    changed = db.session.execute(
        update(SignInAttempt).where(SignInAttempt.attempted_at < cutoff, SignInAttempt.address != "").values(address="")
    ).rowcount
    column = LoginSession.__table__.columns.get("address")  # sessions may record where they were started
    if column is not None:
        blank = None if column.nullable else ""
        changed += db.session.execute(
            update(LoginSession).where(LoginSession.created_at < cutoff, column.is_not(None), column != "").values({column: blank})
        ).rowcount
    return changed


@job(periodic=crontab(minute="41"))
def apply_retention() -> None:
    """Every hour: remove what the retention settings say is kept no longer."""
    removed = remove_unconfirmed_accounts()
    blanked = drop_old_addresses()
    if removed or blanked:
        current_app.logger.info("retention: %d unconfirmed accounts removed, %d addresses dropped", removed, blanked)
