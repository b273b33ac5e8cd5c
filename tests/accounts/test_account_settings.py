"""The account page (issue 16): changing the email address, the list of signed-in browsers,
and sessions that end on the server after their lifetimes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from consult.accounts.models import LoginSession, SignInAttempt, User
from consult.core.models import db, utcnow
from tests.accounts.test_accounts import body_of, is_signed_in, location_path, mailed_code, mails, mails_to, sign_in
from tests.factories import PASSWORD, login, make_user

NEW_ADDRESS = "casey.new@example.org"
ASKED = "We have sent a link to"


def ask_for(client, new_email: str, password: str = PASSWORD):
    return client.post("/account/email", data={"email": new_email, "current_password": password})


def confirm_change(client, code: str):
    return client.post("/account/email/confirm", data={"code": code})


def sessions_of(user: User) -> list[LoginSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)))


# --- the account page --------------------------------------------------------------------------


def test_the_account_page_links_every_setting(client, citizen):
    login(client, citizen)
    text = client.get("/account").get_data(as_text=True)
    for path in ("/account/email", "/account/password", "/account/sessions", "/me/contributions", "/account/notifications"):
        assert f'href="{path}"' in text or f'href="http://consult.test{path}"' in text, path
    assert "Privacy and security" in text
    assert citizen.email in text


# --- changing the email address --------------------------------------------------------------


def test_the_email_changes_only_when_the_link_to_the_new_address_is_followed(app, client, citizen, outbox):
    old = citizen.email
    login(client, citizen)
    response = ask_for(client, NEW_ADDRESS)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, citizen.id).email == old  # not yet

    [link_mail] = mails_to(outbox, NEW_ADDRESS)
    [asked] = mails_to(outbox, old)
    assert NEW_ADDRESS in body_of(asked) and "asked to change" in body_of(asked)
    code = mailed_code(link_mail, "/account/email/confirm")

    confirmed = confirm_change(app.test_client(), code)  # the mail may be read on another device
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, citizen.id).email == NEW_ADDRESS
    done = mails_to(outbox, old)[-1]
    assert "was changed" in done["Subject"] and NEW_ADDRESS in body_of(done)

    again = confirm_change(client, code)  # a link works once
    assert again.status_code == 400 and "expired or was already used" in again.get_data(as_text=True)
    fresh = app.test_client()
    assert sign_in(fresh, old).status_code == 400
    assert sign_in(fresh, NEW_ADDRESS).status_code == 302


def test_a_taken_address_gets_the_same_answer_and_its_owner_is_told(client, citizen, outbox):
    owner = make_user(name="Taken Owner", email="taken@example.org")
    login(client, citizen)
    free = ask_for(client, NEW_ADDRESS)
    taken = ask_for(client, owner.email)

    assert taken.status_code == free.status_code == 302
    assert client.get("/account").status_code == 200  # the flashes, read the same way
    to_owner = mails_to(outbox, owner.email)
    assert len(to_owner) == 1 and "/account/email/confirm" not in body_of(to_owner[0])
    assert "already belongs to an account" in body_of(to_owner[0])
    asked_free, asked_taken = mails_to(outbox, citizen.email)
    assert asked_free["Subject"] == asked_taken["Subject"]  # the old address cannot tell them apart
    db.session.expire_all()
    assert db.session.get(User, citizen.id).email == citizen.email


def test_the_flash_reads_the_same_for_a_free_and_a_taken_address(app, citizen):
    owner = make_user(name="Taken Owner", email="taken@example.org")
    answers = []
    for address in (NEW_ADDRESS, owner.email):
        client = app.test_client()
        login(client, citizen)
        ask_for(client, address)
        page = client.get("/account").get_data(as_text=True).replace(address, "ADDRESS")
        answers.append(re.sub(r'name="csrf_token" value="[^"]*"', "", page))
    assert answers[0] == answers[1]


def test_asking_needs_the_current_password(client, citizen, outbox):
    login(client, citizen)
    response = ask_for(client, NEW_ADDRESS, password="not my password")
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)
    assert mails(outbox) == []
    assert db.session.scalar(select(func.count()).select_from(SignInAttempt).where(SignInAttempt.email == citizen.email)) == 1


@pytest.mark.parametrize(("address", "message"), [("not an address", "Enter an email address"), ("", "Enter the new email address")])
def test_a_bad_new_address_is_explained(client, citizen, outbox, address, message):
    login(client, citizen)
    response = ask_for(client, address)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert mails(outbox) == []


def test_the_same_address_is_explained(client, citizen, outbox):
    login(client, citizen)
    response = ask_for(client, citizen.email.upper())
    assert response.status_code == 400 and "already your email address" in response.get_data(as_text=True)


def test_a_link_is_refused_once_the_address_is_taken_meanwhile(client, citizen, outbox):
    login(client, citizen)
    ask_for(client, NEW_ADDRESS)
    code = mailed_code(mails_to(outbox, NEW_ADDRESS)[0], "/account/email/confirm")
    make_user(name="Quick Taker", email=NEW_ADDRESS)
    db.session.commit()
    response = confirm_change(client, code)
    assert response.status_code == 400 and "Another account uses this address" in response.get_data(as_text=True)


def test_a_tampered_link_is_refused(client):
    response = confirm_change(client, "not-a-code")
    assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)


# --- sessions ----------------------------------------------------------------------------------


def test_signing_in_records_the_browser_and_address(app, citizen):
    db.session.commit()
    client = app.test_client()
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    assert sign_in(client, citizen.email, address="192.0.2.5", headers={"User-Agent": firefox}).status_code == 302
    [row] = sessions_of(citizen)
    assert (row.device, row.address) == ("Firefox on Linux", "192.0.2.5")
    assert row.last_seen_at is not None


def test_the_sessions_page_lists_and_signs_out_other_browsers(app, citizen):
    db.session.commit()
    here, laptop, phone = app.test_client(), app.test_client(), app.test_client()
    for client in (here, laptop, phone):
        assert sign_in(client, citizen.email).status_code == 302

    page = here.get("/account/sessions").get_data(as_text=True)
    assert page.count('class="card"') == 3 and page.count("This browser") == 1
    _, laptop_session, _ = sorted(s.id for s in sessions_of(citizen))  # in the order they signed in
    assert here.post(f"/account/sessions/{laptop_session}/end").status_code == 302
    assert not is_signed_in(laptop)
    assert is_signed_in(phone)

    assert here.post("/account/sessions/end-others").status_code == 302
    assert len(sessions_of(citizen)) == 1
    assert is_signed_in(here) and not is_signed_in(phone)


def test_nobody_ends_another_persons_session(app, client, citizen):
    other = make_user(name="Olive Other")
    login(client, other)
    theirs = app.test_client()
    login(theirs, citizen)
    [their_session] = sessions_of(citizen)
    assert client.post(f"/account/sessions/{their_session.id}/end").status_code == 302
    assert is_signed_in(theirs)


def _age(user: User, *, created: timedelta | None = None, seen: timedelta | None = None) -> None:
    for row in sessions_of(user):
        if created is not None:
            row.created_at = utcnow() - created
        if seen is not None:
            row.last_seen_at = utcnow() - seen
    db.session.commit()


def test_a_session_ends_on_the_server_after_its_absolute_lifetime(client, citizen):
    login(client, citizen)
    _age(citizen, created=timedelta(days=13, hours=23), seen=timedelta(0))
    assert is_signed_in(client)
    _age(citizen, created=timedelta(days=14, minutes=1), seen=timedelta(0))
    response = client.get("/account")
    assert response.status_code == 302 and location_path(response).startswith("/signin")
    assert sessions_of(citizen) == []  # the row is gone: the cookie is worth nothing now


def test_staff_sessions_end_after_a_day_idle_and_others_do_not_by_default(app, client, citizen, author):
    staff = app.test_client()
    login(client, citizen)
    login(staff, author)
    _age(citizen, seen=timedelta(hours=25))
    _age(author, seen=timedelta(hours=25))
    assert is_signed_in(client)
    assert not is_signed_in(staff)
    assert sessions_of(author) == []


def test_an_idle_lifetime_for_everyone_can_be_set(app, client, citizen, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_LIFETIME", 3600)
    login(client, citizen)
    _age(citizen, seen=timedelta(minutes=59))
    assert is_signed_in(client)  # (and that request was a use)
    _age(citizen, seen=timedelta(minutes=61))
    assert not is_signed_in(client)


def test_last_use_is_written_at_most_once_a_minute(client, citizen):
    login(client, citizen)
    _age(citizen, seen=timedelta(seconds=30))
    before = sessions_of(citizen)[0].last_seen_at
    assert is_signed_in(client)
    assert sessions_of(citizen)[0].last_seen_at == before  # no write for this request

    _age(citizen, seen=timedelta(minutes=2))
    assert is_signed_in(client)
    assert utcnow() - sessions_of(citizen)[0].last_seen_at < timedelta(minutes=1)
