"""Delete my account: keeping contributions under a pseudonym, or withdrawing them; by the
person or by a site admin on request; nothing of anyone else touched."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from consult.accounts import services as accounts
from consult.accounts.models import LoginSession, Membership, SignInAttempt, User
from consult.amendments.models import Amendment
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.errors import PermissionDenied, RuleViolation
from consult.core.mail import OutgoingMail
from consult.core.models import db
from consult.notifications.models import Follow, NotificationSetting
from consult.privacy import erasure
from consult.privacy.inventory import BY_FOREIGN_KEY
from consult.privacy.models import Erasure, ErasureMode
from consult.record import bundles
from consult.record import export as record
from consult.search import services as search
from consult.search.indexing import SearchService
from consult.search.whoosh_backend import WhooshBackend
from consult.voting import services as voting
from consult.voting.models import Vote
from tests.conftest import ON_POSTGRES, login
from tests.factories import PASSWORD, make_user

KEEP, WITHDRAW = ErasureMode.KEEP, ErasureMode.WITHDRAW


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def record_text(app, consultation) -> str:
    """Every file of the consultation's open record, as one text."""
    buffer = io.BytesIO()
    with app.test_request_context():
        record.write_zip(consultation, buffer)
    archive = zipfile.ZipFile(buffer)
    return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def rows_about(person_id: int) -> dict[tuple[str, str], int]:
    """How many rows of every table point at the person, column by column."""
    counts = {}
    for table_name, column_name in BY_FOREIGN_KEY:
        table = db.metadata.tables[table_name]
        counts[(table_name, column_name)] = db.session.scalar(
            select(func.count()).select_from(table).where(table.c[column_name] == person_id)
        )
    return counts


@pytest.fixture
def bystander(world):
    """Someone with a life of their own on the site, touching nothing of the citizen's."""
    person = make_user(name="Bea Bystander", email="bea@example.org")
    accounts.start_login_session(person)
    comments.post_comment(world.consultation, actor=person, body="Bea's own view.")
    voting.cast_vote(world.consultation, actor=person, value="support", contribution=world.others_amendment)
    db.session.commit()
    return person


def test_keep_puts_the_contributions_under_a_pseudonym_and_erases_the_person(app, world, bystander):
    before = record_text(app, world.consultation)
    assert "Casey Citizen" in before
    tally_before = voting.tallies([world.others_amendment.id])[world.others_amendment.id]
    bystander_before = rows_about(bystander.id)
    citizen_id = world.citizen.id

    done = erasure.erase_account(world.citizen, actor=world.citizen, mode=KEEP)
    db.session.commit()

    person = db.session.get(User, citizen_id)
    assert person.display_name == f"Former participant {done.id}"
    assert "casey" not in person.email and not erasure.has_password(person)
    assert person.external_id is None and not person.is_site_admin
    for model, where in (
        (LoginSession, LoginSession.user_id == citizen_id),
        (Follow, Follow.user_id == citizen_id),
        (NotificationSetting, NotificationSetting.user_id == citizen_id),
        (Membership, Membership.user_id == citizen_id),
        (OutgoingMail, OutgoingMail.recipient == "casey@example.org"),
        (SignInAttempt, SignInAttempt.email == "casey@example.org"),
    ):
        assert count(model, where) == 0, model
    # what they wrote and their votes stay, under the pseudonym
    assert count(Contribution, Contribution.author_id == citizen_id) == 6
    assert voting.tallies([world.others_amendment.id])[world.others_amendment.id] == tally_before
    after = record_text(app, world.consultation)
    assert "Casey" not in after and "casey@example.org" not in after
    assert f"Former participant {done.id}" in after and "Publish the data monthly." in after
    # nothing of anyone else
    assert rows_about(bystander.id) == bystander_before
    assert db.session.get(Contribution, world.reply.id).body == "Weekly would be better."
    # the address is free for a new account
    accounts.sign_up(email="casey@example.org", password="another long password", display_name="Casey again")
    db.session.flush()
    assert count(User, User.email == "casey@example.org") == 1


