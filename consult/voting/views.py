"""One route for every vote: a form of buttons (support / oppose / abstain, or agree /
disagree / pass, and "withdraw my vote") that works without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from consult.accounts.views import safe_next
from consult.contributions.models import Contribution
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.core.params import whole_number
from consult.permissions import Action, can, visible_contributions
from consult.core.routing import public
from consult.proposals.services import get_visible_consultation
from consult.voting import services, statements
from consult.voting.models import VoteValue

from consult.extensions import POSTING_TOO_FAST, VOTING_TOO_FAST, limiter, limits_off, posting_limit, voting_limit

bp = Blueprint("voting", __name__)

WITHDRAW = "withdraw"
SAID = {
    "support": "You support this.", "oppose": "You oppose this.", "abstain": "You abstain on this.",
    "agree": "You agree.", "disagree": "You disagree.", "pass": "You passed on this statement.",
}


def _back(default: str) -> str:
    """Where the vote was cast from: a path on this site only."""
    return safe_next(request.form.get("next")) or default


@bp.route("/c/<slug>/vote", methods=["POST"])
@limiter.limit(voting_limit, error_message=VOTING_TOO_FAST, exempt_when=limits_off)
def vote(slug: str):
    c = get_visible_consultation(current_user, slug) or abort(404)
    raw_id, section_key = request.form.get("contribution_id", ""), request.form.get("section_key", "").strip() or None
    contribution = None
    if raw_id:
        contribution_id = whole_number(raw_id)
        if contribution_id is None:
            abort(400, "The item to vote on must be given by its number.")
        contribution = db.session.get(Contribution, contribution_id)
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


# ---- statements and the opinion map (issue #7) ---------------------------------------------

def _viewer():
    return current_user if current_user.is_authenticated else None


def _render_statements(c, body: str = "", error: str | None = None, status: int = 200):
    items = list(db.session.scalars(statements.statements_query(c, _viewer())))
    return render_template(
        "voting/statements.html", consultation=c, items=items, tallies=services.tallies(s.id for s in items),
        mine=services.my_votes(_viewer(), c), can_post=can(_viewer(), Action.POST_COMMENT, c),
        body=body, error=error, max_length=statements.MAX_STATEMENT_LENGTH,
    ), status


@bp.route("/c/<slug>/statements")
@public
def statements_list(slug: str):
    c = get_visible_consultation(current_user, slug) or abort(404)
    return _render_statements(c)


@bp.route("/c/<slug>/statements", methods=["POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off)
def post_statement(slug: str):
    c = get_visible_consultation(current_user, slug) or abort(404)
    body = request.form.get("body", "")
    try:
        statement = statements.post_statement(c, actor=current_user, body=body)
    except RuleViolation as refused:
        if refused.status != 400:
            raise  # closed meanwhile, not allowed: the error page says so
        db.session.rollback()
        return _render_statements(c, body=body, error=refused.message, status=400)
    db.session.commit()
    flash("Your statement is published." if statement.moderation_state == "visible" else "Your statement is waiting for a moderator.", "success")
    return redirect(url_for("voting.statements_list", slug=c.slug) + f"#statement-{statement.id}")


@bp.route("/c/<slug>/statements/vote")
def vote_one(slug: str):
    c = get_visible_consultation(current_user, slug) or abort(404)
    statement = statements.next_statement(c, current_user)
    tally = services.tallies([statement.id])[statement.id] if statement is not None else None
    return render_template("voting/vote_one.html", consultation=c, statement=statement, tally=tally)


PATTERNS = ("circle", "square", "triangle", "diamond", "cross")
FILLS = ("#1d4f91", "#b3261e", "#1b6e3a", "#7a3e9d", "#8a5a00")


def _scale(positions: dict, width: int = 600, height: int = 400, margin: int = 30) -> dict:
    """Positions mapped into the SVG's box (y up), keeping the aspect of neither axis degenerate."""
    if not positions:
        return {}
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    dx, dy = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    return {
        who: (round(margin + (x - x0) / dx * (width - 2 * margin), 1), round(height - margin - (y - y0) / dy * (height - 2 * margin), 1))
        for who, (x, y) in positions.items()
    }


@bp.route("/c/<slug>/opinion-map")
@public
def opinion_map(slug: str):
    c = get_visible_consultation(current_user, slug) or abort(404)
    data, current = statements.cached_map(c)
    enough = bool(data) and data.get("k", 0) >= 1  # k = 1: everyone votes alike, one group and its consensus
    me = None
    if current_user.is_authenticated:
        me = current_user.external_id or str(current_user.id)
    points, bodies, my_group = {}, {}, None
    if enough:
        points = _scale(data.get("positions", {}))
        ids = {s["statement"] for g in data["groups"] for s in g["representative"]}
        ids |= {s["statement"] for items in data.get("consensus", {}).values() for s in items}
        if ids:
            bodies = dict(db.session.execute(
                select(Contribution.id, Contribution.body).where(Contribution.id.in_(ids), Contribution.consultation_id == c.id, visible_contributions(None))
            ).all())
        for group in data["groups"]:
            if me is not None and me in group["participants"]:
                my_group = group["id"]
    return render_template(
        "voting/opinion_map.html", consultation=c, data=data, current=current, enough=enough, points=points,
        bodies=bodies, me=me if me in points else None, my_group=my_group, shapes=PATTERNS, fills=FILLS,
        moderator=can(_viewer(), Action.MODERATE, c),
    )
