"""Password hashing is slow on purpose: it must never run while a request holds SQLite's write
lock (a sign-in storm gave "database is locked"). With another connection holding the write
lock, the password is checked (or hashed) before the request tries to write, and outside any
transaction; once the lock is free the same request succeeds."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from consult.accounts import services
from consult.accounts.models import User
from consult.core.models import db
from tests.factories import PASSWORD, login, make_user

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def file_app(tmp_path, monkeypatch):
    """An app on a SQLite file (real locks, real commits), with a short busy timeout so that
    waiting for the lock shows as an error, not as time."""
    from consult import create_app

    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    path = tmp_path / "locks.db"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{path}",
            "SECRET_KEY": "x",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "WTF_CSRF_ENABLED": False,
            "JOBS_IMMEDIATE": True,
            "RATE_LIMITS": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
            "SQLITE_BUSY_TIMEOUT": 0.2,
            "SERVER_NAME": "consult.test",
            "BASE_URL": "http://consult.test",
        }
    )
    with app.app_context():
        db.create_all()
        make_user(email="casey@example.org")
        db.session.commit()
        db.session.remove()
    app.database_path = path
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def write_lock_held(path):
    """Another process's writer, holding the write lock until the block ends."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def hashing_seen(monkeypatch):
    """For each password check or hash, whether a transaction was open at that moment."""
    seen: list[bool] = []
    for name in ("check_password_hash", "generate_password_hash"):
        real = getattr(services, name)

        def spy(*args, _real=real, **kwargs):
            seen.append(db.session().in_transaction())
            return _real(*args, **kwargs)

        monkeypatch.setattr(services, name, spy)
    return seen


def post_locked_then_free(app, path: str, data: dict, client=None):
    client = client or app.test_client()
    with write_lock_held(app.database_path):
        try:
            locked = client.post(path, data=data)
        except OperationalError:  # the write, refused after the busy timeout
            locked = None
        assert locked is None or locked.status_code >= 500
    return client.post(path, data=data)


def test_sign_in_checks_the_password_before_taking_the_write_lock(file_app, hashing_seen):
    response = post_locked_then_free(file_app, "/signin", {"email": "casey@example.org", "password": PASSWORD})

    assert hashing_seen == [False, False]  # checked with the lock held elsewhere, then again once free
    assert response.status_code == 302


def test_a_wrong_password_is_checked_before_the_lock_and_still_counted(file_app, hashing_seen):
    from consult.accounts.models import SignInAttempt

    response = post_locked_then_free(file_app, "/signin", {"email": "casey@example.org", "password": "wrong password"})

    assert hashing_seen == [False, False]
    assert response.status_code == 400
    with file_app.app_context():
        assert len(db.session.scalars(select(SignInAttempt)).all()) == 1  # the locked attempt wrote nothing


def test_sign_up_hashes_before_taking_the_write_lock(file_app, hashing_seen):
    data = {"display_name": "Nina Newcomer", "email": "nina@example.org", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "agree": "y"}

    response = post_locked_then_free(file_app, "/signup", data)

    assert hashing_seen == [False, False]
    assert response.status_code == 302
    with file_app.app_context():
        assert db.session.scalar(select(User.email).where(User.email == "nina@example.org")) == "nina@example.org"


def test_reset_hashes_before_taking_the_write_lock(file_app, hashing_seen):
    with file_app.app_context():
        code = services._reset_token(db.session.scalar(select(User).where(User.email == "casey@example.org")))
        db.session.remove()

    response = post_locked_then_free(file_app, "/reset/password", {"code": code, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert hashing_seen == [False, False]
    assert response.status_code == 302


def test_changing_the_password_checks_and_hashes_outside_any_transaction(file_app, hashing_seen):
    client = file_app.test_client()
    with file_app.app_context():
        login(client, db.session.scalar(select(User).where(User.email == "casey@example.org")))
        db.session.commit()
        db.session.remove()

    response = client.post("/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert hashing_seen == [False, False]  # the current password checked, the new one hashed
    assert file_app.test_client().post("/signin", data={"email": "casey@example.org", "password": NEW_PASSWORD}).status_code == 302
