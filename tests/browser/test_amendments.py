"""Amendments and votes in a real browser: propose with a redline preview, support, co-support and
answer across three accounts; WCAG 2.1 AA by axe-core at desktop and phone widths; no sideways
scrolling on a phone; section votes without JavaScript.

The live server's database is shared by all browser tests: each test writes only to a section and
words no other test (and no demo amendment) uses, and reads counts before changing them.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.browser.test_pages import OVERFLOWING

SLUG = "federal-source-code-policy"
PAST_SLUG = "federal-source-code-policy-2016"
CITIZEN = "citizen@demo.consult.example"  # Chris Citizen
CITIZEN2 = "citizen2@demo.consult.example"  # Dana Citizen
AUTHOR = "author@demo.consult.example"  # Alex Author, of the organisation


def vote_box(page, target):
    """The tally and vote buttons of an amendment (its id) or a section (its key), shown: a
    section's are behind its "Take part" disclosure."""
    take_part = page.locator(f"section[id='s-{target}'] details.take-part:not([open]) > summary")
    if take_part.count():
        take_part.click()
    return page.locator(f"[id='vote-{target}']")


def tally(box, value):
    """The count in "N support" (or oppose, abstain) of a vote box, once shown: after a vote
    without script the page comes back at ``#vote-KEY``, and the browser opens the section's
    "Take part" to show it a moment after the page's text is in."""
    count = box.locator(f".tally-{value}")
    expect(count).to_be_visible()
    text = count.inner_text()
    match = re.fullmatch(rf"(\d+) {value}", text.strip())
    assert match, f"unexpected tally {text!r}"
    return int(match.group(1))


# --- 1. propose, support, co-support, answer ---------------------------------------------------


