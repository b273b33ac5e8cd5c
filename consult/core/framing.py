"""Which pages another site may put in a frame. Every page forbids it (``frame-ancestors
'none'`` and ``X-Frame-Options: DENY``), except views marked ``@frameable``: the embeds, which
allow the origins of the ``EMBED_FRAME_ANCESTORS`` setting (``*`` by default: any site)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask

#: a CSP source expression we accept in the setting: *, or scheme://host[:port] with an optional *. prefix
_SOURCE = re.compile(r"^(\*|https?://(\*\.)?[a-z0-9.-]+(:\d{1,5})?)$", re.IGNORECASE)


def frameable[F: Callable](view: F) -> F:
    """Mark a view as one other sites may frame."""
    view.is_frameable = True  # type: ignore[attr-defined]
    return view


def is_frameable(app: Flask, endpoint: str | None) -> bool:
    return bool(getattr(app.view_functions.get(endpoint or ""), "is_frameable", False))


def frame_ancestors(app: Flask) -> str:
    """The ``frame-ancestors`` sources for frameable views, from the setting (checked at start)."""
    return app.config["EMBED_FRAME_ANCESTORS"]


def init_app(app: Flask) -> None:
    value = " ".join(str(app.config.get("EMBED_FRAME_ANCESTORS", "*")).split())
    sources = value.split(" ") if value else []
    if not sources or not all(_SOURCE.match(source) for source in sources):
        raise RuntimeError(
            f"EMBED_FRAME_ANCESTORS {value!r}: give * or origins separated by spaces, such as 'https://council.example https://*.gov.example'."
        )
    app.config["EMBED_FRAME_ANCESTORS"] = value
