"""The write API: tokens, scopes, the same rules as the pages, idempotency keys, problem details."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from consult.amendments import services as amendments
from consult.contributions.models import Contribution
from consult.core.models import db, utcnow
from consult.proposals import services as proposals
from consult.tokens import services as tokens
from consult.tokens.models import ApiToken
from tests.api.helpers import bearer, make_token
from tests.conftest import login
from tests.factories import explain_changes, make_consultation, make_organisation, make_user

COMMENTS = "/api/v1/consultations/open-one/comments"


def comment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Contribution).where(Contribution.kind == "comment"))


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status and problem["title"] and problem["detail"] and problem["type"]
    return problem


# ---- authentication and scopes -------------------------------------------------------------------


def test_a_contribute_token_posts_a_comment_as_its_person(client, open_consultation, citizen):
    secret = make_token(citizen, "read", "contribute")

    response = client.post(COMMENTS, json={"body": "Publish the bus timetables too.", "section_key": "purpose"}, headers=bearer(secret))

    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()
    assert data["author"] == citizen.display_name and data["section_key"] == "purpose" and data["kind"] == "comment"
    assert response.headers["Location"] == data["api_url"]
    assert client.get(data["api_url"]).get_json()["body"] == "Publish the bus timetables too."
    assert db.session.get(Contribution, data["id"]).author_id == citizen.id


def test_without_a_token_a_write_is_refused_with_401(client, open_consultation):
    response = client.post(COMMENTS, json={"body": "Hello"})

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert comment_count() == 0


def test_the_session_cookie_does_not_write(client, open_consultation, citizen):
    """A cookie is sent by the browser to any site's form: the write API takes tokens only."""
    login(client, citizen)

    response = client.post(COMMENTS, json={"body": "Hello"})

    assert_problem(response, 401)
    assert comment_count() == 0


def test_a_token_without_contribute_cannot_post(client, open_consultation, citizen):
    secret = make_token(citizen, "read")

    response = client.post(COMMENTS, json={"body": "Hello"}, headers=bearer(secret))

    problem = assert_problem(response, 403)
    assert problem["type"].endswith("#problem-insufficient-scope")
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert comment_count() == 0


@pytest.mark.parametrize("how", ["revoked", "expired", "unknown", "not bearer"])
def test_a_revoked_expired_or_unknown_token_gets_401(client, open_consultation, citizen, how):
    secret = make_token(citizen, "read", "contribute")
    token = db.session.scalar(select(ApiToken))
    headers = bearer(secret)
    if how == "revoked":
        tokens.revoke_token(token, actor=citizen)
    elif how == "expired":
        token.expires_at = utcnow() - timedelta(seconds=1)
    elif how == "unknown":
        headers = bearer(secret[:-2] + "xx")
    else:
        headers = {"Authorization": f"Basic {secret}"}
    db.session.commit()

    response = client.post(COMMENTS, json={"body": "Hello"}, headers=headers)
    read = client.get("/api/v1/consultations", headers=headers)  # even where no token is needed: a bad one is refused

    assert_problem(response, 401)
    assert_problem(read, 401)
    assert "error=" in response.headers["WWW-Authenticate"]
    assert comment_count() == 0


def test_the_token_is_stored_as_a_hash_and_notes_its_last_use(client, open_consultation, citizen):
    secret = make_token(citizen, "read")
    token = db.session.scalar(select(ApiToken))
    assert secret not in (token.token_hash, token.prefix) and secret.startswith(token.prefix)
    assert token.last_used_at is None

    assert client.get("/api/v1/consultations", headers=bearer(secret)).status_code == 200
    db.session.refresh(token)
    first = token.last_used_at
    assert first is not None

    client.get("/api/v1/consultations", headers=bearer(secret))
    db.session.refresh(token)
    assert token.last_used_at == first  # at most once a minute


