from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from consult.core.forms import WholeNumberField, WholeNumbersField

# The rules on what is typed (a reason to hide, a known report reason, citations that exist)
# are the services', so the API and the CLI share them; these forms only give the input its shape.

SELECTED = "Contributions are selected by their numbers."


class ReportForm(FlaskForm):
    reason = StringField()
    detail = TextAreaField()


class QueueForm(FlaskForm):
    """Approve, hide or restore the ticked contributions of the queue."""

    ids = WholeNumbersField(message=SELECTED)
    action = StringField()
    rule = StringField()
    reason = StringField()


class BlockForm(FlaskForm):
    contribution_id = WholeNumberField(
        message="Give the number of one of this organisation's contributions: its author is the one blocked.", hash_sign=True
    )
    reason = StringField()


class ThemeForm(FlaskForm):
    name = StringField()


class TagForm(FlaskForm):
    """Tag (or, with ``remove``, untag) the ticked contributions with one theme."""

    theme_id = WholeNumberField(message="Choose one of this consultation's themes.")
    ids = WholeNumbersField(message=SELECTED)
    remove = StringField()


class SummaryForm(FlaskForm):
    summary = TextAreaField()
