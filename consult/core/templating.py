"""What templates may call: permission checks, Markdown, dates."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, request, url_for
from flask_login import current_user

from consult.core import text
from consult.core.permissions import Action, can


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
    app.jinja_env.globals.update(Action=Action, url_with=url_with)

    @app.context_processor
    def permission_helpers():
        return {"can": lambda action, obj=None: can(current_user, action, obj)}
