"""What templates may call: Markdown, dates, links. (Permission checks, ``can``, are added by
the app factory: core knows no domain.)"""

from __future__ import annotations

from datetime import datetime

from flask import Flask, request, url_for

from consult.core import text


def format_datetime(value: datetime | None, fmt: str = "%-d %B %Y, %H:%M UTC") -> str:
    return value.strftime(fmt) if value else ""


def format_date(value: datetime | None) -> str:
    return value.strftime("%-d %B %Y") if value else ""


def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict()
    args.update(changes)
    args = {k: v for k, v in args.items() if v is not None}
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = text.render_markdown
    app.jinja_env.filters["plain"] = text.render_plain
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.globals.update(url_with=url_with)
