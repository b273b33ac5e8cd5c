"""Which index serves search (Whoosh or PostgreSQL), setting it up for the app, and the jobs
that keep the Whoosh index up to date.

The job worker is the Whoosh index's only writer; web processes never write it, never rebuild
it and never wait for it:

- ``outbox.apply_search_outbox`` is queued after each commit that wrote a row of the search
  outbox (``once=``: a burst of commits queues one run); it applies the outbox, or rebuilds a
  missing or outdated index, which covers the outbox too.
- ``outbox.check_search_index`` does the same every minute and when the worker starts (queued
  here). After a crash or a restart nothing is missing: the outbox is in the database.
- ``rebuild_search_index`` is ``consult reindex --background`` (``once=``: one rebuild).
- ``rebuild_now(app)`` rebuilds synchronously: ``consult reindex`` and ``consult restore``
  (a restored database is older than the index: its documents must be rebuilt from it).

Rebuilds and updates take the index folder's lock, and a rebuild checks under it whether the
index is still outdated, so two asked at once build once; a rebuild deletes only the outbox rows
that existed when it began reading, so a change committed during it is applied afterwards.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from consult.core.jobs import enqueue_quietly, job, queue
from consult.core.models import db
from consult.search.outbox import catch_up, check_search_index

log = logging.getLogger(__name__)

BACKENDS = ("whoosh", "postgres")
REBUILD_KEY = "search-rebuild"


@dataclass
class SearchService:
    backend: object


def make_backend(app: Flask, name: str | None = None):
    name = name or app.config.get("SEARCH_BACKEND") or "whoosh"
    if name == "whoosh":
        from consult.search.whoosh_backend import WhooshBackend

        return WhooshBackend(search_dir(app))
    if name == "postgres":
        from consult.search.postgres_backend import PostgresBackend

        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            raise RuntimeError("CONSULT_SEARCH_BACKEND=postgres needs a PostgreSQL database (CONSULT_DATABASE_URL).")
        return PostgresBackend()
    raise RuntimeError(f"CONSULT_SEARCH_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}.")


def search_dir(app: Flask) -> Path:
    return Path(app.config.get("SEARCH_DIR") or Path(app.instance_path) / "search-index")


def init_app(app: Flask) -> None:
    from consult.search import tracking

    tracking.install()
    app.extensions["consult_search"] = SearchService(make_backend(app))
    _check_when_the_worker_starts(app)


def _check_when_the_worker_starts(app: Flask) -> None:
    """Queue ``check_search_index`` when ``consult worker`` starts (its hook runs in each of the
    worker's threads: one of them queues it)."""
    started = threading.Lock()

    @queue(app).huey.on_startup("consult_search_check")
    def check_search_index_on_start() -> None:
        if started.acquire(blocking=False):
            with app.app_context():
                enqueue_quietly(check_search_index)


def request_rebuild(app: Flask) -> bool:
    """Queue one full rebuild for the worker (none if one is queued or running)."""
    with app.app_context():
        return queue(app).enqueue(rebuild_search_index, True, once=REBUILD_KEY)


@job(retries=2, writes=False)  # Whoosh only reads the database; PostgreSQL's index is written in the job's transaction
def rebuild_search_index(force: bool = False) -> None:
    """The job: rebuild the index (``force``: whatever its state, what ``consult reindex
    --background`` queues), else bring it up to date."""
    if force:
        rebuild_now(current_app)
    else:
        catch_up(current_app)


def rebuild_now(app: Flask, *, progress=None) -> int:
    """Rebuild the index from the database now, in the caller's app context (``consult
    reindex``; ``consult restore`` after putting a database back). Returns how many documents."""
    count = app.extensions["consult_search"].backend.rebuild(db.session, progress=progress)
    db.session.commit()
    log.info("search index rebuilt: %d documents", count)
    return count