def test_propose_support_and_answer_an_amendment(new_context, live_server):
    key, heading = "scope-and-applicability", "2. Scope and Applicability"
    quote = "shall immediately begin working together to implement this guidance"
    replacement = "shall within 90 days begin working together to implement this guidance"
    rationale = "Immediately has no end date; name one so that progress can be checked."
    reason = "We will set a deadline, but 90 days is too short for the largest agencies."

    # Citizen 1 proposes, from the section's button on the consultation page.
    chris = new_context().new_page()
    sign_in(chris, live_server, CITIZEN)
    chris.goto(f"{live_server}/c/{SLUG}")
    section = chris.locator(f"section[id='s-{key}']")
    expect(section.get_by_role("link", name=re.compile(r"^\d+ amendments? to ", re.I))).to_have_count(0)  # none yet
    section.locator("details.take-part > summary").click()
    section.get_by_role("link", name=f"Propose an amendment to {heading}", exact=True).click()
    expect(chris).to_have_url(re.compile(rf"/c/{SLUG}/s/{key}/amend$"))
    expect(chris.get_by_role("heading", level=1)).to_have_text(f"Propose an amendment to “{heading}”")
    chris.get_by_label("Or: words to replace (optional)", exact=True).fill(quote)
    chris.get_by_label("Replace them with (optional)", exact=True).fill(replacement)
    chris.get_by_label("Why this change?", exact=True).fill(rationale)

    chris.get_by_role("button", name="Preview the redline").click()
    preview = chris.locator("section.preview")
    expect(preview.get_by_role("heading", name="Preview: nothing is published yet")).to_be_visible()
    expect(preview.locator(".redline del")).to_have_count(1)
    expect(preview.locator(".redline del")).to_contain_text("immediately")
    expect(preview.locator(".redline ins")).to_have_count(1)
    expect(preview.locator(".redline ins")).to_contain_text("within 90 days")
    expect(preview.locator(".policy-text")).to_contain_text(replacement)
    expect(chris.get_by_label("Or: words to replace (optional)", exact=True)).to_have_value(quote)  # kept for publishing
    expect(chris.get_by_label("Why this change?", exact=True)).to_have_value(rationale)

    chris.get_by_role("button", name="Publish the amendment").click()
    expect(chris).to_have_url(re.compile(r"/amendments/A\d+$"))
    label = re.search(r"/amendments/(A\d+)$", chris.url).group(1)  # its number in the consultation
    amendment_url = chris.url
    amendment_id = int(chris.locator("div.vote").first.get_attribute("id").removeprefix("vote-"))  # its id, in the data
    expect(chris.get_by_text("Your amendment is published.")).to_be_visible()
    expect(chris.get_by_role("heading", level=1)).to_have_text(f"Amendment {label} to “{heading}”")
    redline = chris.locator(".redline")
    expect(redline.locator("del")).to_have_count(1)
    expect(redline.locator("del")).to_contain_text("immediately")
    expect(redline.locator("ins")).to_have_count(1)
    expect(redline.locator("ins")).to_contain_text("within 90 days")
    expect(redline).to_contain_text("begin working together to implement this guidance")
    expect(chris.locator(".comment-body")).to_have_text(rationale)
    details = chris.locator("details.preview")
    applied = details.locator(".policy-text")
    expect(applied).not_to_be_visible()  # closed until asked for
    details.get_by_text("Preview the section with this amendment applied", exact=True).click()
    expect(details).to_have_attribute("open", "")
    expect(applied).to_be_visible()
    expect(applied).to_contain_text(replacement)
    expect(applied).not_to_contain_text("immediately begin")
    # The section now links to its amendment.
    chris.goto(f"{live_server}/c/{SLUG}")
    expect(section.get_by_role("link", name=f"1 amendment to {heading}", exact=True)).to_be_visible()

    # Citizen 2 supports it (a vote) and co-sponsors it (her name beside the author's).
    dana = new_context().new_page()
    sign_in(dana, live_server, CITIZEN2)
    dana.goto(amendment_url)
    box = vote_box(dana, amendment_id)
    expect(box.locator(".tally-support")).to_have_text("0 support")
    support = box.get_by_role("button", name=f"Support amendment {label}", exact=True)
    expect(support).to_have_attribute("aria-pressed", "false")
    support.click()
    expect(dana.get_by_text("You support this.")).to_be_visible()
    expect(box.locator(".tally-support")).to_have_text("1 support")
    expect(box.locator(".tally-oppose")).to_have_text("0 oppose")
    expect(support).to_have_attribute("aria-pressed", "true")
    expect(box.get_by_role("button", name=f"Oppose amendment {label}", exact=True)).to_have_attribute("aria-pressed", "false")
    expect(box.get_by_role("button", name=f"Withdraw my vote on amendment {label}", exact=True)).to_be_visible()

    dana.get_by_role("button", name="Co-sponsor this amendment", exact=True).click()
    expect(dana.get_by_text("You are now a co-sponsor of this amendment")).to_be_visible()
    expect(dana.get_by_text("Co-sponsors: Dana Citizen.", exact=True)).to_be_visible()
    expect(dana.get_by_role("button", name="Co-sponsor this amendment")).to_have_count(0)
    expect(dana.get_by_role("button", name="Stop co-sponsoring")).to_be_visible()
    expect(dana.get_by_text("Not answered yet.")).to_be_visible()
    expect(dana.get_by_role("button", name="Publish the answer")).to_have_count(0)  # a citizen does not answer

    # The author answers it for the organisation.
    alex = new_context().new_page()
    sign_in(alex, live_server, AUTHOR)
    alex.goto(amendment_url)
    expect(vote_box(alex, amendment_id).locator(".tally-support")).to_have_text("1 support")
    answer = alex.get_by_role("group", name="Answer this amendment")
    answer.get_by_label("Accepted in part", exact=True).check()
    alex.get_by_label("The reason", exact=True).fill(reason)
    alex.get_by_role("button", name="Publish the answer").click()
    expect(alex.get_by_text("Your answer is published.")).to_be_visible()
    panel = alex.locator("#answer .answer")
    expect(panel.locator("strong")).to_have_text("Accepted in part")
    expect(panel).to_contain_text("by Alex Author for Office of Management and Budget (demo)")
    expect(panel).to_contain_text(reason)
    expect(alex.locator(".amendment-state")).to_have_text("Answered: accepted in part")
    expect(alex.get_by_role("group", name="Revise the answer")).to_be_visible()

    # Citizen 2 sees the answer, and no form to answer with.
    dana.reload()
    panel = dana.locator("#answer .answer")
    expect(panel.locator("strong")).to_have_text("Accepted in part")
    expect(panel).to_contain_text(reason)
    expect(dana.get_by_text("Not answered yet.")).to_have_count(0)
    expect(dana.locator("#answer form")).to_have_count(0)
    expect(dana.get_by_role("button", name="Publish the answer")).to_have_count(0)
    expect(dana.get_by_role("radio")).to_have_count(0)
    expect(dana.get_by_label("The reason", exact=True)).to_have_count(0)


# --- 2. accessibility and reflow ------------------------------------------------------------------


def open_list(page, live_server):
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}/amendments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Amendments")
    expect(page.locator("article.amendment").first).to_be_visible()
    expect(page.locator("article.amendment form.vote-form").first).to_be_visible()  # a citizen can vote from the list


def open_amendment(page, live_server):
    """Dana's "by default" amendment, as Chris sees it: he voted for it, co-supports it, and it conflicts with his own."""
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}/amendments?section=pilot-program")
    card = page.locator("article.amendment").filter(has_text="by default")
    expect(card).to_have_count(1)
    card.locator(".amendment-title a").click()
    expect(page).to_have_url(re.compile(r"/amendments/A\d+$"))
    expect(page.locator("form.vote-form")).to_be_visible()
    expect(page.locator("form.vote-form button[aria-pressed='true']")).to_have_count(1)
    expect(page.locator("p.conflict")).to_be_visible()


