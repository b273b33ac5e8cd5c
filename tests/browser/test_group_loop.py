"""Issue 20's whole loop in a real browser, as three people and the organisation's author do it:
three people form a group, draft an amendment together, the coordinator submits it on the
group's behalf, the two others co-sign it, the author answers it, and each signer finds the
answer among their notifications; a call to action's progress bar moves when a member supports.

The live server's database is shared by all browser tests: the people and the group are this
test's own, and it reads every figure before changing it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from consult.core.models import utcnow
from tests.browser.conftest import sign_in
from tests.browser.test_notifications import wait_for_fan_out

SLUG = "federal-source-code-policy"
AUTHOR = "author@demo.consult.example"  # Alex Author, of the organisation
PEOPLE = {
    "ana": ("Ana Coordinator", "ana-loop@example.org"),
    "ben": ("Ben Member", "ben-loop@example.org"),
    "cleo": ("Cleo Member", "cleo-loop@example.org"),
}
GROUP = "Millbrook Open Code Circle"
SECTION = "1. Objectives"  # the heading of the section the group amends


@pytest.fixture(scope="module")
def people(live_server) -> dict[str, str]:
    """Three confirmed people who agreed to the site's terms (their e-mail by first name)."""
    from consult.accounts.services import create_user
    from consult.core.models import db, utcnow
    from consult.policies import services as policies
    from tests.browser.conftest import DEMO_PASSWORD

    with live_server.app.app_context():
        for name, email in PEOPLE.values():
            person = create_user(email=email, password=DEMO_PASSWORD, display_name=name)
            person.confirmed_at = utcnow()
            policies.record_agreement(person)
        db.session.commit()
    return {key: email for key, (_name, email) in PEOPLE.items()}


def figure(page) -> int:
    """The call's figure, "N of GOAL (P%)": N."""
    text = page.locator(".call-figure").first.inner_text()
    match = re.match(r"^(\d+) of 5 ", text)
    assert match, f"unexpected figure {text!r}"
    return int(match.group(1))


