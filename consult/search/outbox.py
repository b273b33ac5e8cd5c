"""The search outbox: what each committed unit of work touched, kept in the database until the
Whoosh index has it (a transactional outbox).

``tracking`` writes one row per commit, in the committing transaction itself, so the row exists
exactly when the change does: a process killed right after the commit, an index folder that
cannot be written, a worker that is down lose nothing, they only delay. The job worker is the
index's only writer: it reads the rows (``pending``), re-reads what they name, writes the index
and then deletes the rows it applied, and only those (``forget``): a row written meanwhile
stays for the next run. Rows hold ids only (a ``Changes``), never text or personal data.

The jobs are here too: ``apply_search_outbox``, queued after each commit that wrote a row
(``once=``, coalescing: a burst of commits queues one run, and a commit during a run queues the
next), and ``check_search_index``, every minute and at worker start (``indexing``), the safety
net for a queue message that was lost, a queue that could not be reached, a crash, or a folder
that could not be written a minute ago.

The PostgreSQL backend writes its documents in the committing transaction and needs no outbox.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import JSON, delete, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from consult.core.jobs import crontab, enqueue_quietly, job
from consult.core.models import UTCDateTime, db, sqlite_write_intent, utcnow
from consult.search.documents import Changes

log = logging.getLogger(__name__)

_CHUNK = 500
QUEUE_KEY = "search-outbox"


class IndexUnavailable(Exception):
    """The index cannot be written now: its folder is missing or not writable, or its lock is
    held. The outbox keeps the rows for the next run."""


class OutboxEntry(db.Model):
    """One committed unit of work's touched ids, waiting for the index."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)


def record(session: Session, changes: Changes) -> None:
    """Add ``changes`` to the outbox in the session's transaction (from ``before_commit``)."""
    session.execute(insert(OutboxEntry).values(created_at=utcnow(), changes=changes.to_json()))


def pending(session: Session, *, limit: int = _CHUNK) -> tuple[list[int], Changes]:
    """The oldest ``limit`` rows: their ids and what they touched, merged."""
    merged = Changes()
    ids = []
    for entry_id, data in session.execute(select(OutboxEntry.id, OutboxEntry.changes).order_by(OutboxEntry.id).limit(limit)):
        ids.append(entry_id)
        merged.merge(Changes.from_json(data))
    return ids, merged


def all_ids(session: Session) -> list[int]:
    """Every row there is now: what a rebuild that starts reading now covers."""
    return list(session.scalars(select(OutboxEntry.id).order_by(OutboxEntry.id)))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxEntry)) or 0


def forget(session: Session, ids: list[int]) -> None:
    """Delete the applied rows ``ids`` (only these) and commit.

    The caller's read transaction ends first: on SQLite a deferred (reading) transaction that
    turns into a writer fails at once if someone committed since it began, so the delete runs
    in a transaction of its own that takes the write lock from its start."""
    session.commit()
    if not ids:
        return
    token = sqlite_write_intent.set(True)
    try:
        for start in range(0, len(ids), _CHUNK):
            session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_(ids[start : start + _CHUNK])))
        session.commit()
    finally:
        sqlite_write_intent.reset(token)


# ---- the worker's side ------------------------------------------------------------------


def queue_outbox() -> None:
    """After a commit that wrote a row: have the worker apply it. A queue that cannot be reached
    is logged; the row waits for the minute's check."""
    enqueue_quietly(apply_search_outbox, once=QUEUE_KEY)


def catch_up(app: Flask) -> int:
    """Bring the Whoosh index up to the database: rebuild it if it is missing or outdated, else
    apply the outbox. An index that cannot be written now is logged and left. Returns how many
    rows were applied."""
    backend = app.extensions["consult_search"].backend
    if backend.writes_in_transaction:
        return 0  # PostgreSQL: written in each change's own transaction
    try:
        return backend.catch_up(db.session)
    except IndexUnavailable as error:
        db.session.rollback()
        log.warning("search index not updated now (%s): the changes wait in the outbox", error)
        return 0


@job(retries=0, writes=False, coalesce=True)  # reads the database; deletes applied rows in a short transaction of its own
def apply_search_outbox() -> None:
    """Apply the search outbox to the Whoosh index (queued after commits)."""
    catch_up(current_app)


@job(retries=0, writes=False, periodic=crontab(minute="*"))
def check_search_index() -> None:
    """Every minute and at worker start: rebuild a missing or outdated index, apply the outbox."""
    catch_up(current_app)
