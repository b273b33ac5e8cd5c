from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from consult.core.routing import public
from consult.outcome import services
from consult.permissions import Action, can
from consult.proposals.services import get_visible_consultation

bp = Blueprint("outcome", __name__)


@bp.route("/c/<slug>/outcome")
@public
def show(slug: str):
    """ "You said, we did" (VIEW_OUTCOME says who sees it when); a preview until concluded."""
    c = get_visible_consultation(current_user, slug) or abort(404)
    if not can(current_user, Action.VIEW_OUTCOME, c):
        abort(404, str(services.NOT_YET))
    return render_template("outcome/show.html", **services.outcome_of(c).context())