def test_a_token_reads_as_its_person(client, draft_consultation, author, citizen):
    assert client.get("/api/v1/consultations/secret-draft", headers=bearer(make_token(author, "read"))).status_code == 200
    assert client.get("/api/v1/consultations/secret-draft", headers=bearer(make_token(citizen, "read"))).status_code == 404
    without_read = make_token(author, "contribute")
    assert_problem(client.get("/api/v1/consultations", headers=bearer(without_read)), 403)


# ---- idempotency ----------------------------------------------------------------------------------


def test_the_same_idempotency_key_twice_creates_one_comment(client, open_consultation, citizen):
    secret = make_token(citizen, "read", "contribute")
    headers = bearer(secret, Idempotency_Key="comment-1")
    body = {"body": "Sent twice, posted once.", "section_key": "scope"}

    first = client.post(COMMENTS, json=body, headers=headers)
    second = client.post(COMMENTS, json=dict(reversed(body.items())), headers=headers)  # the same object

    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true" and second.headers["Location"] == first.headers["Location"]
    assert comment_count() == 1


def test_the_same_key_with_another_body_is_a_422_problem(client, open_consultation, citizen):
    secret = make_token(citizen, "read", "contribute")
    headers = bearer(secret, Idempotency_Key="comment-1")
    assert client.post(COMMENTS, json={"body": "First."}, headers=headers).status_code == 201

    response = client.post(COMMENTS, json={"body": "Second."}, headers=headers)

    assert assert_problem(response, 422)["type"].endswith("#problem-idempotency-key-reused")
    assert comment_count() == 1


def test_keys_are_per_token_and_a_refused_request_is_not_remembered(client, open_consultation, citizen):
    mine, other = make_token(citizen, "read", "contribute"), make_token(make_user(), "read", "contribute")
    refused = client.post(COMMENTS, json={"body": "Hi", "section_key": "nowhere"}, headers=bearer(mine, Idempotency_Key="k"))
    assert refused.status_code == 400

    assert (
        client.post(COMMENTS, json={"body": "Hi", "section_key": "purpose"}, headers=bearer(mine, Idempotency_Key="k")).status_code == 201
    )
    assert (
        client.post(COMMENTS, json={"body": "Hi", "section_key": "purpose"}, headers=bearer(other, Idempotency_Key="k")).status_code == 201
    )
    assert comment_count() == 2


def test_the_database_settles_two_requests_with_one_key(open_consultation, citizen):
    """Two requests with the same key at once: the unique key refuses the second's record."""
    from sqlalchemy.exc import IntegrityError

    make_token(citizen, "contribute")
    token = db.session.scalar(select(ApiToken))
    tokens.remember_request(token, "k", request_hash="a" * 64, status=201, body="{}", location=None)
    with pytest.raises(IntegrityError):
        tokens.remember_request(token, "k", request_hash="a" * 64, status=201, body="{}", location=None)


def test_a_bad_idempotency_key_is_a_problem(client, open_consultation, citizen):
    secret = make_token(citizen, "read", "contribute")
    response = client.post(COMMENTS, json={"body": "Hi"}, headers=bearer(secret, Idempotency_Key="é" * 3))
    assert assert_problem(response, 400)["type"].endswith("#problem-invalid-idempotency-key")


# ---- problem details for bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": "Hi", "colour": "blue"}, "colour"),
        ({"body": "Hi", "start": -1}, "start"),
        ({"body": "Hi\u0000there"}, "body"),
    ],
    ids=["missing", "empty", "unknown-field", "negative", "nul"],
)
def test_invalid_bodies_get_a_validation_problem_per_field(client, open_consultation, citizen, body, field):
    response = client.post(COMMENTS, json=body, headers=bearer(make_token(citizen, "read", "contribute")))

    problem = assert_problem(response, 422)
    assert problem["type"].endswith("#problem-validation")
    assert field in [error["field"] for error in problem["errors"]]
    assert comment_count() == 0


