"""The app under gunicorn on a fresh SQLite file with the demo, and a token of the demo's site
admin with every scope: for the API's server tests (schemathesis, racing idempotency keys)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveApi:
    port: int
    secret: str  # the token
    known: dict[str, list]  # the demo's consultation slugs, contribution ids and section keys
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _seed(database_url: str, instance: Path) -> tuple[str, dict[str, list]]:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from consult import create_app
    from consult.accounts.models import User
    from consult.contributions.models import Contribution
    from consult.core.models import db
    from consult.demo import load_demo
    from consult.proposals.models import Consultation, Section
    from consult.tokens import services as tokens

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "live-api", "INSTANCE_PATH": str(instance)})
    try:
        with app.app_context():
            upgrade()
            load_demo()
            admin = db.session.scalar(select(User).where(User.is_site_admin.is_(True)))
            _token, secret = tokens.create_token(
                actor=admin, name="server tests", scopes=["read", "contribute", "moderate", "publish"], lifetime_days=7
            )
            db.session.commit()
            known = {
                "slugs": list(db.session.scalars(select(Consultation.slug).order_by(Consultation.id))),
                "contributions": list(db.session.scalars(select(Contribution.id).order_by(Contribution.id))),
                "sections": sorted(set(db.session.scalars(select(Section.key)))),
            }
            return secret, known
    finally:
        with app.app_context():
            db.engine.dispose()


@contextmanager
def scratch_postgresql(url: str) -> Iterator[str]:
    """A database of its own on the test server, so the unit tests' database is left alone."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"consult_live_api_{uuid.uuid4().hex[:12]}"
    base = make_url(url)
    server = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def live_api(tmp_path: Path, workers: int = 2, database_url: str | None = None) -> Iterator[LiveApi]:
    """Serve the demo (on a fresh SQLite file unless ``database_url``); the global ``db.session``
    must be the real one (override the unit tests' autouse ``_transaction`` in the test module)."""
    sys.path.insert(0, str(ROOT))
    from bench.pages import stop
    from bench.votes import start_gunicorn

    database_url = database_url or f"sqlite:///{tmp_path / 'consult.db'}"
    secret, known = _seed(database_url, tmp_path / "instance")
    env = os.environ | {
        "CONSULT_DATABASE_URL": database_url,
        "CONSULT_SECRET_KEY": "live-api",
        "CONSULT_SESSION_COOKIE_SECURE": "false",
        "CONSULT_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONSULT_RATE_LIMITS": "false",  # many requests in a minute, from one token
    }
    log = tmp_path / "gunicorn.log"
    server, port = start_gunicorn(env, workers, log)
    try:
        yield LiveApi(port, secret, known, log)
    finally:
        stop(server)
