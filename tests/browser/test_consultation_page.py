"""The consultation's page in a real browser (issue 17, points 1 and 2): the first screen says the
state, the days left and the figures and offers one action, at 1280 and 390 px; a phone page stays
under 12,000 px; a keyboard user reaches section 5's "Take part" in a dozen Tabs; each section has
one "Take part" disclosure (none on notes blocks), usable without JavaScript; axe-core finds nothing
at both widths, light and forced colours, signed out and signed in. Screenshots go to
``CONSULT_SCREENSHOT_DIR`` or ``.cache/screenshots/``.

Nothing here writes to the live server's database (the vote test withdraws its vote again).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import REPO, sign_in

SLUG = "federal-source-code-policy"
PAST_SLUG = "federal-source-code-policy-2016"
CITIZEN = "citizen@demo.consult.example"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture
def shots(screenshot_dir) -> Path:
    folder = screenshot_dir or REPO / ".cache" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save(path: Path, png: bytes) -> None:
    # Written here, not with path=: Playwright writes those from threads that outlive the test.
    path.write_bytes(png)


def in_first_screen(page, locator, viewport) -> None:
    """``locator`` is drawn wholly inside the viewport before any scrolling."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], f"{locator} is at {box}, below the first screen"
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], f"{locator} is at {box}, beside the first screen"


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_the_first_screen_says_the_state_the_days_left_the_figures_and_offers_one_action(name, new_context, live_server, shots):
    viewport = VIEWPORTS[name]
    page = new_context(viewport=viewport, has_touch=name == "phone").new_page()
    page.goto(f"{live_server}/c/{SLUG}")
    assert page.evaluate("window.scrollY") == 0
    hero = page.locator(".consultation-hero")
    in_first_screen(page, hero.get_by_role("heading", level=1), viewport)
    in_first_screen(page, hero.locator(".state"), viewport)
    expect(hero.locator(".state")).to_have_text("Open")
    days = hero.locator(".days-left")
    in_first_screen(page, days, viewport)
    expect(days).to_have_text(re.compile(r"^(4[4-6]) days left$"))  # the demo closes in 45 days
    figures = hero.get_by_role("list", name="Participation so far")
    in_first_screen(page, figures, viewport)
    expect(figures).to_contain_text(re.compile(r"\d+ people taking part"))
    expect(figures).to_contain_text(re.compile(r"[1-9]\d* comments"))
    expect(figures).to_contain_text(re.compile(r"[1-9]\d* amendments"))
    action = page.get_by_role("link", name="Have your say", exact=True)
    expect(action).to_have_count(1)
    in_first_screen(page, action, viewport)
    # The rest of the consultation is one click away from the top.
    nav = page.get_by_role("navigation", name="This consultation")
    for label in ("Discussion", "Amendments", "Statements", "Opinion map", "Moderation log", "Record (ZIP)"):
        expect(nav.get_by_role("link", name=re.compile("^" + re.escape(label)))).to_be_visible()
    save(shots / f"consultation-{name}.png", page.screenshot(full_page=True))
    save(shots / f"consultation-{name}-first-screen.png", page.screenshot())
    # The action leads to how to take part, just above the text.
    action.click()
    expect(page).to_have_url(re.compile("#take-part$"))
    expect(page.get_by_role("heading", name="How to take part")).to_be_in_viewport()


def test_the_phone_page_is_under_12000_px(new_context, live_server):
    page = new_context(viewport=PHONE, has_touch=True).new_page()
    page.goto(f"{live_server}/c/{SLUG}")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 12_000, f"the consultation page is {height}px long on a 390px phone"


def test_a_keyboard_user_reaches_section_5s_take_part_in_at_most_12_tabs(page, live_server):
    page.goto(f"{live_server}/c/{SLUG}")
    fifth = page.get_by_role("navigation", name="Contents").get_by_role("link").nth(4)
    key = fifth.get_attribute("href").removeprefix("#s-")
    take_part = page.locator(f"[id='s-{key}'] details.take-part > summary")
    presses = 0

    def tab_until(locator):
        nonlocal presses
        while not locator.evaluate("el => el === document.activeElement"):
            assert presses < 12, f"12 presses of Tab and still not at {locator}"
            page.keyboard.press("Tab")
            presses += 1

    tab_until(page.get_by_role("link", name="Skip to the contents"))
    page.keyboard.press("Enter")
    tab_until(fifth)
    page.keyboard.press("Enter")
    tab_until(take_part)
    assert presses <= 12
    expect(take_part).to_have_accessible_name(re.compile(r"^Take part in "))
    page.keyboard.press("Enter")  # the disclosure opens: Comment, Propose, the vote, Follow
    expect(page.locator(f"[id='s-{key}'] .take-part-panel")).to_be_visible()


