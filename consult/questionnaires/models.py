"""Questionnaires: structured questions beside the comments, with answers to count.

A consultation's questionnaire is versioned like its text: ``Questionnaire`` rows numbered 1, 2…,
each with its questions. Participants answer the newest published one; once the consultation is
no longer a draft a published questionnaire is frozen, and an edit starts the next number (a
copy, published when its author says so), so every response stays tied to the very questions it
answered. A question keeps its ``key`` across versions, as a section does.

One response per person per questionnaire version (a unique constraint); its answers, one per
question, hold the chosen option ids (in rank order for a ranking). A free-text answer is a
``Contribution`` of kind ``answer``, so reports, hiding, pre-moderation, themes, summaries and
the record treat it like a comment; the answer row points at it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import User
from consult.contributions.models import Contribution
from consult.core.models import UTCDateTime, db, utcnow
from consult.proposals.models import Consultation


class QuestionKind(enum.StrEnum):
    SINGLE = "single_choice"
    MULTIPLE = "multiple_choice"
    SCALE = "agreement_scale"
    RANKING = "ranking"
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    QuestionKind.SINGLE: _l("Single choice"),
    QuestionKind.MULTIPLE: _l("Multiple choice"),
    QuestionKind.SCALE: _l("Agreement scale (5 points)"),
    QuestionKind.RANKING: _l("Ranking"),
    QuestionKind.SHORT_TEXT: _l("Short text"),
    QuestionKind.LONG_TEXT: _l("Long text"),
}

#: Kinds whose options the author writes.
OPTION_KINDS = frozenset({QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.RANKING})
#: Kinds answered in words (a contribution of kind ``answer``).
TEXT_KINDS = frozenset({QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT})
#: The agreement scale's options, the same for every such question, as the open record names
#: them (in English, as its data is); pages show ``SCALE_LABELS``, in the reader's language.
SCALE_OPTIONS: tuple[dict[str, Any], ...] = tuple(
    {"id": i, "label": label}
    for i, label in enumerate(("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"), start=1)
)
SCALE_LABELS = {
    1: _l("Strongly disagree"),
    2: lazy_pgettext("agreement scale", "Disagree"),
    3: _l("Neither agree nor disagree"),
    4: lazy_pgettext("agreement scale", "Agree"),
    5: _l("Strongly agree"),
}
#: The longest free-text answers.
SHORT_TEXT_LENGTH = 300
LONG_TEXT_LENGTH = 5_000


def _known(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Questionnaire(db.Model):
    """Version ``number`` of a consultation's questionnaire; answered once ``published_at`` is set."""

    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    consultation: Mapped[Consultation] = relationship()
    questions: Mapped[list[Question]] = relationship(
        back_populates="questionnaire", order_by="[Question.position, Question.id]", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("consultation_id", "number", name="uq_questionnaires_consultation_number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def is_frozen(self) -> bool:
        """Published in a consultation that is no longer a draft: people may have answered it."""
        return self.published_at is not None and not self.consultation.is_draft

    def question(self, key: int) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)


class Question(db.Model):
    """One question: its kind, words, help, whether it must be answered, the section it is about
    (None: the whole consultation) and, for choices and rankings, its options
    (``[{"id": 1, "label": "…"}, …]``; ids stay with their words across edits and versions)."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True)
    key: Mapped[int] = mapped_column()
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(String(500))
    help_text: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(default=False)
    section_key: Mapped[str | None] = mapped_column(String(80))
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="questions")

    __table_args__ = (
        UniqueConstraint("questionnaire_id", "key", name="uq_questions_questionnaire_key"),
        CheckConstraint(_known("kind", QuestionKind), name="kind_known"),
    )

    @property
    def question_kind(self) -> QuestionKind:
        return QuestionKind(self.kind)

    @property
    def choices(self) -> list[dict[str, Any]]:
        """The options a participant chooses from (the scale's for an agreement scale)."""
        if self.kind == QuestionKind.SCALE:
            return [{"id": o["id"], "label": SCALE_LABELS[o["id"]]} for o in SCALE_OPTIONS]
        return list(self.options or [])

    @property
    def is_text(self) -> bool:
        return self.kind in TEXT_KINDS

    @property
    def max_length(self) -> int:
        return SHORT_TEXT_LENGTH if self.kind == QuestionKind.SHORT_TEXT else LONG_TEXT_LENGTH


class QuestionnaireResponse(db.Model):
    """A person's response to one version of a questionnaire, changeable until the close.
    ``respondent`` is a random pseudonym, stable for the response, that the open record uses
    instead of any name."""

    __tablename__ = "questionnaire_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    respondent: Mapped[str] = mapped_column(String(24), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship()
    user: Mapped[User] = relationship()
    answers: Mapped[list[QuestionAnswer]] = relationship(back_populates="response", cascade="all, delete-orphan")

    __table_args__ = (
        # One response per person per questionnaire version: the database guarantees it.
        UniqueConstraint("questionnaire_id", "user_id", name="uq_questionnaire_responses_questionnaire_user"),
    )


class QuestionAnswer(db.Model):
    """The answer of a response to one question: the chosen option ids (in rank order for a
    ranking), or the contribution holding the words of a free-text answer."""

    __tablename__ = "question_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_responses.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    choices: Mapped[list[int]] = mapped_column(JSON, default=list)
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="SET NULL"), index=True)

    response: Mapped[QuestionnaireResponse] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
    contribution: Mapped[Contribution | None] = relationship()

    __table_args__ = (UniqueConstraint("response_id", "question_id", name="uq_question_answers_response_question"),)
