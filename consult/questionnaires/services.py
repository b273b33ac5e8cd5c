"""Writing questionnaires, answering them and counting the answers.

Authors (whoever may edit the consultation) write the questions. While the consultation is a
draft they edit its questionnaire in place; once it is public a published questionnaire is
frozen (people may have answered it) and the first edit copies it into the next version, a
draft the author publishes when ready. Participants answer the newest published version.

A response is one row per (questionnaire, person), written with INSERT … ON CONFLICT DO
NOTHING, and its answers one row per (response, question) with ON CONFLICT DO UPDATE, in the
transaction that holds the consultation open (``hold_open``): two submissions racing for one
person leave one response, and nothing is dated after the close. Everything is checked before
anything is written, so a refused submission stores nothing. Free-text answers are contributions
of kind ``answer`` (``add_contribution``): reported, hidden, themed and exported like comments.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from consult.accounts.models import User
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.contributions.models import Contribution, ContributionKind, ContributionRevision
from consult.contributions.services import add_contribution
from consult.core import text
from consult.core.errors import RuleViolation
from consult.core.models import db, upsert_insert, utcnow
from consult.core.params import whole_number
from consult.core.templating import format_number
from consult.permissions import Action, authorize, visible_contributions
from consult.proposals.models import Consultation
from consult.proposals.services import hold_open
from consult.questionnaires.models import (
    OPTION_KINDS,
    SCALE_OPTIONS,
    Question,
    QuestionAnswer,
    QuestionKind,
    Questionnaire,
    QuestionnaireResponse,
)

MAX_PROMPT_LENGTH = 500
MAX_HELP_LENGTH = 2_000
MAX_OPTIONS = 20
MAX_OPTION_LENGTH = 200
MAX_QUESTIONS = 50

# ---- reading -------------------------------------------------------------------------------


def versions(consultation: Consultation) -> list[Questionnaire]:
    """Every version of the consultation's questionnaire, oldest first."""
    return list(
        db.session.scalars(select(Questionnaire).where(Questionnaire.consultation_id == consultation.id).order_by(Questionnaire.number))
    )


def published_versions(consultation: Consultation) -> list[Questionnaire]:
    return [q for q in versions(consultation) if q.is_published]


def current_questionnaire(consultation: Consultation) -> Questionnaire | None:
    """The version participants answer: the newest published one."""
    published = published_versions(consultation)
    return published[-1] if published else None


def questionnaire_version(consultation: Consultation, number: int) -> Questionnaire | None:
    return db.session.scalar(select(Questionnaire).where(Questionnaire.consultation_id == consultation.id, Questionnaire.number == number))


def working_questionnaire(consultation: Consultation) -> Questionnaire | None:
    """What the editor shows: the newest version, published or not."""
    every = versions(consultation)
    return every[-1] if every else None


def response_of(questionnaire: Questionnaire, user: User | None) -> QuestionnaireResponse | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(QuestionnaireResponse).where(
            QuestionnaireResponse.questionnaire_id == questionnaire.id, QuestionnaireResponse.user_id == user.id
        )
    )


# ---- writing the questions (authors) --------------------------------------------------------


@dataclass(frozen=True)
class QuestionInput:
    """What an author writes for a question; ``options`` one per line for choices and rankings."""

    kind: str
    prompt: str
    help_text: str = ""
    required: bool = False
    section_key: str | None = None
    options: Sequence[str] = ()


def _editable(consultation: Consultation, actor: User) -> Questionnaire:
    """The version an edit goes to: the newest one unless it is frozen, else a new draft version
    copied from it (questions keep their keys, options their ids)."""
    authorize(actor, Action.EDIT_QUESTIONNAIRE, consultation)
    newest = working_questionnaire(consultation)
    if newest is not None and not newest.is_frozen:
        return newest
    copy = Questionnaire(consultation=consultation, number=(newest.number + 1) if newest else 1, created_at=utcnow())
    if newest is not None:
        copy.questions = [
            Question(
                key=q.key,
                position=q.position,
                kind=q.kind,
                prompt=q.prompt,
                help_text=q.help_text,
                required=q.required,
                section_key=q.section_key,
                options=[dict(o) for o in q.options],
            )
            for q in newest.questions
        ]
    db.session.add(copy)
    db.session.flush()
    return copy


