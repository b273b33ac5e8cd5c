"""Fixtures for the browser tests: a live server on a demo database, Debian's Chromium, axe-core.

Nothing here depends on ``tests/conftest.py``. Every test in this folder is marked ``browser``.

Environment:
  CONSULT_CHROMIUM         Chromium executable (default /usr/bin/chromium)
  CONSULT_AXE_PATH         axe.min.js (default <repo>/.cache/npm/node_modules/axe-core/axe.min.js)
  CI, CONSULT_REQUIRE_BROWSER=1
                           a missing Chromium or axe-core fails the tests instead of skipping them
  CONSULT_SCREENSHOT_DIR   when set, the accessibility tests save a full-page screenshot there
"""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from consult.core.models import db, sqlite_write_intent

# The app's real scoped session, taken when this file is imported (before any fixture runs).
_REAL_DB_SESSION = db.session

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CHROMIUM = "/usr/bin/chromium"
DEFAULT_AXE_PATH = REPO / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling home, which floods a closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _browser_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("CONSULT_REQUIRE_BROWSER") == "1"


def _missing(message: str) -> None:
    """Fail in CI (or when asked to), skip elsewhere: a laptop without Chromium is not broken."""
    if _browser_required():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# --- the app -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _transaction():
    """Override tests/conftest.py's autouse ``_transaction`` with a no-op in this folder.

    That fixture swaps the global ``db.session`` for one bound to the unit tests' in-memory
    database for the length of each test. The live server runs in this process and uses the same
    global ``db``, so under the swap it would serve (and write to) the wrong database.
    """
    yield


@pytest.fixture(autouse=True)
def _real_db_session():
    """Fail clearly, rather than with baffling 404s, if something still swaps ``db.session``."""
    if db.session is not _REAL_DB_SESSION:
        pytest.fail(
            "consult's global db.session was replaced before this browser test (by an autouse fixture "
            "in a parent conftest?); the in-process live server would use the wrong database. "
            "Override that fixture with a no-op in tests/browser/conftest.py.",
            pytrace=False,
        )
    yield


@pytest.fixture(autouse=True)
def _writes_take_the_lock():
    """Tests here write to the live server's SQLite file while its worker writes to it too: their
    transactions must begin IMMEDIATE (``sqlite_write_intent``'s default), waiting for the lock.
    An earlier test's request through a test client in this thread leaves the flag as that
    request set it (``mark_write_intent`` sets it for every request and leaves it; a GET sets
    False): a deferred transaction that read, then writes after the worker committed, fails at
    once with "database is locked" (seen once in CI, in test_margin's setting up)."""
    token = sqlite_write_intent.set(True)
    yield
    sqlite_write_intent.reset(token)


class LiveServer(str):
    """The live server's base URL, with its app (``.app``) for tests that must change a setting."""

    app: Any


@pytest.fixture(scope="package")
def live_server(tmp_path_factory) -> Iterator[str]:
    """The app on a fresh SQLite file with the demo loaded, served on a free port; yields the base
    URL (a ``LiveServer``: its ``.app`` is the app served).

    Stopped (server and worker) when this folder's tests are done: its threads use the global
    ``db.session``, which the unit tests after this folder swap for their own connection."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from consult import create_app
    from consult.demo import load_demo

    folder = tmp_path_factory.mktemp("live-server")
    app = create_app(
        {
            "INSTANCE_PATH": str(folder),  # its job queue, record bundles and search index
            "DATABASE_URL": f"sqlite:///{folder / 'consult.db'}",
            "SESSION_COOKIE_SECURE": False,  # plain http://127.0.0.1
            "SECRET_KEY": "test",
            "RATE_LIMITS": False,  # one demo citizen posts in many tests within a minute
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",  # the demo accounts sign in often; scrypt is slow on purpose
        }
    )
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()

    from consult.core.jobs import queue

    # A worker beside the server, as `make run` starts one: its threads run the queued jobs.
    worker = queue(app).huey.create_consumer(workers=2, worker_type="thread", periodic=True)
    worker.start()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="consult-live-server", daemon=True)
    thread.start()
    try:
        url = LiveServer(f"http://127.0.0.1:{server.server_port}")
        url.app = app
        # The site's own address, as CONSULT_BASE_URL says in production: absolute links (mail,
        # share tags, the embeds' links out of their frame) lead back to this server.
        app.config["BASE_URL"] = str(url)  # a plain str: jobs pickle it (the LiveServer carries the app)
        yield url
    finally:
        worker.stop(graceful=True)
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CONSULT_CHROMIUM") or DEFAULT_CHROMIUM
    if not Path(executable).is_file():
        _missing(f"Chromium not found at {executable}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(browser) -> Iterator[Callable[..., Any]]:
    """Make browser contexts (desktop viewport unless told otherwise); all are closed after the test."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """A page in a fresh context with the app's real CSP in force, 1280x900."""
    return new_context().new_page()


