"""A GET to an action's address redirects to the page the action belongs to.

Buttons post to addresses that only take POST (``/c/SLUG/next-version``, votes, follow, block).
People still open them with GET: the back button or a reload after a page a POST rendered, a
link copied from the address bar, a bookmark. Flask answers those with "405 Method not
allowed", which tells a person nothing; here any such GET (or HEAD) outside the API is sent
(303) to the action's page instead, for every POST-only rule, present and future:

- the page a view names with :func:`get_redirects_to` (the moderation queue for a block);
- else the nearest address above it that answers GET: ``/c/SLUG/next-version`` goes to
  ``/c/SLUG``, ``/amendments/7/support`` to ``/amendments/7``, ``/admin/mail/3/retry`` to
  ``/admin/mail``, and at worst ``/``.

Nothing is done: the redirect only leads to a page, where the person can press the button.
The JSON API keeps its 405 (a program should learn it used the wrong method).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, redirect, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import MapAdapter

READING_METHODS = frozenset({"GET", "HEAD"})


def get_redirects_to[F: Callable](endpoint: str) -> Callable[[F], F]:
    """Mark a POST-only view: a GET to its address goes to ``endpoint`` (given the view's
    arguments that endpoint takes), rather than to the nearest page above the address."""

    def mark(view: F) -> F:
        view.get_redirects_to = endpoint  # type: ignore[attr-defined]
        return view

    return mark


def _answers_get(adapter: MapAdapter, path: str) -> bool:
    try:
        adapter.match(path, method="GET")
    except HTTPException:  # NotFound, MethodNotAllowed, or a RequestRedirect to another form of the address
        return False
    return True


def page_of_action(adapter: MapAdapter, path: str) -> str:
    """The page for a GET to the POST-only address ``path`` (see the module's docstring)."""
    try:
        endpoint, args = adapter.match(path, method="POST")
    except HTTPException:
        endpoint, args = None, {}
    view = current_app.view_functions.get(endpoint) if endpoint else None
    target = getattr(view, "get_redirects_to", None)
    if target:
        wanted = next((r.arguments for r in current_app.url_map.iter_rules(target)), set())
        return url_for(target, **{k: v for k, v in args.items() if k in wanted})
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        above = "/".join(parts) or "/"
        if _answers_get(adapter, above):
            return request.script_root + above
    return url_for("proposals.index") if "proposals.index" in current_app.view_functions else request.script_root + "/"


def init_app(app: Flask) -> None:
    @app.before_request
    def redirect_reading_an_action():
        if (
            request.method in READING_METHODS
            and isinstance(request.routing_exception, MethodNotAllowed)
            and not request.path.startswith("/api/")
        ):
            adapter = app.create_url_adapter(request)
            if adapter is not None:
                return redirect(page_of_action(adapter, request.path), 303)
        return None
