"""Questionnaires: writing, versioning, answering, validation and counting, through the services."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.audit.models import StaffAction
from consult.contributions.models import Contribution, ModerationState
from consult.core.errors import PermissionDenied, RuleViolation
from consult.core.models import db
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from consult.questionnaires import services
from consult.questionnaires.models import QuestionAnswer, QuestionnaireResponse
from consult.questionnaires.services import AnswersRefused, QuestionInput
from tests.factories import make_consultation, make_user
from tests.questionnaires.helpers import by_prompt, full_answers, make_questionnaire


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def questionnaire(open_consultation, author):
    return make_questionnaire(open_consultation, author)


def test_a_participant_answers_and_the_results_count_it(questionnaire, citizen):
    services.submit_response(questionnaire, full_answers(questionnaire), actor=citizen)
    other = make_user()
    services.submit_response(questionnaire, full_answers(questionnaire, single="JSON", scale=5, words=""), actor=other)
    respondents, results = services.results(questionnaire, None)
    assert respondents == 2
    by = {r.question.prompt: r for r in results}
    single = {o.label: (o.count, o.percent) for o in by["Which format do you use most?"].options}
    assert single == {"CSV": (1, 50.0), "JSON": (1, 50.0), "PDF": (0, 0.0)}
    scale = {o.label: o.count for o in by["The policy goes far enough."].options}
    assert scale["Agree"] == 1 and scale["Strongly agree"] == 1 and scale["Disagree"] == 0
    ranking = by["Rank these priorities."].options
    assert [o.label for o in ranking] == ["Openness", "Speed", "Accuracy"]
    assert ranking[0].first_places == 2 and ranking[0].mean_rank == 1.0
    words = by["One word for the policy?"]
    assert words.answered == 1 and [c.body for c in words.words] == ["Overdue"]
    assert words.words[0].kind == "answer" and words.words[0].author_id == citizen.id


def test_answers_change_until_closing_then_are_refused(questionnaire, citizen, open_consultation, author):
    services.submit_response(questionnaire, full_answers(questionnaire), actor=citizen)
    services.submit_response(questionnaire, full_answers(questionnaire, single="PDF", words="Late"), actor=citizen)
    assert _count(QuestionnaireResponse) == 1
    single = by_prompt(questionnaire)["Which format do you use most?"]
    stored = db.session.scalar(select(QuestionAnswer.choices).where(QuestionAnswer.question_id == single.id))
    assert stored == [next(o["id"] for o in single.options if o["label"] == "PDF")]
    text = db.session.scalars(select(Contribution).where(Contribution.kind == "answer")).all()
    assert [c.body for c in text] == ["Late"] and [r.body for r in text[0].revisions] == ["Overdue"]

    proposals.change_state(open_consultation, Transition.CLOSE, actor=author)
    with pytest.raises(PermissionDenied):
        services.submit_response(questionnaire, full_answers(questionnaire, single="JSON"), actor=citizen)
    assert db.session.scalar(select(QuestionAnswer.choices).where(QuestionAnswer.question_id == single.id)) == stored


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing_required", "required"),
        ("bad_choice", "Choose among the options shown."),
        ("two_for_single", "Choose one option."),
        ("rank_duplicate", "Give each option a different rank."),
        ("rank_out_of_range", "Give every option a rank from 1 to 3."),
        ("too_long", "at most 300 characters"),
    ],
)
def test_invalid_answers_are_refused_and_nothing_is_stored(questionnaire, citizen, change, message):
    answers = full_answers(questionnaire)
    q = by_prompt(questionnaire)
    target = {
        "missing_required": ("Which format do you use most?", ""),
        "bad_choice": ("Which format do you use most?", "999"),
        "two_for_single": ("The policy goes far enough.", ["1", "2"]),
        "rank_duplicate": ("Rank these priorities.", {o["id"]: "1" for o in q["Rank these priorities."].options}),
        "rank_out_of_range": ("Rank these priorities.", {o["id"]: str(n + 3) for n, o in enumerate(q["Rank these priorities."].options)}),
        "too_long": ("One word for the policy?", "x" * 301),
    }[change]
    question = q[target[0]]
    answers[question.id] = target[1]
    with pytest.raises(AnswersRefused) as refused:
        services.submit_response(questionnaire, answers, actor=citizen)
    assert refused.value.status == 400
    assert message in refused.value.errors[question.id]
    assert set(refused.value.errors) == {question.id}
    assert _count(QuestionnaireResponse) == 0 and _count(QuestionAnswer) == 0
    assert db.session.scalar(select(func.count()).select_from(Contribution).where(Contribution.kind == "answer")) == 0


def test_questions_are_frozen_once_open_and_an_edit_makes_a_new_version(questionnaire, citizen, open_consultation, author):
    services.submit_response(questionnaire, full_answers(questionnaire), actor=citizen)
    assert questionnaire.is_frozen
    services.add_question(open_consultation, QuestionInput(kind="short_text", prompt="A new question?"), actor=author)
    versions = services.versions(open_consultation)
    assert [v.number for v in versions] == [1, 2]
    assert len(versions[0].questions) == 6 and len(versions[1].questions) == 7
    assert services.current_questionnaire(open_consultation).number == 1  # version 2 waits to be published
    # Editing again goes to the same draft version, not a third one.
    services.update_question(
        open_consultation, 1, QuestionInput(kind="single_choice", prompt="Format?", options=["CSV", "XML"]), actor=author
    )
    assert len(services.versions(open_consultation)) == 2
    assert versions[0].question(1).prompt == "Which format do you use most?"
    csv_id = next(o["id"] for o in versions[0].question(1).options if o["label"] == "CSV")
    assert {o["label"]: o["id"] for o in versions[1].question(1).options}["CSV"] == csv_id  # an option keeps its id

    services.publish_questionnaire(open_consultation, actor=author)
    assert services.current_questionnaire(open_consultation).number == 2
    with pytest.raises(RuleViolation):  # answers go to the current version only
        services.submit_response(versions[0], full_answers(versions[0]), actor=make_user())
    assert services.results(versions[0], None)[0] == 1 and services.results(versions[1], None)[0] == 0
    operations = db.session.scalars(select(StaffAction.operation).where(StaffAction.consultation_id == open_consultation.id)).all()
    assert operations.count("edit_questionnaire") == 8 and operations.count("publish_questionnaire") == 2


def test_a_draft_consultation_edits_in_place(organisation, author):
    c = make_consultation(organisation, author=author, state="draft", slug="draft-q")
    questionnaire = make_questionnaire(c, author)
    services.remove_question(c, 2, actor=author)
    services.move_question(c, 3, actor=author, up=True)
    assert [v.number for v in services.versions(c)] == [1]
    assert [q.key for q in questionnaire.questions][:2] == [3, 1]


def test_only_editors_write_questions_and_only_participants_answer(questionnaire, open_consultation, citizen, moderator, author):
    with pytest.raises(PermissionDenied):
        services.add_question(open_consultation, QuestionInput(kind="short_text", prompt="Mine?"), actor=citizen)
    with pytest.raises(PermissionDenied):
        services.add_question(open_consultation, QuestionInput(kind="short_text", prompt="Mine?"), actor=moderator)
    unconfirmed = make_user(confirmed=False)
    with pytest.raises(PermissionDenied):
        services.submit_response(questionnaire, full_answers(questionnaire), actor=unconfirmed)


def test_a_bad_question_is_refused(open_consultation, author):
    with pytest.raises(RuleViolation, match="at least two options"):
        services.add_question(open_consultation, QuestionInput(kind="ranking", prompt="Rank?", options=["Only one"]), actor=author)
    with pytest.raises(RuleViolation, match="kind of question"):
        services.add_question(open_consultation, QuestionInput(kind="essay", prompt="?"), actor=author)
    with pytest.raises(RuleViolation, match="section"):
        services.add_question(open_consultation, QuestionInput(kind="short_text", prompt="?", section_key="nowhere"), actor=author)
    assert services.versions(open_consultation) == []


def test_free_text_answers_are_moderated_like_comments(questionnaire, citizen, moderator):
    from consult.moderation import services as moderation

    services.submit_response(questionnaire, full_answers(questionnaire, words="Rubbish spam"), actor=citizen)
    answer = db.session.scalar(select(Contribution).where(Contribution.kind == "answer"))
    moderation.moderate_item(answer, actor=moderator, action="hide", reason="Spam.")
    theme = moderation.create_theme(questionnaire.consultation, actor=moderator, name="Tone")
    assert moderation.tag(theme, [answer], actor=moderator) == 1  # themes take answers like comments
    words = {r.question.prompt: r for r in services.results(questionnaire, None)[1]}["One word for the policy?"]
    assert words.answered == 1 and words.words == []
    assert answer.moderation_state == ModerationState.HIDDEN
    rows = services.response_rows(questionnaire.consultation)
    assert all(r["contribution_id"] == "" for r in rows)  # the record leaves the hidden words out
