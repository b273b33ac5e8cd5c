"""One route for every vote: a form of buttons (support / oppose / abstain, or agree /
disagree / pass, and "withdraw my vote") that works without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from consult.comments.models import Contribution
from consult.core.models import db
from consult.proposals.services import get_visible_consultation
from consult.voting import services
from consult.voting.models import VoteValue

from consult.extensions import VOTING_TOO_FAST, limiter, limits_off, voting_limit

bp = Blueprint("voting", __name__)

WITHDRAW = "withdraw"
SAID = {
    "support": "You support this.", "oppose": "You oppose this.", "abstain": "You abstain on this.",
    "agree": "You agree.", "disagree": "You disagree.", "pass": "You passed on this statement.",
}


def _back(default: str) -> str:
    """Where the vote was cast from: a path on this site only."""
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else default


@bp.route("/c/<slug>/vote", methods=["POST"])
@limiter.limit(voting_limit, error_message=VOTING_TOO_FAST, exempt_when=limits_off)
def vote(slug: str):
    c = get_visible_consultation(current_user, slug) or abort(404)
    raw_id, section_key = request.form.get("contribution_id", ""), request.form.get("section_key", "").strip() or None
    contribution = None
    if raw_id:
        if not raw_id.isdigit():
            abort(400, "The item to vote on must be given by its number.")
        contribution = db.session.get(Contribution, int(raw_id))
        if contribution is None or contribution.consultation_id != c.id:
            abort(404, "There is no such item in this consultation.")
    elif section_key is None:
        abort(400, "Say what you are voting on: an amendment, a statement or a section.")
    value = request.form.get("value", "")
    if value != WITHDRAW and value not in {v.value for v in VoteValue}:
        abort(400, "Choose how you vote: support, oppose or abstain (or agree, disagree or pass on a statement).")

    anchor = f"#vote-{contribution.id}" if contribution else f"#s-{section_key}"
    default = (url_for("amendments.show", contribution_id=contribution.id) if contribution else url_for("proposals.consultation", slug=c.slug)) + anchor
    if value == WITHDRAW:
        had = services.withdraw_vote(c, actor=current_user, contribution=contribution, section_key=section_key)
        db.session.commit()
        flash("Your vote is withdrawn." if had else "You had not voted on this.", "success")
    else:
        services.cast_vote(c, actor=current_user, value=value, contribution=contribution, section_key=section_key)
        db.session.commit()
        flash(SAID[value] + " You can change your vote until the consultation closes.", "success")
    return redirect(_back(default))
