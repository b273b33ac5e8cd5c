from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from consult.core.forms import MAX_NEXT_LENGTH, MAX_SECTION_KEY_LENGTH
from consult.notifications.models import PERSONAL_KINDS, Delivery, EventKind
from consult.notifications.services import MAX_UPDATE_BODY, MAX_UPDATE_SUBJECT
from consult.notifications.wording import DELIVERY_LABELS, KIND_LABELS

#: ``Follow.target``'s size.
MAX_TARGET_LENGTH = 100
#: What a follow button may name: the consultation, one of its sections, or one contribution.
TARGET_PATTERN = rf"^(consultation|section:[^\s]{{1,{MAX_SECTION_KEY_LENGTH}}}|contribution:[1-9][0-9]{{0,17}})$"


class FollowForm(FlaskForm):
    target = StringField(
        validators=[
            DataRequired("Say what to follow."),
            Length(max=MAX_TARGET_LENGTH, message="There is nothing like that to follow."),
            Regexp(TARGET_PATTERN, message="There is nothing like that to follow."),
        ]
    )
    next = StringField(validators=[Optional(), Length(max=MAX_NEXT_LENGTH)])


class BackForm(FlaskForm):
    """A button's form that only says where to go back to."""

    next = StringField(validators=[Optional(), Length(max=MAX_NEXT_LENGTH)])


class UpdateForm(FlaskForm):
    subject = StringField(
        "Subject",
        validators=[
            DataRequired("Write a subject."),
            Length(max=MAX_UPDATE_SUBJECT, message=f"Keep the subject to {MAX_UPDATE_SUBJECT} characters."),
        ],
        description="One line: what this update is about (a hearing, a new deadline, the outcome).",
    )
    body = TextAreaField(
        "Your update",
        validators=[
            DataRequired("Write the update."),
            Length(max=MAX_UPDATE_BODY, message=f"Keep the update to {MAX_UPDATE_BODY:,} characters."),
        ],
        description="Markdown works. Everyone following the consultation is told, as they chose to be (by mail or on their notifications page).",
    )


DELIVERY_CHOICES = [SelectChoice(d.value, DELIVERY_LABELS[d]) for d in Delivery]


class SettingsForm(FlaskForm):
    """One choice of delivery per kind of event (a field named after the kind), and whether
    taking part follows."""

    follow_when_taking_part = BooleanField(
        "Follow what I take part in",
        description="When you comment, reply or propose an amendment, you follow the consultation and your thread or amendment.",
    )

    def kind_fields(self, personal: bool) -> list:
        return [self[kind.value] for kind in KIND_LABELS if (kind in PERSONAL_KINDS) == personal]

    def deliveries(self) -> dict[EventKind, Delivery]:
        return {kind: Delivery(self[kind.value].data) for kind in KIND_LABELS}


for _kind, _label in KIND_LABELS.items():
    setattr(SettingsForm, _kind.value, SelectField(_label, choices=DELIVERY_CHOICES))
