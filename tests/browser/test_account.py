"""The account page in a real browser (issue 16): a citizen changes their email address (by the
link mailed to the new one) and their password, signs in with the new ones elsewhere, sees both
browsers on the sessions page and signs the other out; axe-core finds nothing on the account,
email-change and sessions pages at desktop and phone widths."""

from __future__ import annotations

import email
import email.policy
import re
import sqlite3
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in

FIRST_PASSWORD = "a first long passphrase"
NEW_PASSWORD = "a second long passphrase"
OLD_ADDRESS = "rae-renamer@example.org"
NEW_ADDRESS = "rae-moved@example.org"


def mailed_code(folder: Path, address: str, page: str) -> str:
    """The code of the latest message to ``address`` linking to ``page``: from the stored message,
    or from the outbox file once the worker has sent it."""
    pattern = re.compile(rf"{re.escape(page)}#(\S+)")
    with sqlite3.connect(folder / "consult.db") as connection:
        bodies = [body for (body,) in connection.execute("SELECT body FROM outgoing_mail WHERE recipient = ? ORDER BY id DESC", (address,))]
    for path in sorted((folder / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            bodies.append(message.get_content())
    for body in bodies:
        if body and (match := pattern.search(body)):
            return match.group(1)
    raise AssertionError(f"no {page}#CODE mailed to {address}")


def no_axe_violations(page, run_axe, axe_report, where: str) -> None:
    violations = run_axe(page)
    assert not violations, axe_report(violations, where)


def test_a_citizen_changes_email_and_password_and_manages_sessions(new_context, live_server, tmp_path_factory, run_axe, axe_report):
    [folder] = [p.parent for p in tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")]
    laptop = new_context(viewport=DESKTOP, bypass_csp=True)
    page = laptop.new_page()

    # A new citizen, so that the demo's accounts stay as the other tests expect them.
    page.goto(f"{live_server}/signup")
    page.get_by_label("Public name").fill("Rae Renamer")
    page.get_by_label("Email address").fill(OLD_ADDRESS)
    page.get_by_label("Password", exact=True).fill(FIRST_PASSWORD)
    page.get_by_label("Repeat the password").fill(FIRST_PASSWORD)
    page.get_by_label("I agree to the terms of use and the privacy notice").check()
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_text("Check your inbox")).to_be_visible()
    page.goto(f"{live_server}/confirm#{mailed_code(folder, OLD_ADDRESS, '/confirm')}")
    expect(page.get_by_text("Your email address is confirmed.")).to_be_visible()
    expect(page.get_by_text("Welcome, Rae Renamer.")).to_be_visible()  # the link signs in the browser that signed up

    # The account page, then the email change: asked with the password, made by the mailed link.
    page.goto(f"{live_server}/account")
    expect(page.get_by_role("heading", name="Privacy and security")).to_be_visible()
    no_axe_violations(page, run_axe, axe_report, "/account")
    page.get_by_role("link", name="Change your email address").click()
    no_axe_violations(page, run_axe, axe_report, "/account/email")
    page.get_by_label("New email address").fill(NEW_ADDRESS)
    page.get_by_label("Current password").fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_text(f"We have sent a link to {NEW_ADDRESS}.")).to_be_visible()

    page.goto(f"{live_server}/account/email/confirm")  # the page without a code, as axe sees it
    no_axe_violations(page, run_axe, axe_report, "/account/email/confirm")
    page.goto(f"{live_server}/account")  # (from the same page, only the fragment would change: no load)
    page.goto(f"{live_server}/account/email/confirm#{mailed_code(folder, NEW_ADDRESS, '/account/email/confirm')}")
    expect(page.get_by_text(f"Your email address is now {NEW_ADDRESS}.")).to_be_visible()

    # The password.
    page.goto(f"{live_server}/account")
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Current password").fill(FIRST_PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()

    # Another browser signs in with the new address and password.
    phone = new_context(viewport=PHONE, bypass_csp=True).new_page()
    sign_in(phone, live_server, NEW_ADDRESS, NEW_PASSWORD)

    # The sessions page lists both; "sign out everywhere else" ends the phone's.
    page.goto(f"{live_server}/account")
    page.get_by_role("link", name="Where you are signed in").click()
    sessions = page.locator(".session-list > li")
    expect(sessions).to_have_count(2)
    expect(page.locator(".session-list > li", has_text="This browser")).to_have_count(1)
    no_axe_violations(page, run_axe, axe_report, "/account/sessions")
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_text("Signed out everywhere else (1 browser).")).to_be_visible()
    expect(sessions).to_have_count(1)

    phone.goto(f"{live_server}/account")
    assert "/signin" in phone.url  # the phone was signed out, on the server

    # Phone widths: the same pages, signed in again on the phone.
    sign_in(phone, live_server, NEW_ADDRESS, NEW_PASSWORD)
    for path in ("/account", "/account/email", "/account/email/confirm", "/account/sessions"):
        phone.goto(live_server + path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        no_axe_violations(phone, run_axe, axe_report, path + " (phone)")
