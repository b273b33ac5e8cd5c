from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length

from consult.core.forms import MAX_NEXT_LENGTH, MAX_SECTION_KEY_LENGTH, Form, WholeNumberField
from consult.voting.models import VoteValue
from consult.voting.statements import MAX_STATEMENT_LENGTH

#: The button that takes a vote back instead of casting one.
WITHDRAW = "withdraw"


def _stripped_or_none(value: str | None) -> str | None:
    return (value or "").strip() or None


class VoteForm(Form):
    """One form for every vote (its buttons send ``value``): on a contribution (an amendment or
    a statement) by its number, or on a section by its key."""

    contribution_id = WholeNumberField(message=_l("The item to vote on must be given by its number."), widget=HiddenField.widget)
    section_key = StringField(filters=[_stripped_or_none], widget=HiddenField.widget, validators=[Length(max=MAX_SECTION_KEY_LENGTH)])
    value = StringField(
        validators=[
            AnyOf(
                [WITHDRAW, *(v.value for v in VoteValue)],
                message=_l("Choose how you vote: support, oppose or abstain (or agree, disagree or pass on a statement)."),
            )
        ]
    )
    next = StringField(widget=HiddenField.widget, validators=[Length(max=MAX_NEXT_LENGTH)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.contribution_id.data is None and not self.contribution_id.errors and self.section_key.data is None:
            self.form_errors.append(_l("Say what you are voting on: an amendment, a statement or a section."))
            return False
        return valid


class StatementForm(Form):
    """A statement for the opinion map; its rules (one idea, at most so many characters) are
    ``statements.post_statement``'s, so the API and the CLI share them."""

    body = TextAreaField(
        _l("Your statement"),
        validators=[
            Length(
                max=MAX_STATEMENT_LENGTH, message=_l("A statement can be at most %(max)s characters: one idea.", max=MAX_STATEMENT_LENGTH)
            )
        ],
    )
