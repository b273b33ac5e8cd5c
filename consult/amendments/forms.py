from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from consult.amendments.models import MAX_CHANGE_REASON_LENGTH, Decision
from consult.amendments.services import MAX_QUOTE_LENGTH, MAX_RATIONALE_LENGTH
from consult.core.forms import MAX_SECTION_KEY_LENGTH, WholeNumberField
from consult.proposals.services import MAX_SECTION_LENGTH


class AmendmentForm(FlaskForm):
    proposed_text = TextAreaField(
        "The section as you would have it",
        validators=[Optional(), Length(max=MAX_SECTION_LENGTH)],
        description="Edit the words of the current text directly (Markdown). Leave it as it is if you fill in the two fields below instead.",
    )
    quote = TextAreaField(
        "Or: words to replace (optional)",
        validators=[Optional(), Length(max=MAX_QUOTE_LENGTH, message=f"Quote at most {MAX_QUOTE_LENGTH:,} characters.")],
        description="Copy a passage of the section exactly as it appears.",
    )
    replacement = TextAreaField(
        "Replace them with (optional)",
        validators=[Optional(), Length(max=MAX_SECTION_LENGTH)],
        description="Leave empty to propose deleting the passage.",
    )
    rationale = TextAreaField(
        "Why this change?",
        validators=[
            DataRequired(message="Say why: an amendment needs a rationale."),
            Length(max=MAX_RATIONALE_LENGTH, message=f"A rationale can be at most {MAX_RATIONALE_LENGTH:,} characters."),
        ],
        description="Markdown works. Others will support or oppose your amendment, and the organisation must answer it.",
    )
    preview = BooleanField()  # the "Preview the redline" button: nothing is stored


class AnswerForm(FlaskForm):
    decision = RadioField(
        "Your answer",
        choices=[SelectChoice(d.value, d.label) for d in Decision],
        validators=[DataRequired(message="Choose an answer.")],
    )
    reason = TextAreaField(
        "The reason",
        validators=[
            DataRequired(message="Give the reason for your answer: every answer carries one."),
            Length(max=MAX_RATIONALE_LENGTH, message=f"A reason can be at most {MAX_RATIONALE_LENGTH:,} characters."),
        ],
        description="Published with the answer. Markdown works.",
    )


class CiteForm(FlaskForm):
    """Trace a section's change in the draft to a contribution, given by its number."""

    contribution_id = WholeNumberField(
        message="Give the number of the comment or amendment to cite, such as 123.", hash_sign=True, required=True
    )
    section_key = StringField(validators=[Length(max=MAX_SECTION_KEY_LENGTH)])


class UnciteForm(FlaskForm):
    contribution_id = WholeNumberField(message="That citation is not in the draft.", required=True)
    section_key = StringField(validators=[Length(max=MAX_SECTION_KEY_LENGTH)])


class ReasonForm(FlaskForm):
    """The author's own reason for a section's change in the draft, or the editorial mark."""

    section_key = StringField(validators=[DataRequired(message="Say which section the reason is for."), Length(max=MAX_SECTION_KEY_LENGTH)])
    reason = TextAreaField(
        "Why it changed",
        validators=[
            Length(max=MAX_CHANGE_REASON_LENGTH, message=f"Keep the reason to {MAX_CHANGE_REASON_LENGTH:,} characters: a sentence or two.")
        ],
    )
    editorial = BooleanField("An editorial change only (wording, numbering, layout)")
