"""The API's pages in a real browser: the documentation page (written on the server from the
OpenAPI description, nothing loaded from another site) and the API tokens' page pass axe-core at
desktop and phone widths; a token made there works against the API."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in


def test_the_api_documentation_passes_axe_and_loads_nothing_from_elsewhere(new_context, live_server, run_axe, axe_report):
    for viewport in (DESKTOP, PHONE):
        page = new_context(viewport=viewport, bypass_csp=True).new_page()  # bypass_csp: axe-core is injected
        requested: list[str] = []
        page.on("request", lambda request, seen=requested: seen.append(request.url))
        page.goto(f"{live_server}/api/v1/docs")
        expect(page.get_by_role("heading", level=1)).to_have_text("Consult's API")
        expect(page.get_by_role("heading", name="POST /api/v1/consultations/{slug}/comments")).to_be_visible()
        page.get_by_role("link", name="Tokens", exact=True).click()
        assert page.url.endswith("#authentication")
        assert all(url.startswith(live_server) for url in requested), [u for u in requested if not u.startswith(live_server)]
        violations = run_axe(page)
        assert not violations, axe_report(violations, f"/api/v1/docs at {viewport['width']}px")


def test_a_token_made_on_the_account_works_and_the_page_passes_axe(new_context, live_server, run_axe, axe_report):
    context = new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    sign_in(page, live_server, "citizen2@demo.consult.example")
    page.goto(f"{live_server}/account")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Browser test script")
    page.get_by_role("group", name="Expires after").get_by_label("7 days").check()
    page.get_by_role("button", name="Make the token").click()

    shown = page.locator("#new-token")
    expect(shown).to_contain_text("shown only this once")
    secret = re.search(r"cst_[A-Za-z0-9_-]+", shown.inner_text()).group(0)
    violations = run_axe(page)
    assert not violations, axe_report(violations, "/account/tokens with a new token")

    answer = context.request.get(f"{live_server}/api/v1/consultations", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200 and answer.json()["consultations"]

    phone = new_context(viewport=PHONE, bypass_csp=True).new_page()
    sign_in(phone, live_server, "citizen2@demo.consult.example")
    phone.goto(f"{live_server}/account/tokens")
    expect(phone.get_by_role("cell", name="Browser test script", exact=True)).to_be_visible()
    assert secret not in phone.content()
    violations = run_axe(phone)
    assert not violations, axe_report(violations, "/account/tokens at 375px")
