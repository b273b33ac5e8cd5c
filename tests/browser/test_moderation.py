"""Moderation and synthesis in a real browser: citizens report, a moderator hides in bulk from the
queue, the public sees tombstones and a log without names, the moderator writes a theme's summary
with citations and previews the outcome page; WCAG 2.1 AA by axe-core at desktop and phone widths;
no sideways scrolling on a phone; the queue with the keyboard only.

The live server's database is shared by all browser tests: each test here writes only to sections
no other browser test (and no demo comment) uses, with words of its own, and looks for its own
contributions by their numbers, never at how many there are.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in, tab_to
from tests.browser.test_pages import OVERFLOWING

SLUG = "federal-source-code-policy"
PAST_SLUG = "federal-source-code-policy-2016"
ORGANISATION = "omb"  # consult.demo.ORGANISATION_SLUG
CITIZEN = "citizen@demo.consult.example"  # Chris Citizen
CITIZEN2 = "citizen2@demo.consult.example"  # Dana Citizen
MODERATOR = "moderator@demo.consult.example"  # Mo Moderator
NAMES = ("Chris Citizen", "Dana Citizen", "Mo Moderator")

# Sections of the open consultation that no demo comment and no other browser test uses.
FLOW_SECTION = "appendix-a-definitions"  # test 1
AXE_SECTION = "software-procurement-considerations"  # the pages checked by axe
KEYBOARD_SECTION = "appendix-b-software-procurement-analysis"  # test 3
# A demo comment nobody hides: the one on the consultation as a whole.
DEMO_COMMENT = "Thank you for publishing the draft openly and in plain text."


def post_comment(page, live_server, key, body):
    """Post a comment on a section of the open consultation through its form; returns its number."""
    page.goto(f"{live_server}/c/{SLUG}/s/{key}")
    page.get_by_label("Your comment", exact=True).fill(body)
    page.get_by_role("button", name="Post your comment").click()
    expect(page.get_by_text("Your comment is published.")).to_be_visible()
    card = page.locator("article.comment").filter(has=page.locator(".comment-body", has_text=body))
    expect(card).to_have_count(1)
    return int(re.fullmatch(r"comment-(\d+)", card.get_attribute("id")).group(1))


def report_comment(page, live_server, key, number, reason="Off topic", detail=""):
    """From the section's thread, follow the comment's "Report" link and send the form."""
    page.goto(f"{live_server}/c/{SLUG}/s/{key}")
    card = page.locator(f"article[id='comment-{number}']")
    card.get_by_role("link", name=f"Report comment #{number}", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/contributions/{number}/report$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Report contribution #{number}")
    page.get_by_role("group", name="What is wrong with it?").get_by_label(reason, exact=True).check()
    if detail:
        page.get_by_label(re.compile("^Details"), exact=False).fill(detail)
    page.get_by_role("button", name="Send the report").click()
    expect(page.get_by_text("Thank you: the moderators will look at it.")).to_be_visible()


def bulk_form(page):
    return page.get_by_role("group", name="Act on the selected contributions")


def queue_row(page, number):
    return page.locator("table.queue tbody tr").filter(has=page.locator(f"input[name='ids'][value='{number}']"))


# --- 1. report, hide in bulk, tombstones, public log, a theme's summary, the outcome preview ------


def test_report_hide_log_and_summarise(new_context, live_server):
    chris_words = "Definitions should say what counts as custom code when a vendor modifies a library."
    dana_words = "Please add a definition of a repository to appendix A, with an example."
    rule, public_reason = "Off topic", "Moved to the discussion of the definitions elsewhere: not about this text."

    # Two citizens comment on the same section, each in a browser of their own.
    chris = new_context().new_page()
    sign_in(chris, live_server, CITIZEN)
    chris_id = post_comment(chris, live_server, FLOW_SECTION, chris_words)
    dana = new_context().new_page()
    sign_in(dana, live_server, CITIZEN2)
    dana_id = post_comment(dana, live_server, FLOW_SECTION, dana_words)
    # The own comment has no Report link; the other's has.
    card = dana.locator(f"article[id='comment-{dana_id}']")
    expect(card.get_by_role("link", name=re.compile("^Report"))).to_have_count(0)

    # Dana reports Chris's comment; Chris reports Dana's (so both wait in the queue).
    report_comment(dana, live_server, FLOW_SECTION, chris_id, reason="Off topic")
    report_comment(chris, live_server, FLOW_SECTION, dana_id, reason="Something else", detail="Repeats another comment.")

    # The moderator opens the queue from the consultation page.
    mo = new_context().new_page()
    sign_in(mo, live_server, MODERATOR)
    mo.goto(f"{live_server}/c/{SLUG}")
    mo.locator("details.staff-panel > summary", has_text="Moderate and summarise").click()  # folded
    panel = mo.get_by_role("navigation", name="Moderate and summarise")
    panel.get_by_role("link", name="Moderation queue", exact=True).click()
    expect(mo).to_have_url(re.compile(rf"/o/{ORGANISATION}/moderation$"))
    expect(mo.get_by_role("heading", level=1)).to_have_text("Moderation queue")
    chris_row, dana_row = queue_row(mo, chris_id), queue_row(mo, dana_id)
    expect(chris_row).to_contain_text(chris_words)
    expect(chris_row).to_contain_text("by Chris Citizen")
    expect(chris_row.locator("td").nth(2)).to_have_text("1: off topic (1)")
    expect(dana_row).to_contain_text(dana_words)
    expect(dana_row.locator("td").nth(2)).to_have_text("1: other (1)")

    mo.get_by_role("checkbox", name=f"Select #{chris_id}", exact=True).check()
    mo.get_by_role("checkbox", name=f"Select #{dana_id}", exact=True).check()
    mo.get_by_label("Action", exact=True).select_option(label="Hide")
    mo.get_by_label("Rule (for hiding)", exact=True).select_option(label=rule)
    bulk_form(mo).get_by_label("Public reason", exact=True).fill(public_reason)
    mo.get_by_role("button", name="Apply to the selected").click()
    expect(mo).to_have_url(re.compile(rf"/o/{ORGANISATION}/moderation$"))
    # Only the start: the view builds the verb as action + "d", which gives "hided" for hide.
    expect(mo.locator(".flash-success")).to_contain_text("Done: 2 contributions")
    expect(queue_row(mo, chris_id)).to_have_count(0)
    expect(queue_row(mo, dana_id)).to_have_count(0)

    # The public sees tombstones with the public reason, not the words.
    reader = new_context().new_page()
    reader.goto(f"{live_server}/c/{SLUG}/s/{FLOW_SECTION}")
    for number in (chris_id, dana_id):
        expect(reader.locator(f"article[id='comment-{number}'] .tombstone")).to_have_text(f"This comment is hidden. {public_reason}")
    expect(reader.locator("main")).not_to_contain_text(chris_words)
    expect(reader.locator("main")).not_to_contain_text(dana_words)

    # The public moderation log, linked from the consultation page: what, when, which rule and why; no names.
    reader.goto(f"{live_server}/c/{SLUG}")
    reader.get_by_role("link", name="Moderation log", exact=True).click()
    expect(reader).to_have_url(re.compile(rf"/c/{SLUG}/moderation-log$"))
    expect(reader.get_by_role("heading", level=1)).to_have_text("Moderation log")
    log = reader.get_by_role("table")
    for number in (chris_id, dana_id):
        row = log.locator("tbody tr").filter(has=reader.get_by_role("cell", name=f"#{number}", exact=True))
        expect(row).to_have_count(1)
        cells = row.locator("td")
        expect(cells.nth(1)).to_have_text("Hidden")
        expect(cells.nth(3)).to_have_text("off topic")
        expect(cells.nth(4)).to_have_text(public_reason)
    main = reader.locator("main")
    for name in NAMES:
        expect(main).not_to_contain_text(name)

    # Themes and summaries, from the consultation page.
    theme = "Definitions in appendix A"
    mo.goto(f"{live_server}/c/{SLUG}")
    mo.locator("details.staff-panel > summary", has_text="Moderate and summarise").click()  # folded
    mo.get_by_role("navigation", name="Moderate and summarise").get_by_role("link", name="Themes and summaries", exact=True).click()
    expect(mo).to_have_url(re.compile(rf"/c/{SLUG}/themes$"))
    expect(mo.get_by_role("heading", level=1)).to_have_text("Themes and summaries")
    mo.get_by_label("New theme", exact=True).fill(theme)
    mo.get_by_role("button", name="Create", exact=True).click()
    expect(mo.get_by_text(f"The theme “{theme}” is created.")).to_be_visible()
    expect(mo.locator("ul.themes").get_by_role("link", name=theme, exact=True)).to_be_visible()
    # The hidden comments are not offered for tagging.
    expect(mo.locator(f"#tag-{chris_id}")).to_have_count(0)
    expect(mo.locator(f"#tag-{dana_id}")).to_have_count(0)

    item = mo.locator("ul.tag-list > li").filter(has=mo.locator(".comment-body", has_text=DEMO_COMMENT))
    expect(item).to_have_count(1)
    cited = int(item.locator("input[name='ids']").get_attribute("value"))
    mo.get_by_role("checkbox", name=re.compile(rf"^#{cited} \(comment")).check()
    mo.get_by_label("Theme", exact=True).select_option(label=theme)
    mo.get_by_role("button", name="Tag the selected", exact=True).click()
    expect(mo.get_by_text(f"1 contribution tagged with “{theme}”.")).to_be_visible()
    expect(mo.locator("ul.themes li").filter(has_text=theme)).to_contain_text(f"{theme} (1)")

    mo.get_by_role("link", name=f"Write the summary of {theme}", exact=True).click()
    expect(mo.get_by_role("heading", level=1)).to_have_text(f"Summary of the theme “{theme}”")
    summary = mo.get_by_label("Summary", exact=True)
    # Citing a hidden comment is refused, and what was written is kept.
    refused = f"Participants asked for plainer definitions [#{chris_id}]."
    summary.fill(refused)
    mo.get_by_role("button", name="Save the summary").click()
    alert = mo.get_by_role("alert")
    expect(alert).to_contain_text("There is a problem")
    expect(alert).to_contain_text(f"The summary cites #{chris_id}, which is not a visible contribution of this consultation")
    expect(summary).to_have_value(refused)
    expect(summary).to_have_attribute("aria-invalid", "true")
    accepted = f"Participants thanked us for publishing the draft in plain text [#{cited}]."
    summary.fill(accepted)
    mo.get_by_role("button", name="Save the summary").click()
    expect(mo).to_have_url(re.compile(rf"/c/{SLUG}/themes$"))
    expect(mo.get_by_text("The summary is saved.")).to_be_visible()
    expect(mo.get_by_role("link", name=f"Edit the summary of {theme}", exact=True)).to_be_visible()

    # The outcome page's preview shows the summary, with a working link to the cited comment.
    mo.goto(f"{live_server}/c/{SLUG}")
    mo.locator("details.staff-panel > summary", has_text="Moderate and summarise").click()  # folded
    mo.get_by_role("link", name="Outcome page (preview)", exact=True).click()
    expect(mo).to_have_url(re.compile(rf"/c/{SLUG}/outcome$"))
    expect(mo.get_by_text("this page becomes public when the consultation is concluded")).to_be_visible()
    article = mo.get_by_role("article", name=re.compile(rf"^{re.escape(theme)} \(1 contribution\)$"))
    expect(article).to_contain_text("Participants thanked us for publishing the draft in plain text")
    link = article.get_by_role("link", name=f"#{cited}", exact=True)
    expect(link).to_have_attribute("href", f"/comments/{cited}")
    link.click()
    expect(mo).to_have_url(re.compile(rf"#comment-{cited}$"))
    expect(mo.locator(f"article[id='comment-{cited}'] .comment-body")).to_contain_text(DEMO_COMMENT)
    # Not public before the consultation is concluded.
    response = reader.goto(f"{live_server}/c/{SLUG}/outcome")
    assert response is not None and response.status == 404


# --- 2. accessibility and reflow ------------------------------------------------------------------


@pytest.fixture(scope="module")
def axe_data(browser, live_server):
    """A reported comment in the queue and a theme, for the pages axe checks; made once, in a
    section and under a name nobody else uses."""
    chris = browser.new_context(viewport=DESKTOP)
    dana = browser.new_context(viewport=DESKTOP)
    mo = browser.new_context(viewport=DESKTOP)
    try:
        for context in (chris, dana, mo):
            context.set_default_timeout(10_000)
        page = chris.new_page()
        sign_in(page, live_server, CITIZEN)
        number = post_comment(
            page,
            live_server,
            AXE_SECTION,
            "Procurement should ask vendors for the source code at delivery, and for the right to publish it.",
        )
        page = dana.new_page()
        sign_in(page, live_server, CITIZEN2)
        report_comment(page, live_server, AXE_SECTION, number, reason="Reveals personal data")
        page = mo.new_page()
        sign_in(page, live_server, MODERATOR)
        page.goto(f"{live_server}/c/{SLUG}/themes")
        page.get_by_label("New theme", exact=True).fill("Procurement of source code")
        page.get_by_role("button", name="Create", exact=True).click()
        link = page.get_by_role("link", name="Write the summary of Procurement of source code", exact=True)
        theme_id = int(re.search(r"/themes/(\d+)/summary$", link.get_attribute("href")).group(1))
        return {"comment": number, "theme": theme_id}
    finally:
        for context in (chris, dana, mo):
            context.close()


def open_queue(page, live_server, data):
    sign_in(page, live_server, MODERATOR)
    page.goto(f"{live_server}/o/{ORGANISATION}/moderation")
    expect(queue_row(page, data["comment"])).to_have_count(1)


def open_themes(page, live_server, data):
    sign_in(page, live_server, MODERATOR)
    page.goto(f"{live_server}/c/{SLUG}/themes")
    expect(page.locator("ul.themes")).to_contain_text("Procurement of source code")
    expect(page.locator("ul.tag-list > li").first).to_be_visible()


def open_summary_error(page, live_server, data):
    sign_in(page, live_server, MODERATOR)
    page.goto(f"{live_server}/c/{SLUG}/themes/{data['theme']}/summary")
    page.get_by_label("Summary", exact=True).fill("Vendors were asked for the code [#999999999].")
    page.get_by_role("button", name="Save the summary").click()
    expect(page.get_by_role("alert")).to_contain_text("#999999999")
    expect(page.locator(".error-message")).to_be_visible()


def open_outcome(page, live_server, data):
    """The concluded demo round's outcome, signed out."""
    page.goto(f"{live_server}/c/{PAST_SLUG}/outcome")
    expect(page.get_by_role("heading", level=1)).to_have_text("You said, we did")
    expect(page.get_by_role("article", name=re.compile("^Open source by default"))).to_be_visible()


