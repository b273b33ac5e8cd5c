"""Every endpoint needs a signed-in user unless it is marked ``@public``.

The gate runs before every request, so a forgotten decorator closes a route rather than opening
it; ``tests/core/test_routes.py`` walks ``app.view_functions`` to prove each one was classified.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, g, redirect, request, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable)

#: ``app.extensions`` key of the functions that may sign a request in before the gate decides.
AUTHENTICATORS = "consult.authenticators"

#: Endpoints from Flask or extensions that are public by nature.
PUBLIC_ENDPOINTS = frozenset({"static"})


def public[F: Callable](view: F) -> F:
    """Mark a view as readable without signing in (it still checks permissions itself)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def writes_last[F: Callable](view: F) -> F:
    """Mark a view that changes something (a POST) as reading first and writing last, in a short
    transaction of its own (``core.models.write_apart``): its request begins as a reading one
    (SQLite: a deferred BEGIN, no write lock while the user and the page's objects are read)."""
    view.writes_last = True  # type: ignore[attr-defined]
    return view


def reads_first(app: Flask, endpoint: str | None) -> bool:
    """Whether the request's view is marked ``writes_last``."""
    view = app.view_functions.get(endpoint) if endpoint is not None else None
    return bool(getattr(view, "writes_last", False))


def is_public(app: Flask, endpoint: str | None) -> bool:
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return True
    view = app.view_functions.get(endpoint)
    return bool(getattr(view, "is_public", False))


def init_app(app: Flask) -> None:
    @app.before_request
    def forget_cached_user():
        # Flask-Login caches the user on ``g``; a request must load it afresh (matters where
        # an app context outlives a request, as in tests and CLI-driven test clients).
        g.pop("_login_user", None)
        g.pop("csrf_token", None)  # Flask-WTF's cached token, tied to the session it came from

    @app.before_request
    def require_sign_in():
        # Other ways of signing a request in than the session (the API's bearer tokens, consult/api/auth.py)
        # run first; one may answer the request itself (a CORS preflight) or refuse it (a bad token).
        for authenticate in app.extensions.get(AUTHENTICATORS, ()):
            if (answer := authenticate()) is not None:
                return answer
        if is_public(app, request.endpoint) or current_user.is_authenticated:
            return None
        if request.path.startswith("/api/"):
            abort(401)
        return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))
