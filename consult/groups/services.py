"""Groups (domain services): starting and editing a group, joining it (a public group by its page,
any group by its invitation link), leaving it, its coordinators' work (roles, removing and barring
people, a new invitation link) and chapters (a group inside a parent group).

Rules the database cannot hold alone are kept here under a lock on the group's row (PostgreSQL:
``SELECT … FOR UPDATE``; SQLite writes one at a time anyway): a group that has members always has
a coordinator (the last one cannot leave or be demoted or removed while others remain), and
chapters never form a cycle. A membership is one row per person per group (a unique key): a
double click joins once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from consult.accounts.models import User
from consult.core import text
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.core.slugs import slugify
from consult.groups.models import SLUG_LENGTH, Group, GroupBlock, GroupMembership, GroupRole, GroupVisibility
from consult.permissions import Action, authorize, can, forget_group_roles, group_role, visible_groups

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 10_000
MAX_REASON_LENGTH = 500
MAX_SEARCH_LENGTH = 200
#: Bytes of randomness in an invitation code (``secrets.token_urlsafe``: about 1.3 characters each).
INVITE_CODE_BYTES = 24
#: How many numbered slugs are tried when two groups are started with the same name at once.
SLUG_ATTEMPTS = 5


def new_invite_code() -> str:
    return secrets.token_urlsafe(INVITE_CODE_BYTES)


# ---- reading ------------------------------------------------------------------------------------


def group_by_slug(slug: str) -> Group | None:
    if not slug or len(slug) > SLUG_LENGTH:
        return None
    return db.session.scalar(select(Group).where(Group.slug == slug))


@dataclass(frozen=True)
class ListedGroup:
    group: Group
    members: int


def _member_counts(group_ids: list[int]) -> dict[int, int]:
    if not group_ids:
        return {}
    rows = db.session.execute(
        select(GroupMembership.group_id, func.count()).where(GroupMembership.group_id.in_(group_ids)).group_by(GroupMembership.group_id)
    )
    return {group_id: count for group_id, count in rows}


def member_count(group: Group) -> int:
    return _member_counts([group.id]).get(group.id, 0)


def list_groups(viewer: User | None, *, search: str = "") -> list[ListedGroup]:
    """The groups ``viewer`` may see listed (all but hidden ones; invite-only ones by name), by
    name, with their member counts; ``search``: those whose name contains it."""
    query = select(Group).where(visible_groups(viewer)).order_by(func.lower(Group.name), Group.id)
    search = " ".join((search or "").split())[:MAX_SEARCH_LENGTH]
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Group.name.ilike(f"%{escaped}%", escape="\\"))
    groups = list(db.session.scalars(query))
    counts = _member_counts([g.id for g in groups])
    return [ListedGroup(g, counts.get(g.id, 0)) for g in groups]


def groups_of(user: User) -> list[tuple[Group, GroupRole]]:
    """The groups ``user`` is in (hidden ones too: they are still in them), with their role, by name."""
    rows = db.session.execute(
        select(Group, GroupMembership.role)
        .join(GroupMembership, GroupMembership.group_id == Group.id)
        .where(GroupMembership.user_id == user.id)
        .order_by(func.lower(Group.name), Group.id)
    )
    return [(group, GroupRole(role)) for group, role in rows]


def hand_over_coordination(person_id: int) -> int:
    """Before an account is erased: in each group where it is the only coordinator and others
    remain, the longest-standing other member becomes a coordinator, so that no group is left
    without one. Returns how many groups were handed over."""
    handed = 0
    mine = select(GroupMembership.group_id).where(GroupMembership.user_id == person_id, GroupMembership.role == GroupRole.COORDINATOR.value)
    for group_id in db.session.scalars(mine).all():
        others = db.session.scalars(
            select(GroupMembership)
            .where(GroupMembership.group_id == group_id, GroupMembership.user_id != person_id)
            .order_by(GroupMembership.joined_at, GroupMembership.id)
        ).all()
        if others and not any(m.role == GroupRole.COORDINATOR for m in others):
            others[0].role = GroupRole.COORDINATOR.value
            handed += 1
    if handed:
        db.session.flush()
        forget_group_roles()
    return handed


def drafting_groups(user: User | None) -> list[Group]:
    """The groups in which ``user`` may start a shared draft (their visible groups), by name."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [group for group, _role in groups_of(user) if can(user, Action.EDIT_GROUP_DRAFT, group)]


