"""The application shell: security headers, cookies, limits, error pages, CSRF, configuration."""

from __future__ import annotations

import html
import re
import stat
import subprocess
import sys

import pytest
from flask import request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from consult import create_app
from consult.accounts.models import SignInAttempt, User
from consult.contributions.models import Contribution
from consult.core.models import db
from consult.core.params import MAX_INT, whole_number
from consult.core.routing import public
from tests.conftest import ON_POSTGRES
from tests.factories import PASSWORD, login, make_user

CSRF_MESSAGE = "This form was not sent from this site or has expired. Go back, reload the page and try again."


@pytest.fixture
def clean_env(monkeypatch):
    """A new app must not pick up settings from the shell that runs the tests."""
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    for name in ("CONSULT_SECRET_KEY", "CONSULT_SESSION_COOKIE_SECURE", "CONSULT_DATABASE_URL", "CONSULT_TESTING", "CONSULT_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def new_app(tmp_path, **overrides):
    config = {
        "DATABASE_URL": "sqlite://",
        "SECRET_KEY": "x",
        "INSTANCE_PATH": str(tmp_path),
        "JOBS_IMMEDIATE": True,
    }
    config.update(overrides)
    return create_app(config)


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy")
    assert policy, "no Content-Security-Policy header"
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def heading(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    return html.unescape(match.group(1)).strip() if match else ""


def csrf_token_in(page: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def session_cookie_header(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("consult_session=")]
    assert cookies, response.headers.getlist("Set-Cookie")
    return cookies[-1]


def is_signed_in(client) -> bool:
    response = client.get("/account")
    assert response.status_code in (200, 302)
    return response.status_code == 200


# --- security headers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "mimetype"),
    [
        ("/", 200, "text/html"),
        ("/api/v1/consultations", 200, "application/json"),
        ("/no-such-page", 404, "text/html"),
        ("/api/v1/no-such-thing", 404, "application/problem+json"),  # RFC 9457 problem details
    ],
    ids=["html-page", "api", "404-page", "api-404"],
)
def test_security_headers_on_every_kind_of_response(client, path, status, mimetype):
    response = client.get(path)

    assert response.status_code == status
    assert response.mimetype == mimetype
    directives = csp_directives(response)
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src is not None
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert directives.get("frame-ancestors") == ["'none'"]
    assert directives.get("object-src") == ["'none'"]
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy")
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_pages_have_no_inline_scripts_the_policy_would_block(client, open_consultation):
    for path in ("/", "/signin", "/signup", f"/c/{open_consultation.slug}"):
        page = client.get(path).get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag, f"inline script on {path}: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", page), f"inline event handler on {path}"


# --- session cookie ------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(client, citizen):
    db.session.commit()

    response = client.post("/signin", data={"email": citizen.email, "password": PASSWORD})

    assert response.status_code == 302
    cookie = session_cookie_header(response)
    attributes = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_session_cookie_is_secure_outside_testing_and_debug(clean_env, tmp_path):
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})

    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.test_client() as client:
        response = client.get("/signin")  # the CSRF token is kept in the session
    assert response.status_code == 200
    attributes = [a.strip().lower() for a in session_cookie_header(response).split(";")]
    assert "secure" in attributes
    assert "httponly" in attributes


def test_session_cookie_is_not_secure_in_testing(app):
    assert app.config["SESSION_COOKIE_SECURE"] is False


# --- request size --------------------------------------------------------------------------


