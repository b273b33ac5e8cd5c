"""The browser a request comes from: whether it signed in to an account before, and a short
description of it for the sessions page.

A browser that finishes signing in to an account, or resetting its password, is given a
"known browser" cookie: the ids of the (at most ``MAX_ACCOUNTS``) accounts it signed in to,
signed with the secret key and dated, valid for ``KNOWN_BROWSER_DAYS``. ``throttling`` does
not hold such a browser back for other people's failed attempts on those accounts. The cookie
proves nothing else: it signs nobody in.
"""

from __future__ import annotations

import re

from flask import current_app, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE_NAME = "consult_known_browser"
MAX_ACCOUNTS = 5


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="consult-known-browser")


def _max_age() -> int:
    return int(current_app.config["KNOWN_BROWSER_DAYS"]) * 24 * 3600


def known_accounts() -> frozenset[int]:
    """The accounts the requesting browser has signed in to before (none for a missing,
    forged or expired cookie)."""
    value = request.cookies.get(COOKIE_NAME)
    if not value:
        return frozenset()
    try:
        ids = _serializer().loads(value, max_age=_max_age())
    except BadSignature:  # SignatureExpired is one
        return frozenset()
    return frozenset(i for i in ids if isinstance(i, int)) if isinstance(ids, list) else frozenset()


def remember(response: Response, user_id: int) -> Response:
    """Make the requesting browser a known one for ``user_id`` (the most recent first)."""
    ids = [user_id, *(i for i in known_accounts() if i != user_id)][:MAX_ACCOUNTS]
    response.set_cookie(
        COOKIE_NAME,
        _serializer().dumps(ids),
        max_age=_max_age(),
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
    )
    return response


_BROWSERS = (
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/|Opera"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/"),
    ("Safari", r"Safari/"),
)
_SYSTEMS = (
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("ChromeOS", r"CrOS"),
    ("Windows", r"Windows"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("Linux", r"Linux|X11"),
)


def describe(user_agent: str | None) -> str:
    """A short description of a browser from its User-Agent header ("Firefox on Windows"),
    only to tell one's own sessions apart; "Unknown browser" when it says nothing we know."""
    agent = (user_agent or "")[:500]
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, agent)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, agent)), None)
    # Stored with the session, in the language the person signed in with (only they see it).
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or (_("A browser on %(system)s", system=system) if system else _("Unknown browser"))


def current_description() -> str:
    return describe(request.headers.get("User-Agent"))
