from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from consult.policies.services import MAX_BODY_LENGTH, MAX_NOTE_LENGTH

SIGNIFICANT = "significant"
EDITORIAL = "editorial"


class PolicyForm(FlaskForm):
    body = TextAreaField(
        "Text",
        validators=[
            DataRequired(message="Write the text of the policy."),
            Length(max=MAX_BODY_LENGTH, message=f"A policy can be at most {MAX_BODY_LENGTH:,} characters."),
        ],
        description="Markdown: ## for headings, - for lists, **bold**, [a link](https://example.org).",
    )
    change = RadioField(
        "What kind of change is this?",
        choices=[
            SelectChoice(
                SIGNIFICANT, "Significant: it changes what people agree to. Everyone is asked to agree again at their next sign-in."
            ),
            SelectChoice(EDITORIAL, "Editorial: wording, spelling or layout only. Nobody is asked again."),
        ],
        validators=[DataRequired(message="Say whether the change is significant or editorial.")],
    )
    note = StringField(
        "What changed",
        validators=[Length(max=MAX_NOTE_LENGTH, message=f"Say what changed in at most {MAX_NOTE_LENGTH} characters.")],
        description="One sentence, shown with the version (and to people asked to agree again).",
    )
    based_on = HiddenField(validators=[Length(max=12), Regexp(r"^[0-9]*\Z", message="Reload the page and try again.")])


class AgreeForm(FlaskForm):
    agree = BooleanField(
        "I agree to the terms of use and the privacy notice",
        validators=[DataRequired(message="Tick the box to agree, or cancel the sign-in.")],
    )
