"""Authoring and moderation tools in a real browser (issue 17): the editor's preview; a moderator
hides and blocks from the contribution itself and uses the queue's "Select all" (with and
without JavaScript) and its filter by consultation; the outcome chart's labels; axe-core on
every page touched, at desktop and phone widths, light and forced colours. Screenshots go to
``CONSULT_SCREENSHOT_DIR`` or ``.cache/screenshots/``.

The live server's database is shared by all browser tests: this file writes only on a section no
demo comment and no other browser test uses, and the block it makes on Dana is lifted before the
test ends (also when it fails), so later tests find her as the demo made her.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, REPO, format_violations, sign_in

SLUG = "federal-source-code-policy"
PAST_SLUG = "federal-source-code-policy-2016"
ORGANISATION = "omb"
AUTHOR = "author@demo.consult.example"
MODERATOR = "moderator@demo.consult.example"
CITIZEN = "citizen@demo.consult.example"  # Chris Citizen
CITIZEN2 = "citizen2@demo.consult.example"  # Dana Citizen
SECTION = "introduction"  # no demo comment and no other browser test writes here


@pytest.fixture
def shots(screenshot_dir) -> Path:
    folder = screenshot_dir or REPO / ".cache" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save(path: Path, png: bytes) -> None:
    """Write a screenshot ourselves: Playwright's ``path=`` writes it from a thread pool whose
    threads outlive the test, and the unit tests after this folder refuse to run beside them."""
    path.write_bytes(png)


def live_database(tmp_path_factory) -> Path:
    [path] = tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")
    return path


def post_comment(page, live_server, body) -> int:
    page.goto(f"{live_server}/c/{SLUG}/s/{SECTION}")
    page.get_by_label("Your comment", exact=True).fill(body)
    page.get_by_role("button", name="Post your comment").click()
    expect(page.get_by_text("Your comment is published.")).to_be_visible()
    card = page.locator("article.comment").filter(has=page.locator(".comment-body", has_text=body))
    return int(re.fullmatch(r"comment-(\d+)", card.get_attribute("id")).group(1))


# --- 1. the editor's preview --------------------------------------------------------------------


def test_preview_in_the_editor_saves_nothing(new_context, live_server, shots):
    page = new_context().new_page()
    sign_in(page, live_server, AUTHOR)
    page.goto(f"{live_server}/c/{SLUG}/text")
    editor = page.get_by_label("Policy text (Markdown)")
    saved_before = editor.input_value()
    typed = (
        "## Purpose\n\nThis policy is **for preview only**.\n\n"
        "![Chart of code reuse, 2010 to 2015](https://stats.example.org/reuse.png)\n\n## Scope\n\nEvery agency.\n"
    )
    editor.fill(typed)
    page.get_by_role("button", name="Preview", exact=True).click()
    preview = page.get_by_role("region", name="Preview")
    expect(preview.get_by_role("heading", name="Purpose", level=3)).to_be_visible()
    expect(preview.locator("strong", has_text="for preview only")).to_be_visible()
    expect(preview.get_by_text("Chart of code reuse, 2010 to 2015", exact=False).first).to_be_visible()
    expect(preview.get_by_text("1 image is not kept")).to_be_visible()
    expect(preview.locator("img")).to_have_count(0)
    expect(page.get_by_label("Policy text (Markdown)")).to_have_value(typed)  # what was typed is kept
    save(shots / "authoring-preview-desktop.png", page.screenshot(full_page=True))
    # Nothing was saved: the editor opened afresh shows the text as it was.
    page.goto(f"{live_server}/c/{SLUG}/text")
    expect(page.get_by_label("Policy text (Markdown)")).to_have_value(saved_before)


# --- 2. moderation from the item, select all, the filter -----------------------------------------


def test_a_moderator_moderates_from_the_item_and_works_the_queue(new_context, live_server, tmp_path_factory, shots):
    chris, dana = new_context().new_page(), new_context().new_page()
    sign_in(chris, live_server, CITIZEN)
    sign_in(dana, live_server, CITIZEN2)
    chris_number = post_comment(chris, live_server, "The introduction should say who wrote the policy, in plain words.")
    dana_number = post_comment(dana, live_server, "Dana's remark on the introduction, written for the authoring test.")
    mo = new_context().new_page()
    sign_in(mo, live_server, MODERATOR)
    database = live_database(tmp_path_factory)
    try:
        # Hide Chris's comment from the comment itself, with a reason.
        mo.goto(f"{live_server}/c/{SLUG}/s/{SECTION}")
        card = mo.locator(f"article[id='comment-{chris_number}']")
        card.locator("summary", has_text="Moderate").click()
        card.get_by_label("Public reason").fill("Hidden by the authoring browser test.")
        save(shots / "authoring-moderate-from-item-desktop.png", mo.screenshot(full_page=True))
        card.get_by_role("button", name="Hide this contribution").click()
        expect(mo.get_by_text(f"Contribution #{chris_number} is hidden")).to_be_visible()
        expect(mo.locator(f"article[id='comment-{chris_number}'] .tombstone")).to_contain_text("Hidden by the authoring browser test.")

        # Block Dana from her comment: a reason is needed, and said on the form when missing.
        mo.goto(f"{live_server}/c/{SLUG}/s/{SECTION}")
        card = mo.locator(f"article[id='comment-{dana_number}']")
        card.locator("summary", has_text="Moderate").click()
        card.get_by_role("button", name="Block Dana Citizen").click()
        expect(mo.get_by_role("alert")).to_contain_text("Give the reason for blocking")
        expect(mo).to_have_url(re.compile(rf"/contributions/{dana_number}/moderate$"))
        mo.get_by_label("Public reason").fill("Blocked, then unblocked, by the authoring browser test.")
        mo.get_by_role("button", name="Block Dana Citizen").click()
        expect(mo.get_by_text("Dana Citizen is blocked")).to_be_visible()

        # The queue: the block is listed there, and lifted there.
        mo.goto(f"{live_server}/o/{ORGANISATION}/moderation")
        mo.get_by_role("button", name="Lift the block on Dana Citizen").click()
        expect(mo.get_by_text("The block on Dana Citizen is lifted")).to_be_visible()
    finally:
        with sqlite3.connect(database) as connection:  # never leave Dana blocked for the tests after this one
            connection.execute("DELETE FROM blocks WHERE user_id = (SELECT id FROM users WHERE email = ?)", (CITIZEN2,))

    # Something to select: Dana reports two of Chris's comments.
    reported = [post_comment(chris, live_server, f"Comment {n} on the introduction, for the queue.") for n in (1, 2)]
    for number in reported:
        dana.goto(f"{live_server}/contributions/{number}/report")
        dana.get_by_role("group", name="What is wrong with it?").get_by_label("Off topic", exact=True).check()
        dana.get_by_role("button", name="Send the report").click()
        expect(dana.get_by_text("Thank you: the moderators will look at it.")).to_be_visible()

    # Filter by consultation.
    mo.goto(f"{live_server}/o/{ORGANISATION}/moderation")
    mo.get_by_label("Consultation", exact=True).select_option(label=mo.locator(f"#queue-consultation option[value='{SLUG}']").inner_text())
    mo.get_by_role("button", name="Show", exact=True).click()
    expect(mo).to_have_url(re.compile(rf"/moderation\?consultation={SLUG}$"))
    rows = mo.locator("table.queue tbody tr")
    for number in reported:
        expect(mo.locator(f"input[name='ids'][value='{number}']")).to_have_count(1)
    for meta in rows.locator("td:nth-child(2) p.meta").all():
        assert "Federal Source Code Policy" in meta.inner_text() and "2016" not in meta.inner_text()
    mo.goto(f"{live_server}/o/{ORGANISATION}/moderation?consultation={PAST_SLUG}")
    expect(mo.locator(f"input[name='ids'][value='{reported[0]}']")).to_have_count(0)

    # Select all with JavaScript: the header's checkbox ticks and clears the page's boxes.
    mo.goto(f"{live_server}/o/{ORGANISATION}/moderation?consultation={SLUG}")
    boxes = mo.locator("table.queue tbody input[name='ids']")
    select_all = mo.get_by_role("checkbox", name="Select all on this page")
    expect(mo.locator(".select-page-button")).to_be_hidden()
    select_all.check()
    assert all(box.is_checked() for box in boxes.all())
    boxes.first.uncheck()
    assert select_all.evaluate("el => el.indeterminate")
    save(shots / "authoring-queue-select-all-desktop.png", mo.screenshot(full_page=True))
    select_all.click()  # from "some": all again
    assert all(box.is_checked() for box in boxes.all())
    select_all.click()
    assert not any(box.is_checked() for box in boxes.all())

    # Without JavaScript: a button that brings the page back with every box ticked.
    plain = new_context(java_script_enabled=False).new_page()
    sign_in(plain, live_server, MODERATOR)
    plain.goto(f"{live_server}/o/{ORGANISATION}/moderation?consultation={SLUG}")
    plain.get_by_role("button", name="Select all on this page").click()
    boxes = plain.locator("table.queue tbody input[name='ids']")
    expect(boxes.first).to_be_checked()
    assert all(box.is_checked() for box in boxes.all())
    expect(plain).to_have_url(re.compile(rf"/moderation\?consultation={SLUG}$"))
    expect(plain.get_by_role("button", name="Select none on this page")).to_be_visible()
    # Acting on the selection: approving closes the reports (the demo's reported comments too).
    plain.get_by_label("Action").select_option("approve")
    plain.get_by_role("button", name="Apply to the selected").click()
    expect(plain.get_by_text(re.compile(r"Done: \d+ contributions? approved"))).to_be_visible()
    for number in reported:
        expect(plain.locator(f"input[name='ids'][value='{number}']")).to_have_count(0)


# --- 3. the outcome chart -------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_outcome_chart_labels_are_no_larger_than_the_text_and_clear_of_the_bars(new_context, live_server, viewport, shots):
    page = new_context(viewport=viewport).new_page()
    page.goto(f"{live_server}/c/{PAST_SLUG}/outcome")
    body_size = float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)"))
    rows = page.locator("table.bar-chart tbody tr")
    assert rows.count() >= 3
    for row in rows.all():
        label, bar = row.locator("th"), row.locator("svg.bar")
        assert float(label.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) <= body_size
        label_box, bar_box = label.bounding_box(), bar.bounding_box()
        assert bar_box["x"] >= label_box["x"] + label_box["width"] + 4 or bar_box["y"] >= label_box["y"] + label_box["height"]
    save(shots / f"authoring-outcome-chart-{'phone' if viewport is PHONE else 'desktop'}.png", page.locator("table.bar-chart").screenshot())


# --- 4. axe-core on every page touched -------------------------------------------------------------

PAGES = [
    ("editor-preview", AUTHOR, f"/c/{SLUG}/text", "Preview"),
    ("details-preview", AUTHOR, f"/c/{SLUG}/edit", "Preview the summary"),
    ("queue", MODERATOR, f"/o/{ORGANISATION}/moderation?consultation={SLUG}", None),
    ("thread-moderate", MODERATOR, f"/c/{SLUG}/s/{SECTION}", "open-moderate"),
    ("themes", MODERATOR, f"/c/{SLUG}/themes", None),
    ("outcome", None, f"/c/{PAST_SLUG}/outcome", None),
    ("search", None, "/search?q=source&status=concluded", None),
]


SCREENSHOTS = {"editor-preview", "queue", "themes"}


@pytest.mark.parametrize("forced", [False, True], ids=["light", "forced-colors"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_touched_pages_have_no_axe_violations(new_context, live_server, run_axe, viewport, forced, shots):
    context = new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    if forced:
        page.emulate_media(forced_colors="active")
    signed_in = None
    failures = []
    for name, who, path, action in PAGES:
        if who != signed_in:
            context.clear_cookies()
            if who:
                sign_in(page, live_server, who)
            signed_in = who
        page.goto(live_server + path)
        if action == "open-moderate":
            summaries = page.locator("details.moderate-item > summary")
            if summaries.count():
                summaries.first.click()
        elif action:
            page.get_by_role("button", name=action, exact=True).click()
            expect(page.locator("#preview")).to_be_visible()
        violations = run_axe(page)
        if violations:
            failures.append(format_violations(violations, path))
        if name in SCREENSHOTS and not forced:
            width = "phone" if viewport is PHONE else "desktop"
            save(shots / f"authoring-{name}-{width}.png", page.screenshot(full_page=True, timeout=60_000))
    assert not failures, "\n\n".join(failures)
