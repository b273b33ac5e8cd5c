"""The questionnaire's forms: a question as its author writes it, buttons, and the answers as
the answer page sends them (one field per question, ``q-ID``; a ranking one per option,
``q-ID-rank-OPTION``)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from consult.core.forms import Form
from consult.core.templating import format_number
from consult.questionnaires.models import QuestionKind, Questionnaire
from consult.questionnaires.services import MAX_HELP_LENGTH, MAX_OPTION_LENGTH, MAX_OPTIONS, MAX_PROMPT_LENGTH, RawAnswer

#: Every option at its longest, with its line break.
MAX_OPTIONS_TEXT = MAX_OPTIONS * (MAX_OPTION_LENGTH + 2)

KIND_CHOICES = [SelectChoice(k.value, k.label) for k in QuestionKind]


class QuestionForm(Form):
    """A question; its rules (lengths, options, the section) are ``services._checked``'s."""

    kind = SelectField(_l("Kind of question"), choices=KIND_CHOICES, validate_choice=False)
    prompt = StringField(
        _l("Question"),
        validators=[Length(max=MAX_PROMPT_LENGTH, message=_l("A question can be at most %(max)s characters.", max=MAX_PROMPT_LENGTH))],
    )
    help_text = TextAreaField(
        _l("Help text (optional)"),
        validators=[
            Length(
                max=MAX_HELP_LENGTH,
                message=_l("The help text can be at most %(max)s characters.", max=LazyString(format_number, MAX_HELP_LENGTH)),
            )
        ],
    )
    required = BooleanField(_l("An answer is required"))
    section_key = SelectField(_l("About"), validate_choice=False)
    options = TextAreaField(
        _l("Options, one per line (single and multiple choice, ranking)"),
        validators=[
            Length(
                max=MAX_OPTIONS_TEXT,
                message=_l(
                    "The options are too long: at most %(options)s options of %(length)s characters.",
                    options=MAX_OPTIONS,
                    length=MAX_OPTION_LENGTH,
                ),
            )
        ],
    )


class ButtonForm(Form):
    """A form of buttons (move, remove, publish): only its CSRF token is checked."""


class AnswerForm(Form):
    """The answers; the form checks the CSRF token, ``services.check_answers`` everything else."""


def raw_answers(data: Mapping, questionnaire: Questionnaire) -> dict[int, RawAnswer]:
    """What was sent for each question of ``questionnaire``, by question id."""
    answers: dict[int, RawAnswer] = {}
    for question in questionnaire.questions:
        name = f"q-{question.id}"
        if question.kind == QuestionKind.MULTIPLE:
            answers[question.id] = data.getlist(name)
        elif question.kind == QuestionKind.RANKING:
            answers[question.id] = {o["id"]: data.get(f"{name}-rank-{o['id']}", "") for o in question.choices}
        else:
            answers[question.id] = data.get(name)
    return answers
