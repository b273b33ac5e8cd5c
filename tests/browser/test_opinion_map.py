"""Statements and the opinion map in a real browser: six demo accounts write and vote on
statements through the pages, the map is recomputed off the request path (by the job worker
running beside the live server) and shows the groups, "You" and
the consensus; WCAG 2.1 AA by axe-core at desktop and phone widths; no sideways scrolling.

The demo has no statements: the first test that needs them writes them (once per session), on
the open demo consultation, with bodies no other test uses.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.browser.test_amendments import SLUG
from tests.browser.test_pages import OVERFLOWING

CITIZEN = "citizen@demo.consult.example"
CITIZEN2 = "citizen2@demo.consult.example"
CAMP_A = [CITIZEN, "moderator@demo.consult.example", "orgadmin@demo.consult.example"]
CAMP_B = [CITIZEN2, "author@demo.consult.example", "admin@demo.consult.example"]
BODIES = [f"Opinion-map test statement {i}: {'everyone agrees' if i == 0 else 'camps split'}." for i in range(8)]
EXTRA = "Opinion-map test statement nobody has voted on yet."

_state: dict = {}


def statement_ids(page, live_server) -> dict[str, int]:
    page.goto(f"{live_server}/c/{SLUG}/statements")
    ids = {}
    for body in BODIES + [EXTRA]:
        item = page.locator("li[id^='statement-']", has_text=body)
        if item.count():
            ids[body] = int(item.first.get_attribute("id").removeprefix("statement-"))
    return ids


def write(page, live_server, body):
    page.goto(f"{live_server}/c/{SLUG}/statements")
    page.get_by_label("Your statement", exact=True).fill(body)
    page.get_by_role("button", name="Publish the statement").click()
    expect(page.get_by_text("Your statement is published.")).to_be_visible()


def wait_for_map(page, url, timeout=30):
    """Reload until the background computation has caught up with the votes."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        text = page.locator("main").inner_text()
        if "updated in a moment" not in text and "not enough votes" not in text:
            return
        assert time.monotonic() < deadline, text[:500]
        time.sleep(0.5)


def ensure_statements(new_context, live_server) -> dict[str, int]:
    """Two writers, six voters in two camps (through the pages), once per session."""
    if _state:
        return _state
    chris = new_context().new_page()
    sign_in(chris, live_server, CITIZEN)
    dana = new_context().new_page()
    sign_in(dana, live_server, CITIZEN2)
    for i, body in enumerate(BODIES):
        write(chris if i % 2 == 0 else dana, live_server, body)
    write(dana, live_server, EXTRA)
    ids = statement_ids(chris, live_server)
    assert len(ids) == len(BODIES) + 1
    for camp, people in enumerate((CAMP_A, CAMP_B)):
        for email in people:
            page = chris if email == CITIZEN else dana if email == CITIZEN2 else new_context().new_page()
            if email not in (CITIZEN, CITIZEN2):
                sign_in(page, live_server, email)
            page.goto(f"{live_server}/c/{SLUG}/statements")
            for j, body in enumerate(BODIES):
                value = "Agree" if j == 0 or j % 2 == camp else "Disagree"
                sid = ids[body]
                page.locator(f"[id='vote-{sid}']").get_by_role("button", name=f"{value} statement {sid}", exact=True).click()
                expect(page.get_by_text(f"You {value.lower()}.")).to_be_visible()
    _state.update(ids)
    return _state


def test_vote_one_at_a_time_and_see_the_map(new_context, live_server):
    ids = ensure_statements(new_context, live_server)
    extra = ids[EXTRA]

    # One at a time: the admin has voted on all but the newest, which is offered.
    sam = new_context().new_page()
    sign_in(sam, live_server, "admin@demo.consult.example")
    sam.goto(f"{live_server}/c/{SLUG}/statements/vote")
    expect(sam.locator("main")).to_contain_text(EXTRA)
    sam.get_by_role("button", name=f"Pass statement {extra}", exact=True).click()
    expect(sam).to_have_url(re.compile(rf"/c/{SLUG}/statements/vote\?after={extra}$"))
    expect(sam.get_by_text("You have voted on every statement.")).to_be_visible()

    # The map, as Chris (placed, in the first camp).
    chris = new_context().new_page()
    sign_in(chris, live_server, CITIZEN)
    wait_for_map(chris, f"{live_server}/c/{SLUG}/opinion-map")
    chart = chris.locator("svg[role='img']")
    expect(chart).to_have_count(1)
    expect(chart.locator("title")).to_contain_text("group 2")
    expect(chart.locator("text", has_text="You")).to_have_count(1)
    expect(chris.get_by_text(re.compile(r"You are in group [12]\."))).to_be_visible()
    table = chris.get_by_role("table", name="The groups and what sets each apart")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr td:nth-child(2)")).to_have_text(["3", "3"])
    expect(table).to_contain_text("camps split")
    consensus = chris.locator("ul.consensus-agree")
    expect(consensus).to_contain_text(BODIES[0])
    expect(chris.get_by_role("link", name=re.compile("Tag these representative statements"))).to_have_count(0)

    # The moderator's view feeds the themes.
    mo = new_context().new_page()
    sign_in(mo, live_server, "moderator@demo.consult.example")
    mo.goto(f"{live_server}/c/{SLUG}/opinion-map")
    link = mo.get_by_role("link", name=re.compile("Tag these representative statements with a theme")).first
    expect(link).to_have_attribute("href", f"/c/{SLUG}/themes?show=all")


def open_list(page, live_server):
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}/statements")
    expect(page.locator("form.vote-form").first).to_be_visible()


def open_list_with_error(page, live_server):
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}/statements")
    page.get_by_label("Your statement", exact=True).fill("far too long " * 30)
    page.get_by_role("button", name="Publish the statement").click()
    expect(page.get_by_text(re.compile("at most 280 characters")).first).to_be_visible()


def open_vote_one(page, live_server):
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}/statements/vote")
    expect(page.locator("main")).to_contain_text(EXTRA)


def open_map(page, live_server):
    sign_in(page, live_server, CITIZEN)
    wait_for_map(page, f"{live_server}/c/{SLUG}/opinion-map")
    expect(page.locator("svg[role='img'] text", has_text="You")).to_have_count(1)


PAGES = {"statements": open_list, "statements-error": open_list_with_error, "vote-one": open_vote_one, "opinion-map": open_map}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.mark.parametrize("width", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_opinion_pages_accessibility(name, width, new_context, live_server, run_axe, axe_report, screenshot_dir):
    ensure_statements(new_context, live_server)
    page = new_context(viewport=VIEWPORTS[width], bypass_csp=True).new_page()
    PAGES[name](page, live_server)
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / f"opinion-{name}-{width}.png"), full_page=True)
    violations = run_axe(page)
    assert not violations, axe_report(violations, f"{page.url} ({name}, {width})")


@pytest.mark.parametrize("name", list(PAGES))
def test_opinion_page_fits_phone_width(name, new_context, live_server):
    ensure_statements(new_context, live_server)
    page = new_context(viewport=PHONE).new_page()
    PAGES[name](page, live_server)
    page.wait_for_load_state("load")  # after a click, measure the page once its stylesheets are in
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], (
        f"{page.url} ({name}) is {scroll_width}px wide on a {PHONE['width']}px phone; too wide: {page.evaluate(OVERFLOWING)}"
    )
