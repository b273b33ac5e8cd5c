from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from consult.accounts.models import ROLE_NAMES, Role
from consult.accounts.services import MIN_PASSWORD_LENGTH
from consult.core.forms import Form

EMAIL = [
    DataRequired(message=_l("Enter your email address.")),
    Email(message=_l("Enter an email address like name@example.org.")),
    Length(max=254),
]
NEW_PASSWORD = [
    DataRequired(message=_l("Choose a password.")),
    Length(min=MIN_PASSWORD_LENGTH, message=_l("Choose a password of at least %(num)s characters.", num=MIN_PASSWORD_LENGTH)),
    Length(max=200, message=_l("Use at most %(num)s characters.", num=200)),
]
PASSWORD = [DataRequired(message=_l("Enter your password.")), Length(max=200)]
REPEAT_PASSWORD = [EqualTo("password", message=_l("The two passwords differ.")), Length(max=200)]
CODE = [DataRequired(message=_l("Paste the code from the email.")), Length(max=500, message=_l("That is not a code from our email."))]
DISPLAY_NAME = [
    DataRequired(message=_l("Enter the name others will see.")),
    Length(min=2, max=80, message=_l("Use %(min)s to %(max)s characters.", min=2, max=80)),
]
PASSWORD_LENGTH_HINT = _l("At least %(num)s characters.", num=MIN_PASSWORD_LENGTH)
NAME_HINT = _l("Shown next to what you write. Your email address is never shown.")
CODE_HINT = _l("The link in the email fills it in for you.")


class SignUpForm(Form):
    display_name = StringField(_l("Public name"), validators=DISPLAY_NAME, description=NAME_HINT)
    email = EmailField(_l("Email address"), validators=EMAIL)
    password = PasswordField(_l("Password"), validators=NEW_PASSWORD, description=PASSWORD_LENGTH_HINT)
    confirm = PasswordField(_l("Repeat the password"), validators=REPEAT_PASSWORD)
    #: labelled in the template, which links the two policies (consult/policies)
    agree = BooleanField(
        _l("I agree to the terms of use and the privacy notice"),
        validators=[DataRequired(message=_l("Agree to the terms of use and the privacy notice to create an account."))],
    )


class SignInForm(Form):
    email = EmailField(_l("Email address"), validators=EMAIL)
    password = PasswordField(_l("Password"), validators=PASSWORD)


class ConfirmForm(Form):
    code = StringField(_l("Code from the email"), validators=CODE, description=CODE_HINT)


class ResetRequestForm(Form):
    email = EmailField(_l("Email address"), validators=EMAIL)


class ResetPasswordForm(Form):
    code = StringField(_l("Code from the email"), validators=CODE, description=CODE_HINT)
    password = PasswordField(_l("New password"), validators=NEW_PASSWORD)
    confirm = PasswordField(_l("Repeat the new password"), validators=REPEAT_PASSWORD)


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Current password"), validators=PASSWORD)
    password = PasswordField(_l("New password"), validators=NEW_PASSWORD, description=PASSWORD_LENGTH_HINT)
    confirm = PasswordField(_l("Repeat the new password"), validators=REPEAT_PASSWORD)


class EmailChangeForm(Form):
    email = EmailField(
        _l("New email address"),
        validators=[DataRequired(message=_l("Enter the new email address.")), *EMAIL[1:]],
        description=_l("We will send a link there. Your address changes only when you follow it."),
    )
    current_password = PasswordField(_l("Current password"), validators=PASSWORD)


class ProfileForm(Form):
    display_name = StringField(_l("Public name"), validators=DISPLAY_NAME)


class MemberForm(Form):
    email = EmailField(
        _l("Email address of the person"),
        validators=[DataRequired(message=_l("Enter the email address of the person to add.")), *EMAIL[1:]],
    )
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, ROLE_NAMES[r]) for r in Role])


class EmptyForm(Form):
    """A form with only the CSRF token, for buttons that POST."""


class OrganisationForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter the organisation's name.")), Length(max=200)])
    slug = StringField(
        _l("Short name"),
        validators=[
            DataRequired(message=_l("Enter a short name for the web address.")),
            Length(max=80),
            Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z", message=_l("Use lowercase letters, digits and single hyphens.")),
        ],
        description=_l("Used in web addresses, such as riverside-council."),
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)], description=_l("Markdown."))


class IdentityAccountForm(Form):
    """The account a first sign-in with an identity provider creates (consult/accounts/oidc.py)."""

    display_name = StringField(_l("Public name"), validators=DISPLAY_NAME, description=NAME_HINT)
    email = EmailField(_l("Email address"), validators=EMAIL)
