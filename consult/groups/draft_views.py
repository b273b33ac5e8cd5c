"""A group's shared drafts, submitting them on its behalf, co-signing and adopting submissions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consult.contributions.models import Contribution, ContributionKind
from consult.core.errors import RuleViolation
from consult.core.forms import refuse_invalid, refused_on
from consult.core.links import safe_next
from consult.core.models import db
from consult.core.routing import public
from consult.groups import drafts
from consult.groups.draft_forms import ConfirmForm, EditDraftForm, StartDraftForm
from consult.groups.models import DraftKind, Group, GroupDraft
from consult.permissions import Action, authorize, can
from consult.proposals.services import get_visible_consultation

bp = Blueprint("group_drafts", __name__)


def _group_or_404(slug: str) -> Group:
    return drafts.visible_group(current_user, slug) or abort(404)


def _draft_or_404(slug: str, draft_id: int) -> tuple[Group, GroupDraft]:
    """The blueprint's loader: a draft of the group ``user`` may read (an invite-only group's:
    its members only), else 404 as for a draft that does not exist."""
    group = _group_or_404(slug)
    return group, drafts.visible_draft(current_user, group, draft_id) or abort(404)


def _submission_or_404(contribution_id: int) -> Contribution:
    return drafts.visible_submission(current_user, contribution_id) or abort(404)


def contribution_url(contribution: Contribution) -> str:
    if contribution.kind == ContributionKind.AMENDMENT:
        return url_for("amendments.show", contribution_id=contribution.id)
    return url_for("comments.show", contribution_id=contribution.id)


@bp.app_template_global()
def group_credit(contribution: Contribution) -> drafts.Credit | None:
    """ "By GROUP, signed by N members" of a contribution: the consultation's credits are read
    once per request, however many cards a page shows."""
    memo = request.environ.setdefault("consult.group_credits", {})  # this request's (g can outlive it)
    if contribution.consultation_id not in memo:
        memo[contribution.consultation_id] = drafts.credits_in(contribution.consultation_id)
    return memo[contribution.consultation_id].get(contribution.id)


@bp.app_template_global()
def signed_by_me(contribution: Contribution) -> bool:
    memo = request.environ.setdefault("consult.my_signatures", {})
    if contribution.consultation_id not in memo:
        memo[contribution.consultation_id] = drafts.signed_in(current_user, contribution.consultation_id)
    return contribution.id in memo[contribution.consultation_id]


@bp.route("/g/<slug>/drafts")
@public
def index(slug: str):
    group = _group_or_404(slug)
    if not can(current_user, Action.VIEW_GROUP_MEMBERS, group):
        abort(404)  # an invite-only group's drafts: as if there were none
    return render_template("group_drafts/index.html", group=group, **drafts.group_panel(group, current_user))


@bp.route("/g/<slug>/drafts/new", methods=["GET", "POST"])
def new(slug: str):
    group = _group_or_404(slug)
    authorize(current_user, Action.EDIT_GROUP_DRAFT, group)
    chosen = request.values.get("c")
    consultation = get_visible_consultation(current_user, chosen) if chosen else None
    if chosen and consultation is None:
        abort(404, _("There is no such consultation."))
    if consultation is None:
        return render_template("group_drafts/choose.html", group=group, consultations=drafts.consultations_to_draft_for(current_user))
    form = StartDraftForm()
    form.section_key.choices = [("", _("The whole consultation (comments only)"))] + drafts.section_choices(consultation)
    if request.method == "GET":  # started from a section's page: its kind and section chosen already
        form.kind.data = request.args.get("kind") if request.args.get("kind") in {k.value for k in DraftKind} else None
        keys = {key for key, _heading in form.section_key.choices}
        form.section_key.data = request.args.get("section") if request.args.get("section") in keys else None
    if form.validate_on_submit():
        try:
            draft = drafts.start_draft(
                group,
                consultation,
                actor=current_user,
                kind=form.kind.data,
                title=form.title.data,
                section_key=form.section_key.data or None,
            )
            db.session.commit()
            flash(_("The draft is started. Members of the group can now edit it."), "success")
            return redirect(url_for("group_drafts.edit", slug=group.slug, draft_id=draft.id))
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="title"):
                raise
    return render_template("group_drafts/new.html", group=group, consultation=consultation, form=form), 400 if form.errors else 200


@bp.route("/g/<slug>/drafts/<int:draft_id>", methods=["GET", "POST"])
@public
def edit(slug: str, draft_id: int):
    """The shared draft: read by whoever may read the group's drafts, edited by its members."""
    group, draft = _draft_or_404(slug, draft_id)
    form, theirs, conflict_message, status = EditDraftForm(obj=draft), None, None, 200
    if request.method == "POST":
        authorize(current_user, Action.EDIT_GROUP_DRAFT, draft)
        if form.validate_on_submit():
            try:
                saved = drafts.save_draft(
                    draft,
                    actor=current_user,
                    seen_revision=form.revision.data,
                    title=form.title.data,
                    proposed_text=form.proposed_text.data,
                    body=form.body.data,
                )
                db.session.commit()
                flash(
                    _("Saved as revision %(number)s.", number=draft.revision) if saved else _("Nothing changed: nothing to save."),
                    "success",
                )
                return redirect(url_for("group_drafts.edit", slug=group.slug, draft_id=draft.id))
            except drafts.DraftConflict as conflict:
                db.session.rollback()
                theirs, status = group_draft_now(group, draft_id), 409
                form.revision.data, conflict_message = theirs.revision, conflict.message
            except RuleViolation as refused:
                if not refused_on(form, refused, fallback="body"):
                    raise
        status = status if status != 200 else 400
    else:
        form.revision.data = draft.revision
    return render_template(
        "group_drafts/edit.html",
        group=group,
        draft=draft,
        form=form,
        theirs=theirs,
        conflict=conflict_message,
        amending=drafts.is_amendment(draft),
        section_heading=drafts.section_heading(draft),
    ), status


