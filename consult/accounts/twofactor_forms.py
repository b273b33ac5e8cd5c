"""Forms of two-factor sign-in (``twofactor_views``)."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from consult.core.forms import Form

CODE = [DataRequired(message=_l("Enter the code.")), Length(max=40, message=_l("That is not a code we made."))]


class AppCodeForm(Form):
    """A code from the authenticator app (confirming enrolment, making new recovery codes)."""

    code = StringField(_l("Code from your app"), validators=CODE, description=_l("6 digits, changing every 30 seconds."))


class SignInCodeForm(Form):
    code = StringField(
        _l("Code from your app, or a recovery code"),
        validators=CODE,
        description=_l("6 digits from your authenticator app. Lost it? Enter one of your recovery codes instead."),
    )


class DisableForm(Form):
    code = StringField(
        _l("Code from your app, or a recovery code"),
        validators=CODE,
        description=_l("6 digits from your app, or one of your recovery codes."),
    )
    password = PasswordField(_l("Your password"), validators=[Length(max=200)])
