from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from consult.core.forms import MAX_NEXT_LENGTH, MAX_SECTION_KEY_LENGTH, Form
from consult.core.templating import format_number
from consult.notifications.models import PERSONAL_KINDS, Delivery, EventKind
from consult.notifications.services import MAX_UPDATE_BODY, MAX_UPDATE_SUBJECT
from consult.notifications.wording import DELIVERY_LABELS, KIND_LABELS

#: ``Follow.target``'s size.
MAX_TARGET_LENGTH = 100
#: What a follow button may name: the consultation, one of its sections, or one contribution.
TARGET_PATTERN = rf"^(consultation|section:[^\s]{{1,{MAX_SECTION_KEY_LENGTH}}}|contribution:[1-9][0-9]{{0,17}})$"


class FollowForm(Form):
    target = StringField(
        validators=[
            DataRequired(_l("Say what to follow.")),
            Length(max=MAX_TARGET_LENGTH, message=_l("There is nothing like that to follow.")),
            Regexp(TARGET_PATTERN, message=_l("There is nothing like that to follow.")),
        ]
    )
    next = StringField(validators=[Optional(), Length(max=MAX_NEXT_LENGTH)])


class BackForm(Form):
    """A button's form that only says where to go back to."""

    next = StringField(validators=[Optional(), Length(max=MAX_NEXT_LENGTH)])


class UpdateForm(Form):
    subject = StringField(
        _l("Subject"),
        validators=[
            DataRequired(_l("Write a subject.")),
            Length(max=MAX_UPDATE_SUBJECT, message=_l("Keep the subject to %(most)s characters.", most=MAX_UPDATE_SUBJECT)),
        ],
        description=_l("One line: what this update is about (a hearing, a new deadline, the outcome)."),
    )
    body = TextAreaField(
        _l("Your update"),
        validators=[
            DataRequired(_l("Write the update.")),
            Length(
                max=MAX_UPDATE_BODY, message=_l("Keep the update to %(most)s characters.", most=LazyString(format_number, MAX_UPDATE_BODY))
            ),
        ],
        description=_l(
            "Markdown works. Everyone following the consultation is told, as they chose to be (by mail or on their notifications page)."
        ),
    )


DELIVERY_CHOICES = [SelectChoice(d.value, DELIVERY_LABELS[d]) for d in Delivery]


class SettingsForm(Form):
    """One choice of delivery per kind of event (a field named after the kind), and whether
    taking part follows."""

    follow_when_taking_part = BooleanField(
        _l("Follow what I take part in"),
        description=_l("When you comment, reply or propose an amendment, you follow the consultation and your thread or amendment."),
    )

    def kind_fields(self, personal: bool) -> list:
        return [self[kind.value] for kind in KIND_LABELS if (kind in PERSONAL_KINDS) == personal]

    def deliveries(self) -> dict[EventKind, Delivery]:
        return {kind: Delivery(self[kind.value].data) for kind in KIND_LABELS}


for _kind, _label in KIND_LABELS.items():
    setattr(SettingsForm, _kind.value, SelectField(_label, choices=DELIVERY_CHOICES))
