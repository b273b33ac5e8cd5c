"""The public pages in a real browser: what a reader sees, WCAG 2.1 AA by axe-core, no-JS, CSP, keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}

OPEN_SLUG = "federal-source-code-policy"
OPEN_TITLE = "Federal Source Code Policy"
CLOSED_SLUG = "federal-source-code-policy-2016"
FIRST_SECTION = "Introduction for Public Comment"

PAGES = {
    "list": "/",
    "consultation": f"/c/{OPEN_SLUG}",
    "diff": f"/c/{CLOSED_SLUG}/diff?from=1&to=2",
    "thread": f"/c/{OPEN_SLUG}/s/pilot-program",
    "reanchored": f"/c/{CLOSED_SLUG}",
    "orphaned": f"/c/{CLOSED_SLUG}/s/introduction-for-public-comment",  # a section the final policy dropped
}


def check_list(page):
    link = page.locator(".card-title").get_by_role("link", name=OPEN_TITLE, exact=True)
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", f"/c/{OPEN_SLUG}")


def check_consultation(page):
    expect(page.get_by_role("heading", level=1)).to_have_text(OPEN_TITLE)
    toc = page.get_by_role("navigation", name="Contents")
    expect(toc).to_be_visible()
    links = toc.get_by_role("link")
    assert links.count() > 5, "the table of contents lists the sections"
    for href in links.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        assert href.startswith("#s-"), href
        assert page.locator(f"[id='{href[1:]}']").count() == 1, f"{href} points at no section"
    first = links.first
    expect(first).to_have_text(FIRST_SECTION)
    assert page.locator("mark.annotation").count() >= 5, "the demo's annotations are drawn"
    target = page.locator(f"[id='{first.get_attribute('href')[1:]}']")
    expect(target.get_by_role("heading", name=FIRST_SECTION)).to_be_visible()


def check_diff(page):
    expect(page.get_by_role("heading", level=1)).to_have_text("What changed from version 1 to version 2")
    expect(page.get_by_text(re.compile(r"^\d+ sections changed, \d+ added, \d+ removed, \d+ unchanged\.$"))).to_be_visible()
    changed = int(re.match(r"\d+", page.get_by_text(re.compile(r"sections changed")).inner_text()).group())
    assert changed > 0
    # Beyond the legend's own example <del> and <ins>, the sections carry real redlines.
    assert page.locator(".diff-section del").count() > 0
    assert page.locator(".diff-section ins").count() > 0
    expect(page.locator(".diff-section del").first).to_be_visible()
    expect(page.locator(".diff-section ins").first).to_be_visible()


def check_thread(page):
    expect(page.get_by_role("heading", level=1)).to_have_text("5.1 Pilot Program")
    expect(page.locator(".section-body mark.annotation").first).to_be_visible()
    expect(page.locator("article.comment .replies article.comment").first).to_be_visible()  # a threaded reply
    # Signed out: the form is there, and says that posting asks them to sign up or in (their words are kept).
    expect(page.get_by_label("Your comment", exact=True)).to_have_count(1)
    expect(page.get_by_role("link", name="Sign in")).to_have_count(2)


def check_reanchored(page):
    """The final 2016 policy with the draft's annotations placed on it, and the orphaned ones listed."""
    fold = page.locator("details.section-fold").filter(has=page.locator("mark.annotation")).first
    fold.locator("> summary").click()  # long sections are folded behind their first words
    expect(fold.locator("mark.annotation").first).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Comments on words no longer in version 2"))).to_be_visible()


def check_orphaned(page):
    """The thread of a section version 2 dropped: its annotation says its passage is gone, and a
    screen reader hears what it quoted, and from which version, before the quote."""
    expect(page.get_by_text("This section is not in version 2 of the text.")).to_be_visible()
    expect(page.get_by_text("The passage this quoted is no longer in version 2.")).to_be_visible()
    quote = page.locator(".quote-orphaned blockquote").first
    expect(quote).to_contain_text("It quoted, in version 1: We welcome your input")
    expect(page.get_by_label("Your comment", exact=True)).to_have_count(0)


