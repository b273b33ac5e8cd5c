"""The questionnaire in a real browser (issue 21): three people answer the demo's questionnaire
without JavaScript tricks (radios, checkboxes, selects for the ranking), the results page then
counts them in its table and draws its chart on the server; the open record's CSV files hold
their answers under random codes, never their names or addresses. axe-core on the answer,
results and editor pages at 1280 and 390 px.

The live server's database is shared by all browser tests: the three respondents are accounts of
their own, made for this test."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, built_record, sign_in

SLUG = "federal-source-code-policy"
AUTHOR = "author@demo.consult.example"
AGREEMENT = "Custom code paid for by federal agencies should be open source by default."
PHONE_390 = {"width": 390, "height": 844}
RESPONDENTS = [("Quinn Questioner", "quinn-q@example.org"), ("Rae Respondent", "rae-r@example.org"), ("Sol Surveyed", "sol-s@example.org")]


@pytest.fixture(scope="module")
def respondents(live_server):
    from consult.accounts.services import create_user
    from consult.core.models import db
    from consult.policies import services as policies
    from tests.browser.conftest import DEMO_PASSWORD

    with live_server.app.app_context():
        for name, email in RESPONDENTS:
            policies.record_agreement(create_user(email=email, password=DEMO_PASSWORD, display_name=name))
        db.session.commit()
    return RESPONDENTS


def agreement_counts(page, live_server) -> tuple[int, int]:
    """People who responded, and how many strongly agree with the first question (from the table)."""
    page.goto(f"{live_server}/c/{SLUG}/questionnaire/results")
    responded = int(re.match(r"(\d+) (?:person|people) responded", page.locator("#respondents").inner_text()).group(1))
    row = page.locator("#result-1 table tr", has=page.get_by_role("rowheader", name="Strongly agree"))
    return responded, int(row.locator("td").first.inner_text())


def answer(page, live_server, email):
    sign_in(page, live_server, email)
    page.goto(f"{live_server}/c/{SLUG}/questionnaire")
    page.locator("#question-1").get_by_label("Strongly agree").check()
    page.get_by_label("All of it, with listed exceptions").check()
    page.get_by_label("Security").check()
    page.get_by_label("Release code").select_option("1")
    page.get_by_label("Inventory the code").select_option("2")
    page.get_by_label("Build communities").select_option("3")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_text("Thank you: your answers are saved.")).to_be_visible()


def record_files(page, live_server) -> dict[str, str]:
    archive = built_record(page, f"{live_server}/c/{SLUG}/record.zip")
    # the text files (the record also carries attachments, such as the demo's PDF)
    return {name: archive.read(name).decode("utf-8") for name in archive.namelist() if not name.startswith("attachments/")}


def test_three_people_answer_and_the_results_count_them(respondents, new_context, live_server):
    reader = new_context().new_page()
    responded, strongly = agreement_counts(reader, live_server)
    for _name, email in respondents:
        answer(new_context().new_page(), live_server, email)
    after, strongly_after = agreement_counts(reader, live_server)
    assert (after, strongly_after) == (responded + 3, strongly + 3)
    # The chart is drawn on the server: an SVG bar per option, wider for the most chosen.
    bars = reader.locator("#chart-1 rect.bar")
    expect(bars).to_have_count(5)
    widths = [float(bars.nth(i).get_attribute("width")) for i in range(5)]
    assert widths[4] == max(widths) and widths[4] > 0
    expect(reader.locator("#result-1").get_by_role("table")).to_be_visible()

    files = record_files(reader, live_server)
    responses = list(csv.DictReader(io.StringIO(files["questionnaire_responses.csv"])))
    assert len({r["respondent"] for r in responses if r["questionnaire_version"] == "1"}) == after
    results = list(csv.DictReader(io.StringIO(files["questionnaire_results.csv"])))
    assert {r["option"]: r["count"] for r in results if r["question"] == AGREEMENT}["Strongly agree"] == str(strongly_after)
    questionnaire_files = files["questionnaire_responses.csv"] + files["questionnaire_results.csv"]
    for name, email in respondents:
        assert name not in questionnaire_files and email not in questionnaire_files


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE_390], ids=["1280", "390"])
def test_questionnaire_pages_have_no_axe_violations(viewport, respondents, new_context, live_server, run_axe, axe_report):
    author = new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(author, live_server, AUTHOR)
    citizen = new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(citizen, live_server, respondents[0][1])
    pages = [
        (citizen, f"/c/{SLUG}/questionnaire"),
        (citizen, f"/c/{SLUG}/questionnaire/results"),
        (author, f"/c/{SLUG}/questionnaire/edit"),
        (author, f"/c/{SLUG}/questionnaire/questions/1"),
    ]
    for page, path in pages:
        page.goto(live_server + path)
        violations = run_axe(page)
        assert violations == [], axe_report(violations, path)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{path} scrolls sideways at {viewport['width']} px"
    # A refused submission (a required question left out) shows its errors, accessibly too.
    citizen.goto(f"{live_server}/c/{SLUG}/questionnaire")
    for radio in citizen.locator("#question-1 input[type=radio]").all():
        radio.evaluate("el => el.checked = false")
    citizen.get_by_role("button", name=re.compile(r"(Send|Save) my")).click()
    expect(citizen.get_by_text("There is a problem")).to_be_visible()
    violations = run_axe(citizen)
    assert violations == [], axe_report(violations, "refused answers")
