"""A random token naming one browser, in a cookie of its own, for what must outlive the session
(signing in clears the session) without naming an account: the drafts a signed-out person wrote
(``contributions.drafts``) and the browser a sign-up was made in, where its confirmation link
may sign the person in (``accounts.services.sign_up``).

The cookie holds the token; the database only ever sees its hash. It proves nothing by itself.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from flask import current_app, request
from werkzeug.wrappers import Response

COOKIE_NAME = "consult_browser"
MAX_AGE = 7 * 24 * 3600  # as long as a confirmation link lasts
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def current() -> str | None:
    """The requesting browser's token, or None (none yet, or not one we made)."""
    value = request.cookies.get(COOKIE_NAME, "")
    return value if _SHAPE.fullmatch(value) else None


def current_or_new() -> str:
    """The browser's token, or a new one (give it to the browser with ``give``)."""
    return current() or secrets.token_urlsafe(32)


def give(response: Response, token: str) -> Response:
    if request.cookies.get(COOKIE_NAME) != token:
        response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=MAX_AGE,
            secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
            httponly=True,
            samesite="Lax",
        )
    return response


def fingerprint(token: str | None, purpose: str) -> str | None:
    """A short hash of the token for one purpose (a confirmation link names the browser by it)."""
    return hashlib.sha256(f"{purpose}\n{token}".encode()).hexdigest()[:24] if token else None
