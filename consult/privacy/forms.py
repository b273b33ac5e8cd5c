from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from wtforms import PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from consult.core.forms import Form
from consult.core.templating import format_number
from consult.privacy.erasure import MAX_REASON_LENGTH
from consult.privacy.models import ErasureMode

MODES = [
    SelectChoice(ErasureMode.KEEP.value, _l("Keep what I wrote, under the name “Former participant”")),
    SelectChoice(ErasureMode.WITHDRAW.value, _l("Withdraw what I wrote, and my votes")),
]
CHOOSE = _l("Choose what becomes of what you wrote.")


class RequestExportForm(Form):
    """Asking for a download: the button alone."""


class DeleteAccountForm(Form):
    mode = RadioField(_l("What becomes of what you wrote"), choices=MODES, validators=[DataRequired(message=CHOOSE)])
    password = PasswordField(_l("Your password"), validators=[Length(max=200)])


class EraseAccountForm(Form):
    mode = RadioField(_l("What becomes of what they wrote"), choices=MODES, validators=[DataRequired(message=CHOOSE)])
    reason = TextAreaField(
        _l("The request this answers"),
        description=_l("For the log: when and how they asked. Not their name or email address."),
        validators=[
            DataRequired(message=_l("Say which request this erasure answers.")),
            Length(
                max=MAX_REASON_LENGTH,
                message=_l("Say it in at most %(most)s characters.", most=LazyString(format_number, MAX_REASON_LENGTH)),
            ),
        ],
    )
