"""Test fixtures: one app per session, one rolled-back transaction per test.

The database comes from ``CONSULT_TEST_DATABASE_URL`` (PostgreSQL in CI) or is in-memory
SQLite. On PostgreSQL the schema is built by the migrations, so every run tests them too.
Each test runs inside a transaction that is rolled back at the end; application code's
commits become savepoints (``join_transaction_mode="create_savepoint"``).
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import text

from consult import create_app
from consult.core.models import db
from tests.factories import login, make_consultation, make_organisation, make_user

TEST_DATABASE_URL = os.environ.get("CONSULT_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql"))


def build_schema(app) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            from flask_migrate import upgrade

            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            upgrade()
        else:
            db.create_all()


def redis_or_skip(db_number: int):
    """A client of the Redis at 127.0.0.1:6379 (database ``db_number``): CI runs one and fails
    without it; a developer without it is told, not failed."""
    redis = pytest.importorskip("redis")
    server = redis.Redis(host="127.0.0.1", port=6379, db=db_number, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is not reachable at 127.0.0.1:6379 (CI needs it)")
        pytest.skip("no Redis at 127.0.0.1:6379")
    return server


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def app(instance_path):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance_path),
            "DATABASE_URL": TEST_DATABASE_URL or "sqlite://",
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "JOBS_IMMEDIATE": True,
            "SERVER_NAME": "consult.test",
            "BASE_URL": "http://consult.test",
            # Counters would outlive the rolled-back users (ids repeat from test to test);
            # tests/moderation/test_moderation.py checks the limits on an app of its own.
            "RATE_LIMITS": False,
            # One iteration: hashing is what the tests of signing in spent most of their time on
            # (scrypt is slow on purpose); tests/accounts/test_accounts.py checks scrypt hashes still verify.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
        }
    )
    build_schema(app)
    return app


class TestSession(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy picks an engine per bind in ``get_bind``; here every query must go
    through the test's connection, inside its transaction."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


def _threads_left_running() -> list[str]:
    """Threads other than the main one, except timers (the rate limiter's memory storage expires
    its counters with one, and touches no database)."""
    return [t.name for t in threading.enumerate() if t is not threading.main_thread() and not isinstance(t, threading.Timer)]


@pytest.fixture(autouse=True)
def _transaction(app):
    # A thread an earlier test left running (a job worker, a server) would use the global
    # db.session swapped below: this test's connection, under its savepoints ("no such savepoint").
    if strays := _threads_left_running():
        pytest.fail(f"threads left running by earlier tests would share this test's connection: {strays}", pytrace=False)
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        real_session = db.session
        db.session = db._make_scoped_session({"bind": connection, "join_transaction_mode": "create_savepoint", "class_": TestSession})
        try:
            yield
        finally:
            db.session.remove()
            db.session = real_session
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


class QueuedJobs:
    """The app's queue as a worker sees it: jobs wait (in a SQLite queue in the test instance
    folder) until ``run()`` executes them, in the test's transaction."""

    def __init__(self, huey):
        self.huey = huey

    #: Queued after every commit that touches what search shows (tests/search checks it): other
    #: tests need not list it.
    SEARCH_UPDATE = "apply_search_outbox"
    #: Queued after every commit that records an event (a comment posted, a consultation opened;
    #: tests/notifications checks it): other tests need not list it either.
    FAN_OUT = "fan_out"

    def _listed(self, name: str, *, search: bool, notifications: bool) -> bool:
        return (search or name != self.SEARCH_UPDATE) and (notifications or name != self.FAN_OUT)

    def pending(self, *, search: bool = False, notifications: bool = False) -> list[str]:
        """The names of the jobs waiting to run now (not those queued for a later date);
        ``search``: with the search index's update too; ``notifications``: with the fan-outs."""
        now = datetime.now(UTC).replace(tzinfo=None)
        names = [task.name for task in self.huey.pending() if task.eta is None or task.eta <= now]
        return [name for name in names if self._listed(name, search=search, notifications=notifications)]

    def run(self, *, search: bool = False, notifications: bool = False) -> int:
        """Run every queued job (and every retry due now); returns how many ran (``search``:
        counting the search index's updates; ``notifications``: the fan-outs)."""
        ran = 0
        now = datetime.now(UTC).replace(tzinfo=None)
        while (task := self.huey.dequeue()) is not None:
            self.huey.execute(task)  # one due later goes to the schedule instead
            ran += (task.eta is None or task.eta <= now) and self._listed(task.name, search=search, notifications=notifications)
        return ran


@pytest.fixture
def queued_jobs(app):
    """Jobs are queued instead of run at once (as in production with ``consult worker``)."""
    from consult.core.jobs import queue

    huey = queue(app).huey
    huey.immediate = False  # Huey switches from its memory storage to the SQLite file
    huey.flush()
    try:
        yield QueuedJobs(huey)
    finally:
        huey.flush()
        huey.immediate = True


@pytest.fixture
def outbox(instance_path):
    """Mail written during the test (the file backend writes one .eml per message)."""
    folder = instance_path / "outbox"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()

    class Outbox:
        def messages(self) -> list[str]:
            return [p.read_text() for p in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)]

    return Outbox()


@pytest.fixture
def organisation():
    return make_organisation(slug="council", name="Riverside Council")


@pytest.fixture
def citizen():
    return make_user(name="Casey Citizen")


@pytest.fixture
def author(organisation):
    return make_user(name="Ada Author", role="author", organisation=organisation)


@pytest.fixture
def moderator(organisation):
    return make_user(name="Max Moderator", role="moderator", organisation=organisation)


@pytest.fixture
def org_admin(organisation):
    return make_user(name="Orla Org-Admin", role="admin", organisation=organisation)


@pytest.fixture
def site_admin():
    return make_user(name="Sita Site-Admin", site_admin=True)


@pytest.fixture
def open_consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="open-one")


@pytest.fixture
def draft_consultation(organisation, author):
    return make_consultation(organisation, author=author, state="draft", slug="secret-draft", title="Secret draft plan")


__all__ = ["ON_POSTGRES", "login"]