def test_a_body_that_is_not_json_is_a_problem(client, open_consultation, citizen):
    headers = bearer(make_token(citizen, "read", "contribute"))
    assert_problem(client.post(COMMENTS, data="body=Hi", headers=headers, content_type="application/x-www-form-urlencoded"), 415)
    assert_problem(client.post(COMMENTS, data="{not json", headers=headers, content_type="application/json"), 400)
    assert_problem(client.post(COMMENTS, data="[1, 2]", headers=headers, content_type="application/json"), 400)


def test_a_rule_that_refuses_names_its_field(client, open_consultation, citizen):
    headers = bearer(make_token(citizen, "read", "contribute"))

    response = client.post(
        "/api/v1/consultations/open-one/annotations",
        json={"body": "Hm.", "section_key": "purpose", "quote": "words that are not there"},
        headers=headers,
    )

    problem = assert_problem(response, 400)
    assert problem["type"].endswith("#problem-refused") and "not in the section" in problem["detail"]


def test_a_closed_consultation_refuses_comments(client, organisation, author, citizen):
    make_consultation(organisation, author=author, state="closed", slug="closed-one")
    response = client.post(
        "/api/v1/consultations/closed-one/comments", json={"body": "Too late?"}, headers=bearer(make_token(citizen, "read", "contribute"))
    )
    assert_problem(response, 403)


# ---- taking part ---------------------------------------------------------------------------------


def test_annotation_reply_amendment_vote_and_report(client, open_consultation, citizen):
    headers = bearer(make_token(citizen, "read", "contribute"))
    other = bearer(make_token(make_user(name="Olu Other"), "read", "contribute"))

    annotation = client.post(
        "/api/v1/consultations/open-one/annotations",
        json={"body": "Which data?", "section_key": "purpose", "quote": "publishes open data"},
        headers=headers,
    )
    assert annotation.status_code == 201, annotation.get_data(as_text=True)
    assert annotation.get_json()["quote"]["exact"] == "publishes open data"

    reply = client.post(f"/api/v1/comments/{annotation.get_json()['id']}/replies", json={"body": "All of it."}, headers=other)
    assert reply.status_code == 201 and reply.get_json()["parent_id"] == annotation.get_json()["id"]

    amendment = client.post(
        "/api/v1/consultations/open-one/amendments",
        json={"section_key": "scope", "rationale": "Charities too.", "quote": "contractors", "replacement": "contractors and charities"},
        headers=headers,
    )
    assert amendment.status_code == 201, amendment.get_data(as_text=True)
    assert amendment.get_json()["proposed_text"].endswith("contractors and charities working for them.")

    vote = client.post(
        "/api/v1/consultations/open-one/votes", json={"value": "support", "contribution_id": amendment.get_json()["id"]}, headers=other
    )
    assert vote.status_code == 200 and vote.get_json()["value"] == "support"
    assert client.get(amendment.get_json()["api_url"]).get_json()["tally"]["support"] == 1
    section_vote = client.post("/api/v1/consultations/open-one/votes", json={"value": "oppose", "section_key": "scope"}, headers=other)
    assert section_vote.status_code == 200 and section_vote.get_json()["section_key"] == "scope"

    report = client.post(f"/api/v1/contributions/{reply.get_json()['id']}/reports", json={"reason": "off_topic"}, headers=headers)
    assert report.status_code == 201 and report.get_json() == {"contribution_id": reply.get_json()["id"], "hidden": False}
    own = client.post(f"/api/v1/contributions/{annotation.get_json()['id']}/reports", json={"reason": "spam"}, headers=headers)
    assert_problem(own, 403)  # not one's own


# ---- staff ------------------------------------------------------------------------------------------


