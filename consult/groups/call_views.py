"""Calls to action: their pages, publishing and closing them, pledging to come, the .ics file."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from consult.core import links
from consult.core.errors import RuleViolation
from consult.core.forms import refuse_invalid, refused_on
from consult.core.i18n import current_language
from consult.core.models import db
from consult.core.routing import public
from consult.extensions import POSTING_TOO_FAST, limiter, limits_off, posting_limit
from consult.groups import calls
from consult.groups.call_forms import ButtonForm, CallDetailsForm, NewCallForm
from consult.groups.models import CallKind, CallToAction, Group
from consult.permissions import Action, can
from consult.proposals.services import get_visible_consultation

bp = Blueprint("calls", __name__)

#: The button that leads to the place to act, by kind (attend: "I'll come", on the page itself).
ACT_LABELS = {
    CallKind.SUPPORT: _l("Go to the amendment and support it"),
    CallKind.COMMENT: _l("Go to the text and comment"),
    CallKind.SIGN: _l("Go to the submission and sign it"),
}


def _call_or_404(call_id: int) -> CallToAction:
    return calls.get_visible_call(current_user, call_id) or abort(404)


def _publisher_key(publisher) -> str:
    return f"{'group' if isinstance(publisher, Group) else 'organisation'}:{publisher.id}"


def _number(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


@bp.route("/calls/<int:call_id>")
@public
def page(call_id: int):
    """A call: what it asks, its progress and time left, the way to act, its calendar file."""
    call = _call_or_404(call_id)
    endpoint, values, fragment = calls.action_link(call)
    return render_template(
        "calls/show.html",
        call=call,
        consultation=call.consultation,
        progress=calls.progress_of([call])[call.id],
        publisher=calls.publisher_name(call),
        act_url=url_for(endpoint, **values) + fragment,
        act_label=ACT_LABELS.get(call.kind, ""),
        call_kind_label=CallKind(call.kind).label,
        pledged=calls.has_pledged(current_user, call),
        form=ButtonForm(),
    )


@bp.route("/calls/<int:call_id>.ics")
@public
def calendar(call_id: int):
    """The call's event (or deadline) as an iCalendar file."""
    call = _call_or_404(call_id)
    url = links.site_url("calls.page", call_id=call.id)
    body = calls.calendar_of(call, url=url, host=urlsplit(url).hostname or "consult")
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="call-{call.id}.ics"'
    return response


@bp.route("/c/<slug>/calls/new", methods=["GET", "POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off, methods=["POST"])
def new(slug: str):
    consultation = get_visible_consultation(current_user, slug) or abort(404)
    publishers = {_publisher_key(p): p for p in calls.publishers_for(current_user, consultation)}
    if not publishers:
        abort(403, _("Only an organisation's authors or a group's coordinators publish calls to action."))
    form = NewCallForm()
    form.publisher.choices = [SelectChoice(key, p.name) for key, p in publishers.items()]
    amendments = calls.amendments_to_support(consultation)
    form.amendment.choices = [SelectChoice("", _("Choose an amendment"))] + [
        SelectChoice(a.label, _("%(label)s: %(text)s", label=a.label, text=a.contribution.body[:80])) for a in amendments
    ]
    form.section_key.choices = [SelectChoice("", _("The whole consultation"))] + [
        SelectChoice(key, heading) for key, heading in calls.sections_of(consultation)
    ]
    submissions = calls.submissions_to_sign(consultation)
    form.submission.choices = [SelectChoice("", _("Choose a submission"))] + [
        SelectChoice(str(c.id), _("By %(group)s: %(text)s", group=g.name, text=c.body[:80])) for c, g in submissions
    ]
    if form.validate_on_submit():
        try:
            call = calls.publish_call(
                consultation,
                actor=current_user,
                publisher=publishers[form.publisher.data],
                kind=form.kind.data,
                title=form.title.data,
                body=form.body.data or "",
                goal=form.goal.data,
                deadline=form.deadline.data,
                amendment=form.amendment.data,
                submission_id=_number(form.submission.data),
                section_key=form.section_key.data or None,
                event_starts_at=form.event_starts_at.data,
                event_ends_at=form.event_ends_at.data,
                location=form.location.data or "",
                language=current_language(),
            )
            db.session.commit()
            flash(_("Your call to action is published."), "success")
            return redirect(url_for("calls.page", call_id=call.id))
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="title"):
                raise
    status = 400 if form.errors else 200
    return render_template("calls/new.html", consultation=consultation, form=form), status


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off, methods=["POST"])
def edit(call_id: int):
    call = _call_or_404(call_id)
    if not can(current_user, Action.MANAGE_CALL, call):
        abort(403)
    form = CallDetailsForm(obj=call)
    if form.validate_on_submit():
        try:
            calls.update_call(
                call,
                actor=current_user,
                title=form.title.data,
                body=form.body.data or "",
                goal=form.goal.data,
                deadline=form.deadline.data,
                event_starts_at=form.event_starts_at.data,
                event_ends_at=form.event_ends_at.data,
                location=form.location.data or "",
            )
            db.session.commit()
            flash(_("The call is changed."), "success")
            return redirect(url_for("calls.page", call_id=call.id))
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="title"):
                raise
    status = 400 if form.errors else 200
    return render_template("calls/edit.html", call=call, consultation=call.consultation, form=form), status


@bp.route("/calls/<int:call_id>/close", methods=["POST"])
def close(call_id: int):
    call = _call_or_404(call_id)
    refuse_invalid_button()
    calls.close_call(call, actor=current_user)
    db.session.commit()
    flash(_("The call is closed."), "success")
    return redirect(url_for("calls.page", call_id=call.id))


@bp.route("/calls/<int:call_id>/pledge", methods=["POST"])
def pledge(call_id: int):
    """ "I'll come": once, however often it is clicked."""
    call = _call_or_404(call_id)
    refuse_invalid_button()
    calls.pledge(call, actor=current_user)
    db.session.commit()
    flash(_("Thank you: you are counted in."), "success")
    return redirect(url_for("calls.page", call_id=call.id))


@bp.route("/calls/<int:call_id>/unpledge", methods=["POST"])
def unpledge(call_id: int):
    call = _call_or_404(call_id)
    refuse_invalid_button()
    calls.withdraw_pledge(call, actor=current_user)
    db.session.commit()
    flash(_("You are no longer counted in."), "success")
    return redirect(url_for("calls.page", call_id=call.id))


def refuse_invalid_button() -> None:
    form = ButtonForm()
    if not form.validate_on_submit():
        refuse_invalid(form)
        abort(400)
