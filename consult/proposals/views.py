from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from consult.accounts.services import organisation_by_slug
from consult.attachments import services as attachments
from consult.core import cache, i18n
from consult.core.errors import RuleViolation
from consult.core.forms import WHOLE_FORM, refused_on
from consult.core.models import db
from consult.core.params import body_limit, page_number, whole_number
from consult.core.routing import public
from consult.core.text import render_markdown
from consult.groups import calls  # issue 20 (calls helper): open calls at the top of the page
from consult.permissions import Action, authorize
from consult.proposals import services
from consult.proposals.forms import (
    ConsultationForm,
    ImportForm,
    MatchForm,
    PublishForm,
    SettingsForm,
    TextForm,
    TransitionForm,
    WordForm,
    translations_of,
    with_translations,
)
from consult.proposals.importing import images_not_kept, split_markdown
from consult.proposals.models import LICENCES, Consultation, ConsultationState, ParticipationMode, Transition
from consult.proposals.textdiff import in_context
from consult.reading import services as reading
from consult.sharing import previews

bp = Blueprint("proposals", __name__)
LICENCE_NAMES = LICENCES


@bp.app_template_filter("licence")
def licence_name(code: str) -> str:
    """ "OGL-UK-3.0" as people know it: "Open Government Licence v3.0"."""
    return LICENCE_NAMES.get(code, code)


# A redline's changes with a few words around each (templates/_redline.html's redline_excerpt).
bp.add_app_template_filter(in_context, "in_context")


#: What the flash says after a change of state, one whole sentence per state.
STATE_NOW = {
    ConsultationState.DRAFT: _l("The consultation is now draft."),
    ConsultationState.OPEN: _l("The consultation is now open."),
    ConsultationState.CLOSED: _l("The consultation is now closed."),
    ConsultationState.CONCLUDED: _l("The consultation is now concluded."),
}

STATE_FILTERS = [s.value for s in (ConsultationState.OPEN, ConsultationState.CLOSED, ConsultationState.CONCLUDED)]


def _consultation_or_404(slug: str, action: Action | None = None) -> Consultation:
    """The blueprint's one loader: the consultation the user may see (else 404), and, given an
    action, their permission to do it on it (else 403)."""
    consultation = services.get_visible_consultation(current_user, slug) or abort(404)
    if action is not None:
        authorize(current_user, action, consultation)
    return consultation


@bp.route("/")
@public
def index():
    state = request.args.get("state") or None
    if state is not None and state not in STATE_FILTERS + [ConsultationState.DRAFT.value]:
        abort(400, _("Choose one of: open, closed, concluded."))
    organisation = None
    if org_slug := request.args.get("organisation"):
        organisation = organisation_by_slug(org_slug) or abort(404)
    query = services.visible_consultations_query(current_user, state=state, organisation=organisation)
    return render_template(
        "proposals/index.html",
        can_start=bool(services.organisations_editable_by(current_user)),
        pagination=db.paginate(query, page=page_number(), per_page=20, error_out=False),
        state=state,
        chosen=state,
        organisation=organisation,
        organisations=services.organisations_with_public_consultations(),
        counts=services.consultation_counts(current_user),
        states=STATE_FILTERS,
    )


@bp.route("/o/<slug>")
@public
def organisation(slug: str):
    org = organisation_by_slug(slug) or abort(404)
    consultations = db.session.scalars(services.visible_consultations_query(current_user, organisation=org)).all()
    return render_template("proposals/organisation.html", organisation=org, consultations=consultations)


@bp.route("/consultations/new", methods=["GET", "POST"])
def new_consultation():
    organisations = services.organisations_editable_by(current_user) or abort(
        403, _("Only authors of an organisation can start a consultation.")
    )
    form = ConsultationForm()
    form.organisation_id.choices = [SelectChoice(o.id, o.name) for o in organisations]
    if form.preview.data and form.validate_on_submit():
        return _details_page(form, None)  # nothing is saved
    if form.validate_on_submit():
        organisation = next((o for o in organisations if o.id == form.organisation_id.data), None) or abort(404)
        try:
            consultation = services.create_consultation(organisation, actor=current_user, slug=form.slug.data or None, **_details(form))
        except RuleViolation as refused:
            if not refused_on(form, refused):
                raise
        else:
            db.session.commit()
            flash(_("The consultation has been created as a draft. Now write or import its text."), "success")
            return redirect(url_for("proposals.edit_text", slug=consultation.slug))
    return _details_page(form, None)


@bp.route("/c/<slug>")
@public
def consultation(slug: str):
    c = _consultation_or_404(slug)
    return _render_consultation(c, reading.version_to_read(c, current_user))


@bp.route("/c/<slug>/v/<int:number>")
@public
def version(slug: str, number: int):
    c = _consultation_or_404(slug)
    return _render_consultation(c, reading.version_to_read(c, current_user, number) or abort(404))