def _checked(consultation: Consultation, data: QuestionInput, old_options: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    if data.kind not in {k.value for k in QuestionKind}:
        raise RuleViolation(_("Choose the kind of question."), status=400, field="kind")
    prompt = " ".join((data.prompt or "").split())
    if not prompt:
        raise RuleViolation(_("Write the question."), status=400, field="prompt")
    if len(prompt) > MAX_PROMPT_LENGTH:
        raise RuleViolation(_("A question can be at most %(max)s characters.", max=MAX_PROMPT_LENGTH), status=400, field="prompt")
    help_text = (data.help_text or "").strip()
    if len(help_text) > MAX_HELP_LENGTH:
        raise RuleViolation(
            _("The help text can be at most %(max)s characters.", max=format_number(MAX_HELP_LENGTH)), status=400, field="help_text"
        )
    section_key = data.section_key or None
    if section_key is not None:
        version = consultation.current_version or consultation.draft_version
        if version is None or version.section(section_key) is None:
            raise RuleViolation(_("That section is not in the consultation's text."), status=400, field="section_key")
    options: list[dict[str, Any]] = []
    if data.kind in OPTION_KINDS:
        labels = [" ".join(o.split()) for o in data.options if o and o.strip()]
        if len(labels) < 2:
            raise RuleViolation(_("Give at least two options, one per line."), status=400, field="options")
        if len(labels) > MAX_OPTIONS:
            raise RuleViolation(_("Give at most %(max)s options.", max=MAX_OPTIONS), status=400, field="options")
        if len({label.casefold() for label in labels}) != len(labels):
            raise RuleViolation(_("Each option must be different."), status=400, field="options")
        if any(len(label) > MAX_OPTION_LENGTH for label in labels):
            raise RuleViolation(_("An option can be at most %(max)s characters.", max=MAX_OPTION_LENGTH), status=400, field="options")
        # An option that keeps its words keeps its id, so answers and results stay with it.
        known = {o["label"]: o["id"] for o in old_options}
        next_id = max([o["id"] for o in old_options], default=0) + 1
        for label in labels:
            if label in known:
                options.append({"id": known[label], "label": label})
            else:
                options.append({"id": next_id, "label": label})
                next_id += 1
    return {
        "kind": data.kind,
        "prompt": prompt,
        "help_text": help_text,
        "required": bool(data.required),
        "section_key": section_key,
        "options": options,
    }


def _audit(consultation: Consultation, questionnaire: Questionnaire, actor: User, change: str, key: int | None = None) -> None:
    detail: dict[str, Any] = {"version": questionnaire.number, "change": change}
    if key is not None:
        detail["question"] = key
    record_staff_action(
        StaffOperation.EDIT_QUESTIONNAIRE,
        actor=actor,
        target_type=TargetType.CONSULTATION,
        target_id=consultation.id,
        consultation=consultation,
        detail=detail,
    )


def add_question(consultation: Consultation, data: QuestionInput, *, actor: User) -> Question:
    """Add a question at the end of the questionnaire (a new draft version once it is frozen)."""
    authorize(actor, Action.EDIT_QUESTIONNAIRE, consultation)
    values = _checked(consultation, data)
    questionnaire = _editable(consultation, actor)
    if len(questionnaire.questions) >= MAX_QUESTIONS:
        raise RuleViolation(_("A questionnaire can have at most %(max)s questions.", max=MAX_QUESTIONS))
    key = max([q.key for q in questionnaire.questions], default=0) + 1
    position = max([q.position for q in questionnaire.questions], default=0) + 1
    question = Question(key=key, position=position, **values)
    questionnaire.questions.append(question)
    db.session.flush()
    _audit(consultation, questionnaire, actor, "added", key)
    return question


def _question_or_refuse(questionnaire: Questionnaire, key: int) -> Question:
    question = questionnaire.question(key)
    if question is None:
        raise RuleViolation(_("There is no such question in this questionnaire."), status=404)
    return question


def update_question(consultation: Consultation, key: int, data: QuestionInput, *, actor: User) -> Question:
    """Change a question's words, kind, help, options or whether it must be answered."""
    authorize(actor, Action.EDIT_QUESTIONNAIRE, consultation)
    working = working_questionnaire(consultation)
    old = _question_or_refuse(working, key) if working is not None else None
    if old is None:
        raise RuleViolation(_("There is no such question in this questionnaire."), status=404)
    values = _checked(consultation, data, old.options if old.kind in OPTION_KINDS else ())
    questionnaire = _editable(consultation, actor)
    question = _question_or_refuse(questionnaire, key)
    for name, value in values.items():
        setattr(question, name, value)
    db.session.flush()
    _audit(consultation, questionnaire, actor, "edited", key)
    return question


def remove_question(consultation: Consultation, key: int, *, actor: User) -> None:
    authorize(actor, Action.EDIT_QUESTIONNAIRE, consultation)
    working = working_questionnaire(consultation)
    if working is None or working.question(key) is None:
        raise RuleViolation(_("There is no such question in this questionnaire."), status=404)
    questionnaire = _editable(consultation, actor)
    questionnaire.questions.remove(_question_or_refuse(questionnaire, key))
    db.session.flush()
    _audit(consultation, questionnaire, actor, "removed", key)


def move_question(consultation: Consultation, key: int, *, actor: User, up: bool) -> None:
    """Swap a question with the one before (``up``) or after it."""
    authorize(actor, Action.EDIT_QUESTIONNAIRE, consultation)
    working = working_questionnaire(consultation)
    if working is None or working.question(key) is None:
        raise RuleViolation(_("There is no such question in this questionnaire."), status=404)
    questionnaire = _editable(consultation, actor)
    ordered = list(questionnaire.questions)
    index = next(i for i, q in enumerate(ordered) if q.key == key)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(ordered):
        return  # already first (or last): nothing changes, nothing is logged
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, question in enumerate(ordered, start=1):
        question.position = position
    questionnaire.questions = ordered  # the loaded list in its new order, as a reload would give it
    db.session.flush()
    _audit(consultation, questionnaire, actor, "moved", key)


def publish_questionnaire(consultation: Consultation, *, actor: User) -> Questionnaire:
    """Publish the newest version, so participants answer it from now on; it is frozen as soon
    as the consultation is public. Older versions keep their responses and results."""
    authorize(actor, Action.EDIT_QUESTIONNAIRE, consultation)
    newest = working_questionnaire(consultation)
    if newest is None or not newest.questions:
        raise RuleViolation(_("Add a question before publishing the questionnaire."))
    if newest.is_published:
        raise RuleViolation(_("Version %(number)s of the questionnaire is published already.", number=newest.number))
    newest.published_at = utcnow()
    db.session.flush()
    record_staff_action(
        StaffOperation.PUBLISH_QUESTIONNAIRE,
        actor=actor,
        target_type=TargetType.CONSULTATION,
        target_id=consultation.id,
        consultation=consultation,
        detail={"version": newest.number},
    )
    return newest


# ---- answering (participants) ----------------------------------------------------------------

#: What a participant sent for one question: one option id (single choice, scale), several
#: (multiple choice), a rank per option id (ranking), or words (free text).
RawAnswer = str | list[str] | Mapping[int, str] | None


class AnswersRefused(RuleViolation):
    """The submission is refused, with one message per question (by question id)."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(_("Some answers need your attention: see the questions marked below."), status=400)
        self.errors = errors


@dataclass
class _Checked:
    choices: list[int] = field(default_factory=list)
    words: str | None = None


def _whole(value: str | None) -> int | None:
    return whole_number((value or "").strip())


def _check_answer(question: Question, raw: RawAnswer) -> _Checked:
    kind = question.question_kind
    ids = {o["id"] for o in question.choices}
    if question.is_text:
        words = (raw if isinstance(raw, str) else "").strip()
        if not words:
            if question.required:
                raise ValueError(_("Answer this question: it is required."))
            return _Checked()
        if len(words) > question.max_length:
            raise ValueError(
                _(
                    "An answer here can be at most %(max)s characters; yours has %(length)s.",
                    max=format_number(question.max_length),
                    length=format_number(len(words)),
                )
            )
        return _Checked(words=words)
    if kind is QuestionKind.RANKING:
        ranks = dict(raw) if isinstance(raw, Mapping) else {}
        given = {option: (ranks.get(option) or "").strip() for option in ids}
        if not any(given.values()):
            if question.required:
                raise ValueError(_("Rank the options: this question is required."))
            return _Checked()
        numbers = {option: _whole(value) for option, value in given.items()}
        if any(n is None or not 1 <= n <= len(ids) for n in numbers.values()):
            raise ValueError(_("Give every option a rank from 1 to %(last)s.", last=len(ids)))
        if len(set(numbers.values())) != len(ids):
            raise ValueError(_("Give each option a different rank."))
        return _Checked(choices=[option for option, _n in sorted(numbers.items(), key=lambda item: item[1])])
    values = raw if isinstance(raw, list) else ([raw] if isinstance(raw, str) and raw.strip() else [])
    chosen = [_whole(v) for v in values]
    if any(c not in ids for c in chosen):
        raise ValueError(_("Choose among the options shown."))
    if len(set(chosen)) != len(chosen) or (kind is not QuestionKind.MULTIPLE and len(chosen) > 1):
        raise ValueError(_("Choose one option.") if kind is not QuestionKind.MULTIPLE else _("Choose each option at most once."))
    if not chosen and question.required:
        raise ValueError(_("Answer this question: it is required."))
    return _Checked(choices=[c for c in chosen if c is not None])


def check_answers(questionnaire: Questionnaire, answers: Mapping[int, RawAnswer]) -> dict[int, _Checked]:
    """Every answer checked (by question id), or ``AnswersRefused`` naming each problem."""
    checked: dict[int, _Checked] = {}
    errors: dict[int, str] = {}
    for question in questionnaire.questions:
        try:
            checked[question.id] = _check_answer(question, answers.get(question.id))
        except ValueError as problem:
            errors[question.id] = str(problem)
    if errors:
        raise AnswersRefused(errors)
    return checked


def submit_response(questionnaire: Questionnaire, answers: Mapping[int, RawAnswer], *, actor: User) -> QuestionnaireResponse:
    """Store ``actor``'s answers to the current version of the questionnaire, replacing their
    earlier ones, while the consultation is open. Free-text answers become (or edit) their
    contribution of kind ``answer``; an emptied one is withdrawn."""
    consultation = questionnaire.consultation
    authorize(actor, Action.ANSWER_QUESTIONNAIRE, consultation)
    current = current_questionnaire(consultation)
    if current is None or current.id != questionnaire.id:
        raise RuleViolation(_("This version of the questionnaire has been replaced: answer the current one."))
    checked = check_answers(questionnaire, answers)
    now = hold_open(consultation)
    db.session.execute(
        upsert_insert(QuestionnaireResponse)
        .values(questionnaire_id=questionnaire.id, user_id=actor.id, respondent=secrets.token_hex(8), created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["questionnaire_id", "user_id"])
    )
    response = db.session.scalar(
        select(QuestionnaireResponse)
        .where(QuestionnaireResponse.questionnaire_id == questionnaire.id, QuestionnaireResponse.user_id == actor.id)
        .execution_options(populate_existing=True)
    )
    response.updated_at = max(now, response.updated_at)
    existing = {
        a.question_id: a
        for a in db.session.scalars(
            select(QuestionAnswer).where(QuestionAnswer.response_id == response.id).execution_options(populate_existing=True)
        )
    }
    for question in questionnaire.questions:
        answer = checked[question.id]
        contribution_id = _write_words(question, existing.get(question.id), answer.words, actor=actor, now=now)
        db.session.execute(
            upsert_insert(QuestionAnswer)
            .values(response_id=response.id, question_id=question.id, choices=answer.choices, contribution_id=contribution_id)
            .on_conflict_do_update(
                index_elements=["response_id", "question_id"], set_={"choices": answer.choices, "contribution_id": contribution_id}
            )
        )
    db.session.flush()
    db.session.expire(response, ["answers"])
    return response


def _write_words(question: Question, before: QuestionAnswer | None, words: str | None, *, actor: User, now) -> int | None:
    """The contribution holding a free-text answer's words: new, edited (its earlier text kept
    as a revision, like a comment's), or withdrawn when the answer is emptied."""
    if not question.is_text:
        return None
    old = db.session.get(Contribution, before.contribution_id) if before is not None and before.contribution_id else None
    if old is not None and old.deleted_at is None:
        if words is None:
            old.deleted_at = now
            return None
        if words != old.body:
            db.session.add(ContributionRevision(contribution=old, body=old.body, written_at=old.edited_at or old.created_at))
            old.body, old.body_html, old.edited_at = words, str(text.render_plain(words)), now
        return old.id
    if words is None:
        return None

    def about_section(contribution: Contribution) -> None:
        contribution.section_key = question.section_key

    return add_contribution(
        question.questionnaire.consultation, actor=actor, kind=ContributionKind.ANSWER, body=words, prepare=about_section
    ).id


def my_answers(response: QuestionnaireResponse | None) -> dict[int, dict[str, Any]]:
    """A response's answers by question id, to fill in the form again: ``choices`` (ids in
    order) and ``words``."""
    if response is None:
        return {}
    found: dict[int, dict[str, Any]] = {}
    for answer in db.session.scalars(select(QuestionAnswer).where(QuestionAnswer.response_id == response.id)):
        words = answer.contribution.body if answer.contribution is not None and answer.contribution.deleted_at is None else ""
        found[answer.question_id] = {"choices": list(answer.choices or []), "words": words}
    return found


# ---- counting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionCount:
    id: int
    label: str
    count: int
    percent: float  # of the people who answered the question
    first_places: int = 0  # ranking: how many put it first
    mean_rank: float | None = None  # ranking: its average rank (1 is best)


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    answered: int  # people who answered this question
    options: list[OptionCount]
    words: list[Contribution]  # free text: the answers the viewer may see


def results(questionnaire: Questionnaire, viewer: User | None) -> tuple[int, list[QuestionResult]]:
    """How many responded, and each question's counts and percentages (of those who answered
    it). A ranking's options are ordered by mean rank; its percentages are first places.
    Free-text answers are listed through ``visible_contributions``: hidden ones are left out."""
    respondents = (
        db.session.scalar(
            select(func.count()).select_from(QuestionnaireResponse).where(QuestionnaireResponse.questionnaire_id == questionnaire.id)
        )
        or 0
    )
    by_question: dict[int, list[list[int]]] = {q.id: [] for q in questionnaire.questions}
    text_ids: dict[int, list[int]] = {q.id: [] for q in questionnaire.questions}
    rows = db.session.execute(
        select(QuestionAnswer.question_id, QuestionAnswer.choices, QuestionAnswer.contribution_id)
        .join(QuestionnaireResponse, QuestionnaireResponse.id == QuestionAnswer.response_id)
        .where(QuestionnaireResponse.questionnaire_id == questionnaire.id)
    )
    for question_id, choices, contribution_id in rows:
        if choices:
            by_question[question_id].append(list(choices))
        if contribution_id is not None:
            text_ids[question_id].append(contribution_id)
    every_text = [i for ids in text_ids.values() for i in ids]
    visible = (
        {
            c.id: c
            for c in db.session.scalars(
                select(Contribution).where(Contribution.id.in_(every_text), visible_contributions(viewer)).order_by(Contribution.created_at)
            )
        }
        if every_text
        else {}
    )
    out: list[QuestionResult] = []
    for question in questionnaire.questions:
        if question.is_text:
            words = [visible[i] for i in text_ids[question.id] if i in visible]
            out.append(QuestionResult(question, len(text_ids[question.id]), [], sorted(words, key=lambda c: c.created_at)))
            continue
        answers = by_question[question.id]
        answered = len(answers)
        options = []
        for option in question.choices:
            if question.kind == QuestionKind.RANKING:
                ranks = [a.index(option["id"]) + 1 for a in answers if option["id"] in a]
                first = sum(1 for a in answers if a and a[0] == option["id"])
                options.append(
                    OptionCount(
                        option["id"],
                        option["label"],
                        first,
                        _percent(first, answered),
                        first_places=first,
                        mean_rank=round(sum(ranks) / len(ranks), 2) if ranks else None,
                    )
                )
            else:
                count = sum(1 for a in answers if option["id"] in a)
                options.append(OptionCount(option["id"], option["label"], count, _percent(count, answered)))
        if question.kind == QuestionKind.RANKING:
            options.sort(key=lambda o: (o.mean_rank is None, o.mean_rank or 0))
        out.append(QuestionResult(question, answered, options, []))
    return respondents, out


def _percent(count: int, total: int) -> float:
    return round(100 * count / total, 1) if total else 0.0


# ---- the open record and a person's data ------------------------------------------------------


def result_rows(consultation: Consultation) -> list[dict[str, Any]]:
    """One row per (published version, question, option) with its count, for the record."""
    out = []
    scale = {o["id"]: o["label"] for o in SCALE_OPTIONS}  # the record names the scale's options in English
    for questionnaire in published_versions(consultation):
        respondents, questions = results(questionnaire, None)
        for r in questions:
            q = r.question
            base = {"questionnaire_version": questionnaire.number, "question_key": q.key, "question_kind": q.kind, "question": q.prompt}
            if q.is_text:
                out.append(
                    {
                        **base,
                        "respondents": respondents,
                        "answered": r.answered,
                        "option_id": "",
                        "option": "",
                        "count": r.answered,
                        "percent": "",
                        "mean_rank": "",
                    }
                )
            for o in r.options:
                out.append(
                    {
                        **base,
                        "respondents": respondents,
                        "answered": r.answered,
                        "option_id": o.id,
                        "option": scale[o.id] if q.kind == QuestionKind.SCALE else o.label,
                        "count": o.count,
                        "percent": o.percent,
                        "mean_rank": "" if o.mean_rank is None else o.mean_rank,
                    }
                )
    return out


def response_rows(consultation: Consultation) -> list[dict[str, Any]]:
    """One row per answer, for the record: the respondent by its pseudonym only (never a name or
    an address), the options chosen (in rank order for a ranking), and for a free-text answer
    the id of its contribution when the public may read it."""
    public = visible_contributions(None)
    rows = db.session.execute(
        select(
            Questionnaire.number,
            QuestionnaireResponse.respondent,
            QuestionnaireResponse.updated_at,
            Question.key,
            Question.kind,
            Question.options,
            QuestionAnswer.choices,
            QuestionAnswer.contribution_id,
        )
        .join(QuestionnaireResponse, QuestionnaireResponse.id == QuestionAnswer.response_id)
        .join(Question, Question.id == QuestionAnswer.question_id)
        .join(Questionnaire, Questionnaire.id == QuestionnaireResponse.questionnaire_id)
        .where(Questionnaire.consultation_id == consultation.id, Questionnaire.published_at.is_not(None))
        .order_by(Questionnaire.number, QuestionnaireResponse.id, Question.position, Question.id)
    )
    rows = list(rows)
    words = [r.contribution_id for r in rows if r.contribution_id is not None]
    readable = set(db.session.scalars(select(Contribution.id).where(Contribution.id.in_(words), public))) if words else set()
    out = []
    for number, respondent, updated_at, key, kind, options, choices, contribution_id in rows:
        labels = {o["id"]: o["label"] for o in (SCALE_OPTIONS if kind == QuestionKind.SCALE else options or [])}
        out.append(
            {
                "questionnaire_version": number,
                "respondent": respondent,
                "updated_at": updated_at,
                "question_key": key,
                "option_ids": " ".join(str(c) for c in choices or []),
                "options": " | ".join(labels.get(c, "") for c in choices or []),
                "contribution_id": contribution_id if contribution_id in readable else "",
            }
        )
    return out


def responses_of(person: User) -> list[dict[str, Any]]:
    """A person's responses, for their data download."""
    rows = db.session.execute(
        select(
            Consultation.slug,
            Questionnaire.number,
            QuestionnaireResponse.created_at,
            QuestionnaireResponse.updated_at,
            QuestionnaireResponse.id,
        )
        .join(Questionnaire, Questionnaire.id == QuestionnaireResponse.questionnaire_id)
        .join(Consultation, Consultation.id == Questionnaire.consultation_id)
        .where(QuestionnaireResponse.user_id == person.id)
        .order_by(QuestionnaireResponse.id)
    )
    out = []
    for slug, number, created_at, updated_at, response_id in rows:
        answers = db.session.execute(
            select(Question.prompt, QuestionAnswer.choices, QuestionAnswer.contribution_id)
            .join(Question, Question.id == QuestionAnswer.question_id)
            .where(QuestionAnswer.response_id == response_id)
            .order_by(Question.position)
        )
        out.append(
            {
                "consultation": slug,
                "questionnaire_version": number,
                "created_at": created_at,
                "updated_at": updated_at,
                "answers": [{"question": p, "option_ids": list(c or []), "contribution_id": cid} for p, c, cid in answers],
            }
        )
    return out


def version_of_answer(contribution: Contribution) -> int | None:
    """The number of the questionnaire version a free-text answer (a contribution) was written for."""
    return db.session.scalar(
        select(Questionnaire.number)
        .join(Question, Question.questionnaire_id == Questionnaire.id)
        .join(QuestionAnswer, QuestionAnswer.question_id == Question.id)
        .where(QuestionAnswer.contribution_id == contribution.id)
    )


def fingerprint_queries(consultation: Consultation) -> list:
    """Aggregates that change whenever the record's questionnaire files would (``record.bundles``):
    versions published and edited, and responses given or changed."""
    versions_ = select(Questionnaire.id).where(Questionnaire.consultation_id == consultation.id).scalar_subquery()
    return [
        select(func.count(), func.max(Questionnaire.published_at), func.max(Questionnaire.id)).where(
            Questionnaire.consultation_id == consultation.id
        ),
        select(func.count(), func.max(Question.id)).where(Question.questionnaire_id.in_(versions_)),
        select(func.count(), func.max(QuestionnaireResponse.id), func.max(QuestionnaireResponse.updated_at)).where(
            QuestionnaireResponse.questionnaire_id.in_(versions_)
        ),
    ]
