"""Calls to action in a real browser (issue 20): the call's progress bar moves when someone
supports the amendment it asks for (a vote on the amendment's page, then the call page again);
axe-core finds nothing on the call page, the new-call form and the consultation page with the
call at its top, at 1280 and 375 px, and none of them scrolls sideways.

The live server's database is shared by all browser tests: this test makes its own organisation,
consultation, people and call."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in

SLUG = "calls-harbour-plan"
AUTHOR = "calls-author@example.org"
SUPPORTER = "calls-supporter@example.org"


@pytest.fixture(scope="module")
def call_id(live_server) -> int:
    from consult.amendments.services import propose_amendment
    from consult.core.models import db, utcnow
    from consult.groups import calls
    from tests.factories import make_consultation, make_organisation, make_user

    with live_server.app.app_context():
        organisation = make_organisation(slug="calls-harbour", name="Harbour Board")
        author = make_user(name="Cal Author", email=AUTHOR, role="author", organisation=organisation)
        make_user(name="Sam Supporter", email=SUPPORTER)
        consultation = make_consultation(organisation, author=author, slug=SLUG, title="Harbour plan")
        propose_amendment(
            consultation,
            actor=make_user(name="Pat Proposer"),
            section_key="purpose",
            rationale="Say who pays.",
            proposed_text="The board pays.",
        )
        call = calls.publish_call(
            consultation,
            actor=author,
            publisher=organisation,
            kind="support",
            amendment="A1",
            title="Support A1 before the hearing",
            body="The board should **pay**.",
            goal=3,
            deadline=utcnow() + timedelta(days=5),
        )
        db.session.commit()
        return call.id


def figure(page) -> str:
    return page.locator(".call-figure").first.inner_text()


def test_the_progress_bar_moves_when_someone_supports(call_id, new_context, live_server):
    from tests.factories import PASSWORD

    page = new_context().new_page()
    sign_in(page, live_server, SUPPORTER, PASSWORD)
    page.goto(f"{live_server}/calls/{call_id}")
    expect(page.locator(".call-figure")).to_have_text(re.compile(r"^0 of 3 \(0%\)$"))
    expect(page.locator("progress#call-progress")).to_have_attribute("value", "0")
    expect(page.get_by_text("5 days left")).to_be_visible()
    page.get_by_role("link", name="Go to the amendment and support it").click()
    expect(page).to_have_url(re.compile(rf"/c/{SLUG}/amendments/A1$"))
    page.get_by_role("button", name="Support amendment A1", exact=True).click()
    expect(page.get_by_text("You support this.")).to_be_visible()
    page.goto(f"{live_server}/calls/{call_id}")
    expect(page.locator(".call-figure")).to_have_text(re.compile(r"^1 of 3 \(33%\)$"))
    expect(page.locator("progress#call-progress")).to_have_attribute("value", "1")
    # and on the consultation page, at the top
    page.goto(f"{live_server}/c/{SLUG}")
    top = page.locator(".calls-to-action")
    expect(top.get_by_role("link", name="Support A1 before the hearing")).to_be_visible()
    expect(top.locator(".call-figure")).to_have_text(re.compile(r"^1 of 3"))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_call_pages_have_no_axe_violations(viewport, call_id, new_context, live_server, run_axe, axe_report):
    from tests.factories import PASSWORD

    reader = new_context(viewport=viewport, bypass_csp=True).new_page()
    author = new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(author, live_server, AUTHOR, PASSWORD)
    pages = [
        (reader, f"/calls/{call_id}"),
        (reader, f"/c/{SLUG}"),
        (author, f"/calls/{call_id}"),
        (author, f"/c/{SLUG}/calls/new"),
        (author, f"/calls/{call_id}/edit"),
    ]
    for page, path in pages:
        page.goto(live_server + path)
        violations = run_axe(page)
        assert violations == [], axe_report(violations, path)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{path} scrolls sideways at {viewport['width']} px"
    # a refused form shows its errors, accessibly too
    author.goto(f"{live_server}/c/{SLUG}/calls/new")
    author.get_by_label("Title").fill("A call")
    author.get_by_label("Goal (people)").fill("0")
    author.get_by_role("button", name="Publish the call").click()
    expect(author.get_by_text("There is a problem")).to_be_visible()
    violations = run_axe(author)
    assert violations == [], axe_report(violations, "refused new call")