def _text_language(version) -> str | None:
    """The language of the text the page shows: ``?text=`` (the page's switch), else the
    interface's, else the original (``reading.text_language``)."""
    return reading.text_language(version, asked=request.args.get("text"), interface=i18n.current_language())


def _render_consultation(c: Consultation, version, *, publish_form: PublishForm | None = None, status: int = 200):
    language = _text_language(version)

    def content() -> str:
        page = reading.reading_page(c, version, viewer=current_user, language=language)
        # issue 20 (calls helper): the open calls to action, and whether this reader may publish one
        page.calls_to_action = calls.open_calls_of(c, current_user)
        may_publish_call = c.is_open and current_user.is_authenticated and bool(calls.publishers_for(current_user, c))
        return render_template(
            "proposals/_consultation_content.html",
            transition_form=TransitionForm(),
            publish_form=publish_form or PublishForm(),
            Transition=Transition,
            may_publish_call=may_publish_call,
            **page.context(),
        )

    if current_user.is_authenticated or publish_form is not None:
        html = content()  # forms with the person's CSRF token, their votes and follows: never shared
    else:
        # also the days left to take part (it changes with the date, not with a write)
        parts = (getattr(version, "id", None), language, reading.ReadingPage(c, version).days_left)
        # with the page's share preview (as the public sees it), which sharing.views takes from the environ
        number = request.view_args.get("number") if request.view_args else None
        html, preview = cache.public_fragment(
            "consultation-page", c.id, request.base_url, parts, lambda: (content(), previews.consultation_preview(c.slug, number))
        )
        request.environ["consult.share_preview"] = preview
    return render_template("proposals/consultation.html", consultation=c, version=version, content=Markup(html)), status


@bp.route("/c/<slug>/diff")
@public
def diff(slug: str):
    c = _consultation_or_404(slug)
    published = c.published_versions
    if len(published) < 2:
        abort(404, _("This consultation has only one published version, so there is nothing to compare yet."))
    old_number = whole_number(request.args.get("from", str(published[-2].number)))
    new_number = whole_number(request.args.get("to", str(published[-1].number)))
    if old_number is None or new_number is None:
        abort(400, _("Version numbers must be whole numbers."))
    old, new = c.version(old_number), c.version(new_number)
    if old is None or new is None or not old.is_published or not new.is_published:
        abort(404, _("There is no published version with that number."))
    if old.number == new.number:
        abort(400, _("Choose two different versions to compare."))
    view = request.args.get("view", "inline")
    if view not in ("inline", "side-by-side"):
        abort(400, _("The changes can be shown inline (view=inline) or side by side (view=side-by-side)."))
    # The texts in a language both versions have: the reader's, or the original.
    common = [code for code in new.languages if code in old.languages]
    texts = reading.TextLanguages(_text_language(new), common, c.original_language, i18n.current_language())
    if texts.shown not in common:
        texts = reading.TextLanguages(c.original_language, common, c.original_language, i18n.current_language())
    diffs = services.diff_versions(old, new, language=texts.shown)
    return render_template(
        "proposals/diff.html",
        consultation=c,
        old=old,
        new=new,
        diffs=diffs,
        versions=published,
        view=view,
        texts=texts,
    )


@bp.route("/c/<slug>/edit", methods=["GET", "POST"])
def edit_consultation(slug: str):
    c = _consultation_or_404(slug, Action.EDIT_CONSULTATION)
    form = with_translations(ConsultationForm, c.languages[1:])(obj=c)
    del form.organisation_id
    if not form.is_submitted():
        form.row_version.data = str(c.row_version)
        for code in c.languages[1:]:
            form[f"title_{code}"].data = c.translations.get(code, {}).get("title", "")
            form[f"summary_{code}"].data = c.translations.get(code, {}).get("summary", "")
    elif form.preview.data and form.validate():
        return _details_page(form, c)  # nothing is saved
    elif form.validate():
        try:
            services.update_consultation(c, actor=current_user, expected_row_version=_sent_row_version(form), **_details(form))
        except RuleViolation as refused:
            if not refused_on(form, refused):
                raise
        else:
            db.session.commit()
            flash(_("The details have been saved."), "success")
            return redirect(url_for("proposals.consultation", slug=c.slug))
    return _details_page(form, c)


def _details_page(form: ConsultationForm, c: Consultation | None):
    """The consultation's details form; after "Preview", with the summary rendered below it."""
    preview = render_markdown(form.summary.data or "") if form.preview.data and not form.errors else None
    return render_template(
        "proposals/edit.html",
        form=form,
        consultation=c,
        preview=preview,
        images=images_not_kept([("", form.summary.data or "")]) if preview is not None else [],
        translation_languages=c.languages[1:] if c is not None else [],
    ), 400 if form.errors else 200


