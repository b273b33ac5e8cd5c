"""The margin panel in a real browser (issue 17, point 3): a highlight's or a section's discussion
beside the text at 1280 px, in a bottom sheet at 390 px that leaves the words visible, replies and
comments posted in place, Escape, focus, axe-core in light and forced colours; and screenshots of
the panel, the sheet, the opinion map and the diff at both widths (in ``.cache/screenshots/``, or
``CONSULT_SCREENSHOT_DIR``). Each test writes words nobody else writes: they share the live
server's database."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import REPO, sign_in

SLUG = "federal-source-code-policy"
PAST = "federal-source-code-policy-2016"  # two published versions: the diff's demo
SECTION = "pilot-program"
PILOT_QUOTE = "at least 20 percent of its newly-developed custom code each year as OSS"  # Dana's demo annotation
CITIZEN = "citizen@demo.consult.example"  # Chris Citizen
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDTHS = {1280: WIDE, 390: PHONE}

# What the operating system does on a long press and a drag of the handles: select a range.
SELECT_PHRASE = """([key, phrase]) => {
  const root = document.querySelector(`.section-body[data-section-key="${key}"]`);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const at = node.data.indexOf(phrase);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + phrase.length);
    node.parentElement.scrollIntoView({block: "center"});
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    window.__phrase = range.cloneRange();
    return true;
  }
  return false;
}"""
PHRASE_BOX = (
    """() => { const r = window.__phrase.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }"""
)


@pytest.fixture
def shots(screenshot_dir) -> Path:
    folder = screenshot_dir or REPO / ".cache" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save(folder: Path, name: str, png: bytes) -> None:
    # Written here, not with Playwright's path= (its writer threads outlive the test).
    (folder / name).write_bytes(png)


def pilot_mark(page):
    """The highlight on "20 percent", the section's folded text opened first, as a reader does
    (a long section shows its first words and "Read the whole section")."""
    fold = page.locator(f"#fold-{SECTION} > summary")
    if fold.count() and not page.locator(f"#fold-{SECTION}").evaluate("d => d.open"):
        fold.click()
    section = page.locator(f".section-body[data-section-key='{SECTION}']")
    return section.locator("mark.annotation").filter(has_text="20 percent").first


def comment_link(page):
    """The section's "Comment on this section", in its "Take part" panel (opened, as a reader does)."""
    take_part = page.locator(f"#s-{SECTION} details.take-part")
    if not take_part.evaluate("d => d.open"):
        take_part.locator("summary").click()
    return page.locator(f"#s-{SECTION} a[data-discussion][href$='#comment-form']")


def viewport_box(locator) -> dict:
    """The element's box in the viewport (Playwright's bounding_box is in page coordinates only for the main frame's scroll)."""
    return locator.evaluate(
        "el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }"
    )


def test_a_reader_replies_to_a_highlight_in_the_margin_without_leaving_the_page(new_context, live_server, shots):
    page = new_context(viewport=WIDE).new_page()  # the app's real CSP: margin.js runs under it
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}")
    address = page.url
    mark = pilot_mark(page)
    mark.click()

    panel = page.locator("#margin-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#margin-heading")).to_have_text("Comments on the highlighted words")
    expect(panel.locator("#margin-heading")).to_be_focused()
    expect(panel).to_contain_text("Why 20 percent?")  # Dana's annotation
    expect(panel.locator("blockquote.quote").first).to_contain_text(PILOT_QUOTE)
    # Beside the text, not over it: the highlighted words and the panel do not overlap.
    words, beside = viewport_box(mark), viewport_box(panel)
    assert words["right"] <= beside["left"] and words["top"] >= 0 and words["bottom"] <= WIDE["height"], (words, beside)
    save(shots, "margin-section-1280.png", page.screenshot())

    reply = f"Margin reply {uuid.uuid4().hex[:8]}: measured in projects, please."
    panel.get_by_role("link", name=re.compile(r"^Reply to Dana")).first.click()
    box = panel.get_by_label("Your reply")
    expect(box).to_be_focused()
    box.fill(reply)
    panel.get_by_role("button", name="Post your reply").click()
    expect(panel.locator(".margin-status")).to_have_text("Your reply is published.")
    new = panel.locator("article.comment.margin-new")
    expect(new).to_contain_text(reply)
    expect(new).to_be_focused()
    assert page.url == address  # never left the page

    # Escape closes the panel; the focus goes back to the highlight's link.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    focused = page.evaluate("document.activeElement.className")
    assert focused == "annotation-link", focused

    # Stored: the section's own page (the address without JavaScript) shows it.
    page.goto(f"{live_server}/c/{SLUG}/s/{SECTION}")
    expect(page.locator("#comments")).to_contain_text(reply)


