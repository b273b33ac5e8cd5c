"""Shared drafts of groups: starting, editing with revisions, the conflict of two saves, history,
who may read them, submitting on the group's behalf, adoption."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from consult.core.errors import PermissionDenied, RuleViolation
from consult.core.models import db
from consult.groups import drafts
from consult.groups.models import GroupAdoption, GroupDraft, GroupDraftRevision, GroupSubmission, Signature
from tests.factories import login, make_user
from tests.groups.draft_helpers import join, make_group


@pytest.fixture
def people():
    return make_user(name="Cora Coordinator"), make_user(name="Mo Member"), make_user(name="Nell Neighbour")


@pytest.fixture
def group(people):
    coordinator, member, _ = people
    g = make_group(name="Riverside Residents", coordinator=coordinator)
    join(g, member)
    return g


def _section(consultation):
    return consultation.current_version.sections[0]


def _amendment_draft(group, consultation, actor):
    return drafts.start_draft(
        group, consultation, actor=actor, kind="amendment", title="Our amendment", section_key=_section(consultation).key
    )


def test_a_member_starts_an_amendment_prefilled_with_the_section(group, people, open_consultation):
    draft = _amendment_draft(group, open_consultation, people[1])
    assert draft.revision == 1
    assert draft.proposed_text == _section(open_consultation).body.strip()
    assert [r.number for r in draft.revisions] == [1]
    assert draft.revisions[0].user_id == people[1].id


def test_a_non_member_cannot_start_or_edit(group, people, open_consultation):
    with pytest.raises(PermissionDenied):
        _amendment_draft(group, open_consultation, people[2])
    draft = _amendment_draft(group, open_consultation, people[1])
    with pytest.raises(PermissionDenied):
        drafts.save_draft(draft, actor=people[2], seen_revision=1, title="Mine now", proposed_text="x", body="y")


def test_an_amendment_needs_a_section(group, people, open_consultation):
    with pytest.raises(RuleViolation):
        drafts.start_draft(group, open_consultation, actor=people[1], kind="amendment", title="No section")


def test_every_save_writes_a_revision_and_history_shows_who_changed_what(group, people, open_consultation):
    coordinator, member, _ = people
    draft = _amendment_draft(group, open_consultation, member)
    assert drafts.save_draft(draft, actor=member, seen_revision=1, title="Our amendment", proposed_text="New words here.", body="Because.")
    assert drafts.save_draft(
        draft, actor=coordinator, seen_revision=2, title="Our amendment", proposed_text="New words there.", body="Because."
    )
    assert draft.revision == 3
    changes = drafts.history(draft)
    assert [(c.revision.number, c.revision.user_id) for c in changes] == [(3, coordinator.id), (2, member.id), (1, member.id)]
    latest = changes[0]
    assert latest.changed_proposed_text and not latest.changed_body
    assert [op.text.strip() for op in latest.proposed_text if op.kind == "delete"] == ["here"]
    assert [op.text.strip() for op in latest.proposed_text if op.kind == "insert"] == ["there"]
    # nothing changed: no revision
    assert not drafts.save_draft(
        draft, actor=member, seen_revision=3, title="Our amendment", proposed_text="New words there.", body="Because."
    )
    assert draft.revision == 3


def test_a_save_on_an_older_revision_is_refused_with_the_other_text(group, people, open_consultation):
    coordinator, member, _ = people
    draft = _amendment_draft(group, open_consultation, member)
    drafts.save_draft(draft, actor=coordinator, seen_revision=1, title="Our amendment", proposed_text="Theirs.", body="Their reason.")
    with pytest.raises(drafts.DraftConflict) as refused:
        drafts.save_draft(draft, actor=member, seen_revision=1, title="Our amendment", proposed_text="Mine.", body="My reason.")
    assert refused.value.status == 409
    assert "Cora Coordinator" in refused.value.message
    assert refused.value.draft.proposed_text == "Theirs."
    stored = db.session.scalars(select(GroupDraftRevision.proposed_text).where(GroupDraftRevision.draft_id == draft.id)).all()
    assert "Mine." not in stored


def test_the_conflict_is_decided_by_the_database_not_by_the_loaded_row(group, people, open_consultation):
    """Two saves that both loaded revision 1: the UPDATE ... WHERE revision = 1 lets one through."""
    coordinator, member, _ = people
    draft = _amendment_draft(group, open_consultation, member)
    # another request saved under our feet: the row in the database moved on, our object did not
    db.session.execute(GroupDraft.__table__.update().where(GroupDraft.id == draft.id).values(revision=2, body="Saved elsewhere."))
    with pytest.raises(drafts.DraftConflict):
        drafts.save_draft(draft, actor=member, seen_revision=1, title="Our amendment", proposed_text="Mine.", body="Mine.")
    assert draft.body == "Saved elsewhere."


def test_the_conflict_page_shows_both_texts(client, group, people, open_consultation):
    coordinator, member, _ = people
    draft = _amendment_draft(group, open_consultation, member)
    drafts.save_draft(draft, actor=coordinator, seen_revision=1, title="Our amendment", proposed_text="Their words.", body="Their reason.")
    db.session.commit()
    login(client, member)
    response = client.post(
        f"/g/{group.slug}/drafts/{draft.id}",
        data={"revision": "1", "title": "Our amendment", "proposed_text": "My words.", "body": "My reason."},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Their words." in page and "My words." in page and "Cora Coordinator" in page


def test_an_invite_only_groups_drafts_are_invisible_to_non_members(client, people, open_consultation):
    coordinator, member, stranger = people
    closed = make_group(name="Quiet Circle", public=False, coordinator=coordinator)
    join(closed, member)
    draft = drafts.start_draft(closed, open_consultation, actor=member, kind="comment", title="Secret plan")
    db.session.commit()
    assert drafts.visible_draft(stranger, closed, draft.id) is None
    assert drafts.visible_draft(None, closed, draft.id) is None
    assert drafts.visible_draft(member, closed, draft.id) is not None
    assert drafts.group_panel(closed, stranger)["drafts_list"] == []
    for url in (f"/g/{closed.slug}/drafts", f"/g/{closed.slug}/drafts/{draft.id}", f"/g/{closed.slug}/drafts/{draft.id}/history"):
        assert client.get(url).status_code == 404, url
    login(client, stranger)
    for url in (f"/g/{closed.slug}/drafts", f"/g/{closed.slug}/drafts/{draft.id}", f"/g/{closed.slug}/drafts/{draft.id}/history"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Secret plan" not in response.get_data(as_text=True)
    found = client.get("/search?q=Secret").get_data(as_text=True)
    assert f"/drafts/{draft.id}" not in found and "Quiet Circle" not in found
    assert "Secret plan" not in client.get("/api/v1/consultations/open-one/contributions").get_data(as_text=True)
    login(client, member)
    assert "Secret plan" in client.get(f"/g/{closed.slug}/drafts").get_data(as_text=True)


def test_a_public_groups_draft_is_read_by_all_but_edited_by_members(client, group, people, open_consultation):
    draft = _amendment_draft(group, open_consultation, people[1])
    db.session.commit()
    page = client.get(f"/g/{group.slug}/drafts/{draft.id}")
    assert page.status_code == 200 and "Our amendment" in page.get_data(as_text=True)
    assert client.get(f"/g/{group.slug}/drafts/{draft.id}/history").status_code == 200
    login(client, people[2])
    refused = client.post(f"/g/{group.slug}/drafts/{draft.id}", data={"revision": "1", "title": "Taken", "body": "x"})
    assert refused.status_code == 403


def test_a_member_starts_and_saves_through_the_pages(client, group, people, open_consultation):
    member = people[1]
    login(client, member)
    assert open_consultation.title in client.get(f"/g/{group.slug}/drafts/new").get_data(as_text=True)
    key = _section(open_consultation).key
    response = client.post(
        f"/g/{group.slug}/drafts/new?c={open_consultation.slug}", data={"kind": "amendment", "section_key": key, "title": "From the page"}
    )
    assert response.status_code == 302
    draft = db.session.scalar(select(GroupDraft).where(GroupDraft.title == "From the page"))
    response = client.post(
        f"/g/{group.slug}/drafts/{draft.id}",
        data={"revision": "1", "title": "From the page", "proposed_text": "Better words.", "body": "Why not."},
    )
    assert response.status_code == 302
    db.session.refresh(draft)
    assert (draft.revision, draft.proposed_text) == (2, "Better words.")
    bad = client.post(f"/g/{group.slug}/drafts/{draft.id}", data={"revision": "2", "title": "x" * 300, "body": "b"})
    assert bad.status_code == 400


def test_a_coordinator_submits_on_behalf_of_the_group(group, people, open_consultation):
    coordinator, member, _ = people
    draft = _amendment_draft(group, open_consultation, member)
    drafts.save_draft(draft, actor=member, seen_revision=1, title="Our amendment", proposed_text="Better words.", body="Why not.")
    with pytest.raises(PermissionDenied):
        drafts.submit_draft(draft, actor=member)
    contribution = drafts.submit_draft(draft, actor=coordinator)
    assert contribution.author_id == coordinator.id
    assert contribution.amendment.proposed_text == "Better words."
    assert draft.submitted_contribution_id == contribution.id and draft.is_submitted
    row = db.session.get(GroupSubmission, contribution.id)
    assert (row.group_id, row.draft_id, row.submitted_by_id) == (group.id, draft.id, coordinator.id)
    assert db.session.scalars(select(Signature.user_id).where(Signature.contribution_id == contribution.id)).all() == [coordinator.id]
    with pytest.raises(RuleViolation) as twice:
        drafts.submit_draft(draft, actor=coordinator)
    assert twice.value.status == 409
    with pytest.raises(PermissionDenied):
        drafts.save_draft(draft, actor=member, seen_revision=draft.revision, title="Late", proposed_text="x", body="y")


def test_submitting_follows_the_consultations_rules(group, people, open_consultation):
    """The same service as a person's own: an unchanged amendment is refused as it would be for them."""
    draft = _amendment_draft(group, open_consultation, people[1])
    drafts.save_draft(draft, actor=people[1], seen_revision=1, title="Our amendment", proposed_text=draft.proposed_text, body="Why.")
    with pytest.raises(RuleViolation):
        drafts.submit_draft(draft, actor=people[0])