def test_request_over_the_size_limit_gets_a_readable_413(app, client):
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    body = b"display_name=" + b"x" * (2 * 1024 * 1024 + 1)

    response = client.post("/signup", data=body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert heading(page) == "Too large"
    assert 'href="/"' in page
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


# --- error pages ---------------------------------------------------------------------------


def test_404_page_has_a_heading_and_a_way_home(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert heading(page) == "Not found"
    assert re.search(r'<a href="(/|http://consult\.test/)">', page)


@pytest.mark.parametrize(
    ("method", "path", "status", "title", "message_part"),
    [
        ("GET", "/api/v1/no-such-thing", 404, "Not found", ""),
        ("GET", "/api/v1/consultations/no-such-consultation", 404, "Not found", ""),
        ("GET", "/api/v1/consultations?state=bogus", 400, "Bad request", "'state' must be one of"),
        ("GET", "/api/v1/consultations?per_page=100000", 400, "Bad request", "'per_page' must be a whole number"),
        ("POST", "/api/v1/consultations", 405, "Method not allowed", ""),
        ("DELETE", "/api/v1/consultations", 405, "Method not allowed", ""),
    ],
    ids=["404-route", "404-consultation", "400-state", "400-per-page", "405-post", "405-delete"],
)
def test_api_errors_are_json(client, method, path, status, title, message_part):
    response = client.open(path, method=method)

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    error = response.get_json()["error"]
    assert error["status"] == status
    assert error["title"] == title
    assert isinstance(error["message"], str) and error["message"]
    assert message_part in error["message"]
    assert "<html" not in response.get_data(as_text=True)


def test_405_on_the_html_side_is_a_page_with_allow(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # answer as in production

    # A GET is sent to the page instead (consult/core/action_urls.py); other methods get the page.
    response = client.put("/signout")

    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert heading(response.get_data(as_text=True)) == "Method not allowed"
    assert "POST" in response.headers.get("Allow", "")


def test_405_on_the_api_names_the_allowed_methods(client):
    response = client.post("/api/v1/consultations")

    assert response.status_code == 405
    assert "GET" in response.headers.get("Allow", "")


def test_unexpected_exception_becomes_a_500_page_without_details(clean_env, tmp_path, caplog):
    app = new_app(tmp_path, TESTING=True, PROPAGATE_EXCEPTIONS=False)

    def explode():
        raise RuntimeError("secret detail: password=hunter2")

    def explode_api():
        raise KeyError("internal-key-name")

    app.add_url_rule("/boom", "boom", public(explode))
    app.add_url_rule("/api/v1/boom", "api_boom", public(explode_api))
    client = app.test_client()

    response = client.get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert heading(page) == "Something went wrong"
    assert "hunter2" not in page
    assert "RuntimeError" not in page
    assert "Traceback" not in page
    assert response.headers.get("X-Frame-Options") == "DENY"

    api = client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.get_json()["error"]["status"] == 500
    assert "internal-key-name" not in api.get_data(as_text=True)


# --- CSRF ----------------------------------------------------------------------------------


@pytest.fixture
def csrf_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def test_csrf_sign_in_without_token_is_refused_and_nothing_stored(client, citizen, csrf_on):
    db.session.commit()

    response = client.post("/signin", data={"email": citizen.email, "password": "a wrong password"})

    assert response.status_code == 400
    assert CSRF_MESSAGE in html.unescape(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(SignInAttempt)) == 0
    assert not is_signed_in(client)


def test_csrf_sign_out_without_token_is_refused_and_the_user_stays_signed_in(client, citizen, csrf_on):
    login(client, citizen)

    response = client.post("/signout")

    assert response.status_code == 400
    assert CSRF_MESSAGE in html.unescape(response.get_data(as_text=True))
    assert is_signed_in(client)


def test_csrf_token_from_the_rendered_form_is_accepted(app, client, citizen, csrf_on):
    db.session.commit()

    def own_context(send):
        # In production each request has its own app context, so its own ``g``; the test's
        # long-lived context would let Flask-WTF reuse a token cached on ``g`` across requests.
        with app.app_context():
            return send()

    form_page = own_context(lambda: client.get("/signin"))
    token = csrf_token_in(form_page.get_data(as_text=True))
    signed_in = own_context(lambda: client.post("/signin", data={"csrf_token": token, "email": citizen.email, "password": PASSWORD}))
    assert signed_in.status_code == 302
    assert own_context(lambda: is_signed_in(client))

    home = own_context(lambda: client.get("/")).get_data(as_text=True)
    signed_out = own_context(lambda: client.post("/signout", data={"csrf_token": csrf_token_in(home)}))
    assert signed_out.status_code == 302
    assert not own_context(lambda: is_signed_in(client))


def test_csrf_token_from_another_session_is_refused(app, client, citizen, csrf_on):
    db.session.commit()
    other = app.test_client()
    foreign_token = csrf_token_in(other.get("/signin").get_data(as_text=True))
    client.get("/signin")

    response = client.post("/signin", data={"csrf_token": foreign_token, "email": citizen.email, "password": PASSWORD})

    assert response.status_code == 400
    assert not is_signed_in(client)


# --- configuration -------------------------------------------------------------------------


def test_secret_key_is_generated_once_kept_private_and_reused(clean_env, tmp_path):
    first = create_app({"DATABASE_URL": "sqlite://", "INSTANCE_PATH": str(tmp_path / "a")})
    second = create_app({"DATABASE_URL": "sqlite://", "INSTANCE_PATH": str(tmp_path / "a")})
    elsewhere = create_app({"DATABASE_URL": "sqlite://", "INSTANCE_PATH": str(tmp_path / "b")})

    key_file = tmp_path / "a" / "secret_key"
    assert key_file.exists()
    key = first.config["SECRET_KEY"]
    assert isinstance(key, str) and len(key) >= 32
    assert key_file.read_text().strip() == key
    assert second.config["SECRET_KEY"] == key
    assert elsewhere.config["SECRET_KEY"] != key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_sessions_survive_a_restart_with_the_generated_key(clean_env, tmp_path):
    first = new_app(tmp_path, SECRET_KEY=None)
    cookie = first.session_interface.get_signing_serializer(first).dumps({"hello": "world"})

    restarted = new_app(tmp_path, SECRET_KEY=None)

    assert restarted.session_interface.get_signing_serializer(restarted).loads(cookie) == {"hello": "world"}


def test_settings_come_from_the_environment(clean_env, tmp_path):
    clean_env.setenv("CONSULT_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "7")

    app = new_app(tmp_path)

    assert app.config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"] == 7
    assert type(app.config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]) is int


def test_explicit_settings_beat_the_environment(clean_env, tmp_path):
    clean_env.setenv("CONSULT_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "7")

    app = new_app(tmp_path, SIGNIN_MAX_FAILURES_PER_ACCOUNT=3)

    assert app.config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"] == 3


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite connection settings")
def test_sqlite_file_database_settings(clean_env, tmp_path):
    app = new_app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'consult.db'}")

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
                journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
                busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        finally:
            db.engine.dispose()

    assert foreign_keys == 1
    assert journal_mode.lower() == "wal"
    assert busy_timeout >= 5000


def test_timestamps_come_back_timezone_aware_utc(citizen):
    user_id = citizen.id
    db.session.commit()
    db.session.expire_all()

    reloaded = db.session.get(User, user_id)
    created = reloaded.created_at
    confirmed = reloaded.confirmed_at

    assert created.tzinfo is not None
    assert created.utcoffset().total_seconds() == 0
    assert confirmed.tzinfo is not None and confirmed.utcoffset().total_seconds() == 0


def test_a_race_lost_at_a_unique_constraint_is_a_clean_409(clean_env, tmp_path):
    """Two requests creating the same thing at once: the database refuses the second, and its
    user gets a 409 page (JSON under /api/), not a 500, with nothing half-stored."""
    from sqlalchemy.exc import IntegrityError

    app = new_app(tmp_path, TESTING=True, PROPAGATE_EXCEPTIONS=False)

    @app.route("/race")
    @public
    def race():
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))

    @app.route("/api/v1/race")
    @public
    def api_race():
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))

    client = app.test_client()
    page = client.get("/race")
    assert page.status_code == 409 and "changed at the same moment" in page.get_data(as_text=True)
    assert "UNIQUE" not in page.get_data(as_text=True)
    assert client.get("/api/v1/race").get_json()["error"]["status"] == 409


