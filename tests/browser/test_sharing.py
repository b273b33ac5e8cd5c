"""Share links and feeds in a real browser: WCAG 2.1 AA by axe-core at 1280 and 390 px on every
page kind that has them, the "Copy link" button (JavaScript) and the read-only field without it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

OPEN_SLUG = "federal-source-code-policy"
CLOSED_SLUG = "federal-source-code-policy-2016"
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 800}


def _first_href(page, url: str, selector: str) -> str:
    page.goto(url)
    return page.locator(selector).first.get_attribute("href")


@pytest.fixture(scope="module")
def paths(browser, live_server) -> dict[str, str]:
    """One page of each kind with a share preview, found through the demo's own links."""
    context = browser.new_context()
    try:
        page = context.new_page()
        amendment = _first_href(page, f"{live_server}/c/{OPEN_SLUG}/amendments", "a[href*='/amendments/A']")
        comment = _first_href(page, f"{live_server}/c/{OPEN_SLUG}/s/pilot-program", "a[href$='/share']")
    finally:
        context.close()
    return {
        "consultation": f"/c/{OPEN_SLUG}",
        "section": f"/c/{OPEN_SLUG}/s/pilot-program",
        "amendment": amendment,
        "comment": comment,
        "opinion map": f"/c/{OPEN_SLUG}/opinion-map",
        "outcome": f"/c/{CLOSED_SLUG}/outcome",
    }


KINDS = ["consultation", "section", "amendment", "comment", "opinion map", "outcome"]


@pytest.mark.parametrize("viewport", [DESKTOP, NARROW], ids=["1280", "390"])
@pytest.mark.parametrize("kind", KINDS)
def test_share_links_are_accessible(kind, viewport, paths, new_context, live_server, run_axe, axe_report, screenshot_dir):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    response = page.goto(live_server + paths[kind])
    assert response is not None and response.ok, paths[kind]
    share = page.get_by_role("region", name="Share")
    expect(share.get_by_role("link", name="Email")).to_be_visible()
    expect(share.get_by_role("button", name="Copy link")).to_be_visible()
    if screenshot_dir is not None:
        (screenshot_dir / f"share-{kind.replace(' ', '-')}-{viewport['width']}.png").write_bytes(page.screenshot(full_page=True))
    violations = run_axe(page)
    assert not violations, axe_report(violations, f"{paths[kind]} at {viewport['width']}px")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_copy_link_copies_the_address(new_context, live_server, paths):
    context = new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.goto(live_server + paths["amendment"])
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("status").filter(has_text="Link copied.")).to_be_visible()
    field = page.get_by_label("Link to this page")
    assert page.evaluate("navigator.clipboard.readText()") == field.input_value()
    assert field.input_value().endswith(paths["amendment"])


def test_without_javascript_the_address_is_in_a_read_only_field(new_context, live_server, paths):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(live_server + paths["consultation"])
    field = page.get_by_label("Link to this page")
    expect(field).to_have_attribute("readonly", "")
    assert field.input_value().endswith(paths["consultation"])
    expect(page.get_by_role("button", name="Copy link")).to_have_count(0)
