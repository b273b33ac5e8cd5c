"""The settings pages in a real browser: an author turns pre-moderation on for the demo
consultation, and a newcomer's first comment then waits for a moderator (the moderator finds it
in the queue); the new pages pass axe-core at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from consult.accounts.services import create_user
from consult.contributions.models import Contribution, ModerationState
from consult.core.models import db
from consult.policies.services import record_agreement
from consult.proposals.models import Consultation
from tests.browser.conftest import DESKTOP, PHONE, sign_in

SLUG = "federal-source-code-policy"
AUTHOR = "author@demo.consult.example"
ADMIN = "admin@demo.consult.example"
ORG_ADMIN = "orgadmin@demo.consult.example"
MODERATOR = "moderator@demo.consult.example"
NEWCOMER_PASSWORD = "a newcomer's long password"


@pytest.fixture
def post_moderation_afterwards(live_server):
    """The live server is shared by the folder's tests: put the demo back as it was."""
    yield
    with live_server.app.app_context():
        c = db.session.scalar(select(Consultation).where(Consultation.slug == SLUG))
        c.moderation_mode = "post"
        db.session.commit()


def test_pre_moderation_turned_on_holds_a_newcomers_first_comment(new_context, live_server, post_moderation_afterwards):
    with live_server.app.app_context():
        # The live server's job worker may hold SQLite's write lock for a moment: ask again (the busy timeout waits each time).
        for attempt in range(3):
            try:
                newcomer = create_user(email="newcomer-premod@example.org", password=NEWCOMER_PASSWORD, display_name="Nell Newcomer")
                record_agreement(newcomer)
                db.session.commit()
                break
            except OperationalError:
                db.session.rollback()
                if attempt == 2:
                    raise

    author = new_context(viewport=DESKTOP).new_page()
    sign_in(author, live_server, AUTHOR)
    author.goto(f"{live_server}/c/{SLUG}/settings")
    author.get_by_label("After a moderator approves their first contribution (pre-moderation)").check()
    author.get_by_role("button", name="Save the settings").click()
    expect(author.get_by_text("The settings have been saved.")).to_be_visible()

    citizen = new_context(viewport=PHONE).new_page()
    sign_in(citizen, live_server, "newcomer-premod@example.org", NEWCOMER_PASSWORD)
    citizen.goto(f"{live_server}/c/{SLUG}/comments")
    citizen.get_by_label("Your comment").fill("Will this wait for a moderator?")
    citizen.get_by_role("button", name="Post your comment").click()
    expect(citizen.get_by_text("waits for a moderator", exact=False).first).to_be_visible()
    expect(citizen.get_by_text("Waiting for a moderator")).to_be_visible()  # only its author sees it, marked

    anonymous = new_context(viewport=DESKTOP).new_page()
    anonymous.goto(f"{live_server}/c/{SLUG}/comments")
    expect(anonymous.get_by_text("Will this wait for a moderator?")).to_have_count(0)

    moderator = new_context(viewport=DESKTOP).new_page()
    sign_in(moderator, live_server, MODERATOR)
    with live_server.app.app_context():
        comment = db.session.scalar(select(Contribution).where(Contribution.body == "Will this wait for a moderator?"))
        assert comment.moderation_state == ModerationState.PENDING
        organisation = comment.consultation.organisation.slug
    moderator.goto(f"{live_server}/o/{organisation}/moderation")
    expect(moderator.get_by_text("Will this wait for a moderator?")).to_be_visible()


PAGES = [
    (AUTHOR, f"/c/{SLUG}/settings"),
    (ADMIN, "/admin/site"),
    (ADMIN, "/admin/site/invitations"),
    (None, "/signup/invitation"),
    (ORG_ADMIN, "/o/{organisation}/settings"),
]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize(("who", "address"), PAGES, ids=[p[1].split("/")[-1] or "page" for p in PAGES])
def test_the_settings_pages_pass_axe(who, address, viewport, new_context, live_server, run_axe, axe_report):
    with live_server.app.app_context():
        organisation = db.session.scalar(select(Consultation).where(Consultation.slug == SLUG)).organisation.slug
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    if who:
        sign_in(page, live_server, who)
    response = page.goto(live_server + address.format(organisation=organisation))
    assert response.status == 200
    assert not (violations := run_axe(page)), axe_report(violations, address)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
