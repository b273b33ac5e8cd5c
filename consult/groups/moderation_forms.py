"""The shapes of reporting a group and of the site admins' actions on one (the rules are in
``consult.groups.moderation``)."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from consult.core.forms import Form, WholeNumberField
from consult.core.templating import format_number
from consult.groups.moderation import MAX_DETAIL_LENGTH, MAX_REASON_LENGTH

NAME = [Length(max=40)]
REASON = [
    Length(
        max=MAX_REASON_LENGTH,
        message=_l("Give the reason in at most %(count)s characters.", count=LazyString(format_number, MAX_REASON_LENGTH)),
    )
]


class GroupReportForm(Form):
    reason = StringField(validators=NAME)
    detail = TextAreaField(
        validators=[
            Length(
                max=MAX_DETAIL_LENGTH,
                message=_l("Say it in at most %(count)s characters.", count=LazyString(format_number, MAX_DETAIL_LENGTH)),
            )
        ]
    )


class HideGroupForm(Form):
    reason = StringField(validators=REASON)


class ButtonForm(Form):
    """Restore a group, or dismiss its reports: a button and its CSRF token."""


class BlockMemberForm(Form):
    person = WholeNumberField(message=_l("Choose one of the group's members."), required=True)
    reason = StringField(validators=REASON)


class LiftBlockForm(Form):
    person = WholeNumberField(message=_l("Choose a person barred from this group."), required=True)
