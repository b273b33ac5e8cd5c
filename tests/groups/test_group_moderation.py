"""Moderating groups: anyone signed in reports one (once), the site's admins hide, restore,
dismiss and bar members, and bad input is refused with a 4xx, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.core.errors import PermissionDenied, RuleViolation
from consult.core.models import db
from consult.groups import moderation
from consult.groups.models import Group, GroupBlock, GroupMembership, GroupReport
from consult.permissions import Action, can, visible_group_drafts, visible_groups
from tests.conftest import login
from tests.factories import make_user
from tests.groups.helpers import make_group


@pytest.fixture
def coordinator():
    return make_user(name="Cora Coordinator")


@pytest.fixture
def member():
    return make_user(name="Mo Member")


@pytest.fixture
def group(coordinator, member):
    return make_group(name="Riverside residents", slug="riverside", coordinator=coordinator, members=[member])


def _open_reports(group) -> int:
    return db.session.scalar(
        select(func.count()).select_from(GroupReport).where(GroupReport.group_id == group.id, GroupReport.resolved_at.is_(None))
    )


# ---- the services ----------------------------------------------------------------------------


def test_one_report_per_person_and_a_second_says_so(group, citizen):
    assert moderation.report_group(group, actor=citizen, reason="spam") is True
    assert moderation.report_group(group, actor=citizen, reason="offensive") is False
    assert _open_reports(group) == 1


def test_a_resolved_report_can_be_made_again(group, citizen, site_admin):
    moderation.report_group(group, actor=citizen, reason="spam")
    moderation.dismiss_reports(group, actor=site_admin)
    assert _open_reports(group) == 0
    assert moderation.report_group(group, actor=citizen, reason="other", detail="Still spam.") is True
    assert _open_reports(group) == 1


@pytest.mark.parametrize(("reason", "detail"), [("nonsense", ""), ("other", ""), ("spam", "x" * 1001)])
def test_bad_reports_are_refused(group, citizen, reason, detail):
    with pytest.raises(RuleViolation) as refused:
        moderation.report_group(group, actor=citizen, reason=reason, detail=detail)
    assert refused.value.status == 400


def test_who_may_report_and_moderate(group, coordinator, citizen, site_admin, moderator):
    assert can(citizen, Action.REPORT_GROUP, group) and not can(None, Action.REPORT_GROUP, group)
    assert not can(coordinator, Action.REPORT_GROUP, group)  # their own group
    assert can(site_admin, Action.MODERATE_GROUPS, None)
    for person in (citizen, coordinator, moderator):  # an organisation's moderator: not the site's groups
        assert not can(person, Action.MODERATE_GROUPS, None)
        with pytest.raises(PermissionDenied):
            moderation.hide_group(group, actor=person, reason="No.")


def test_hiding_resolves_reports_and_takes_the_group_out_of_lists(group, member, citizen, site_admin):
    moderation.report_group(group, actor=citizen, reason="offensive")
    moderation.hide_group(group, actor=site_admin, reason="Hate speech in its description.")
    assert group.is_hidden and group.hidden_reason == "Hate speech in its description." and group.hidden_at
    assert _open_reports(group) == 0
    assert group.id not in db.session.scalars(select(Group.id).where(visible_groups(citizen))).all()
    assert not can(member, Action.VIEW_GROUP_MEMBERS, group)
    assert not can(citizen, Action.REPORT_GROUP, group)
    with pytest.raises(RuleViolation) as twice:
        moderation.hide_group(group, actor=site_admin, reason="Again.")
    assert twice.value.status == 409
    assert visible_group_drafts(member) is not None

    moderation.restore_group(group, actor=site_admin)
    assert not group.is_hidden and group.hidden_reason == "" and group.hidden_at is None
    assert group.id in db.session.scalars(select(Group.id).where(visible_groups(citizen))).all()
    with pytest.raises(RuleViolation) as again:
        moderation.restore_group(group, actor=site_admin)
    assert again.value.status == 409


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_hiding_needs_a_public_reason(group, site_admin, reason):
    with pytest.raises(RuleViolation) as refused:
        moderation.hide_group(group, actor=site_admin, reason=reason)
    assert refused.value.status == 400 and not group.is_hidden


def test_barring_a_member_ends_their_membership_and_keeps_them_out(group, member, citizen, site_admin):
    moderation.report_group(group, actor=citizen, reason="spam")
    moderation.block_from_group(group, member, actor=site_admin, reason="Spamming the group.")
    assert (
        db.session.scalar(select(GroupMembership).where(GroupMembership.group_id == group.id, GroupMembership.user_id == member.id)) is None
    )
    assert not can(member, Action.JOIN_GROUP, group)
    assert _open_reports(group) == 0
    with pytest.raises(RuleViolation) as twice:
        moderation.block_from_group(group, member, actor=site_admin)
    assert twice.value.status == 409
    moderation.lift_group_block(group, member.id, actor=site_admin)
    assert can(member, Action.JOIN_GROUP, group)


# ---- the pages -------------------------------------------------------------------------------


def test_reporting_over_http(client, group, citizen):
    response = client.get("/g/riverside/report")
    assert response.status_code == 302 and "sign" in response.headers["Location"]  # sign in first
    login(client, citizen)
    page = client.get("/g/riverside/report")
    assert page.status_code == 200 and "Report the group Riverside residents" in page.text
    assert client.post("/g/riverside/report", data={"reason": "bogus"}).status_code == 400
    assert client.post("/g/riverside/report", data={"reason": "other"}).status_code == 400
    assert client.post("/g/riverside/report", data={"reason": "spam", "detail": "x" * 1001}).status_code == 400
    first = client.post("/g/riverside/report", data={"reason": "spam"}, follow_redirects=False)
    assert first.status_code == 302 and first.headers["Location"].endswith("/g/riverside")
    second = client.post("/g/riverside/report", data={"reason": "spam"})
    assert second.status_code == 302
    with client.session_transaction() as session:
        messages = [m for _c, m in session.get("_flashes", [])]
    assert any("already reported" in m for m in messages)
    assert client.get("/g/nobody/report").status_code == 404
    assert _open_reports(group) == 1


def test_the_queue_is_for_the_sites_admins(client, group, citizen, site_admin):
    moderation.report_group(group, actor=citizen, reason="spam", detail="Adverts for shoes.")
    db.session.commit()
    login(client, citizen)
    assert client.get("/groups/reports").status_code == 403
    assert client.get("/groups/reports/riverside").status_code == 403
    assert client.post("/groups/reports/riverside/hide", data={"reason": "No."}).status_code == 403
    login(client, site_admin)
    queue = client.get("/groups/reports")
    assert queue.status_code == 200 and "Riverside residents" in queue.text and "Adverts for shoes." in queue.text
    assert citizen.display_name not in queue.text  # reporters are never named
    assert client.get("/groups/reports/nobody").status_code == 404


def test_hide_restore_dismiss_and_bar_over_http(client, group, member, citizen, site_admin):
    moderation.report_group(group, actor=citizen, reason="spam")
    db.session.commit()
    login(client, site_admin)
    page = client.get("/groups/reports/riverside")
    assert page.status_code == 200 and "Mo Member" in page.text
    missing = client.post("/groups/reports/riverside/hide", data={"reason": ""})
    assert missing.status_code == 400 and "public reason" in missing.text
    assert client.post("/groups/reports/riverside/hide", data={"reason": "x" * 501}).status_code == 400
    assert client.post("/groups/reports/riverside/hide", data={"reason": "Adverts."}).status_code == 302
    db.session.refresh(group)
    assert group.is_hidden and _open_reports(group) == 0
    assert client.post("/groups/reports/riverside/hide", data={"reason": "Again."}).status_code == 409
    assert "Adverts." in client.get("/groups/reports").text  # in the hidden list, to restore
    assert client.post("/groups/reports/riverside/restore").status_code == 302
    db.session.refresh(group)
    assert not group.is_hidden
    assert client.post("/groups/reports/riverside/restore").status_code == 409

    assert client.post("/groups/reports/riverside/block", data={"person": "abc"}).status_code == 400
    assert client.post("/groups/reports/riverside/block", data={"person": str(citizen.id)}).status_code == 400  # not a member
    assert client.post("/groups/reports/riverside/block", data={"person": "99999999999999999999"}).status_code == 400
    done = client.post("/groups/reports/riverside/block", data={"person": str(member.id), "reason": "Spam."})
    assert done.status_code == 302
    assert db.session.scalar(select(GroupBlock).where(GroupBlock.group_id == group.id, GroupBlock.user_id == member.id)) is not None
    assert "Lift the bar" in client.get("/groups/reports/riverside").text
    assert client.post("/groups/reports/riverside/unblock", data={"person": "x"}).status_code == 400
    assert client.post("/groups/reports/riverside/unblock", data={"person": str(citizen.id)}).status_code == 404
    assert client.post("/groups/reports/riverside/unblock", data={"person": str(member.id)}).status_code == 302

    moderation.report_group(group, actor=citizen, reason="spam")
    db.session.commit()
    assert client.post("/groups/reports/riverside/dismiss").status_code == 302
    assert _open_reports(group) == 0


def test_every_moderation_of_a_group_is_in_the_audit(client, group, member, citizen, site_admin):
    """Hiding, restoring, dismissing, barring and letting back: each a site admin's staff action
    on the group, listed on its moderation page."""
    moderation.report_group(group, actor=citizen, reason="spam")
    moderation.dismiss_reports(group, actor=site_admin)
    moderation.hide_group(group, actor=site_admin, reason="Advertising only.")
    moderation.restore_group(group, actor=site_admin)
    moderation.block_from_group(group, member, actor=site_admin, reason="Abuse.")
    moderation.lift_group_block(group, member.id, actor=site_admin)
    db.session.commit()
    history = moderation.group_history(group, actor=site_admin)
    assert [entry.operation for entry in reversed(history)] == [
        "dismiss_group_reports",
        "hide_group",
        "restore_group",
        "bar_from_group",
        "lift_group_bar",
    ]
    assert {(e.actor_id, e.actor_role, e.organisation_id, e.target_type) for e in history} == {(site_admin.id, "site_admin", None, "group")}
    assert history[3].detail == {"reason": "Advertising only."}
    with pytest.raises(PermissionDenied):
        moderation.group_history(group, actor=citizen)
    login(client, site_admin)
    page = client.get(f"/groups/reports/{group.slug}").get_data(as_text=True)
    assert "What moderators did" in page and "Hid a group" in page and "Advertising only." in page
