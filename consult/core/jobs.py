"""Background jobs on Huey: one queue per app, built from its settings.

Domains declare their jobs with ``@job(...)`` next to the code they run (core knows none of
them); ``init_app`` builds the app's Huey and registers every declared job on it:

- ``JOBS_URL`` unset: ``SqliteHuey`` in ``instance/jobs.db`` (one machine, no server to run);
  ``redis://…``: ``RedisHuey`` (several app servers share one queue).
- ``JOBS_IMMEDIATE``: run a job as soon as it is enqueued, in the caller's process (tests).
- A job runs in an app context of its own and commits once when it returns (the job is the
  unit of work) or rolls back if it raises; it is then retried ``retries`` times,
  ``JOBS_RETRY_DELAY`` seconds apart, and logged by name and ids only (jobs take ids, never
  personal data or secrets, as arguments).
- ``enqueue_after_commit`` queues a job once the transaction that asked for it commits (as mail
  does), so a worker never reads a change that rolled back or is not visible yet.
- ``enqueue(..., once=KEY)`` queues at most one run per key: the key is taken in the queue's
  own storage and freed when the job has run (or has failed its last retry), so a page asked a
  hundred times while a bundle is being built queues one build. Keys name what is built (e.g.
  the fingerprint of a record bundle), so a change meanwhile queues a build of its own.

``consult worker`` runs the consumer (with the periodic jobs); ``make run`` starts one beside the
web server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import event
from sqlalchemy.orm import Session

from consult.core.models import db, sqlite_write_intent

log = logging.getLogger(__name__)

__all__ = ["crontab", "enqueue", "enqueue_after_commit", "enqueue_quietly", "init_app", "job", "queue"]

_AFTER_COMMIT_KEY = "consult_jobs_after_commit"
ONCE_PREFIX = "once:"


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[..., Any]
    retries: int
    writes: bool  # False: a reader (SQLite's deferred BEGIN: a long build never blocks writers)
    periodic: crontab | None
    coalesce: bool  # ``once=`` holds while a run is queued, not while it runs (see ``job``)


# Every job declared by an imported module, by name; each app's Huey registers them all.
DECLARED: dict[str, JobSpec] = {}


def job(*, retries: int = 3, writes: bool = True, periodic: crontab | None = None, coalesce: bool = False) -> Callable:
    """Declare ``func`` a job. ``periodic``: a ``crontab`` the worker runs it on. ``coalesce``:
    its ``once=`` key is freed when a run starts rather than when it ends, for jobs that catch
    up with whatever is there when they run (the search outbox): a change made during a run
    queues the next one, and a worker killed mid-run leaves no key behind to block it."""

    def declare(func: Callable) -> Callable:
        name = f"{func.__module__}.{func.__name__}"
        DECLARED[name] = JobSpec(name=name, func=func, retries=retries, writes=writes, periodic=periodic, coalesce=coalesce)
        func.job_name = name  # type: ignore[attr-defined]
        return func

    return declare


class JobQueue:
    """An app's Huey and the tasks registered on it."""

    def __init__(self, app: Flask, huey: Huey):
        self.app = app
        self.huey = huey
        self.tasks: dict[str, Any] = {}
        self.register_declared()

    def register_declared(self) -> None:
        for spec in list(DECLARED.values()):
            if spec.name not in self.tasks:
                self._register(spec)

    def _register(self, spec: JobSpec):
        app, huey = self.app, self.huey

        def run(*args, _once: str | None = None, task=None):
            failed = True
            if _once and spec.coalesce:
                huey.delete(ONCE_PREFIX + _once)
                _once = None
            try:
                with app.app_context():
                    token = sqlite_write_intent.set(spec.writes)
                    try:
                        spec.func(*args)
                        db.session.commit()
                        failed = False
                    except Exception:
                        db.session.rollback()
                        app.logger.warning("job %s%r failed", spec.name, args)  # ids only; Huey logs the traceback
                        raise
                    finally:
                        sqlite_write_intent.reset(token)
            finally:
                if _once and not (failed and task is not None and task.retries):
                    huey.delete(ONCE_PREFIX + _once)  # done (or given up): the next request may queue it again

        run.__module__, run.__name__ = spec.func.__module__, spec.func.__name__  # what Huey logs
        retry_delay = int(app.config.get("JOBS_RETRY_DELAY", 30))
        if spec.periodic is not None:
            task = huey.periodic_task(spec.periodic, retries=spec.retries, retry_delay=retry_delay, context=True, name=spec.func.__name__)(
                run
            )
        else:
            task = huey.task(retries=spec.retries, retry_delay=retry_delay, context=True, name=spec.func.__name__)(run)
        self.tasks[spec.name] = task
        return task

    def task(self, func: Callable):
        name = getattr(func, "job_name", None)
        if name is None:
            raise TypeError(f"{func!r} is not declared with @job")
        return self.tasks.get(name) or self._register(DECLARED[name])

    def enqueue(self, func: Callable, *args: Any, eta: datetime | None = None, once: str | None = None) -> bool:
        """Queue ``func(*args)``; ``eta``: not before then; ``once``: unless a run with this key is
        queued or running. True if it was queued (in immediate mode: run)."""
        if once is not None and not self._take(once):
            return False
        task = self.task(func)
        kwargs = {"_once": once} if once else {}
        try:
            if eta is not None:
                task.schedule(args=args, kwargs=kwargs, eta=_naive_utc(eta))
            else:
                task(*args, **kwargs)
        except Exception:
            if once is not None:
                self.huey.delete(ONCE_PREFIX + once)
            raise
        return True

    def _take(self, key: str) -> bool:
        """True when this caller takes ``key`` (no run with it is pending). A key older than
        ``JOBS_ONCE_TIMEOUT`` (a worker that died, a lost message) is taken over."""
        now = time.time()
        if self.huey.put_if_empty(ONCE_PREFIX + key, now):
            return True
        taken_at = self.huey.get(ONCE_PREFIX + key, peek=True)
        if taken_at is None or now - float(taken_at) > float(self.app.config.get("JOBS_ONCE_TIMEOUT", 600)):
            self.huey.put(ONCE_PREFIX + key, now)
            return True
        return False

    def pending(self, key: str) -> bool:
        return self.huey.get(ONCE_PREFIX + key, peek=True) is not None


