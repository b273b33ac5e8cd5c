"""One person sending the questionnaire twice at once (a double click, two tabs): one response,
one answer per question, one contribution for the words, on SQLite and PostgreSQL. The requests
race on committed data (``tests/scratch.py``): the unique (questionnaire, person) and
(response, question) settle it inside the INSERTs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.accounts.services import start_login_session
from consult.contributions.models import Contribution
from consult.core.models import db
from consult.questionnaires.models import QuestionAnswer, QuestionnaireResponse
from tests.factories import make_consultation, make_organisation, make_user
from tests.questionnaires.helpers import full_answers, make_questionnaire
from tests.scratch import KINDS, scratch_app, signed_in_client, together

SUBMISSIONS = 6


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction: the submissions race on committed data."""
    yield


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_submissions_of_one_person_leave_one_response(kind, tmp_path):
    with scratch_app(kind, tmp_path) as app:
        with app.app_context():
            council = make_organisation()
            author = make_user(role="author", organisation=council)
            citizen = make_user()
            c = make_consultation(council, author=author, slug="race")
            questionnaire = make_questionnaire(c, author)
            forms = []
            for n in range(SUBMISSIONS):
                data = {}
                for qid, value in full_answers(questionnaire, scale=1 + n % 5, words=f"Answer {n}").items():
                    if isinstance(value, dict):
                        data.update({f"q-{qid}-rank-{o}": r for o, r in value.items()})
                    else:
                        data[f"q-{qid}"] = value
                forms.append(data)
            tokens = [start_login_session(citizen) for _ in range(SUBMISSIONS)]
            questions = len(questionnaire.questions)
            citizen_id = citizen.id
            db.session.commit()
        clients = [signed_in_client(app, citizen_id, token) for token in tokens]
        replies = together([lambda n=n: clients[n].post("/c/race/questionnaire", data=forms[n]).status_code for n in range(SUBMISSIONS)])
        assert replies == [302] * SUBMISSIONS, replies
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(QuestionnaireResponse)) == 1
            assert db.session.scalar(select(func.count()).select_from(QuestionAnswer)) == questions
            words = db.session.scalars(
                select(Contribution.body).where(Contribution.kind == "answer", Contribution.deleted_at.is_(None))
            ).all()
            assert len(words) == 1 and words[0].startswith("Answer ")