# --- Bad input: numbers the database cannot hold, NUL characters ------------------------------

BEYOND_INTEGER = "99999999999999999999"  # an OverflowError on SQLite, a DataError on PostgreSQL


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("7", 7),
        ("0", 0),
        (str(MAX_INT), MAX_INT),
        (str(MAX_INT + 1), None),
        (BEYOND_INTEGER, None),
        ("\u00b2", None),
        ("\u0663", None),
        (" 7", None),
        ("7\n", None),
        ("-7", None),
        ("+7", None),
        ("", None),
        (None, None),
    ],
)
def test_whole_number_takes_ascii_digits_within_the_integer_range(raw, number):
    assert whole_number(raw) == number


@pytest.mark.parametrize(
    ("persona", "method", "path"),
    [
        ("citizen", "GET", f"/comments/{BEYOND_INTEGER}"),
        ("citizen", "GET", f"/comments/{MAX_INT + 1}"),
        ("citizen", "GET", "/comments/" + "9" * 5000),
        ("citizen", "GET", f"/people/{BEYOND_INTEGER}"),
        ("citizen", "GET", f"/amendments/{BEYOND_INTEGER}"),
        ("citizen", "GET", f"/contributions/{BEYOND_INTEGER}/report"),
        ("citizen", "GET", f"/api/v1/amendments/{BEYOND_INTEGER}"),
        ("moderator", "GET", f"/c/open-one/themes/{BEYOND_INTEGER}/summary"),
        ("moderator", "POST", f"/o/council/unblock/{BEYOND_INTEGER}"),
        ("org_admin", "POST", f"/o/council/members/{BEYOND_INTEGER}/remove"),
    ],
)
def test_ids_beyond_the_database_integer_range_are_not_found(request, client, open_consultation, persona, method, path):
    login(client, request.getfixturevalue(persona))
    response = client.open(path, method=method)
    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.get_json()["error"]["status"] == 404


