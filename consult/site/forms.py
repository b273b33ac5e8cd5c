from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from consult.core.i18n import LANGUAGES
from consult.site.models import MAX_FOOTER_LINKS

WHOLE = "Use a whole number."


class SiteForm(FlaskForm):
    site_name = StringField("Site name", validators=[DataRequired(message="Give the site a name."), Length(max=80)])
    accent_colour = StringField(
        "Accent colour",
        validators=[Optional(), Length(max=7)],
        description="For the header, links and buttons, as # and six hexadecimal digits (such as #1d4e89). "
        "It must reach a contrast of 4.5:1 with white. Leave empty for Consult's blue.",
    )
    logo = FileField("Logo", description="A PNG, JPEG, GIF or WebP image, at most 1 MB; shown in the header beside the site name.")
    logo_alt = StringField(
        "Logo's text alternative",
        validators=[Length(max=200)],
        description="What the logo says, for those who cannot see it. Leave empty if the site name says it all.",
    )
    remove_logo = BooleanField("Remove the logo")
    footer_links = TextAreaField(
        "Footer links",
        validators=[Length(max=5000)],
        description=f"One a line, at most {MAX_FOOTER_LINKS}: a label, a bar, an address. Such as: Contact us | https://council.example/contact",
    )
    registration = RadioField(
        "Who may create an account",
        choices=[SelectChoice("open", "Anyone"), SelectChoice("invite", "Only people with an invitation link")],
        validators=[AnyOf(["open", "invite"], message="Choose who may create an account.")],
    )
    report_threshold = IntegerField(
        "Reports that hide a contribution",
        validators=[Optional(), NumberRange(min=1, max=1000, message="Use a whole number from 1 to 1,000.")],
        description="How many different people must report a contribution before it is hidden until a moderator looks at it. "
        "Leave empty for the configured number.",
    )
    time_zone = StringField(
        "Time zone",
        validators=[Length(max=64)],
        description="The zone times are shown in, such as Europe/Paris or America/New_York. Leave empty for the configured zone.",
    )
    default_language = SelectField(
        "Default language",
        choices=[SelectChoice("", "The configured language")] + [SelectChoice(code, name) for code, name in LANGUAGES.items()],
        validators=[Optional()],
        description="The interface's language for people whose browser asks for none of the site's languages.",
    )
    row_version = HiddenField(validators=[Length(max=20)])


class InvitationForm(FlaskForm):
    note = StringField("Who it is for", validators=[Length(max=200)], description="A note for administrators, such as 'Parish councils'.")
    max_uses = IntegerField(
        "How many people may use it",
        default=1,
        validators=[InputRequired(message=WHOLE), NumberRange(min=1, max=10000, message="Use a whole number from 1 to 10,000.")],
    )
    days = IntegerField(
        "Days until it expires",
        default=14,
        validators=[InputRequired(message=WHOLE), NumberRange(min=1, max=90, message="Use a whole number from 1 to 90.")],
    )


class InvitationCodeForm(FlaskForm):
    code = StringField(
        "Invitation code",
        validators=[DataRequired(message="Paste the code from your invitation."), Length(max=100)],
        description="The invitation link fills it in for you.",
    )


class OrganisationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Give the organisation a name."), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=5000)], description="Shown on the organisation's page. Markdown.")
    logo = FileField("Logo", description="A PNG, JPEG, GIF or WebP image, at most 1 MB.")
    logo_alt = StringField(
        "Logo's text alternative", validators=[Length(max=200)], description="What the logo says, for those who cannot see it."
    )
    remove_logo = BooleanField("Remove the logo")
