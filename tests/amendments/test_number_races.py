"""Amendments proposed at the same moment get distinct numbers, A1 to AN with none missing:
threads, each request with its own app context and connection, on a SQLite file and on a
scratch PostgreSQL database (where the proposals really overlap: the numbering row's lock makes
each wait for the one before)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consult.amendments.models import Amendment
from consult.core.models import db
from tests.factories import make_consultation, make_organisation, make_user
from tests.scratch import KINDS, scratch_app, signed_in_client, together

PROPOSERS = 8


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction: the requests race on committed data in their own database."""
    yield


@pytest.mark.parametrize("kind", KINDS)
def test_simultaneous_proposals_get_distinct_numbers(kind, tmp_path):
    from consult.accounts.services import start_login_session

    with scratch_app(kind, tmp_path) as app:
        with app.app_context():
            council = make_organisation()
            c = make_consultation(council, author=make_user(role="author", organisation=council))
            section = c.current_version.sections[1]
            people = [make_user() for _ in range(PROPOSERS)]
            tokens = [(p.id, start_login_session(p)) for p in people]
            db.session.commit()
            slug, key, consultation_id = c.slug, section.key, c.id
        clients = [signed_in_client(app, user_id, token) for user_id, token in tokens]
        replies = together(
            [
                lambda n=n, client=client: client.post(
                    f"/c/{slug}/s/{key}/amend", data={"proposed_text": f"Every department, proposal {n}.", "rationale": f"Reason {n}."}
                )
                for n, client in enumerate(clients)
            ]
        )

        for reply in replies:
            assert not isinstance(reply, BaseException), repr(reply)
            assert reply.status_code == 302, f"{reply.status_code}: {reply.get_data(as_text=True)[:400]}"
        with app.app_context():
            numbers = sorted(db.session.scalars(select(Amendment.number).where(Amendment.consultation_id == consultation_id)))
        assert numbers == list(range(1, PROPOSERS + 1))
        assert sorted(r.headers["Location"].rsplit("/", 1)[1] for r in replies) == sorted(f"A{n}" for n in numbers)
