"""What templates may call: Markdown, dates, links. (Permission checks, ``can``, are added by
the app factory: core knows no domain.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, current_app, has_app_context, request, url_for

from consult.core import i18n, text


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone named by the ``TIME_ZONE`` setting; a name that is not one stops the start
    (a typo would otherwise show every time in the wrong zone, or fail on the first page)."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        raise RuntimeError(f"TIME_ZONE {name!r}: give an IANA time zone name such as 'Europe/Paris' or 'UTC'.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuntimeError(f"TIME_ZONE {name!r} is not a known IANA time zone: use a name such as 'Europe/Paris' or 'UTC'.") from None


def site_zone() -> ZoneInfo:
    """The site's time zone: the one set on the site's settings page (an app extension
    ``consult.time_zone`` gives it), else the ``TIME_ZONE`` setting; UTC outside an app, as in
    a script that formats a date."""
    if not has_app_context():
        return ZoneInfo("UTC")
    chosen = current_app.extensions.get("consult.time_zone")
    name = chosen() if chosen is not None else None
    return time_zone(name or current_app.config.get("TIME_ZONE") or "UTC")


def local_time(value: datetime) -> datetime:
    """A stored (UTC) time in the site's zone; a naive value is taken as UTC, as stored."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(site_zone())


def format_datetime(value: datetime | None) -> str:
    """The one way a time is shown: in the site's zone and the interface's language, with the
    zone's abbreviation ("15 January 2026, 13:00 CET", "15 janvier 2026, 13:00 CET").
    ``<time datetime=...>`` keeps the UTC ISO value for machines."""
    if not value:
        return ""
    local = local_time(value)
    locale = i18n.format_locale() if has_app_context() else i18n.format_locale("en")
    day = babel_dates.format_date(local, format="long", locale=locale)
    clock = babel_dates.format_time(local, format="HH:mm", locale=locale)
    return f"{day}, {clock} {local.strftime('%Z')}"


def format_date(value: datetime | None) -> str:
    """The day of a time, in the site's zone (23:30 UTC is already tomorrow in Paris) and the
    interface's language."""
    if not value:
        return ""
    locale = i18n.format_locale() if has_app_context() else i18n.format_locale("en")
    return babel_dates.format_date(local_time(value), format="long", locale=locale)


def format_number(value: int | float) -> str:
    """A count or a figure in the interface's language ("1,234", "1 234", "١٬٢٣٤")."""
    return babel_numbers.format_decimal(value, locale=i18n.format_locale())


def format_percent(value: float, digits: int = 0) -> str:
    """A share (0.25) as a percentage in the interface's language ("25%", "25 %", "٢٥٪")."""
    locale = i18n.format_locale()
    pattern = locale.percent_formats[None].pattern  # "#,##0%", "#,##0\u00a0%"…
    if digits:
        pattern = re.sub(r"0(?=[^0]*$)", "0." + "0" * digits, pattern, count=1)
    return babel_numbers.format_percent(value, format=pattern, locale=locale)


def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict()
    args.update(changes)
    args = {k: v for k, v in args.items() if v is not None}
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    time_zone(app.config.get("TIME_ZONE", "UTC"))  # an unknown zone stops the start, with the reason
    app.jinja_env.filters["markdown"] = text.render_markdown
    app.jinja_env.filters["plain"] = text.render_plain
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["percent"] = format_percent
    app.jinja_env.globals.update(url_with=url_with)
