"""Two-factor sign-in in a real browser: an organisation admin sets it up from the page (reading
the key as a person would type it into their app), keeps the recovery codes, and is asked for a
code at the next sign-in; a recovery code works once. axe-core on every page of it, at two widths.

The admin is made for the test (signed up, confirmed, and made admin of the demo organisation by
its admin): the demo's accounts sign in in other tests, which would then be asked for a code."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect

from consult.demo import ORGANISATION_SLUG
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.browser.test_confirm_link import mailed_code

ADDRESS = "tess-two-factor@example.org"
PASSWORD = "a second factor for tess"


def accessible_at_both_widths(page, run_axe, axe_report) -> None:
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        violations = run_axe(page)
        assert violations == [], axe_report(violations, f"{page.url} at {viewport['width']}px")
    page.set_viewport_size(DESKTOP)


def make_organisation_admin(new_context, live_server: str, folder) -> None:
    page = new_context().new_page()
    page.goto(f"{live_server}/signup")
    page.get_by_label("Public name").fill("Tess Two-Factor")
    page.get_by_label("Email address").fill(ADDRESS)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("I agree to the terms of use and the privacy notice").check()
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_text("Check your inbox")).to_be_visible()
    page.goto(f"{live_server}/confirm#{mailed_code(folder, ADDRESS)}")
    expect(page.get_by_text("Your email address is confirmed")).to_be_visible()

    olu = new_context().new_page()
    sign_in(olu, live_server, "orgadmin@demo.consult.example")
    olu.goto(f"{live_server}/o/{ORGANISATION_SLUG}/members")
    olu.get_by_label("Email address of the person").fill(ADDRESS)
    olu.get_by_label("Role").select_option("admin")
    olu.get_by_role("button", name="Add", exact=True).click()
    expect(olu.get_by_text("Tess Two-Factor is now admin")).to_be_visible()


def password_step(page, live_server: str) -> None:
    page.goto(f"{live_server}/signin")
    page.get_by_label("Email address").fill(ADDRESS)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()


def enter_code(page, code: str) -> None:
    page.get_by_label("Code from your app, or a recovery code").fill(code)
    page.get_by_role("button", name="Continue").click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def test_an_organisation_admin_enrols_and_is_asked_for_a_code_and_a_recovery_code_works_once(
    new_context, live_server, tmp_path_factory, run_axe, axe_report
):
    [folder] = [p.parent for p in tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")]
    make_organisation_admin(new_context, live_server, folder)
    page = new_context(bypass_csp=True).new_page()

    # Enrolment, from the account page.
    page.goto(f"{live_server}/signin")
    page.get_by_label("Email address").fill(ADDRESS)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/account")
    page.get_by_role("link", name="Two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("img", name="QR code to add Consult to an authenticator app")).to_be_visible()
    accessible_at_both_widths(page, run_axe, axe_report)
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from your app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    # The recovery codes, shown once.
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = [c.strip() for c in page.get_by_role("list", name="Recovery codes").get_by_role("listitem").all_inner_texts()]
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", c) for c in codes)
    accessible_at_both_widths(page, run_axe, axe_report)
    page.get_by_role("link", name="I have saved them: continue").click()
    sign_out(page)

    # The next sign-in asks for a code. The one used to enrol was this step's: a code works once,
    # so the next step's (accepted a step early, for clocks that run ahead) is entered.
    password_step(page, live_server)
    accessible_at_both_widths(page, run_axe, axe_report)
    enter_code(page, totp.at(time.time() + totp.interval))
    expect(page.get_by_text("Welcome, Tess Two-Factor.")).to_be_visible()
    page.goto(f"{live_server}/account/two-factor")
    expect(page.get_by_text("You have 10 unused recovery codes.")).to_be_visible()
    sign_out(page)

    # A recovery code instead: once.
    password_step(page, live_server)
    enter_code(page, codes[0])
    expect(page.get_by_text("You have 9 recovery codes left.")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_text("Welcome, Tess Two-Factor.")).to_be_visible()
    sign_out(page)

    password_step(page, live_server)
    enter_code(page, codes[0])
    expect(page.locator(".error-message")).to_contain_text("That code is not right")
    page.goto(f"{live_server}/account")
    assert "/signin" in page.url
