"""My contributions and the person page in a real browser: the demo citizen's statuses, axe-core
at desktop and phone widths, no sideways scrolling on a phone, filters without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.browser.test_pages import OVERFLOWING

CITIZEN = "citizen@demo.consult.example"  # Chris Citizen
#: The demo's concluded round, where Chris's amendment was accepted and built into version 2 (other
#: browser tests give him more contributions, in consultations of their own).
PAST_ROUND = "Federal Source Code Policy: the 2016 round"


def my_contributions(new_context, live_server, viewport, **options):
    page = new_context(viewport=viewport, **options).new_page()
    sign_in(page, live_server, CITIZEN)
    page.get_by_role("banner").get_by_role("link", name="My contributions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My contributions")
    return page


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_my_contributions_and_my_public_page_pass_axe(viewport, new_context, live_server, run_axe, axe_report):
    # bypass_csp: the app's CSP would block the injected axe-core (tests/browser/test_pages.py).
    page = my_contributions(new_context, live_server, viewport, bypass_csp=True)
    accepted = page.get_by_role("article").filter(has_text=PAST_ROUND).filter(has_text="Incorporated into version 2")
    expect(accepted.get_by_role("listitem").filter(has_text="Answered: accepted")).to_be_visible()
    expect(accepted.get_by_role("link", name="Incorporated into version 2")).to_be_visible()
    assert not (violations := run_axe(page)), axe_report(violations, page.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], page.evaluate(OVERFLOWING)

    page.get_by_role("link", name="your public page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Chris Citizen")
    expect(page.get_by_role("article").filter(has_text=PAST_ROUND).get_by_text("Incorporated into version 2")).to_be_visible()
    assert not (violations := run_axe(page)), axe_report(violations, page.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], page.evaluate(OVERFLOWING)


def test_filters_work_without_javascript(new_context, live_server):
    page = my_contributions(new_context, live_server, DESKTOP, java_script_enabled=False)
    page.get_by_label("Consultation").select_option(label=PAST_ROUND)
    page.get_by_label("Status").select_option(label="Amendments incorporated")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("1 contribution matches these filters.")).to_be_visible()
    expect(page.get_by_role("article")).to_have_count(1)
    expect(page.get_by_role("article")).to_contain_text("Incorporated into version 2")