# --- axe-core ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_source() -> str:
    path = Path(os.environ.get("CONSULT_AXE_PATH") or DEFAULT_AXE_PATH)
    if not path.is_file():
        _missing(f"axe-core not found at {path}: npm install --prefix .cache/npm axe-core@4")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def run_axe(axe_source) -> Callable[[Any], list[dict]]:
    """``run_axe(page)``: inject axe-core and return its WCAG 2.0/2.1 A and AA violations.

    The page's context must have been made with ``bypass_csp=True``: the app's CSP
    (``script-src 'self'``, no inline script) blocks the injected script otherwise. That CSP is
    tested on its own, in a context without the bypass.
    """

    def run(page) -> list[dict]:
        page.add_script_tag(content=axe_source)
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            AXE_TAGS,
        )
        return result["violations"]

    return run


def _selector(target: Any) -> str:
    # A list of CSS selectors, one per frame or shadow root; each may itself be a list.
    if isinstance(target, list):
        return " >>> ".join(_selector(part) for part in target)
    return str(target)


def format_violations(violations: list[dict], url: str = "") -> str:
    lines = [f"{len(violations)} axe violation(s){' on ' + url if url else ''}:"]
    for v in violations:
        targets = [_selector(node.get("target")) for node in v["nodes"]]
        more = f" (+{len(targets) - 5} more)" if len(targets) > 5 else ""
        lines.append(f"- {v['id']} [{v.get('impact')}]: {v['help']} ({v.get('helpUrl', '')})")
        lines.append(f"    targets: {targets[:5]}{more}")
        if v["nodes"] and v["nodes"][0].get("failureSummary"):
            lines.append("    first: " + v["nodes"][0]["failureSummary"].replace("\n", " / "))
    return "\n".join(lines)


@pytest.fixture
def axe_report() -> Callable[[list[dict], str], str]:
    return format_violations


@pytest.fixture(scope="session")
def screenshot_dir() -> Path | None:
    folder = os.environ.get("CONSULT_SCREENSHOT_DIR")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- helpers the tests share --------------------------------------------------------------------

DEMO_PASSWORD = "demo-password-1"


def sign_in(page, live_server: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form (as a demo account unless given another password)."""
    page.goto(live_server + "/signin")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "/signin" not in page.url, page.locator("main").inner_text()[:500]


def tab_to(page, locator, limit: int = 200) -> None:
    """Press Tab until ``locator`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if locator.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{locator} never got the focus after {limit} presses of Tab")


def built_record(page, url: str, *, seconds: float = 120) -> zipfile.ZipFile:
    """The open record at ``url`` (a ``record.zip``) once the worker has built it: asked again
    while the answer is 202 ("being prepared"), for at most ``seconds``, with a pause between
    asks so the live server's threads leave the worker's thread the interpreter (a tight loop of
    requests starved the build on a busy machine)."""
    deadline = time.monotonic() + seconds
    while True:
        response = page.request.get(url)
        if response.status == 200:
            return zipfile.ZipFile(io.BytesIO(response.body()))
        assert response.status == 202, response.status
        if time.monotonic() > deadline:
            raise AssertionError(f"the record was not built within {seconds} s")
        page.wait_for_timeout(100)