def test_staff_publish_change_state_answer_and_moderate(client, open_consultation, author, moderator, citizen):
    publish = bearer(make_token(author, "read", "publish"))
    participant = bearer(make_token(citizen, "read", "contribute"))
    proposed = client.post(
        "/api/v1/consultations/open-one/amendments",
        json={
            "section_key": "purpose",
            "rationale": "Say when.",
            "proposed_text": "This policy sets out how and when the council publishes open data.",
        },
        headers=participant,
    ).get_json()

    answer = client.post(
        f"/api/v1/amendments/{proposed['id']}/answer", json={"decision": "accepted", "reason": "Yes: dates help."}, headers=publish
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["answer"]["decision"] == "accepted"
    assert_problem(
        client.post(f"/api/v1/amendments/{proposed['id']}/answer", json={"decision": "accepted", "reason": "x"}, headers=participant), 403
    )

    text = "## Purpose\n\nThis policy sets out how and when the council publishes open data.\n"
    unexplained = client.post("/api/v1/consultations/open-one/versions", json={"text": text, "note": "Dates."}, headers=publish)
    assert "say why each section changed" in assert_problem(unexplained, 400)["detail"]  # the same rule as the page
    proposals.write_markdown(open_consultation, text, actor=author)
    explain_changes(open_consultation, author)
    db.session.commit()
    version = client.post("/api/v1/consultations/open-one/versions", json={"note": "Dates."}, headers=publish)
    assert version.status_code == 201, version.get_data(as_text=True)
    assert version.get_json()["number"] == 2 and version.get_json()["change_note"] == "Dates."

    closed = client.post("/api/v1/consultations/open-one/state", json={"transition": "close"}, headers=publish)
    assert closed.status_code == 200 and closed.get_json()["state"] == "closed"
    assert_problem(client.post("/api/v1/consultations/open-one/state", json={"transition": "open"}, headers=publish), 403)

    comment = db.session.scalar(select(Contribution).where(Contribution.kind == "amendment"))
    hidden = client.post(
        f"/api/v1/contributions/{comment.id}/moderation",
        json={"action": "hide", "reason": "Duplicate."},
        headers=bearer(make_token(moderator, "read", "moderate")),
    )
    assert hidden.status_code == 200 and hidden.get_json()["moderation_state"] == "hidden"


def test_a_staff_token_of_organisation_a_cannot_answer_in_organisation_b(client, organisation, author, org_admin, citizen):
    other_org = make_organisation(slug="elsewhere", name="Elsewhere Council")
    elsewhere = make_consultation(other_org, state="open", slug="elsewhere-one")
    contribution = amendments.propose_amendment(
        elsewhere, actor=citizen, section_key="purpose", rationale="Clearer.", proposed_text="This policy says how we publish open data."
    )
    db.session.commit()
    url = f"/api/v1/amendments/{contribution.id}/answer"
    body = {"decision": "not_accepted", "reason": "No."}

    personal = client.post(url, json=body, headers=bearer(make_token(author, "read", "publish")))
    of_organisation = client.post(url, json=body, headers=bearer(make_token(org_admin, "read", "publish", organisation=organisation)))

    assert_problem(personal, 403)
    assert assert_problem(of_organisation, 403)["type"].endswith("#problem-other-organisation")
    db.session.refresh(contribution.amendment)
    assert contribution.amendment.decision is None


def test_an_organisations_token_stops_when_its_maker_is_no_longer_admin(client, organisation, org_admin, open_consultation):
    secret = make_token(org_admin, "read", "publish", organisation=organisation)
    assert client.get("/api/v1/consultations", headers=bearer(secret)).status_code == 200
    for membership in list(org_admin.memberships):
        db.session.delete(membership)
    db.session.commit()

    assert_problem(client.get("/api/v1/consultations", headers=bearer(secret)), 401)


def test_organisation_tokens_carry_no_participant_scope(organisation, org_admin):
    from consult.core.errors import RuleViolation

    with pytest.raises(RuleViolation):
        tokens.create_token(actor=org_admin, name="x", scopes=["contribute"], lifetime_days=7, organisation=organisation)
    with pytest.raises(RuleViolation):
        tokens.create_token(actor=org_admin, name="x", scopes=["read"], lifetime_days=400)
    with pytest.raises(RuleViolation):
        tokens.create_token(actor=make_user(), name="x", scopes=["publish"], lifetime_days=7)  # a citizen publishes nothing
