from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional

from consult.core.forms import Form, WholeNumberField, WholeNumbersField
from consult.core.templating import format_number
from consult.moderation.services import MAX_DETAIL_LENGTH, MAX_REASON_LENGTH, MAX_SUMMARY_LENGTH, MAX_THEME_NAME_LENGTH

# The rules on what is typed (a reason to hide, a known report reason, citations that exist)
# are the services', so the API and the CLI share them; these forms only give the input its shape
# and its size (what no rule can use is refused before it reaches one).

#: Words that name one of a few values (an action, a report's reason, a rule): the longest column.
NAME = [Length(max=40)]
REASON = [
    Length(
        max=MAX_REASON_LENGTH,
        message=_l("Give the reason in at most %(count)s characters.", count=LazyString(format_number, MAX_REASON_LENGTH)),
    )
]

SELECTED = _l("Contributions are selected by their numbers.")


class ReportForm(Form):
    reason = StringField(validators=NAME)
    detail = TextAreaField(
        validators=[
            Length(
                max=MAX_DETAIL_LENGTH,
                message=_l("Say it in at most %(count)s characters.", count=LazyString(format_number, MAX_DETAIL_LENGTH)),
            )
        ]
    )


class QueueForm(Form):
    """Approve, hide or restore the ticked contributions of the queue; ``select`` ("all" or
    "none"): the button that ticks every box of the page (without JavaScript), acting on nothing."""

    ids = WholeNumbersField(message=SELECTED)
    action = StringField(validators=NAME)
    rule = StringField(validators=NAME)
    reason = StringField(validators=REASON)
    select = StringField(validators=[Optional(), AnyOf(["all", "none"], message=_l("Choose to select all or none."))])


class ItemForm(Form):
    """Hide one contribution or block its author, from the contribution itself."""

    action = StringField(validators=NAME)
    rule = StringField(validators=NAME)
    reason = StringField(validators=REASON)


class BlockForm(Form):
    contribution_id = WholeNumberField(
        message=_l("Give the number of one of this organisation's contributions: its author is the one blocked."), hash_sign=True
    )
    reason = StringField(validators=REASON)


class ThemeForm(Form):
    name = StringField(
        validators=[
            Length(
                max=MAX_THEME_NAME_LENGTH,
                message=_l("Name the theme in at most %(count)s characters.", count=LazyString(format_number, MAX_THEME_NAME_LENGTH)),
            )
        ]
    )


class GroupThemeForm(ThemeForm):
    """A suggested group made a theme: its name (the group's words, editable) and its contributions."""

    ids = WholeNumbersField(message=SELECTED)


class TagForm(Form):
    """Tag (or, with ``remove``, untag) the ticked contributions with one theme."""

    theme_id = WholeNumberField(message=_l("Choose one of this consultation's themes."))
    ids = WholeNumbersField(message=SELECTED)
    remove = StringField(validators=[Length(max=1)])


class SummaryForm(Form):
    summary = TextAreaField(
        validators=[
            Length(
                max=MAX_SUMMARY_LENGTH,
                message=_l("A summary can be at most %(count)s characters.", count=LazyString(format_number, MAX_SUMMARY_LENGTH)),
            )
        ]
    )
