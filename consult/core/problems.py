"""Errors of the JSON API as RFC 9457 problem details (``application/problem+json``).

Every error under ``/api/`` is one: ``type`` (a URI naming the kind of problem; ``about:blank``
when the HTTP status says it all), ``title`` (the kind, in words), ``status``, ``detail`` (this
occurrence, in words a developer can act on) and, for input that failed validation, ``errors``:
one entry per field, ``{"field": ..., "message": ...}``. A 401 carries ``WWW-Authenticate:
Bearer`` (RFC 6750). Before problem details the API answered ``{"error": {"status", "title",
"message"}}``; that member is kept, for the clients written against it.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from werkzeug.exceptions import HTTPException

MEDIA_TYPE = "application/problem+json"
REALM = "Consult"


class Problem(HTTPException):
    """Raise it anywhere in a request to the API to answer with these problem details."""

    def __init__(
        self,
        status: int,
        *,
        title: Any,
        detail: Any,
        type: str = "about:blank",  # noqa: A002 - the RFC's name for it
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ):
        super().__init__(description=str(detail))
        self.code = status
        self.title = title
        self.detail = detail
        self.type = type
        self.errors = errors
        self.extra_headers = dict(headers or {})
        self.extensions = extensions

    def get_response(self, environ=None, scope=None):  # noqa: ARG002 - Werkzeug's signature
        return problem_response(
            self.code or 500,
            title=self.title,
            detail=self.detail,
            type=self.type,
            errors=self.errors,
            headers=self.extra_headers,
            **self.extensions,
        )


def problem_response(
    status: int,
    *,
    title: Any,
    detail: Any,
    type: str = "about:blank",  # noqa: A002
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
):
    """The response for a problem; titles and details may be lazy strings (they are made text here)."""
    body: dict[str, Any] = {"type": type, "title": str(title), "status": status, "detail": str(detail)}
    if errors is not None:
        body["errors"] = [{key: str(value) for key, value in error.items()} for error in errors]
    body.update(extensions)
    body["error"] = {"status": status, "title": body["title"], "message": body["detail"]}  # the shape before RFC 9457
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
