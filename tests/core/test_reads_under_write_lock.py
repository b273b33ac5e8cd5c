"""On SQLite, reading never waits for the write lock (issue 13, "Database and requests").

Another connection holds SQLite's write lock (``BEGIN IMMEDIATE`` on a raw ``sqlite3``
connection to the same file) while a signed-in person reads every kind of page. The app's busy
timeout is tiny, so a page that tried to take the lock (a write on a GET, a ``BEGIN IMMEDIATE``)
would fail with "database is locked" instead of waiting: each page must answer at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest

from consult import create_app
from consult.core.jobs import queue
from consult.core.models import db
from tests.factories import login, make_consultation, make_organisation, make_user

PAGES = [
    "/",
    "/c/{open}",
    "/c/{open}/s/{section}",
    "/c/{open}/v/1",
    "/c/{open}/comments",
    "/comments/{comment}",
    "/c/{open}/amendments",
    "/amendments/{amendment}",
    "/c/{open}/statements",
    "/c/{open}/statements/vote",
    "/c/{open}/opinion-map",
    "/c/{open}/moderation-log",
    "/c/{done}/outcome",
    "/c/{done}",
    "/search?q=department",
    "/account",
    "/o/council",
    "/api/v1/consultations",
    "/api/v1/consultations/{open}",
    "/api/v1/consultations/{open}/annotations",
    "/api/v1/consultations/{open}/amendments",
    "/api/v1/amendments/{amendment}",
    "/api/v1/search?q=department",
    "/readyz",
]


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction here: this module's app has its own SQLite file."""
    yield


@pytest.fixture
def site(tmp_path):
    """An app on a SQLite file with a tiny busy timeout, a signed-in citizen's client, and the
    addresses of its pages."""
    database = tmp_path / "consult.db"
    (tmp_path / "instance").mkdir()
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{database}",
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "JOBS_IMMEDIATE": True,  # while the data is made; pages then queue as in production
            "SEARCH_DIR": str(tmp_path / "search"),
            "RATE_LIMITS": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
            "SQLITE_BUSY_TIMEOUT": 0.05,  # waiting for the lock shows as "database is locked"
        }
    )
    from consult.amendments.services import propose_amendment
    from consult.comments.services import post_comment
    from consult.voting.services import cast_vote
    from consult.voting.statements import post_statement

    client = app.test_client()
    with app.app_context():
        db.create_all()
        council = make_organisation(slug="council", name="Riverside Council")
        author = make_user(role="author", organisation=council)
        citizen = make_user(name="Casey Citizen", email="casey@example.org")
        c = make_consultation(council, author=author, slug="open-one")
        done = make_consultation(council, author=author, slug="done-one", state="concluded")
        section = c.current_version.sections[1]
        comment = post_comment(c, actor=citizen, body="Which department goes first?", section_key=section.key)
        amendment = propose_amendment(c, actor=citizen, section_key=section.key, rationale="Say who.", proposed_text="Every department.")
        statement = post_statement(c, actor=citizen, body="Publish the data weekly.")
        cast_vote(c, actor=author, value="agree", contribution=statement)
        db.session.commit()
        login(client, citizen)
        names = {"open": c.slug, "done": done.slug, "section": section.key, "comment": comment.id, "amendment": amendment.id}
    queue(app).huey.immediate = False  # as in production: a page queues work, a worker does it
    try:
        yield app, client, [page.format(**names) for page in PAGES], database
    finally:
        queue(app).huey.flush()
        with app.app_context():
            db.engine.dispose()


@contextmanager
def write_lock_held(database) -> Iterator[None]:
    """Another process's writing transaction, holding SQLite's write lock until the block ends."""
    with closing(sqlite3.connect(database, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE users SET display_name = display_name")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


def test_every_page_answers_while_another_connection_holds_the_write_lock(site):
    app, client, pages, database = site
    for page in pages:  # each once before, so the lock is what differs below
        assert client.get(page, follow_redirects=True).status_code == 200, page
    with write_lock_held(database):
        for page in pages:
            for method in (client.get, client.head):
                response = method(page, follow_redirects=True)
                assert response.status_code == 200, (
                    f"{method.__name__.upper()} {page}: {response.status_code} {response.get_data(as_text=True)[:300]}"
                )


def test_the_password_is_checked_without_holding_the_write_lock(site, monkeypatch):
    """Hashing is slow on purpose: a sign-in storm that hashed while holding SQLite's write lock
    made every other writer wait, and some gave up ("database is locked")."""
    from werkzeug.security import check_password_hash

    from consult.accounts import services as accounts
    from tests.factories import PASSWORD

    app, client, _pages, database = site
    checked = []

    def check_while_another_writes(stored: str, password: str) -> bool:
        with closing(sqlite3.connect(database, isolation_level=None, timeout=0)) as other:
            other.execute("BEGIN IMMEDIATE")  # fails at once ("database is locked") if the sign-in holds it
            other.execute("ROLLBACK")
        checked.append(password)
        return check_password_hash(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", check_while_another_writes)
    client.post("/signout")
    wrong = client.post("/signin", data={"email": "casey@example.org", "password": "not the password"})
    assert wrong.status_code == 400
    right = client.post("/signin", data={"email": "casey@example.org", "password": PASSWORD})
    assert right.status_code == 302, right.get_data(as_text=True)[:500]
    assert len(checked) == 2
    with app.app_context():
        from sqlalchemy import func, select

        from consult.accounts.models import SignInAttempt

        # the failure was recorded, then cleared by the success (the writing half ran)
        assert db.session.scalar(select(func.count()).select_from(SignInAttempt)) == 0
