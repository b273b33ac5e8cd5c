"""One route for every vote: a form of buttons (support / oppose / abstain, or agree /
disagree / pass, and "withdraw my vote") that works without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from consult.contributions.models import Contribution, ContributionKind
from consult.core.errors import RuleViolation
from consult.core.forms import first_error, refuse_invalid, refused_on
from consult.core.links import safe_next
from consult.core.models import db, write_apart
from consult.core.params import whole_number
from consult.core.routing import public, writes_last
from consult.extensions import POSTING_TOO_FAST, VOTING_TOO_FAST, limiter, limits_off, posting_limit, voting_limit
from consult.permissions import Action, can
from consult.proposals.models import Consultation
from consult.proposals.services import get_visible_consultation
from consult.voting import services, statements
from consult.voting.forms import WITHDRAW, StatementForm, VoteForm

bp = Blueprint("voting", __name__)

#: What a voter is told once their vote is cast, by value.
SAID = {
    "support": _l("You support this. You can change your vote until the consultation closes."),
    "oppose": _l("You oppose this. You can change your vote until the consultation closes."),
    "abstain": _l("You abstain on this. You can change your vote until the consultation closes."),
    "agree": _l("You agree. You can change your vote until the consultation closes."),
    "disagree": _l("You disagree. You can change your vote until the consultation closes."),
    "pass": _l("You passed on this statement. You can change your vote until the consultation closes."),
}


def _consultation_or_404(slug: str) -> Consultation:
    """The blueprint's one loader: the consultation the user may see, else 404 (whether they may
    vote or post is the services' to say, with the reason)."""
    return get_visible_consultation(current_user, slug) or abort(404)


@bp.route("/c/<slug>/vote", methods=["POST"])
@limiter.limit(voting_limit, error_message=VOTING_TOO_FAST, exempt_when=limits_off)
@writes_last
def vote(slug: str):
    """Everything is read and checked first, with no lock; then one short transaction holds
    the consultation open, re-reads the item's state and writes the vote, and commits."""
    c = _consultation_or_404(slug)
    form = VoteForm()
    form.validate() or refuse_invalid(form)
    contribution, section_key = _target_or_404(c, form), form.section_key.data
    withdrawing = form.value.data == WITHDRAW
    checked = services.vote_to_cast(
        c, actor=current_user, value=None if withdrawing else form.value.data, contribution=contribution, section_key=section_key
    )
    back = safe_next(form.next.data) or _voted_on(c, contribution, section_key)  # read now: nothing is reloaded after the write
    with write_apart():
        written = services.record_vote(checked)
    if withdrawing:
        said = _("Your vote is withdrawn.") if written else _("You had not voted on this.")
    else:
        said = str(SAID[form.value.data])
    flash(said, "success")
    return redirect(back)


def _target_or_404(c: Consultation, form: VoteForm) -> Contribution | None:
    if form.contribution_id.data is None:
        return None  # a section's vote
    return services.vote_target(c, form.contribution_id.data) or abort(404, _("There is no such item in this consultation."))


def _voted_on(c: Consultation, contribution: Contribution | None, section_key: str | None) -> str:
    """Where the vote was cast from, when the form does not say (``next``, a path on this site only)."""
    if contribution is not None and contribution.kind == ContributionKind.STATEMENT:
        return url_for("voting.statements_list", slug=c.slug) + f"#statement-{contribution.id}"
    if contribution is not None:
        return url_for("amendments.show", contribution_id=contribution.id) + f"#vote-{contribution.id}"
    return url_for("proposals.consultation", slug=c.slug) + f"#s-{section_key}"


# ---- statements and the opinion map (issue #7) ---------------------------------------------


def _viewer():
    return current_user if current_user.is_authenticated else None


def _render_statements(c, form: StatementForm, status: int = 200):
    viewer = _viewer()
    items = statements.visible_statements(c, viewer)
    mine = services.my_votes(viewer, c)
    error = first_error(form)
    return render_template(
        "voting/statements.html",
        consultation=c,
        items=items,
        tallies=services.tallies(s.id for s in items),
        mine=mine,
        shown=statements.tallies_shown(c, viewer, items, mine),
        progress=statements.voting_progress(c, viewer) if can(viewer, Action.VOTE_ON_STATEMENT, c) else None,
        can_post=can(viewer, Action.POST_STATEMENT, c),
        body=form.body.data or "",
        error=error[1] if error else None,
        max_length=statements.MAX_STATEMENT_LENGTH,
    ), status


@bp.route("/c/<slug>/statements")
@public
def statements_list(slug: str):
    return _render_statements(_consultation_or_404(slug), StatementForm())


@bp.route("/c/<slug>/statements", methods=["POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off)
def post_statement(slug: str):
    c = _consultation_or_404(slug)
    form = StatementForm()
    if not form.validate():
        return _render_statements(c, form, status=400)
    try:
        statement = statements.post_statement(c, actor=current_user, body=form.body.data or "")
    except RuleViolation as refused:
        if not refused_on(form, refused, fallback="body"):
            raise  # closed meanwhile, not allowed: the error page says so
        return _render_statements(c, form, status=400)
    db.session.commit()
    flash(
        _("Your statement is published.") if statement.moderation_state == "visible" else _("Your statement is waiting for a moderator."),
        "success",
    )
    return redirect(url_for("voting.statements_list", slug=c.slug) + f"#statement-{statement.id}")


@bp.route("/c/<slug>/statements/vote")
def vote_one(slug: str):
    """One statement at a time, its tally hidden until voted on (as Pol.is does, so the count
    does not anchor the vote); ``?after=ID`` names the statement just voted on, whose tally is
    shown then, and only if this person has voted on it."""
    c = _consultation_or_404(slug)
    statement = statements.next_statement(c, current_user)
    previous = statements.voted_statement(c, current_user, whole_number(request.args.get("after")))
    return render_template(
        "voting/vote_one.html",
        consultation=c,
        statement=statement,
        progress=statements.voting_progress(c, current_user),
        previous=previous,
        previous_tally=services.tallies([previous.id])[previous.id] if previous is not None else None,
        my_previous=services.my_votes(current_user, c).get(previous.id) if previous is not None else None,
        can_post=can(current_user, Action.POST_STATEMENT, c),
    )


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
    c = _consultation_or_404(slug)
    cached = statements.cached_map(c)
    data = cached.data or {}
    me = (current_user.external_id or str(current_user.id)) if current_user.is_authenticated else None
    shown = statements.shown_map(c, data, me=me)
    points = _scale(data.get("positions", {})) if shown.enough else {}
    return render_template(
        "voting/opinion_map.html",
        consultation=c,
        data=data,
        cached=cached,
        enough=shown.enough,
        points=points,
        bodies=shown.bodies,
        me=me if me in points else None,
        my_group=shown.my_group,
        shapes=PATTERNS,
        fills=FILLS,
        moderator=can(_viewer(), Action.MODERATE, c),
    )


@bp.route("/c/<slug>/opinion-map/status")
@public
def opinion_map_status(slug: str):
    """Whether the stored map is current: the map page's script asks this while the map is being
    updated and reloads the page once it is (``updating`` false)."""
    cached = statements.cached_map(_consultation_or_404(slug))
    response = jsonify(current=cached.current, updating=cached.updating, failed=cached.failed_at is not None)
    response.headers["Cache-Control"] = "no-store"
    return response
