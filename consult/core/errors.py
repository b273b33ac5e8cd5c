"""Errors a user can act on: an HTML page, or JSON under ``/api/``. Never a bare 500."""

from __future__ import annotations

import enum
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict, Forbidden, HTTPException, InternalServerError, SecurityError

from consult.core.models import db


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
    400: "Bad request",
    401: "Sign in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Service unavailable",
}


# Pages say it in plain words; the JSON API keeps the HTTP names above.
HEADINGS = {400: "There is a problem with what was sent", 409: "That cannot be done now", 503: "Not available just now"}

DATABASE_UNAVAILABLE = "The site cannot reach its database just now. Try again in a minute."
RETRY_AFTER = 30  # seconds, for a 503


def database_unavailable(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection (not a refused write): the
    request may succeed if sent again, so it answers 503, not 500."""
    if isinstance(error, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def error_response(status: int, message: str):
    title = TITLES.get(status, "Error")
    if request.path.startswith("/api/"):
        body = jsonify(error={"status": status, "title": title, "message": message})
    else:
        heading = HEADINGS.get(status, title)
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
            if "<title>" in body and "<title>Error: " not in body:
                response.set_data(body.replace("<title>", "<title>Error: ", 1))
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if isinstance(error, SecurityError):  # a Host outside TRUSTED_HOSTS: no page of the site can be built for it
            return make_response(("This site does not answer to that address.\n", 400, {"Content-Type": "text/plain; charset=utf-8"}))
        message = error.description or TITLES.get(error.code or 500, "")
        if error.code == 413:  # Werkzeug's own words say nothing of the limit or what to do
            mb = lambda key: f"{app.config[key] / 1024 / 1024:g} MB"  # noqa: E731
            message = (
                f"What you sent is too large: at most {mb('MAX_CONTENT_LENGTH')} in all, and {mb('MAX_FORM_MEMORY_SIZE')} "
                "of text in a form. Split a long text into several Markdown files and import them together."
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
            "This form was not sent from this site or has expired. Go back, reload the page and try again.",
        )

    @app.errorhandler(PermissionDenied)
    def permission_denied(error: PermissionDenied):
        db.session.rollback()
        return error_response(409, error.reason) if error.reason else error_response(403, Forbidden.description)

    @app.errorhandler(RuleViolation)
    def rule_violation(error: RuleViolation):
        db.session.rollback()
        return error_response(error.status, error.message)

    @app.errorhandler(StaleDataError)
    def stale_data(error: StaleDataError):
        db.session.rollback()
        return error_response(409, "Someone else changed this at the same time. Reload the page and try again.")

    @app.errorhandler(IntegrityError)
    def integrity_error(error: IntegrityError):
        # A race the services' checks could not see (two requests creating the same thing at
        # once): the database's constraint decided, and the loser gets a clean answer.
        db.session.rollback()
        app.logger.info("constraint refused a write on %s %s", request.method, request.path)
        return error_response(409, "This was changed at the same moment by another request. Reload the page and check.")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        if database_unavailable(error):
            return unavailable(error)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        _rollback()
        return error_response(500, InternalServerError.description)

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
