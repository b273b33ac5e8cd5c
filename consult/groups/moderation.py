"""Moderating groups: reports on groups, hiding and restoring them, barring a person from one.

Groups belong to no organisation, so the site's admins moderate them (``Action.MODERATE_GROUPS``).
Anyone signed in reports a group (one report per person per group: a second one while the first
is open changes nothing and says so; once the moderators acted, the same person may report it
again). Acting on a group (hiding, restoring, dismissing, barring someone) resolves its open
reports.

A hidden group keeps its page, showing only its name and the public reason; it leaves the lists
(``permissions.visible_groups``), and its drafts and calls are no longer shown
(``visible_group_drafts``; the calls' pages ask ``group.is_hidden``).

Where it is recorded: each action is a staff action (``audit``) of a site admin, in no
organisation, with the group as its target (``group_history`` lists them on the group's
moderation page); a group's ``hidden_at`` and public ``hidden_reason``, a block's
``blocked_by_id``, ``reason`` and ``created_at``, and the reports' ``resolved_at`` say the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from consult.accounts.models import User
from consult.audit.models import StaffAction, StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.core.templating import format_number
from consult.groups.models import Group, GroupBlock, GroupMembership, GroupReport, GroupState
from consult.moderation.models import ReportReason
from consult.permissions import Action, authorize, forget_group_roles

log = logging.getLogger(__name__)

MAX_DETAIL_LENGTH = 1_000
#: The public reason of a hiding, and the reason of a block (the columns' size).
MAX_REASON_LENGTH = 500


def _resolve_reports(group: Group) -> int:
    """Close the group's open reports (the moderators acted); returns how many."""
    result = db.session.execute(
        update(GroupReport)
        .where(GroupReport.group_id == group.id, GroupReport.resolved_at.is_(None))
        .values(resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise RuleViolation(_("Give a public reason: it is shown in place of the group."), status=400, field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise RuleViolation(
            _("Give the reason in at most %(count)s characters.", count=format_number(MAX_REASON_LENGTH)), status=400, field="reason"
        )
    return reason


# ---- reports ---------------------------------------------------------------------------------


def report_group(group: Group, *, actor: User, reason: str, detail: str = "") -> bool:
    """``actor`` flags ``group`` for the site's moderators. Returns False when their earlier
    report of it is still open (nothing changes); a report the moderators already resolved is
    opened again with the new reason. The database's unique (group, reporter) settles two at once."""
    authorize(actor, Action.REPORT_GROUP, group)
    if reason not in {r.value for r in ReportReason}:
        raise RuleViolation(_("Choose why you report it: spam, offensive, off topic, personal data or other."), status=400, field="reason")
    detail = (detail or "").strip()
    if reason == ReportReason.OTHER and not detail:
        raise RuleViolation(_("Say what is wrong with it."), status=400, field="detail")
    if len(detail) > MAX_DETAIL_LENGTH:
        raise RuleViolation(
            _("Say it in at most %(count)s characters.", count=format_number(MAX_DETAIL_LENGTH)), status=400, field="detail"
        )
    try:
        with db.session.begin_nested():
            db.session.add(GroupReport(group_id=group.id, reporter_id=actor.id, reason=reason, detail=detail))
        return True
    except IntegrityError:
        reopened = db.session.execute(
            update(GroupReport)
            .where(GroupReport.group_id == group.id, GroupReport.reporter_id == actor.id, GroupReport.resolved_at.is_not(None))
            .values(reason=reason, detail=detail, created_at=utcnow(), resolved_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(reopened.rowcount)


@dataclass
class ReportedGroup:
    """A group in the queue: its open reports, counted by reason, and their details."""

    group: Group
    reports: int
    first_reported_at: datetime
    reasons: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)


def reported_groups(*, actor: User) -> list[ReportedGroup]:
    """The groups with open reports, the most reported and then the oldest first (the reporters
    are never named)."""
    authorize(actor, Action.MODERATE_GROUPS, None)
    rows = db.session.execute(
        select(GroupReport.group_id, func.count(), func.min(GroupReport.created_at))
        .where(GroupReport.resolved_at.is_(None))
        .group_by(GroupReport.group_id)
        .order_by(func.count().desc(), func.min(GroupReport.created_at))
    ).all()
    groups = {g.id: g for g in db.session.scalars(select(Group).where(Group.id.in_([r[0] for r in rows])))}
    items = {group_id: ReportedGroup(groups[group_id], n, first) for group_id, n, first in rows}
    reports = db.session.scalars(
        select(GroupReport).where(GroupReport.resolved_at.is_(None), GroupReport.group_id.in_(list(items))).order_by(GroupReport.id)
    )
    for report in reports:
        item = items[report.group_id]
        item.reasons[report.reason] = item.reasons.get(report.reason, 0) + 1
        if report.detail:
            item.details.append(report.detail)
    return list(items.values())


def hidden_groups(*, actor: User) -> list[Group]:
    authorize(actor, Action.MODERATE_GROUPS, None)
    return list(db.session.scalars(select(Group).where(Group.state == GroupState.HIDDEN.value).order_by(Group.hidden_at.desc())))


def open_reports(group: Group, *, actor: User) -> list[GroupReport]:
    authorize(actor, Action.MODERATE_GROUPS, None)
    return list(
        db.session.scalars(
            select(GroupReport).where(GroupReport.group_id == group.id, GroupReport.resolved_at.is_(None)).order_by(GroupReport.id)
        )
    )


def group_blocks(group: Group, *, actor: User) -> list[tuple[GroupBlock, User]]:
    authorize(actor, Action.MODERATE_GROUPS, None)
    return [
        (block, person)
        for block, person in db.session.execute(
            select(GroupBlock, User)
            .join(User, User.id == GroupBlock.user_id)
            .where(GroupBlock.group_id == group.id)
            .order_by(GroupBlock.id)
        ).all()
    ]


# ---- acting on a group -----------------------------------------------------------------------


def _record(operation: StaffOperation, group: Group, actor: User, **detail) -> None:
    record_staff_action(operation, actor=actor, target_type=TargetType.GROUP, target_id=group.id, detail=detail)


def group_history(group: Group, *, actor: User) -> list[StaffAction]:
    """What the site's admins did to ``group``, latest first."""
    authorize(actor, Action.MODERATE_GROUPS, None)
    return list(
        db.session.scalars(
            select(StaffAction)
            .where(StaffAction.target_type == TargetType.GROUP.value, StaffAction.target_id == group.id)
            .order_by(StaffAction.occurred_at.desc(), StaffAction.id.desc())
        )
    )


def dismiss_reports(group: Group, *, actor: User) -> int:
    """Keep the group as it is and close its open reports; returns how many were closed."""
    authorize(actor, Action.MODERATE_GROUPS, None)
    closed = _resolve_reports(group)
    _record(StaffOperation.DISMISS_GROUP_REPORTS, group, actor, reports=closed)
    log.info("group %s: %s reports dismissed by user %s", group.id, closed, actor.id)
    return closed


def hide_group(group: Group, *, actor: User, reason: str) -> None:
    """Hide ``group`` with a public reason: its page shows only its name and the reason, it
    leaves the lists, its drafts and calls are no longer shown. Its open reports are resolved.
    Hiding a group already hidden is refused (409), whoever got there first."""
    authorize(actor, Action.MODERATE_GROUPS, None)
    reason = _reason(reason, required=True)
    now = utcnow()
    hidden = db.session.execute(
        update(Group)
        .where(Group.id == group.id, Group.state == GroupState.VISIBLE.value)
        .values(state=GroupState.HIDDEN.value, hidden_reason=reason, hidden_at=now)
        .execution_options(synchronize_session=False)
    )
    if not hidden.rowcount:
        raise RuleViolation(_("This group is already hidden."), status=409)
    db.session.refresh(group)
    _resolve_reports(group)
    forget_group_roles()
    _record(StaffOperation.HIDE_GROUP, group, actor, reason=reason)
    log.info("group %s hidden by user %s", group.id, actor.id)


def restore_group(group: Group, *, actor: User) -> None:
    """Show a hidden group again (its reason is cleared); refused (409) if it is not hidden."""
    authorize(actor, Action.MODERATE_GROUPS, None)
    restored = db.session.execute(
        update(Group)
        .where(Group.id == group.id, Group.state == GroupState.HIDDEN.value)
        .values(state=GroupState.VISIBLE.value, hidden_reason="", hidden_at=None)
        .execution_options(synchronize_session=False)
    )
    if not restored.rowcount:
        raise RuleViolation(_("This group is not hidden."), status=409)
    db.session.refresh(group)
    _resolve_reports(group)
    forget_group_roles()
    _record(StaffOperation.RESTORE_GROUP, group, actor)
    log.info("group %s restored by user %s", group.id, actor.id)


def block_from_group(group: Group, person: User, *, actor: User, reason: str = "") -> None:
    """Bar ``person`` from ``group``: their membership ends and they cannot join again, by its
    page, its link or an invitation (``permissions._join_group``). Signatures they gave stay
    (leaving a group never removes one). The group's open reports are resolved. Barring someone
    already barred is refused (409)."""
    authorize(actor, Action.MODERATE_GROUPS, None)
    reason = _reason(reason, required=False)
    if person.id == actor.id:
        raise RuleViolation(_("You cannot bar yourself from a group."), status=400, field="person")
    try:
        with db.session.begin_nested():
            db.session.add(GroupBlock(group_id=group.id, user_id=person.id, blocked_by_id=actor.id, reason=reason))
    except IntegrityError:
        raise RuleViolation(_("%(name)s is already barred from this group.", name=person.display_name), status=409) from None
    db.session.execute(
        delete(GroupMembership)
        .where(GroupMembership.group_id == group.id, GroupMembership.user_id == person.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(group, ["memberships"])
    _resolve_reports(group)
    forget_group_roles()
    _record(StaffOperation.BAR_FROM_GROUP, group, actor, person=person.id)
    log.info("user %s barred from group %s by user %s", person.id, group.id, actor.id)


def lift_group_block(group: Group, person_id: int, *, actor: User) -> None:
    """Let a barred person join the group again (they are not made a member)."""
    authorize(actor, Action.MODERATE_GROUPS, None)
    lifted = db.session.execute(
        delete(GroupBlock)
        .where(GroupBlock.group_id == group.id, GroupBlock.user_id == person_id)
        .execution_options(synchronize_session=False)
    )
    if not lifted.rowcount:
        raise RuleViolation(_("This person is not barred from this group."), status=404)
    _record(StaffOperation.LIFT_GROUP_BAR, group, actor, person=person_id)
    log.info("user %s no longer barred from group %s (by user %s)", person_id, group.id, actor.id)


def group_members(group: Group, *, actor: User) -> list[User]:
    """The group's members, for the moderator choosing whom to bar."""
    authorize(actor, Action.MODERATE_GROUPS, None)
    return list(
        db.session.scalars(
            select(User)
            .join(GroupMembership, GroupMembership.user_id == User.id)
            .where(GroupMembership.group_id == group.id)
            .order_by(User.display_name)
        )
    )


def group_by_slug(slug: str) -> Group | None:
    return db.session.scalar(select(Group).where(Group.slug == slug))
