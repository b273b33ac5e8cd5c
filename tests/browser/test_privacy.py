"""Download my data and delete my account, in a real browser: a new citizen comments, annotates,
proposes an amendment and votes, downloads their data (the zip checked against what they did),
then deletes their account keeping their contributions (the open record then names them only as
"Former participant N"); a second one withdraws theirs (a tombstone where someone replied, their
vote gone from the tally). axe-core at desktop and phone widths on both pages.

The live server's database is shared by all browser tests: the two citizens are new accounts of
their own, and they write only in a section no other test uses ("6. Implementation").
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, built_record, sign_in
from tests.browser.test_confirm_link import mailed_code
from tests.browser.test_pages import OVERFLOWING

SLUG = "federal-source-code-policy"
KEY, HEADING = "implementation", "6. Implementation"
CITIZEN2 = "citizen2@demo.consult.example"  # Dana Citizen
ADMIN = "admin@demo.consult.example"  # Sam Site-Admin
PASSWORD = "a long and private passphrase"
POLLS = 100  # page loads while waiting for the worker (each one a request, not a sleep)


def live_folder(tmp_path_factory) -> Path:
    [folder] = [p.parent for p in tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")]
    return folder


def new_citizen(page, live_server, folder, name, address):
    """Sign up, confirm through the mailed link, and sign in."""
    page.goto(f"{live_server}/signup")
    page.get_by_label("Public name").fill(name)
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("I agree to the terms of use and the privacy notice").check()
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_text("Check your inbox")).to_be_visible()
    page.goto(f"{live_server}/confirm#{mailed_code(folder, address)}")
    expect(page.get_by_text("Your email address is confirmed.")).to_be_visible()
    expect(page.get_by_text(f"Welcome, {name}.")).to_be_visible()  # the link signs in the browser that signed up


def comment(page, live_server, body, quote=""):
    page.goto(f"{live_server}/c/{SLUG}/s/{KEY}")
    if quote:
        page.get_by_label("Words you are commenting on (optional)").fill(quote)
    page.get_by_label("Your comment", exact=True).fill(body)
    page.get_by_role("button", name="Post your comment").click()
    expect(page.get_by_text(re.compile(r"^Your comment (on the selected words )?is published\."))).to_be_visible()
    card = page.locator("article.comment").filter(has=page.locator(".comment-body", has_text=body))
    return int(re.fullmatch(r"comment-(\d+)", card.get_attribute("id")).group(1))


def section_support(page, live_server) -> int:
    page.goto(f"{live_server}/c/{SLUG}")
    text = page.locator(f"[id='vote-{KEY}'] .tally-support").text_content()  # in the folded "Take part"
    return int(re.fullmatch(r"(\d+) support", text.strip()).group(1))


def support_section(page, live_server):
    page.goto(f"{live_server}/c/{SLUG}")
    page.locator(f"section[id='s-{KEY}'] details.take-part > summary").click()
    page.locator(f"[id='vote-{KEY}']").get_by_role("button", name=f"Support the section {HEADING}", exact=True).click()
    expect(page.locator(f"[id='vote-{KEY}']").get_by_role("button", name=f"Withdraw my vote on the section {HEADING}")).to_be_visible()


def record_text(page, live_server) -> str:
    """The open record (record.zip) as one text, once the worker has built it."""
    archive = built_record(page, f"{live_server}/c/{SLUG}/record.zip")
    return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_download_my_data_then_delete_keeping_then_withdrawing(new_context, live_server, tmp_path_factory):
    folder = live_folder(tmp_path_factory)
    pat = new_context().new_page()
    new_citizen(pat, live_server, folder, "Pat Privacy", "pat-privacy@example.org")
    said = "Ninety days is too short for a repository of this scope."
    quote = "Project Open Source will evolve over time as a community resource"
    annotated = "Who decides what the community needs?"
    comment_id = comment(pat, live_server, said)
    annotation_id = comment(pat, live_server, annotated, quote=quote)
    pat.goto(f"{live_server}/c/{SLUG}/s/{KEY}/amend")
    pat.get_by_label("Or: words to replace (optional)", exact=True).fill("Within 90 days of the publication date")
    pat.get_by_label("Replace them with (optional)", exact=True).fill("Within 180 days of the publication date")
    pat.get_by_label("Why this change?", exact=True).fill("Give agencies time to staff the repository.")
    pat.get_by_role("button", name="Publish the amendment").click()
    expect(pat).to_have_url(re.compile(r"/amendments/A\d+$"))  # its number in the consultation; its id is in the data
    amendment_id = int(pat.locator("div.vote").first.get_attribute("id").removeprefix("vote-"))
    support_section(pat, live_server)

    # Download my data: asked from the account page, built by the worker, announced, downloaded.
    pat.goto(f"{live_server}/account")
    pat.get_by_role("link", name="Download your data").click()
    pat.get_by_role("button", name="Prepare my data").click()
    expect(pat.get_by_text("We are preparing your data.")).to_be_visible()
    link = pat.get_by_role("link", name=re.compile("^Download your data prepared"))
    for _ in range(POLLS):
        if link.count():
            break
        pat.reload()
    expect(link).to_be_visible()
    expect(pat.get_by_text(re.compile(r"available until \d+ \w+ \d{4}"))).to_be_visible()
    with pat.expect_download() as downloading:
        link.click()
    archive = zipfile.ZipFile(downloading.value.path())
    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == "pat-privacy@example.org" and data["account"]["display_name"] == "Pat Privacy"
    contributions = {c["id"]: c for c in data["contributions"]}
    assert set(contributions) == {comment_id, annotation_id, amendment_id}
    assert contributions[comment_id]["body"] == said and contributions[comment_id]["section_key"] == KEY
    assert contributions[annotation_id]["quote"]["exact"] == quote
    assert "Within 180 days" in contributions[amendment_id]["amendment"]["proposed_text"]
    assert [(v["section_key"], v["value"]) for v in data["votes"]] == [(KEY, "support")]
    assert any(s["created_at"] for s in data["sessions"])
    assert any("Confirm" in m["subject"] for m in data["mail"])
    assert said in archive.read(f"contributions/{comment_id}-comment.md").decode()
    annotation_md = archive.read(f"contributions/{annotation_id}-comment.md").decode()
    assert f"> {quote}" in annotation_md and annotated in annotation_md
    assert "Within 180 days" in archive.read(f"contributions/{amendment_id}-amendment.md").decode()
    pat.goto(f"{live_server}/notifications")
    expect(pat.get_by_role("link", name=re.compile("^Your data is ready to download"))).to_be_visible()

    # Delete the account, keeping what they wrote.
    assert "Pat Privacy" in record_text(pat, live_server)
    pat.goto(f"{live_server}/account")
    pat.get_by_role("link", name="Delete your account").click()
    pat.get_by_label("Keep what I wrote, under the name “Former participant”").check()
    pat.get_by_label("Your password").fill(PASSWORD)
    pat.get_by_role("button", name="Delete my account").click()
    expect(pat.get_by_text("Your account has been deleted.")).to_be_visible()
    pat.goto(f"{live_server}/comments/{comment_id}")
    author = pat.locator(f"[id='comment-{comment_id}-by']")
    expect(author).to_have_text(re.compile(r"^Former participant \d+$"))
    pseudonym = author.inner_text()
    record = record_text(pat, live_server)
    assert "Pat Privacy" not in record and "pat-privacy@example.org" not in record
    assert pseudonym in record and said in record and "Within 180 days" in record

    # A second citizen withdraws: a tombstone where Dana replied, the rest gone, the vote uncounted.
    quinn = new_context().new_page()
    new_citizen(quinn, live_server, folder, "Quinn Withdrawn", "quinn-withdrawn@example.org")
    replied_to = comment(quinn, live_server, "Quinn's point that Dana answers.")
    alone = comment(quinn, live_server, "Quinn's point nobody answers.")
    before = section_support(quinn, live_server)
    support_section(quinn, live_server)
    assert section_support(quinn, live_server) == before + 1
    dana = new_context().new_page()
    sign_in(dana, live_server, CITIZEN2)
    dana.goto(f"{live_server}/comments/{replied_to}/reply")
    dana.get_by_label("Your reply", exact=True).fill("Dana's answer to Quinn.")
    dana.get_by_role("button", name=re.compile("^Post")).click()
    expect(dana.get_by_text("Your reply is published.")).to_be_visible()

    quinn.goto(f"{live_server}/account/delete")
    quinn.get_by_label("Withdraw what I wrote, and my votes").check()
    quinn.get_by_label("Your password").fill(PASSWORD)
    quinn.get_by_role("button", name="Delete my account").click()
    expect(quinn.get_by_text("Your account has been deleted.")).to_be_visible()
    dana.goto(f"{live_server}/c/{SLUG}/s/{KEY}")
    expect(dana.locator(f"[id='comment-{replied_to}']").get_by_text("This comment was deleted by its author.")).to_be_visible()
    expect(dana.get_by_text("Dana's answer to Quinn.")).to_be_visible()
    expect(dana.get_by_text("Quinn's point")).to_have_count(0)
    expect(dana.locator(f"[id='comment-{alone}']")).to_have_count(0)
    assert section_support(dana, live_server) == before
    record = record_text(dana, live_server)
    assert "Quinn" not in record.replace("Dana's answer to Quinn.", "") and "quinn-withdrawn@example.org" not in record


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_data_and_delete_pages_pass_axe(viewport, new_context, live_server, run_axe, axe_report):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(page, live_server, CITIZEN2)
    for path in ("/account/data", "/account/delete"):
        page.goto(live_server + path)
        assert not (violations := run_axe(page)), axe_report(violations, page.url)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], page.evaluate(OVERFLOWING)
    # and with an error on the form
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose what becomes of what you wrote.")
    assert not (violations := run_axe(page)), axe_report(violations, page.url)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_admin_erasure_pages_pass_axe(viewport, new_context, live_server, run_axe, axe_report):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(page, live_server, ADMIN)
    page.goto(f"{live_server}/account")
    page.get_by_role("link", name="Erased accounts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Erased accounts")
    assert not (violations := run_axe(page)), axe_report(violations, page.url)
    page.get_by_label(re.compile("^Erase an account")).fill("2")  # a demo account; only its page is shown
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Erase the account of "))
    assert not (violations := run_axe(page)), axe_report(violations, page.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], page.evaluate(OVERFLOWING)
    page.get_by_role("button", name="Erase this account").click()  # no reason: refused, nothing erased
    expect(page.get_by_role("alert")).to_contain_text("Say which request this erasure answers.")
    assert not (violations := run_axe(page)), axe_report(violations, page.url)