def test_one_take_part_per_section_and_none_on_notes(page, live_server):
    page.goto(f"{live_server}/c/{SLUG}")
    toc = page.get_by_role("navigation", name="Contents")
    headings = toc.get_by_role("link").all_inner_texts()
    assert "Footnotes" not in headings, "notes blocks are the notes of their section, not sections in the contents"
    sections = page.locator("section.policy-section")
    assert sections.count() == len(headings)
    for index in range(sections.count()):
        section = sections.nth(index)
        body = section.locator(".section-body").first
        text = body.text_content().strip() if body.count() else ""  # a heading alone shows no body
        expect(section.locator("details.take-part")).to_have_count(1 if text else 0)
    # The policy's notes are real footnotes of the section citing them: the marker leads to its
    # note and the note back, both named in words.
    section = page.locator("[id='s-introduction']")
    section.locator("details.section-fold > summary").click()
    marker = section.get_by_role("link", name="Footnote 1", exact=True)
    expect(marker).to_have_attribute("href", "#p-introduction-fn1")
    notes = section.get_by_role("region", name="Footnotes")
    expect(notes.locator("li")).to_have_count(12)
    marker.click()
    note = page.locator("[id='p-introduction-fn1']")
    expect(note).to_be_in_viewport()
    note.get_by_role("link", name="Back to the text of footnote 1").click()
    expect(page.locator("[id='p-introduction-fnr1']")).to_be_in_viewport()


def test_take_part_and_the_folds_work_without_javascript(new_context, live_server):
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}")
    section = page.locator("[id='s-objectives']")
    body = section.locator("[id='t-objectives']")
    expect(body).to_be_hidden()  # a long section is folded behind its first words
    expect(section.locator(".teaser")).to_be_visible()
    section.get_by_text("Read the whole section").click()
    expect(body).to_be_visible()
    expect(section.locator(".teaser")).to_be_hidden()
    panel = section.locator(".take-part-panel")
    expect(panel).to_be_hidden()
    section.locator("details.take-part > summary").click()
    expect(panel).to_be_visible()
    comment = panel.get_by_role("link", name=re.compile(r"^Comment on this section"))
    expect(comment).to_have_attribute("data-discussion", f"/c/{SLUG}/s/objectives/discussion")
    # Touch targets: every control of the panel is at least 44 px high.
    for control in panel.locator("a.button, button.button, summary").all():
        assert control.bounding_box()["height"] >= 44, control
    support = panel.get_by_role("button", name="Support the section 1. Objectives", exact=True)
    support.click()
    # Back at the section's vote: the address names it, so the disclosure is open again.
    panel = page.locator("[id='s-objectives'] .take-part-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".your-vote")).to_have_text("your vote: support")
    panel.get_by_role("button", name=re.compile("^Withdraw my vote")).click()
    expect(panel).to_be_visible()
    expect(panel.locator(".your-vote")).to_have_count(0)
    comment_page = page.locator("[id='s-objectives'] .take-part-panel").get_by_role("link", name=re.compile(r"^Comment on this section"))
    comment_page.click()
    expect(page.get_by_label("Your comment", exact=True)).to_be_visible()


def test_the_phone_header_never_leaves_sign_out_alone(new_context, live_server):
    page = new_context(viewport=PHONE, has_touch=True).new_page()
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}")
    items = page.locator("header.site-header .nav-list > li")
    rows: dict[int, int] = {}
    for box in (item.bounding_box() for item in items.all()):
        rows[round(box["y"])] = rows.get(round(box["y"]), 0) + 1
    sign_out = page.get_by_role("button", name="Sign out").bounding_box()
    assert rows[round(page.locator("header.site-header .nav-list > li").last.bounding_box()["y"])] > 1, rows
    assert sign_out["y"] + sign_out["height"] <= PHONE["height"]


@pytest.mark.parametrize("who", [None, CITIZEN], ids=["signed-out", "participant"])
@pytest.mark.parametrize("forced", [False, True], ids=["light", "forced-colors"])
@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_the_consultation_page_has_no_axe_violations(name, forced, who, new_context, live_server, run_axe, axe_report, shots):
    page = new_context(viewport=VIEWPORTS[name], bypass_csp=True).new_page()
    if forced:
        page.emulate_media(forced_colors="active")
    if who:
        sign_in(page, live_server, who)
    for path in (f"/c/{SLUG}", f"/c/{PAST_SLUG}"):
        page.goto(live_server + path)
        # Open a section's disclosure and its text, so what they hold is checked too.
        first = page.locator("section.policy-section").filter(has=page.locator("details.take-part")).first
        if first.count():
            first.locator("details.take-part > summary").click()
            first.locator("details.section-fold > summary").click()
        violations = run_axe(page)
        assert not violations, axe_report(violations, f"{path} ({name}, {'forced colours' if forced else 'light'}, {who or 'signed out'})")
    if not forced and who:
        page.goto(f"{live_server}/c/{SLUG}")
        save(shots / f"consultation-{name}-participant.png", page.screenshot(full_page=True))
