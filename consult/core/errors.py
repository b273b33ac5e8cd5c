"""Errors a user can act on: an HTML page, or JSON under ``/api/``. Never a bare 500."""

from __future__ import annotations

import enum
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict, HTTPException, SecurityError, default_exceptions

from consult.core.models import db
from consult.core.problems import problem_response


class RuleViolation(Exception):
    """A domain rule refused the change (e.g. opening a consultation with no published text).

    The message is shown to the user as it is, so write it for them. ``field`` names the form
    field the refusal is about, when there is one: a view that shows the form again puts the
    message there instead of on an error page.
    """

    status = 409

    def __init__(self, message: str, *, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


class PermissionDenied(Exception):
    """The actor may not do ``action`` (a ``consult.permissions.Action``). Views turn it into 403,
    or 409 saying its ``reason``."""

    def __init__(self, action: enum.Enum, obj: Any = None, reason: str | None = None):
        super().__init__(f"not allowed: {action.value}")
        self.action = action
        self.obj = obj
        self.reason = reason  # for those who could otherwise do it: why not now (see REFUSALS)


TITLES = {
    400: _l("Bad request"),
    401: _l("Sign in needed"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    503: _l("Service unavailable"),
}


# Pages say it in plain words; the JSON API keeps the HTTP names above.
HEADINGS = {
    400: _l("There is a problem with what was sent"),
    409: _l("That cannot be done now"),
    503: _l("Not available just now"),
}

# Werkzeug's own words for an abort() that gives none, in English only there: the same words
# here, so they are translated too.
DESCRIPTIONS = {
    400: _l("The browser (or proxy) sent a request that this server could not understand."),
    401: _l(
        "The server could not verify that you are authorized to access the URL requested. You either supplied the wrong "
        "credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required."
    ),
    403: _l("You don't have the permission to access the requested resource. It is either read-protected or not readable by the server."),
    404: _l("The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."),
    405: _l("The method is not allowed for the requested URL."),
    409: _l(
        "A conflict happened while processing the request. The resource might have been modified while the request was being processed."
    ),
    429: _l("This user has exceeded an allotted request count. Try again later."),
    500: _l(
        "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or "
        "there is an error in the application."
    ),
    503: _l(
        "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later."
    ),
}

DATABASE_UNAVAILABLE = _l("The site cannot reach its database just now. Try again in a minute.")
RETRY_AFTER = 30  # seconds, for a 503


def database_unavailable(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection (not a refused write): the
    request may succeed if sent again, so it answers 503, not 500."""
    if isinstance(error, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def _description(error: HTTPException) -> str:
    """What went wrong, in the page's language: the words the abort() gave, else Werkzeug's own
    (translated here), else the title."""
    code = error.code or 500
    default = default_exceptions.get(code)
    if error.description and (default is None or error.description != default.description):
        return str(error.description)
    return str(DESCRIPTIONS.get(code) or TITLES.get(code, ""))


def error_response(status: int, message: str):
    title = str(TITLES.get(status) or _("Error"))
    message = str(message)
    if request.path.startswith("/api/"):
        return problem_response(status, title=title, detail=message)  # RFC 9457 problem details
    else:
        heading = str(HEADINGS.get(status, title))
        try:
            body = render_template("errors/error.html", status=status, title=heading, message=message, back=_back_link())
        except Exception:  # noqa: BLE001 - the page itself failed: still answer, never a bare 500
            current_app.logger.exception("the error page could not be rendered")
            body = f"<!doctype html>\n<html lang=en><title>{escape(heading)} · Consult</title><h1>{escape(heading)}</h1><p>{escape(message)}</p></html>\n"
    return make_response(body, status)


def _rollback() -> None:
    """Roll the request's transaction back; with the database gone, there is none to end."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is already lost; the session is reset below
        db.session.close()


def _forget_user() -> None:
    """Show the page as to someone signed out: loading the user (or reloading its attributes,
    expired by the rollback) needs the database the page is about to say is unreachable."""
    current_app.login_manager._update_request_context_with_user()  # type: ignore[attr-defined]


def _back_link() -> str | None:
    """The page the person came from, when it is on this site and not this page: a refused
    form's page, so they can correct it rather than start from the list of consultations."""
    referrer = urlsplit(request.referrer or "")
    try:
        host = request.host
    except SecurityError:  # a Host outside TRUSTED_HOSTS: this page is the refusal
        return None
    if referrer.netloc != host or referrer.scheme not in ("http", "https"):
        return None
    back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return back if back.startswith("/") and not back.startswith("//") and referrer.path != request.path else None


def init_app(app: Flask) -> None:
    @app.after_request
    def error_first_in_the_title(response):
        """A page sent back because of what was typed (a form with errors, a refusal) says so
        first in its title, which screen readers announce as the page loads."""
        if response.status_code in (400, 409, 422) and response.mimetype == "text/html" and not response.direct_passthrough:
            body = response.get_data(as_text=True)
            prefix = "<title>" + _("Error:") + " "
            if "<title>" in body and prefix not in body:
                response.set_data(body.replace("<title>", prefix, 1))
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if isinstance(error, SecurityError):  # a Host outside TRUSTED_HOSTS: no page of the site can be built for it
            return make_response(
                (_("This site does not answer to that address.") + "\n", 400, {"Content-Type": "text/plain; charset=utf-8"})
            )
        message = _description(error)
        if error.code == 413:  # Werkzeug's own words say nothing of the limit or what to do
            mb = lambda key: _("%(size)s MB", size=f"{app.config[key] / 1024 / 1024:g}")  # noqa: E731
            message = _(
                "What you sent is too large: at most %(total)s in all, and %(form)s of text in a form. Split a long text into "
                "several Markdown files and import them together.",
                total=mb("MAX_CONTENT_LENGTH"),
                form=mb("MAX_FORM_MEMORY_SIZE"),
            )
        response = error_response(error.code or 500, message)
        if error.code == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        if error.code == 429 and getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_response(
            400,
            _("This form was not sent from this site or has expired. Go back, reload the page and try again."),
        )

    @app.errorhandler(PermissionDenied)
    def permission_denied(error: PermissionDenied):
        db.session.rollback()
        return error_response(409, error.reason) if error.reason else error_response(403, DESCRIPTIONS[403])

    @app.errorhandler(RuleViolation)
    def rule_violation(error: RuleViolation):
        db.session.rollback()
        return error_response(error.status, error.message)

    @app.errorhandler(StaleDataError)
    def stale_data(error: StaleDataError):
        db.session.rollback()
        return error_response(409, _("Someone else changed this at the same time. Reload the page and try again."))

    @app.errorhandler(IntegrityError)
    def integrity_error(error: IntegrityError):
        # A race the services' checks could not see (two requests creating the same thing at
        # once): the database's constraint decided, and the loser gets a clean answer.
        db.session.rollback()
        app.logger.info("constraint refused a write on %s %s", request.method, request.path)
        return error_response(409, _("This was changed at the same moment by another request. Reload the page and check."))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        if database_unavailable(error):
            return unavailable(error)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        _rollback()
        return error_response(500, DESCRIPTIONS[500])

    def unavailable(error: Exception):
        # The driver's first line (e.g. "connection refused", "database is locked"), never the
        # statement or its parameters.
        reason = str(getattr(error, "orig", None) or type(error).__name__).splitlines()[0][:200]
        app.logger.error("database unavailable on %s %s: %s", request.method, request.path, reason)
        _rollback()
        _forget_user()
        response = error_response(503, DATABASE_UNAVAILABLE)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response


__all__ = ["Conflict", "RuleViolation", "error_response", "init_app"]