def test_withdraw_removes_contributions_and_votes(app, world, bystander, queued_jobs):
    citizen_id, section_key = world.citizen.id, world.comment.section_key
    tally_before = voting.tallies([world.others_amendment.id])[world.others_amendment.id]
    section_before = voting.section_tallies(world.consultation)[section_key]
    bystander_before = rows_about(bystander.id)
    gone = [world.lonely.id, world.annotation.id, world.amendment.id, world.statement.id]

    done = erasure.erase_account(world.citizen, actor=world.citizen, mode=WITHDRAW)
    db.session.commit()

    assert db.session.get(User, citizen_id) is None and done.user_id is None
    assert count(Contribution, Contribution.id.in_(gone)) == 0
    # a tombstone where others replied: no text, no author; the reply stays
    tombstone = db.session.get(Contribution, world.comment.id)
    assert tombstone.is_deleted and tombstone.body == "" and tombstone.author_id is None
    assert db.session.get(Contribution, world.reply.id).parent_id == tombstone.id
    # the answered amendment keeps the organisation's answer, not the author's words
    answered = db.session.get(Amendment, world.answered.id)
    assert answered.decision == "accepted" and answered.answer == "Agreed, we will say when."
    assert answered.contribution.author_id is None and answered.contribution.body == erasure.WITHDRAWN_AMENDMENT_NOTE
    assert "every month" not in answered.proposed_text
    # votes gone from the tallies, and the opinion map recomputed
    assert count(Vote, Vote.user_id == citizen_id) == 0
    tally = voting.tallies([world.others_amendment.id])[world.others_amendment.id]
    assert tally.support == tally_before.support - 1
    assert voting.section_tallies(world.consultation).get(section_key, None) != section_before
    assert "recompute_opinion_map" in queued_jobs.pending()
    queued_jobs.run()
    text = record_text(app, world.consultation)
    assert "Casey" not in text and "casey@example.org" not in text
    assert "A lonely remark." not in text and "Publish the data monthly." not in text
    assert rows_about(bystander.id) == bystander_before


@pytest.fixture(params=["whoosh"] + (["postgres"] if ON_POSTGRES else []))
def search_backend(request, app, tmp_path, monkeypatch):
    if request.param == "whoosh":
        chosen = WhooshBackend(tmp_path / "index")
    else:
        from consult.search.postgres_backend import PostgresBackend

        chosen = PostgresBackend()
    monkeypatch.setitem(app.extensions, "consult_search", SearchService(chosen))
    return chosen


def test_withdrawn_contributions_leave_the_search_index_and_kept_ones_stay(world, search_backend):
    search_backend.rebuild(db.session)
    assert search.search("lonely").total == 1 and search.search("monthly").total == 1
    erasure.erase_account(world.citizen, actor=world.citizen, mode=WITHDRAW)
    db.session.commit()
    assert search.search("lonely").total == 0 and search.search("monthly").total == 0
    assert search.search("weekly").total == 1  # the reply to the tombstone


def test_kept_contributions_stay_in_the_search_index(world, search_backend):
    search_backend.rebuild(db.session)
    erasure.erase_account(world.citizen, actor=world.citizen, mode=KEEP)
    db.session.commit()
    assert search.search("lonely").total == 1


def test_the_record_bundles_built_before_are_deleted(app, world):
    folder = bundles.bundle_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / f"{world.consultation.id}-0123456789abcdef.zip"
    stale.write_bytes(b"Casey Citizen")
    elsewhere = folder / "999999-0123456789abcdef.zip"
    elsewhere.write_bytes(b"")
    erasure.erase_account(world.citizen, actor=world.citizen, mode=KEEP)
    db.session.commit()
    assert not stale.exists() and elsewhere.exists()
    elsewhere.unlink()


def test_a_site_admin_erases_on_request_and_the_log_keeps_nothing_personal(client, world, site_admin):
    login(client, world.other)
    assert client.post(f"/admin/people/{world.citizen.id}/erase", data={"mode": "keep", "reason": "x"}).status_code == 403
    login(client, site_admin)
    page = client.get(f"/admin/people/{world.citizen.id}/erase")
    assert page.status_code == 200 and "Casey Citizen" in page.get_data(as_text=True)
    refused = client.post(f"/admin/people/{world.citizen.id}/erase", data={"mode": "keep", "reason": "  "})
    assert refused.status_code == 400 and "Say which request" in refused.get_data(as_text=True)
    assert count(Erasure) == 0
    response = client.post(
        f"/admin/people/{world.citizen.id}/erase", data={"mode": "withdraw", "reason": "Asked by letter of 3 March, ref. 42"}
    )
    assert response.status_code == 302
    entry = db.session.scalar(select(Erasure))
    assert entry.erased_by_id == site_admin.id and entry.mode == "withdraw" and entry.reason == "Asked by letter of 3 March, ref. 42"
    log = client.get("/admin/erasures").get_data(as_text=True)
    assert "ref. 42" in log and f"Former participant {entry.id}" in log and "Sita Site-Admin" in log
    assert "Casey" not in log and "casey@example.org" not in log
    login(client, world.other)
    assert client.get("/admin/erasures").status_code == 403