def open_propose_preview(page, live_server):
    """The preview stores nothing, so any section will do."""
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}/s/objectives/amend")
    page.get_by_label("Or: words to replace (optional)", exact=True).fill("This policy will accomplish the following objectives:")
    page.get_by_label("Replace them with (optional)", exact=True).fill("This policy has four objectives:")
    page.get_by_label("Why this change?", exact=True).fill("Shorter.")
    page.get_by_role("button", name="Preview the redline").click()
    expect(page.get_by_role("heading", name="Preview: nothing is published yet")).to_be_visible()
    expect(page.locator(".preview .redline ins")).to_have_count(1)


def open_past_answered(page, live_server):
    """An amendment of the closed 2016 round, accepted and then incorporated in version 2; signed out."""
    page.goto(f"{live_server}/c/{PAST_SLUG}/amendments")
    card = page.locator("article.amendment").filter(has_text="Incorporated in version 2").first
    card.locator(".amendment-title a").click()
    expect(page).to_have_url(re.compile(r"/amendments/A\d+$"))
    expect(page.locator(".amendment-state")).to_have_text("Incorporated in version 2")
    expect(page.locator("#answer .answer strong")).to_have_text("Accepted")


def open_consultation(page, live_server):
    """The consultation page as a citizen sees it, with vote buttons under every section."""
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}")
    page.locator("section.policy-section details.take-part > summary").first.click()
    expect(page.locator("section.policy-section form.vote-form").first).to_be_visible()
    expect(vote_box(page, "objectives").locator("button[aria-pressed='true']")).to_have_text(re.compile("^Support"))


PAGES = {
    "consultation-signed-in": open_consultation,
    "list": open_list,
    "amendment": open_amendment,
    "propose-preview": open_propose_preview,
    "past-answered": open_past_answered,
}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.mark.parametrize("width", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_amendment_pages_accessibility(name, width, new_context, live_server, run_axe, axe_report, screenshot_dir):
    # bypass_csp: the app's CSP would block the injected axe-core (see test_pages.py).
    page = new_context(viewport=VIEWPORTS[width], bypass_csp=True).new_page()
    PAGES[name](page, live_server)
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / f"amendments-{name}-{width}.png"), full_page=True)
    violations = run_axe(page)
    assert not violations, axe_report(violations, f"{page.url} ({name}, {width})")


@pytest.mark.parametrize("name", list(PAGES))
def test_amendment_page_fits_phone_width(name, new_context, live_server):
    """WCAG 1.4.10 Reflow (AA), which axe does not check: no sideways scrolling at 375px."""
    page = new_context(viewport=PHONE).new_page()
    PAGES[name](page, live_server)
    # Some PAGES reach their page by a click, which returns before the page's stylesheets have
    # loaded; measured then, the unstyled page is wider than the laid-out one.
    page.wait_for_load_state("load")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], (
        f"{page.url} ({name}) is {scroll_width}px wide on a {PHONE['width']}px phone; too wide: {page.evaluate(OVERFLOWING)}"
    )


# --- 3. section votes without JavaScript ----------------------------------------------------------


def test_vote_on_a_section_without_javascript(new_context, live_server, screenshot_dir):
    # No demo vote and no other test touches this section.
    key, heading = "membership-in-the-open-source-community", "5.2 Membership in the Open Source Community"
    label = f"the section {heading}"
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, live_server, CITIZEN2)
    page.goto(f"{live_server}/c/{SLUG}")
    box = vote_box(page, key)
    support = box.get_by_role("button", name=f"Support {label}", exact=True)
    oppose = box.get_by_role("button", name=f"Oppose {label}", exact=True)
    withdraw = box.get_by_role("button", name=f"Withdraw my vote on {label}", exact=True)
    before = {v: tally(box, v) for v in ("support", "oppose", "abstain")}
    expect(support).to_have_attribute("aria-pressed", "false")
    expect(withdraw).to_have_count(0)

    support.click()
    expect(page).to_have_url(re.compile(rf"/c/{SLUG}#vote-{key}$"))  # back where the vote was cast
    expect(page.get_by_text("You support this.")).to_be_visible()
    assert tally(box, "support") == before["support"] + 1
    assert tally(box, "oppose") == before["oppose"]
    expect(support).to_have_attribute("aria-pressed", "true")
    if screenshot_dir is not None:
        box.locator("xpath=..").screenshot(path=str(screenshot_dir / "section-vote-nojs.png"))

    oppose.click()  # a vote can be changed
    expect(page.get_by_text("You oppose this.")).to_be_visible()
    assert tally(box, "support") == before["support"]
    assert tally(box, "oppose") == before["oppose"] + 1
    expect(oppose).to_have_attribute("aria-pressed", "true")
    expect(support).to_have_attribute("aria-pressed", "false")

    withdraw.click()  # and withdrawn
    expect(page.get_by_text("Your vote is withdrawn.")).to_be_visible()
    assert {v: tally(box, v) for v in ("support", "oppose", "abstain")} == before
    expect(withdraw).to_have_count(0)
    expect(oppose).to_have_attribute("aria-pressed", "false")
