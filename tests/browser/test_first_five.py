"""A newcomer's first five minutes, in a real browser: they start a comment signed out, are asked
to sign up, confirm from the mail and land back on the section signed in, their words still in
the form, and post them. The pages they pass through, and an amendment's numbered page, have no
axe-core violations at 1280 and 390 pixels."""

from __future__ import annotations

import email
import email.policy
import re
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import expect

SLUG = "federal-source-code-policy"
SECTION = f"/c/{SLUG}/s/pilot-program"
PASSWORD = "a brand new passphrase"
WORDS = "Could the pilot publish a list of the projects it chose, and why?"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def mailed_link(folder: Path, address: str) -> str:
    """The confirmation link (path, query and "#code") last mailed to ``address``: from the stored
    message, or from the outbox file once the worker has sent it."""
    with sqlite3.connect(folder / "consult.db") as connection:
        [body] = connection.execute("SELECT body FROM outgoing_mail WHERE recipient = ? ORDER BY id DESC LIMIT 1", (address,)).fetchone()
    if body is None:
        for path in (folder / "outbox").glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == address:
                body = message.get_content()
    match = re.search(r"https?://[^/\s]+(/confirm\S*#\S+)", body or "")
    assert match, body
    return match.group(1)


def shot(page, screenshot_dir, name):
    if screenshot_dir is not None:
        (screenshot_dir / f"first-five-{name}.png").write_bytes(page.screenshot(full_page=True))


def test_a_newcomer_comments_signs_up_confirms_and_posts(new_context, live_server, tmp_path_factory, run_axe, axe_report, screenshot_dir):
    page = new_context(bypass_csp=True).new_page()  # axe-core is injected below
    [folder] = [p.parent for p in tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")]
    address = "first-five@example.org"

    page.goto(live_server + SECTION)
    page.get_by_label("Your comment", exact=True).fill(WORDS)
    page.get_by_role("button", name="Post your comment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    expect(page.get_by_text("We have kept what you wrote.")).to_be_visible()
    shot(page, screenshot_dir, "sign-up")
    page.get_by_label("Public name").fill("Fay Firstfive")
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("I agree to the terms of use and the privacy notice").check()
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_text("Check your inbox")).to_be_visible()  # the mail is stored by now

    page.goto(live_server + mailed_link(folder, address))

    expect(page.get_by_text("Welcome, Fay Firstfive.")).to_be_visible()  # confirmed, and signed in
    assert page.url.split("#")[0] == live_server + SECTION
    form = page.get_by_label("Your comment", exact=True)
    expect(form).to_have_value(WORDS)
    expect(page.get_by_text("here is what you wrote before signing in")).to_be_visible()
    shot(page, screenshot_dir, "back")
    violations = run_axe(page)
    assert not violations, axe_report(violations, SECTION + " (back, signed in)")

    page.get_by_role("button", name="Post your comment").click()
    expect(page.get_by_text(re.compile("Your comment (is published|will be published|waits)"))).to_be_visible()
    expect(page.locator("article.comment", has_text=WORDS)).to_have_count(1)
    page.goto(live_server + SECTION)
    expect(page.get_by_label("Your comment", exact=True)).to_have_value("")  # the draft is gone once posted


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
@pytest.mark.parametrize(
    "path",
    [SECTION, f"/signup?next={SECTION}", f"/c/{SLUG}/amendments", f"/c/{SLUG}/amendments/A1"],
    ids=["signed-out-form", "sign-up", "amendments", "amendment-A1"],
)
def test_the_pages_a_newcomer_meets_are_accessible(path, viewport, new_context, live_server, run_axe, axe_report):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    response = page.goto(live_server + path)
    assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
    violations = run_axe(page)
    assert not violations, axe_report(violations, f"{path} at {viewport['width']}px")


def test_an_amendment_is_named_by_its_number_and_its_old_address_leads_there(page, live_server):
    page.goto(f"{live_server}/c/{SLUG}/amendments")
    first = page.locator("article.amendment h2 a").first
    expect(first).to_have_text(re.compile(r"^Amendment A\d+ to "))
    expect(page.get_by_text("Co-sponsor puts your name on the amendment")).to_be_visible()
    page.goto(f"{live_server}/c/{SLUG}/amendments/A1")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Amendment A1 to "))
    expect(page.get_by_text("Support is a vote: it counts in the tally")).to_be_visible()