def open_log(page, live_server, data):
    """The concluded round's log (it has the demo's hidden spam), signed out."""
    page.goto(f"{live_server}/c/{PAST_SLUG}/moderation-log")
    expect(page.get_by_role("table").locator("tbody tr").first).to_be_visible()


def open_report(page, live_server, data):
    sign_in(page, live_server, CITIZEN2)
    page.goto(f"{live_server}/contributions/{data['comment']}/report")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Report contribution #{data['comment']}")


PAGES = {
    "queue": open_queue,
    "themes": open_themes,
    "summary-error": open_summary_error,
    "outcome": open_outcome,
    "log": open_log,
    "report": open_report,
}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.mark.parametrize("width", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_moderation_pages_accessibility(name, width, axe_data, new_context, live_server, run_axe, axe_report, screenshot_dir):
    # bypass_csp: the app's CSP would block the injected axe-core (see test_pages.py).
    page = new_context(viewport=VIEWPORTS[width], bypass_csp=True).new_page()
    PAGES[name](page, live_server, axe_data)
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / f"moderation-{name}-{width}.png"), full_page=True)
    violations = run_axe(page)
    assert not violations, axe_report(violations, f"{page.url} ({name}, {width})")


@pytest.mark.parametrize("name", list(PAGES))
def test_moderation_page_fits_phone_width(name, axe_data, new_context, live_server):
    """WCAG 1.4.10 Reflow (AA), which axe does not check: no sideways scrolling at 375px."""
    page = new_context(viewport=PHONE).new_page()
    PAGES[name](page, live_server, axe_data)
    page.wait_for_load_state("load")  # after a click, measure the page once its stylesheets are in
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], (
        f"{page.url} ({name}) is {scroll_width}px wide on a {PHONE['width']}px phone; too wide: {page.evaluate(OVERFLOWING)}"
    )


