"""The forms of a group's shared drafts (input shape only: the rules are in ``consult.groups.drafts``)."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from consult.core.forms import MAX_SECTION_KEY_LENGTH, Form, WholeNumberField
from consult.core.templating import format_number
from consult.groups.drafts import MAX_BODY_LENGTH, MAX_PROPOSED_LENGTH, MAX_TITLE_LENGTH
from consult.groups.models import DraftKind

KIND_LABELS = {DraftKind.AMENDMENT: _l("An amendment: new words for a section"), DraftKind.COMMENT: _l("A comment")}

_TITLE = [
    DataRequired(message=_l("Give the draft a title, so the group can tell its drafts apart.")),
    Length(max=MAX_TITLE_LENGTH, message=_l("A title can be at most %(max)s characters.", max=LazyString(format_number, MAX_TITLE_LENGTH))),
]


class StartDraftForm(Form):
    kind = RadioField(
        _l("What the group writes"),
        choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()],
        default=DraftKind.AMENDMENT.value,
        validators=[DataRequired(message=_l("Choose what to write: an amendment or a comment."))],
    )
    section_key = SelectField(
        _l("Section"),
        choices=[],
        validate_choice=False,
        validators=[Optional(), Length(max=MAX_SECTION_KEY_LENGTH)],
        description=_l("An amendment changes one section; a comment can be on a section or on the whole consultation."),
    )
    title = StringField(_l("Title of the draft"), validators=_TITLE, description=_l("For the group only: it is not published."))


class EditDraftForm(Form):
    revision = WholeNumberField(message=_l("Reload the draft and edit it again."), required=True)
    title = StringField(_l("Title of the draft"), validators=_TITLE)
    proposed_text = TextAreaField(
        _l("The section as the group would have it"),
        validators=[Optional(), Length(max=MAX_PROPOSED_LENGTH)],
        description=_l("Edit the words of the current text directly (Markdown)."),
    )
    body = TextAreaField(
        _l("Text"),
        validators=[
            Optional(),
            Length(
                max=MAX_BODY_LENGTH,
                message=_l("The text can be at most %(max)s characters.", max=LazyString(format_number, MAX_BODY_LENGTH)),
            ),
        ],
        description=_l("Markdown works."),
    )


class ConfirmForm(Form):
    """A button: submit a draft, sign, withdraw a signature, adopt (nothing typed)."""

    next = HiddenField(validators=[Optional(), Length(max=500)])
