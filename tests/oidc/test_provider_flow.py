"""Signing in with an identity provider, end to end against a real OpenID provider (panva's
oidc-provider under Node): the authorization-code flow with PKCE, state and nonce, accounts
linked by (issuer, subject) and never by email, and every mismatch refused with nothing stored."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from consult.accounts.models import IdentityLink, User
from consult.accounts.oidc import UNUSABLE_PASSWORD_PREFIX
from consult.core.models import db
from tests.accounts.test_accounts import mailed_code, mails_to
from tests.conftest import login
from tests.factories import make_user
from tests.oidc.provider import ACCOUNTS, sign_in_at_provider

pytestmark = pytest.mark.server

ADA = "ada-gov-1"  # email verified by the provider
BO = "bo-gov-2"  # email not verified


def _path(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path, parts.query, ""))


def _to_callback(client, provider, login: str, start: str = "/signin/oidc/local") -> str:
    """Start on our site, sign in at the provider; the callback address (path and query) it sends back."""
    response = client.get(start)
    assert response.status_code == 302, response.text
    authorization = response.headers["Location"]
    query = parse_qs(urlsplit(authorization).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] and query["nonce"] and query["state"]
    callback = sign_in_at_provider(provider.issuer, authorization, login)
    assert callback.startswith("http://consult.test/signin/oidc/local/callback?"), callback
    return _path(callback)


def _with_param(path: str, **changes) -> str:
    parts = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _stored() -> tuple[int, int]:
    return db.session.scalar(select(func.count()).select_from(User)), db.session.scalar(select(func.count()).select_from(IdentityLink))


def _through_terms(client, response):
    """A new account has agreed to nothing: the sign-in goes by the terms step (consult/policies)
    first. Agree there; the response that follows."""
    assert urlsplit(response.headers["Location"]).path == "/agree", response.headers.get("Location")
    assert _signed_in_as(client) is None
    return client.post("/agree", data={"agree": "y"})


def _signed_in_as(client) -> User | None:
    with client.session_transaction() as session:
        user_id = session.get("_user_id")
    return db.session.get(User, int(user_id)) if user_id else None


def test_a_first_sign_in_creates_the_account_and_the_same_subject_finds_it_again(client, provider):
    response = client.get(_to_callback(client, provider, ADA))
    assert urlsplit(response.headers["Location"]).path == "/signin/oidc/new"
    assert _signed_in_as(client) is None

    page = client.get("/signin/oidc/new")
    assert page.status_code == 200
    assert "Create your account" in page.text and 'value="Ada Govid"' in page.text and 'value="ada.verified@example.org"' in page.text

    done = _through_terms(client, client.post("/signin/oidc/new", data={"display_name": "Ada G.", "email": "ada.verified@example.org"}))
    assert done.status_code == 302
    user = _signed_in_as(client)
    assert user is not None and user.display_name == "Ada G." and user.email == "ada.verified@example.org"
    assert user.confirmed_at is not None and user.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX)
    [link] = db.session.scalars(select(IdentityLink).where(IdentityLink.user_id == user.id))
    assert (link.issuer, link.subject, link.provider) == (provider.issuer, ADA, "local")

    client.post("/signout")
    assert _signed_in_as(client) is None
    again = client.get(_to_callback(client, provider, ADA, start="/signin/oidc/local?next=/account"))
    assert urlsplit(again.headers["Location"]).path == "/account"
    assert _signed_in_as(client).id == user.id
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "ada.verified@example.org")) == 1
    assert db.session.scalar(select(func.count()).select_from(IdentityLink)) == 1
    assert db.session.get(IdentityLink, link.id).last_used_at is not None


def test_a_wrong_state_is_refused_and_nothing_is_stored(client, provider):
    before = _stored()
    response = client.get(_with_param(_to_callback(client, provider, ADA), state="forged-state"))
    assert response.status_code == 400
    assert "state differs" in response.text
    assert _stored() == before and _signed_in_as(client) is None
    with client.session_transaction() as session:
        assert "oidc_identity" not in session


def test_an_answer_from_another_issuer_is_refused(client, provider):
    callback = _to_callback(client, provider, ADA)
    assert parse_qs(urlsplit(callback).query)["iss"] == [provider.issuer]  # RFC 9207: the provider names itself
    before = _stored()
    response = client.get(_with_param(callback, iss="https://evil.example"))
    assert response.status_code == 400
    assert "wrong issuer" in response.text
    assert _stored() == before and _signed_in_as(client) is None


def test_a_wrong_nonce_is_refused(client, provider):
    callback = _to_callback(client, provider, ADA)
    with client.session_transaction() as session:
        session["oidc_pending"] = {**session["oidc_pending"], "nonce": "another-sign-in"}
    before = _stored()
    response = client.get(callback)
    assert response.status_code == 400
    assert "nonce differs" in response.text
    assert _stored() == before


def test_a_wrong_code_verifier_is_refused_by_the_provider(client, provider):
    callback = _to_callback(client, provider, ADA)
    with client.session_transaction() as session:
        session["oidc_pending"] = {**session["oidc_pending"], "verifier": "x" * 64}
    response = client.get(callback)
    assert response.status_code == 400
    assert "refused to complete the sign-in (invalid_grant)" in response.text


def test_an_answer_is_used_once_and_only_in_the_browser_that_started_it(app, client, provider):
    callback = _to_callback(client, provider, ADA)
    assert app.test_client().get(callback).status_code == 400  # another browser: no sign-in waits there
    assert client.get(callback).status_code == 302
    assert client.get(callback).status_code == 400  # the same answer again


def test_a_cancelled_sign_in_is_said_plainly(client, provider):
    client.get("/signin/oidc/local")
    with client.session_transaction() as session:
        state = session["oidc_pending"]["state"]
    response = client.get(f"/signin/oidc/local/callback?error=access_denied&state={state}")
    assert response.status_code == 400 and "did not sign you in (access_denied)" in response.text


def test_an_unknown_provider_is_404(client, provider):
    assert client.get("/signin/oidc/nobody").status_code == 404
    assert client.get("/signin/oidc/nobody/callback?code=x&state=y").status_code == 404


def test_an_unverified_email_never_links_to_the_account_that_has_it(client, provider, outbox):
    owner = make_user(name="Owner", email="bo.unverified@example.org")
    db.session.commit()
    client.get(_to_callback(client, provider, BO))
    page = client.get("/signin/oidc/new")
    assert 'value="Bo Unverified"' in page.text and "bo.unverified@example.org" not in page.text  # not offered: not verified

    response = client.post("/signin/oidc/new", data={"display_name": "Bo", "email": "bo.unverified@example.org"})

    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/signin"
    assert _signed_in_as(client) is None
    assert db.session.scalar(select(func.count()).select_from(IdentityLink)) == 0
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == owner.email)) == 1
    [told] = mails_to(outbox, owner.email)
    assert "Nothing was linked to your account" in told.get_content()


def test_a_verified_email_of_an_existing_account_is_not_linked_either(client, provider):
    make_user(name="Ada Password", email="ada.verified@example.org")
    db.session.commit()
    client.get(_to_callback(client, provider, ADA))

    response = client.post("/signin/oidc/new", data={"display_name": "Ada", "email": "ada.verified@example.org"})

    assert response.status_code == 400
    assert "An account already uses this address" in response.text
    assert db.session.scalar(select(func.count()).select_from(IdentityLink)) == 0 and _signed_in_as(client) is None


def test_a_typed_address_is_confirmed_by_mail_before_the_account_signs_in(client, provider, outbox):
    client.get(_to_callback(client, provider, BO))
    response = client.post("/signin/oidc/new", data={"display_name": "Bo", "email": "bo.typed@example.org"})
    assert urlsplit(response.headers["Location"]).path == "/signin"
    user = db.session.scalar(select(User).where(User.email == "bo.typed@example.org"))
    assert user is not None and user.confirmed_at is None and _signed_in_as(client) is None
    [confirm] = mails_to(outbox, "bo.typed@example.org")
    assert "/confirm#" in confirm.get_content()

    refused = client.get(_to_callback(client, provider, BO))
    assert refused.status_code == 400 and "Confirm your email address first" in refused.text
    assert _signed_in_as(client) is None

    user.confirmed_at = user.created_at
    db.session.commit()
    assert _through_terms(client, client.get(_to_callback(client, provider, BO))).status_code == 302
    assert _signed_in_as(client).id == user.id


def test_an_account_links_a_provider_and_unlinks_it_but_not_its_last_way_in(client, provider):
    person = make_user(name="Pat Password")
    db.session.commit()
    login(client, person)
    assert "Link Local ID" in client.get("/account/sign-in").text

    response = client.get(_to_callback(client, provider, ADA, start="/account/sign-in/local/link"))

    assert urlsplit(response.headers["Location"]).path == "/account/sign-in"
    [link] = db.session.scalars(select(IdentityLink).where(IdentityLink.user_id == person.id))
    assert link.subject == ADA
    page = client.get("/account/sign-in").text
    assert "Local ID" in page and "Unlink" in page

    other = make_user(name="Other")
    db.session.commit()
    login(client, other)
    taken = client.get(_to_callback(client, provider, ADA, start="/account/sign-in/local/link"))
    assert taken.status_code == 409 and "another Consult account" in taken.text

    login(client, person)
    assert client.post(f"/account/sign-in/{link.id}/unlink").status_code == 302
    assert db.session.get(IdentityLink, link.id) is None

    person.password_hash = UNUSABLE_PASSWORD_PREFIX + "none"
    relinked = IdentityLink(user_id=person.id, provider="local", issuer=provider.issuer, subject=ADA)
    db.session.add(relinked)
    db.session.commit()
    refused = client.post(f"/account/sign-in/{relinked.id}/unlink")
    assert refused.status_code == 409 and "only way to sign in" in refused.text
    assert db.session.get(IdentityLink, relinked.id) is not None
    assert client.post(f"/account/sign-in/{relinked.id + 1000}/unlink").status_code == 404


def test_the_sign_in_and_sign_up_pages_offer_each_provider(client, provider):
    for url in ("/signin?next=/account", "/signup"):
        page = client.get(url).text
        assert "Sign in with Local ID" in page and "/signin/oidc/local" in page
    assert "/signin/oidc/local?next=/account" in client.get("/signin?next=/account").text


def test_a_new_account_page_without_a_checked_identity_sends_you_to_sign_in(client):
    response = client.get("/signin/oidc/new")
    assert urlsplit(response.headers["Location"]).path == "/signin"


def test_accounts_created_this_way_have_no_password_that_works(client, provider):
    client.get(_to_callback(client, provider, ADA))
    client.post("/signin/oidc/new", data={"display_name": "Ada", "email": "ada.verified@example.org"})
    client.post("/signout")
    user = db.session.scalar(select(User).where(User.email == "ada.verified@example.org"))
    for password in ("", user.password_hash, user.password_hash[1:]):
        response = client.post("/signin", data={"email": user.email, "password": password})
        assert response.status_code == 400
    assert ACCOUNTS[ADA]["name"] == "Ada Govid"


def test_a_password_reset_gives_such_an_account_a_password(client, provider, outbox):
    client.get(_to_callback(client, provider, ADA))
    client.post("/signin/oidc/new", data={"display_name": "Ada", "email": "ada.verified@example.org"})
    client.post("/signout")
    client.post("/reset", data={"email": "ada.verified@example.org"})
    [message] = mails_to(outbox, "ada.verified@example.org")
    code = mailed_code(message, "/reset/password")

    changed = client.post("/reset/password", data={"code": code, "password": "a new passphrase", "confirm": "a new passphrase"})

    assert changed.status_code == 302
    signed_in = _through_terms(client, client.post("/signin", data={"email": "ada.verified@example.org", "password": "a new passphrase"}))
    assert urlsplit(signed_in.headers["Location"]).path == "/"
    assert "Change your password" in client.get("/account/sign-in").text


def test_the_address_a_sign_in_started_from_is_where_it_ends_after_creating_the_account(client, provider):
    client.get(_to_callback(client, provider, ADA, start="/signin/oidc/local?next=/me/contributions"))
    response = _through_terms(client, client.post("/signin/oidc/new", data={"display_name": "Ada", "email": "ada.verified@example.org"}))
    assert urlsplit(response.headers["Location"]).path == "/me/contributions"


def test_bad_input_on_create_your_account_is_said_on_the_form_and_stores_nothing(client, provider):
    client.get(_to_callback(client, provider, ADA))
    before = _stored()
    response = client.post("/signin/oidc/new", data={"display_name": "A", "email": "not an address"})
    assert response.status_code == 400
    assert "Use 2 to 80 characters." in response.text and "Enter an email address like name@example.org." in response.text
    assert _stored() == before


def test_a_provider_that_cannot_be_reached_is_a_503_not_an_error(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OIDC_PROVIDERS", [{"name": "down", "issuer": "http://127.0.0.1:9", "client_id": "c"}])
    monkeypatch.setitem(app.config, "OIDC_HTTP_TIMEOUT", 2)
    response = client.get("/signin/oidc/down")
    assert response.status_code == 503 and "could not be reached" in response.text
