"""Who calls the API: a bearer token (``Authorization: Bearer cst_…``), and CORS.

Runs before the sign-in gate (``consult/core/routing.py``): a valid token signs its person in
for this one request (nothing is written to the session), so the gate lets it through to routes
that need someone signed in; a token that is unknown, revoked or expired is refused with 401
even on public routes (RFC 6750), rather than quietly read as nobody.

The write API takes a token and never the session cookie (``require_token``): a cookie is
sent by the browser to any site's form or script, a token only by code that holds it, so the
write API needs no CSRF token and is exempt from Flask-WTF's check. Reads also take the cookie
(the site's own scripts read the API as the signed-in person).

CORS: every answer under ``/api/`` says ``Access-Control-Allow-Origin: *`` and never
``Allow-Credentials``, so another site's script can read what anyone may read, and send
requests with a token it holds (preflights allow ``Authorization``, ``Content-Type`` and
``Idempotency-Key``), but a browser never lets it read an answer made with the visitor's cookie.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_babel import gettext as _

from consult.api.problems import problem_type
from consult.core.models import utcnow
from consult.core.problems import Problem
from consult.core.routing import AUTHENTICATORS
from consult.tokens import services as tokens
from consult.tokens.models import ApiToken, Scope

API_PREFIX = "/api/"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": (
        "Location, Retry-After, Idempotent-Replayed, WWW-Authenticate, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
    ),
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Max-Age": "600",
}


def current_token() -> ApiToken | None:
    """The token this request was authenticated with, if any."""
    return g.get("api_token")


def unauthorised(detail, *, error: str | None = None) -> Problem:
    challenge = f'Bearer realm="Consult", error="{error}"' if error else 'Bearer realm="Consult"'
    return Problem(
        401,
        title=_("Authentication needed"),
        detail=detail,
        type=problem_type("unauthorised"),
        headers={"WWW-Authenticate": challenge},
    )


def insufficient_scope(scope: Scope) -> Problem:
    return Problem(
        403,
        title=_("The token does not allow this"),
        detail=_("This needs a token with the “%(scope)s” scope.", scope=str(scope)),
        type=problem_type("insufficient-scope"),
        headers={"WWW-Authenticate": f'Bearer realm="Consult", error="insufficient_scope", scope="{scope}"'},
    )


def require_token(scope: Scope) -> ApiToken:
    """The request's token, which must carry ``scope``: writes take a token, never the session
    cookie (so they need no CSRF token)."""
    token = current_token()
    if token is None:
        raise unauthorised(_("Send an API token: the header “Authorization: Bearer” followed by the token."))
    if not token.allows(scope):
        raise insufficient_scope(scope)
    return token


def require_organisation(token: ApiToken, organisation_id: int) -> None:
    """An organisation's token acts only in that organisation's consultations."""
    if not tokens.acts_in(token, organisation_id):
        raise Problem(
            403,
            title=_("The token does not allow this"),
            detail=_("This token acts for another organisation: it cannot act in this consultation."),
            type=problem_type("other-organisation"),
        )


def rate_limit_key() -> str:
    """Limits count per token (per address for requests without one)."""
    token = current_token()
    return f"token:{token.id}" if token is not None else f"addr:{request.remote_addr}"


def _authenticate():
    g.pop("api_token", None)  # an app context can outlive a request (tests, CLI-driven clients)
    if not request.path.startswith(API_PREFIX):
        return None
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response = current_app.response_class(status=204)
        response.headers.update(PREFLIGHT_HEADERS)
        return response  # a preflight carries no credentials: answered before the gate
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _space, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise unauthorised(_("Send the token as “Authorization: Bearer” followed by the token."), error="invalid_request")
    now = utcnow()
    token = tokens.usable_token(secret.strip(), now=now)
    if token is None:
        raise unauthorised(_("This token is unknown, revoked or expired."), error="invalid_token")
    g.api_token = token
    user = token.user
    tokens.note_use(token, now=now)
    current_app.login_manager._update_request_context_with_user(user)  # type: ignore[attr-defined]  # this request only
    if request.method in ("GET", "HEAD") and not token.allows(Scope.READ):
        raise insufficient_scope(Scope.READ)
    return None


def _cors(response):
    if request.path.startswith(API_PREFIX):
        for name, value in CORS_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.extensions.setdefault(AUTHENTICATORS, []).append(_authenticate)  # the sign-in gate runs it first
    app.after_request(_cors)
    app.register_error_handler(Problem, lambda problem: problem.get_response())


__all__ = ["current_token", "init_app", "require_organisation", "require_token"]
