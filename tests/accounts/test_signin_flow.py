"""Signing in, in steps: a step that a person needs holds their session back until it is done,
and nothing of the session exists before that (``consult/accounts/signin_flow.py``)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from consult.accounts import signin_flow
from consult.core.models import db
from consult.core.routing import public
from tests.factories import PASSWORD, make_user


@pytest.fixture
def extra_step(app, monkeypatch):
    """A step asked of people whose name starts with "Stepped", on a page of its own (standing
    in for /healthz's view for the test: the app has served requests and takes no new rules)."""
    asked = []

    def needed(user):
        asked.append(user.id)
        return user.display_name.startswith("Stepped")

    @public
    def step_page():
        if signin_flow.pending_user() is None:
            return signin_flow.expired()
        return signin_flow.step_done("test-step")

    monkeypatch.setitem(app.view_functions, "core.health", step_page)
    monkeypatch.setattr(signin_flow, "_steps", {})
    signin_flow.step("test-step", endpoint="core.health", order=10)(needed)
    return asked


def _sign_in(client, user, **kwargs):
    return client.post("/signin", data={"email": user.email, "password": PASSWORD}, **kwargs)


def test_a_needed_step_holds_the_session_back_until_done(client, extra_step):
    person = make_user(name="Stepped Person")
    db.session.commit()

    response = _sign_in(client, person, query_string={"next": "/account"})

    assert urlsplit(response.headers["Location"]).path == "/healthz"
    with client.session_transaction() as session:
        assert "_user_id" not in session and signin_flow.SESSION_TOKEN_KEY not in session
        assert session[signin_flow.PENDING_KEY]["user_id"] == person.id
    assert client.get("/account").status_code == 302  # not signed in yet

    finished = client.get("/healthz")

    assert urlsplit(finished.headers["Location"]).path == "/account"
    assert client.get("/account").status_code == 200
    with client.session_transaction() as session:
        assert signin_flow.PENDING_KEY not in session


def test_nobody_who_needs_no_step_sees_one(client, extra_step):
    person = make_user(name="Plain Person")
    db.session.commit()

    response = _sign_in(client, person, query_string={"next": "/account"})

    assert urlsplit(response.headers["Location"]).path == "/account"
    assert extra_step == [person.id]
    assert client.get("/account").status_code == 200


def test_a_pending_sign_in_expires(client, extra_step):
    person = make_user(name="Stepped Late")
    db.session.commit()
    _sign_in(client, person)
    with client.session_transaction() as session:
        session[signin_flow.PENDING_KEY] = {**session[signin_flow.PENDING_KEY], "until": 0}

    response = client.get("/healthz")

    assert urlsplit(response.headers["Location"]).path == "/signin"
    assert client.get("/account").status_code == 302


def test_a_step_page_without_a_pending_sign_in_sends_you_to_sign_in(client, extra_step):
    assert urlsplit(client.get("/healthz").headers["Location"]).path == "/signin"
