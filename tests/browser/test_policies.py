"""The site's policies in a real browser: the four public pages and the admin's editor pass axe-core
at desktop and phone widths; a significant change of the privacy notice asks a citizen again at
sign-in (on /agree, also checked by axe), and they get in after agreeing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from consult.accounts.models import User
from consult.policies.models import AGREED_KINDS, PolicyAgreement, PolicyVersion
from tests.browser.conftest import DEMO_PASSWORD, DESKTOP, PHONE, sign_in

ADMIN = "admin@demo.consult.example"  # Sam Site-Admin
CITIZEN = "citizen@demo.consult.example"  # Chris Citizen
CITIZEN2 = "citizen2@demo.consult.example"  # Dana Citizen
PUBLIC_PAGES = {
    "/terms": "Terms of use",
    "/privacy": "Privacy notice",
    "/accessibility": "Accessibility statement",
    "/cookies": "Cookie notice",
}
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])


@pytest.fixture
def everyone_agrees_afterwards(live_server, tmp_path_factory) -> Iterator[None]:
    """The live server is shared by the folder's tests: once this test has made a significant
    change, every demo account agrees to it, so the tests after this one sign in as before."""
    yield
    [database] = tmp_path_factory.getbasetemp().glob("live-server[0-9]*/consult.db")
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session, session.begin():
            for kind in AGREED_KINDS:
                latest = session.scalar(
                    select(PolicyVersion.number).where(PolicyVersion.kind == kind.value).order_by(PolicyVersion.number.desc())
                )
                for user_id in session.scalars(select(User.id)):
                    if latest and not session.scalar(
                        select(PolicyAgreement.id).where(
                            PolicyAgreement.user_id == user_id, PolicyAgreement.kind == kind.value, PolicyAgreement.version == latest
                        )
                    ):
                        session.add(PolicyAgreement(user_id=user_id, kind=kind.value, version=latest))
    finally:
        engine.dispose()


def check_axe(page, run_axe, axe_report, where: str) -> None:
    assert not (violations := run_axe(page)), axe_report(violations, where)


@VIEWPORTS
@pytest.mark.parametrize("address", list(PUBLIC_PAGES))
def test_the_policy_pages_pass_axe(address, viewport, new_context, live_server, run_axe, axe_report):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()  # axe-core is injected (see test_pages.py)
    page.goto(live_server + "/")
    page.get_by_role("navigation", name="Site policies").get_by_role("link", name=PUBLIC_PAGES[address].split()[0]).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(PUBLIC_PAGES[address])
    assert page.url == live_server + address
    check_axe(page, run_axe, axe_report, f"{address} at {viewport['width']}px")


def citizen_signs_in(new_context, live_server, email: str, viewport):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    page.goto(live_server + "/signin")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    return page


def test_a_significant_privacy_change_is_agreed_to_at_the_next_sign_in(
    new_context, live_server, run_axe, axe_report, everyone_agrees_afterwards
):
    admin = new_context(bypass_csp=True).new_page()
    sign_in(admin, live_server, ADMIN)
    admin.get_by_role("banner").get_by_role("link", name="Sam Site-Admin").click()
    admin.get_by_role("link", name="Site policies").click()
    admin.get_by_role("link", name="Edit the privacy notice").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Edit the privacy notice")
    check_axe(admin, run_axe, axe_report, "the policy editor")

    text = admin.get_by_label("Text", exact=True)
    text.fill(text.input_value() + "\n## Postcodes\n\nWe now also store the postcode you give us.\n")
    admin.get_by_label("Significant").check()
    admin.get_by_label("What changed").fill("We now store your postcode.")
    admin.get_by_role("button", name="Publish the new version").click()
    expect(admin.get_by_text("Version 2 of the privacy notice is published.")).to_be_visible()

    phone_admin = new_context(viewport=PHONE, bypass_csp=True).new_page()
    phone_admin.context.add_cookies(admin.context.cookies())
    phone_admin.goto(live_server + "/admin/policies/terms/edit")
    expect(phone_admin.get_by_role("heading", level=1)).to_have_text("Edit the terms of use")
    check_axe(phone_admin, run_axe, axe_report, "the policy editor (phone)")

    citizen = citizen_signs_in(new_context, live_server, CITIZEN, DESKTOP)
    assert citizen.url == live_server + "/agree"
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Before you continue")
    expect(citizen.get_by_role("main").get_by_text("We now store your postcode.")).to_be_visible()
    expect(citizen.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()  # not in yet
    check_axe(citizen, run_axe, axe_report, "/agree")

    citizen.get_by_role("button", name="Continue").click()  # without ticking: asked to
    expect(citizen.get_by_role("alert")).to_contain_text("Tick the box to agree")
    check_axe(citizen, run_axe, axe_report, "/agree with its error")
    citizen.get_by_label("I agree to the terms of use and the privacy notice").check()
    citizen.get_by_role("button", name="Continue").click()
    expect(citizen.get_by_text("Welcome, Chris Citizen.")).to_be_visible()
    expect(citizen.get_by_role("banner").get_by_role("link", name="Chris Citizen")).to_be_visible()
    citizen.get_by_role("navigation", name="Site policies").get_by_role("link", name="Privacy").click()
    expect(citizen.get_by_role("heading", name="Postcodes")).to_be_visible()

    other = citizen_signs_in(new_context, live_server, CITIZEN2, PHONE)
    assert other.url == live_server + "/agree"
    check_axe(other, run_axe, axe_report, "/agree (phone)")
    other.get_by_role("button", name="Cancel sign-in").click()
    expect(other.get_by_text("You are not signed in.")).to_be_visible()
    expect(other.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
