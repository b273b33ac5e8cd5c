from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from consult.core.forms import Form, UTCDateTimeLocalField
from consult.core.i18n import LANGUAGES, language_name
from consult.proposals.models import LICENCES, PARTICIPATION_LABELS, Transition


class ConsultationForm(Form):
    organisation_id = SelectField(_l("Organisation"), coerce=int)
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Give the consultation a title.")), Length(max=200)])
    slug = StringField(
        _l("Web address"),
        validators=[
            Optional(),
            Length(max=80),
            Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z", message=_l("Use lowercase letters, digits and single hyphens.")),
        ],
        description=_l("The last part of the address, such as federal-source-code-policy. Leave empty to make one from the title."),
    )
    summary = TextAreaField(
        _l("Summary"), validators=[Length(max=5000)], description=_l("What the policy is about and what you want to hear. Markdown.")
    )
    opens_at = UTCDateTimeLocalField(_l("Opens (UTC)"), validators=[Optional()])
    closes_at = UTCDateTimeLocalField(_l("Closes (UTC)"), validators=[Optional()])
    licence = SelectField(
        _l("Licence of the contributions and the record"), choices=[SelectChoice(value, label) for value, label in LICENCES.items()]
    )
    response_threshold = IntegerField(
        _l("Response threshold"),
        default=10,
        validators=[NumberRange(min=0, max=100000, message=_l("Use a whole number from 0 to 100,000."))],
        description=_l("Amendments with at least this many supporters must be answered before the consultation is concluded."),
    )
    # The "Preview" button: the form comes back with the summary rendered below it, nothing saved.
    preview = BooleanField()
    # A whole number, read by the view from what was sent; the consultation's own (an int) when
    # the form is filled from it.
    row_version = HiddenField(filters=[lambda v: v if v is None else str(v)], validators=[Length(max=20)])


def with_translations(form_class: type[ConsultationForm], languages: list[str]) -> type[ConsultationForm]:
    """The consultation's form with a title and a summary for each other language of its text."""
    if not languages:
        return form_class
    fields = {}
    for code in languages:
        name = language_name(code)
        fields[f"title_{code}"] = StringField(_l("Title in %(language)s", language=name), validators=[Length(max=200)])
        fields[f"summary_{code}"] = TextAreaField(_l("Summary in %(language)s", language=name), validators=[Length(max=5000)])
    return type(f"{form_class.__name__}WithTranslations", (form_class,), fields)


def translations_of(form: FlaskForm) -> dict:
    """``{"translations": {code: {"title": …, "summary": …}}}`` from a form made by
    ``with_translations``; nothing from one without translation fields."""
    codes = [name.removeprefix("title_") for name in form._fields if name.startswith("title_")]
    if not codes:
        return {}
    return {
        "translations": {code: {"title": form[f"title_{code}"].data or "", "summary": form[f"summary_{code}"].data or ""} for code in codes}
    }


class SettingsForm(Form):
    """How people take part in one consultation."""

    moderation_mode = RadioField(
        _l("When a new participant's contribution appears"),
        choices=[
            SelectChoice("post", _l("At once; moderators act on reports afterwards")),
            SelectChoice("pre", _l("After a moderator approves their first contribution (pre-moderation)")),
        ],
        validators=[AnyOf(["post", "pre"], message=_l("Choose when contributions appear."))],
    )
    response_threshold = IntegerField(
        _l("Response threshold"),
        validators=[
            InputRequired(message=_l("Give a whole number from 0 to 100,000.")),
            NumberRange(min=0, max=100000, message=_l("Use a whole number from 0 to 100,000.")),
        ],
        description=_l("Amendments with at least this many supporters must be answered before the consultation is concluded."),
    )
    modes = SelectMultipleField(
        _l("Ways of taking part that are on"),
        choices=[SelectChoice(mode.value, label) for mode, label in PARTICIPATION_LABELS.items()],
        description=_l("What was said before a way is turned off stays readable; nobody can add more."),
    )
    row_version = HiddenField(filters=[lambda v: v if v is None else str(v)], validators=[Length(max=20)])


class TextForm(Form):
    source = TextAreaField(
        _l("Policy text (Markdown)"),
        validators=[
            DataRequired(message=_l("Write the text, starting each section with a heading line such as '## Scope'.")),
            Length(
                max=1_000_000,
                message=_l("The text can be at most 1,000,000 characters here; import a longer one as several Markdown files."),
            ),
        ],
    )
    preview = BooleanField()  # the "Preview" button: the text rendered below the form, nothing saved


class ImportForm(Form):
    files = MultipleFileField(
        _l("Markdown files"),
        validators=[
            DataRequired(message=_l("Choose at least one Markdown file.")),
            FileAllowed(["md", "markdown", "txt"], _l("Only Markdown files (.md, .markdown, .txt).")),
        ],
        description=_l("One or several files, imported in name order. Front matter is ignored; each heading starts a section."),
    )
    # The text's language: the original's (the first text imported says which it is), or another,
    # a translation matched with the original's sections by key.
    language = SelectField(
        _l("Language of the text in these files"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
        validate_choice=False,  # none sent (an older page, a script): the original's
        validators=[Optional(), AnyOf(list(LANGUAGES), message=_l("Choose the language of the text."))],
        description=_l(
            "A language other than the original's is a translation: each of its headings names the original section it "
            "translates, by its key, as in “## Objectifs {#objectives}”."
        ),
    )


class MatchForm(Form):
    """The author's correction of the matching: which section of the previous version a section
    of the draft replaces ("" for a new section)."""

    section_key = StringField(validators=[DataRequired(message=_l("Say which section of the draft you mean.")), Length(max=80)])
    replaces = StringField(_l("This section"), validators=[Length(max=80)])


class PublishForm(Form):
    note = TextAreaField(_l("Change note"), validators=[Length(max=5000)], description=_l("What changed in this version and why."))


class TransitionForm(Form):
    transition = HiddenField(validators=[DataRequired(), AnyOf([t.value for t in Transition])])
    # Reopening after the closing date asks for a new one; concluding (final) asks to confirm.
    closes_at = UTCDateTimeLocalField(_l("New closing date (UTC)"), validators=[Optional()])
    confirm = BooleanField(_l("I understand: concluding is final. The outcome page is published and nobody can take part any more."))


class WordForm(Form):
    """A Word document (issue 21) converted to Markdown: the text comes back in the "Write"
    form, previewed section by section, for the author to check and save as the draft."""

    document = FileField(
        _l("Word document (.docx)"),
        validators=[
            FileRequired(message=_l("Choose a Word document (.docx).")),
            FileAllowed(
                ["docx"],
                _l("Consult reads Word documents saved as .docx. Open an .odt or .doc file in LibreOffice or Word and save it as .docx."),
            ),
        ],
        description=_l("Headings (Word's Heading 1 to 6 styles) start sections; lists, tables, links, footnotes and images are kept."),
    )
