"""Which index serves search (Whoosh or PostgreSQL), setting it up for the app, and rebuilding
a missing or outdated one as a job."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from consult.core.jobs import job
from consult.core.models import db

log = logging.getLogger(__name__)

BACKENDS = ("whoosh", "postgres")


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
    if not app.config.get("SEARCH_CHECK_ON_START", True):
        return
    checked = []

    @app.before_request
    def rebuild_outdated_index_once():
        # On the first request each process serves, not in create_app: CLI commands (``db
        # upgrade``, ``reindex``) create the app too and must not queue a rebuild of their own.
        if not checked:
            checked.append(True)
            rebuild_if_outdated(app, background=True)


REBUILD_KEY = "search-rebuild"


def rebuild_if_outdated(app: Flask, *, background: bool) -> bool:
    """A missing index, or one of an older format, is rebuilt: by a job when ``background`` (the
    first requests are served meanwhile, without search results), else now. Returns True if a
    rebuild was queued or done."""
    backend = app.extensions["consult_search"].backend
    try:
        if backend.is_current():
            return False
    except Exception:  # e.g. tables not created yet: ``consult db upgrade`` comes first
        log.warning("search index check skipped", exc_info=True)
        return False
    if background:
        from consult.core.jobs import enqueue_quietly

        with app.app_context():
            enqueue_quietly(rebuild_search_index, False, once=REBUILD_KEY)
    else:
        with app.app_context():
            _rebuild(app, force=False)
            db.session.remove()
    return True


@job(retries=2, writes=False)  # Whoosh only reads the database; PostgreSQL's index is written in the job's transaction
def rebuild_search_index(force: bool = False) -> None:
    """The job: rebuild the index when it is missing or outdated (``force``: whatever its state,
    what ``consult reindex --background`` queues)."""
    _rebuild(current_app, force=force)


def _rebuild(app: Flask, *, force: bool) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    backend = app.extensions["consult_search"].backend
    try:
        if force or not backend.is_current():
            count = backend.rebuild(db.session)
            if backend.writes_in_transaction:
                db.session.commit()
            log.info("search index rebuilt: %d documents", count)
    except SQLAlchemyError:
        log.warning("search index not rebuilt: the database is not ready (run `consult db upgrade`)", exc_info=True)
        db.session.rollback()
