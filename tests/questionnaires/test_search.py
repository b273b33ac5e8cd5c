"""Free-text answers are found by search like comments, and leave it when a moderator hides them."""

from __future__ import annotations

from sqlalchemy import select

from consult.contributions.models import Contribution
from consult.core.models import db
from consult.moderation import services as moderation
from consult.questionnaires import services
from tests.questionnaires.helpers import full_answers, make_questionnaire
from tests.search.test_search import backend, find  # noqa: F401 (the fixture, on each backend)


def test_answers_are_searchable_until_hidden(backend, open_consultation, author, citizen, moderator):  # noqa: F811
    questionnaire = make_questionnaire(open_consultation, author)
    services.submit_response(questionnaire, full_answers(questionnaire, words="Zebracrossings everywhere"), actor=citizen)
    db.session.commit()
    page = find("zebracrossings")
    assert [r.kind for r in page.results] == ["answer"]
    answer = db.session.scalar(select(Contribution).where(Contribution.kind == "answer"))
    assert page.results[0].url.endswith(f"/comments/{answer.id}")
    moderation.moderate_item(answer, actor=moderator, action="hide", reason="Off topic.")
    db.session.commit()
    assert find("zebracrossings").total == 0
