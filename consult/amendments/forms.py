from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from consult.amendments.models import MAX_CHANGE_REASON_LENGTH, Decision
from consult.amendments.services import MAX_QUOTE_LENGTH, MAX_RATIONALE_LENGTH
from consult.core.forms import MAX_SECTION_KEY_LENGTH, Form, WholeNumberField
from consult.core.templating import format_number
from consult.proposals.services import MAX_SECTION_LENGTH


class AmendmentForm(Form):
    proposed_text = TextAreaField(
        _l("The section as you would have it"),
        validators=[Optional(), Length(max=MAX_SECTION_LENGTH)],
        description=_l(
            "Edit the words of the current text directly (Markdown). Leave it as it is if you fill in the two fields below instead."
        ),
    )
    quote = TextAreaField(
        _l("Or: words to replace (optional)"),
        validators=[
            Optional(),
            Length(max=MAX_QUOTE_LENGTH, message=_l("Quote at most %(max)s characters.", max=LazyString(format_number, MAX_QUOTE_LENGTH))),
        ],
        description=_l("Copy a passage of the section exactly as it appears."),
    )
    replacement = TextAreaField(
        _l("Replace them with (optional)"),
        validators=[Optional(), Length(max=MAX_SECTION_LENGTH)],
        description=_l("Leave empty to propose deleting the passage."),
    )
    rationale = TextAreaField(
        _l("Why this change?"),
        validators=[
            DataRequired(message=_l("Say why: an amendment needs a rationale.")),
            Length(
                max=MAX_RATIONALE_LENGTH,
                message=_l("A rationale can be at most %(max)s characters.", max=LazyString(format_number, MAX_RATIONALE_LENGTH)),
            ),
        ],
        description=_l("Markdown works. Others will support or oppose your amendment, and the organisation must answer it."),
    )
    preview = BooleanField()  # the "Preview the redline" button: nothing is stored


class AnswerForm(Form):
    decision = RadioField(
        _l("Your answer"),
        choices=[SelectChoice(d.value, d.label) for d in Decision],
        validators=[DataRequired(message=_l("Choose an answer."))],
    )
    reason = TextAreaField(
        _l("The reason"),
        validators=[
            DataRequired(message=_l("Give the reason for your answer: every answer carries one.")),
            Length(
                max=MAX_RATIONALE_LENGTH,
                message=_l("A reason can be at most %(max)s characters.", max=LazyString(format_number, MAX_RATIONALE_LENGTH)),
            ),
        ],
        description=_l("Published with the answer. Markdown works."),
    )


class CiteForm(Form):
    """Trace a section's change in the draft to a contribution, given by its number."""

    contribution_id = WholeNumberField(
        message=_l("Give the number of the comment or amendment to cite, such as 123."), hash_sign=True, required=True
    )
    section_key = StringField(validators=[Length(max=MAX_SECTION_KEY_LENGTH)])


class UnciteForm(Form):
    contribution_id = WholeNumberField(message=_l("That citation is not in the draft."), required=True)
    section_key = StringField(validators=[Length(max=MAX_SECTION_KEY_LENGTH)])


class ReasonForm(Form):
    """The author's own reason for a section's change in the draft, or the editorial mark."""

    section_key = StringField(
        validators=[DataRequired(message=_l("Say which section the reason is for.")), Length(max=MAX_SECTION_KEY_LENGTH)]
    )
    reason = TextAreaField(
        _l("Why it changed"),
        validators=[
            Length(
                max=MAX_CHANGE_REASON_LENGTH,
                message=_l(
                    "Keep the reason to %(max)s characters: a sentence or two.", max=LazyString(format_number, MAX_CHANGE_REASON_LENGTH)
                ),
            )
        ],
    )
    editorial = BooleanField(_l("An editorial change only (wording, numbering, layout)"))
