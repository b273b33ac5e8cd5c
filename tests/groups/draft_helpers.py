"""Groups and memberships made with the models directly (the groups' core services are written
beside these tests), for the tests of shared drafts and signatures."""

from __future__ import annotations

import secrets
from itertools import count

from consult.accounts.models import User
from consult.core.models import db
from consult.groups.models import Group, GroupMembership, GroupRole, GroupVisibility

_n = count(1)


def make_group(*, name: str | None = None, public: bool = True, parent: Group | None = None, coordinator: User | None = None) -> Group:
    n = next(_n)
    group = Group(
        slug=f"group-{n}-{secrets.token_hex(3)}",
        name=name or f"Group {n}",
        visibility=GroupVisibility.PUBLIC if public else GroupVisibility.INVITE_ONLY,
        invite_code=secrets.token_urlsafe(16),
        parent=parent,
    )
    db.session.add(group)
    db.session.flush()
    if coordinator is not None:
        join(group, coordinator, coordinator=True)
    return group


def join(group: Group, user: User, *, coordinator: bool = False) -> GroupMembership:
    membership = GroupMembership(group_id=group.id, user_id=user.id, role=GroupRole.COORDINATOR if coordinator else GroupRole.MEMBER)
    db.session.add(membership)
    db.session.flush()
    return membership


def leave(group: Group, user: User) -> None:
    db.session.query(GroupMembership).filter_by(group_id=group.id, user_id=user.id).delete()
    db.session.flush()
