"""Apps on a database of their own, for tests of real concurrency: threads (each request or
unit of work in its own app context and connection) racing on committed data, which the shared,
rolled-back test transaction of tests/conftest.py cannot show.

SQLite: a file in the test's folder, built by ``create_all``. PostgreSQL (when
``CONSULT_TEST_DATABASE_URL`` names one): a scratch database beside the test database, built by
the migrations and dropped afterwards. A module using these overrides the autouse
``_transaction`` fixture with a no-op (see ``no_shared_transaction``).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

TEST_DATABASE_URL = os.environ.get("CONSULT_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql"))
KINDS = ["sqlite", "postgresql"]


def _admin_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def scratch_postgresql(*, name: str | None = None) -> Iterator[str]:
    """An empty database on the test server (named after the test database), dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(TEST_DATABASE_URL)
    name = name or f"{base.database}_scratch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_url(TEST_DATABASE_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_url(TEST_DATABASE_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch_database_url(kind: str, tmp_path: Path, stack) -> str:
    """An empty database of ``kind`` for this test (skips PostgreSQL when none is configured)."""
    if kind == "postgresql":
        if not ON_POSTGRES:
            pytest.skip("set CONSULT_TEST_DATABASE_URL=postgresql://... to race on PostgreSQL too")
        return stack.enter_context(scratch_postgresql())
    return f"sqlite:///{tmp_path / 'scratch.db'}"


@contextmanager
def scratch_app(kind: str, tmp_path: Path, **config: Any) -> Iterator[Flask]:
    """An app on an empty database of ``kind`` with the schema built."""
    from contextlib import ExitStack

    from consult import create_app
    from consult.core.models import db

    with ExitStack() as stack:
        url = scratch_database_url(kind, tmp_path, stack)
        (tmp_path / "instance").mkdir(exist_ok=True)
        app = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "DATABASE_URL": url,
                "SECRET_KEY": "test-secret",
                "WTF_CSRF_ENABLED": False,
                "JOBS_IMMEDIATE": True,
                "SEARCH_DIR": str(tmp_path / "search"),
                "RATE_LIMITS": False,
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
                **config,
            }
        )
        with app.app_context():
            if kind == "postgresql":
                from flask_migrate import upgrade

                upgrade()
            else:
                db.create_all()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def signed_in_client(app: Flask, user_id: int, token: str):
    """A test client carrying the login session ``token`` of user ``user_id``."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["sid"], session["_user_id"], session["_fresh"] = token, str(user_id), True
    return client


def together(jobs: list[Callable[[], Any]], *, timeout: float = 120) -> list[Any]:
    """Run each job in its own thread, all released at once; their results (or exceptions)."""
    barrier = threading.Barrier(len(jobs))
    out: list[Any] = [None] * len(jobs)

    def run(n: int) -> None:
        barrier.wait()
        try:
            out[n] = jobs[n]()
        except BaseException as error:  # noqa: BLE001 - asserted by the caller
            out[n] = error

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "a thread did not finish"
    return out


def finished_or_waiting_for_a_lock(app: Flask, finished: threading.Event, *, checks: int = 3000) -> str:
    """Wait until ``finished`` is set or some transaction of ``app``'s PostgreSQL database waits
    for a lock held by another (``pg_locks``); says which came first ("finished" or "waiting")."""
    import psycopg

    with app.app_context():
        from consult.core.models import db

        url = _admin_url(db.engine.url.render_as_string(hide_password=False))
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(checks):
            if finished.wait(0.02):  # a bounded poll: no timing is asserted
                return "finished"
            waiting = conn.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND a.datname = current_database()"
            ).fetchone()[0]
            if waiting:
                return "waiting"
    raise AssertionError("neither finished nor waiting for a lock")
