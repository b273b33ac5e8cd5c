"""Atom feeds, the sitemap and robots.txt (web layer), and the feeds' discovery links in the
``<head>`` of the pages they follow (``feed_links()``). All public: feeds are read by feed
readers and crawlers, which never sign in; they show what an anonymous reader sees whoever asks."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask_babel import gettext as _

from consult.accounts.models import User
from consult.accounts.services import organisation_by_slug
from consult.core import links
from consult.core.models import db
from consult.core.routing import public
from consult.feeds import services
from consult.proposals.services import get_visible_consultation

bp = Blueprint("feeds", __name__)

ATOM = "application/atom+xml"
#: Pages about one consultation: they name its activity feed.
CONSULTATION_PAGES = {
    "proposals.consultation",
    "proposals.version",
    "proposals.diff",
    "comments.section",
    "comments.consultation_comments",
    "amendments.index",
    "outcome.show",
    "voting.opinion_map",
    "voting.statements_list",
}


def _atom(body: bytes) -> Response:
    response = Response(body, mimetype=ATOM)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/feeds/consultations.atom")
@public
def consultations():
    return _atom(services.consultations_feed())


@bp.route("/o/<slug>/feed.atom")
@public
def organisation(slug: str):
    return _atom(services.consultations_feed(organisation_by_slug(slug) or abort(404)))


@bp.route("/c/<slug>/feed.atom")
@public
def consultation(slug: str):
    # Never the signed-in reader's view: a draft's feed is a 404 for its authors too.
    return _atom(services.consultation_feed(get_visible_consultation(None, slug) or abort(404)))


@bp.route("/people/<int:user_id>/feed.atom")
@public
def person(user_id: int):
    return _atom(services.person_feed(db.get_or_404(User, user_id)))


@bp.route("/sitemap.xml")
@public
def sitemap():
    response = Response(services.sitemap(), mimetype="application/xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.route("/robots.txt")
@public
def robots():
    return Response(services.robots_txt(), mimetype="text/plain")


def feed_links() -> list[tuple[str, str]]:
    """The feeds (title, address) the page being rendered names in its ``<head>``."""
    if "consult.feed_links" in request.environ:  # once per request (see sharing.views.share_preview)
        return request.environ["consult.feed_links"]
    endpoint, args = request.endpoint or "", request.view_args or {}
    found = [(_("Consultations"), links.site_url("feeds.consultations"))]
    if endpoint in CONSULTATION_PAGES and (c := get_visible_consultation(None, args.get("slug", ""))):
        found.insert(0, (_("%(title)s: activity", title=c.title), links.site_url("feeds.consultation", slug=c.slug)))
    elif endpoint == "proposals.organisation" and (org := organisation_by_slug(args.get("slug", ""))):
        found.insert(
            0, (_("Consultations by %(organisation)s", organisation=org.name), links.site_url("feeds.organisation", slug=org.slug))
        )
    elif endpoint == "comments.person" and (person := db.session.get(User, args.get("user_id"))):
        found.insert(0, (_("Contributions by %(name)s", name=person.display_name), links.site_url("feeds.person", user_id=person.id)))
    request.environ["consult.feed_links"] = found
    return found


@bp.app_context_processor
def feed_helpers():
    return {"feed_links": feed_links}
