from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from consult.attachments.checks import ACCEPTED
from consult.core.forms import Form


class AttachmentForm(Form):
    file = FileField(
        lazy_pgettext("attachment", "File"),
        validators=[FileRequired(message=_l("Choose a file to attach."))],
        description=_l("%(accepted)s. What a file is comes from its content, not its name.", accepted=ACCEPTED),
    )
    description = StringField(
        _l("Description"),
        validators=[Length(max=500)],
        description=_l("What it is, in a few words. For an image, what it shows: people who cannot see it read this."),
    )
    # "" for the consultation, else a version's number (the choices are the consultation's versions)
    attach_to = SelectField(_l("Attach to"), choices=[SelectChoice("", _l("The consultation"))], validate_choice=True)


class RemoveForm(Form):
    """The "Remove" button: its CSRF token only."""
