"""Redlines in a real browser: the demo's diff page (inline and side by side), an amendment and the
list of amendments, at 1280 and 375 px, in light mode and in forced colours (Windows high
contrast): axe-core finds nothing, nothing scrolls sideways on a phone, brackets appear only where
colour does not show, and numbers change whole. Screenshots of each go to CONSULT_SCREENSHOT_DIR (default .cache/screenshots/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE

REPO = Path(__file__).resolve().parents[2]
CLOSED_SLUG = "federal-source-code-policy-2016"
DIFF = f"/c/{CLOSED_SLUG}/diff?from=1&to=2"
SIDE_BY_SIDE = DIFF + "&view=side-by-side"
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(scope="module")
def amendment_url(browser, live_server) -> str:
    """The demo's amendment of the 2016 draft that corrects its figures ($9 → $6 billion, 50,000 → 42,000)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{live_server}/c/{CLOSED_SLUG}/amendments")
        for href in page.locator("a[href*='/amendments/A']").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
            page.goto(live_server + href)
            if any("42,000" in text for text in page.locator(".redline ins").all_inner_texts()):
                return href
    finally:
        context.close()
    raise AssertionError("the demo's amendment of the figures was not found")


@pytest.fixture(scope="session")
def screenshots(screenshot_dir) -> Path:
    folder = screenshot_dir or REPO / ".cache" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(new_context, live_server, url, width, forced=False, javascript=True):
    # bypass_csp: the app's CSP blocks the injected axe-core otherwise (the CSP is tested in test_pages).
    page = new_context(viewport=WIDTHS[width], bypass_csp=True, java_script_enabled=javascript).new_page()
    if forced:
        page.emulate_media(forced_colors="active")
    response = page.goto(live_server + url)
    assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
    return page


def generated(page, selector: str, pseudo: str) -> str:
    """The CSS ``content`` of a pseudo-element: "none" when nothing is drawn."""
    return page.locator(selector).first.evaluate(f"el => getComputedStyle(el, '{pseudo}').content")


def pages(amendment_url) -> dict[str, str]:
    return {
        "diff-inline": DIFF,
        "diff-side-by-side": SIDE_BY_SIDE,
        "amendment": amendment_url,
        "amendments": f"/c/{CLOSED_SLUG}/amendments",
    }


@pytest.mark.parametrize("mode", ["light", "forced-colors"])
@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", ["diff-inline", "diff-side-by-side", "amendment", "amendments"])
def test_redline_pages_are_accessible_and_fit(name, width, mode, amendment_url, new_context, live_server, run_axe, axe_report, screenshots):
    url = pages(amendment_url)[name]
    page = open_page(new_context, live_server, url, width, forced=mode == "forced-colors")
    expect(page.locator(".redline-legend")).to_be_visible()
    expect(page.locator(".redline del").first).to_be_visible()
    expect(page.locator(".redline ins").first).to_be_visible()
    if mode == "light" or name == "diff-inline":
        suffix = "" if mode == "light" else "-forced-colors"
        # The whole diff is a long page: a full-page screenshot of it takes a while on a busy machine.
        # Written here, not with path=: Playwright writes files from asyncio's executor threads, which then
        # outlive the browser tests and fail every later test's check for stray threads.
        image = page.screenshot(full_page=True, timeout=90_000)
        (screenshots / f"redlines-{name}-{width}{suffix}.png").write_bytes(image)
    violations = run_axe(page)
    assert not violations, axe_report(violations, f"{url} ({width}, {mode})")
    if width == "phone":
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= PHONE["width"], f"{url} is {scroll_width}px wide on a {PHONE['width']}px phone"


@pytest.mark.parametrize("name", ["diff-inline", "diff-side-by-side", "amendment"])
def test_brackets_only_where_colour_does_not_show(name, amendment_url, new_context, live_server):
    url = pages(amendment_url)[name]
    page = open_page(new_context, live_server, url, "desktop")
    change = ".redline del"
    # On screen: colour, and no bracket drawn or written.
    assert generated(page, change, "::before") == "none" and generated(page, ".redline ins", "::after") == "none"
    background = page.locator(change).first.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    text = page.locator("main").inner_text()
    assert not re.search(r"\[[−+-]|[−+]\]", text), "brackets in the page's text"
    # Where colour does not show, brackets (and the legend says so in words).
    for media in ({"forced_colors": "active"}, {"media": "print"}):
        page.emulate_media(**media)
        assert generated(page, change, "::before").startswith('"[−"'), media
        assert generated(page, ".redline ins", "::before").startswith('"[+"'), media
        assert generated(page, ".redline ins", "::after").startswith('"]"'), media
    expect(page.locator(".redline-legend")).to_contain_text("square brackets")


def test_side_by_side_is_two_columns_on_a_desktop_and_one_on_a_phone(new_context, live_server, screenshots):
    for width in WIDTHS:
        page = open_page(new_context, live_server, SIDE_BY_SIDE, width)
        old, new = page.locator(".diff-changed .redline-side-old").first, page.locator(".diff-changed .redline-side-new").first
        expect(old.locator("del").first).to_be_visible()
        expect(new.locator("ins").first).to_be_visible()
        assert old.locator("ins").count() == 0 and new.locator("del").count() == 0
        a, b = old.bounding_box(), new.bounding_box()
        if width == "desktop":
            assert a["x"] + a["width"] <= b["x"] and a["y"] == b["y"], (a, b)  # old | new
        else:
            assert b["y"] >= a["y"] + a["height"], (a, b)  # old above new


def test_the_views_switch_without_javascript(new_context, live_server):
    page = open_page(new_context, live_server, DIFF, "phone", javascript=False)
    views = page.get_by_role("navigation", name="How to show the changes")
    expect(views.get_by_role("link", name=re.compile("^Inline"))).to_have_attribute("aria-current", "page")
    views.get_by_role("link", name=re.compile("^Side by side")).click()
    expect(page).to_have_url(re.compile(r"view=side-by-side"))
    expect(page.locator(".redline-sides").first).to_be_visible()
    page.get_by_role("button", name="Compare").click()  # comparing again keeps the view
    expect(page).to_have_url(re.compile(r"view=side-by-side"))
    views.get_by_role("link", name=re.compile("^Inline")).click()
    expect(page.locator(".redline-sides")).to_have_count(0)


def test_numbers_change_whole_in_the_demo(amendment_url, new_context, live_server):
    page = open_page(new_context, live_server, amendment_url, "desktop")
    hidden = (
        "el => { const c = el.cloneNode(true); c.querySelectorAll('.visually-hidden').forEach(s => s.remove()); return c.textContent; }"
    )
    deleted = page.locator(".redline.panel del").evaluate_all(f"els => els.map({hidden})")
    inserted = page.locator(".redline.panel ins").evaluate_all(f"els => els.map({hidden})")
    assert "50,000" in deleted and "42,000" in inserted, (deleted, inserted)  # not "50" + ",000"
