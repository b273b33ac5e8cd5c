"""Reporting a group, and the site admins' queue of reported groups: hide, restore, dismiss the
reports, bar a member."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from consult.core.errors import RuleViolation
from consult.core.forms import WHOLE_FORM, first_error, refuse_invalid, refused_on
from consult.core.models import db
from consult.groups import moderation as services
from consult.groups.models import Group
from consult.groups.moderation_forms import BlockMemberForm, ButtonForm, GroupReportForm, HideGroupForm, LiftBlockForm
from consult.moderation.models import ReportReason
from consult.permissions import Action, authorize

bp = Blueprint("group_moderation", __name__)


def _group_or_404(slug: str) -> Group:
    return services.group_by_slug(slug) or abort(404)


def _moderated_group_or_404(slug: str) -> Group:
    """The loader of the queue's pages: the site's admins only (403), an existing group (404)."""
    authorize(current_user, Action.MODERATE_GROUPS, None)
    return _group_or_404(slug)


@bp.app_template_global("group_page_url")
def group_page_url(group: Group) -> str:
    return url_for("groups.page", slug=group.slug)


def _error(form) -> str | None:
    error = first_error(form)
    return error[1] if error else None


@bp.route("/g/<slug>/report", methods=["GET", "POST"])
def report(slug: str):
    group = _group_or_404(slug)
    authorize(current_user, Action.REPORT_GROUP, group)
    form = GroupReportForm()
    if form.validate_on_submit():
        try:
            new = services.report_group(group, actor=current_user, reason=form.reason.data or "", detail=form.detail.data or "")
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback=WHOLE_FORM):
                raise
        else:
            db.session.commit()
            if new:
                flash(_("Thank you: the site's moderators will look at it. Your name is never shown with a report."), "success")
            else:
                flash(_("You have already reported this group; the moderators have not looked at it yet."), "info")
            return redirect(group_page_url(group))
    error = _error(form)
    return render_template(
        "group_moderation/report.html", group=group, group_url=group_page_url(group), reasons=list(ReportReason), form=form, error=error
    ), 400 if error else 200


@bp.route("/groups/reports")
def queue():
    items = services.reported_groups(actor=current_user)
    hidden = services.hidden_groups(actor=current_user)
    return render_template("group_moderation/queue.html", items=items, hidden=hidden)


def _moderation_page(group: Group, *, hide_form=None, block_form=None, status: int = 200):
    return render_template(
        "group_moderation/group.html",
        group=group,
        group_url=group_page_url(group),
        reports=services.open_reports(group, actor=current_user),
        members=services.group_members(group, actor=current_user),
        blocks=services.group_blocks(group, actor=current_user),
        history=services.group_history(group, actor=current_user),
        hide_form=hide_form or HideGroupForm(formdata=None),
        block_form=block_form or BlockMemberForm(formdata=None),
        hide_error=_error(hide_form) if hide_form else None,
        block_error=_error(block_form) if block_form else None,
    ), status


@bp.route("/groups/reports/<slug>")
def group(slug: str):
    return _moderation_page(_moderated_group_or_404(slug))


@bp.route("/groups/reports/<slug>/hide", methods=["POST"])
def hide(slug: str):
    group = _moderated_group_or_404(slug)
    form = HideGroupForm()
    if form.validate_on_submit():
        try:
            services.hide_group(group, actor=current_user, reason=form.reason.data or "")
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="reason"):
                raise
        else:
            db.session.commit()
            flash(_("The group is hidden: its page shows only its name and your reason."), "success")
            return redirect(url_for(".queue"))
    return _moderation_page(group, hide_form=form, status=400)


@bp.route("/groups/reports/<slug>/restore", methods=["POST"])
def restore(slug: str):
    group = _moderated_group_or_404(slug)
    form = ButtonForm()
    form.validate() or refuse_invalid(form)
    services.restore_group(group, actor=current_user)
    db.session.commit()
    flash(_("The group is shown again."), "success")
    return redirect(url_for(".queue"))


@bp.route("/groups/reports/<slug>/dismiss", methods=["POST"])
def dismiss(slug: str):
    group = _moderated_group_or_404(slug)
    form = ButtonForm()
    form.validate() or refuse_invalid(form)
    closed = services.dismiss_reports(group, actor=current_user)
    db.session.commit()
    flash(
        ngettext("%(num)d report closed; the group stays as it is.", "%(num)d reports closed; the group stays as it is.", closed), "success"
    )
    return redirect(url_for(".queue"))


@bp.route("/groups/reports/<slug>/block", methods=["POST"])
def block(slug: str):
    group = _moderated_group_or_404(slug)
    form = BlockMemberForm()
    if form.validate_on_submit():
        person = next((m for m in services.group_members(group, actor=current_user) if m.id == form.person.data), None)
        if person is None:
            form.person.errors = [_("Choose one of the group's members.")]
        else:
            try:
                services.block_from_group(group, person, actor=current_user, reason=form.reason.data or "")
            except RuleViolation as refused:
                if not refused_on(form, refused, fallback="person"):
                    raise
            else:
                db.session.commit()
                flash(_("%(name)s is no longer a member and cannot join this group again.", name=person.display_name), "success")
                return redirect(url_for(".group", slug=group.slug))
    return _moderation_page(group, block_form=form, status=400)


@bp.route("/groups/reports/<slug>/unblock", methods=["POST"])
def unblock(slug: str):
    group = _moderated_group_or_404(slug)
    form = LiftBlockForm()
    form.validate() or refuse_invalid(form)
    services.lift_group_block(group, form.person.data, actor=current_user)
    db.session.commit()
    flash(_("The person may join this group again."), "success")
    return redirect(url_for(".group", slug=group.slug))
