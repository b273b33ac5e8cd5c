"""The mailed confirmation link in a real browser: one click confirms, and the code (after "#")
is in no request the browser makes, nor left in the address bar."""

from __future__ import annotations

import email
import email.policy
import re
import sqlite3
from pathlib import Path

from playwright.sync_api import expect

NEW_PASSWORD = "a brand new passphrase"


def mailed_code(folder: Path, address: str) -> str:
    """The confirmation code mailed to ``address``: from the stored message, or from the outbox
    file once the worker has sent it (the file is written before the row's body is cleared)."""
    with sqlite3.connect(folder / "consult.db") as connection:
        [body] = connection.execute("SELECT body FROM outgoing_mail WHERE recipient = ? ORDER BY id DESC LIMIT 1", (address,)).fetchone()
    if body is None:
        for path in (folder / "outbox").glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == address:
                body = message.get_content()
    match = re.search(r"/confirm#(\S+)", body or "")
    assert match, body
    return match.group(1)


def test_the_mailed_link_confirms_in_one_click_and_no_request_carries_the_code(page, live_server, tmp_path_factory):
    [folder] = [p.parent for p in tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")]
    address = "browser-newcomer@example.org"
    page.goto(f"{live_server}/signup")
    page.get_by_label("Public name").fill("Bea Browser")
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_label("I agree to the terms of use and the privacy notice").check()
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_text("Check your inbox")).to_be_visible()  # the mail is stored by now
    code = mailed_code(folder, address)

    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server}/confirm#{code}")

    # Followed in the browser that signed up: confirmed and signed in (tests/browser/test_first_five.py
    # follows one back to the page it came from).
    expect(page.get_by_text("Welcome, Bea Browser.")).to_be_visible()
    assert page.url == f"{live_server}/"
    assert code not in page.url
    assert requested and not [url for url in requested if code in url.split("#", 1)[0]]
