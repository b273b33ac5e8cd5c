"""Signing in with an identity provider in a real browser, against a real OpenID provider
(panva's oidc-provider under Node, tests/oidc/provider.js): the first sign-in creates the account
on "Create your account", the next one finds the same account; the new pages pass axe-core at
desktop and phone widths."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import expect

from consult.accounts import oidc
from tests.browser.conftest import DESKTOP, PHONE
from tests.oidc.provider import ACCOUNTS, running_provider

pytestmark = pytest.mark.server

ADA = "ada-gov-1"
LABEL = "Sign in with Local ID"


@pytest.fixture(scope="module")
def _provider_process(live_server):
    with running_provider([f"{live_server}/signin/oidc/local/callback"]) as provider:
        yield provider


@pytest.fixture
def provider(live_server, _provider_process, monkeypatch):
    monkeypatch.setitem(live_server.app.config, "OIDC_PROVIDERS", [_provider_process.settings(label=LABEL)])
    oidc.clear_cache()
    yield _provider_process
    oidc.clear_cache()


def _offline(context) -> None:
    """The provider's own pages load a web font from Google: not on a closed network."""
    context.route("**/fonts.googleapis.com/**", lambda route: route.abort())


def _accounts(live_server, tmp_path_factory, email: str) -> list[tuple]:
    [database] = tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT users.id, users.display_name, identity_links.subject FROM users "
            "LEFT JOIN identity_links ON identity_links.user_id = users.id WHERE users.email = ?",
            (email,),
        ).fetchall()


def _sign_in_at_provider(page, login: str) -> None:
    page.get_by_placeholder("Enter any login").fill(login)
    page.get_by_placeholder("and password").fill("any password")
    page.get_by_role("button", name="Sign-in").click()


def _axe_clean(page, run_axe, axe_report, what: str) -> None:
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        violations = run_axe(page)
        assert violations == [], f"{what} at {viewport['width']}px: " + axe_report(violations, page.url)
    page.set_viewport_size(DESKTOP)


def test_a_person_signs_in_with_the_provider_creates_the_account_and_finds_it_again(
    new_context, live_server, provider, run_axe, axe_report, tmp_path_factory
):
    context = new_context(bypass_csp=True)
    _offline(context)
    page = context.new_page()
    page.goto(f"{live_server}/signin")
    _axe_clean(page, run_axe, axe_report, "the sign-in page with a provider")

    page.get_by_role("link", name=LABEL).click()
    _sign_in_at_provider(page, ADA)

    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    assert page.url == f"{live_server}/signin/oidc/new"
    expect(page.get_by_label("Public name")).to_have_value(ACCOUNTS[ADA]["name"])
    expect(page.get_by_label("Email address")).to_have_value(ACCOUNTS[ADA]["email"])
    _axe_clean(page, run_axe, axe_report, "Create your account")
    page.get_by_role("button", name="Continue").click()

    # The terms step (consult/policies): a new account has agreed to nothing yet.
    expect(page.get_by_role("heading", name="Before you continue")).to_be_visible()
    assert page.url == f"{live_server}/agree"
    page.get_by_label("I agree to the terms of use and the privacy notice").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text(f"Welcome, {ACCOUNTS[ADA]['name']}.")).to_be_visible()
    [(user_id, name, subject)] = _accounts(live_server, tmp_path_factory, ACCOUNTS[ADA]["email"])
    assert (name, subject) == (ACCOUNTS[ADA]["name"], ADA)

    page.goto(f"{live_server}/account")
    page.get_by_role("link", name="How you sign in").click()
    expect(page.get_by_text("Your account has no password.")).to_be_visible()
    expect(page.get_by_role("button", name="Unlink Local ID")).to_be_visible()
    _axe_clean(page, run_axe, axe_report, "How you sign in")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    context.clear_cookies()  # the provider forgets the person too, and asks again
    page.goto(f"{live_server}/signin")
    page.get_by_role("link", name=LABEL).click()
    _sign_in_at_provider(page, ADA)
    expect(page.get_by_text(f"Welcome, {ACCOUNTS[ADA]['name']}.")).to_be_visible()
    expect(page.get_by_role("link", name=ACCOUNTS[ADA]["name"])).to_be_visible()
    assert _accounts(live_server, tmp_path_factory, ACCOUNTS[ADA]["email"]) == [(user_id, name, subject)]  # no second account


def test_an_address_the_provider_did_not_verify_is_confirmed_by_mail_first(new_context, live_server, provider, run_axe, axe_report):
    context = new_context(bypass_csp=True)
    _offline(context)
    page = context.new_page()
    page.goto(f"{live_server}/signup")
    _axe_clean(page, run_axe, axe_report, "the sign-up page with a provider")
    page.get_by_role("link", name=LABEL).click()
    _sign_in_at_provider(page, "bo-gov-2")

    expect(page.get_by_label("Email address")).to_have_value("")  # not verified by the provider: not offered
    page.get_by_label("Email address").fill("bo.browser@example.org")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Check your inbox: we have sent a link to bo.browser@example.org.")).to_be_visible()

    page.get_by_role("link", name=LABEL).click()  # the provider remembers Bo: straight back
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    expect(page.get_by_role("button", name="Send the confirmation link again")).to_be_visible()
    _axe_clean(page, run_axe, axe_report, "the sign-in of an account not confirmed yet")