CHECKS = {
    "list": check_list,
    "consultation": check_consultation,
    "diff": check_diff,
    "thread": check_thread,
    "reanchored": check_reanchored,
    "orphaned": check_orphaned,
}


def open_for_axe(new_context, live_server, name, viewport):
    # bypass_csp: the app's CSP (script-src 'self', no inline script) would block the injected
    # axe-core. The CSP itself is tested below, in test_csp_blocks_inline_script, without bypass.
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    response = page.goto(live_server + PAGES[name])
    assert response is not None and response.ok, f"{PAGES[name]}: HTTP {response and response.status}"
    return page


def screenshot(page, screenshot_dir, name):
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_content_and_accessibility(name, new_context, live_server, run_axe, axe_report, screenshot_dir):
    page = open_for_axe(new_context, live_server, name, DESKTOP)
    CHECKS[name](page)
    screenshot(page, screenshot_dir, f"{name}-desktop")
    violations = run_axe(page)
    assert not violations, axe_report(violations, PAGES[name])


@pytest.mark.parametrize("name", list(PAGES))
def test_page_accessibility_on_phone(name, new_context, live_server, run_axe, axe_report, screenshot_dir):
    page = open_for_axe(new_context, live_server, name, PHONE)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshot(page, screenshot_dir, f"{name}-phone")
    violations = run_axe(page)
    assert not violations, axe_report(violations, PAGES[name] + " (phone)")


# The outermost elements whose box reaches past the right edge of the viewport.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const describe = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 0.5 && !found.some(f => f.contains(el))) found.push(el);
  }
  return found.slice(0, 5).map(el => `${describe(el)} (${Math.round(el.getBoundingClientRect().width)}px wide)`);
}"""


@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_phone_width(name, new_context, live_server):
    """WCAG 1.4.10 Reflow (AA), which axe does not check: no sideways scrolling at 375px."""
    page = new_context(viewport=PHONE).new_page()
    page.goto(live_server + PAGES[name])
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], (
        f"{PAGES[name]} is {scroll_width}px wide on a {PHONE['width']}px phone; too wide: {page.evaluate(OVERFLOWING)}"
    )


def test_consultation_works_without_javascript(new_context, live_server):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(live_server + PAGES["consultation"])
    expect(page.get_by_role("heading", level=1)).to_have_text(OPEN_TITLE)
    toc = page.get_by_role("navigation", name="Contents")
    link = toc.get_by_role("link").nth(3)
    href = link.get_attribute("href")
    heading = link.inner_text()
    link.click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    section = page.locator(f"[id='{href[1:]}']")
    expect(section.get_by_role("heading", name=heading, exact=True)).to_be_in_viewport()


def test_csp_blocks_inline_script(page, live_server):
    response = page.goto(live_server + PAGES["consultation"])
    assert "script-src 'self'" in response.headers.get("content-security-policy", "")
    try:
        page.add_script_tag(content="window.__pwned = true")
    except Exception:
        pass  # Playwright may report the refused script; what matters is that it did not run
    assert page.evaluate("window.__pwned === undefined")


def test_tab_from_top_focuses_skip_link(page, live_server):
    page.goto(live_server + "/signin")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to main content")
    expect(focused).to_have_attribute("href", "#main")
    expect(focused).to_be_visible()  # a skip link that stays hidden on focus helps nobody
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def test_author_signs_in_through_the_form(page, live_server):
    page.goto(live_server + "/signin")
    page.get_by_label("Email address").fill("author@demo.consult.example")
    page.get_by_label("Password", exact=True).fill("demo-password-1")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in").click()
    response = navigation.value
    assert response is not None and response.ok, f"signing in answered HTTP {response and response.status}"
    assert "/signin" not in page.url, "still on the sign-in page: " + page.locator("main").inner_text()[:500]
    header = page.locator("header.site-header")
    expect(header.get_by_role("link", name="Alex Author")).to_be_visible()
    expect(header.get_by_role("button", name="Sign out")).to_be_visible()
    expect(header.get_by_role("link", name="Sign in")).to_have_count(0)
