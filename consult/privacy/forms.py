from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from consult.privacy.erasure import MAX_REASON_LENGTH
from consult.privacy.models import ErasureMode

MODES = [
    SelectChoice(ErasureMode.KEEP.value, "Keep what I wrote, under the name “Former participant”"),
    SelectChoice(ErasureMode.WITHDRAW.value, "Withdraw what I wrote, and my votes"),
]
CHOOSE = "Choose what becomes of what you wrote."


class RequestExportForm(FlaskForm):
    """Asking for a download: the button alone."""


class DeleteAccountForm(FlaskForm):
    mode = RadioField("What becomes of what you wrote", choices=MODES, validators=[DataRequired(message=CHOOSE)])
    password = PasswordField("Your password", validators=[Length(max=200)])


class EraseAccountForm(FlaskForm):
    mode = RadioField("What becomes of what they wrote", choices=MODES, validators=[DataRequired(message=CHOOSE)])
    reason = TextAreaField(
        "The request this answers",
        description="For the log: when and how they asked. Not their name or email address.",
        validators=[
            DataRequired(message="Say which request this erasure answers."),
            Length(max=MAX_REASON_LENGTH, message=f"Say it in at most {MAX_REASON_LENGTH:,} characters."),
        ],
    )
