"""A group's page with its members' activity (a parent group and its two chapters, the demo's
citizens in both), someone reporting a group, and the site admin's queue of reported groups and
a group's moderation page: axe-core finds nothing at 1280 and 375 px, and nothing scrolls
sideways on a phone.

The live server's database is shared by all browser tests: the groups here are made for this
test, with the models directly."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in

PARENT, NORTH, SOUTH, REPORTED = "activity-national", "activity-north", "activity-south", "activity-reported"
CITIZENS = ("citizen@demo.consult.example", "citizen2@demo.consult.example")
ADMIN = "admin@demo.consult.example"


@pytest.fixture(scope="module")
def groups(live_server):
    import secrets

    from sqlalchemy import select

    from consult.accounts.models import User
    from consult.core.models import db
    from consult.groups.models import Group, GroupMembership

    with live_server.app.app_context():
        if db.session.scalar(select(Group).where(Group.slug == PARENT)) is None:
            chris, dana = (db.session.scalar(select(User).where(User.email == e)) for e in CITIZENS)

            def group(slug, name, parent=None, members=()):
                g = Group(slug=slug, name=name, description="Neighbours together.", description_html="<p>Neighbours together.</p>",
                          parent=parent, invite_code=secrets.token_urlsafe(16))  # fmt: skip
                db.session.add(g)
                db.session.flush()
                for m in members:
                    db.session.add(GroupMembership(group_id=g.id, user_id=m.id))
                return g

            parent = group(PARENT, "Open Data Network")
            group(NORTH, "Open Data North", parent=parent, members=[chris, dana])
            group(SOUTH, "Open Data South", parent=parent, members=[chris])
            group(REPORTED, "Cheap Shoes Club", members=[dana])
            db.session.commit()
    return PARENT


def _has_group_page(live_server) -> bool:
    return "groups.page" in live_server.app.view_functions


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE])
def test_a_parent_groups_page_shows_what_its_chapters_members_did(viewport, groups, new_context, live_server, run_axe, axe_report):
    if not _has_group_page(live_server):
        pytest.skip("the group page (groups.page) is the groups-core helper's: merged with it, this test runs")
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    page.goto(f"{live_server}/g/{PARENT}")
    panel = page.locator(".group-activity")
    expect(panel.get_by_role("heading", name="What the members did")).to_be_visible()
    expect(panel.get_by_role("rowheader", name="Open Data North")).to_be_visible()
    expect(panel.get_by_role("link", name="Federal Source Code Policy", exact=True)).to_be_visible()
    total = panel.locator("tfoot tr")
    expect(total.locator("td").first).to_have_text("2")  # Chris in both chapters: counted once
    violations = run_axe(page)
    assert not violations, axe_report(violations, page.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_someone_reports_a_group_and_the_site_admin_hides_it(groups, new_context, live_server):
    reporter = new_context().new_page()
    sign_in(reporter, live_server, CITIZENS[0])
    reporter.goto(f"{live_server}/g/{REPORTED}/report")
    reporter.get_by_label("Spam or advertising").check()
    reporter.get_by_label("Details").fill("It sells shoes.")
    reporter.get_by_role("button", name="Send the report").click()
    assert reporter.url.endswith(f"/g/{REPORTED}")

    admin = new_context().new_page()
    sign_in(admin, live_server, ADMIN)
    admin.goto(f"{live_server}/groups/reports")
    expect(admin.get_by_text("It sells shoes.")).to_be_visible()
    admin.get_by_role("link", name="Cheap Shoes Club").click()
    admin.get_by_label("Public reason").fill("Advertising.")
    admin.get_by_role("button", name="Hide the group").click()
    expect(admin.get_by_text("The group is hidden")).to_be_visible()
    expect(admin.get_by_role("heading", name="Hidden groups")).to_be_visible()
    admin.get_by_role("button", name="Restore Cheap Shoes Club").click()
    expect(admin.get_by_text("The group is shown again.")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE])
@pytest.mark.parametrize("path", ["/groups/reports", f"/groups/reports/{REPORTED}", f"/g/{PARENT}/report"])
def test_group_moderation_pages_accessibility(path, viewport, groups, new_context, live_server, run_axe, axe_report):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(page, live_server, ADMIN)
    if path == "/groups/reports":  # a report waiting, so the queue has a row
        reporter = new_context().new_page()
        sign_in(reporter, live_server, CITIZENS[1])
        reporter.goto(f"{live_server}/g/{PARENT}/report")
        reporter.get_by_label("Off topic").check()
        reporter.get_by_role("button", name="Send the report").click()
    page.goto(live_server + path)
    assert page.locator("h1").count() == 1
    violations = run_axe(page)
    assert not violations, axe_report(violations, path)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
