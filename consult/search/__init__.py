"""Search: consultations, sections of the current text, visible contributions and published
theme summaries. The only package that imports whoosh.

``CONSULT_SEARCH_BACKEND`` chooses the index: ``whoosh`` (default; a folder, ``SEARCH_DIR``,
shared by the processes of one machine) or ``postgres`` (PostgreSQL full-text search in the
database itself, for several app servers). Both sit behind the same interface and are kept
fresh by the session events of ``tracking``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

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
    if app.testing:
        return
    checked = []

    @app.before_request
    def rebuild_outdated_index_once():
        # On the first request each process serves, not in create_app: CLI commands (``db
        # upgrade``, ``reindex``) create the app too and must not start a rebuild of their own.
        if not checked:
            checked.append(True)
            rebuild_if_outdated(app, background=True)


def rebuild_if_outdated(app: Flask, *, background: bool) -> bool:
    """A missing index, or one of an older format, is rebuilt (in a thread when the app starts,
    so the first requests are served meanwhile, without search results). Returns True if a
    rebuild was started."""
    backend = app.extensions["consult_search"].backend
    try:
        if backend.is_current():
            return False
    except Exception:  # e.g. tables not created yet: ``consult db upgrade`` comes first
        log.warning("search index check skipped", exc_info=True)
        return False

    def run():
        from sqlalchemy.exc import SQLAlchemyError

        from consult.core.models import db, sqlite_write_intent

        with app.app_context():
            token = sqlite_write_intent.set(backend.writes_in_transaction)  # Whoosh only reads the database
            try:
                if not backend.is_current():
                    count = backend.rebuild(db.session)
                    if backend.writes_in_transaction:
                        db.session.commit()
                    log.info("search index rebuilt: %d documents", count)
            except SQLAlchemyError:
                log.warning("search index not rebuilt: the database is not ready (run `consult db upgrade`)", exc_info=True)
            finally:
                db.session.remove()
                sqlite_write_intent.reset(token)

    if background:
        threading.Thread(target=run, name="consult-search-rebuild", daemon=True).start()
    else:
        run()
    return True
