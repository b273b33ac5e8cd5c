"""Two-factor sign-in (``consult/accounts/twofactor.py`` and its pages): enrolment, the sign-in
step, a code working once, wrong codes throttled, recovery codes, turning it off, and staff
required to enrol when the setting says so."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import select, update

from consult.accounts import twofactor
from consult.accounts.twofactor_models import RecoveryCode, TwoFactor, TwoFactorFailure
from consult.core.models import db, utcnow
from tests.factories import PASSWORD, login, make_user

T0 = 1_800_000_000.0  # a fixed moment, at the start of a 30-second step


@pytest.fixture
def clock(monkeypatch):
    """The time codes are checked at, moved by the tests (``clock.now``, in seconds)."""

    class Clock:
        now = T0

    monkeypatch.setattr(twofactor, "_now", lambda: Clock.now)
    return Clock


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


def enrolled(user, clock) -> tuple[str, list[str]]:
    """Turn the second factor on for ``user`` through the services; its secret and recovery codes.
    Leaves the clock two steps later, so that no code within the window is a replay of the
    confirming one."""
    twofactor.start_enrolment(user)
    secret = twofactor.enrolment(user).secret.replace(" ", "")
    codes = twofactor.confirm_enrolment(user, code=code_at(secret, clock.now))
    assert codes is not None
    clock.now += 60
    db.session.commit()
    return secret, codes


def sign_in(client, user, **kwargs):
    return client.post("/signin", data={"email": user.email, "password": PASSWORD}, **kwargs)


def path(response) -> str:
    return urlsplit(response.headers["Location"]).path


# --- enrolment and the sign-in step ---------------------------------------------------------------


def test_a_person_enrols_through_the_pages_and_is_asked_for_a_code_at_the_next_sign_in(client, clock):
    person = make_user(role="admin")
    db.session.commit()
    login(client, person)

    assert b"Set up two-factor sign-in" in client.get("/account/two-factor").data
    assert path(client.post("/account/two-factor/start")) == "/account/two-factor"
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert 'role="img"' in page and "<svg" in page and "otpauth" not in page.split("<svg", 1)[0]
    stored = db.session.get(TwoFactor, person.id).secret
    assert secret not in stored  # encrypted at rest

    wrong = client.post("/account/two-factor", data={"code": "000000" if code_at(secret, T0) != "000000" else "111111"})
    assert wrong.status_code == 400 and "That code is not right" in wrong.get_data(as_text=True)
    shown = client.post("/account/two-factor", data={"code": code_at(secret, T0)})
    assert shown.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", shown.get_data(as_text=True))
    assert len(set(codes)) == 10
    after = client.get("/account/two-factor").get_data(as_text=True)
    assert "Two-factor sign-in is on" in after and secret[:4] not in after and "10 unused recovery codes" in after
    client.post("/signout")

    clock.now += 30
    asked = sign_in(client, person, query_string={"next": "/account"})
    assert path(asked) == "/signin/two-factor"
    assert path(client.get("/account")) == "/signin"  # no session before the code
    assert b"Enter your code" in client.get("/signin/two-factor").data
    done = client.post("/signin/two-factor", data={"code": code_at(secret, clock.now)})
    assert path(done) == "/account"
    assert client.get("/account").status_code == 200


def test_nobody_without_a_second_factor_is_asked_for_one(client):
    person = make_user()
    db.session.commit()

    assert path(sign_in(client, person, query_string={"next": "/account"})) == "/account"


def test_a_half_done_enrolment_is_not_asked_at_sign_in_and_keeps_its_secret(client, clock):
    person = make_user()
    twofactor.start_enrolment(person)
    first = twofactor.enrolment(person).secret
    twofactor.start_enrolment(person)  # the page reloaded, or set-up pressed again
    db.session.commit()

    assert twofactor.enrolment(person).secret == first
    assert path(sign_in(client, person, query_string={"next": "/account"})) == "/account"


# --- a code works once, within a window -----------------------------------------------------------


def test_a_code_works_once(clock):
    person = make_user()
    secret, _ = enrolled(person, clock)
    code = code_at(secret, clock.now)

    assert twofactor.check_code(person, code=code) == "app"
    assert twofactor.check_code(person, code=code) is None  # replayed within its step
    clock.now += 30
    assert twofactor.check_code(person, code=code) is None  # still valid by the window, but used
    assert twofactor.check_code(person, code=code_at(secret, clock.now)) == "app"


def test_a_code_of_an_earlier_step_than_the_last_used_is_refused(clock):
    person = make_user()
    secret, _ = enrolled(person, clock)
    later = code_at(secret, clock.now + 30)  # a clock ahead: the next step's code
    earlier = code_at(secret, clock.now - 30)

    assert twofactor.check_code(person, code=later) == "app"
    assert twofactor.check_code(person, code=earlier) is None


def test_a_replayed_code_is_refused_at_sign_in(client, clock):
    person = make_user()
    secret, _ = enrolled(person, clock)
    code = code_at(secret, clock.now)
    sign_in(client, person)
    assert path(client.post("/signin/two-factor", data={"code": code})) == "/"
    client.post("/signout")

    sign_in(client, person)
    replayed = client.post("/signin/two-factor", data={"code": code})

    assert replayed.status_code == 400 and "That code is not right" in replayed.get_data(as_text=True)
    assert path(client.get("/account")) == "/signin"


@pytest.mark.parametrize(("offset", "accepted"), [(-60, False), (-30, True), (0, True), (30, True), (60, False)])
def test_codes_one_step_either_side_are_accepted(clock, offset, accepted):
    person = make_user()
    secret, _ = enrolled(person, clock)

    assert (twofactor.check_code(person, code=code_at(secret, clock.now + offset)) == "app") is accepted


def test_what_is_not_a_code_is_refused_and_counted(clock):
    person = make_user()
    secret, _ = enrolled(person, clock)

    for typed in ["12345", "1234567", "abcdef", "١٢٣٤٥٦", "x" * 40]:
        assert twofactor.check_code(person, code=typed) is None
    assert twofactor.failures_since(person, utcnow() - timedelta(minutes=1)) == 5
    with pytest.raises(twofactor.TwoFactorThrottled):
        twofactor.check_code(person, code=code_at(secret, clock.now))


# --- wrong codes throttled ------------------------------------------------------------------------


def _wrong(secret: str, when: float) -> str:
    right = {code_at(secret, when + d) for d in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def test_wrong_codes_end_the_sign_in_then_the_account_waits(client, clock, app):
    person = make_user()
    secret, _ = enrolled(person, clock)
    sign_in(client, person)
    limit = app.config["TWO_FACTOR_MAX_FAILURES"]

    for _ in range(limit - 1):
        assert client.post("/signin/two-factor", data={"code": _wrong(secret, clock.now)}).status_code == 400
    ended = client.post("/signin/two-factor", data={"code": _wrong(secret, clock.now)})

    assert path(ended) == "/signin"  # the sign-in must start again
    assert path(client.get("/signin/two-factor")) == "/signin"
    sign_in(client, person)
    refused = client.post("/signin/two-factor", data={"code": code_at(secret, clock.now)})
    assert refused.status_code == 429 and "Too many wrong codes" in refused.get_data(as_text=True)
    assert path(client.get("/account")) == "/signin"

    db.session.execute(update(TwoFactorFailure).values(attempted_at=utcnow() - timedelta(minutes=16)))
    db.session.commit()
    assert path(client.post("/signin/two-factor", data={"code": code_at(secret, clock.now)})) == "/"
    assert db.session.scalars(select(TwoFactorFailure)).all() == []  # a right code clears the count


def test_the_account_limit_holds_whatever_the_browser_sends(client, clock, app):
    """The count per sign-in lives in the session cookie, which a guesser could send afresh each
    time; the count per account, in the database, does not depend on it."""
    person = make_user()
    secret, _ = enrolled(person, clock)
    for _ in range(app.config["TWO_FACTOR_MAX_FAILURES"]):
        sign_in(client, person)  # a new sign-in (a new cookie) for every guess
        client.post("/signin/two-factor", data={"code": _wrong(secret, clock.now)})

    sign_in(client, person)
    assert client.post("/signin/two-factor", data={"code": code_at(secret, clock.now)}).status_code == 429


# --- recovery codes -------------------------------------------------------------------------------


def test_a_recovery_code_works_once(client, clock):
    person = make_user()
    _, codes = enrolled(person, clock)

    sign_in(client, person, query_string={"next": "/account"})
    used = client.post("/signin/two-factor", data={"code": codes[3].upper().replace("-", " ")})
    assert used.status_code == 200 and "9 recovery codes left" in used.get_data(as_text=True)
    assert path(client.get("/signin/two-factor")) == "/account"
    assert client.get("/account").status_code == 200
    client.post("/signout")

    sign_in(client, person)
    again = client.post("/signin/two-factor", data={"code": codes[3]})
    assert again.status_code == 400
    assert path(client.get("/account")) == "/signin"


def test_new_recovery_codes_replace_the_old_ones(clock):
    person = make_user()
    secret, old = enrolled(person, clock)

    assert twofactor.regenerate_recovery_codes(person, code=old[0]) is None  # a current app code is needed
    new = twofactor.regenerate_recovery_codes(person, code=code_at(secret, clock.now))

    assert len(new) == 10 and not set(new) & set(old)
    assert twofactor.check_code(person, code=old[1]) is None
    assert twofactor.check_code(person, code=new[1]) == "recovery"
    assert twofactor.unused_recovery_codes(person) == 9
    hashes = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == person.id)).all()
    assert not {twofactor.normalise_recovery_code(c) for c in new} & set(hashes)  # only hashes are kept


def test_new_recovery_codes_through_the_page_need_a_code(client, clock):
    person = make_user()
    secret, old = enrolled(person, clock)
    login(client, person)

    refused = client.post("/account/two-factor/recovery-codes", data={"regenerate-code": "123"})
    assert refused.status_code == 400 and "That code is not right" in refused.get_data(as_text=True)
    made = client.post("/account/two-factor/recovery-codes", data={"regenerate-code": code_at(secret, clock.now)})
    assert made.status_code == 200 and "Your old recovery codes no longer work" in made.get_data(as_text=True)
    assert twofactor.check_code(person, code=old[0]) is None


# --- turning it off -------------------------------------------------------------------------------


def test_turning_it_off_needs_a_code_and_the_password(client, clock):
    person = make_user()
    secret, codes = enrolled(person, clock)
    login(client, person)

    without = client.post("/account/two-factor/disable", data={"disable-password": PASSWORD})
    wrong_code = client.post("/account/two-factor/disable", data={"disable-code": _wrong(secret, clock.now), "disable-password": PASSWORD})
    wrong_password = client.post("/account/two-factor/disable", data={"disable-code": codes[0], "disable-password": "not it at all"})

    assert [r.status_code for r in (without, wrong_code, wrong_password)] == [400, 400, 400]
    assert "Enter the code" in without.get_data(as_text=True)
    assert "That is not your password" in wrong_password.get_data(as_text=True)
    assert twofactor.is_enabled(person)
    assert twofactor.check_code(person, code=codes[0]) == "recovery"  # not used up by the refused try

    done = client.post("/account/two-factor/disable", data={"disable-code": code_at(secret, clock.now), "disable-password": PASSWORD})
    assert path(done) == "/account/two-factor"
    assert not twofactor.is_enabled(person)
    assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == person.id)).all() == []
    client.post("/signout")
    assert path(sign_in(client, person, query_string={"next": "/account"})) == "/account"


def test_turning_it_off_with_a_recovery_code(client, clock):
    person = make_user()
    _, codes = enrolled(person, clock)

    assert twofactor.disable(person, code=codes[9], password=PASSWORD) is None
    assert not twofactor.is_enabled(person)


# --- required for staff ---------------------------------------------------------------------------


@pytest.fixture
def required(app, monkeypatch):
    monkeypatch.setitem(app.config, "TWO_FACTOR_REQUIRED_FOR_STAFF", True)


def test_required_an_organisation_admin_must_enrol_before_reaching_any_page(client, clock, required):
    admin = make_user(role="admin")
    db.session.commit()

    assert path(sign_in(client, admin, query_string={"next": "/account"})) == "/signin/two-factor"
    step = client.get("/signin/two-factor")
    assert step.status_code == 200 and b"Your role needs a second step" in step.data
    for page in ("/account", "/account/two-factor", "/me/contributions", "/notifications"):
        response = client.get(page)
        assert response.status_code == 302 and path(response) == "/signin", page

    assert path(client.post("/signin/two-factor/start")) == "/signin/two-factor"
    page = client.get("/signin/two-factor").get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert client.post("/signin/two-factor", data={"code": _wrong(secret, clock.now)}).status_code == 400
    assert path(client.get("/account")) == "/signin"

    codes = client.post("/signin/two-factor", data={"code": code_at(secret, clock.now)})
    assert codes.status_code == 200 and b"Your recovery codes" in codes.data
    assert path(client.get("/account")) == "/signin"  # still not in before continuing
    assert path(client.get("/signin/two-factor")) == "/account"
    assert client.get("/account").status_code == 200


def test_required_a_site_admin_is_sent_to_enrolment_too(client, required):
    admin = make_user(site_admin=True)
    db.session.commit()

    assert path(sign_in(client, admin)) == "/signin/two-factor"


@pytest.mark.parametrize("role", [None, "author", "moderator"])
def test_required_others_are_not_asked(client, required, role):
    person = make_user(role=role)
    db.session.commit()

    assert path(sign_in(client, person, query_string={"next": "/account"})) == "/account"


def test_required_a_staff_session_from_before_goes_to_enrolment_first(client, required):
    admin = make_user(role="admin")
    db.session.commit()
    login(client, admin)  # signed in before the setting, or before becoming an admin

    assert path(client.get("/me/contributions")) == "/account/two-factor"
    assert client.get("/account/two-factor").status_code == 200
    assert path(client.post("/signout")) == "/"


def test_not_required_by_default(client, app):
    assert app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] is False
    admin = make_user(role="admin")
    db.session.commit()

    assert path(sign_in(client, admin, query_string={"next": "/account"})) == "/account"


def test_a_start_without_a_pending_sign_in_goes_to_sign_in(client):
    assert path(client.post("/signin/two-factor/start")) == "/signin"
