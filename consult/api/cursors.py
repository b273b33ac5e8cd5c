"""Opaque cursors for the API's lists: the position after which the next page starts, signed
with the site's secret so a client can only give back one it was given. A cursor that was not
(tampered, truncated, from another site) is a 400 problem, never a 500."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeSerializer

from consult.api.problems import problem_type
from consult.core.problems import Problem

SALT = "consult.api.cursor"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def cursor_after(last_id: int) -> str:
    return _serializer().dumps({"after": last_id})


def position(cursor: str | None) -> int:
    """The id after which the page starts (0: the first page)."""
    if not cursor:
        return 0
    try:
        data = _serializer().loads(cursor)
    except BadData:
        data = None
    after = data.get("after") if isinstance(data, dict) else None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**31:
        raise Problem(
            400,
            title=_("Invalid cursor"),
            detail=_("This cursor was not given by this API: give the “next_cursor” of the previous page as it was."),
            type=problem_type("invalid-cursor"),
            errors=[{"field": "cursor", "message": _("Not a cursor of this list.")}],
        )
    return after
