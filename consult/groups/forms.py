"""Group forms: input shape only (the rules are in ``consult.groups.services``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from consult.core.forms import Form
from consult.groups.models import SLUG_LENGTH, GroupRole, GroupVisibility
from consult.groups.services import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH, MAX_REASON_LENGTH, MAX_SEARCH_LENGTH


class GroupForm(Form):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Enter the group's name.")), Length(max=MAX_NAME_LENGTH)],
        description=_l("Such as “Riverside Residents' Association”. The group's address is made from it."),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Length(max=MAX_DESCRIPTION_LENGTH)],
        description=_l("Who you are and what you work for (Markdown). Everyone can read it, for an invite-only group too."),
    )
    visibility = RadioField(
        _l("Who can join"),
        choices=[SelectChoice(v.value, v.label) for v in GroupVisibility],
        default=GroupVisibility.PUBLIC.value,
        validators=[DataRequired(message=_l("Choose whether anyone can join or only people you invite."))],
    )


class RoleForm(Form):
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, r.label) for r in GroupRole])


class RemoveForm(Form):
    block = BooleanField(_l("Also bar them from joining again"))
    reason = StringField(_l("Reason (only coordinators see it)"), validators=[Length(max=MAX_REASON_LENGTH)])


class AttachForm(Form):
    chapter = SelectField(
        _l("Group to make a chapter"),
        validators=[DataRequired(message=_l("Choose one of the groups you coordinate.")), Length(max=SLUG_LENGTH)],
    )


class SearchForm(Form):
    class Meta:
        csrf = False  # a search is a GET: nothing changes

    q = StringField(_l("Search groups by name"), validators=[Length(max=MAX_SEARCH_LENGTH)])
