"""Groups for tests, made with the models directly (so a test does not depend on the services
that start groups and let people join them)."""

from __future__ import annotations

import itertools
import secrets

from consult.accounts.models import User
from consult.core.models import db, utcnow
from consult.groups.models import Group, GroupMembership, GroupRole, GroupState, GroupVisibility

_counter = itertools.count(1)


def make_group(
    *,
    name: str | None = None,
    slug: str | None = None,
    invite_only: bool = False,
    parent: Group | None = None,
    coordinator: User | None = None,
    members: list[User] | tuple[User, ...] = (),
    hidden: bool = False,
) -> Group:
    n = next(_counter)
    group = Group(
        slug=slug or f"test-group-{n}-{secrets.token_hex(3)}",
        name=name or f"Group {n}",
        description="A group for a test.",
        description_html="<p>A group for a test.</p>",
        visibility=GroupVisibility.INVITE_ONLY if invite_only else GroupVisibility.PUBLIC,
        parent=parent,
        invite_code=secrets.token_urlsafe(16),
        created_by_id=coordinator.id if coordinator else None,
    )
    if hidden:
        group.state, group.hidden_reason, group.hidden_at = GroupState.HIDDEN, "Hidden for a test.", utcnow()
    db.session.add(group)
    db.session.flush()
    if coordinator is not None:
        join(group, coordinator, role=GroupRole.COORDINATOR)
    for member in members:
        join(group, member)
    return group


def join(group: Group, user: User, *, role: GroupRole = GroupRole.MEMBER) -> GroupMembership:
    membership = GroupMembership(group_id=group.id, user_id=user.id, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership
