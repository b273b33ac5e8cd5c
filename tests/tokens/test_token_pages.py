"""The pages that make and revoke API tokens: a person's own, and an organisation's for its admins."""

from __future__ import annotations

import re

from sqlalchemy import select

from consult.core.models import db
from consult.tokens.models import ApiToken
from consult.tokens.services import token_hash
from tests.api.helpers import bearer
from tests.conftest import login


def _secret(page: str) -> str:
    return re.search(r"<code class=\"break\">(cst_[A-Za-z0-9_-]+)</code>", page).group(1)


def test_a_person_makes_a_token_shown_once_and_stored_as_a_hash(client, citizen, open_consultation):
    login(client, citizen)
    form = client.get("/account/tokens").get_data(as_text=True)
    assert 'value="contribute"' in form and 'value="publish"' not in form  # a citizen publishes nothing

    response = client.post("/account/tokens", data={"name": "Newsletter script", "scopes": ["read", "contribute"], "lifetime": "30"})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = _secret(response.get_data(as_text=True))
    token = db.session.scalar(select(ApiToken))
    assert token.token_hash == token_hash(secret) and token.scopes == ["read", "contribute"] and token.organisation_id is None
    listed = client.get("/account/tokens").get_data(as_text=True)
    assert "Newsletter script" in listed and token.prefix in listed and secret not in listed  # never shown again
    assert client.post("/api/v1/consultations/open-one/comments", json={"body": "Via the API."}, headers=bearer(secret)).status_code == 201


def test_a_person_revokes_their_token_and_no_one_elses(client, citizen, author):
    login(client, citizen)
    secret = _secret(client.post("/account/tokens", data={"name": "Mine", "scopes": ["read"], "lifetime": "7"}).get_data(as_text=True))
    token = db.session.scalar(select(ApiToken))

    login(client, author)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    login(client, citizen)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 302

    db.session.refresh(token)
    assert token.revoked_at is not None
    assert client.get("/api/v1/consultations", headers=bearer(secret)).status_code == 401


def test_an_invalid_form_says_what_to_correct(client, citizen):
    login(client, citizen)
    response = client.post("/account/tokens", data={"name": "", "scopes": [], "lifetime": "7"})
    assert response.status_code == 400
    assert db.session.scalar(select(ApiToken)) is None
    too_much = client.post("/account/tokens", data={"name": "x", "scopes": ["publish"], "lifetime": "7"})
    assert too_much.status_code == 400 and "more than your roles allow" in too_much.get_data(as_text=True)
    forever = client.post("/account/tokens", data={"name": "x", "scopes": ["read"], "lifetime": "3650"})
    assert forever.status_code == 400 and db.session.scalar(select(ApiToken)) is None


def test_an_organisations_tokens_are_made_and_revoked_by_its_admins_only(client, organisation, org_admin, author):
    login(client, author)
    assert client.get("/o/council/tokens").status_code == 403

    login(client, org_admin)
    page = client.get("/o/council/tokens").get_data(as_text=True)
    assert 'value="publish"' in page and 'value="contribute"' not in page  # staff scopes only
    made = client.post("/o/council/tokens", data={"name": "Publishing pipeline", "scopes": ["read", "publish"], "lifetime": "90"})
    assert made.status_code == 200
    token = db.session.scalar(select(ApiToken))
    assert token.organisation_id == organisation.id and token.user_id == org_admin.id
    assert "Publishing pipeline" not in client.get("/account/tokens").get_data(as_text=True)  # not a personal one

    assert client.post(f"/o/council/tokens/{token.id}/revoke").status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None
