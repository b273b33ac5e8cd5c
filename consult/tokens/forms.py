from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from consult.core.forms import Form
from consult.tokens.models import Scope
from consult.tokens.services import LIFETIMES, MAX_NAME_LENGTH

SCOPE_LABELS = {
    Scope.READ: _l("Read what you can see, drafts of your organisations included"),
    Scope.CONTRIBUTE: _l("Take part: comment, annotate, reply, propose amendments, vote and report"),
    Scope.MODERATE: _l("Moderate: approve, hide and restore contributions"),
    Scope.PUBLISH: _l("Publish: versions, answers to amendments, opening, closing and concluding"),
}

LIFETIME_LABELS = {7: _l("7 days"), 30: _l("30 days"), 90: _l("90 days"), 365: _l("A year")}


class TokenForm(Form):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Give the token a name that says where it is used.")), Length(max=MAX_NAME_LENGTH)],
        description=_l("Where the token is used, so that you know which one to revoke, such as “Newsletter script”."),
    )
    scopes = SelectMultipleField(
        _l("What it may do"),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=False,
    )
    lifetime = RadioField(
        _l("Expires after"),
        choices=[SelectChoice(str(days), LIFETIME_LABELS[days]) for days in LIFETIMES],
        default="90",
        validators=[DataRequired(message=_l("Choose how long the token lives."))],
    )

    def offer(self, scopes: list[Scope]) -> None:
        """Offer only the scopes the person may give."""
        self.scopes.choices = [SelectChoice(str(scope), SCOPE_LABELS[scope]) for scope in scopes]
        if not self.is_submitted():
            self.scopes.data = [str(Scope.READ)]
