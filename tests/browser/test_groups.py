"""Groups in a real browser (issue 20, groups-core): a coordinator starts a group by its form, a
member joins it by its button, both see it as they should; axe-core finds nothing on the groups
list, the new-group form and a group's page (as a member and as its coordinator) at 1280 and
375 px, and nothing scrolls sideways on a phone.

The live server's database is shared by all browser tests: the two people are accounts of their
own, made for this test."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in

COORDINATOR = ("Gwen Groupstarter", "gwen-groups@example.org")
MEMBER = ("Milo Groupmember", "milo-groups@example.org")
GROUP = "Harbour Street Neighbours"


@pytest.fixture(scope="module")
def people(live_server):
    from consult.accounts.services import create_user
    from consult.core.models import db
    from consult.policies import services as policies
    from tests.browser.conftest import DEMO_PASSWORD

    with live_server.app.app_context():
        for name, email in (COORDINATOR, MEMBER):
            policies.record_agreement(create_user(email=email, password=DEMO_PASSWORD, display_name=name))
        db.session.commit()
    return {"coordinator": COORDINATOR[1], "member": MEMBER[1]}


@pytest.fixture(scope="module")
def group_url(people, browser, live_server) -> str:
    """The coordinator starts the group through its form; the member joins it with the button."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, live_server, people["coordinator"])
    page.goto(live_server + "/groups")
    page.get_by_role("link", name="Start a group").click()
    page.get_by_label("Name").fill(GROUP)
    page.get_by_label("Description").fill("We look after **Harbour Street** together.")
    page.get_by_label("Public: anyone can join").check()
    page.get_by_role("button", name="Start the group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(GROUP)
    url = page.url
    context.close()

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, live_server, people["member"])
    page.goto(url)
    page.get_by_role("button", name="Join the group").click()
    expect(page.get_by_role("button", name="Leave the group")).to_be_visible()
    context.close()
    return url


def test_a_member_and_the_coordinator_see_the_group_as_they_should(group_url, people, new_context, live_server):
    member = new_context().new_page()
    sign_in(member, live_server, people["member"])
    member.goto(group_url)
    expect(member.locator("#members-heading + ul")).to_contain_text(COORDINATOR[0])
    expect(member.locator("#members-heading + ul")).to_contain_text(MEMBER[0])
    expect(member.get_by_label("The group's invitation link")).to_have_count(0)
    member.goto(live_server + "/groups")
    expect(member.locator("#my-groups + ul")).to_contain_text(GROUP)

    coordinator = new_context().new_page()
    sign_in(coordinator, live_server, people["coordinator"])
    coordinator.goto(group_url)
    link = coordinator.get_by_label("The group's invitation link")
    assert "/join/" in link.input_value()
    old = link.input_value()
    coordinator.get_by_role("button", name="Make a new invitation link").click()
    assert coordinator.get_by_label("The group's invitation link").input_value() != old


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
@pytest.mark.parametrize("who", ["coordinator", "member", "visitor"])
def test_group_pages_accessibility(who, viewport, group_url, people, new_context, live_server, run_axe, axe_report):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    paths = ["/groups", group_url.removeprefix(live_server)]
    if who != "visitor":
        sign_in(page, live_server, people[who])
        paths.append(group_url.removeprefix(live_server) + "/members")
    if who == "coordinator":
        paths += ["/groups/new", group_url.removeprefix(live_server) + "/edit"]
    for path in paths:
        page.goto(live_server + path)
        violations = run_axe(page)
        assert not violations, axe_report(violations, path)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], path
