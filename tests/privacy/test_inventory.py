"""Every column that points at a person is handled by the download and by the erasure: a new
table about people fails here until ``consult/privacy/inventory.py`` says what becomes of it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.accounts import services as accounts
from consult.accounts.models import IdentityLink
from consult.accounts.twofactor_models import RecoveryCode, TwoFactor, TwoFactorFailure
from consult.attachments.models import Attachment
from consult.core.models import db, utcnow
from consult.groups import moderation as group_moderation
from consult.groups import services as group_services
from consult.groups.models import CallPledge
from consult.moderation import services as moderation
from consult.policies.models import PolicyVersion
from consult.privacy import erasure, export
from consult.privacy.inventory import BY_EMAIL, BY_FOREIGN_KEY, Erase
from consult.privacy.models import ErasureMode
from consult.questionnaires import services as questionnaire_services
from consult.site.models import Invitation
from consult.tokens import services as api_tokens
from tests.factories import make_user
from tests.groups.call_helpers import make_call
from tests.groups.helpers import make_group
from tests.questionnaires.helpers import full_answers, make_questionnaire


def foreign_keys_to_users() -> set[tuple[str, str]]:
    found = set()
    for table in db.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table.name == "users" and fk.column.name == "id":
                found.add((table.name, fk.parent.name))
    return found


def test_every_foreign_key_to_a_person_is_in_the_inventory():
    found = foreign_keys_to_users()
    assert found - set(BY_FOREIGN_KEY) == set(), "say in consult/privacy/inventory.py what the download and the erasure do with these"
    assert set(BY_FOREIGN_KEY) - found == set(), "listed in the inventory, but no such foreign key any more"
    for (table, column), handling in BY_FOREIGN_KEY.items():
        assert handling.exported_as in export.SECTIONS or handling.why_not, (table, column)
        assert handling.withdraw is not Erase.PSEUDONYMOUS or (table, column) == ("erasures", "user_id"), (
            f"{table}.{column}: withdrawing deletes the account, so nothing can stay under its pseudonym"
        )
    for table, column in BY_EMAIL:
        assert column in db.metadata.tables[table].c


@pytest.fixture
def everyone(world, moderator, organisation, site_admin):
    """People between them having a row in every table that points at a person."""
    accounts.start_login_session(world.citizen)
    db.session.add(IdentityLink(user_id=world.citizen.id, provider="gov-id", issuer="https://id.example", subject="c-1"))
    db.session.add(TwoFactor(user_id=moderator.id, secret="encrypted", enabled_at=utcnow()))
    db.session.add(RecoveryCode(user_id=moderator.id, code_hash="0" * 64))
    db.session.add(TwoFactorFailure(user_id=moderator.id))
    db.session.add(PolicyVersion(kind="privacy", number=2, body="Changed.", significant=True, saved_by_id=site_admin.id))
    db.session.add(
        Attachment(consultation=world.consultation, name="a.pdf", kind="pdf", content_type="application/pdf", size=1,
                   sha256="0" * 64, storage_key="attachments/x", uploaded_by_id=world.author.id)
    )  # fmt: skip
    db.session.add(Invitation(code_hash="1" * 64, created_by_id=site_admin.id, expires_at=utcnow()))
    api_tokens.create_token(actor=world.citizen, name="My script", scopes=["read"], lifetime_days=7)  # issue 19: API tokens
    moderation.block(organisation, world.other, actor=moderator, reason="Spam.", consultation=world.consultation)
    erasure.erase_account(make_user(), actor=site_admin, mode=ErasureMode.KEEP, reason="Asked by phone.")
    questionnaire = make_questionnaire(world.consultation, world.author)  # issue 21: a questionnaire response
    questionnaire_services.submit_response(questionnaire, full_answers(questionnaire), actor=world.citizen)
    # groups (issue 20, groups-core): a group started, a member, someone barred from it
    group = group_services.create_group(actor=world.citizen, name="Inventory group")
    group_services.join_group(group, actor=world.other)
    group_services.remove_member(group, world.other, actor=world.citizen, block=True, reason="Test.")
    # --- groups (issue 20, the activity helper): a report on a group ---
    group_moderation.report_group(make_group(), actor=world.citizen, reason="spam")
    # --- end of the activity helper's block ---
    # --- calls to action (issue 20, calls helper): a call the author published, the citizen's pledge ---
    call = make_call(world.consultation, organisation=organisation, created_by_id=world.author.id)
    db.session.add(CallPledge(call_id=call.id, user_id=world.citizen.id))
    _group_drafts_rows(world, moderator)  # issue 20 (drafts)
    db.session.commit()
    export.request_export(world.citizen, actor=world.citizen)  # a download waiting to be built
    return [world.citizen, world.other, world.author, moderator, site_admin]


def _group_drafts_rows(world, member) -> None:
    """Issue 20 (drafts): the citizen starts and submits a group's draft, another member signs
    it, and the parent group's coordinator (the author) adopts it."""
    from consult.groups import drafts
    from tests.groups.draft_helpers import join, make_group

    parent = make_group(name="National", coordinator=world.author)
    group = make_group(name="Chapter", parent=parent, coordinator=world.citizen)
    join(group, member)
    draft = drafts.start_draft(group, world.consultation, actor=world.citizen, kind="comment", title="Our view")
    drafts.save_draft(draft, actor=world.citizen, seen_revision=1, title="Our view", proposed_text="", body="Together we say so.")
    contribution = drafts.submit_draft(draft, actor=world.citizen)
    drafts.sign(contribution, actor=member)
    drafts.adopt(parent, contribution, actor=world.author)


def _rows(table_name: str, column_name: str, person_id: int) -> int:
    table = db.metadata.tables[table_name]
    return db.session.scalar(select(func.count()).select_from(table).where(table.c[column_name] == person_id))


def test_the_download_holds_the_rows_of_every_column_that_points_at_the_person(everyone):
    covered = set()
    data = {person.id: export.personal_data(person) for person in everyone}
    for (table, column), handling in BY_FOREIGN_KEY.items():
        for person in everyone:
            if _rows(table, column, person.id):
                covered.add((table, column))
                if handling.exported_as:
                    assert data[person.id][handling.exported_as], f"{table}.{column} of {person!r} is not in '{handling.exported_as}'"
    for (table, column), key in BY_EMAIL.items():
        people = [p for p in everyone if _rows(table, column, p.email)]
        assert people, f"nobody in this test has {table}.{column}: give someone one"
        assert all(data[p.id][key] for p in people)
    missing = {key for key, handling in BY_FOREIGN_KEY.items() if key not in covered and key[0] != "erasures"}
    assert missing == set(), f"nobody in this test has rows in {missing}: give someone one, so the test covers it"


def test_erasing_leaves_only_what_the_pseudonym_keeps(everyone):
    ids = [person.id for person in everyone[:-1]]  # the site admin stays (the only one)
    for person in everyone[:-1]:
        erasure.erase_account(person, actor=person, mode=ErasureMode.KEEP)
    db.session.commit()
    for (table, column), handling in BY_FOREIGN_KEY.items():
        if handling.keep is not Erase.PSEUDONYMOUS:
            left = {person_id: _rows(table, column, person_id) for person_id in ids}
            assert not any(left.values()), f"{table}.{column} still points at erased people: {left}"
