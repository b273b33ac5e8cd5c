"""Groups, memberships and calls to action made directly with the models (calls' tests)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from consult.core.models import db, utcnow
from consult.groups.models import CallToAction, Group, GroupMembership, GroupRole


def call_group(coordinator=None, *, members=(), name=None, visibility="public") -> Group:
    """A group, with ``coordinator`` as its coordinator (None: nobody) and ``members``."""
    token = secrets.token_hex(4)
    group = Group(slug=f"group-{token}", name=name or f"Group {token}", visibility=visibility, invite_code=secrets.token_hex(8))
    db.session.add(group)
    db.session.flush()
    if coordinator is not None:
        db.session.add(GroupMembership(group_id=group.id, user_id=coordinator.id, role=GroupRole.COORDINATOR))
    for member in members:
        db.session.add(GroupMembership(group_id=group.id, user_id=member.id, role=GroupRole.MEMBER))
    db.session.flush()
    return group


def make_call(consultation, *, organisation=None, group=None, kind="attend", closed=False, **fields) -> CallToAction:
    """A call on ``consultation`` by ``organisation`` or ``group`` (an event by default)."""
    now = utcnow()
    fields.setdefault("deadline", now + timedelta(days=3))
    if kind == "attend":
        fields.setdefault("event_starts_at", now + timedelta(days=4))
        fields.setdefault("location", "Town hall")
    call = CallToAction(
        consultation_id=consultation.id,
        organisation_id=organisation.id if organisation is not None else None,
        group_id=group.id if group is not None else None,
        kind=kind,
        title=fields.pop("title", "Come to the hearing"),
        goal=fields.pop("goal", 10),
        state="closed" if closed else "open",
        closed_at=now if closed else None,
        **fields,
    )
    db.session.add(call)
    db.session.flush()
    return call