def members(group: Group, *, viewer: User | None) -> list[GroupMembership]:
    """Who is in the group, coordinators first, then by when they joined (VIEW_GROUP_MEMBERS)."""
    authorize(viewer, Action.VIEW_GROUP_MEMBERS, group)
    return list(
        db.session.scalars(
            select(GroupMembership)
            .where(GroupMembership.group_id == group.id)
            .order_by((GroupMembership.role == GroupRole.COORDINATOR).desc(), GroupMembership.joined_at, GroupMembership.id)
        )
    )


def blocked_people(group: Group, *, actor: User) -> list[tuple[GroupBlock, User]]:
    """The people barred from the group, with the bar (its reason), for its coordinators."""
    authorize(actor, Action.MANAGE_GROUP, group)
    rows = db.session.execute(
        select(GroupBlock, User).join(User, User.id == GroupBlock.user_id).where(GroupBlock.group_id == group.id).order_by(GroupBlock.id)
    )
    return [(block, user) for block, user in rows]


def chapters(group: Group, viewer: User | None) -> list[Group]:
    """The group's chapters ``viewer`` may see listed, by name."""
    return list(
        db.session.scalars(select(Group).where(Group.parent_id == group.id, visible_groups(viewer)).order_by(func.lower(Group.name)))
    )


def attachable_chapters(parent: Group, *, actor: User) -> list[Group]:
    """The groups ``actor`` coordinates that could become chapters of ``parent``: not ``parent``,
    not already its chapters, not one of its ancestors (no cycles)."""
    if not can(actor, Action.MANAGE_GROUP, parent):
        return []
    ancestors = _ancestor_ids(parent)
    coordinated = select(GroupMembership.group_id).where(GroupMembership.user_id == actor.id, GroupMembership.role == GroupRole.COORDINATOR)
    candidates = db.session.scalars(
        select(Group).where(Group.id.in_(coordinated), Group.state == "visible").order_by(func.lower(Group.name))
    )
    return [g for g in candidates if parent.id not in (g.id, g.parent_id) and g.id not in ancestors]


# ---- starting and editing -----------------------------------------------------------------------


