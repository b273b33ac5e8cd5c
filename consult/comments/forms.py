from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from consult.comments.services import MAX_BODY_LENGTH, MAX_QUOTE_LENGTH
from consult.core.forms import MAX_SECTION_KEY_LENGTH, Form
from consult.core.params import MAX_INT
from consult.core.templating import format_number
from consult.proposals.services import MAX_SECTION_LENGTH

BODY = [
    DataRequired(message=_l("Write something before posting.")),
    Length(
        max=MAX_BODY_LENGTH, message=_l("A comment can be at most %(count)s characters.", count=LazyString(format_number, MAX_BODY_LENGTH))
    ),
]

PLACE = _l("The place of the quoted words must be a number from 0 to %(max)s.", max=LazyString(format_number, MAX_SECTION_LENGTH))


class CommentForm(Form):
    body = TextAreaField(
        _l("Your comment"), validators=BODY, description=_l("Markdown works: *emphasis*, lists, links. Be kind; write for everyone.")
    )
    quote = TextAreaField(
        _l("Words you are commenting on (optional)"),
        validators=[
            Optional(),
            Length(
                max=MAX_QUOTE_LENGTH, message=_l("Quote at most %(count)s characters.", count=LazyString(format_number, MAX_QUOTE_LENGTH))
            ),
        ],
        description=_l("Copy a phrase from the section to attach your comment to it, or select the words in the text."),
    )
    section_key = HiddenField(validators=[Length(max=MAX_SECTION_KEY_LENGTH)])
    # The language of the text the quote is from, when it is not the original's (the page's ``?text=``).
    text_language = HiddenField(validators=[Length(max=16)])
    # Where the quote starts and ends in the section's text (set by the page's script): offsets in
    # a section, which is at most MAX_SECTION_LENGTH characters long.
    start = IntegerField(widget=HiddenField.widget, validators=[Optional(), NumberRange(min=0, max=MAX_SECTION_LENGTH, message=PLACE)])
    end = IntegerField(widget=HiddenField.widget, validators=[Optional(), NumberRange(min=1, max=MAX_SECTION_LENGTH, message=PLACE)])


class ReplyForm(Form):
    body = TextAreaField(_l("Your reply"), validators=BODY)
    parent_id = IntegerField(widget=HiddenField.widget, validators=[DataRequired(), NumberRange(min=1, max=MAX_INT)])


class EditForm(Form):
    body = TextAreaField(_l("Your comment"), validators=BODY)
