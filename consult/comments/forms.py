from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from consult.comments.services import MAX_BODY_LENGTH, MAX_QUOTE_LENGTH
from consult.core.forms import MAX_SECTION_KEY_LENGTH
from consult.core.params import MAX_INT
from consult.proposals.services import MAX_SECTION_LENGTH

BODY = [
    DataRequired(message="Write something before posting."),
    Length(max=MAX_BODY_LENGTH, message=f"A comment can be at most {MAX_BODY_LENGTH:,} characters."),
]

PLACE = f"The place of the quoted words must be a number from 0 to {MAX_SECTION_LENGTH:,}."


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Your comment", validators=BODY, description="Markdown works: *emphasis*, lists, links. Be kind; write for everyone."
    )
    quote = TextAreaField(
        "Words you are commenting on (optional)",
        validators=[Optional(), Length(max=MAX_QUOTE_LENGTH, message=f"Quote at most {MAX_QUOTE_LENGTH:,} characters.")],
        description="Copy a phrase from the section to attach your comment to it, or select the words in the text.",
    )
    section_key = HiddenField(validators=[Length(max=MAX_SECTION_KEY_LENGTH)])
    # The language of the text the quote is from, when it is not the original's (the page's ``?text=``).
    text_language = HiddenField(validators=[Length(max=16)])
    # Where the quote starts and ends in the section's text (set by the page's script): offsets in
    # a section, which is at most MAX_SECTION_LENGTH characters long.
    start = IntegerField(widget=HiddenField.widget, validators=[Optional(), NumberRange(min=0, max=MAX_SECTION_LENGTH, message=PLACE)])
    end = IntegerField(widget=HiddenField.widget, validators=[Optional(), NumberRange(min=1, max=MAX_SECTION_LENGTH, message=PLACE)])


class ReplyForm(FlaskForm):
    body = TextAreaField("Your reply", validators=BODY)
    parent_id = IntegerField(widget=HiddenField.widget, validators=[DataRequired(), NumberRange(min=1, max=MAX_INT)])


class EditForm(FlaskForm):
    body = TextAreaField("Your comment", validators=BODY)
