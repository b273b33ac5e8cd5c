"""Signing in, in steps.

Once a person's credentials are checked (a password, an identity provider), the sign-in may
need more before their session starts: a second factor, agreement to changed terms. Each such
feature registers a *step*: a test of whether this person needs it now, and the page that asks
for it. Every way of signing in ends in :func:`begin`; each step's page, once satisfied, calls
:func:`step_done`; when no step is left :func:`begin` or :func:`step_done` start the session.

The sign-in waiting for its steps lives in the (signed) session cookie for ``PENDING_MINUTES``;
step pages find its person with :func:`pending_user` and are ``@public`` (nobody is signed in
yet), sending anyone without a pending sign-in back to the sign-in page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user
from werkzeug.wrappers import Response

from consult.accounts import devices, services
from consult.accounts.models import User
from consult.core.links import safe_next
from consult.core.models import db

SESSION_TOKEN_KEY = "sid"
PENDING_KEY = "pending_sign_in"
PENDING_MINUTES = 10


@dataclass(frozen=True)
class Step:
    name: str
    needed: Callable[[User], bool]
    endpoint: str
    order: int


_steps: dict[str, Step] = {}


def step(name: str, *, endpoint: str, order: int) -> Callable[[Callable[[User], bool]], Callable[[User], bool]]:
    """Register ``needed(user)`` as the test of step ``name``, asked by the page ``endpoint``.
    Steps run in ``order`` (lower first): a second factor (10) before agreeing to terms (20)."""

    def register(needed: Callable[[User], bool]) -> Callable[[User], bool]:
        _steps[name] = Step(name=name, needed=needed, endpoint=endpoint, order=order)
        return needed

    return register


def begin(user: User, *, next_url: str | None, method: str = "password") -> Response:
    """Credentials are good: start the steps this person needs, or their session if none."""
    session.clear()  # a fresh session: nothing planted before sign-in survives it
    session[PENDING_KEY] = {
        "user_id": user.id,
        "next": safe_next(next_url) or "",
        "method": method,
        "done": [],
        "until": time.time() + PENDING_MINUTES * 60,
    }
    return _advance(user)


def pending_user() -> User | None:
    """The person whose sign-in waits for a step, or None (none waiting, or it has expired)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        return None
    return db.session.get(User, pending["user_id"])


def pending_method() -> str | None:
    """How the waiting sign-in proved who it is ("password", "oidc:PROVIDER"), or None."""
    pending = session.get(PENDING_KEY)
    return pending.get("method") if isinstance(pending, dict) else None


def step_done(name: str) -> Response:
    """The step ``name`` is satisfied: on to the next, or into the session."""
    user = pending_user()
    if user is None:
        return expired()
    pending = dict(session[PENDING_KEY])
    pending["done"] = [*pending["done"], name]
    session[PENDING_KEY] = pending
    return _advance(user)


def expired() -> Response:
    session.pop(PENDING_KEY, None)
    flash(_("Your sign-in took too long or has already finished. Please sign in again."), "error")
    return redirect(url_for("accounts.sign_in"))


def _advance(user: User) -> Response:
    done = set(session[PENDING_KEY]["done"])
    for each in sorted(_steps.values(), key=lambda s: s.order):
        if each.name not in done and each.needed(user):
            db.session.commit()  # whatever the checks wrote (throttles, attempts) is kept
            return redirect(url_for(each.endpoint))
    return _finish(user)


def _finish(user: User) -> Response:
    pending = session.pop(PENDING_KEY)
    token = services.start_login_session(user, device=devices.current_description(), address=request.remote_addr)
    db.session.commit()
    session.clear()
    session[SESSION_TOKEN_KEY] = token
    login_user(user)
    flash(_("Welcome, %(name)s.", name=user.display_name), "success")
    # This browser has signed in to the account: others' failed attempts no longer hold it back.
    return devices.remember(redirect(pending["next"] or url_for("proposals.index")), user.id)
