from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from flask_login import current_user

from consult.accounts.models import Organisation
from consult.accounts.services import organisation_by_slug
from consult.comments.services import visible_contribution
from consult.core.action_urls import get_redirects_to
from consult.core.errors import RuleViolation
from consult.core.forms import WHOLE_FORM, first_error, refuse_invalid, refused_on
from consult.core.models import db
from consult.core.params import page_number, whole_number
from consult.core.routing import public
from consult.extensions import POSTING_TOO_FAST, limiter, limits_off, posting_limit
from consult.moderation import services, suggestions
from consult.moderation.forms import BlockForm, GroupThemeForm, ItemForm, QueueForm, ReportForm, SummaryForm, TagForm, ThemeForm
from consult.moderation.models import ReportReason, Theme
from consult.permissions import Action, authorize
from consult.proposals.models import Consultation
from consult.proposals.services import get_visible_consultation

bp = Blueprint("moderation", __name__)


@bp.app_template_global("moderation_reasons")
def moderation_reasons() -> list[ReportReason]:
    """The rules a moderator may name when hiding (for the "Moderate" control on every card)."""
    return list(ReportReason)


@bp.app_template_global("contribution_kind_name")
def contribution_kind_name(kind: str) -> str:
    """A contribution's kind as a word inside a sentence ("comment by Ada"), in the interface's language."""
    return {
        "comment": pgettext("contribution kind", "comment"),
        "reply": pgettext("contribution kind", "reply"),
        "amendment": pgettext("contribution kind", "amendment"),
        "statement": pgettext("contribution kind", "statement"),
        "answer": pgettext("contribution kind", "answer"),
    }.get(kind, kind)


@bp.app_template_global("report_reason_name")
def report_reason_name(rule: str | None) -> str:
    """A report's reason, or a moderation log's rule, as a word ("off topic"); a rule we did not
    name (such as "3 reports") as it is, its underscores made spaces."""
    names = {
        "spam": pgettext("report reason", "spam"),
        "offensive": pgettext("report reason", "offensive"),
        "off_topic": pgettext("report reason", "off topic"),
        "personal_data": pgettext("report reason", "personal data"),
        "other": pgettext("report reason", "other"),
    }
    return names.get(rule or "", (rule or "").replace("_", " "))


@bp.app_template_global("moderation_state_name")
def moderation_state_name(state: str) -> str:
    """A contribution's moderation state as the queue shows it ("pending")."""
    return {
        "visible": pgettext("moderation state", "visible"),
        "pending": pgettext("moderation state", "pending"),
        "hidden": pgettext("moderation state", "hidden"),
    }.get(state, state)


def _done_message(operation: services.Operation, n: int) -> str:
    if operation is services.Operation.APPROVE:
        return ngettext("Done: %(num)d contribution approved.", "Done: %(num)d contributions approved.", n)
    if operation is services.Operation.HIDE:
        return ngettext("Done: %(num)d contribution hidden.", "Done: %(num)d contributions hidden.", n)
    return ngettext("Done: %(num)d contribution restored.", "Done: %(num)d contributions restored.", n)


def _consultation_or_404(slug: str, action: Action | None = None) -> Consultation:
    """The blueprint's loader of a consultation: one the user may see (else 404) and, given an
    action, may do it on (else 403)."""
    consultation = get_visible_consultation(current_user, slug) or abort(404)
    if action is not None:
        authorize(current_user, action, consultation)
    return consultation


def _organisation_or_404(slug: str) -> Organisation:
    """The blueprint's loader of an organisation whose queue the user moderates."""
    organisation = organisation_by_slug(slug) or abort(404)
    authorize(current_user, Action.MODERATE, organisation)
    return organisation


def _message(form) -> tuple[str | None, str | None]:
    """(message, field) of the form's first error, for pages that say it above the form."""
    error = first_error(form)
    return (error[1], error[0]) if error else (None, None)


# ---- reports ---------------------------------------------------------------------------------


