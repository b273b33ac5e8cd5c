from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from consult.accounts.models import Organisation
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.core.params import page_number, whole_number
from consult.permissions import Action, authorize, can, editable_organisations, visible_consultations
from consult.core.routing import public
from consult.proposals import services
from consult.proposals.forms import ConsultationForm, ImportForm, PublishForm, TextForm, TransitionForm
from consult.proposals.models import LICENCES, PUBLIC_STATES, Consultation, ConsultationState, Transition

bp = Blueprint("proposals", __name__)
LICENCE_NAMES = LICENCES


@bp.app_template_filter("licence")
def licence_name(code: str) -> str:
    """"OGL-UK-3.0" as people know it: "Open Government Licence v3.0"."""
    return LICENCE_NAMES.get(code, code)

STATE_FILTERS = [s.value for s in (ConsultationState.OPEN, ConsultationState.CLOSED, ConsultationState.CONCLUDED)]


def _consultation_or_404(slug: str) -> Consultation:
    consultation = services.get_visible_consultation(current_user, slug)
    if consultation is None:
        abort(404)
    return consultation


@bp.route("/")
@public
def index():
    state = request.args.get("state") or None
    if state is not None and state not in STATE_FILTERS + [ConsultationState.DRAFT.value]:
        abort(400, "Choose one of: open, closed, concluded.")
    organisation = None
    if org_slug := request.args.get("organisation"):
        organisation = db.first_or_404(select(Organisation).where(Organisation.slug == org_slug))
    query = services.visible_consultations_query(current_user, state=state, organisation=organisation)
    pagination = db.paginate(query, page=page_number(), per_page=20, error_out=False)
    organisations = db.session.scalars(
        select(Organisation).where(Organisation.id.in_(select(Consultation.organisation_id).where(Consultation.state.in_(list(PUBLIC_STATES))))).order_by(Organisation.name)
    ).all()
    counts = dict(
        db.session.execute(
            select(Consultation.state, func.count()).where(visible_consultations(current_user)).group_by(Consultation.state)
        ).all()
    )
    can_start = db.session.scalar(select(func.count(Organisation.id)).where(editable_organisations(current_user))) > 0
    return render_template(
        "proposals/index.html", can_start=can_start, pagination=pagination, state=state, chosen=state, organisation=organisation, organisations=organisations, counts=counts, states=STATE_FILTERS
    )


@bp.route("/o/<slug>")
@public
def organisation(slug: str):
    org = db.first_or_404(select(Organisation).where(Organisation.slug == slug))
    consultations = db.session.scalars(services.visible_consultations_query(current_user, organisation=org)).all()
    return render_template("proposals/organisation.html", organisation=org, consultations=consultations)


@bp.route("/consultations/new", methods=["GET", "POST"])
def new_consultation():
    organisations = db.session.scalars(select(Organisation).where(editable_organisations(current_user)).order_by(Organisation.name)).all()
    if not organisations:
        abort(403, "Only authors of an organisation can start a consultation.")
    form = ConsultationForm()
    form.organisation_id.choices = [SelectChoice(o.id, o.name) for o in organisations]
    if form.validate_on_submit():
        organisation = db.get_or_404(Organisation, form.organisation_id.data)
        try:
            consultation = services.create_consultation(
                organisation, actor=current_user, title=form.title.data, summary=form.summary.data, slug=form.slug.data or None,
                opens_at=form.opens_at.data, closes_at=form.closes_at.data, licence=form.licence.data,
                response_threshold=form.response_threshold.data,
            )
        except RuleViolation as refused:
            if not _refused_on(form, refused):
                raise
        else:
            db.session.commit()
            flash("The consultation has been created as a draft. Now write or import its text.", "success")
            return redirect(url_for("proposals.edit_text", slug=consultation.slug))
    return render_template("proposals/edit.html", form=form, consultation=None), 400 if form.errors else 200


