"""Twenty simultaneous co-supports by one person: every request succeeds and one row is left
(issue 13: on PostgreSQL one got a 409 page although its support was saved: two requests both
saw no row under the shared lock on the consultation, and the second insert broke the unique
constraint). Threads, each request with its own app context and connection, on a SQLite file
and on a scratch PostgreSQL database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.amendments.models import AmendmentSupporter
from consult.core.models import db
from tests.factories import make_consultation, make_organisation, make_user
from tests.scratch import KINDS, scratch_app, signed_in_client, together

REQUESTS = 20


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction: the requests race on committed data in their own database."""
    yield


@pytest.mark.parametrize("kind", KINDS)
def test_twenty_simultaneous_co_supports_by_one_person_all_succeed_and_leave_one_row(kind, tmp_path):
    from consult.accounts.services import start_login_session
    from consult.amendments.services import propose_amendment

    with scratch_app(kind, tmp_path) as app:
        with app.app_context():
            council = make_organisation()
            c = make_consultation(council, author=make_user(role="author", organisation=council))
            section = c.current_version.sections[1]
            amendment = propose_amendment(
                c, actor=make_user(), section_key=section.key, rationale="Say who.", proposed_text="Every department, every year."
            )
            supporter = make_user()
            token = start_login_session(supporter)
            db.session.commit()
            amendment_id, supporter_id = amendment.id, supporter.id
        clients = [signed_in_client(app, supporter_id, token) for _ in range(REQUESTS)]
        replies = together([lambda client=client: client.post(f"/amendments/{amendment_id}/support") for client in clients])

        for reply in replies:
            assert not isinstance(reply, BaseException), repr(reply)
            assert reply.status_code in (200, 302), f"{reply.status_code}: {reply.get_data(as_text=True)[:400]}"
        with app.app_context():
            rows = db.session.scalar(
                select(func.count()).where(AmendmentSupporter.amendment_id == amendment_id, AmendmentSupporter.user_id == supporter_id)
            )
        assert rows == 1