@bp.route("/contributions/<int:contribution_id>/report", methods=["GET", "POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off, methods=["POST"])
def report(contribution_id: int):
    contribution = visible_contribution(current_user, contribution_id) or abort(404)
    authorize(current_user, Action.REPORT, contribution)
    form = ReportForm()
    if form.validate_on_submit():
        try:
            services.report(contribution, actor=current_user, reason=form.reason.data or "", detail=form.detail.data or "")
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback=WHOLE_FORM):
                raise
        else:
            db.session.commit()
            flash(_("Thank you: the moderators will look at it. Your name is never shown with a report."), "success")
            return redirect(_page_of(contribution))
    error, _field = _message(form)
    return render_template(
        "moderation/report.html",
        contribution=contribution,
        consultation=contribution.consultation,
        reasons=list(ReportReason),
        error=error,
        form=form,
    ), 400 if error else 200


# ---- the queue -------------------------------------------------------------------------------


@bp.route("/o/<slug>/moderation", methods=["GET", "POST"])
def queue(slug: str):
    organisation = _organisation_or_404(slug)
    shown = _consultation_shown(organisation)
    form = QueueForm()
    if form.is_submitted():
        if not form.validate() or form.select.data:
            # Said on the form, with the selection and the reason kept; or the "select all" button.
            return _queue_page(organisation, shown, form=form)
        items = services.selected_contributions(form.ids.data, services.consultations_of(organisation))
        try:
            changed = services.act(
                items, actor=current_user, action=form.action.data or "", reason=form.reason.data or "", rule=form.rule.data or ""
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback=WHOLE_FORM):
                raise  # else shown on the form, with the selection and the reason kept
        else:
            db.session.commit()
            flash(_done_message(services.Operation(form.action.data), changed), "success")
            return redirect(url_for("moderation.queue", slug=organisation.slug, consultation=shown.slug if shown else None))
    return _queue_page(organisation, shown, form=form)


def _consultation_shown(organisation: Organisation) -> Consultation | None:
    """The queue's filter (``?consultation=SLUG``): one of the organisation's consultations, or all."""
    chosen = request.args.get("consultation") or None
    if chosen is None:
        return None
    found = next((c for c in services.consultations_of(organisation) if c.slug == chosen), None)
    return found or abort(400, _("Choose one of this organisation's consultations, or all of them."))


def _queue_page(
    organisation: Organisation, shown: Consultation | None = None, *, form: QueueForm | None = None, block_form: BlockForm | None = None
):
    """The queue, with a refused bulk action or block shown on its own form and what was typed kept."""
    form, block_form = form or QueueForm(formdata=None), block_form or BlockForm(formdata=None)
    (error, error_field), (block_error, _field) = _message(form), _message(block_form)
    items = services.queue(organisation, consultation=shown)
    selected = set(form.ids.data)
    if form.select.data and not error:
        selected = {item.contribution.id for item in items} if form.select.data == "all" else set()
    return render_template(
        "moderation/queue.html",
        organisation=organisation,
        shown=shown,
        items=items,
        hidden=services.hidden_items(organisation, consultation=shown),
        reasons=list(ReportReason),
        blocks=services.blocks_of(organisation),
        consultations=services.consultations_of(organisation),
        error=error,
        error_field=error_field,
        selected=selected,
        all_selected=bool(items) and selected >= {item.contribution.id for item in items},
        form=form,
        block_error=block_error,
        block_form=block_form,
    ), 400 if error or block_error else 200


@bp.route("/o/<slug>/block", methods=["POST"])
@get_redirects_to("moderation.queue")
def block(slug: str):
    organisation = _organisation_or_404(slug)
    form = BlockForm()
    if form.validate():
        try:
            blocked = services.block_author_of(organisation, form.contribution_id.data, actor=current_user, reason=form.reason.data or "")
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback=WHOLE_FORM):
                raise
    if form.errors:
        return _queue_page(organisation, block_form=form)
    db.session.commit()
    flash(
        _(
            "%(name)s is blocked: everything they wrote in your consultations is hidden until you lift the block.",
            name=blocked.display_name,
        ),
        "success",
    )
    return redirect(url_for("moderation.queue", slug=organisation.slug))


