"""The forms of calls to action: publishing and changing one, closing it, pledging to come."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from consult.core.forms import MAX_SECTION_KEY_LENGTH, Form, UTCDateTimeLocalField
from consult.groups.calls import MAX_BODY, MAX_GOAL, MAX_LOCATION, MAX_TITLE
from consult.groups.models import CallKind


class CallDetailsForm(Form):
    """What a call says and when it ends (publishing and changing it)."""

    title = StringField(_l("Title"), validators=[InputRequired(message=_l("Give the call a title.")), Length(max=MAX_TITLE)])
    body = TextAreaField(
        _l("What you ask and why"), validators=[Optional(), Length(max=MAX_BODY)], description=_l("Markdown: links and emphasis.")
    )
    goal = IntegerField(
        _l("Goal (people)"),
        validators=[
            InputRequired(message=_l("Set a goal.")),
            NumberRange(min=1, max=MAX_GOAL, message=_l("Set a goal between 1 and 1,000,000 people.")),
        ],
    )
    deadline = UTCDateTimeLocalField(
        _l("Deadline (UTC)"),
        validators=[Optional()],
        description=_l("For an event, leave it empty to take people's word until it starts."),
    )
    event_starts_at = UTCDateTimeLocalField(_l("Event starts (UTC)"), validators=[Optional()])
    event_ends_at = UTCDateTimeLocalField(_l("Event ends (UTC, optional)"), validators=[Optional()])
    location = StringField(_l("Place"), validators=[Optional(), Length(max=MAX_LOCATION)])


class NewCallForm(CallDetailsForm):
    publisher = SelectField(_l("Published by"), choices=[], validate_choice=True)
    kind = RadioField(
        _l("What people are asked to do"),
        choices=[SelectChoice(k.value, k.label) for k in CallKind],
        default=CallKind.SUPPORT.value,
        validators=[InputRequired(message=_l("Choose what the call asks people to do."))],
    )
    amendment = SelectField(_l("Amendment to support"), choices=[], validate_choice=False, validators=[Length(max=20)])
    section_key = SelectField(_l("Where to comment"), choices=[], validate_choice=False, validators=[Length(max=MAX_SECTION_KEY_LENGTH)])
    submission = SelectField(_l("Submission to sign"), choices=[], validate_choice=False, validators=[Length(max=20)])


class ButtonForm(Form):
    """Closing a call, "I'll come", "I can't come after all": a button and its CSRF token."""
