"""The site's policies: public pages, versions a site admin saves (audited), agreement at sign-up,
and the ``agree`` sign-in step after a significant change of the terms or the privacy notice."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from consult.accounts import signin_flow
from consult.accounts.models import User
from consult.audit.models import StaffAction
from consult.core.errors import PermissionDenied, RuleViolation
from consult.core.models import db
from consult.policies import services
from consult.policies.models import PolicyAgreement, PolicyKind, PolicyVersion
from tests.accounts.test_accounts import NEW_PASSWORD, field_errors, is_signed_in, sign_up
from tests.conftest import login
from tests.factories import PASSWORD, make_organisation, make_user

PRIVACY_V2 = "## What we store\n\nYour email address, and now your postcode too.\n"


@pytest.fixture
def site_admin():
    return make_user(name="Sam Site-Admin", site_admin=True)


def agreements(user: User) -> set[tuple[str, int]]:
    return {(a.kind, a.version) for a in db.session.scalars(select(PolicyAgreement).where(PolicyAgreement.user_id == user.id))}


def edit_privacy(client, *, change: str, body: str = PRIVACY_V2, note: str = "We now store your postcode.", based_on: str = "1"):
    return client.post("/admin/policies/privacy/edit", data={"body": body, "change": change, "note": note, "based_on": based_on})


def sign_in(client, user: User):
    return client.post("/signin", data={"email": user.email, "password": PASSWORD})


def path(response) -> str:
    return urlsplit(response.headers["Location"]).path


# --- the pages --------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "heading", "words"), [
    ("/terms", "Terms of use", "What you write is public"),
    ("/privacy", "Privacy notice", "removed from our records after **30 days**"),
    ("/accessibility", "Accessibility statement", "WCAG"),
    ("/cookies", "Cookie notice", "consult_session"),
])  # fmt: skip
def test_every_policy_page_is_public_with_the_shipped_text(client, address, heading, words):
    response = client.get(address)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in page
    assert words.replace("**", "") in page.replace("<strong>", "").replace("</strong>", "")
    assert "Version 1" in page


def test_the_privacy_notice_states_the_retention_settings(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_ADDRESS_DAYS", 12)
    monkeypatch.setitem(app.config, "RETENTION_UNCONFIRMED_DAYS", 3)

    page = client.get("/privacy").get_data(as_text=True)

    assert "after <strong>12 days</strong>" in page
    assert "after <strong>3\ndays</strong>" in page or "after <strong>3 days</strong>" in page


def test_every_page_links_the_four_policies_in_its_footer(client):
    page = client.get("/").get_data(as_text=True)
    footer = page[page.index('<footer class="site-footer">') :]

    for address in ("/terms", "/privacy", "/accessibility", "/cookies"):
        assert f'href="{address}"' in footer


def test_a_saved_policy_is_rendered_sanitised(client, site_admin):
    services.save_policy(
        PolicyKind.COOKIES,
        actor=site_admin,
        body="No cookies.<script>alert(1)</script> [x](javascript:alert(1))",
        significant=False,
        note="",
    )
    db.session.commit()

    page = client.get("/cookies").get_data(as_text=True)

    assert "No cookies." in page and "<script>alert" not in page and 'href="javascript' not in page


# --- editing ----------------------------------------------------------------------------------


def test_only_a_site_admin_edits_the_policies(client, organisation):
    for person in (make_user(), make_user(role="admin", organisation=organisation)):
        login(client, person)
        assert client.get("/admin/policies").status_code == 403
        assert client.get("/admin/policies/privacy/edit").status_code == 403
        assert edit_privacy(client, change="significant").status_code == 403
    client.post("/signout")
    assert path(client.get("/admin/policies")) == "/signin"
    assert db.session.scalar(select(func.count()).select_from(PolicyVersion)) == 0
    with pytest.raises(PermissionDenied):
        services.save_policy(PolicyKind.TERMS, actor=make_user(), body="Mine now.", significant=True, note="")


def test_every_save_is_a_new_numbered_version_and_the_old_ones_stay_readable(client, site_admin):
    login(client, site_admin)
    assert "Edit<span" in client.get("/admin/policies").get_data(as_text=True)
    form = client.get("/admin/policies/privacy/edit").get_data(as_text=True)
    assert "This notice says what this Consult site stores" in form  # the current text, to edit
    assert "Significant" in form and "Editorial" in form

    first = edit_privacy(client, change="significant")
    second = edit_privacy(client, change="editorial", body=PRIVACY_V2 + "\nSpelling fixed.\n", note="Spelling.", based_on="2")

    assert (path(first), path(second)) == ("/admin/policies", "/admin/policies")
    rows = db.session.scalars(select(PolicyVersion).order_by(PolicyVersion.number)).all()
    assert [(r.kind, r.number, r.significant, r.note, r.saved_by_id) for r in rows] == [
        ("privacy", 2, True, "We now store your postcode.", site_admin.id),
        ("privacy", 3, False, "Spelling.", site_admin.id),
    ]
    assert "Spelling fixed." in client.get("/privacy").get_data(as_text=True)
    history = client.get("/privacy/versions").get_data(as_text=True)
    assert "Version 3" in history and "Version 2" in history and "Version 1" in history and "Editorial" in history
    old = client.get("/privacy/versions/2").get_data(as_text=True)
    assert "now your postcode too" in old and "Spelling fixed." not in old and "An earlier version" in old
    assert "This notice says what this Consult site stores" in client.get("/privacy/versions/1").get_data(as_text=True)
    assert client.get("/privacy/versions/9").status_code == 404


def test_a_policy_edit_is_in_the_audit_log(client, site_admin):
    login(client, site_admin)

    edit_privacy(client, change="significant")

    [entry] = db.session.scalars(select(StaffAction)).all()
    version = db.session.scalar(select(PolicyVersion))
    assert (entry.operation, entry.actor_id, entry.actor_role, entry.organisation_id) == ("edit_policy", site_admin.id, "site_admin", None)
    assert (entry.target_type, entry.target_id, entry.detail) == (
        "policy",
        version.id,
        {"kind": "privacy", "version": 2, "significant": True},
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": "", "change": "significant"}, "Write the text of the policy."),
        ({"body": "New text.", "change": ""}, "Say whether the change is significant or editorial."),
        ({"body": "New text.", "change": "sneaky"}, "Not a valid choice."),
        ({"body": "x" * 100_001, "change": "editorial"}, "A policy can be at most 100,000 characters."),
        ({"body": "New text.", "change": "editorial", "note": "n" * 501}, "Say what changed in at most 500 characters."),
        ({"body": "New text.", "change": "editorial", "based_on": "abc"}, "Reload the page and try again."),
    ],
    ids=["empty", "no-kind-of-change", "unknown-kind-of-change", "too-long", "long-note", "bad-base"],
)
def test_bad_input_to_the_editor_is_refused_and_nothing_is_stored(client, site_admin, data, message):
    login(client, site_admin)

    response = client.post("/admin/policies/terms/edit", data={"note": "", "based_on": "1", **data})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert any(message in error for error in field_errors(page)) or (data.get("based_on") and message in page)
    assert db.session.scalar(select(func.count()).select_from(PolicyVersion)) == 0
    assert db.session.scalar(select(func.count()).select_from(StaffAction)) == 0


def test_a_save_over_a_newer_version_or_of_the_same_text_is_refused(client, site_admin):
    login(client, site_admin)
    edit_privacy(client, change="significant")

    stale = edit_privacy(client, change="editorial", body="Another admin's text, started from version 1.")
    same = edit_privacy(client, change="editorial", based_on="2")

    assert stale.status_code == 400 and "Someone saved version 2 while you were editing" in stale.get_data(as_text=True)
    assert "Another admin&#39;s text" in stale.get_data(as_text=True)  # what was typed is kept
    assert same.status_code == 400 and "nothing to save" in same.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PolicyVersion)) == 1
    with pytest.raises(RuleViolation):
        services.save_policy(PolicyKind.TERMS, actor=site_admin, body="   \n ", significant=True, note="")


# --- agreeing at sign-up ----------------------------------------------------------------------


def test_sign_up_without_agreeing_is_refused(client, outbox):
    response = client.post(
        "/signup", data={"display_name": "Nina Newcomer", "email": "nina@example.org", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert "Agree to the terms of use and the privacy notice to create an account." in field_errors(response.get_data(as_text=True))
    assert db.session.scalar(select(User).where(User.email == "nina@example.org")) is None
    assert outbox.messages() == []


def test_the_sign_up_form_links_both_policies_from_its_checkbox(client):
    page = client.get("/signup").get_data(as_text=True)
    label = page[page.index('<label for="agree">') :]
    label = label[: label.index("</label>")]

    assert 'href="/terms"' in label and 'href="/privacy"' in label
    assert 'type="checkbox"' in page and 'name="agree"' in page


def test_sign_up_with_agreeing_stores_the_current_versions(client, site_admin, outbox):
    services.save_policy(PolicyKind.PRIVACY, actor=site_admin, body=PRIVACY_V2, significant=True, note="")
    services.save_policy(PolicyKind.PRIVACY, actor=site_admin, body=PRIVACY_V2 + "Typo.\n", significant=False, note="")
    db.session.commit()

    response = sign_up(client, email_address="nina@example.org")

    assert response.status_code == 302
    nina = db.session.scalar(select(User).where(User.email == "nina@example.org"))
    assert agreements(nina) == {("terms", 1), ("privacy", 3)}


def test_signing_up_again_with_a_taken_address_records_no_agreement(client, citizen, outbox):
    before = agreements(citizen)

    sign_up(client, email_address=citizen.email)

    assert agreements(citizen) == before


# --- the sign-in step -------------------------------------------------------------------------


def test_a_significant_privacy_change_makes_the_next_sign_in_land_on_agree(client, citizen, site_admin):
    services.save_policy(PolicyKind.PRIVACY, actor=site_admin, body=PRIVACY_V2, significant=True, note="We now store your postcode.")
    db.session.commit()

    response = sign_in(client, citizen)

    assert path(response) == "/agree"
    assert not is_signed_in(client)
    page = client.get("/agree").get_data(as_text=True)
    assert "Privacy notice</a>, version 2" in page and "We now store your postcode." in page
    assert "Terms of use</a>, version" not in page  # the terms did not change
    assert 'name="agree"' in page and ">Continue</button>" in page and "Cancel sign-in" in page


def test_an_editorial_change_does_not_ask_again(client, citizen, site_admin):
    services.save_policy(PolicyKind.PRIVACY, actor=site_admin, body=PRIVACY_V2, significant=False, note="Layout.")
    services.save_policy(PolicyKind.TERMS, actor=site_admin, body="New terms.", significant=False, note="Layout.")
    db.session.commit()

    response = sign_in(client, citizen)

    assert path(response) == "/"
    assert is_signed_in(client)


def test_after_agreeing_the_person_is_signed_in_and_the_version_stored(client, citizen, site_admin):
    services.save_policy(PolicyKind.PRIVACY, actor=site_admin, body=PRIVACY_V2, significant=True, note="")
    db.session.commit()
    sign_in(client, citizen)

    refused = client.post("/agree", data={})
    agreed = client.post("/agree", data={"agree": "y"})

    assert refused.status_code == 400 and "Tick the box to agree" in refused.get_data(as_text=True)
    assert path(agreed) == "/"
    assert is_signed_in(client)
    assert ("privacy", 2) in agreements(citizen)
    client.post("/signout")
    assert path(sign_in(client, citizen)) == "/"  # asked once


def test_declining_cancels_the_sign_in(client, citizen, site_admin):
    services.save_policy(PolicyKind.TERMS, actor=site_admin, body="New terms.", significant=True, note="")
    db.session.commit()
    sign_in(client, citizen)

    response = client.post("/agree", data={"decline": "1"})

    assert path(response) == "/"
    assert not is_signed_in(client)
    assert path(client.get("/agree")) == "/signin"  # nothing left waiting
    assert ("terms", 2) not in agreements(citizen)


def test_an_account_that_never_agreed_is_asked(client):
    """Accounts made without the sign-up form (an identity provider, the CLI, before policies
    existed) have no agreement: their first sign-in asks."""
    person = make_user(agreed=False)
    db.session.commit()

    assert path(sign_in(client, person)) == "/agree"
    assert path(client.post("/agree", data={"agree": "y"})) == "/"
    assert agreements(person) == {("terms", 1), ("privacy", 1)}


def test_the_agree_page_needs_a_pending_sign_in(client, citizen):
    assert path(client.get("/agree")) == "/signin"
    assert path(client.post("/agree", data={"agree": "y"})) == "/signin"
    login(client, citizen)
    assert path(client.get("/agree")) == "/signin"  # signed in already: there is nothing to agree to here


def test_the_step_comes_after_the_other_steps(app):
    step = signin_flow._steps["agree"]
    assert (step.endpoint, step.order) == ("policies.agree", 20)


def test_staff_are_asked_too(client, site_admin):
    """Site admins saving a significant version are people too: they agree at their next sign-in."""
    services.save_policy(PolicyKind.TERMS, actor=site_admin, body="New terms.", significant=True, note="")
    org_admin = make_user(role="admin", organisation=make_organisation())
    db.session.commit()

    assert path(sign_in(client, org_admin)) == "/"  # made after the change: agreed to version 2
    client.post("/signout")
    assert path(sign_in(client, site_admin)) == "/agree"