@bp.route("/o/<slug>/unblock/<int:block_id>", methods=["POST"])
@get_redirects_to("moderation.queue")
def unblock(slug: str, block_id: int):
    organisation = _organisation_or_404(slug)
    user = services.lift_block(organisation, block_id, actor=current_user) or abort(404)
    db.session.commit()
    flash(_("The block on %(name)s is lifted: what they wrote is shown again.", name=user.display_name), "success")
    return redirect(url_for("moderation.queue", slug=organisation.slug))


@bp.route("/contributions/<int:contribution_id>/moderate", methods=["GET", "POST"])
def moderate(contribution_id: int):
    """Hide a contribution, or block its author, from the contribution itself (its card's
    "Moderate" control posts here; the page is the same form, for errors and without the card)."""
    contribution = services.contribution_to_moderate(current_user, contribution_id) or abort(404)
    form = ItemForm()
    if form.validate_on_submit():
        try:
            blocked = services.moderate_item(
                contribution, actor=current_user, action=form.action.data or "", reason=form.reason.data or "", rule=form.rule.data or ""
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback=WHOLE_FORM):
                raise
        else:
            db.session.commit()
            if blocked is None:
                flash(_("Contribution #%(id)s is hidden; its place shows your reason.", id=contribution.id), "success")
            else:
                flash(
                    _(
                        "%(name)s is blocked: everything they wrote in your consultations is hidden until you lift the block.",
                        name=blocked.display_name,
                    ),
                    "success",
                )
            return redirect(_page_of(contribution))
    error, error_field = _message(form)
    return render_template(
        "moderation/moderate.html",
        contribution=contribution,
        consultation=contribution.consultation,
        reasons=list(ReportReason),
        form=form,
        error=error,
        error_field=error_field,
    ), 400 if error else 200


def _page_of(contribution) -> str:
    return url_for("amendments.show" if contribution.kind == "amendment" else "comments.show", contribution_id=contribution.id)


@bp.route("/c/<slug>/moderation-log")
@public
def log(slug: str):
    c = _consultation_or_404(slug)
    entries = db.paginate(services.public_log(c.organisation, consultation=c), page=page_number(), per_page=50, error_out=False)
    return render_template("moderation/log.html", consultation=c, entries=entries)


# ---- themes and summaries --------------------------------------------------------------------


@bp.route("/c/<slug>/themes", methods=["GET", "POST"])
def themes(slug: str):
    c = _consultation_or_404(slug, Action.SUMMARISE)
    form = ThemeForm()
    if not form.is_submitted():
        return _themes_page(c, form)
    if form.name.raw_data:  # the new theme's form; else the tagging form
        return _create_theme(c, form)
    return _tag(c, TagForm())


def _create_theme(c: Consultation, form: ThemeForm):
    if not form.validate():
        return _themes_page(c, form)
    try:
        theme = services.create_theme(c, actor=current_user, name=form.name.data or "")
    except RuleViolation as refused:
        if not refused_on(form, refused, fallback="name"):
            raise
        return _themes_page(c, form)
    db.session.commit()
    flash(_("The theme “%(name)s” is created.", name=theme.name), "success")
    return redirect(url_for("moderation.themes", slug=c.slug, **request.args.to_dict()))


@bp.route("/c/<slug>/themes/from-group", methods=["POST"])
def theme_from_group(slug: str):
    """A suggested group made a theme in one step: created with the name given (the group's
    words, editable) and every contribution of the group tagged with it."""
    c = _consultation_or_404(slug, Action.SUMMARISE)
    form = GroupThemeForm()
    if form.validate():
        try:
            theme, n = services.theme_from_group(
                c, actor=current_user, name=form.name.data or "", contributions=services.selected_contributions(form.ids.data, [c])
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="name"):
                raise
        else:
            db.session.commit()
            flash(
                ngettext(
                    "The theme “%(name)s” is created, with %(num)d contribution tagged.",
                    "The theme “%(name)s” is created, with %(num)d contributions tagged.",
                    n,
                    name=theme.name,
                ),
                "success",
            )
            return redirect(url_for("moderation.themes", slug=c.slug, theme=theme.id))
    return _themes_page(c, ThemeForm(formdata=None), group_form=form)