@bp.route("/c/<slug>")
@public
def consultation(slug: str):
    c = _consultation_or_404(slug)
    version = c.current_version
    if version is None and c.draft_version is not None and can(current_user, Action.VIEW_VERSION, c.draft_version):
        version = c.draft_version
    return _render_consultation(c, version)


@bp.route("/c/<slug>/v/<int:number>")
@public
def version(slug: str, number: int):
    c = _consultation_or_404(slug)
    v = c.version(number)
    if v is None or not can(current_user, Action.VIEW_VERSION, v):
        abort(404)
    return _render_consultation(c, v)


def _refused_on(form, refused: RuleViolation) -> bool:
    """Put a refusal about one of the form's fields on that field (True), to show the form again
    with what was typed; False when it is about none of them."""
    field = form[refused.field] if refused.field and refused.field in form else None
    if field is None or refused.status != 400:
        return False
    db.session.rollback()
    field.errors = [*field.errors, refused.message]
    return True


def _render_consultation(c: Consultation, version, *, publish_form: PublishForm | None = None, status: int = 200):
    from consult.comments import services as comments
    from consult.comments.views import highlighted_sections

    from consult.amendments import services as amendments
    from consult.voting import services as voting

    published = version is not None and version.is_published
    is_current = version is not None and version == c.current_version
    return render_template(
        "proposals/consultation.html", consultation=c, version=version, transition_form=TransitionForm(), publish_form=publish_form or PublishForm(), Transition=Transition,
        section_html=highlighted_sections(version) if published else {s.key: s.html for s in version.sections} if version else {},
        counts=comments.section_counts(c, current_user) if published else {},
        orphaned=comments.orphaned_on(version, current_user) if published else [],
        is_current=is_current,
        amendment_counts=amendments.amendment_counts(c, current_user) if published else {},
        waiting=amendments.unanswered_above_threshold(c) if published else 0,
        section_tallies=voting.section_tallies(c) if is_current else {},
        my_votes=voting.my_votes(current_user, c) if is_current else {},
        empty_tally=voting.Tally(),
        citations=amendments.citations_of(version) if version is not None and version.number > 1 else {},
        citable=amendments.citable_by_section(c) if version is not None and not version.is_published and version.number > 1
        and can(current_user, Action.EDIT_TEXT, c) else {},
        now=utcnow(),
    ), status


@bp.route("/c/<slug>/diff")
@public
def diff(slug: str):
    c = _consultation_or_404(slug)
    published = c.published_versions
    if len(published) < 2:
        abort(404, "This consultation has only one published version, so there is nothing to compare yet.")
    old_number = whole_number(request.args.get("from", str(published[-2].number)))
    new_number = whole_number(request.args.get("to", str(published[-1].number)))
    if old_number is None or new_number is None:
        abort(400, "Version numbers must be whole numbers.")
    old, new = c.version(old_number), c.version(new_number)
    if old is None or new is None or not old.is_published or not new.is_published:
        abort(404, "There is no published version with that number.")
    if old.number == new.number:
        abort(400, "Choose two different versions to compare.")
    diffs = services.diff_versions(old, new)
    return render_template("proposals/diff.html", consultation=c, old=old, new=new, diffs=diffs, versions=published)


@bp.route("/c/<slug>/edit", methods=["GET", "POST"])
def edit_consultation(slug: str):
    c = _consultation_or_404(slug)
    authorize(current_user, Action.EDIT_CONSULTATION, c)
    form = ConsultationForm(obj=c)
    del form.organisation_id
    if request.method == "GET":
        form.row_version.data = str(c.row_version)
    if form.validate_on_submit():
        # Read from the form sent, not ``form.row_version.data``: that falls back to the
        # consultation's own value when the field is missing, which would skip the check.
        expected = whole_number(request.form.get("row_version"))
        if expected is None:
            abort(400, "This form has no valid version marker, so a save by someone else could be overwritten. Reload the page and make your change again.")
        try:
            services.update_consultation(
                c, actor=current_user, expected_row_version=expected, title=form.title.data, summary=form.summary.data,
                opens_at=form.opens_at.data, closes_at=form.closes_at.data, licence=form.licence.data, response_threshold=form.response_threshold.data,
            )
        except RuleViolation as refused:
            if not _refused_on(form, refused):
                raise
        else:
            db.session.commit()
            flash("The details have been saved.", "success")
            return redirect(url_for("proposals.consultation", slug=c.slug))
    return render_template("proposals/edit.html", form=form, consultation=c), 400 if form.errors else 200


