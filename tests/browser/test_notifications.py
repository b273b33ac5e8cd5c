"""Notifications in a real browser: the loop closed for a participant (issue 15's "Done when"),
following without JavaScript, and WCAG 2.1 AA by axe-core at desktop and phone widths on the
notifications pages and the notification settings ("My contributions" has its own, in
test_my_contributions.py).

The live server's database is shared by all browser tests: the flow works on a consultation of
its own, and the accessibility checks only read.
"""

from __future__ import annotations

import email
import email.policy
import re
import sqlite3
import time
import uuid
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.browser.test_pages import OVERFLOWING

SLUG = "federal-source-code-policy"
CITIZEN = "citizen@demo.consult.example"  # Chris Citizen
CITIZEN2 = "citizen2@demo.consult.example"  # Dana Citizen
AUTHOR = "author@demo.consult.example"  # Alex Author, of the organisation
UNREAD = re.compile(r"^Notifications \((\d+)\) ?unread$")

POLICY = """## Scope

This policy applies to every agency.

## Reporting

Agencies report on it each year.
"""


def wait_for_fan_out(tmp_path_factory, timeout: float = 30) -> None:
    """Until the worker beside the live server has fanned out every event recorded so far (it
    runs after the request that recorded them has answered)."""
    [folder] = [p.parent for p in tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")]
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(folder / "consult.db") as connection:
            [waiting] = connection.execute("SELECT count(*) FROM events WHERE fanned_out_at IS NULL").fetchone()
        if not waiting:
            return
        assert time.monotonic() < deadline, f"{waiting} events not fanned out after {timeout} s"
        time.sleep(0.1)


def mail_to(tmp_path_factory, address: str, containing: str, timeout: float = 30) -> email.message.EmailMessage:
    """The message to ``address`` that says ``containing``, once the worker has written it to the
    live server's outbox folder (mail is sent by jobs, after the fan-out)."""
    [folder] = [p.parent for p in tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")]
    deadline = time.monotonic() + timeout
    while True:
        for path in sorted((folder / "outbox").glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == address and containing in message.get_body(preferencelist=("plain",)).get_content():
                return message
        assert time.monotonic() < deadline, f"no message to {address} saying {containing!r} after {timeout} s"
        time.sleep(0.1)


def unread_link(page):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=UNREAD)


# --- 1. the loop: propose, answer, next version, and the citizen is told ---------------------------


def new_open_consultation(alex, live_server: str, title: str) -> str:
    """The author creates, writes, publishes and opens a consultation through the pages; its slug."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    alex.goto(f"{live_server}/consultations/new")
    alex.get_by_label("Title", exact=True).fill(title)
    alex.get_by_label("Web address", exact=True).fill(slug)
    alex.get_by_role("button", name="Create the draft").click()
    alex.get_by_label("Policy text (Markdown)", exact=True).fill(POLICY)
    alex.get_by_role("button", name="Save the draft").click()
    alex.goto(f"{live_server}/c/{slug}")
    alex.get_by_role("button", name="Publish version 1").click()
    expect(alex.get_by_text("Version 1 is published.")).to_be_visible()
    alex.get_by_role("button", name="Open the consultation").click()
    expect(alex.locator(".consultation-header .state")).to_have_text("Open")
    return slug


def test_a_citizen_hears_that_their_amendment_was_accepted_and_built_into_the_next_version(new_context, live_server, tmp_path_factory):
    title = f"Notified policy {uuid.uuid4().hex[:6]}"
    alex = new_context().new_page()
    sign_in(alex, live_server, AUTHOR)
    slug = new_open_consultation(alex, live_server, title)

    # Citizen A follows the consultation and proposes an amendment.
    chris = new_context().new_page()
    sign_in(chris, live_server, CITIZEN)
    chris.goto(f"{live_server}/c/{slug}")
    chris.get_by_role("button", name="Follow this consultation", exact=True).click()
    expect(chris.get_by_text("You follow this consultation now")).to_be_visible()
    expect(chris.locator(".consultation-header .follow-state")).to_have_text("Following this consultation")
    chris.locator("details.take-part > summary").filter(has_text=re.compile(r"Take part in Scope$")).click()
    chris.get_by_role("link", name="Propose an amendment to Scope", exact=True).click()
    chris.get_by_label("Or: words to replace (optional)", exact=True).fill("every agency")
    chris.get_by_label("Replace them with (optional)", exact=True).fill("every agency and its contractors")
    chris.get_by_label("Why this change?", exact=True).fill("Contractors write much of the code.")
    chris.get_by_role("button", name="Publish the amendment").click()
    expect(chris.get_by_text("Your amendment is published.")).to_be_visible()
    amendment_url = chris.url
    chris.goto(f"{live_server}/notifications")
    if chris.get_by_role("button", name="Mark all as read").count():  # the demo's, so that what follows is new
        chris.get_by_role("button", name="Mark all as read").click()
    expect(unread_link(chris)).to_have_count(0)

    # The author accepts it, starts the next version from it, publishes it and tells the followers.
    alex.goto(amendment_url)
    alex.get_by_role("group", name="Answer this amendment").get_by_label("Accepted", exact=True).check()
    alex.get_by_label("The reason", exact=True).fill("Agreed: contractors are covered.")
    alex.get_by_role("button", name="Publish the answer").click()
    expect(alex.get_by_text("Your answer is published.")).to_be_visible()
    alex.goto(f"{live_server}/c/{slug}")
    alex.locator("details.staff-panel > summary", has_text="Manage this consultation").click()  # folded
    alex.get_by_role("button", name="Start the next version from accepted amendments").click()
    alex.goto(f"{live_server}/c/{slug}")
    alex.locator("details.staff-panel > summary", has_text="Manage this consultation").click()  # folded
    alex.get_by_label("Change note for version 2", exact=True).fill("Scope now covers contractors, as amendment proposed.")
    alex.get_by_role("button", name="Publish version 2").click()
    expect(alex.get_by_text("Version 2 is published.")).to_be_visible()
    alex.locator("details.staff-panel > summary", has_text="Manage this consultation").click()  # folded
    alex.get_by_role("link", name="Send an update to followers").click()
    alex.get_by_label("Subject", exact=True).fill("Version 2 is out")
    alex.get_by_label("Your update", exact=True).fill("Thank you: version 2 takes up **your amendment**.")
    alex.get_by_role("button", name="Send the update").click()
    expect(alex.get_by_text("Your update is sent to everyone following this consultation.")).to_be_visible()

    # A sees the unread count in the header, and the notifications page says what happened.
    wait_for_fan_out(tmp_path_factory)
    chris.goto(f"{live_server}/")
    link = unread_link(chris)
    expect(link).to_be_visible()
    link.click()
    expect(chris.get_by_role("heading", level=1)).to_have_text("Notifications")
    items = chris.locator("li.notification.unread")
    update = items.filter(has_text=f"Office of Management and Budget (demo) sent an update on “{title}”: Version 2 is out")
    expect(update).to_have_count(1)
    expect(update.locator(".update-body strong")).to_have_text("your amendment")
    expect(update.get_by_text("Unread:")).to_be_visible()

    # The update was mailed at once (the default for updates), with a one-click unsubscribe link
    # that works without a session: a POST to it turns updates off.
    message = mail_to(tmp_path_factory, CITIZEN, "Version 2 is out")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = urlsplit(message["List-Unsubscribe"].strip("<>")).path
    answer = new_context().request.post(live_server + unsubscribe, form={"List-Unsubscribe": "One-Click"})
    assert answer.ok, answer.status
    chris.goto(f"{live_server}/account/notifications")
    expect(chris.get_by_label("Messages from the organisation running a consultation", exact=True)).to_have_value("off")
    chris.get_by_label("Messages from the organisation running a consultation", exact=True).select_option("immediate")
    chris.get_by_role("button", name="Save", exact=True).click()  # as it was, for the tests after this one
    expect(chris.get_by_text("Your notification settings have been saved.")).to_be_visible()

    # "My contributions" says what became of the amendment.
    mine = new_context().new_page()
    sign_in(mine, live_server, CITIZEN)
    mine.get_by_role("banner").get_by_role("link", name="My contributions").click()
    article = mine.get_by_role("article").filter(has_text=title)
    expect(article).to_have_count(1)
    expect(article.get_by_role("listitem").filter(has_text="Answered: accepted")).to_be_visible()
    expect(article.get_by_role("link", name="Incorporated into version 2")).to_be_visible()

    chris.goto(f"{live_server}/notifications")  # back from the settings page: ``items`` is read on the page shown
    label = amendment_url.rsplit("/", 1)[1]  # A1: amendments are named by their number in the consultation
    answered = items.filter(has_text=f"Alex Author answered your amendment {label} to “Scope”: accepted.")
    incorporated = items.filter(has_text=f"Your amendment {label} to “Scope” is part of version 2 of “{title}”.")
    expect(answered).to_have_count(1)
    expect(answered).to_contain_text("Agreed: contractors are covered.")
    expect(incorporated).to_have_count(1)
    answered.get_by_role("link").click()
    expect(chris).to_have_url(amendment_url)

    chris.goto(f"{live_server}/notifications")
    chris.get_by_role("button", name="Mark all as read").click()
    expect(unread_link(chris)).to_have_count(0)
    expect(chris.get_by_text("Nothing unread.")).to_be_visible()


# --- 2. following and reading without JavaScript --------------------------------------------------


def test_follow_a_section_and_mark_a_notification_read_without_javascript(new_context, live_server):
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, live_server, CITIZEN2)
    page.goto(f"{live_server}/c/{SLUG}")
    section = page.locator("section[id='s-objectives']")
    section.locator("details.take-part > summary").click()
    section.get_by_role("button", name="Follow the section 1. Objectives", exact=True).click()
    # Back at the section's "Take part" panel, opened by the address.
    expect(page).to_have_url(re.compile(rf"/c/{SLUG}#tp-objectives$"))
    expect(page.locator("section[id='s-objectives'] .follow-state")).to_have_text("Following the section 1. Objectives")
    page.locator("section[id='s-objectives']").get_by_role("button", name="Unfollow the section 1. Objectives", exact=True).click()
    expect(page.locator("section[id='s-objectives']").get_by_role("button", name="Follow the section 1. Objectives")).to_be_visible()

    page.goto(f"{live_server}/notifications")
    before = int(UNREAD.match(unread_link(page).inner_text().replace("\n", " ")).group(1))
    first = page.locator("li.notification.unread").first
    item_id = first.get_attribute("id")
    first.get_by_role("button", name="Mark as read").click()
    expect(page).to_have_url(re.compile(rf"/notifications\?*#{item_id}$"))
    expect(page.locator(f"[id='{item_id}']")).not_to_have_class(re.compile(r"\bunread\b"))
    if before > 1:
        expect(unread_link(page)).to_have_text(re.compile(rf"^Notifications \({before - 1}\)"))
    else:
        expect(unread_link(page)).to_have_count(0)


# --- 3. accessibility and reflow ------------------------------------------------------------------


def open_notifications(page, live_server):
    sign_in(page, live_server, CITIZEN2)
    page.goto(f"{live_server}/notifications")
    expect(page.locator("li.notification").first).to_be_visible()


def open_consultation_following(page, live_server):
    sign_in(page, live_server, CITIZEN)  # the demo has Chris follow the consultation and its pilot section
    page.goto(f"{live_server}/c/{SLUG}")
    expect(page.locator(".consultation-header .follow-state")).to_be_visible()


def open_updates(page, live_server):
    page.goto(f"{live_server}/c/{SLUG}/updates")
    expect(page.locator("article.update").first).to_be_visible()


def open_send_update(page, live_server):
    sign_in(page, live_server, AUTHOR)
    page.goto(f"{live_server}/c/{SLUG}/update")
    page.get_by_role("button", name="Send the update").click()  # empty: the form again, with its errors
    expect(page.get_by_role("alert")).to_be_visible()


def open_settings(page, live_server):
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/account/notifications")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


PAGES = {
    "notifications": open_notifications,
    "settings": open_settings,
    "consultation-following": open_consultation_following,
    "updates": open_updates,
    "send-update-errors": open_send_update,
}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.mark.parametrize("width", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_notification_pages_accessibility(name, width, new_context, live_server, run_axe, axe_report, screenshot_dir):
    # bypass_csp: the app's CSP would block the injected axe-core (see test_pages.py).
    page = new_context(viewport=VIEWPORTS[width], bypass_csp=True).new_page()
    PAGES[name](page, live_server)
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / f"notifications-{name}-{width}.png"), full_page=True)
    violations = run_axe(page)
    assert not violations, axe_report(violations, f"{page.url} ({name}, {width})")


@pytest.mark.parametrize("name", list(PAGES))
def test_notification_page_fits_phone_width(name, new_context, live_server):
    """WCAG 1.4.10 Reflow (AA), which axe does not check: no sideways scrolling at 375px."""
    page = new_context(viewport=PHONE).new_page()
    PAGES[name](page, live_server)
    page.wait_for_load_state("load")  # after a click, measure the page once its stylesheets are in
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], (
        f"{page.url} ({name}) is {scroll_width}px wide on a {PHONE['width']}px phone; too wide: {page.evaluate(OVERFLOWING)}"
    )
