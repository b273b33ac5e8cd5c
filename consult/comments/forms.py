from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from consult.comments.services import MAX_BODY_LENGTH, MAX_QUOTE_LENGTH

BODY = [
    DataRequired(message="Write something before posting."),
    Length(max=MAX_BODY_LENGTH, message=f"A comment can be at most {MAX_BODY_LENGTH:,} characters."),
]


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Your comment", validators=BODY, description="Markdown works: *emphasis*, lists, links. Be kind; write for everyone."
    )
    quote = TextAreaField(
        "Words you are commenting on (optional)",
        validators=[Optional(), Length(max=MAX_QUOTE_LENGTH, message=f"Quote at most {MAX_QUOTE_LENGTH:,} characters.")],
        description="Copy a phrase from the section to attach your comment to it, or select the words in the text.",
    )
    section_key = HiddenField()
    start = IntegerField(widget=HiddenField.widget, validators=[Optional(), NumberRange(min=0)])
    end = IntegerField(widget=HiddenField.widget, validators=[Optional(), NumberRange(min=1)])


class ReplyForm(FlaskForm):
    body = TextAreaField("Your reply", validators=BODY)
    parent_id = IntegerField(widget=HiddenField.widget, validators=[DataRequired()])


class EditForm(FlaskForm):
    body = TextAreaField("Your comment", validators=BODY)