def group_draft_now(group: Group, draft_id: int) -> GroupDraft:
    """The draft as stored now (after a refused save's rollback)."""
    return drafts.visible_draft(current_user, group, draft_id) or abort(404)


@bp.route("/g/<slug>/drafts/<int:draft_id>/history")
@public
def history(slug: str, draft_id: int):
    group, draft = _draft_or_404(slug, draft_id)
    return render_template(
        "group_drafts/history.html", group=group, draft=draft, changes=drafts.history(draft), amending=drafts.is_amendment(draft)
    )


@bp.route("/g/<slug>/drafts/<int:draft_id>/submit", methods=["POST"])
def submit(slug: str, draft_id: int):
    group, draft = _draft_or_404(slug, draft_id)
    refuse_invalid(ConfirmForm())
    contribution = drafts.submit_draft(draft, actor=current_user)
    db.session.commit()
    flash(_("Submitted on behalf of %(group)s. Members of the group can now sign it.", group=group.name), "success")
    return redirect(contribution_url(contribution))


@bp.route("/signatures/<int:contribution_id>", methods=["POST"])
def sign(contribution_id: int):
    contribution = _submission_or_404(contribution_id)
    form = ConfirmForm()
    refuse_invalid(form)
    drafts.sign(contribution, actor=current_user)
    db.session.commit()
    flash(_("You signed it. You can withdraw your signature until the consultation closes."), "success")
    return redirect(safe_next(form.next.data) or contribution_url(contribution))


@bp.route("/signatures/<int:contribution_id>/withdraw", methods=["POST"])
def withdraw(contribution_id: int):
    contribution = _submission_or_404(contribution_id)
    form = ConfirmForm()
    refuse_invalid(form)
    withdrawn = drafts.withdraw_signature(contribution, actor=current_user)
    db.session.commit()
    flash(_("Your signature is withdrawn.") if withdrawn else _("You had not signed it."), "success")
    return redirect(safe_next(form.next.data) or contribution_url(contribution))


@bp.route("/g/<slug>/positions")
@public
def positions(slug: str):
    """A parent group's chapters' submissions side by side, per consultation."""
    group = _group_or_404(slug)
    return render_template("group_drafts/positions.html", group=group, positions=drafts.chapters_positions(group, current_user))


@bp.route("/g/<slug>/positions/<int:contribution_id>/adopt", methods=["POST"])
def adopt(slug: str, contribution_id: int):
    group = _group_or_404(slug)
    contribution = _submission_or_404(contribution_id)
    refuse_invalid(ConfirmForm())
    drafts.adopt(group, contribution, actor=current_user)
    db.session.commit()
    flash(_("Adopted as the position of %(group)s.", group=group.name), "success")
    return redirect(url_for("group_drafts.positions", slug=group.slug))
