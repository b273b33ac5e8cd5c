from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from consult.core.forms import Form
from consult.core.i18n import LANGUAGES
from consult.site.models import MAX_FOOTER_LINKS

WHOLE = _l("Use a whole number.")


class SiteForm(Form):
    site_name = StringField(_l("Site name"), validators=[DataRequired(message=_l("Give the site a name.")), Length(max=80)])
    accent_colour = StringField(
        _l("Accent colour"),
        validators=[Optional(), Length(max=7)],
        description=_l(
            "For the header, links and buttons, as # and six hexadecimal digits (such as #1d4e89). "
            "It must reach a contrast of 4.5:1 with white. Leave empty for Consult's blue."
        ),
    )
    logo = FileField(_l("Logo"), description=_l("A PNG, JPEG, GIF or WebP image, at most 1 MB; shown in the header beside the site name."))
    logo_alt = StringField(
        _l("Logo's text alternative"),
        validators=[Length(max=200)],
        description=_l("What the logo says, for those who cannot see it. Leave empty if the site name says it all."),
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    footer_links = TextAreaField(
        _l("Footer links"),
        validators=[Length(max=5000)],
        description=_l(
            "One a line, at most %(num)d: a label, a bar, an address. Such as: Contact us | https://council.example/contact",
            num=MAX_FOOTER_LINKS,
        ),
    )
    registration = RadioField(
        _l("Who may create an account"),
        choices=[SelectChoice("open", _l("Anyone")), SelectChoice("invite", _l("Only people with an invitation link"))],
        validators=[AnyOf(["open", "invite"], message=_l("Choose who may create an account."))],
    )
    report_threshold = IntegerField(
        _l("Reports that hide a contribution"),
        validators=[Optional(), NumberRange(min=1, max=1000, message=_l("Use a whole number from 1 to 1,000."))],
        description=_l(
            "How many different people must report a contribution before it is hidden until a moderator looks at it. "
            "Leave empty for the configured number."
        ),
    )
    time_zone = StringField(
        _l("Time zone"),
        validators=[Length(max=64)],
        description=_l("The zone times are shown in, such as Europe/Paris or America/New_York. Leave empty for the configured zone."),
    )
    default_language = SelectField(
        _l("Default language"),
        choices=[SelectChoice("", _l("The configured language"))] + [SelectChoice(code, name) for code, name in LANGUAGES.items()],
        validators=[Optional()],
        description=_l("The interface's language for people whose browser asks for none of the site's languages."),
    )
    row_version = HiddenField(validators=[Length(max=20)])


class InvitationForm(Form):
    note = StringField(
        _l("Who it is for"), validators=[Length(max=200)], description=_l("A note for administrators, such as 'Parish councils'.")
    )
    max_uses = IntegerField(
        _l("How many people may use it"),
        default=1,
        validators=[InputRequired(message=WHOLE), NumberRange(min=1, max=10000, message=_l("Use a whole number from 1 to 10,000."))],
    )
    days = IntegerField(
        _l("Days until it expires"),
        default=14,
        validators=[InputRequired(message=WHOLE), NumberRange(min=1, max=90, message=_l("Use a whole number from 1 to 90."))],
    )


class InvitationCodeForm(Form):
    code = StringField(
        _l("Invitation code"),
        validators=[DataRequired(message=_l("Paste the code from your invitation.")), Length(max=100)],
        description=_l("The invitation link fills it in for you."),
    )


class OrganisationForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Give the organisation a name.")), Length(max=200)])
    description = TextAreaField(
        _l("Description"), validators=[Length(max=5000)], description=_l("Shown on the organisation's page. Markdown.")
    )
    logo = FileField(_l("Logo"), description=_l("A PNG, JPEG, GIF or WebP image, at most 1 MB."))
    logo_alt = StringField(
        _l("Logo's text alternative"), validators=[Length(max=200)], description=_l("What the logo says, for those who cannot see it.")
    )
    remove_logo = BooleanField(_l("Remove the logo"))
