from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from consult.core.forms import Form
from consult.core.templating import format_number
from consult.policies.services import MAX_BODY_LENGTH, MAX_NOTE_LENGTH

SIGNIFICANT = "significant"
EDITORIAL = "editorial"


class PolicyForm(Form):
    body = TextAreaField(
        _l("Text"),
        validators=[
            DataRequired(message=_l("Write the text of the policy.")),
            Length(
                max=MAX_BODY_LENGTH,
                message=_l("A policy can be at most %(most)s characters.", most=LazyString(format_number, MAX_BODY_LENGTH)),
            ),
        ],
        description=_l("Markdown: ## for headings, - for lists, **bold**, [a link](https://example.org)."),
    )
    change = RadioField(
        _l("What kind of change is this?"),
        choices=[
            SelectChoice(
                SIGNIFICANT, _l("Significant: it changes what people agree to. Everyone is asked to agree again at their next sign-in.")
            ),
            SelectChoice(EDITORIAL, _l("Editorial: wording, spelling or layout only. Nobody is asked again.")),
        ],
        validators=[DataRequired(message=_l("Say whether the change is significant or editorial."))],
    )
    note = StringField(
        _l("What changed"),
        validators=[Length(max=MAX_NOTE_LENGTH, message=_l("Say what changed in at most %(most)s characters.", most=MAX_NOTE_LENGTH))],
        description=_l("One sentence, shown with the version (and to people asked to agree again)."),
    )
    based_on = HiddenField(validators=[Length(max=12), Regexp(r"^[0-9]*\Z", message=_l("Reload the page and try again."))])


class AgreeForm(Form):
    agree = BooleanField(
        _l("I agree to the terms of use and the privacy notice"),
        validators=[DataRequired(message=_l("Tick the box to agree, or cancel the sign-in."))],
    )
