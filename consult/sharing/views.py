"""Share previews on the pages (web layer): the metadata every public page's ``<head>`` gets
(``share_preview()``, for the page being rendered), the preview images, and a comment's page
of its own (a comment otherwise lives at its thread's address with a fragment, which a link
preview cannot tell apart from its thread)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from consult.comments.services import visible_contribution
from consult.contributions.models import ContributionKind
from consult.core.routing import public
from consult.sharing import previews

bp = Blueprint("sharing", __name__)

#: The pages that have a share preview, by endpoint: their preview from their URL's values.
PAGES = {
    "proposals.consultation": lambda a: previews.consultation_preview(a["slug"]),
    "proposals.version": lambda a: previews.consultation_preview(a["slug"], a["number"]),
    "comments.section": lambda a: previews.section_preview(a["slug"], a["key"]),
    "amendments.show": lambda a: previews.amendment_preview(a["contribution_id"]),
    "amendments.numbered": lambda a: previews.amendment_preview_by_number(a["slug"], a["number"]),
    "sharing.comment": lambda a: previews.comment_preview(a["contribution_id"]),
    "outcome.show": lambda a: previews.outcome_preview(a["slug"]),
    "voting.opinion_map": lambda a: previews.opinion_map_preview(a["slug"]),
    "calls.page": lambda a: previews.call_preview(a["call_id"]),
}


def share_preview() -> previews.Preview | None:
    """The preview of the page being rendered (None: it has none, or the public may not see
    it), computed once per request."""
    # Kept in the request's environ (``g`` outlives a request where an app context is shared, as in tests).
    if "consult.share_preview" not in request.environ:
        page = PAGES.get(request.endpoint or "")
        request.environ["consult.share_preview"] = page(request.view_args or {}) if page else None
    return request.environ["consult.share_preview"]


@bp.app_context_processor
def sharing_helpers():
    return {"share_preview": share_preview, "share_links": previews.share_links}


IMAGE = "/preview/<digest>.png"


@bp.route("/c/<slug>" + IMAGE, defaults={"kind": "consultation"})
@bp.route("/c/<slug>/s/<key>" + IMAGE, defaults={"kind": "section"})
@bp.route("/c/<slug>/outcome" + IMAGE, defaults={"kind": "outcome"})
@bp.route("/c/<slug>/opinion-map" + IMAGE, defaults={"kind": "opinion-map"})
@bp.route("/amendments/<int:contribution_id>" + IMAGE, defaults={"kind": "amendment"})
@bp.route("/comments/<int:contribution_id>" + IMAGE, defaults={"kind": "comment"})
@bp.route("/calls/<int:call_id>" + IMAGE, defaults={"kind": "call"})
@public
def image(kind: str, digest: str, **ref):
    """A page's preview image; an older digest redirects to the current image (a stale one is
    never served); a page the public may not see has none (404)."""
    preview = previews.BY_KIND[kind](**ref) or abort(404)
    if digest != preview.digest:
        return redirect(url_for("sharing.image", kind=kind, digest=preview.digest, **ref))
    response = Response(previews.image_bytes(preview), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"  # its address changes with it
    return response


@bp.route("/comments/<int:contribution_id>/share")
@public
def comment(contribution_id: int):
    """A comment or reply on a page of its own, with its share links and a link to its thread."""
    contribution = visible_contribution(current_user, contribution_id) or abort(404)
    if contribution.kind not in (ContributionKind.COMMENT, ContributionKind.REPLY):
        abort(404)
    return render_template("sharing/comment.html", contribution=contribution, consultation=contribution.consultation)