def test_a_group_drafts_submits_signs_and_hears_the_answer(people, new_context, live_server, tmp_path_factory):
    ana, ben, cleo = (new_context().new_page() for _ in range(3))
    for page, who in ((ana, "ana"), (ben, "ben"), (cleo, "cleo")):
        sign_in(page, live_server, people[who])

    # 1. Ana starts the group; Ben and Cleo join it.
    ana.goto(f"{live_server}/groups")
    ana.get_by_role("link", name="Start a group").click()
    ana.get_by_label("Name").fill(GROUP)
    ana.get_by_label("Description").fill("Neighbours who write **code** for the council.")
    ana.get_by_label("Public: anyone can join").check()
    ana.get_by_role("button", name="Start the group").click()
    expect(ana.get_by_role("heading", level=1)).to_have_text(GROUP)
    group_url = ana.url
    for page in (ben, cleo):
        page.goto(group_url)
        page.get_by_role("button", name="Join the group").click()
        expect(page.get_by_role("button", name="Leave the group")).to_be_visible()

    # 2. Ana starts an amendment draft on a section; each of the three saves a revision.
    ana.goto(group_url)
    ana.get_by_role("link", name="Start a draft").click()
    ana.get_by_label("Which consultation is it for?").select_option(SLUG)
    ana.get_by_role("button", name="Continue").click()
    ana.get_by_label("An amendment: new words for a section").check()
    ana.get_by_label("Section", exact=True).select_option(label=SECTION)
    ana.get_by_label("Title of the draft").fill("Open by default")
    ana.get_by_role("button", name="Start the draft").click()
    expect(ana.get_by_text("The draft is started.")).to_be_visible()
    draft_url = ana.url
    proposed = ana.get_by_label("The section as the group would have it")
    original = proposed.input_value()
    assert original.strip(), "an amendment draft starts from the section's current text"
    edits = [
        (ana, original + "\n\nAgencies shall publish new custom code as open source by default.", "Open by default saves money."),
        (ben, None, "Open by default saves money, and others can check the code."),
        (cleo, None, "Open by default saves money, others can check the code, and councils can reuse it."),
    ]
    for page, text, why in edits:
        page.goto(draft_url)
        if text is not None:
            page.get_by_label("The section as the group would have it").fill(text)
        page.get_by_label("Why this change?").fill(why)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text(re.compile(r"Saved as revision \d+\."))).to_be_visible()
    cleo.get_by_role("link", name="History: who changed what").click()
    for name in ("Ana Coordinator", "Ben Member", "Cleo Member"):
        expect(cleo.get_by_role("heading", level=2).filter(has_text=f"by {name}").first).to_be_visible()

    # A member cannot submit; the coordinator submits on the group's behalf.
    ben.goto(draft_url)
    expect(ben.get_by_role("button", name=f"Submit on behalf of {GROUP}")).to_have_count(0)
    ana.goto(draft_url)
    ana.get_by_role("button", name=f"Submit on behalf of {GROUP}").click()
    expect(ana.get_by_text(f"Submitted on behalf of {GROUP}.")).to_be_visible()
    expect(ana).to_have_url(re.compile(rf"/c/{SLUG}/amendments/A\d+$"))
    amendment_url = ana.url
    label = amendment_url.rsplit("/", 1)[1]
    credit = ana.locator(".group-credit").first
    expect(credit).to_contain_text(f"By {GROUP}, signed by 1 member")

    # 3. Ana publishes a call to action for it, with a goal of five.
    ana.goto(f"{live_server}/c/{SLUG}/calls/new")
    ana.get_by_label("Published by").select_option(label=GROUP)
    ana.get_by_label("Support an amendment").check()
    ana.get_by_label("Amendment to support").select_option(label)
    ana.get_by_label("Title").fill(f"Support {label}: open by default")
    ana.get_by_label("Goal (people)").fill("5")
    ana.get_by_label("Deadline (UTC)").fill((utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    ana.get_by_role("button", name="Publish the call").click()
    expect(ana).to_have_url(re.compile(r"/calls/\d+$"))
    call_url = ana.url
    before = figure(ana)  # the coordinator's own signature supports it
    assert before == 1
    expect(ana.locator("progress#call-progress")).to_have_attribute("value", "1")

    # 4. Ben and Cleo co-sign it from the amendment's page; each signature is a person's support.
    for page in (ben, cleo):
        page.goto(amendment_url)
        page.locator(".group-credit").first.get_by_role("button", name=re.compile(r"^Sign")).click()
        expect(page.get_by_text("You signed it.").first).to_be_visible()
    ben.goto(amendment_url)
    expect(ben.locator(".group-credit").first).to_contain_text(f"By {GROUP}, signed by 3 members")
    ben.goto(call_url)
    assert figure(ben) == before + 2  # the bar moved with each member's support
    expect(ben.locator("progress#call-progress")).to_have_attribute("value", str(before + 2))

    # 5. The organisation's author answers the amendment.
    alex = new_context().new_page()
    sign_in(alex, live_server, AUTHOR)
    alex.goto(amendment_url)
    expect(alex.locator(".group-credit").first).to_contain_text(f"By {GROUP}")
    alex.get_by_role("group", name="Answer this amendment").get_by_label("Accepted in part", exact=True).check()
    alex.get_by_label("The reason", exact=True).fill("Open by default, with exceptions for security.")
    alex.get_by_role("button", name="Publish the answer").click()
    expect(alex.get_by_text("Your answer is published.")).to_be_visible()

    # 6. Each signer finds the answer among their notifications.
    wait_for_fan_out(tmp_path_factory)
    for page in (ana, ben, cleo):
        page.goto(f"{live_server}/notifications")
        answered = page.locator("li.notification").filter(has_text="answered").filter(has_text=label)
        expect(answered).to_have_count(1)
        expect(answered).to_contain_text("Open by default, with exceptions for security.")
