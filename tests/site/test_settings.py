"""Settings pages: a consultation's ways of taking part and pre-moderation, the site's settings
(name, colour checked for contrast, logo checked by content, footer links, time zone, report
threshold, registration by invitation) and an organisation's, each change in the audit log."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from consult.accounts.models import User
from consult.audit.models import StaffAction
from consult.contributions.models import Contribution, ModerationState
from consult.core.models import db, utcnow
from consult.core.templating import format_datetime
from consult.moderation.services import report_threshold
from consult.proposals.models import ParticipationMode
from consult.site.models import Invitation, SiteSettings
from tests.accounts.test_accounts import field_errors, sign_up
from tests.conftest import login
from tests.factories import make_consultation, make_organisation, make_user

ALL_MODES = [m.value for m in ParticipationMode]


@pytest.fixture
def site_admin():
    return make_user(name="Sam Site-Admin", site_admin=True)


def png(width=40, height=20, colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def actions(operation: str) -> list[StaffAction]:
    return list(db.session.scalars(select(StaffAction).where(StaffAction.operation == operation)).all())


# --- a consultation's settings -------------------------------------------------------------------


def save_settings(client, c, *, mode="post", threshold="10", modes=ALL_MODES, row_version=None):
    return client.post(
        f"/c/{c.slug}/settings",
        data={
            "moderation_mode": mode,
            "response_threshold": threshold,
            "modes": list(modes),
            "row_version": str(c.row_version if row_version is None else row_version),
        },
    )


def test_an_author_turns_pre_moderation_on_and_a_new_participants_comment_waits(client):
    c = make_consultation()
    author = db.session.get(User, c.created_by_id)
    login(client, author)

    page = client.get(f"/c/{c.slug}/settings")
    assert page.status_code == 200
    assert "After a moderator approves their first contribution" in page.get_data(as_text=True)
    response = save_settings(client, c, mode="pre")
    assert response.status_code == 302
    assert c.moderation_mode == "pre"
    [entry] = actions("edit_settings")
    assert entry.detail == {"fields": ["moderation_mode"]} and entry.consultation_id == c.id

    newcomer = make_user(name="Nadia Newcomer")
    login(client, newcomer)
    posted = client.post(
        f"/c/{c.slug}/comments", data={"body": "A first comment.", "section_key": c.current_version.sections[0].key}, follow_redirects=True
    )
    comment = db.session.scalar(select(Contribution).where(Contribution.author_id == newcomer.id))
    assert comment.moderation_state == ModerationState.PENDING
    page = posted.get_data(as_text=True)
    assert "waits for a moderator" in page and "Your comment is published." not in page


def test_turning_comments_off_stops_new_comments_but_keeps_the_old_readable(client):
    c = make_consultation()
    author = db.session.get(User, c.created_by_id)
    citizen = make_user()
    login(client, citizen)
    assert client.post(f"/c/{c.slug}/comments", data={"body": "Before."}).status_code == 302

    login(client, author)
    assert save_settings(client, c, modes=["amendments", "statements", "questionnaire"]).status_code == 302
    assert not c.allows_comments and not c.allows_annotations

    login(client, citizen)
    before = db.session.scalar(select(func.count(Contribution.id)))
    refused = client.post(f"/c/{c.slug}/comments", data={"body": "After."})
    assert refused.status_code == 409
    assert "Comments are turned off for this consultation." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Contribution.id))) == before
    page = client.get(f"/c/{c.slug}/comments").get_data(as_text=True)
    assert "Comments are turned off for this consultation" in page and "Before." in page


def test_annotations_off_refuses_a_quote_but_takes_a_section_comment(client):
    c = make_consultation()
    author = db.session.get(User, c.created_by_id)
    login(client, author)
    save_settings(client, c, modes=["comments", "amendments", "statements"])
    section = c.current_version.sections[0]
    login(client, make_user())
    quoted = client.post(
        f"/c/{c.slug}/comments", data={"body": "On these words.", "section_key": section.key, "quote": section.body.split()[0]}
    )
    assert quoted.status_code == 409
    assert client.post(f"/c/{c.slug}/comments", data={"body": "On the section.", "section_key": section.key}).status_code == 302


def test_statements_off_refuses_writing_and_voting_on_statements(client):
    c = make_consultation()
    author = db.session.get(User, c.created_by_id)
    citizen = make_user()
    login(client, citizen)
    client.post(f"/c/{c.slug}/statements", data={"body": "Publish the code."})
    statement = db.session.scalar(select(Contribution).where(Contribution.kind == "statement"))
    login(client, author)
    save_settings(client, c, modes=["comments", "annotations", "amendments"])
    login(client, make_user())
    assert client.post(f"/c/{c.slug}/statements", data={"body": "Another."}).status_code == 409
    vote = client.post(f"/c/{c.slug}/vote", data={"contribution_id": statement.id, "value": "agree"})
    assert vote.status_code == 409
    page = client.get(f"/c/{c.slug}/statements").get_data(as_text=True)
    assert "Statements are turned off" in page and "Publish the code." in page


def test_amendments_off_refuses_proposing(client):
    c = make_consultation()
    login(client, db.session.get(User, c.created_by_id))
    save_settings(client, c, modes=["comments", "annotations", "statements"])
    login(client, make_user())
    key = c.current_version.sections[0].key
    assert client.get(f"/c/{c.slug}/s/{key}/amend").status_code in (403, 409)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"modes": ["annotations"]}, "Comments on selected words are comments"),
        ({"modes": ["comments", "teleportation"]}, "not a valid choice"),
        ({"mode": "later"}, "Choose when contributions appear."),
        ({"threshold": "-1"}, "Use a whole number from 0 to 100,000."),
        ({"threshold": "ten"}, ""),
    ],
)
def test_bad_settings_are_refused_on_their_field_and_nothing_changes(client, data, message):
    c = make_consultation()
    login(client, db.session.get(User, c.created_by_id))
    response = save_settings(client, c, **data)
    assert response.status_code == 400
    assert any(message in e for e in field_errors(response.get_data(as_text=True)))
    assert c.moderation_mode == "post" and c.allows_comments and c.response_threshold == 10
    assert actions("edit_settings") == []


def test_only_the_organisations_editors_change_a_consultations_settings(client):
    c = make_consultation()
    for person in (make_user(), make_user(role="moderator", organisation=c.organisation), make_user(role="admin")):
        login(client, person)
        assert client.get(f"/c/{c.slug}/settings").status_code == 403
        assert save_settings(client, c, mode="pre").status_code == 403
    assert c.moderation_mode == "post"


def test_a_stale_settings_form_does_not_overwrite_a_newer_save(client):
    c = make_consultation()
    login(client, db.session.get(User, c.created_by_id))
    old = c.row_version
    save_settings(client, c, mode="pre")
    assert save_settings(client, c, mode="post", row_version=old).status_code == 409
    assert c.moderation_mode == "pre"


# --- the site's settings -----------------------------------------------------------------------


def save_site(client, **changes):
    stored = db.session.get(SiteSettings, 1)
    data = {
        "site_name": "Council consultations",
        "accent_colour": "",
        "footer_links": "",
        "registration": "open",
        "report_threshold": "",
        "time_zone": "",
        "logo_alt": "",
        "row_version": str(stored.row_version if stored else 1),
    }
    data.update(changes)
    return client.post("/admin/site", data=data, content_type="multipart/form-data")


def test_the_site_admin_names_the_site_and_sets_a_readable_accent_colour(client, site_admin):
    login(client, site_admin)
    assert client.get("/admin/site").status_code == 200
    response = save_site(client, accent_colour="#0B5394")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "<title>" in page and "Council consultations" in page
    assert "/site/theme.css?v=0b5394" in page
    css = client.get("/site/theme.css?v=0b5394")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "--brand: #0b5394;" in css.get_data(as_text=True)
    [entry] = actions("edit_site")
    assert set(entry.detail["fields"]) == {"site_name", "accent_colour"} and entry.organisation_id is None


def test_an_accent_colour_without_contrast_on_white_is_refused(client, site_admin):
    login(client, site_admin)
    response = save_site(client, accent_colour="#ffcc00")
    assert response.status_code == 400
    [error] = field_errors(response.get_data(as_text=True))
    assert "needs at least 4.5:1" in error
    assert db.session.get(SiteSettings, 1) is None or db.session.get(SiteSettings, 1).accent_colour is None
    assert client.get("/site/theme.css").status_code == 404


def test_footer_links_are_shown_and_a_script_address_is_refused(client, site_admin):
    login(client, site_admin)
    refused = save_site(client, footer_links="Contact | javascript:alert(1)")
    assert refused.status_code == 400
    assert "is not an address a footer can link to" in field_errors(refused.get_data(as_text=True))[0]
    assert save_site(client, footer_links="Contact us | https://council.example/contact\nOur plan | /o/council").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert '<a href="https://council.example/contact">Contact us</a>' in page and '<a href="/o/council">Our plan</a>' in page


def test_the_time_zone_set_on_the_page_is_the_one_times_are_shown_in(client, site_admin):
    login(client, site_admin)
    assert "not a time zone we know" in field_errors(save_site(client, time_zone="Mars/Olympus").get_data(as_text=True))[0]
    assert save_site(client, time_zone="Europe/Paris").status_code == 302
    winter_noon = utcnow().replace(year=2026, month=1, day=15, hour=12, minute=0)
    assert format_datetime(winter_noon) == "15 January 2026, 13:00 CET"


def test_the_report_threshold_set_on_the_page_replaces_the_configured_one(client, site_admin):
    assert report_threshold() == 3
    login(client, site_admin)
    assert save_site(client, report_threshold="0").status_code == 400
    assert save_site(client, report_threshold="5").status_code == 302
    assert report_threshold() == 5


def test_a_logo_is_checked_by_its_content_and_redrawn(client, site_admin):
    login(client, site_admin)
    disguised = save_site(client, logo=(io.BytesIO(b"<html><script>alert(1)</script></html>"), "logo.png"))
    assert disguised.status_code == 400
    assert "not an image we can read" in field_errors(disguised.get_data(as_text=True))[0]
    svg = save_site(client, logo=(io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), "logo.svg"))
    assert svg.status_code == 400
    assert save_site(client, logo=(io.BytesIO(png(1600, 400)), "logo.png"), logo_alt="Riverside Council").status_code == 302
    settings = db.session.get(SiteSettings, 1)
    page = client.get("/").get_data(as_text=True)
    assert 'alt="Riverside Council"' in page
    served = client.get(f"/site/logo.png?v={int(settings.logo_updated_at.timestamp())}")
    assert served.mimetype == "image/png" and served.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.format == "PNG" and image.size == (400, 100)


def test_only_site_admins_reach_the_sites_settings(client):
    login(client, make_user(role="admin"))
    assert client.get("/admin/site").status_code == 403
    assert save_site(client).status_code == 403
    assert client.get("/admin/site/invitations").status_code == 403


# --- registration by invitation -----------------------------------------------------------------


def make_invitation(client, *, max_uses="1", days="14") -> str:
    response = client.post("/admin/site/invitations", data={"note": "Parish councils", "max_uses": max_uses, "days": days})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    start = page.index("/signup/invitation#") + len("/signup/invitation#")
    return page[start : page.index('"', start)]


def test_registration_by_invitation_lets_in_only_those_with_a_usable_link(client, site_admin):
    login(client, site_admin)
    assert save_site(client, registration="invite").status_code == 302
    code = make_invitation(client, max_uses="1")
    [entry] = actions("create_invitation")
    assert entry.organisation_id is None
    invitation = db.session.scalar(select(Invitation))
    assert code not in invitation.code_hash  # only a fingerprint is kept

    visitor = client.application.test_client()
    assert visitor.get("/signup").headers["Location"].endswith("/signup/invitation")
    refused = sign_up(visitor, email_address="nobody@example.org")
    assert refused.status_code == 403 and "needs an invitation" in refused.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "nobody@example.org")) is None
    wrong = visitor.post("/signup/invitation", data={"code": "not-a-code"})
    assert wrong.status_code == 400 and "This invitation is not valid" in field_errors(wrong.get_data(as_text=True))[0]

    assert visitor.post("/signup/invitation", data={"code": code}).headers["Location"].endswith("/signup")
    assert visitor.get("/signup").status_code == 200
    assert sign_up(visitor, email_address="invited@example.org").status_code == 302
    assert db.session.scalar(select(User).where(User.email == "invited@example.org")) is not None
    assert invitation.uses == 1 or db.session.get(Invitation, invitation.id).uses == 1

    second = client.application.test_client()
    assert second.post("/signup/invitation", data={"code": code}).status_code == 400  # used up


def test_a_revoked_or_expired_invitation_opens_nothing(client, site_admin):
    login(client, site_admin)
    save_site(client, registration="invite")
    revoked = make_invitation(client, max_uses="5")
    expired = make_invitation(client, max_uses="5")
    first, second = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    assert client.post(f"/admin/site/invitations/{first.id}/revoke").status_code == 302
    second.expires_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    visitor = client.application.test_client()
    for code in (revoked, expired):
        assert visitor.post("/signup/invitation", data={"code": code}).status_code == 400
    assert [e.operation for e in actions("revoke_invitation")] == ["revoke_invitation"]


def test_the_last_use_of_an_invitation_is_taken_once(client, site_admin):
    """Two sign-ups that both passed the check: the conditional UPDATE lets one through."""
    from consult.core.errors import RuleViolation
    from consult.site import services

    login(client, site_admin)
    save_site(client, registration="invite")
    code = make_invitation(client, max_uses="1")
    services.use_invitation(code)
    with pytest.raises(RuleViolation):
        services.use_invitation(code)
    assert db.session.scalar(select(Invitation.uses)) == 1


# --- an organisation's settings ------------------------------------------------------------------


def test_an_organisations_admin_renames_it_and_gives_it_a_logo(client):
    organisation = make_organisation(slug="riverside", name="Riverside")
    admin = make_user(role="admin", organisation=organisation)
    login(client, admin)
    assert client.get("/o/riverside/settings").status_code == 200
    response = client.post(
        "/o/riverside/settings",
        data={"name": "Riverside Council", "description": "We run the town.", "logo": (io.BytesIO(png()), "l.png"), "logo_alt": "R"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert organisation.name == "Riverside Council" and organisation.logo_updated_at is not None
    [entry] = actions("edit_organisation")
    assert set(entry.detail["fields"]) == {"name", "description", "logo_alt", "logo"} and entry.organisation_id == organisation.id
    assert client.get("/o/riverside/logo.png").mimetype == "image/png"
    assert 'alt="R"' in client.get("/o/riverside").get_data(as_text=True)


def test_another_organisations_admin_cannot_change_it(client):
    organisation = make_organisation(slug="riverside", name="Riverside")
    login(client, make_user(role="admin"))
    assert client.get("/o/riverside/settings").status_code == 403
    assert client.post("/o/riverside/settings", data={"name": "Taken over"}).status_code == 403
    assert organisation.name == "Riverside"