def _clean_details(name: str, description: str, visibility: str) -> tuple[str, str, GroupVisibility]:
    name = " ".join((name or "").split())
    if not name:
        raise RuleViolation(_("Enter the group's name."), status=400, field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise RuleViolation(_("Use a name of at most %(count)d characters.", count=MAX_NAME_LENGTH), status=400, field="name")
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise RuleViolation(
            _("Keep the description under %(count)d characters.", count=MAX_DESCRIPTION_LENGTH), status=400, field="description"
        )
    try:
        chosen = GroupVisibility(visibility)
    except ValueError:
        raise RuleViolation(_("Choose whether anyone can join or only people you invite."), status=400, field="visibility") from None
    return name, description, chosen


def _slug_base(name: str) -> str:
    return slugify(name, SLUG_LENGTH - 4) or "group"


def _free_slug(base: str) -> str:
    """``base``, or ``base-2``, ``base-3``… the first no group has."""
    taken = set(db.session.scalars(select(Group.slug).where((Group.slug == base) | Group.slug.like(f"{base}-%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def create_group(
    *, actor: User, name: str, description: str = "", visibility: str = GroupVisibility.PUBLIC, parent: Group | None = None
) -> Group:
    """Start a group, its creator its coordinator. Its address comes from its name (a number added
    when another group has it). ``parent``: start it as a chapter of a group ``actor`` runs."""
    authorize(actor, Action.CREATE_GROUP)
    if parent is not None:
        authorize(actor, Action.MANAGE_GROUP, parent)
    name, description, chosen = _clean_details(name, description, visibility)
    base = _slug_base(name)
    for _attempt in range(SLUG_ATTEMPTS):
        group = Group(
            slug=_free_slug(base),
            name=name,
            description=description,
            description_html=str(text.render_markdown(description)) if description else "",
            visibility=chosen.value,
            parent_id=parent.id if parent is not None else None,
            invite_code=new_invite_code(),
            created_by_id=actor.id,
        )
        try:
            with db.session.begin_nested():  # another group took the slug at the same moment: try the next number
                db.session.add(group)
                db.session.flush()
        except IntegrityError:
            continue
        break
    else:
        raise RuleViolation(_("Another group was started with this name at the same moment. Try again."), status=409)
    db.session.add(GroupMembership(group_id=group.id, user_id=actor.id, role=GroupRole.COORDINATOR))
    db.session.flush()
    forget_group_roles()
    return group


def edit_group(group: Group, *, actor: User, name: str, description: str, visibility: str) -> None:
    """Change a group's name, description and who may join (its address stays: links keep working)."""
    authorize(actor, Action.MANAGE_GROUP, group)
    name, description, chosen = _clean_details(name, description, visibility)
    group.name = name
    if description != group.description:
        group.description = description
        group.description_html = str(text.render_markdown(description)) if description else ""
    group.visibility = chosen.value
    group.updated_at = utcnow()
    db.session.flush()


def new_invitation_link(group: Group, *, actor: User) -> str:
    """A new invitation code: links with the old one stop working."""
    authorize(actor, Action.MANAGE_GROUP, group)
    group.invite_code = new_invite_code()
    db.session.flush()
    return group.invite_code


# ---- joining and leaving ------------------------------------------------------------------------


def _lock(group: Group) -> None:
    """Serialise the changes to a group's memberships that count its coordinators."""
    db.session.execute(select(Group.id).where(Group.id == group.id).with_for_update())


def _membership(group: Group, user: User) -> GroupMembership | None:
    return db.session.scalar(select(GroupMembership).where(GroupMembership.group_id == group.id, GroupMembership.user_id == user.id))


def _is_blocked(group: Group, user: User) -> bool:
    return db.session.scalar(select(GroupBlock.id).where(GroupBlock.group_id == group.id, GroupBlock.user_id == user.id)) is not None


def _add_member(group: Group, user: User) -> GroupMembership:
    try:
        with db.session.begin_nested():
            membership = GroupMembership(group_id=group.id, user_id=user.id, role=GroupRole.MEMBER)
            db.session.add(membership)
            db.session.flush()
    except IntegrityError:  # the same person joined at the same moment (a double click): once is enough
        membership = _membership(group, user)
    forget_group_roles()
    return membership


def _refuse_join(group: Group, actor: User) -> None:
    if _is_blocked(group, actor):
        raise RuleViolation(_("The group's coordinators removed you from this group: you cannot join it again."), status=403)
    if group.is_hidden:
        raise RuleViolation(_("This group was hidden by the site's moderators: nobody can join it."), status=403)


def join_group(group: Group, *, actor: User) -> GroupMembership:
    """Join a public group. An invite-only group is joined by its invitation link. Joining twice
    changes nothing."""
    existing = _membership(group, actor) if actor.is_authenticated else None
    if existing is not None:
        return existing
    if actor.is_authenticated:
        _refuse_join(group, actor)
    authorize(actor, Action.JOIN_GROUP, group)
    if not group.is_public:
        raise RuleViolation(_("This group is invite-only: ask one of its coordinators for the invitation link."), status=403)
    return _add_member(group, actor)


def invitation_is_valid(group: Group, code: str) -> bool:
    """Whether ``code`` is the group's current invitation code (compared in constant time)."""
    return bool(code) and len(code) <= 64 and hmac.compare_digest(code.encode(), group.invite_code.encode())


def join_by_invitation(group: Group, code: str, *, actor: User) -> GroupMembership:
    """Join a group (invite-only or public) by its invitation link, unless its coordinators barred
    you. A link made before the coordinators changed it no longer works."""
    if not invitation_is_valid(group, code):
        raise RuleViolation(_("This invitation link does not work any more: ask the group's coordinators for a new one."), status=404)
    existing = _membership(group, actor) if actor.is_authenticated else None
    if existing is not None:
        return existing
    if actor.is_authenticated:
        _refuse_join(group, actor)
    authorize(actor, Action.JOIN_GROUP, group)
    return _add_member(group, actor)


def _coordinator_count(group: Group) -> int:
    return db.session.scalar(
        select(func.count()).where(GroupMembership.group_id == group.id, GroupMembership.role == GroupRole.COORDINATOR)
    )


def leave_group(group: Group, *, actor: User) -> None:
    """Leave a group. Its last coordinator cannot while others remain (they name another one
    first); the only member may (the group stays, empty). Signatures given stay."""
    authorize(actor, Action.LEAVE_GROUP, group)
    _lock(group)
    membership = _membership(group, actor)
    if membership is None:
        return
    if membership.is_coordinator and _coordinator_count(group) == 1 and member_count(group) > 1:
        raise RuleViolation(_("You are the group's only coordinator: make another member a coordinator before you leave."), status=409)
    db.session.delete(membership)
    db.session.flush()
    forget_group_roles()


def _member_or_refuse(group: Group, person: User) -> GroupMembership:
    membership = _membership(group, person)
    if membership is None:
        raise RuleViolation(_("This person is not a member of the group."), status=404)
    return membership


def set_role(group: Group, person: User, role: str, *, actor: User) -> None:
    """Make a member a coordinator, or a coordinator a member (never the last coordinator)."""
    authorize(actor, Action.MANAGE_GROUP, group)
    try:
        chosen = GroupRole(role)
    except ValueError:
        raise RuleViolation(_("Choose coordinator or member."), status=400, field="role") from None
    _lock(group)
    membership = _member_or_refuse(group, person)
    if membership.role == chosen:
        return
    if membership.is_coordinator and _coordinator_count(group) == 1:
        raise RuleViolation(_("A group needs a coordinator: make someone else a coordinator first."), status=409)
    membership.role = chosen.value
    db.session.flush()
    forget_group_roles()


def remove_member(group: Group, person: User, *, actor: User, block: bool = False, reason: str = "") -> None:
    """Remove someone from the group; ``block``: bar them from joining again, by its page or by an
    invitation link. The last coordinator is never removed."""
    authorize(actor, Action.MANAGE_GROUP, group)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise RuleViolation(_("Keep the reason under %(count)d characters.", count=MAX_REASON_LENGTH), status=400, field="reason")
    _lock(group)
    membership = _member_or_refuse(group, person)
    if membership.is_coordinator and _coordinator_count(group) == 1:
        raise RuleViolation(_("A group needs a coordinator: make someone else a coordinator first."), status=409)
    db.session.delete(membership)
    db.session.flush()
    if block:
        try:
            with db.session.begin_nested():
                db.session.add(GroupBlock(group_id=group.id, user_id=person.id, blocked_by_id=actor.id, reason=reason))
        except IntegrityError:
            pass  # barred already
    forget_group_roles()


def unblock(group: Group, person: User, *, actor: User) -> None:
    """Let someone barred from the group join it again."""
    authorize(actor, Action.MANAGE_GROUP, group)
    block = db.session.scalar(select(GroupBlock).where(GroupBlock.group_id == group.id, GroupBlock.user_id == person.id))
    if block is not None:
        db.session.delete(block)
        db.session.flush()


# ---- chapters -----------------------------------------------------------------------------------


def _ancestor_ids(group: Group) -> set[int]:
    """The group's parent, its parent's parent, and so on."""
    found: set[int] = set()
    parent_id = group.parent_id
    while parent_id is not None and parent_id not in found:
        found.add(parent_id)
        parent_id = db.session.scalar(select(Group.parent_id).where(Group.id == parent_id))
    return found


def attach_chapter(chapter: Group, parent: Group, *, actor: User) -> None:
    """Make a group ``actor`` coordinates a chapter of another they coordinate. No cycles: a group
    never becomes a chapter of itself or of one of its own chapters, at any depth."""
    authorize(actor, Action.MANAGE_GROUP, parent)
    authorize(actor, Action.MANAGE_GROUP, chapter)
    _lock(chapter)
    if chapter.id == parent.id or chapter.id in _ancestor_ids(parent):
        raise RuleViolation(_("A group cannot become a chapter of itself or of one of its own chapters."), status=409)
    chapter.parent_id = parent.id
    chapter.updated_at = utcnow()
    db.session.flush()


def detach_chapter(chapter: Group, *, actor: User) -> None:
    """Make a chapter a group of its own again: the coordinators of either group may."""
    parent = chapter.parent
    if parent is None:
        return
    if not can(actor, Action.MANAGE_GROUP, parent):
        authorize(actor, Action.MANAGE_GROUP, chapter)
    chapter.parent_id = None
    chapter.updated_at = utcnow()
    db.session.flush()


__all__ = [
    "ListedGroup",
    "attach_chapter",
    "attachable_chapters",
    "blocked_people",
    "chapters",
    "create_group",
    "detach_chapter",
    "edit_group",
    "group_by_slug",
    "group_role",
    "groups_of",
    "invitation_is_valid",
    "join_by_invitation",
    "join_group",
    "leave_group",
    "list_groups",
    "member_count",
    "members",
    "new_invitation_link",
    "remove_member",
    "set_role",
    "unblock",
]