def _naive_utc(when: datetime) -> datetime:
    """Huey (utc=True) takes naive UTC datetimes and drops the fraction of a second: round up,
    so a job due at a date never runs just before it."""
    when = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
    return when.replace(microsecond=0) + timedelta(seconds=1) if when.microsecond else when


def make_huey(app: Flask) -> Huey:
    config = app.config
    name = config.get("JOBS_NAME") or "consult"
    url = config.get("JOBS_URL")
    immediate = bool(config.get("JOBS_IMMEDIATE"))
    if url and str(url).startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, immediate=immediate, results=False, utc=True)
    if url:
        raise RuntimeError("CONSULT_JOBS_URL must be a redis:// address (or unset: a queue in the instance folder).")
    path = Path(app.instance_path) / "jobs.db"
    if not immediate:
        path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), immediate=immediate, results=False, utc=True)


def init_app(app: Flask) -> None:
    app.extensions["consult_jobs"] = JobQueue(app, make_huey(app))


def queue(app: Flask | None = None) -> JobQueue:
    return (app or current_app).extensions["consult_jobs"]


def enqueue(func: Callable, *args: Any, eta: datetime | None = None, once: str | None = None) -> bool:
    return queue().enqueue(func, *args, eta=eta, once=once)


def enqueue_quietly(func: Callable, *args: Any, once: str | None = None) -> bool:
    """``enqueue`` for pages: a queue that cannot be reached is logged, and the page still
    answers ("being prepared") instead of failing with a 500."""
    try:
        return queue().enqueue(func, *args, once=once)
    except Exception:  # noqa: BLE001 - e.g. Redis down; the next request tries again
        log.exception("could not queue job %s", getattr(func, "job_name", func))
        return False


def enqueue_after_commit(func: Callable, *args: Any, eta: datetime | None = None, once: str | None = None) -> None:
    """Queue the job when the current transaction commits; nothing if it rolls back."""
    pending = db.session.info.setdefault(_AFTER_COMMIT_KEY, [])
    item = (func, args, eta, once)
    if item not in pending:
        pending.append(item)


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    pending = session.info.pop(_AFTER_COMMIT_KEY, None)
    for func, args, eta, once in pending or ():
        try:
            queue().enqueue(func, *args, eta=eta, once=once)
        except Exception:  # noqa: BLE001 - the change is committed; a queue that is down must not fail the request
            log.exception("could not queue job %s", getattr(func, "job_name", func))


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, _previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(_AFTER_COMMIT_KEY, None)
