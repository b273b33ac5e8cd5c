"""What a group's members did (its page's panel), a parent group's chapters, and the groups that
took part in a consultation (its outcome page): counted once per person, only what the viewer
may see."""

from __future__ import annotations

import pytest

from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.contributions.models import ModerationState
from consult.core.models import db, utcnow
from consult.groups import activity
from consult.groups.models import GroupState, GroupSubmission, Signature
from consult.voting import services as voting
from consult.voting import statements
from tests.conftest import login
from tests.factories import make_consultation, make_user
from tests.groups.helpers import join, make_group


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="open-data")


@pytest.fixture
def people():
    return [make_user(name=f"Member {i}") for i in range(4)]


def _took_part(consultation, people):
    """Member 0: a comment and an annotation; member 1: an amendment and a statement; member 2:
    a vote on a section and on the amendment; member 3: nothing."""
    a, b, c, _d = people
    comments.post_comment(consultation, actor=a, body="A plain comment.", section_key="purpose")
    comments.post_comment(consultation, actor=a, body="On these words.", section_key="purpose", quote="open data")
    amendment = amendments.propose_amendment(
        consultation, actor=b, section_key="scope", rationale="Clearer.", proposed_text="It applies to all."
    )
    statements.post_statement(consultation, actor=b, body="Data should be open by default.")
    voting.cast_vote(consultation, actor=c, value="support", section_key="purpose")
    voting.cast_vote(consultation, actor=c, value="support", contribution=amendment)
    return amendment


def test_the_panel_counts_each_kind_and_each_person_once(consultation, people):
    group = make_group(coordinator=people[0], members=people[1:])
    _took_part(consultation, people)
    outsider = make_user()
    comments.post_comment(consultation, actor=outsider, body="Not a member.", section_key="purpose")

    panel = activity.group_panel(group, None)
    a = panel["activity"]
    assert panel["activity_shown"] is True
    assert (a.members, a.people, a.contributions, a.votes) == (4, 3, 4, 2)
    [row] = a.consultations
    assert row.consultation == consultation
    assert (row.comments, row.annotations, row.amendments, row.statements, row.votes, row.people) == (1, 1, 1, 1, 2, 3)
    assert {c.author_id for c in row.latest} == {people[0].id, people[1].id}
    assert a.chapters == []


def test_hidden_and_pending_contributions_are_not_counted_for_the_public(consultation, people):
    group = make_group(members=people)
    comment = comments.post_comment(consultation, actor=people[0], body="Soon hidden.", section_key="purpose")
    comment.moderation_state = ModerationState.HIDDEN
    pending = comments.post_comment(consultation, actor=people[1], body="Waits.", section_key="purpose")
    pending.moderation_state = ModerationState.PENDING
    db.session.flush()

    a = activity.group_panel(group, None)["activity"]
    assert (a.contributions, a.people, a.consultations) == (0, 0, [])
    # the author of the pending one sees their own (as everywhere else)
    assert activity.group_panel(group, people[1])["activity"].contributions == 1


def test_a_draft_consultation_is_not_counted(organisation, author, people):
    group = make_group(members=people)
    draft = make_consultation(organisation, author=author, state="draft", slug="draft-one")
    join(group, author)
    db.session.flush()
    assert activity.group_panel(group, None)["activity"].consultations == []
    assert draft.id  # the draft exists; nothing in it can be counted by the public


def test_an_invite_only_groups_panel_is_for_its_members(consultation, people, site_admin):
    group = make_group(invite_only=True, coordinator=people[0], members=people[1:2])
    _took_part(consultation, people)
    for viewer in (None, make_user(), people[3]):
        assert activity.group_panel(group, viewer) == {"activity_shown": False, "activity": None}
    assert activity.group_panel(group, people[1])["activity_shown"] is True
    assert activity.group_panel(group, site_admin)["activity"].people == 2


