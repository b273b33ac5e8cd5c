"""The kinds of problem the API answers with (RFC 9457 ``type`` URIs), each explained on the
API's documentation page at ``/api/v1/docs#problem-NAME``."""

from __future__ import annotations

from flask import has_request_context, url_for
from flask_babel import lazy_gettext as _l

#: name -> (title, when it happens), listed on the documentation page.
PROBLEM_TYPES = {
    "validation": (
        _l("Invalid input"),
        _l("The query or the body does not match the operation's description: “errors” says what, per field."),
    ),
    "unauthorised": (
        _l("Authentication needed"),
        _l("No token was sent where one is needed, or the token is unknown, revoked or expired."),
    ),
    "insufficient-scope": (
        _l("The token does not allow this"),
        _l("The token lacks the scope the operation needs (read, contribute, moderate or publish)."),
    ),
    "other-organisation": (
        _l("The token does not allow this"),
        _l("An organisation's token acts only in that organisation's consultations."),
    ),
    "refused": (
        _l("Refused"),
        _l("A rule of the consultation refused the request: its “detail” says which, and “errors” the field, when there is one."),
    ),
    "invalid-body": (_l("The body is not JSON"), _l("Send a JSON object, with the header “Content-Type: application/json”.")),
    "invalid-cursor": (_l("Invalid cursor"), _l("Give the “next_cursor” of the previous page as it was, or none for the first page.")),
    "idempotency-key-reused": (
        _l("Idempotency key already used"),
        _l("This Idempotency-Key was used with another request body: use a new key for a new request."),
    ),
    "invalid-idempotency-key": (_l("Invalid idempotency key"), _l("An Idempotency-Key is 1 to 255 visible ASCII characters.")),
}


def problem_type(name: str) -> str:
    """The URI of a kind of problem: its entry on the API's documentation page."""
    if not has_request_context():
        return "about:blank"
    return url_for("api.docs", _external=True, _anchor=f"problem-{name}")
