from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from consult.accounts.models import Organisation, User
from consult.amendments import services as amendments
from consult.contributions.models import Contribution
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.core.params import page_number, whole_number
from consult.permissions import Action, authorize, can, visible_contributions
from consult.core.routing import public
from consult.moderation import services, suggestions
from consult.moderation.models import Block, ContributionTheme, ReportReason, SectionSummary, Theme
from consult.proposals.models import Consultation
from consult.proposals.services import diff_versions, get_visible_consultation

from consult.extensions import POSTING_TOO_FAST, limiter, limits_off, posting_limit

bp = Blueprint("moderation", __name__)


def _consultation_or_404(slug: str) -> Consultation:
    return get_visible_consultation(current_user, slug) or abort(404)


def _organisation_or_404(slug: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.slug == slug)) or abort(404)


def _selected(consultation_ids: set[int] | None = None) -> list[Contribution]:
    ids = [whole_number(r) for r in request.form.getlist("ids")]
    if None in ids:
        abort(400, "Contributions are selected by their numbers.")
    items = list(db.session.scalars(select(Contribution).where(Contribution.id.in_(ids)))) if ids else []
    if consultation_ids is not None and any(c.consultation_id not in consultation_ids for c in items):
        abort(400, "Select contributions of this organisation's consultations only.")
    return items


# ---- reports ---------------------------------------------------------------------------------

