"""Sign-in hardening (issue 16): nobody can lock a chosen person out by guessing at their
account, one address's failures do not shut out everyone behind it, common passwords and
hostile public names are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.accounts import names
from consult.accounts.devices import COOKIE_NAME, describe
from consult.accounts.models import SignInAttempt, User
from consult.core.errors import RuleViolation
from consult.core.models import db
from tests.accounts.test_accounts import NEW_PASSWORD, is_signed_in, mailed_code, mails_to, reset, sign_in, sign_up
from tests.factories import PASSWORD, login, make_user

ATTACKER = "203.0.113.66"
HOME = "198.51.100.20"


def sign_out(client):
    assert client.post("/signout").status_code == 302


def guess(client, email_address: str, times: int, *, address: str = ATTACKER) -> list[int]:
    return [sign_in(client, email_address, f"guess number {n}", address=address).status_code for n in range(times)]


def failures_of(email_address: str) -> int:
    return db.session.scalar(select(func.count()).select_from(SignInAttempt).where(SignInAttempt.email == email_address))


# --- the lock-out abuse ----------------------------------------------------------------------


def test_a_stranger_guessing_cannot_lock_the_owner_out_of_a_browser_they_signed_in_with(app, citizen):
    db.session.commit()
    owner, attacker = app.test_client(), app.test_client()
    assert sign_in(owner, citizen.email, address=HOME).status_code == 302  # the owner's browser, once
    assert owner.get_cookie(COOKIE_NAME, domain="consult.test") is not None
    sign_out(owner)

    statuses = guess(attacker, citizen.email, 12)
    assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}  # the guessing is slowed...
    assert sign_in(attacker, citizen.email, address=ATTACKER).status_code == 429  # ...even with the right password

    # ...but the owner's own browser is not held back by it, from home or from the attacker's network.
    assert sign_in(owner, citizen.email, address=ATTACKER).status_code == 302
    assert is_signed_in(owner)


def test_a_known_browser_is_held_back_by_its_own_failures(app, citizen):
    db.session.commit()
    owner = app.test_client()
    assert sign_in(owner, citizen.email, address=HOME).status_code == 302
    sign_out(owner)

    assert guess(owner, citizen.email, 6, address=HOME) == [400] * 5 + [429]
    text = sign_in(owner, citizen.email, address=HOME).get_data(as_text=True)
    assert "Too many failed sign-in attempts from this browser" in text


def test_a_forged_or_foreign_known_browser_cookie_counts_for_nothing(app, citizen):
    other = make_user(name="Olive Other")
    db.session.commit()
    attacker = app.test_client()
    assert sign_in(attacker, other.email, address=ATTACKER).status_code == 302  # known, but to another account
    sign_out(attacker)
    assert guess(attacker, citizen.email, 6) == [400] * 5 + [429]

    forger = app.test_client()
    forger.set_cookie(COOKIE_NAME, "WzEsMiwzXQ.forged.signature", domain="consult.test")
    assert sign_in(forger, citizen.email, address=ATTACKER).status_code == 429


def test_a_completed_reset_lets_the_owner_in_while_the_guessing_goes_on(app, citizen, outbox):
    db.session.commit()
    attacker, owner = app.test_client(), app.test_client()  # the owner on a browser never used before
    guess(attacker, citizen.email, 6)
    assert sign_in(owner, citizen.email, address=HOME).status_code == 429
    assert "reset your password" in sign_in(owner, citizen.email, address=HOME).get_data(as_text=True)

    assert owner.post("/reset", data={"email": citizen.email}).status_code == 302
    assert reset(owner, mailed_code(mails_to(outbox, citizen.email)[-1], "/reset/password")).status_code == 302
    assert failures_of(citizen.email) == 0  # the reset cleared the account's failures

    guess(attacker, citizen.email, 6)  # and the guessing goes on
    assert sign_in(owner, citizen.email, NEW_PASSWORD, address=HOME).status_code == 302
    assert is_signed_in(owner)


def test_people_behind_one_address_do_not_lock_out_another_of_them(app, citizen):
    """Four people at one office (one NAT address) each mistype five times: a fifth still signs in."""
    colleagues = [make_user(name=f"Colleague {n}") for n in range(4)]
    db.session.commit()
    for colleague in colleagues:
        assert guess(app.test_client(), colleague.email, 5, address=HOME) == [400] * 5

    newcomer = app.test_client()
    assert sign_in(newcomer, citizen.email, address=HOME).status_code == 302
    assert is_signed_in(newcomer)


def test_the_signed_in_persons_password_checks_count_only_against_themselves(app, client, citizen):
    """Changing the password asks for the current one; a stranger's guesses at the account do
    not stop its owner from doing so."""
    db.session.commit()
    guess(app.test_client(), citizen.email, 6)
    login(client, citizen)
    response = client.post("/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302


# --- common passwords ------------------------------------------------------------------------


COMMON = "Password123"  # in the list as "password123"


def test_a_common_password_is_refused_on_sign_up(client, outbox):
    response = sign_up(client, email_address="nina@example.org", password=COMMON)
    assert response.status_code == 400
    assert "passwords that people use most often" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "nina@example.org")) is None
    assert outbox.messages() == []


def test_a_common_password_is_refused_on_reset(client, citizen, outbox):
    db.session.commit()
    client.post("/reset", data={"email": citizen.email})
    code = mailed_code(mails_to(outbox, citizen.email)[-1], "/reset/password")
    response = reset(client, code, "qwertyuiop")
    assert response.status_code == 400
    assert "passwords that people use most often" in response.get_data(as_text=True)
    assert sign_in(client, citizen.email).status_code == 302  # the old password still works


def test_a_common_password_is_refused_on_change(client, citizen):
    login(client, citizen)
    response = client.post("/account/password", data={"current_password": PASSWORD, "password": "1234567890", "confirm": "1234567890"})
    assert response.status_code == 400
    assert "passwords that people use most often" in response.get_data(as_text=True)
    db.session.expire_all()
    assert sign_in(client, citizen.email).status_code == 302


# --- public names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Casey\u202eresU", "invisible characters"),  # right-to-left override
        ("Ca\u200bsey", "invisible characters"),  # zero-width space
        ("Casey\u2066Admin\u2069", "invisible characters"),  # bidi isolate
        ("Casey\x07", "control characters"),
        ("Cas\u0301\u0302\u0303\u0304\u0305ey", "too many accents"),
        ("\u3164\u3164", "invisible characters"),  # Hangul fillers: a blank name
        ("-- ..", "at least one letter or digit"),
    ],
)
def test_hostile_public_names_are_refused_with_a_clear_message(client, citizen, name, message):
    login(client, citizen)
    response = client.post("/account", data={"display_name": name})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, citizen.id).display_name == "Casey Citizen"


def test_a_hostile_name_is_refused_on_sign_up_too(client, outbox):
    response = sign_up(client, email_address="nina@example.org", name="Nina\u200d\u200dNewcomer")
    assert response.status_code == 400
    assert "invisible characters" in response.get_data(as_text=True)
    assert outbox.messages() == []


def test_a_name_is_normalised_before_it_is_stored(client, citizen):
    login(client, citizen)
    assert client.post("/account", data={"display_name": "  Case\u0301   Citizen\t"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, citizen.id).display_name == "Casé Citizen"  # NFC, trimmed, one space


@pytest.mark.parametrize(
    "lookalike",
    [
        "Ada Author",  # the same name
        "ADA  AUTHOR",
        "\u0410da \u0410uthor",  # Cyrillic А
        "Ada Auth\u03bfr",  # Greek omicron
        "Ada Auth0r",
        "Ad\u00e1 Author",
        "\uff21da Author",  # full-width A
    ],
)
def test_a_name_confusable_with_a_staff_members_is_refused(client, citizen, author, lookalike):
    login(client, citizen)
    response = client.post("/account", data={"display_name": lookalike})
    assert response.status_code == 400
    assert "looks too much like the name of a member of staff" in response.get_data(as_text=True)


def test_staff_keep_their_own_name_and_others_may_use_distinct_ones(client, citizen, author):
    login(client, author)
    assert client.post("/account", data={"display_name": "Ada Author"}).status_code == 302
    login(client, citizen)
    assert client.post("/account", data={"display_name": "Ada Archer"}).status_code == 302
    assert sign_up(client, email_address="ada@example.org", name="Ada Auth\u043er").status_code == 400  # Cyrillic о


def test_skeletons_cover_latin_cyrillic_and_greek_lookalikes():
    assert names.skeleton("Morgan") == names.skeleton("Rnorgan") == names.skeleton("\u041c\u043erg\u0430n")
    assert names.skeleton("Ilya") == names.skeleton("lIya")
    assert names.skeleton("Ada Author") != names.skeleton("Ada Archer")
    with pytest.raises(RuleViolation):
        names.clean_display_name("x")


def test_browsers_are_described_briefly():
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    chrome_android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
    safari_iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    assert describe(firefox) == "Firefox on Windows"
    assert describe(chrome_android) == "Chrome on Android"
    assert describe(safari_iphone) == "Safari on iPhone"
    assert describe("") == "Unknown browser"