def _details(form: ConsultationForm) -> dict:
    """What the consultation's form gives ``create_consultation`` and ``update_consultation``."""
    return dict(
        title=form.title.data,
        summary=form.summary.data,
        opens_at=form.opens_at.data,
        closes_at=form.closes_at.data,
        licence=form.licence.data,
        response_threshold=form.response_threshold.data,
        **translations_of(form),
    )


def _sent_row_version(form: ConsultationForm) -> int:
    # What was sent, not ``form.row_version.data``: that falls back to the consultation's own
    # value when the field is missing, which would skip the check.
    expected = whole_number(next(iter(form.row_version.raw_data or []), None))
    if expected is None:
        abort(
            400,
            _(
                "This form has no valid version marker, so a save by someone else could be overwritten. Reload the page and make your change again."
            ),
        )
    return expected


@bp.route("/c/<slug>/settings", methods=["GET", "POST"])
def settings(slug: str):
    c = _consultation_or_404(slug, Action.EDIT_SETTINGS)
    form = SettingsForm(obj=c, modes=[m.value for m in ParticipationMode if c.allows(m)])
    if not form.is_submitted():
        form.row_version.data = str(c.row_version)
    elif form.validate():
        try:
            changed = services.update_settings(
                c,
                actor=current_user,
                expected_row_version=_sent_row_version(form),
                moderation_mode=form.moderation_mode.data,
                response_threshold=form.response_threshold.data,
                modes=form.modes.data,
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="modes"):
                raise
        else:
            db.session.commit()
            flash(_("The settings have been saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("proposals.settings", slug=c.slug))
    return render_template("proposals/settings.html", consultation=c, form=form), 400 if form.errors else 200


@bp.route("/c/<slug>/text", methods=["GET", "POST"])
@body_limit(
    lambda app: max(app.config["MAX_CONTENT_LENGTH"] or 0, 5 * int(app.config["ATTACHMENT_MAX_BYTES"]) + 64 * 1024)
)  # a Word document
def edit_text(slug: str):
    c = _consultation_or_404(slug, Action.EDIT_TEXT)
    text_form, import_form = TextForm(prefix="write"), ImportForm(prefix="import")
    if not text_form.is_submitted():
        return _text_page(c, text_form, import_form)
    word_form = WordForm(prefix="word")
    if word_form.document.raw_data:  # a Word document: converted, previewed, saved by the author
        return _word_preview(c, text_form, import_form, word_form)
    form = text_form if text_form.source.raw_data else import_form  # the form whose button was pressed
    if form is text_form and text_form.preview.data:  # nothing is saved
        valid = text_form.validate()
        return _text_page(c, text_form, import_form, preview=valid, status=200 if valid else 400)
    files: list[tuple[str, str]] = []
    if form.validate():
        try:
            files = _save_text(c, text_form.source.data if form is text_form else None, import_form.files.data, import_form.language.data)
        except RuleViolation as refused:
            # A refusal of the text itself (no headings, too long, not UTF-8) goes on the field it came from.
            if refused.field not in ("source", "files") or not refused_on(
                form, refused, fallback="source" if form is text_form else "files"
            ):
                raise
    if form.errors:
        return _text_page(c, text_form, import_form, status=400)
    db.session.commit()
    flash(_("The draft text has been saved."), "success")
    if dropped := images_not_kept(files):
        flash(_images_message(dropped), "error")
    language = import_form.language.data if form is import_form and import_form.language.data != c.original_language else None
    return redirect(url_for("proposals.version", slug=c.slug, number=c.draft_version.number, text=language or None))


def _word_preview(c: Consultation, text_form: TextForm, import_form: ImportForm, word_form: WordForm):
    """The Word document's text in the "Write" form with its preview and what was not carried
    over; its images are stored as attachments (committed), the text is saved by the author."""
    notes = None
    if word_form.validate():
        upload = word_form.document.data
        try:
            converted = attachments.read_word_document(c, upload.stream, actor=current_user, filename=upload.filename or "document.docx")
        except RuleViolation as refused:
            if not refused_on(word_form, refused, fallback="document"):
                raise
        else:
            db.session.commit()
            text_form.source.data, notes = converted.markdown, converted.notes
    if word_form.errors:
        draft = c.draft_version or c.current_version
        text_form.source.data = services.draft_as_markdown(draft) if draft and draft.sections else ""
        return _text_page(c, text_form, import_form, word_form=word_form, status=400)
    return _text_page(c, text_form, import_form, word_form=word_form, preview=True, word_notes=notes)


def _images_message(dropped: list[str]) -> str:
    return ngettext(
        "%(num)d image was not kept, because Consult shows only images uploaded to it: %(images)s. Where Markdown gave a "
        "description, it is shown in the image's place. Upload each image as an attachment of the consultation and use the "
        "line its list gives, or say in words what it showed, before you publish.",
        "%(num)d images were not kept, because Consult shows only images uploaded to it: %(images)s. Where Markdown gave a "
        "description, it is shown in the image's place. Upload each image as an attachment of the consultation and use the "
        "line its list gives, or say in words what it showed, before you publish.",
        len(dropped),
        images="; ".join(dropped),
    )


def _save_text(c: Consultation, source: str | None, uploads, language: str | None) -> list[tuple[str, str]]:
    """Save the written text or the uploaded files (their text in ``language``) as the draft;
    returns them as (name, text)."""
    if source is not None:
        services.write_markdown(c, source, actor=current_user)
        return [("", source)]
    files = [(f.filename or "text.md", _read_upload(f)) for f in uploads]
    services.import_markdown(c, files, actor=current_user, language=language or None)
    return sorted(files)


def _text_page(
    c: Consultation,
    text_form: TextForm,
    import_form: ImportForm,
    *,
    word_form: WordForm | None = None,
    preview: bool = False,
    word_notes: list[str] | None = None,
    status: int = 200,
):
    draft = c.draft_version or c.current_version  # the next draft starts from the current text
    if not text_form.is_submitted():
        text_form.source.data = services.draft_as_markdown(draft) if draft and draft.sections else ""
    if not import_form.is_submitted() or not import_form.language.data:
        import_form.language.data = c.original_language
    source = text_form.source.data or ""
    return render_template(
        "proposals/text.html",
        consultation=c,
        draft=draft,
        text_form=text_form,
        import_form=import_form,
        preview=[(s.heading, render_markdown(s.body)) for s in split_markdown(source)] if preview else None,
        images=images_not_kept([("", source)]) if preview else [],
        word_form=word_form or WordForm(prefix="word"),
        word_notes=word_notes,
        missing=services.missing_translations(draft) if draft is not None and not draft.is_published else {},
    ), status


@bp.route("/c/<slug>/text/languages/<language>/remove", methods=["POST"])
def remove_language(slug: str, language: str):
    """Take a language of the translations off the draft (one no published version has)."""
    c = _consultation_or_404(slug, Action.EDIT_TEXT)
    services.remove_language(c, language, actor=current_user)
    db.session.commit()
    flash(_("The text in %(language)s has been removed from the draft.", language=i18n.language_name_in_interface(language)), "success")
    return redirect(url_for("proposals.edit_text", slug=c.slug))


def _read_upload(storage) -> str:
    data = storage.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleViolation(
            _("“%(name)s” is not UTF-8 text. Save it as UTF-8 and try again.", name=storage.filename), status=400, field="files"
        ) from None
    if "\x00" in text:  # the request check sees form fields, not the files' contents
        raise RuleViolation(
            _("“%(name)s” contains a NUL character, which text cannot contain. Remove it and try again.", name=storage.filename),
            status=400,
            field="files",
        )
    return text


@bp.route("/c/<slug>/publish", methods=["POST"])
def publish(slug: str):
    c = _consultation_or_404(slug)
    form = PublishForm()
    if form.validate_on_submit():
        try:
            version = services.publish_version(c, actor=current_user, note=form.note.data or "")
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback=WHOLE_FORM):
                raise
    if form.errors:  # the draft again, with the note kept and the message on it
        return _render_consultation(c, c.draft_version or c.current_version, publish_form=form, status=400)
    db.session.commit()
    flash(_("Version %(number)s is published.", number=version.number), "success")
    return redirect(url_for("proposals.consultation", slug=c.slug))


@bp.route("/c/<slug>/match", methods=["POST"])
def match_section(slug: str):
    """Correct the matching of a draft section with the previous version."""
    c = _consultation_or_404(slug, Action.EDIT_TEXT)
    form = MatchForm()
    if not form.validate_on_submit():
        abort(400, " ".join(e for errors in form.errors.values() for e in errors))
    draft = services.match_section(c, form.section_key.data, actor=current_user, replaces=form.replaces.data or None)
    db.session.commit()
    flash(_("The section's match with the previous version has been corrected."), "success")
    return redirect(url_for("proposals.version", slug=c.slug, number=draft.number) + "#changes")


@bp.route("/c/<slug>/state", methods=["POST"])
def change_state(slug: str):
    c = _consultation_or_404(slug)
    form = TransitionForm()
    if not form.validate_on_submit():
        if form.closes_at.errors:
            abort(400, _("Give the new closing date as a date and a time, such as 2027-01-31 17:00."))
        abort(400, _("Unknown change of state."))
    services.change_state(
        c, Transition(form.transition.data), actor=current_user, closes_at=form.closes_at.data, confirmed=form.confirm.data
    )
    db.session.commit()
    flash(str(STATE_NOW[c.state]), "success")
    return redirect(url_for("proposals.consultation", slug=c.slug))
