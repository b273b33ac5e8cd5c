from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional

from consult.core.forms import WholeNumberField, WholeNumbersField
from consult.moderation.services import MAX_DETAIL_LENGTH, MAX_REASON_LENGTH, MAX_SUMMARY_LENGTH, MAX_THEME_NAME_LENGTH

# The rules on what is typed (a reason to hide, a known report reason, citations that exist)
# are the services', so the API and the CLI share them; these forms only give the input its shape
# and its size (what no rule can use is refused before it reaches one).

#: Words that name one of a few values (an action, a report's reason, a rule): the longest column.
NAME = [Length(max=40)]
REASON = [Length(max=MAX_REASON_LENGTH, message=f"Give the reason in at most {MAX_REASON_LENGTH} characters.")]

SELECTED = "Contributions are selected by their numbers."


class ReportForm(FlaskForm):
    reason = StringField(validators=NAME)
    detail = TextAreaField(validators=[Length(max=MAX_DETAIL_LENGTH, message=f"Say it in at most {MAX_DETAIL_LENGTH:,} characters.")])


class QueueForm(FlaskForm):
    """Approve, hide or restore the ticked contributions of the queue; ``select`` ("all" or
    "none"): the button that ticks every box of the page (without JavaScript), acting on nothing."""

    ids = WholeNumbersField(message=SELECTED)
    action = StringField(validators=NAME)
    rule = StringField(validators=NAME)
    reason = StringField(validators=REASON)
    select = StringField(validators=[Optional(), AnyOf(["all", "none"], message="Choose to select all or none.")])


class ItemForm(FlaskForm):
    """Hide one contribution or block its author, from the contribution itself."""

    action = StringField(validators=NAME)
    rule = StringField(validators=NAME)
    reason = StringField(validators=REASON)


class BlockForm(FlaskForm):
    contribution_id = WholeNumberField(
        message="Give the number of one of this organisation's contributions: its author is the one blocked.", hash_sign=True
    )
    reason = StringField(validators=REASON)


class ThemeForm(FlaskForm):
    name = StringField(
        validators=[Length(max=MAX_THEME_NAME_LENGTH, message=f"Name the theme in at most {MAX_THEME_NAME_LENGTH} characters.")]
    )


class GroupThemeForm(ThemeForm):
    """A suggested group made a theme: its name (the group's words, editable) and its contributions."""

    ids = WholeNumbersField(message=SELECTED)


class TagForm(FlaskForm):
    """Tag (or, with ``remove``, untag) the ticked contributions with one theme."""

    theme_id = WholeNumberField(message="Choose one of this consultation's themes.")
    ids = WholeNumbersField(message=SELECTED)
    remove = StringField(validators=[Length(max=1)])


class SummaryForm(FlaskForm):
    summary = TextAreaField(
        validators=[Length(max=MAX_SUMMARY_LENGTH, message=f"A summary can be at most {MAX_SUMMARY_LENGTH:,} characters.")]
    )