def test_a_hidden_groups_panel_is_shown_to_nobody_but_the_sites_admins(consultation, people, site_admin):
    group = make_group(members=people)
    group.state = GroupState.HIDDEN
    assert activity.group_panel(group, people[0])["activity_shown"] is False
    assert activity.group_panel(group, site_admin)["activity_shown"] is True


def test_a_parent_aggregates_its_chapters_and_counts_a_person_in_two_chapters_once(consultation, people):
    a, b, c, d = people
    national = make_group(name="National", coordinator=d)
    north = make_group(name="North", parent=national, members=[a, b])
    south = make_group(name="South", parent=national, members=[a, c])
    village = make_group(name="Village", parent=south, members=[b])  # a chapter's chapter counts too
    secret = make_group(name="Secret", parent=national, invite_only=True, members=[make_user()])
    _took_part(consultation, people)

    panel = activity.group_panel(national, None)["activity"]
    assert (panel.members, panel.people, panel.contributions, panel.votes) == (4, 3, 4, 2)
    rows = {row.group.name: (row.members, row.people, row.contributions) for row in panel.chapters}
    assert rows == {"National": (1, 0, 0), "North": (2, 2, 4), "South": (2, 2, 2), "Village": (1, 1, 2)}
    assert [row.group for row in panel.chapters] == [national, north, south, village]
    assert panel.chapters_left_out == 1  # the invite-only chapter, for who is not in it
    assert secret.id and village.parent_id == south.id


def test_groups_in_a_consultation_and_the_people_they_represent(consultation, people):
    a, b, c, d = people
    make_group(name="Residents", coordinator=a, members=[b])
    parents = make_group(name="Parents", members=[b, c])
    closed = make_group(name="Closed", invite_only=True, coordinator=d, members=[c])
    make_group(name="Idle", members=[make_user()])
    amendment = _took_part(consultation, people)
    # the invite-only group submitted an amendment: its signers count, its members' own activity does not
    submitted = amendments.propose_amendment(consultation, actor=d, section_key="purpose", rationale="Ours.", proposed_text="New words.")
    db.session.add(GroupSubmission(contribution_id=submitted.id, group_id=closed.id, submitted_by_id=d.id, submitted_at=utcnow()))
    db.session.add(Signature(contribution_id=submitted.id, user_id=c.id, group_id=closed.id))
    db.session.flush()

    found = {group.name: people for group, people in activity.groups_in(consultation)}
    assert found == {"Residents": 2, "Parents": 2, "Closed": 2}
    assert activity.people_represented(consultation) == 4  # b is in two groups, c in two: once each
    assert amendment.id

    # a hidden submission no longer counts; a hidden group no longer takes part
    submitted.moderation_state = ModerationState.HIDDEN
    parents.state = GroupState.HIDDEN
    db.session.flush()
    found = {group.name: people for group, people in activity.groups_in(consultation)}
    assert found == {"Residents": 2}
    assert activity.people_represented(consultation) == 2


def test_groups_in_a_consultation_the_public_cannot_see(organisation, author, people):
    draft = make_consultation(organisation, author=author, state="draft", slug="not-yet")
    make_group(members=people)
    assert activity.groups_in(draft) == []
    assert activity.people_represented(draft) == 0


def test_the_panel_renders_with_links(app, client, consultation, people):
    """The partial the group page includes, rendered on its own with the panel's context."""
    from flask import render_template_string

    group = make_group(name="Riverside residents", coordinator=people[0], members=people[1:])
    amendment = _took_part(consultation, people)
    db.session.commit()
    login(client, make_user())
    with app.test_request_context("/"):
        from flask_login import login_user

        viewer = make_user()
        login_user(viewer)
        html = render_template_string('{% include "groups/_activity_panel.html" %}', group=group, **activity.group_panel(group, viewer))
    assert "What the members did" in html
    assert f'href="/c/{consultation.slug}"' in html
    assert f"/comments/{amendment.id}" in html
    assert "/g/riverside" not in html  # no chapters: no row links
    assert f"/g/{group.slug}/report" in html
