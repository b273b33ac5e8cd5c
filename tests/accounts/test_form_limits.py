"""Every field of the accounts forms has a maximum length checked on the server: an over-long
value gets a 400 with the form again, and nothing is stored or mailed."""

from __future__ import annotations

import inspect

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, SelectField
from wtforms.validators import Length

from consult.accounts import forms
from consult.accounts.models import LoginSession, Membership, Organisation, SignInAttempt, User
from consult.core.mail import OutgoingMail
from consult.core.models import db
from tests.factories import PASSWORD, login

LONG = "x" * 6000
NEW = "a brand new passphrase"

ACCOUNTS_FORMS = [cls for _name, cls in inspect.getmembers(forms, inspect.isclass) if issubclass(cls, FlaskForm) and cls is not FlaskForm]


def maximum(field) -> int | None:
    limits = [v.max for v in field.validators if isinstance(v, Length) and v.max not in (None, -1)]
    return min(limits) if limits else None


@pytest.mark.parametrize("form_class", ACCOUNTS_FORMS, ids=lambda c: c.__name__)
def test_every_text_field_has_a_maximum(app, form_class):
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
        for field in form:
            if isinstance(field, SelectField | BooleanField):
                continue  # only its choices are accepted; a checkbox is ticked or not
            assert maximum(field) is not None, f"{form_class.__name__}.{field.name} has no maximum length"


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Organisation, Membership, OutgoingMail, SignInAttempt, LoginSession)
    )


SIGN_UP = {"display_name": "Nina Newcomer", "email": "nina@example.org", "password": NEW, "confirm": NEW, "agree": "y"}
RESET = {"code": "abc", "password": NEW, "confirm": NEW}
CHANGE = {"current_password": PASSWORD, "password": NEW, "confirm": NEW}
ORGANISATION = {"name": "Harbour Board", "slug": "harbour", "description": "Ports."}

CASES = [
    ("/signup", SIGN_UP, "display_name", None),
    ("/signup", SIGN_UP, "email", None),
    ("/signup", SIGN_UP, "password", None),
    ("/signup", SIGN_UP, "confirm", None),
    ("/signin", {"email": "casey@example.org", "password": PASSWORD}, "email", None),
    ("/signin", {"email": "casey@example.org", "password": PASSWORD}, "password", None),
    ("/reset", {"email": "casey@example.org"}, "email", None),
    ("/reset/password", RESET, "code", None),
    ("/reset/password", RESET, "password", None),
    ("/reset/password", RESET, "confirm", None),
    ("/confirm", {"code": "abc"}, "code", None),
    ("/account", {"display_name": "Casey"}, "display_name", "citizen"),
    ("/account/password", CHANGE, "current_password", "citizen"),
    ("/account/password", CHANGE, "password", "citizen"),
    ("/account/password", CHANGE, "confirm", "citizen"),
    ("/organisations/new", ORGANISATION, "name", "site_admin"),
    ("/organisations/new", ORGANISATION, "slug", "site_admin"),
    ("/organisations/new", ORGANISATION, "description", "site_admin"),
    ("/o/council/members", {"email": "casey@example.org", "role": "author"}, "email", "org_admin"),
    ("/o/council/members", {"email": "casey@example.org", "role": "author"}, "role", "org_admin"),
]


@pytest.mark.parametrize(("path", "data", "name", "persona"), CASES, ids=[f"{p}:{n}" for p, _d, n, _u in CASES])
def test_an_over_long_field_is_refused_and_nothing_is_stored(request, client, organisation, path, data, name, persona):
    if persona:
        login(client, request.getfixturevalue(persona))
    before = counts()

    response = client.post(path, data={**data, name: LONG, **({"confirm": LONG} if name == "password" else {})})

    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)
    assert counts() == before
