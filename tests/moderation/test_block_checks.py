"""Whether a signed-in person is blocked is asked once, with their session (issue 22): a person
nobody blocks takes part without a query on ``blocks`` per check; a blocked person is still
refused where they are blocked and only there, and a block placed during a request counts at once."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import event

from consult.core.models import db
from consult.moderation import services
from consult.permissions import Action, can, is_blocked
from tests.conftest import login
from tests.factories import make_consultation, make_organisation, make_user

TEXT = """## Fees

No fee may be charged for the first hour of work.
"""


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="access", title="Access", text=TEXT)


@pytest.fixture
def statements():
    """The SQL each request runs, as it runs it."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


def asking_blocks(seen: list[str]) -> list[str]:
    """Statements asking whether one person is blocked (not the visibility rules' subqueries, which
    hide what blocked people wrote, nor the sign-in query's EXISTS)."""
    return [s for s in seen if s.lstrip().startswith("SELECT blocks.id")]


def test_a_person_nobody_blocks_votes_and_comments_without_a_question_about_blocks(client, consultation, citizen, statements):
    login(client, citizen)
    statements.clear()
    assert client.post("/c/access/vote", data={"section_key": "fees", "value": "support"}).status_code == 302
    assert client.post("/c/access/comments", data={"section_key": "fees", "body": "Fine words."}).status_code == 302
    assert client.get("/c/access/s/fees").status_code == 200  # its forms: each asks whether the reader may take part
    assert statements and asking_blocks(statements) == []
    assert any("login_sessions" in s and "blocks" in s for s in statements)  # asked once, with the session


def test_a_blocked_person_is_refused_where_blocked_and_takes_part_elsewhere(client, consultation, citizen, moderator, organisation):
    elsewhere = make_consultation(make_organisation(), state="open", slug="elsewhere", text=TEXT)
    services.block(organisation, citizen, actor=moderator, reason="Abuse.", consultation=consultation)
    db.session.commit()
    login(client, citizen)
    assert client.post("/c/access/vote", data={"section_key": "fees", "value": "support"}).status_code == 403
    assert client.post("/c/access/comments", data={"section_key": "fees", "body": "Let me in."}).status_code == 403
    assert client.post("/c/elsewhere/vote", data={"section_key": "fees", "value": "support"}).status_code == 302
    assert elsewhere.organisation_id != organisation.id


def test_a_block_lifted_lets_the_person_back_at_their_next_request(client, consultation, citizen, moderator, organisation):
    services.block(organisation, citizen, actor=moderator, reason="Abuse.", consultation=consultation)
    db.session.commit()
    login(client, citizen)
    assert client.post("/c/access/vote", data={"section_key": "fees", "value": "support"}).status_code == 403
    services.unblock(organisation, citizen, actor=moderator, consultation=consultation)
    db.session.commit()
    assert client.post("/c/access/vote", data={"section_key": "fees", "value": "support"}).status_code == 302


def test_a_block_placed_during_a_request_counts_in_the_rest_of_it(app, client, consultation, citizen, moderator, organisation):
    login(client, citizen)
    with app.test_request_context("/c/access"):
        from consult.accounts.services import user_for_session

        with client.session_transaction() as session:
            token = session["sid"]
        person = user_for_session(str(citizen.id), token)
        assert person is citizen and not is_blocked(person, organisation.id) and can(person, Action.VOTE, consultation)
        assert g.get("_blocked_nowhere") == citizen.id  # the loader's answer, kept for the request
        services.block(organisation, citizen, actor=moderator, reason="Abuse.", consultation=consultation)
        assert is_blocked(person, organisation.id) and not can(person, Action.VOTE, consultation)
        services.unblock(organisation, citizen, actor=moderator, consultation=consultation)
        assert not is_blocked(person, organisation.id)


def test_the_loaders_answer_is_the_persons_own(app, client, consultation, moderator, organisation):
    """Another person's "blocked nowhere" does not answer for someone who is blocked."""
    blocked, free = make_user(name="Blocked"), make_user(name="Free")
    services.block(organisation, blocked, actor=moderator, reason="Abuse.", consultation=consultation)
    db.session.commit()
    login(client, free)
    with app.test_request_context("/c/access"):
        from consult.accounts.services import user_for_session

        with client.session_transaction() as session:
            token = session["sid"]
        assert user_for_session(str(free.id), token) is free
        assert is_blocked(blocked, organisation.id) and not is_blocked(free, organisation.id)
