from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from consult.notifications.models import PERSONAL_KINDS, Delivery, EventKind
from consult.notifications.wording import DELIVERY_LABELS, KIND_LABELS

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