def _tag(c: Consultation, form: TagForm):
    form.validate() or refuse_invalid(form)
    theme = services.theme_of(c, form.theme_id.data) or abort(400, _("Choose one of this consultation's themes."))
    remove = form.remove.data == "1"
    n = services.tag(theme, services.selected_contributions(form.ids.data, [c]), actor=current_user, remove=remove)
    db.session.commit()
    if remove:
        done = ngettext(
            "%(num)d contribution untagged from “%(name)s”.", "%(num)d contributions untagged from “%(name)s”.", n, name=theme.name
        )
    else:
        done = ngettext("%(num)d contribution tagged with “%(name)s”.", "%(num)d contributions tagged with “%(name)s”.", n, name=theme.name)
    flash(done, "success")
    return redirect(url_for("moderation.themes", slug=c.slug, **request.args.to_dict()))


def _themes_page(c: Consultation, form: ThemeForm, *, group_form: GroupThemeForm | None = None):
    show, section_key, theme_filter = (
        request.args.get("show", "untagged"),
        request.args.get("section") or None,
        request.args.get("theme", ""),
    )
    theme_id = whole_number(theme_filter)
    if theme_filter and theme_id is None:
        abort(400, _("Choose a theme by its number."))
    page = db.paginate(
        services.to_tag(c, show=show, section_key=section_key, theme_id=theme_id), page=page_number(), per_page=50, error_out=False
    )
    theme_error, _field = _message(form)
    group_error, _field = _message(group_form) if group_form else (None, None)
    suggested, pending = suggestions.cached_suggestions(c)  # computed by a job; None while it runs
    return render_template(
        "moderation/themes.html",
        consultation=c,
        themes=services.themes_of(c),
        page=page,
        tagged=services.theme_names([x.id for x in page.items]),
        show=show,
        section_key=section_key,
        theme_filter=theme_filter,
        suggestions=suggested,
        suggestions_pending=pending,
        theme_error=theme_error,
        name=form.name.data or "",
        group_error=group_error,
        group_ids=group_form.ids.data if group_form else [],
        group_name=(group_form.name.data or "") if group_form else "",
    ), 400 if theme_error or group_error else 200


@bp.route("/c/<slug>/themes/<int:theme_id>/summary", methods=["GET", "POST"])
def theme_summary(slug: str, theme_id: int):
    c = _consultation_or_404(slug, Action.SUMMARISE)
    theme = services.theme_of(c, theme_id) or abort(404)
    return _summary_form(c, theme=theme, current=theme.summary, title=_("Summary of the theme “%(name)s”", name=theme.name))


@bp.route("/c/<slug>/s/<key>/summary", methods=["GET", "POST"])
def section_summary(slug: str, key: str):
    c = _consultation_or_404(slug, Action.SUMMARISE)
    section = next((s for v in reversed(c.published_versions) for s in v.sections if s.key == key), None) or abort(404)
    row = services.section_summary(c, key)
    return _summary_form(
        c, section_key=key, current=row.summary if row else "", title=_("Summary of the section “%(heading)s”", heading=section.heading)
    )


def _summary_form(c: Consultation, *, current: str, title: str, theme: Theme | None = None, section_key: str | None = None):
    form = SummaryForm()
    if not form.is_submitted():
        form.summary.data = current
    elif form.validate():
        try:
            services.write_summary(c, actor=current_user, summary=form.summary.data or "", theme=theme, section_key=section_key)
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="summary"):
                raise
        else:
            db.session.commit()
            flash(_("The summary is saved."), "success")
            return redirect(
                url_for("moderation.themes", slug=c.slug) if theme else url_for("outcome.show", slug=c.slug) + f"#s-{section_key}"
            )
    error, _field = _message(form)
    return render_template(
        "moderation/summary.html",
        consultation=c,
        title=title,
        summary=form.summary.data or "",
        error=error,
        citable=services.citable(c, theme=theme, section_key=section_key),
    ), 400 if error else 200
