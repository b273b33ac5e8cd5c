"""The questionnaire's pages: answering without JavaScript, errors as a 400 form that stores
nothing, the results page, the editor, and the record's CSV files."""

from __future__ import annotations

import csv
import io
import zipfile

from sqlalchemy import func, select

from consult.core.models import db
from consult.questionnaires import services
from consult.questionnaires.models import QuestionnaireResponse
from tests.conftest import login
from tests.factories import make_user
from tests.questionnaires.helpers import by_prompt, full_answers, make_questionnaire


def _form(answers: dict) -> dict:
    """The answer form's fields for ``answers`` (by question id)."""
    data: dict = {}
    for qid, value in answers.items():
        if isinstance(value, dict):
            data.update({f"q-{qid}-rank-{option}": rank for option, rank in value.items()})
        else:
            data[f"q-{qid}"] = value
    return data


def test_answering_on_the_page_then_the_results(client, open_consultation, author, citizen):
    questionnaire = make_questionnaire(open_consultation, author)
    db.session.commit()
    page = client.get("/c/open-one/questionnaire")
    assert page.status_code == 200 and "Sign in</a> to answer" in page.text and "Which format do you use most?" in page.text
    login(client, citizen)
    answered = client.post("/c/open-one/questionnaire", data=_form(full_answers(questionnaire)))
    assert answered.status_code == 302 and answered.headers["Location"].endswith("/c/open-one/questionnaire/results")
    again = client.get("/c/open-one/questionnaire")
    assert "Save my changed answers" in again.text and ">Overdue</" not in again.text and 'value="Overdue"' in again.text
    results = client.get("/c/open-one/questionnaire/results")
    assert results.status_code == 200
    assert "1 person responded" in results.text and "<svg" in results.text and "<table" in results.text
    assert "<td>1</td><td>100.0%</td>" in results.text  # CSV: one of one
    assert "Overdue" in results.text
    answer_id = int(results.text.split('id="answer-')[1].split('"')[0])
    place = client.get(f"/comments/{answer_id}")  # its permanent address, as summaries and search cite it
    assert place.headers["Location"] == f"/c/open-one/questionnaire/results?version=1#answer-{answer_id}"


def test_a_refused_submission_is_a_400_form_and_stores_nothing(client, open_consultation, author, citizen):
    questionnaire = make_questionnaire(open_consultation, author)
    db.session.commit()
    login(client, citizen)
    q = by_prompt(questionnaire)
    answers = full_answers(questionnaire, words="Kept")
    answers[q["Rank these priorities."].id] = {o["id"]: "2" for o in q["Rank these priorities."].options}
    answers[q["Which format do you use most?"].id] = "12345"
    refused = client.post("/c/open-one/questionnaire", data=_form(answers))
    assert refused.status_code == 400
    assert "Give each option a different rank." in refused.text and "Choose among the options shown." in refused.text
    assert 'value="Kept"' in refused.text  # what was typed is kept
    assert db.session.scalar(select(func.count()).select_from(QuestionnaireResponse)) == 0


def test_the_editor_adds_publishes_and_versions(client, open_consultation, author, citizen):
    login(client, author)
    assert client.get("/c/open-one/questionnaire").status_code == 404  # nothing published yet
    added = client.post(
        "/c/open-one/questionnaire/questions",
        data={"kind": "single_choice", "prompt": "Which?", "options": "A\nB", "section_key": "", "required": "y"},
    )
    assert added.status_code == 302
    bad = client.post("/c/open-one/questionnaire/questions", data={"kind": "ranking", "prompt": "Rank?", "options": "Only"})
    assert bad.status_code == 400 and "Give at least two options" in bad.text
    assert client.post("/c/open-one/questionnaire/publish").status_code == 302
    edit = client.get("/c/open-one/questionnaire/edit")
    assert "Version 1" in edit.text and "frozen" in edit.text
    saved = client.post(
        "/c/open-one/questionnaire/questions/1", data={"kind": "single_choice", "prompt": "Which one?", "options": "A\nB\nC"}
    )
    assert saved.status_code == 302
    assert [v.number for v in services.versions(open_consultation)] == [1, 2]
    assert client.post("/c/open-one/questionnaire/publish").status_code == 302
    results = client.get("/c/open-one/questionnaire/results")
    assert "Which one?" in results.text and 'href="/c/open-one/questionnaire/results?version=1"' in results.text
    old = client.get("/c/open-one/questionnaire/results?version=1")
    assert "Which?" in old.text and "see the results of the current version, 2" in old.text
    login(client, citizen)
    assert client.get("/c/open-one/questionnaire/edit").status_code == 403
    assert client.post("/c/open-one/questionnaire/questions", data={"kind": "short_text", "prompt": "x"}).status_code == 403


def test_the_record_holds_results_and_responses_without_names(client, open_consultation, author):
    questionnaire = make_questionnaire(open_consultation, author)
    people = [make_user(name=f"Respondent Person{n}", email=f"respondent{n}@example.org") for n in range(3)]
    for n, person in enumerate(people):
        services.submit_response(questionnaire, full_answers(questionnaire, scale=n + 3, words=""), actor=person)
    db.session.commit()
    archive = zipfile.ZipFile(io.BytesIO(client.get("/c/open-one/record.zip").data))
    results = list(csv.DictReader(io.StringIO(archive.read("questionnaire_results.csv").decode())))
    scale = {r["option"]: r["count"] for r in results if r["question"] == "The policy goes far enough."}
    assert scale == {"Strongly disagree": "0", "Disagree": "0", "Neither agree nor disagree": "1", "Agree": "1", "Strongly agree": "1"}
    raw = archive.read("questionnaire_responses.csv").decode()
    responses = list(csv.DictReader(io.StringIO(raw)))
    assert len({r["respondent"] for r in responses}) == 3 and len(responses) == 3 * len(questionnaire.questions)
    for person in people:
        assert person.display_name not in raw and person.email not in raw and str(person.id) not in {r["respondent"] for r in responses}


def test_the_consultation_page_links_the_questionnaire(client, open_consultation, author, citizen):
    login(client, author)
    assert "Edit the questionnaire" in client.get("/c/open-one").text
    make_questionnaire(open_consultation, author)
    db.session.commit()
    login(client, citizen)
    page = client.get("/c/open-one").text
    assert "Answer the questionnaire (6 questions)" in page and "Edit the questionnaire" not in page


def test_the_demo_questionnaire_is_answered_and_in_the_record(app, tmp_path):
    from consult.demo import load_demo
    from consult.proposals.models import Consultation
    from consult.record import export

    load_demo()
    c = db.session.scalar(select(Consultation).where(Consultation.state == "open"))
    questionnaire = services.current_questionnaire(c)
    assert len({q.kind for q in questionnaire.questions}) == 5
    with app.test_request_context():
        export.write_folder(c, tmp_path / "record")
    rows = list(csv.DictReader((tmp_path / "record" / "questionnaire_responses.csv").open(encoding="utf-8")))
    assert len({r["respondent"] for r in rows}) == 5
    assert "Chris Citizen" not in (tmp_path / "record" / "questionnaire_responses.csv").read_text(encoding="utf-8")