# --- 3. the queue with the keyboard only ----------------------------------------------------------


def test_moderate_from_the_queue_with_the_keyboard(new_context, live_server):
    words = "Appendix B could compare the cost of maintaining a fork with the cost of contributing upstream."
    chris = new_context().new_page()
    sign_in(chris, live_server, CITIZEN)
    number = post_comment(chris, live_server, KEYBOARD_SECTION, words)
    dana = new_context().new_page()
    sign_in(dana, live_server, CITIZEN2)
    report_comment(dana, live_server, KEYBOARD_SECTION, number, reason="Spam or advertising")

    page = new_context().new_page()
    sign_in(page, live_server, MODERATOR)
    page.goto(f"{live_server}/o/{ORGANISATION}/moderation")
    expect(queue_row(page, number)).to_contain_text(words)
    checkbox = page.get_by_role("checkbox", name=f"Select #{number}", exact=True)
    expect(checkbox).not_to_be_checked()
    tab_to(page, checkbox)
    # The focus is visible on the checkbox.
    outline = checkbox.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline not in ("none", ""), f"no focus outline on the checkbox ({outline!r})"
    page.keyboard.press("Space")
    expect(checkbox).to_be_checked()

    # Approve it: keep it and close the report. The action is chosen with the arrow keys.
    action = page.get_by_label("Action", exact=True)
    tab_to(page, action)
    page.keyboard.press("ArrowDown")
    expect(action).to_have_value("approve")
    tab_to(page, bulk_form(page).get_by_label("Public reason", exact=True))
    page.keyboard.type("Reported as spam, but it is a fair point about appendix B.")
    tab_to(page, page.get_by_role("button", name="Apply to the selected"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_have_text("Done: 1 contribution approved.")
    expect(queue_row(page, number)).to_have_count(0)

    # Still there for everyone, and the approval is in the public log.
    reader = new_context().new_page()
    reader.goto(f"{live_server}/c/{SLUG}/s/{KEYBOARD_SECTION}")
    expect(reader.locator(f"article[id='comment-{number}'] .comment-body")).to_have_text(words)
    reader.goto(f"{live_server}/c/{SLUG}/moderation-log")
    row = reader.get_by_role("table").locator("tbody tr").filter(has=reader.get_by_role("cell", name=f"#{number}", exact=True))
    expect(row.locator("td").nth(1)).to_have_text("Approved")
