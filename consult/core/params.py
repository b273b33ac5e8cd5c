"""What a request may carry: numbers the database can hold, and no NUL characters.

``str.isdigit`` is not a test for a number: it accepts "²" (which ``int`` refuses) and any
length, while an id or page past the database's integer range is an OverflowError on SQLite
and a DataError on PostgreSQL. Every number read from a URL, a query string or a form goes
through ``whole_number`` or the ``int`` URL converter below.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

#: The largest value of a 32-bit INTEGER column (ids, page numbers, offsets).
MAX_INT = 2**31 - 1
MAX_PAGE = 100_000

_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")

NUL_REFUSED = _l("The request contains a NUL character, which is not allowed.")


def whole_number(raw: str | None, *, low: int = 0, high: int = MAX_INT) -> int | None:
    """``raw`` as an int if it is ASCII digits from ``low`` to ``high``, else None."""
    if raw is None or not _ASCII_DIGITS.fullmatch(raw):
        return None
    number = int(raw)
    return number if low <= number <= high else None


def page_number(*, high: int = MAX_PAGE) -> int:
    """``?page=`` (1 when absent), or a 400 saying what a page number is."""
    page = whole_number(request.args.get("page", "1"), low=1, high=high)
    if page is None:
        abort(400, _("The page number must be a whole number from 1 to %(high)s.", high=high))
    return page


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:...>`` for ids: ASCII digits within the database's range, a 404 beyond it."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_INT, signed: bool = False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _has_nul() -> bool:
    if "\x00" in request.path:
        return True
    for values in (request.args, request.form):
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            return True
    return any("\x00" in key or "\x00" in (upload.filename or "") for key, upload in request.files.items(multi=True))


def body_limit(limit: Callable[[Flask], int]) -> Callable:
    """Decorate a view (below its route) whose requests may be larger than ``MAX_CONTENT_LENGTH``
    (uploads): ``limit(app)`` gives its largest body in bytes, set before any hook reads it."""

    def mark(view: Callable) -> Callable:
        view.body_limit = limit  # type: ignore[attr-defined]
        return view

    return mark


def init_app(app: Flask) -> None:
    """Call before the blueprints are registered (their rules use the converter) and before
    the hooks that read the database (PostgreSQL refuses NUL in text: a 500 otherwise)."""
    app.url_map.converters["int"] = DatabaseIntegerConverter

    @app.before_request
    def refuse_nul_characters():
        view = app.view_functions.get(request.endpoint or "")
        if (limit := getattr(view, "body_limit", None)) is not None:
            request.max_content_length = limit(app)  # before anything reads the body (below)
        if _has_nul():
            abort(400, str(NUL_REFUSED))
