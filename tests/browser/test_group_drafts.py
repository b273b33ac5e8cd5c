"""A group's shared draft in a real browser (issue 20): a member edits it without JavaScript,
its history shows who changed what as a redline; a save made on an older revision is refused
with the other member's text shown. axe-core on the draft (editing, and the conflict) and its
history at 1280 and 375 px, with no horizontal scroll on the phone.

The live server's database is shared by all browser tests: the people and the group are this
test's own."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

SLUG = "federal-source-code-policy"
PHONE_375 = {"width": 375, "height": 812}
DESKTOP_1280 = {"width": 1280, "height": 900}
PEOPLE = [("Dana Drafter", "dana-d@example.org"), ("Eli Editor", "eli-e@example.org")]


@pytest.fixture(scope="module")
def shared_draft(live_server):
    """A public group with two members (Dana coordinates) and an amendment draft they share."""
    from consult.accounts.services import create_user
    from consult.core.models import db
    from consult.groups import drafts
    from consult.groups.models import Group, GroupMembership, GroupRole
    from consult.policies import services as policies
    from consult.proposals.models import Consultation
    from tests.browser.conftest import DEMO_PASSWORD

    app = live_server.app
    with app.app_context():
        people = []
        for name, email in PEOPLE:
            person = create_user(email=email, password=DEMO_PASSWORD, display_name=name)
            policies.record_agreement(person)
            people.append(person)
        group = Group(slug="drafting-circle", name="Drafting Circle", invite_code="x" * 20)
        db.session.add(group)
        db.session.flush()
        for person, role in zip(people, (GroupRole.COORDINATOR, GroupRole.MEMBER), strict=True):
            db.session.add(GroupMembership(group_id=group.id, user_id=person.id, role=role))
        db.session.flush()
        consultation = db.session.query(Consultation).filter_by(slug=SLUG).one()
        key = consultation.current_version.sections[0].key
        draft = drafts.start_draft(group, consultation, actor=people[0], kind="amendment", title="Our amendment", section_key=key)
        db.session.commit()
        return f"/g/{group.slug}/drafts/{draft.id}"


def edit(page, live_server, url, words):
    page.goto(live_server + url)
    page.get_by_label("The section as the group would have it").fill(words)
    page.get_by_label("Why this change?").fill("Clearer for everyone.")
    page.get_by_role("button", name="Save").click()


def test_members_edit_the_draft_and_a_stale_save_is_refused(shared_draft, new_context, live_server, run_axe, axe_report):
    dana, eli = new_context().new_page(), new_context(bypass_csp=True).new_page()
    sign_in(dana, live_server, PEOPLE[0][1])
    sign_in(eli, live_server, PEOPLE[1][1])
    eli.goto(live_server + shared_draft)  # Eli opens the draft at its first revision ...
    edit(dana, live_server, shared_draft, "Dana's words for the section.")  # ... Dana saves first
    expect(dana.get_by_text("Saved as revision 2.")).to_be_visible()
    eli.get_by_label("The section as the group would have it").fill("Eli's words for the section.")
    eli.get_by_label("Why this change?").fill("Mine.")
    eli.get_by_role("button", name="Save").click()
    alert = eli.get_by_role("alert").filter(has_text="Not saved")
    expect(alert).to_contain_text("Dana Drafter saved this draft")
    expect(alert).to_contain_text("Dana's words for the section.")
    expect(eli.get_by_label("The section as the group would have it")).to_have_value("Eli's words for the section.")
    for viewport in (DESKTOP_1280, PHONE_375):
        eli.set_viewport_size(viewport)
        assert not (violations := run_axe(eli)), axe_report(violations, shared_draft + " (conflict)")
    eli.get_by_role("button", name="Save").click()  # having seen theirs, Eli saves over it
    expect(eli.get_by_text("Saved as revision 3.")).to_be_visible()

    dana.goto(live_server + shared_draft + "/history")
    revisions = dana.locator("section.draft-revision")
    expect(revisions).to_have_count(3)
    expect(revisions.first.get_by_role("heading", level=2)).to_contain_text("Revision 3, by Eli Editor")
    expect(revisions.first.locator("ins").first).to_contain_text("Eli's")
    expect(revisions.first.locator("del").first).to_contain_text("Dana's")


@pytest.mark.parametrize("viewport", [DESKTOP_1280, PHONE_375])
@pytest.mark.parametrize("suffix", ["", "/history"])
def test_the_shared_draft_and_its_history_are_accessible(suffix, viewport, shared_draft, new_context, live_server, run_axe, axe_report):
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(page, live_server, PEOPLE[1][1])  # a member: the editing form
    page.goto(live_server + shared_draft + suffix)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    violations = run_axe(page)
    assert not violations, axe_report(violations, shared_draft + suffix)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
