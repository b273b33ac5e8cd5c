"""A questionnaire of every kind, written and published through the services."""

from __future__ import annotations

from consult.questionnaires import services
from consult.questionnaires.services import QuestionInput

QUESTIONS = [
    QuestionInput(kind="single_choice", prompt="Which format do you use most?", required=True, options=["CSV", "JSON", "PDF"]),
    QuestionInput(kind="multiple_choice", prompt="Which datasets matter to you?", options=["Budgets", "Transport", "Planning"]),
    QuestionInput(kind="agreement_scale", prompt="The policy goes far enough.", required=True, help_text="Say how much you agree."),
    QuestionInput(kind="ranking", prompt="Rank these priorities.", options=["Speed", "Accuracy", "Openness"]),
    QuestionInput(kind="short_text", prompt="One word for the policy?"),
    QuestionInput(kind="long_text", prompt="Anything else?", section_key="scope"),
]


def make_questionnaire(consultation, author, *, publish: bool = True, questions=QUESTIONS):
    for q in questions:
        services.add_question(consultation, q, actor=author)
    if publish:
        services.publish_questionnaire(consultation, actor=author)
    return services.working_questionnaire(consultation)


def by_prompt(questionnaire):
    return {q.prompt: q for q in questionnaire.questions}


def full_answers(questionnaire, *, single="CSV", scale=4, ranking=("Openness", "Speed", "Accuracy"), words="Overdue", more=""):
    """Valid answers, by question id, as the answer form sends them."""
    q = by_prompt(questionnaire)

    def option(question, label):
        return next(o["id"] for o in question.choices if o["label"] == label)

    rank_q = q["Rank these priorities."]
    return {
        q["Which format do you use most?"].id: str(option(q["Which format do you use most?"], single)),
        q["Which datasets matter to you?"].id: [str(option(q["Which datasets matter to you?"], "Budgets"))],
        q["The policy goes far enough."].id: str(scale),
        rank_q.id: {option(rank_q, label): str(n) for n, label in enumerate(ranking, start=1)},
        q["One word for the policy?"].id: words,
        q["Anything else?"].id: more,
    }
