from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from consult.attachments.checks import ACCEPTED


class AttachmentForm(FlaskForm):
    file = FileField(
        "File",
        validators=[FileRequired(message="Choose a file to attach.")],
        description=f"{ACCEPTED}. What a file is comes from its content, not its name.",
    )
    description = StringField(
        "Description",
        validators=[Length(max=500)],
        description="What it is, in a few words. For an image, what it shows: people who cannot see it read this.",
    )
    # "" for the consultation, else a version's number (the choices are the consultation's versions)
    attach_to = SelectField("Attach to", choices=[SelectChoice("", "The consultation")], validate_choice=True)


class RemoveForm(FlaskForm):
    """The "Remove" button: its CSRF token only."""
