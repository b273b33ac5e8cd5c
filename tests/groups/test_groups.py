"""Groups (services): starting one, joining and leaving, roles, the last coordinator, invitation
links, barring people, chapters without cycles."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.core.errors import PermissionDenied, RuleViolation
from consult.core.models import db
from consult.groups import services
from consult.groups.models import GroupBlock, GroupMembership, GroupRole
from consult.permissions import Action, can
from tests.factories import make_user


def members_of(group) -> dict[str, str]:
    return {m.user.display_name: m.role for m in group_memberships(group)}


def group_memberships(group):
    return db.session.scalars(select(GroupMembership).where(GroupMembership.group_id == group.id)).all()


@pytest.fixture
def coordinator():
    return make_user(name="Cora Coordinator")


@pytest.fixture
def group(coordinator):
    return services.create_group(actor=coordinator, name="Riverside Residents", description="We **care** <script>x()</script>")


def test_starting_a_group_makes_its_creator_coordinator_with_a_slug_and_a_secret_link(group, coordinator):
    assert group.slug == "riverside-residents"
    assert members_of(group) == {"Cora Coordinator": "coordinator"}
    assert "<strong>care</strong>" in group.description_html and "<script" not in group.description_html
    assert len(group.invite_code) >= 30
    second = services.create_group(actor=make_user(), name="Riverside  Residents!")
    third = services.create_group(actor=make_user(), name="Riverside Residents")
    assert (second.slug, third.slug) == ("riverside-residents-2", "riverside-residents-3")
    assert second.invite_code != group.invite_code
    assert services.create_group(actor=make_user(), name="Ωμέγα").slug == "group"


def test_bad_details_are_refused_with_a_clear_message(coordinator):
    for fields, message in (
        ({"name": "   "}, "Enter the group's name"),
        ({"name": "x" * 201}, "at most 200"),
        ({"name": "Fine", "visibility": "secret"}, "Choose whether anyone can join"),
        ({"name": "Fine", "description": "x" * 10_001}, "description under"),
    ):
        with pytest.raises(RuleViolation, match=message) as refused:
            services.create_group(actor=coordinator, **fields)
        assert refused.value.status == 400
    with pytest.raises(PermissionDenied):
        services.create_group(actor=make_user(confirmed=False), name="Unconfirmed")


def test_joining_a_public_group_twice_joins_once(group):
    person = make_user(name="Jo Joiner")
    first = services.join_group(group, actor=person)
    again = services.join_group(group, actor=person)
    assert first.id == again.id
    assert members_of(group)["Jo Joiner"] == "member"
    assert db.session.scalar(select(func.count()).where(GroupMembership.user_id == person.id)) == 1


def test_an_invite_only_group_is_joined_by_its_link_only_and_a_new_link_stops_the_old(coordinator):
    group = services.create_group(actor=coordinator, name="Parents", visibility="invite_only")
    person = make_user(name="Pat Parent")
    with pytest.raises(RuleViolation, match="invite-only"):
        services.join_group(group, actor=person)
    old = group.invite_code
    with pytest.raises(RuleViolation, match="does not work") as refused:
        services.join_by_invitation(group, "not-the-code", actor=person)
    assert refused.value.status == 404
    services.new_invitation_link(group, actor=coordinator)
    assert group.invite_code != old
    with pytest.raises(RuleViolation, match="does not work"):
        services.join_by_invitation(group, old, actor=person)
    services.join_by_invitation(group, group.invite_code, actor=person)
    assert "Pat Parent" in members_of(group)
    with pytest.raises(PermissionDenied):
        services.new_invitation_link(group, actor=person)  # members do not manage the group


def test_the_last_coordinator_cannot_leave_while_others_remain(group, coordinator):
    member = make_user(name="Mo Member")
    services.join_group(group, actor=member)
    with pytest.raises(RuleViolation, match="only coordinator") as refused:
        services.leave_group(group, actor=coordinator)
    assert refused.value.status == 409
    with pytest.raises(RuleViolation, match="needs a coordinator"):
        services.set_role(group, coordinator, "member", actor=coordinator)
    services.set_role(group, member, "coordinator", actor=coordinator)
    services.leave_group(group, actor=coordinator)
    assert members_of(group) == {"Mo Member": "coordinator"}
    services.leave_group(group, actor=member)  # the only member: the group stays, empty
    assert members_of(group) == {}
    assert services.group_by_slug(group.slug) is not None


def test_roles_change_and_bad_roles_are_refused(group, coordinator):
    member = make_user(name="Mo Member")
    services.join_group(group, actor=member)
    with pytest.raises(RuleViolation, match="coordinator or member") as refused:
        services.set_role(group, member, "king", actor=coordinator)
    assert refused.value.status == 400
    with pytest.raises(RuleViolation, match="not a member") as refused:
        services.set_role(group, make_user(), "member", actor=coordinator)
    assert refused.value.status == 404
    services.set_role(group, member, "coordinator", actor=coordinator)
    assert can(member, Action.MANAGE_GROUP, group)
    services.set_role(group, coordinator, "member", actor=member)
    assert not can(coordinator, Action.MANAGE_GROUP, group)
    with pytest.raises(PermissionDenied):
        services.set_role(group, member, "member", actor=coordinator)


def test_a_barred_person_cannot_rejoin_by_page_or_link_until_let_back(group, coordinator):
    person = make_user(name="Bo Barred")
    services.join_group(group, actor=person)
    services.remove_member(group, person, actor=coordinator, block=True, reason="Spam.")
    assert "Bo Barred" not in members_of(group)
    assert db.session.scalar(select(GroupBlock.reason).where(GroupBlock.user_id == person.id)) == "Spam."
    for join in (
        lambda: services.join_group(group, actor=person),
        lambda: services.join_by_invitation(group, group.invite_code, actor=person),
    ):
        with pytest.raises(RuleViolation, match="cannot join it again") as refused:
            join()
        assert refused.value.status == 403
    assert not can(person, Action.JOIN_GROUP, group)
    services.unblock(group, person, actor=coordinator)
    services.join_group(group, actor=person)
    assert "Bo Barred" in members_of(group)


def test_removing_without_barring_lets_them_come_back_and_the_last_coordinator_stays(group, coordinator):
    person = make_user(name="Ri Removed")
    services.join_group(group, actor=person)
    services.remove_member(group, person, actor=coordinator)
    services.join_group(group, actor=person)
    assert "Ri Removed" in members_of(group)
    admin = make_user(site_admin=True)
    with pytest.raises(RuleViolation, match="needs a coordinator"):
        services.remove_member(group, coordinator, actor=admin)


def test_chapters_are_started_attached_and_detached_without_cycles(group, coordinator):
    chapter = services.create_group(actor=coordinator, name="North chapter", parent=group)
    assert chapter.parent_id == group.id
    grandchild = services.create_group(actor=coordinator, name="North street", parent=chapter)
    assert [c.name for c in services.chapters(group, None)] == ["North chapter"]
    for parent, child in ((chapter, group), (grandchild, group), (group, group)):
        with pytest.raises(RuleViolation, match="chapter of itself"):
            services.attach_chapter(child, parent, actor=coordinator)
    assert {g.name for g in services.attachable_chapters(grandchild, actor=coordinator)} == set()
    other = services.create_group(actor=coordinator, name="Elsewhere")
    assert [g.name for g in services.attachable_chapters(group, actor=coordinator)] == ["Elsewhere", "North street"]
    services.attach_chapter(other, group, actor=coordinator)
    assert [c.name for c in services.chapters(group, None)] == ["Elsewhere", "North chapter"]
    services.detach_chapter(other, actor=coordinator)
    assert other.parent_id is None


def test_only_coordinators_of_both_groups_attach_and_strangers_cannot_start_chapters(group, coordinator):
    stranger = make_user()
    theirs = services.create_group(actor=stranger, name="Theirs")
    with pytest.raises(PermissionDenied):
        services.attach_chapter(theirs, group, actor=stranger)
    with pytest.raises(PermissionDenied):
        services.attach_chapter(theirs, group, actor=coordinator)
    with pytest.raises(PermissionDenied):
        services.create_group(actor=stranger, name="Inside", parent=group)


def test_invite_only_members_are_shown_to_members_only(coordinator):
    group = services.create_group(actor=coordinator, name="Quiet", visibility="invite_only")
    outsider = make_user()
    with pytest.raises(PermissionDenied):
        services.members(group, viewer=outsider)
    with pytest.raises(PermissionDenied):
        services.members(group, viewer=None)
    assert [m.user_id for m in services.members(group, viewer=coordinator)] == [coordinator.id]
    assert [m.user_id for m in services.members(group, viewer=make_user(site_admin=True))] == [coordinator.id]


def test_the_list_shows_visible_groups_with_counts_and_searches_by_name(group, coordinator):
    services.join_group(group, actor=make_user())
    hidden = services.create_group(actor=make_user(), name="Riverside hidden")
    hidden.state = "hidden"
    services.create_group(actor=make_user(), name="Hill 100% club")
    listed = {item.group.name: item.members for item in services.list_groups(None)}
    assert listed == {"Riverside Residents": 2, "Hill 100% club": 1}
    assert [i.group.name for i in services.list_groups(None, search="river")] == ["Riverside Residents"]
    assert [i.group.name for i in services.list_groups(None, search="100%")] == ["Hill 100% club"]
    assert services.list_groups(None, search="%") == [] or all("%" in i.group.name for i in services.list_groups(None, search="%"))
    assert [(g.name, r) for g, r in services.groups_of(coordinator)] == [("Riverside Residents", GroupRole.COORDINATOR)]


def test_a_join_racing_another_ends_in_one_membership_not_an_error(group):
    """Two requests of one person both passed the "not a member yet" check: the unique key
    refuses the second row and the second request gets the first's membership."""
    person = make_user()
    first = services._add_member(group, person)
    second = services._add_member(group, person)  # what the slower request does after its check
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).where(GroupMembership.group_id == group.id)) == 2


@pytest.mark.parametrize("mode", ["keep", "withdraw"])
def test_erasing_the_only_coordinator_hands_the_group_to_its_longest_standing_member(group, coordinator, site_admin, mode):
    from consult.privacy import erasure
    from consult.privacy.models import ErasureMode

    first, second = make_user(name="First In"), make_user(name="Second In")
    services.join_group(group, actor=first)
    services.join_group(group, actor=second)
    alone = services.create_group(actor=coordinator, name="Only me here")
    db.session.commit()
    erasure.erase_account(coordinator, actor=site_admin, mode=ErasureMode(mode), reason="Asked by letter.")
    db.session.commit()
    assert members_of(group) == {"First In": "coordinator", "Second In": "member"}
    assert members_of(alone) == {}  # nobody left to hand it to