@bp.route("/c/<slug>/text", methods=["GET", "POST"])
def edit_text(slug: str):
    c = _consultation_or_404(slug)
    authorize(current_user, Action.EDIT_TEXT, c)
    text_form, import_form = TextForm(prefix="write"), ImportForm(prefix="import")
    if request.method == "POST":
        try:
            if "write-source" in request.form and text_form.validate():
                services.write_markdown(c, text_form.source.data, actor=current_user)
            elif "write-source" not in request.form and import_form.validate():
                files = [(f.filename or "text.md", _read_upload(f)) for f in import_form.files.data]
                services.import_markdown(c, files, actor=current_user)
        except RuleViolation as refused:
            # A refusal of the text itself (no headings, too long, not UTF-8) goes on the field it came from.
            if refused.status != 400 or refused.field not in ("source", "files"):
                raise
            db.session.rollback()
            field = text_form.source if "write-source" in request.form else import_form.files
            field.errors = [*field.errors, refused.message]
        if text_form.errors or import_form.errors:
            draft = c.draft_version or c.current_version
            return render_template("proposals/text.html", consultation=c, draft=draft, text_form=text_form, import_form=import_form), 400
        db.session.commit()
        flash("The draft text has been saved.", "success")
        return redirect(url_for("proposals.version", slug=c.slug, number=c.draft_version.number))
    draft = c.draft_version or c.current_version  # the next draft starts from the current text
    text_form.source.data = services.draft_as_markdown(draft) if draft and draft.sections else ""
    return render_template("proposals/text.html", consultation=c, draft=draft, text_form=text_form, import_form=import_form)


def _read_upload(storage) -> str:
    data = storage.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleViolation(f"“{storage.filename}” is not UTF-8 text. Save it as UTF-8 and try again.", status=400, field="files") from None
    if "\x00" in text:  # the request check sees form fields, not the files' contents
        raise RuleViolation(f"“{storage.filename}” contains a NUL character, which text cannot contain. Remove it and try again.", status=400, field="files")
    return text


@bp.route("/c/<slug>/publish", methods=["POST"])
def publish(slug: str):
    c = _consultation_or_404(slug)
    form = PublishForm()
    if form.validate_on_submit():
        try:
            version = services.publish_version(c, actor=current_user, note=form.note.data or "")
        except RuleViolation as refused:
            if not _refused_on(form, refused):
                raise
    if form.errors:  # the draft again, with the note kept and the message on it
        return _render_consultation(c, c.draft_version or c.current_version, publish_form=form, status=400)
    db.session.commit()
    flash(f"Version {version.number} is published.", "success")
    return redirect(url_for("proposals.consultation", slug=c.slug))


@bp.route("/c/<slug>/state", methods=["POST"])
def change_state(slug: str):
    c = _consultation_or_404(slug)
    form = TransitionForm()
    if not form.validate_on_submit():
        if form.closes_at.errors:
            abort(400, "Give the new closing date as a date and a time, such as 2027-01-31 17:00.")
        abort(400, "Unknown change of state.")
    services.change_state(c, Transition(form.transition.data), actor=current_user, closes_at=form.closes_at.data,
                          confirmed=form.confirm.data)
    db.session.commit()
    flash(f"The consultation is now {c.state}.", "success")
    return redirect(url_for("proposals.consultation", slug=c.slug))
