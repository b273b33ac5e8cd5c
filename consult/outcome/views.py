from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from markupsafe import Markup

from consult.core import cache
from consult.core.routing import public
from consult.outcome import services
from consult.permissions import Action, can
from consult.proposals.services import get_visible_consultation
from consult.sharing import previews

bp = Blueprint("outcome", __name__)


@bp.route("/c/<slug>/outcome")
@public
def show(slug: str):
    """ "You said, we did" (VIEW_OUTCOME says who sees it when); a preview until concluded."""
    c = get_visible_consultation(current_user, slug) or abort(404)
    if not can(current_user, Action.VIEW_OUTCOME, c):
        abort(404, str(services.NOT_YET))

    def content() -> str:
        return render_template("outcome/_content.html", **services.outcome_of(c).context())

    # Signed in, a card may carry the person's own buttons (sign, withdraw): never shared.
    if current_user.is_authenticated:
        html = content()
    else:
        # with the page's share preview (as the public sees it), which sharing.views takes from the environ
        html, preview = cache.public_fragment(
            "outcome-page", c.id, request.base_url, (), lambda: (content(), previews.outcome_preview(c.slug))
        )
        request.environ["consult.share_preview"] = preview
    return render_template("outcome/show.html", consultation=c, content=Markup(html))