def test_a_comment_draft_is_submitted_as_a_comment(client, group, people, open_consultation):
    draft = drafts.start_draft(group, open_consultation, actor=people[1], kind="comment", title="Our view")
    drafts.save_draft(draft, actor=people[1], seen_revision=1, title="Our view", proposed_text="ignored", body="We think it is good.")
    db.session.commit()
    login(client, people[0])
    response = client.post(f"/g/{group.slug}/drafts/{draft.id}/submit")
    assert response.status_code == 302
    db.session.refresh(draft)
    contribution = draft.submitted_contribution
    assert contribution.kind == "comment" and contribution.body == "We think it is good."
    again = client.post(f"/g/{group.slug}/drafts/{draft.id}/submit")
    assert again.status_code in (403, 409)


def test_a_parent_adopts_a_chapters_submission_once(client, people, open_consultation):
    coordinator, member, national_lead = people
    national = make_group(name="National Body", coordinator=national_lead)
    chapter = make_group(name="North Chapter", parent=national, coordinator=coordinator)
    draft = drafts.start_draft(chapter, open_consultation, actor=coordinator, kind="comment", title="North view")
    drafts.save_draft(draft, actor=coordinator, seen_revision=1, title="North view", proposed_text="", body="North says yes.")
    contribution = drafts.submit_draft(draft, actor=coordinator)
    positions = drafts.chapters_positions(national, None)
    assert [(c.id, [p.contribution.id for p in items]) for c, items in positions] == [(open_consultation.id, [contribution.id])]
    with pytest.raises(PermissionDenied):
        drafts.adopt(national, contribution, actor=member)
    drafts.adopt(national, contribution, actor=national_lead)
    with pytest.raises(RuleViolation) as twice:
        drafts.adopt(national, contribution, actor=national_lead)
    assert twice.value.status == 409
    assert db.session.scalar(select(GroupAdoption.group_id)) == national.id
    other = make_group(name="Unrelated", coordinator=national_lead)
    with pytest.raises(RuleViolation):
        drafts.adopt(other, contribution, actor=national_lead)
    credit = drafts.credits([contribution.id])[contribution.id]
    assert credit.group.id == chapter.id and [g.id for g in credit.adopted_by] == [national.id]
    db.session.commit()
    page = client.get(f"/g/{national.slug}/positions").get_data(as_text=True)
    assert "North says yes." in page and "Adopted as the position of National Body" in page


def test_a_member_starts_a_group_draft_from_the_amendment_form(client, group, people, open_consultation):
    """The "Propose an amendment" page offers the groups one is in; the link starts a draft with
    the kind and the section chosen."""
    member = people[0]
    key = open_consultation.current_version.sections[0].key
    login(client, member)
    page = client.get(f"/c/{open_consultation.slug}/s/{key}/amend").get_data(as_text=True)
    assert "Or write it with a group" in page and f"Start a draft with {group.name}" in page
    start = client.get(f"/g/{group.slug}/drafts/new?c={open_consultation.slug}&kind=amendment&section={key}").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="amendment"|<input[^>]*value="amendment"[^>]*checked', start)
    assert re.search(rf'<option[^>]*selected[^>]*value="{key}"|<option[^>]*value="{key}"[^>]*selected', start)
    bad = client.get(f"/g/{group.slug}/drafts/new?c={open_consultation.slug}&kind=zzz&section=nope")
    assert bad.status_code == 200  # unknown choices are simply not chosen
    stranger = make_user(name="Not in it")
    login(client, stranger)
    assert "Or write it with a group" not in client.get(f"/c/{open_consultation.slug}/s/{key}/amend").get_data(as_text=True)