def test_nobody_else_erases_an_account(world, org_admin):
    with pytest.raises(PermissionDenied):
        erasure.erase_account(world.citizen, actor=world.other, mode=KEEP)
    with pytest.raises(PermissionDenied):
        erasure.erase_account(world.citizen, actor=org_admin, mode=KEEP)


def test_the_only_site_admin_cannot_delete_their_account(site_admin):
    with pytest.raises(RuleViolation, match="only site admin"):
        erasure.erase_account(site_admin, actor=site_admin, mode=KEEP)
    make_user(site_admin=True)
    erasure.erase_account(site_admin, actor=site_admin, mode=KEEP)


def test_an_erased_account_is_not_erased_twice(world, site_admin):
    erasure.erase_account(world.citizen, actor=world.citizen, mode=KEEP)
    with pytest.raises(RuleViolation, match="already been erased"):
        erasure.erase_account(world.citizen, actor=site_admin, mode=KEEP, reason="again")


def test_the_pseudonym_numbers_are_stable_and_distinct(world):
    first = erasure.erase_account(world.citizen, actor=world.citizen, mode=KEEP)
    second = erasure.erase_account(world.other, actor=world.other, mode=KEEP)
    db.session.commit()
    assert first.id != second.id
    assert db.session.get(User, world.citizen.id).display_name == f"Former participant {first.id}"
    assert db.session.get(User, world.other.id).display_name == f"Former participant {second.id}"


# ---- the page -------------------------------------------------------------------------------


def test_deleting_takes_the_password_and_signs_out(client, world):
    login(client, world.citizen)
    page = client.get("/account/delete")
    assert page.status_code == 200 and "Your password" in page.get_data(as_text=True)
    wrong = client.post("/account/delete", data={"mode": "keep", "password": "not it"})
    assert wrong.status_code == 400 and "not your password" in wrong.get_data(as_text=True)
    assert count(SignInAttempt, SignInAttempt.email == "casey@example.org") == 2  # the fixture's one, and this
    assert count(Erasure) == 0
    no_choice = client.post("/account/delete", data={"password": PASSWORD})
    assert no_choice.status_code == 400 and "Choose what becomes" in no_choice.get_data(as_text=True)
    bad_choice = client.post("/account/delete", data={"mode": "both", "password": PASSWORD})
    assert bad_choice.status_code == 400 and count(Erasure) == 0
    done = client.post("/account/delete", data={"mode": "keep", "password": PASSWORD})
    assert done.status_code == 302
    assert count(Erasure) == 1 and db.session.get(User, world.citizen.id).display_name.startswith("Former participant")
    assert client.get("/account").status_code == 302  # signed out


def test_an_account_without_a_password_needs_a_recent_sign_in(app, client, world):
    from datetime import timedelta

    from consult.core.models import utcnow

    world.citizen.password_hash = "!"
    db.session.commit()
    login(client, world.citizen)
    assert "Your password" not in client.get("/account/delete").get_data(as_text=True)
    session_row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == world.citizen.id))
    session_row.created_at = utcnow() - timedelta(minutes=app.config["ERASURE_FRESH_SIGNIN_MINUTES"] + 1)
    db.session.commit()
    stale = client.post("/account/delete", data={"mode": "withdraw"})
    assert stale.status_code == 400 and "Sign in again" in stale.get_data(as_text=True)
    session_row.created_at = utcnow()
    db.session.commit()
    assert client.post("/account/delete", data={"mode": "withdraw"}).status_code == 302
    assert db.session.get(User, world.citizen.id) is None


def test_the_erasures_page_leads_to_an_account_by_its_number(client, world, site_admin):
    login(client, site_admin)
    response = client.get(f"/admin/erasures?person={world.citizen.id}")
    assert response.status_code == 302 and response.location.endswith(f"/admin/people/{world.citizen.id}/erase")
    assert client.get("/admin/erasures?person=²").status_code == 400
    assert client.get("/admin/people/99999/erase").status_code == 404