def test_an_empty_reply_is_refused_in_the_panel(new_context, live_server):
    page = new_context(viewport=WIDE).new_page()
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}")
    pilot_mark(page).click()
    panel = page.locator("#margin-panel")
    panel.get_by_role("link", name=re.compile(r"^Reply to Dana")).first.click()
    panel.get_by_role("button", name="Post your reply").click()
    expect(panel.get_by_role("alert")).to_contain_text("Write something before posting.")
    expect(panel.get_by_label("Your reply")).to_be_focused()


def test_a_keyboard_user_comments_on_a_section_in_place(new_context, live_server):
    page = new_context(viewport=WIDE).new_page()
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}")
    link = comment_link(page)
    link.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#margin-panel")
    body = panel.get_by_label("Your comment on this section")
    expect(body).to_be_focused()
    words = f"Margin comment {uuid.uuid4().hex[:8]}: publish the measure."
    page.keyboard.type(words)
    panel.get_by_role("button", name="Post your comment").click()
    expect(panel.locator(".margin-status")).to_have_text("Your comment is published.")
    expect(panel.locator("article.comment.margin-new")).to_contain_text(words)
    page.keyboard.press("Escape")
    expect(link).to_be_focused()


def test_signed_out_readers_read_the_margin_and_are_asked_to_sign_in(new_context, live_server):
    page = new_context(viewport=WIDE).new_page()
    page.goto(f"{live_server}/c/{SLUG}")
    pilot_mark(page).click()
    panel = page.locator("#margin-panel")
    expect(panel).to_contain_text("Why 20 percent?")
    sign = panel.get_by_role("link", name="Sign in to reply")
    expect(sign).to_have_attribute("href", re.compile(r"^/signin\?next=/c/" + SLUG + "%23s-" + SECTION + "$"))


def test_on_a_phone_the_bottom_sheet_leaves_the_clicked_words_visible(new_context, live_server, shots):
    page = new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}")
    mark = pilot_mark(page)
    mark.click()
    panel = page.locator("#margin-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Why 20 percent?")
    words, sheet = viewport_box(mark), viewport_box(panel)
    assert sheet["bottom"] == pytest.approx(PHONE["height"], abs=1) and sheet["top"] > PHONE["height"] / 3, sheet
    assert words["top"] >= 0 and words["bottom"] <= sheet["top"], (words, sheet)
    save(shots, "margin-sheet-390.png", page.screenshot())


def test_on_a_phone_the_selection_button_and_the_sheet_leave_the_selected_words_visible(new_context, live_server, shots):
    page = new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}")
    phrase = "Federal Government spends more than $9 billion on software"
    fold = page.locator("#fold-introduction > summary")
    if fold.count():  # a long section shows its first words: read the whole of it first
        fold.click()
    assert page.evaluate(SELECT_PHRASE, ["introduction", phrase]), "phrase not in the demo's introduction"
    button = page.get_by_role("button", name="Comment on the selected words")
    expect(button).to_be_visible()
    words, bar = page.evaluate(PHRASE_BOX), viewport_box(button)
    # A bar at the bottom of the screen, below the selected words (not over the next lines).
    assert bar["bottom"] == pytest.approx(PHONE["height"] - 8, abs=2) and words["bottom"] <= bar["top"], (words, bar)
    save(shots, "margin-selection-bar-390.png", page.screenshot())

    button.click()
    panel = page.locator("#margin-panel")
    expect(panel.get_by_label("Words you are commenting on")).to_have_value(phrase)
    expect(panel.get_by_label("Your comment on these words")).to_be_focused()
    words, sheet = page.evaluate(PHRASE_BOX), viewport_box(panel)
    assert words["top"] >= 0 and words["bottom"] <= sheet["top"], (words, sheet)
    save(shots, "margin-sheet-selection-390.png", page.screenshot())
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    # The button is gone: the focus is on the section's "Take part" (its Comment link is inside it).
    expect(page.locator("#s-introduction details.take-part > summary")).to_be_focused()


