from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from consult.accounts.models import Role
from consult.accounts.services import MIN_PASSWORD_LENGTH

EMAIL = [DataRequired(message="Enter your email address."), Email(message="Enter an email address like name@example.org."), Length(max=254)]
NEW_PASSWORD = [
    DataRequired(message="Choose a password."),
    Length(min=MIN_PASSWORD_LENGTH, message=f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."),
    Length(max=200, message="Use at most 200 characters."),
]
PASSWORD = [DataRequired(message="Enter your password."), Length(max=200)]
REPEAT_PASSWORD = [EqualTo("password", message="The two passwords differ."), Length(max=200)]
CODE = [DataRequired(message="Paste the code from the email."), Length(max=500, message="That is not a code from our email.")]
DISPLAY_NAME = [DataRequired(message="Enter the name others will see."), Length(min=2, max=80, message="Use 2 to 80 characters.")]


class SignUpForm(FlaskForm):
    display_name = StringField(
        "Public name", validators=DISPLAY_NAME, description="Shown next to what you write. Your email address is never shown."
    )
    email = EmailField("Email address", validators=EMAIL)
    password = PasswordField("Password", validators=NEW_PASSWORD, description=f"At least {MIN_PASSWORD_LENGTH} characters.")
    confirm = PasswordField("Repeat the password", validators=REPEAT_PASSWORD)
    #: labelled in the template, which links the two policies (consult/policies)
    agree = BooleanField(
        "I agree to the terms of use and the privacy notice",
        validators=[DataRequired(message="Agree to the terms of use and the privacy notice to create an account.")],
    )


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=EMAIL)
    password = PasswordField("Password", validators=PASSWORD)


class ConfirmForm(FlaskForm):
    code = StringField("Code from the email", validators=CODE, description="The link in the email fills it in for you.")


class ResetRequestForm(FlaskForm):
    email = EmailField("Email address", validators=EMAIL)


class ResetPasswordForm(FlaskForm):
    code = StringField("Code from the email", validators=CODE, description="The link in the email fills it in for you.")
    password = PasswordField("New password", validators=NEW_PASSWORD)
    confirm = PasswordField("Repeat the new password", validators=REPEAT_PASSWORD)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=PASSWORD)
    password = PasswordField("New password", validators=NEW_PASSWORD, description=f"At least {MIN_PASSWORD_LENGTH} characters.")
    confirm = PasswordField("Repeat the new password", validators=REPEAT_PASSWORD)


class EmailChangeForm(FlaskForm):
    email = EmailField(
        "New email address",
        validators=[DataRequired(message="Enter the new email address."), *EMAIL[1:]],
        description="We will send a link there. Your address changes only when you follow it.",
    )
    current_password = PasswordField("Current password", validators=PASSWORD)


class ProfileForm(FlaskForm):
    display_name = StringField("Public name", validators=DISPLAY_NAME)


class MemberForm(FlaskForm):
    email = EmailField(
        "Email address of the person", validators=[DataRequired(message="Enter the email address of the person to add."), *EMAIL[1:]]
    )
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value.capitalize()) for r in Role])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that POST."""


class OrganisationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Enter the organisation's name."), Length(max=200)])
    slug = StringField(
        "Short name",
        validators=[
            DataRequired(message="Enter a short name for the web address."),
            Length(max=80),
            Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z", message="Use lowercase letters, digits and single hyphens."),
        ],
        description="Used in web addresses, such as riverside-council.",
    )
    description = TextAreaField("Description", validators=[Length(max=5000)], description="Markdown.")


class IdentityAccountForm(FlaskForm):
    """The account a first sign-in with an identity provider creates (consult/accounts/oidc.py)."""

    display_name = StringField(
        "Public name", validators=DISPLAY_NAME, description="Shown next to what you write. Your email address is never shown."
    )
    email = EmailField("Email address", validators=EMAIL)
