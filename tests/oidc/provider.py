"""A real OpenID provider for the tests: panva's ``oidc-provider`` under Node (tests/oidc/provider.js),
installed by ``make install-test`` into ``.cache/npm``. CI (``CI`` set) fails without Node or the
package; elsewhere the tests that need it are skipped with the reason."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("provider.js")
PACKAGE = REPO / ".cache" / "npm" / "node_modules" / "oidc-provider" / "package.json"
CLIENT_ID = "consult-tests"
CLIENT_SECRET = "a-client-secret-for-the-tests-only"
#: The accounts at the provider: the login on its page is the subject, any password.
ACCOUNTS = {
    "ada-gov-1": {"email": "ada.verified@example.org", "email_verified": True, "name": "Ada Govid"},
    "bo-gov-2": {"email": "bo.unverified@example.org", "email_verified": False, "name": "Bo Unverified"},
}


@dataclass(frozen=True)
class RunningProvider:
    issuer: str

    def settings(self, name: str = "local", label: str = "Sign in with Local ID") -> dict:
        """The entry of ``OIDC_PROVIDERS`` for this provider."""
        return {"name": name, "issuer": self.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "label": label}


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_provider(redirect_uris: list[str]) -> Iterator[RunningProvider]:
    """Start the provider on a free port, wait until its discovery document answers, stop it after."""
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed (the OpenID provider of the sign-in tests runs on Node 20)")
    if not PACKAGE.is_file():
        _missing(f"oidc-provider is not installed at {PACKAGE.parent}: make install-test")
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = {
        "port": port,
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": redirect_uris,
        "accounts": ACCOUNTS,
    }
    process = subprocess.Popen([node, str(SCRIPT), json.dumps(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_discovery(process, issuer)
        yield RunningProvider(issuer=issuer)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def _wait_for_discovery(process: subprocess.Popen, issuer: str, attempts: int = 600) -> None:
    """Poll the discovery document (each try waits on the connection, not on a sleep)."""
    for _ in range(attempts):
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the OpenID provider exited ({process.returncode}):\n{output[-2000:]}", pytrace=False)
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                return
        except requests.ConnectionError:
            try:
                process.wait(timeout=0.05)  # lets the provider start; returns at once if it exited
            except subprocess.TimeoutExpired:
                pass
    pytest.fail("the OpenID provider did not answer its discovery document", pytrace=False)


class _Forms(HTMLParser):
    """The forms of a page: (action, method, {name: value}) for each."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("action") or "", (attrs.get("method") or "get").lower(), {}))
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            self.forms[-1][2].setdefault(attrs["name"], attrs.get("value") or "")


def sign_in_at_provider(issuer: str, authorization_url: str, login: str) -> str:
    """Sign in at the provider's own pages as a browser would (requests keeps its cookies), and
    return the address it sends the browser back to (our callback, with code, state and iss)."""
    browser = requests.Session()
    url = authorization_url
    for _ in range(20):
        if not url.startswith(issuer + "/"):
            return url  # leaving the provider: the callback
        response = browser.get(url, allow_redirects=False, timeout=10)
        if not response.is_redirect:  # one of its pages: fill in its form (the login page asks for one)
            parser = _Forms()
            parser.feed(response.text)
            assert parser.forms, response.text[:2000]
            action, _, fields = parser.forms[0]
            if "login" in fields:
                fields.update(login=login, password="any password")
            response = browser.post(urljoin(url, action), data=fields, allow_redirects=False, timeout=10)
            assert response.is_redirect, response.text[:2000]
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("the provider never sent the browser back")


__all__ = ["ACCOUNTS", "CLIENT_ID", "CLIENT_SECRET", "RunningProvider", "running_provider", "sign_in_at_provider"]