NUL_MESSAGE = "The request contains a NUL character, which is not allowed."


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/c/a%00b", None),
        ("GET", "/o/a%00b", None),
        ("GET", "/?organisation=a%00b", None),
        ("GET", "/search?q=open&a%00b=1", None),
        ("GET", "/account?next=a%00b", None),  # refused before the sign-in gate reads the session's user
        ("POST", "/signup", {"display_name": "a\x00b", "email": "nul@example.org", "password": PASSWORD, "confirm": PASSWORD}),
    ],
)
def test_nul_characters_are_refused_before_anything_reads_the_database(client, open_consultation, method, path, data):
    response = client.open(path, method=method, data=data)
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "nul@example.org")) == 0


def test_nul_characters_are_refused_as_json_on_the_api(client, open_consultation):
    for path in ("/api/v1/consultations/a%00b", "/api/v1/search?q=open&consultation=a%00b"):
        response = client.get(path)
        assert response.status_code == 400
        assert response.get_json()["error"] == {"status": 400, "title": "Bad request", "message": NUL_MESSAGE}


def test_nul_characters_in_what_a_signed_in_person_writes_store_nothing(client, open_consultation, citizen):
    login(client, citizen)
    before = db.session.scalar(select(func.count()).select_from(Contribution))
    for path in ("/c/open-one/comments", "/c/open-one/statements"):
        response = client.post(path, data={"body": "Half\x00a comment"})
        assert response.status_code == 400 and NUL_MESSAGE in response.get_data(as_text=True)
    assert client.post("/account", data={"display_name": "a\x00b"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Contribution)) == before
    db.session.refresh(citizen)
    assert citizen.display_name == "Casey Citizen"


def test_logged_database_errors_leave_out_the_rows_values(citizen):
    with pytest.raises(IntegrityError) as refused:
        make_user(email=citizen.email, name="Twin")  # the same address: refused by the unique constraint
    db.session.rollback()
    message = str(refused.value)
    assert "scrypt:" not in message and "Twin" not in message
    assert "SQL parameters hidden" in message


def test_an_error_page_offers_the_way_back_to_a_page_of_this_site(client):
    came_from = client.get("/c/nowhere", headers={"Referer": "http://consult.test/search?q=parks"})
    html = came_from.get_data(as_text=True)
    assert came_from.status_code == 404 and '<a href="/search?q=parks">Back to the page you were on</a>' in html
    for referrer in ("https://elsewhere.example/page", "javascript:alert(1)", "http://consult.test/c/nowhere"):
        html = client.get("/c/nowhere", headers={"Referer": referrer}).get_data(as_text=True)
        assert "Back to the page you were on" not in html, referrer  # not another site's, nor this same page


def test_readiness_says_whether_the_database_answers(client, tmp_path):
    assert client.get("/readyz").get_data(as_text=True) == "ready\n"
    assert client.get("/healthz").status_code == 200
    # A server whose database is gone: alive, but not ready (no error text leaks). In a process of
    # its own: here every app's session is bound to the test database's connection.
    script = (
        "from consult import create_app\n"
        "app = create_app({'DATABASE_URL': 'postgresql://nobody@127.0.0.1:1/none', 'SECRET_KEY': 'x',"
        f" 'INSTANCE_PATH': {str(tmp_path)!r}}})\n"
        "c = app.test_client()\n"
        "r = c.get('/readyz')\n"
        "print(r.status_code, repr(r.get_data(as_text=True)), c.get('/healthz').status_code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "503 'database unavailable\\n' 200", done.stdout + done.stderr[-2000:]


def test_behind_a_proxy_the_forwarded_host_is_trusted_only_when_configured(tmp_path):
    def host_seen(**config):
        app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "PROXY_FIX": 1, **config})
        app.add_url_rule("/_host", "_host", public(lambda: request.host))
        return app.test_client().get("/_host", headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"})

    assert host_seen().get_data(as_text=True) == "localhost"
    assert host_seen(PROXY_FIX_HOST=True).get_data(as_text=True) == "evil.example"


def test_trusted_hosts_refuse_any_other_host(tmp_path):
    app = create_app(
        {"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "TRUSTED_HOSTS": ["consult.example.org"]}
    )
    client = app.test_client()
    assert client.get("/healthz", base_url="http://consult.example.org").status_code == 200
    assert client.get("/healthz", base_url="http://evil.example").status_code == 400
