from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from consult.core.forms import Form
from consult.webhooks.models import WebhookEvent

EVENT_LABELS = {
    WebhookEvent.VERSION_PUBLISHED: _l("A version is published"),
    WebhookEvent.STATE_CHANGED: _l("A consultation opens, closes or concludes"),
    WebhookEvent.AMENDMENT_ANSWERED: _l("An amendment is answered"),
    WebhookEvent.OUTCOME_PUBLISHED: _l("An outcome is published"),
}


class WebhookForm(Form):
    url = StringField(
        _l("Address to send to"),
        validators=[DataRequired(message=_l("Give the address that receives the deliveries.")), Length(max=2000)],
        description=_l("A public https:// address of your system. Each delivery is a POST of JSON, signed with the webhook's secret."),
    )
    events = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(event.value, label) for event, label in EVENT_LABELS.items()],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=False,
    )