@pytest.mark.parametrize("forced", [False, True], ids=["light", "forced-colours"])
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_open_panel_has_no_axe_violations(width, forced, new_context, live_server, run_axe, axe_report, shots):
    page = new_context(viewport=WIDTHS[width], bypass_csp=True).new_page()
    if forced:
        page.emulate_media(forced_colors="active")
    sign_in(page, live_server, CITIZEN)
    page.goto(f"{live_server}/c/{SLUG}")
    comment_link(page).click()
    panel = page.locator("#margin-panel")
    expect(panel.get_by_label("Your comment on this section")).to_be_focused()
    panel.get_by_role("link", name=re.compile(r"^Reply to Dana")).first.click()  # an open reply form too
    expect(panel.get_by_label("Your reply")).to_be_visible()
    violations = run_axe(page)
    assert violations == [], axe_report(violations, page.url)
    if forced:
        save(shots, f"margin-forced-colours-{width}.png", page.screenshot())


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_screenshots_of_the_opinion_map_and_the_diff(width, new_context, live_server, shots):
    page = new_context(viewport=WIDTHS[width]).new_page()
    page.goto(f"{live_server}/c/{SLUG}/opinion-map")
    expect(page.locator("h1")).to_contain_text("Opinion map")
    save(shots, f"opinion-map-{width}.png", page.screenshot(full_page=True))
    page.goto(f"{live_server}/c/{PAST}/diff?from=1&to=2")
    expect(page.locator("main del, main ins").first).to_be_visible()
    save(shots, f"diff-{width}.png", page.screenshot())  # its first screen: the whole redline is a very long image


MANY = "federally-funded-custom-code-as-open-source-software"  # no comments in the demo


def test_a_passage_of_many_highlights_opens_its_discussion_with_and_without_scripts(new_context, live_server):
    """Above ``MAX_RANGES`` highlights a section draws its overlapping ones merged: the passage
    stays marked, opens the discussion of the annotations on its words in the margin, and without
    scripts its link leads to one of them on the section's page."""
    from consult.accounts.models import User
    from consult.comments import services
    from consult.comments.highlighting import MAX_RANGES
    from consult.core.models import db
    from consult.proposals.models import Consultation

    with live_server.app.app_context():
        c = db.session.scalar(db.select(Consultation).where(Consultation.slug == SLUG))
        people = list(db.session.scalars(db.select(User).where(User.confirmed_at.is_not(None)).order_by(User.id).limit(3)))
        words = services.anchor_text(c.current_version.section(MANY)).split()
        for n in range(MAX_RANGES + 5):  # distinct ranges, overlapping each other
            services.post_comment(
                c, actor=people[n % 3], body=f"Passage note {n}.", section_key=MANY, quote=" ".join(words[n % 37 : n % 37 + 3 + n % 4])
            )
        db.session.commit()

    page = new_context(viewport=WIDE).new_page()
    page.goto(f"{live_server}/c/{SLUG}")
    fold = page.locator(f"#fold-{MANY} > summary")
    if fold.count() and not page.locator(f"#fold-{MANY}").evaluate("d => d.open"):
        fold.click()
    section = page.locator(f".section-body[data-section-key='{MANY}']")
    assert section.locator("a.annotation-link").count() < 5
    section.locator("mark.annotation").first.click()
    panel = page.locator("#margin-panel")
    expect(panel.locator("#margin-heading")).to_have_text("Comments on the highlighted words")
    expect(panel.locator("article.comment").first).to_contain_text("Passage note")

    still = new_context(viewport=WIDE, java_script_enabled=False).new_page()
    still.goto(f"{live_server}/c/{SLUG}/s/{MANY}")
    link = still.locator(f".section-body[data-section-key='{MANY}'] a.annotation-link").first
    target = link.get_attribute("href")
    still.goto(f"{live_server}{target}")
    number = target.rsplit("/", 1)[1]
    expect(still.locator(f"#comment-{number}")).to_contain_text("Passage note")
