"""Links to the site's pages for code that is not a view (services, exports, jobs, mail), and
which links a form may send the person back to (`safe_next`).

Inside a request they use the request's own address (what the reader typed, behind the
proxies ``PROXY_FIX`` trusts); anywhere else (``consult export``, a job, a test) the site's
address ``CONSULT_BASE_URL``. So no service needs a faked request to make a link.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from werkzeug.routing import MapAdapter

DEFAULT_BASE_URL = "http://localhost"
_base_url: ContextVar[str | None] = ContextVar("consult_base_url", default=None)


@contextmanager
def addressed_as(base_url: str | None) -> Iterator[None]:
    """Make links outside a request with this site address instead of ``BASE_URL`` (``consult
    export --base-url``)."""
    token = _base_url.set(base_url)
    try:
        yield
    finally:
        _base_url.reset(token)


def is_site_address(value: str | None) -> bool:
    """Whether ``value`` can be the site's address: ``http://`` or ``https://`` and a host."""
    parts = urlsplit(value or "")
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _adapter() -> MapAdapter:
    base = urlsplit(_base_url.get() or current_app.config.get("BASE_URL") or DEFAULT_BASE_URL)
    return current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")


def url(endpoint: str, **values) -> str:
    """The absolute address of a page (for exports, mail and feeds, read away from the site)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    return _adapter().build(endpoint, values, force_external=True)


def site_url(endpoint: str, **values) -> str:
    """The absolute address of a page on the site's own address (``CONSULT_BASE_URL``), whatever
    request asked for it: for links in mail, which must never follow a ``Host`` or
    ``X-Forwarded-Host`` header a stranger sent (a reset link to their site is an account takeover)."""
    return _adapter().build(endpoint, values, force_external=True)


def path(endpoint: str, **values) -> str:
    """The address of a page relative to the site (for links shown on its own pages)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return _adapter().build(endpoint, values)


def safe_next(target: str | None) -> str | None:
    """Follow ``next=`` only to a path on this site: no scheme, no host, no ``//`` or ``\\``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t\\"):
        return None
    return target
