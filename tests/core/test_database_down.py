"""With the database unreachable, every request answers the app's own 503 page (in the site's
layout, for signed-in people too), and after the database drops its connections (a PostgreSQL
restart) the next request is served, not a 500 (the pool pings before use). Issue 13.

Each app here has its own engine: the shared test connection of tests/conftest.py would hide
an unreachable database.
"""

from __future__ import annotations

import os

import psycopg
import pytest

from consult import create_app
from consult.core.models import db

TEST_DATABASE_URL = os.environ.get("CONSULT_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql"))

UNREACHABLE = {
    "sqlite": "sqlite:///{tmp}/no-such-folder/consult.db",  # SQLite cannot create it
    "postgresql": "postgresql://root@127.0.0.1:1/consult",  # nothing listens on port 1
}


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction here: each app has its own engine."""
    yield


def _app(tmp_path, database_url: str):
    return create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "SEARCH_DIR": str(tmp_path / "search"),
            "JOBS_IMMEDIATE": True,
            "RATE_LIMITS": False,
        }
    )


@pytest.mark.parametrize("kind", sorted(UNREACHABLE))
@pytest.mark.parametrize(
    ("page", "signed_in"),
    [("/", True), ("/account", True), ("/c/some-consultation", True), ("/", False), ("/c/some-consultation", False)],
)
def test_pages_answer_the_sites_own_503_when_the_database_is_unreachable(tmp_path, kind, signed_in, page):
    app = _app(tmp_path, UNREACHABLE[kind].format(tmp=tmp_path))
    client = app.test_client()
    if signed_in:  # a session cookie as signing in leaves it: loading the user needs the database
        with client.session_transaction() as session:
            session["sid"], session["_user_id"], session["_fresh"] = "token", "1", True
    try:
        response = client.get(page)
    finally:
        with app.app_context():
            db.engine.dispose()
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert response.mimetype == "text/html"
    assert '<nav aria-label="Main"' in body or "<nav" in body  # the site's layout
    assert "Sign in" in body  # the user could not be loaded: shown as signed out
    assert "cannot reach its database" in body
    assert response.headers.get("Retry-After")


@pytest.mark.parametrize("kind", sorted(UNREACHABLE))
def test_the_api_answers_503_in_json_when_the_database_is_unreachable(tmp_path, kind):
    app = _app(tmp_path, UNREACHABLE[kind].format(tmp=tmp_path))
    response = app.test_client().get("/api/v1/consultations")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 503
    assert response.get_json()["error"]["status"] == 503


@pytest.mark.skipif(not ON_POSTGRES, reason="set CONSULT_TEST_DATABASE_URL=postgresql://... to test PostgreSQL's pool")
def test_after_the_database_drops_every_connection_the_next_request_is_served(tmp_path):
    """As after a PostgreSQL restart: the pooled connection is dead, and the pool finds out by
    pinging it before use instead of handing it to the request."""
    from sqlalchemy.engine import make_url

    url = make_url(TEST_DATABASE_URL).update_query_dict({"application_name": APPLICATION_NAME})
    app = _app(tmp_path, url.render_as_string(hide_password=False))
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200  # the pool now holds a connection
        with psycopg.connect(make_url(TEST_DATABASE_URL).set(drivername="postgresql").render_as_string(hide_password=False)) as other:
            killed = other.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = %s",
                (APPLICATION_NAME,),
            ).fetchone()[0]
        assert killed == 1
        response = client.get("/readyz")
        assert response.status_code == 200, response.get_data(as_text=True)
    finally:
        with app.app_context():
            db.engine.dispose()


APPLICATION_NAME = "consult-pre-ping-test"
