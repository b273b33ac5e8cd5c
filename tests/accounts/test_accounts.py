"""Accounts as a user meets them: signing up, in and out, throttling, resets, members, the CLI.

Requests go through the real views (and the real password hashing, made cheap by the test
config's ``PASSWORD_HASH_METHOD``) except where a test only needs someone signed in: then
``login`` from the factories does it directly.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from consult.accounts.models import LoginSession, Membership, SignInAttempt, User
from consult.core.models import db
from tests.factories import PASSWORD, login, make_user

NEW_PASSWORD = "a brand new passphrase"
CHECK_INBOX = "Check your inbox: we have sent you a message with the next step."
NO_MATCH = "That email address and password do not match an account."


# --- helpers -------------------------------------------------------------------------------


def mails(outbox) -> list[email.message.EmailMessage]:
    """The messages in the outbox, parsed (bodies may be quoted-printable on disk)."""
    return [email.message_from_string(raw, policy=email.policy.default) for raw in outbox.messages()]


def mails_to(outbox, address: str) -> list[email.message.EmailMessage]:
    return [m for m in mails(outbox) if m["To"] == address]


def body_of(message) -> str:
    return message.get_content()


def mailed_code(message, page: str) -> str:
    """The code that a message's link to ``page`` (such as ``/confirm``) carries after "#",
    checked to be the code the message also gives to paste."""
    body = body_of(message)
    match = re.search(rf"https?://[^/\s]+{re.escape(page)}#(\S+)", body)
    assert match, f"no {page}#CODE link in: {body!r}"
    assert match.group(1) in body.replace(match.group(0), ""), "the code to paste is missing"
    return match.group(1)


def confirm(client, code: str):
    return client.post("/confirm", data={"code": code})


def reset(client, code: str, password: str = NEW_PASSWORD):
    return client.post("/reset/password", data={"code": code, "password": password, "confirm": password})


def flashes(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash[^"]*">(.*?)</p>', page, re.S)]


def field_errors(page: str) -> list[str]:
    found = re.findall(r'<p class="error-message"[^>]*>\s*<span class="visually-hidden">Error:</span>(.*?)</p>', page, re.S)
    return [html.unescape(m).strip() for m in found]


def heading(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    return html.unescape(match.group(1)).strip() if match else ""


def location_path(response) -> str:
    """The path (and query) a redirect points to; fails if it leaves this site."""
    parts = urlsplit(response.headers["Location"])
    assert parts.scheme in ("", "http", "https")
    assert parts.netloc in ("", "consult.test"), response.headers["Location"]
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in(client, email_address: str, password: str = PASSWORD, *, address: str | None = None, **kwargs):
    if address:
        kwargs["environ_base"] = {"REMOTE_ADDR": address}
    return client.post("/signin", data={"email": email_address, "password": password}, **kwargs)


def sign_up(client, *, email_address: str, name: str = "Nina Newcomer", password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(
        "/signup",
        data={
            "display_name": name,
            "email": email_address,
            "password": password,
            "confirm": password if confirm is None else confirm,
            "agree": "y",
        },
    )


def users_with(email_address: str) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == email_address.lower()))


def is_signed_in(client) -> bool:
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and location_path(response).startswith("/signin")
    return False


# --- sign-up -------------------------------------------------------------------------------


def test_sign_up_creates_unconfirmed_account_and_mails_a_confirmation_link(client, outbox):
    response = sign_up(client, email_address="Nina@Example.org")

    assert response.status_code == 302
    assert location_path(response) == "/signin"
    user = db.session.scalar(select(User).where(User.email == "nina@example.org"))
    assert user is not None
    assert user.display_name == "Nina Newcomer"
    assert user.confirmed_at is None

    sent = mails(outbox)
    assert len(sent) == 1
    assert sent[0]["To"] == "nina@example.org"
    assert "Confirm" in sent[0]["Subject"]
    assert mailed_code(sent[0], "/confirm")


def test_unconfirmed_account_cannot_sign_in_until_the_link_is_followed(client, outbox):
    sign_up(client, email_address="nina@example.org")
    code = mailed_code(mails(outbox)[0], "/confirm")

    refused = sign_in(client, "nina@example.org", NEW_PASSWORD)
    assert refused.status_code == 400
    assert "Confirm your email address" in refused.get_data(as_text=True)
    assert not is_signed_in(client)

    page = client.get("/confirm")
    assert page.status_code == 200
    assert 'name="code"' in page.get_data(as_text=True)
    # Followed in another browser than the one that signed up: it confirms, and signs nobody in.
    confirmed = client.application.test_client().post("/confirm", data={"code": code}, follow_redirects=True)
    assert confirmed.status_code == 200
    assert confirmed.request.path == "/signin"
    assert "Your email address is confirmed. You can sign in now." in flashes(confirmed.get_data(as_text=True))
    user = db.session.scalar(select(User).where(User.email == "nina@example.org"))
    db.session.refresh(user)
    assert user.confirmed_at is not None

    accepted = sign_in(client, "nina@example.org", NEW_PASSWORD)
    assert accepted.status_code == 302
    assert is_signed_in(client)


def test_tampered_confirmation_link_is_refused(client, outbox):
    sign_up(client, email_address="nina@example.org")
    code = mailed_code(mails(outbox)[0], "/confirm")
    tampered = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")

    response = confirm(client, tampered)

    assert response.status_code == 400
    assert "This link is not valid." in field_errors(response.get_data(as_text=True))
    user = db.session.scalar(select(User).where(User.email == "nina@example.org"))
    db.session.refresh(user)
    assert user.confirmed_at is None


def test_sign_up_with_a_taken_address_answers_exactly_like_a_new_one(app, citizen, outbox):
    existing_email = citizen.email
    db.session.commit()

    new_client, taken_client = app.test_client(), app.test_client()
    new = sign_up(new_client, email_address="brand-new@example.org")
    new_page = new_client.get(new.headers["Location"])
    new_mail = mails(outbox)
    assert len(new_mail) == 1

    taken = sign_up(taken_client, email_address=existing_email.upper(), name="Somebody Else")
    taken_page = taken_client.get(taken.headers["Location"])

    # What the person at the keyboard sees is the same.
    assert taken.status_code == new.status_code == 302
    assert taken.headers["Location"] == new.headers["Location"]
    assert flashes(taken_page.get_data(as_text=True)) == flashes(new_page.get_data(as_text=True)) == [CHECK_INBOX]
    assert taken_page.status_code == new_page.status_code == 200
    assert taken_page.get_data() == new_page.get_data()

    # No second account, and the existing one is untouched.
    assert users_with(existing_email) == 1
    db.session.refresh(citizen)
    assert citizen.display_name == "Casey Citizen"

    # The owner of the address is told, with a different message and no confirmation link.
    assert len(mails(outbox)) == 2
    [to_owner] = mails_to(outbox, existing_email)
    assert to_owner["Subject"] != new_mail[0]["Subject"]
    assert "/confirm" not in body_of(to_owner)
    assert "already has an account" in body_of(to_owner)
    assert "/reset" in body_of(to_owner)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email_address": "not-an-email"}, "Enter an email address like name@example.org."),
        ({"email_address": "short@example.org", "password": "too short"}, "Choose a password of at least 10 characters."),
        ({"email_address": "differ@example.org", "confirm": "something else entirely"}, "The two passwords differ."),
        ({"email_address": "longname@example.org", "name": "N" * 2000}, "Use 2 to 80 characters."),
    ],
    ids=["bad-email", "short-password", "mismatched-passwords", "2000-char-name"],
)
def test_sign_up_with_bad_input_is_refused_and_explained(client, outbox, fields, message):
    before = db.session.scalar(select(func.count()).select_from(User))

    response = sign_up(client, **fields)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in field_errors(page)
    assert "There is a problem" in page
    assert db.session.scalar(select(func.count()).select_from(User)) == before
    assert users_with(fields["email_address"]) == 0
    assert mails(outbox) == []


# --- sign-in -------------------------------------------------------------------------------


def test_right_password_signs_in_and_the_page_shows_the_public_name(client, citizen):
    db.session.commit()

    response = sign_in(client, citizen.email.upper())

    assert response.status_code == 302
    assert location_path(response) == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Casey Citizen" in page
    assert "Sign out" in page
    assert "Welcome, Casey Citizen." in flashes(page)
    assert citizen.email not in page


@pytest.mark.parametrize("stored_method", ["scrypt", "pbkdf2:sha256:1"])
def test_a_password_hashed_under_either_setting_still_signs_in(app, client, citizen, monkeypatch, stored_method):
    from consult.accounts import services as accounts

    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", stored_method)
    citizen.password_hash = accounts.hash_password(PASSWORD)
    assert citizen.password_hash.startswith(stored_method.split(":")[0] + ":")
    db.session.commit()
    other = "pbkdf2:sha256:1" if stored_method == "scrypt" else "scrypt"
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", other)

    assert field_errors(sign_in(client, citizen.email, "not the password at all").get_data(as_text=True)) == [NO_MATCH]
    response = sign_in(client, citizen.email)
    assert response.status_code == 302
    assert "Welcome, Casey Citizen." in flashes(client.get("/").get_data(as_text=True))


def test_new_passwords_are_hashed_by_the_configured_method(app, monkeypatch):
    from consult.accounts import services as accounts

    assert app.config["PASSWORD_HASH_METHOD"] == "pbkdf2:sha256:1"  # the test config's cheap one
    assert accounts.hash_password(PASSWORD).startswith("pbkdf2:sha256:1$")
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "scrypt")
    assert accounts.hash_password(PASSWORD).startswith("scrypt:32768:8:1$")


def test_an_unknown_hash_method_stops_the_app_at_start(tmp_path):
    from consult import create_app

    with pytest.raises(RuntimeError, match="PASSWORD_HASH_METHOD"):
        create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "PASSWORD_HASH_METHOD": "md5"})


def test_wrong_password_and_unknown_address_get_the_same_answer(client, citizen):
    db.session.commit()

    wrong = sign_in(client, citizen.email, "not the password at all")
    unknown = sign_in(client, "nobody-here@example.org", "not the password at all")

    assert wrong.status_code == unknown.status_code == 400
    assert field_errors(wrong.get_data(as_text=True)) == field_errors(unknown.get_data(as_text=True)) == [NO_MATCH]
    assert heading(wrong.get_data(as_text=True)) == heading(unknown.get_data(as_text=True)) == "Sign in"
    assert not is_signed_in(client)


def test_members_page_shows_display_names_but_never_email_addresses(client, org_admin, author, moderator):
    login(client, org_admin)

    response = client.get("/o/council/members")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for member in (org_admin, author, moderator):
        assert member.display_name in page
        assert member.email not in page
    assert "@example.org" not in page


def test_consultation_page_does_not_show_the_authors_email(client, citizen, open_consultation, author):
    login(client, citizen)

    page = client.get(f"/c/{open_consultation.slug}").get_data(as_text=True)

    assert open_consultation.title in page
    assert author.email not in page


# --- throttling ----------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_for_the_right_password(app, client, citizen):
    assert app.config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"] == 5  # the real default
    other = make_user(name="Olive Other")
    db.session.commit()

    for _ in range(5):
        assert sign_in(client, citizen.email, "wrong password, again").status_code == 400

    locked = sign_in(client, citizen.email)
    assert locked.status_code == 429
    text = locked.get_data(as_text=True)
    assert "Too many failed sign-in attempts" in text
    assert "Wait 15 minutes" in text
    assert not is_signed_in(client)

    # The lock is on that account, not on the client: another account signs in from here.
    other_client = app.test_client()
    assert sign_in(other_client, other.email).status_code == 302
    assert is_signed_in(other_client)


def test_a_hundred_failures_from_one_address_hold_back_its_unknown_browsers_only(app, citizen):
    assert app.config["SIGNIN_MAX_FAILURES_PER_ADDRESS"] == 100  # the real default: a ceiling, not one person's limit
    db.session.commit()
    guesser, bystander = app.test_client(), app.test_client()

    # Spread over many accounts so that no single account reaches its own limit.
    for n in range(100):
        response = sign_in(guesser, f"target{n % 25}@example.org", "guess", address="203.0.113.9")
        assert response.status_code == 400, n

    blocked = sign_in(guesser, citizen.email, address="203.0.113.9")
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.get_data(as_text=True)
    assert not is_signed_in(guesser)

    allowed = sign_in(bystander, citizen.email, address="198.51.100.7")
    assert allowed.status_code == 302
    assert is_signed_in(bystander)


def test_per_address_limit_is_configurable(app, monkeypatch, citizen):
    monkeypatch.setitem(app.config, "SIGNIN_MAX_FAILURES_PER_ADDRESS", 3)
    db.session.commit()
    client = app.test_client()

    for n in range(3):
        assert sign_in(client, f"someone{n}@example.org", "guess", address="203.0.113.10").status_code == 400

    assert sign_in(client, citizen.email, address="203.0.113.10").status_code == 429
    assert sign_in(client, citizen.email, address="203.0.113.11").status_code == 302


def test_successful_sign_in_clears_the_accounts_failures(app, citizen):
    db.session.commit()
    client = app.test_client()

    for _ in range(4):
        assert sign_in(client, citizen.email, "wrong").status_code == 400
    assert sign_in(client, citizen.email).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(SignInAttempt).where(SignInAttempt.email == citizen.email)) == 0

    # Four more failures: eight in the window if the first four still counted, which would lock.
    later = app.test_client()
    for _ in range(4):
        assert sign_in(later, citizen.email, "wrong").status_code == 400
    assert sign_in(later, citizen.email).status_code == 302


# --- next= ---------------------------------------------------------------------------------


def test_next_leads_to_a_page_on_this_site(client, citizen):
    db.session.commit()

    response = sign_in(client, citizen.email, query_string={"next": "/c/x"})

    assert response.status_code == 302
    assert location_path(response) == "/c/x"


def test_sign_in_gate_brings_you_back_where_you_were(client, citizen):
    db.session.commit()

    gate = client.get("/account")
    assert gate.status_code == 302
    signin_url = gate.headers["Location"]
    assert urlsplit(gate.headers["Location"]).path == "/signin"
    assert parse_qs(urlsplit(gate.headers["Location"]).query) == {"next": ["/account"]}

    response = client.post(signin_url, data={"email": citizen.email, "password": PASSWORD})
    assert location_path(response) == "/account"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "\\\\evil",
        "/\r\nSet-Cookie:x=y",  # what /signin?next=/%0d%0aSet-Cookie:x=y decodes to
        "/\tevil",
    ],
    ids=["absolute", "scheme-relative", "slash-backslash", "javascript", "http-one-slash", "backslashes", "crlf", "tab"],
)
def test_foreign_or_tricky_next_is_replaced_by_the_home_page(client, citizen, target):
    db.session.commit()

    response = sign_in(client, citizen.email, query_string={"next": target})

    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "http://consult.test/")
    assert is_signed_in(client)


def test_encoded_crlf_in_next_cannot_inject_a_header(client, citizen):
    db.session.commit()

    # Sent as typed into a link: %0d%0a arrives as CR LF and is refused.
    raw = client.post("/signin?next=/%0d%0aSet-Cookie:x=y", data={"email": citizen.email, "password": PASSWORD})
    assert raw.status_code == 302
    assert raw.headers["Location"] in ("/", "http://consult.test/")

    # Encoded once more it is just an odd path on this site, and stays inside the Location.
    client.post("/signout")
    literal = sign_in(client, citizen.email, query_string={"next": "/%0d%0aSet-Cookie:x=y"})
    assert literal.status_code == 302
    assert location_path(literal).startswith("/%0")

    for response in (raw, literal):
        for _name, value in response.headers.items():
            assert "\r" not in value and "\n" not in value
        cookies = response.headers.getlist("Set-Cookie")
        assert not any(c.lower().startswith("x=") for c in cookies)
        assert all(c.startswith(("consult_session=", "consult_known_browser=")) for c in cookies)


# --- sessions ------------------------------------------------------------------------------


def test_sign_in_starts_a_fresh_session(client, citizen):
    db.session.commit()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"

    assert sign_in(client, citizen.email).status_code == 302

    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id") == str(citizen.id)


def test_sign_out_ends_the_session_even_for_a_copied_cookie(app, client, citizen):
    db.session.commit()
    assert sign_in(client, citizen.email).status_code == 302
    cookie = client.get_cookie("consult_session", domain="consult.test")
    assert cookie is not None

    copy = app.test_client()
    copy.set_cookie("consult_session", cookie.value, domain="consult.test")
    assert is_signed_in(copy)  # the copy works while the session lives

    response = client.post("/signout")
    assert response.status_code == 302
    assert "You have signed out." in flashes(client.get(response.headers["Location"]).get_data(as_text=True))
    assert not is_signed_in(client)

    stale = app.test_client()
    stale.set_cookie("consult_session", cookie.value, domain="consult.test")
    assert not is_signed_in(stale)
    assert db.session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == citizen.id)) == 0


def test_sign_out_by_get_is_refused(app, client, citizen, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # answer as in production
    login(client, citizen)

    response = client.get("/signout")

    assert response.status_code == 303  # to a page (consult/core/action_urls.py), signing nobody out
    assert is_signed_in(client)


# --- password reset ------------------------------------------------------------------------


def test_reset_request_answers_the_same_for_known_and_unknown_addresses(app, citizen, outbox):
    db.session.commit()
    known_client, unknown_client = app.test_client(), app.test_client()

    unknown = unknown_client.post("/reset", data={"email": "nobody-here@example.org"})
    assert mails(outbox) == []
    known = known_client.post("/reset", data={"email": citizen.email})

    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    known_page = known_client.get(known.headers["Location"]).get_data()
    unknown_page = unknown_client.get(unknown.headers["Location"]).get_data()
    assert known_page == unknown_page
    assert flashes(known_page.decode()) == [CHECK_INBOX]

    sent = mails(outbox)
    assert len(sent) == 1
    assert sent[0]["To"] == citizen.email
    assert mailed_code(sent[0], "/reset/password")


def test_reset_link_sets_a_new_password_once_and_ends_other_sessions(app, citizen, outbox):
    db.session.commit()
    elsewhere = app.test_client()
    assert sign_in(elsewhere, citizen.email).status_code == 302
    assert is_signed_in(elsewhere)

    resetter = app.test_client()
    resetter.post("/reset", data={"email": citizen.email})
    code = mailed_code(mails(outbox)[0], "/reset/password")
    assert resetter.get("/reset/password").status_code == 200

    done = reset(resetter, code)
    assert done.status_code == 302
    assert location_path(done) == "/signin"

    assert not is_signed_in(elsewhere)
    assert sign_in(app.test_client(), citizen.email, PASSWORD).status_code == 400
    assert sign_in(app.test_client(), citizen.email, NEW_PASSWORD).status_code == 302

    again = reset(resetter, code, "yet another passphrase")
    assert again.status_code == 400
    assert "This reset link has expired or was already used." in field_errors(again.get_data(as_text=True))
    assert sign_in(app.test_client(), citizen.email, NEW_PASSWORD).status_code == 302


def test_tampered_reset_link_is_refused(client, citizen, outbox):
    db.session.commit()
    client.post("/reset", data={"email": citizen.email})
    token = mailed_code(mails(outbox)[0], "/reset/password")
    middle = len(token) // 2
    tampered = token[:middle] + ("x" if token[middle] != "x" else "y") + token[middle + 1 :]

    response = reset(client, tampered)

    assert response.status_code == 400
    assert "This link is not valid." in field_errors(response.get_data(as_text=True))
    assert sign_in(client, citizen.email, PASSWORD).status_code == 302


def test_signing_up_again_before_confirming_mails_a_fresh_confirmation_link(client, outbox):
    """Someone whose confirmation mail got lost signs up again: they get a new link, and the
    page says exactly what it says to anyone else."""
    first = sign_up(client, email_address="lost-mail@example.org")
    second = sign_up(client, email_address="lost-mail@example.org")
    assert (first.status_code, first.headers["Location"]) == (second.status_code, second.headers["Location"])
    confirmations = [m for m in mails(outbox) if "/confirm#" in body_of(m)]
    assert len(confirmations) == 2
    assert confirm(client, mailed_code(confirmations[-1], "/confirm")).status_code == 302
    assert sign_in(client, "lost-mail@example.org", NEW_PASSWORD).status_code == 302
    assert is_signed_in(client)


def test_resetting_the_password_confirms_an_unconfirmed_address(client, outbox):
    """Following the mailed reset link proves the address, so afterwards they can sign in."""
    sign_up(client, email_address="lost-mail@example.org")
    client.post("/reset", data={"email": "lost-mail@example.org"})
    [reset_mail] = [m for m in mails(outbox) if "/reset/password#" in body_of(m)]
    assert reset(client, mailed_code(reset_mail, "/reset/password")).status_code == 302

    response = sign_in(client, "lost-mail@example.org", NEW_PASSWORD)
    lead = re.search(r'<p class="lead">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert response.status_code == 302, lead and html.unescape(lead.group(1))
    assert is_signed_in(client)


# --- organisation members ------------------------------------------------------------------


def test_org_admin_adds_and_removes_a_member(client, org_admin, citizen, organisation):
    login(client, org_admin)

    added = client.post("/o/council/members", data={"email": citizen.email.upper(), "role": "moderator"})
    assert added.status_code == 302
    assert location_path(added) == "/o/council/members"
    page = client.get("/o/council/members").get_data(as_text=True)
    assert "Casey Citizen is now moderator of Riverside Council." in flashes(page)
    assert "Casey Citizen" in page
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == citizen.id, Membership.organisation_id == organisation.id)
    )
    assert membership is not None and membership.role == "moderator"
    again = client.post("/o/council/members", data={"email": citizen.email, "role": "moderator"})
    assert "Casey Citizen was already moderator of Riverside Council." in flashes(client.get(location_path(again)).get_data(as_text=True))
    empty = client.post("/o/council/members", data={"email": "", "role": "author"})
    assert empty.status_code == 400 and "Enter the email address of the person to add." in empty.get_data(as_text=True)

    removed = client.post(f"/o/council/members/{membership.id}/remove")
    assert removed.status_code == 302
    page = client.get("/o/council/members").get_data(as_text=True)
    assert "The role has been removed." in flashes(page)
    assert "Casey Citizen" not in page
    assert db.session.scalar(select(func.count()).select_from(Membership).where(Membership.user_id == citizen.id)) == 0


def test_adding_an_unknown_address_is_explained(client, org_admin):
    login(client, org_admin)

    response = client.post("/o/council/members", data={"email": "nobody-here@example.org", "role": "author"})

    assert response.status_code == 400
    assert "No account uses this address. Ask the person to sign up first." in field_errors(response.get_data(as_text=True))


@pytest.mark.parametrize("persona", ["author", "citizen", "moderator"])
def test_members_page_is_for_org_admins_only(request, client, organisation, persona):
    user = request.getfixturevalue(persona)
    victim = make_user(name="Vic Victim")
    login(client, user)

    assert client.get("/o/council/members").status_code == 403
    assert client.post("/o/council/members", data={"email": victim.email, "role": "admin"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Membership).where(Membership.user_id == victim.id)) == 0


def test_non_admin_cannot_remove_a_member(client, author, moderator, organisation):
    membership = db.session.scalar(select(Membership).where(Membership.user_id == moderator.id))
    login(client, author)

    response = client.post(f"/o/council/members/{membership.id}/remove")

    assert response.status_code == 403
    assert db.session.get(Membership, membership.id) is not None


def test_members_page_sends_anonymous_visitors_to_sign_in(client, organisation):
    response = client.get("/o/council/members")

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/signin"
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"next": ["/o/council/members"]}


# --- CLI -----------------------------------------------------------------------------------


def test_cli_creates_a_confirmed_account_that_can_sign_in(app, client):
    result = app.test_cli_runner().invoke(
        args=["create-user", "--email", "Cli@Example.org", "--name", "Cleo Cli", "--password", NEW_PASSWORD]
    )

    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "cli@example.org"))
    assert user is not None and user.confirmed_at is not None
    assert user.display_name == "Cleo Cli"
    assert sign_in(client, "cli@example.org", NEW_PASSWORD).status_code == 302


def test_cli_refuses_a_duplicate_email(app):
    runner = app.test_cli_runner()
    args = ["create-user", "--email", "twice@example.org", "--name", "First", "--password", NEW_PASSWORD]
    assert runner.invoke(args=args).exit_code == 0

    result = runner.invoke(args=["create-user", "--email", "TWICE@example.org", "--name", "Second", "--password", NEW_PASSWORD])

    assert result.exit_code != 0
    assert "An account with this email address already exists." in result.output
    assert users_with("twice@example.org") == 1


def test_cli_gives_a_role_in_an_organisation(app, organisation):
    db.session.commit()

    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--email",
            "writer@example.org",
            "--name",
            "Wren Writer",
            "--password",
            NEW_PASSWORD,
            "--organisation",
            "council",
            "--role",
            "author",
        ]
    )

    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "writer@example.org"))
    roles = {(m.organisation.slug, m.role) for m in user.memberships}
    assert roles == {("council", "author")}


@pytest.mark.parametrize(
    "forged",
    [{"base_url": "http://evil.example"}, {"headers": {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}}],
    ids=["Host", "X-Forwarded-Host"],
)
def test_mailed_links_name_the_sites_address_whatever_host_the_request_named(app, client, citizen, outbox, monkeypatch, forged):
    """A reset link that followed the request's Host would send the victim's valid token to
    whoever forged the header: mail links come from CONSULT_BASE_URL only."""
    monkeypatch.setitem(app.config, "SERVER_NAME", None)  # as on most sites
    db.session.commit()
    client.post("/reset", data={"email": citizen.email}, **forged)  # a reset link
    for address in ("newcomer@example.org", citizen.email):  # a confirmation link; "someone tried to sign up"
        client.post(
            "/signup",
            data={"email": address, "display_name": "Nina Newcomer", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "agree": "y"},
            **forged,
        )
    sent = mails(outbox)
    assert len(sent) == 3
    for message in sent:
        body = body_of(message)
        assert "evil.example" not in body
        assert "http://consult.test/" in body