@bp.route("/contributions/<int:contribution_id>/report", methods=["GET", "POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off, methods=["POST"])
def report(contribution_id: int):
    contribution = db.session.scalar(select(Contribution).where(Contribution.id == contribution_id, visible_contributions(current_user)))
    if contribution is None or get_visible_consultation(current_user, contribution.consultation.slug) is None:
        abort(404)
    authorize(current_user, Action.REPORT, contribution)
    error = None
    if request.method == "POST":
        try:
            services.report(contribution, actor=current_user, reason=request.form.get("reason", ""), detail=request.form.get("detail", ""))
        except RuleViolation as refused:
            if refused.status != 400:
                raise
            db.session.rollback()
            error = refused.message
    if request.method == "POST" and error is None:
        db.session.commit()
        flash("Thank you: the moderators will look at it. Your name is never shown with a report.", "success")
        back = url_for("amendments.show", contribution_id=contribution.id) if contribution.kind == "amendment" else url_for("comments.show", contribution_id=contribution.id)
        return redirect(back)
    return render_template("moderation/report.html", contribution=contribution, consultation=contribution.consultation, reasons=list(ReportReason),
                           error=error, form=request.form), 400 if error else 200


# ---- the queue -------------------------------------------------------------------------------

@bp.route("/o/<slug>/moderation", methods=["GET", "POST"])
def queue(slug: str):
    organisation = _organisation_or_404(slug)
    authorize(current_user, Action.MODERATE, organisation)
    consultations = _consultations_of(organisation)
    error = error_field = None
    if request.method == "POST":
        items = _selected({c.id for c in consultations})
        action = request.form.get("action", "")
        try:
            changed = services.act(items, actor=current_user, action=action, reason=request.form.get("reason", ""), rule=request.form.get("rule", ""))
        except RuleViolation as refused:
            if refused.status != 400:
                raise
            db.session.rollback()
            error, error_field = refused.message, refused.field  # shown on the form, with the selection and the reason kept
        else:
            db.session.commit()
            flash(f"Done: {changed} contribution{'s' if changed != 1 else ''} {DONE.get(action, action)}.", "success")
            return redirect(url_for("moderation.queue", slug=organisation.slug))
    return _queue_page(organisation, consultations, error=error, error_field=error_field, form=request.form)


def _consultations_of(organisation: Organisation) -> list[Consultation]:
    return list(db.session.scalars(select(Consultation).where(Consultation.organisation_id == organisation.id).order_by(Consultation.title)))


def _queue_page(organisation: Organisation, consultations: list[Consultation], *, error: str | None = None, error_field: str | None = None,
                form=None, block_error: str | None = None, block_form=None):
    """The queue, with a refused bulk action or block shown on its own form and what was typed kept."""
    form = form or {}
    blocks = list(db.session.scalars(select(Block).where(Block.organisation_id == organisation.id).order_by(Block.created_at.desc())))
    return render_template(
        "moderation/queue.html", organisation=organisation, items=services.queue(organisation), hidden=services.hidden_items(organisation),
        reasons=list(ReportReason), blocks=blocks, consultations=consultations, error=error, error_field=error_field,
        selected={whole_number(i) for i in form.getlist("ids")} - {None} if form else set(), form=form,
        block_error=block_error, block_form=block_form or {},
    ), 400 if error or block_error else 200


DONE = {"approve": "approved", "hide": "hidden", "restore": "restored"}


@bp.route("/o/<slug>/block", methods=["POST"])
def block(slug: str):
    organisation = _organisation_or_404(slug)
    authorize(current_user, Action.MODERATE, organisation)
    contribution_id = whole_number(request.form.get("contribution_id", "").strip().lstrip("#"))
    contribution = db.session.get(Contribution, contribution_id) if contribution_id is not None else None
    try:
        if contribution is None or contribution.consultation.organisation_id != organisation.id or contribution.author is None:
            raise RuleViolation("Give the number of one of this organisation's contributions: its author is the one blocked.", status=400)
        services.block(organisation, contribution.author, actor=current_user, reason=request.form.get("reason", ""),
                       consultation=contribution.consultation)
    except RuleViolation as refused:
        if refused.status != 400:
            raise
        db.session.rollback()
        return _queue_page(organisation, _consultations_of(organisation), block_error=refused.message, block_form=request.form)
    db.session.commit()
    flash(f"{contribution.author.display_name} is blocked: everything they wrote in your consultations is hidden until you lift the block.", "success")
    return redirect(url_for("moderation.queue", slug=organisation.slug))


@bp.route("/o/<slug>/unblock/<int:block_id>", methods=["POST"])
def unblock(slug: str, block_id: int):
    organisation = _organisation_or_404(slug)
    authorize(current_user, Action.MODERATE, organisation)
    row = db.session.get(Block, block_id)
    if row is None or row.organisation_id != organisation.id:
        abort(404)
    user = db.session.get(User, row.user_id)
    consultation = db.session.scalar(select(Consultation).where(Consultation.organisation_id == organisation.id).limit(1))
    services.unblock(organisation, user, actor=current_user, consultation=consultation)
    db.session.commit()
    flash(f"The block on {user.display_name} is lifted: what they wrote is shown again.", "success")
    return redirect(url_for("moderation.queue", slug=organisation.slug))


@bp.route("/c/<slug>/moderation-log")
@public
def log(slug: str):
    c = _consultation_or_404(slug)
    entries = db.paginate(services.public_log(c.organisation, consultation=c), page=page_number(), per_page=50, error_out=False)
    return render_template("moderation/log.html", consultation=c, entries=entries)


# ---- themes and summaries --------------------------------------------------------------------

@bp.route("/c/<slug>/themes", methods=["GET", "POST"])
def themes(slug: str):
    c = _consultation_or_404(slug)
    authorize(current_user, Action.SUMMARISE, c)
    if request.method == "POST":
        if request.form.get("name") is not None:
            try:
                theme = services.create_theme(c, actor=current_user, name=request.form.get("name", ""))
            except RuleViolation as refused:
                if refused.status != 400:
                    raise
                db.session.rollback()
                return _themes_page(c, theme_error=refused.message, name=request.form.get("name", ""))
            flash(f"The theme “{theme.name}” is created.", "success")
        else:
            theme_id = whole_number(request.form.get("theme_id"))
            theme = db.session.get(Theme, theme_id) if theme_id is not None else None
            if theme is None or theme.consultation_id != c.id:
                abort(400, "Choose one of this consultation's themes.")
            n = services.tag(theme, _selected({c.id}), actor=current_user, remove=request.form.get("remove") == "1")
            flash(f"{n} contribution{'s' if n != 1 else ''} {'untagged from' if request.form.get('remove') == '1' else 'tagged with'} “{theme.name}”.", "success")
        db.session.commit()
        return redirect(url_for("moderation.themes", slug=c.slug, **{k: v for k, v in request.args.items()}))
    return _themes_page(c)


def _themes_page(c: Consultation, *, theme_error: str | None = None, name: str = ""):
    show = request.args.get("show", "untagged")
    section_key = request.args.get("section") or None
    theme_filter = request.args.get("theme", "")
    theme_id = whole_number(theme_filter)
    if theme_filter and theme_id is None:
        abort(400, "Choose a theme by its number.")
    query = select(Contribution).where(Contribution.consultation_id == c.id, visible_contributions(None)).order_by(Contribution.id)
    if section_key:
        query = query.where(Contribution.section_key == section_key)
    if theme_id is not None:
        query = query.where(Contribution.id.in_(select(ContributionTheme.contribution_id).where(ContributionTheme.theme_id == theme_id)))
    elif show == "untagged":
        query = query.where(~Contribution.id.in_(select(ContributionTheme.contribution_id)))
    page = db.paginate(query, page=page_number(), per_page=50, error_out=False)
    suggested, pending = _suggestions(c)
    tagged = {}
    ids = [x.id for x in page.items]
    if ids:
        for cid, theme_name in db.session.execute(select(ContributionTheme.contribution_id, Theme.name).join(Theme).where(ContributionTheme.contribution_id.in_(ids))):
            tagged.setdefault(cid, []).append(theme_name)
    return render_template("moderation/themes.html", consultation=c, themes=services.themes_of(c), page=page, tagged=tagged,
                           show=show, section_key=section_key, theme_filter=theme_filter, suggestions=suggested, suggestions_pending=pending,
                           theme_error=theme_error, name=name), 400 if theme_error else 200


def _suggestions(c: Consultation):
    """Groups of similar contributions and near-duplicates, computed by a job (None meanwhile,
    or when there are too few contributions to group), and whether they are being computed."""
    data, pending = suggestions.cached_suggestions(c)
    return (data if data and data["enough"] else None), pending


@bp.route("/c/<slug>/themes/<int:theme_id>/summary", methods=["GET", "POST"])
def theme_summary(slug: str, theme_id: int):
    c = _consultation_or_404(slug)
    authorize(current_user, Action.SUMMARISE, c)
    theme = db.session.get(Theme, theme_id)
    if theme is None or theme.consultation_id != c.id:
        abort(404)
    return _summary_form(c, theme=theme, current=theme.summary, title=f"Summary of the theme “{theme.name}”")


@bp.route("/c/<slug>/s/<key>/summary", methods=["GET", "POST"])
def section_summary(slug: str, key: str):
    c = _consultation_or_404(slug)
    authorize(current_user, Action.SUMMARISE, c)
    section = next((s for v in reversed(c.published_versions) for s in v.sections if s.key == key), None) or abort(404)
    row = db.session.scalar(select(SectionSummary).where(SectionSummary.consultation_id == c.id, SectionSummary.section_key == key))
    return _summary_form(c, section_key=key, current=row.summary if row else "", title=f"Summary of the section “{section.heading}”")


def _summary_form(c: Consultation, *, current: str, title: str, theme: Theme | None = None, section_key: str | None = None):
    error = None
    summary = current
    if request.method == "POST":
        summary = request.form.get("summary", "")
        try:
            services.write_summary(c, actor=current_user, summary=summary, theme=theme, section_key=section_key)
        except RuleViolation as refused:
            if refused.status != 400:
                raise
            db.session.rollback()
            error = refused.message
        else:
            db.session.commit()
            flash("The summary is saved.", "success")
            return redirect(url_for("moderation.themes", slug=c.slug) if theme else url_for("moderation.outcome", slug=c.slug) + f"#s-{section_key}")
    return render_template("moderation/summary.html", consultation=c, title=title, summary=summary, error=error,
                           citable=_citable(c, theme=theme, section_key=section_key)), 400 if error else 200


CITABLE_LISTED = 200


def _citable(c: Consultation, *, theme: Theme | None, section_key: str | None) -> list[Contribution]:
    """What the summary is about, listed beside it with the numbers to cite: the theme's tagged
    contributions, or those on the section."""
    query = select(Contribution).where(Contribution.consultation_id == c.id, visible_contributions(None))
    if theme is not None:
        query = query.where(Contribution.id.in_(select(ContributionTheme.contribution_id).where(ContributionTheme.theme_id == theme.id)))
    else:
        query = query.where(Contribution.section_key == section_key)
    return list(db.session.scalars(query.order_by(Contribution.id).limit(CITABLE_LISTED)))


# ---- the outcome ------------------------------------------------------------------------------

@bp.route("/c/<slug>/outcome")
@public
def outcome(slug: str):
    """"You said, we did" (VIEW_OUTCOME says who sees it when); a preview until concluded."""
    c = _consultation_or_404(slug)
    if not can(current_user, Action.VIEW_OUTCOME, c):
        abort(404, "The outcome is published when the consultation is concluded.")
    preparing = not c.is_concluded
    published = c.published_versions
    changes = []
    for older, newer in zip(published, published[1:]):
        citations = amendments.citations_of(newer)
        changes.append((older, newer, [d for d in diff_versions(older, newer) if d.status != "kept"], citations))
    all_amendments = list(db.session.scalars(amendments.amendments_query(c, None)))
    from consult.voting import services as voting

    return render_template(
        "moderation/outcome.html", consultation=c, preparing=preparing, changes=changes, amendments=all_amendments,
        tallies=voting.tallies(a.id for a in all_amendments), themes=services.themes_of(c),
        section_summaries=services.section_summaries(c), figures=services.figures(c),
        sections={s.key: s for v in published for s in v.sections},
    )
