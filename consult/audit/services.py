"""Recording and reading the staff audit log.

``record_staff_action`` is called by the staff services of every domain (proposals, amendments,
moderation, accounts) inside their own transaction, after their rule passed: it adds one row and
never commits, so an operation that rolls back leaves no entry. It imports no other domain's
services (it is called by them), and reads the actor's roles from the user alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consult.accounts.models import User
from consult.audit.models import (
    MODERATION_OPERATIONS,
    NAMED_IN_PUBLIC,
    SITE_OPERATIONS,
    StaffAction,
    StaffOperation,
    StaffRole,
    TargetType,
)
from consult.core.models import db, utcnow

#: Keys of ``detail`` that the public record carries; the rest (whom a role was given, which
#: contributions were tagged with a theme that is not public yet...) stays with the organisation.
PUBLIC_DETAIL_KEYS = ("version", "section_key", "decision", "from", "to", "fields")
#: At most this many ids are kept in a detail's list (a bulk tag of thousands stays small).
MAX_DETAIL_IDS = 50


def acting_role(actor: Any, organisation_id: int | None, operation: StaffOperation) -> StaffRole:
    """The capacity in which ``actor`` did ``operation`` in the organisation: moderation and
    synthesis are done as a moderator (whatever else the person is), the rest as the
    organisation's admin, else its author, else as a site admin. Operations on the whole site
    (``SITE_OPERATIONS``, in no organisation) are done as a site admin."""
    if operation in SITE_OPERATIONS:
        if not actor.is_site_admin:
            raise ValueError(f"{actor!r} is no site admin for {operation}")
        return StaffRole.SITE_ADMIN
    if operation in MODERATION_OPERATIONS:
        return StaffRole.MODERATOR
    roles = actor.roles_in(organisation_id)
    if StaffRole.ADMIN.value in roles:
        return StaffRole.ADMIN
    if StaffRole.AUTHOR.value in roles:
        return StaffRole.AUTHOR
    if actor.is_site_admin:
        return StaffRole.SITE_ADMIN
    raise ValueError(f"{actor!r} has no staff role in organisation {organisation_id} for {operation}")


def record_staff_action(
    operation: StaffOperation,
    *,
    actor: Any,
    target_type: TargetType,
    target_id: int | None,
    consultation: Any = None,
    organisation_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> StaffAction:
    """Add one entry for ``operation`` done by ``actor`` on the target, in ``consultation`` (its
    organisation is taken from it) or else in ``organisation_id`` (none for ``SITE_OPERATIONS``).
    Call it after the operation's rules passed, in its transaction; it does not flush or commit."""
    if consultation is not None:
        organisation_id = consultation.organisation_id
    if organisation_id is None and operation not in SITE_OPERATIONS:
        raise ValueError("a staff action happens in an organisation")
    entry = StaffAction(
        occurred_at=utcnow(),
        actor_id=actor.id,
        actor_role=acting_role(actor, organisation_id, operation),
        organisation_id=organisation_id,
        consultation_id=consultation.id if consultation is not None else None,
        operation=operation.value,
        target_type=target_type.value,
        target_id=target_id,
        detail=_small(detail or {}),
    )
    db.session.add(entry)
    return entry


def _small(detail: dict[str, Any]) -> dict[str, Any]:
    return {key: (value[:MAX_DETAIL_IDS] if isinstance(value, list) else value) for key, value in detail.items()}


# ---- reading -------------------------------------------------------------------------------


def staff_actions_query(organisation_id: int, *, consultation_id: int | None = None):
    """The organisation's log, newest first, optionally of one consultation (for its admins)."""
    query = (
        select(StaffAction)
        .where(StaffAction.organisation_id == organisation_id)
        .options(selectinload(StaffAction.actor), selectinload(StaffAction.consultation))
    )
    if consultation_id is not None:
        query = query.where(StaffAction.consultation_id == consultation_id)
    return query.order_by(StaffAction.occurred_at.desc(), StaffAction.id.desc())


PUBLIC_TARGETS = frozenset(
    {TargetType.CONSULTATION, TargetType.VERSION, TargetType.CONTRIBUTION, TargetType.THEME, TargetType.SECTION_SUMMARY}
)


def public_staff_log(consultation_id: int, *, yield_per: int = 1000) -> Iterator[dict[str, Any]]:
    """A consultation's log as the public may read it, oldest first: what was done, when and on
    what, by whom only for authors and admins (their display name); anything done as a
    moderator or a site admin says the role alone. People are never targets here (whom a role
    or a block concerned stays with the organisation), and ``detail`` keeps PUBLIC_DETAIL_KEYS."""
    rows = db.session.execute(
        select(
            StaffAction.id,
            StaffAction.occurred_at,
            StaffAction.operation,
            StaffAction.actor_role,
            StaffAction.actor_id,
            User.display_name,
            StaffAction.target_type,
            StaffAction.target_id,
            StaffAction.detail,
        )
        .outerjoin(User, User.id == StaffAction.actor_id)
        .where(StaffAction.consultation_id == consultation_id)
        .order_by(StaffAction.id)
        .execution_options(yield_per=yield_per)
    )
    for r in rows:
        public_target = r.target_type in PUBLIC_TARGETS
        yield {
            "id": r.id,
            "occurred_at": r.occurred_at,
            "operation": r.operation,
            "by": public_actor(r.actor_role, r.display_name if r.actor_id is not None else None),
            "target_type": r.target_type if public_target else None,
            "target_id": r.target_id if public_target else None,
            "detail": {key: r.detail[key] for key in PUBLIC_DETAIL_KEYS if key in (r.detail or {})},
        }


def public_actor(role: str, name: str | None) -> dict[str, str | None]:
    """Who did it, as the public may know: the role, and the display name only for authors and admins."""
    return {"role": role, "name": name if role in NAMED_IN_PUBLIC else None}


def names_of(user_ids: set[int | None]) -> dict[int, str]:
    """Display names of the people some entries concern (roles given, blocks), for the admins' page."""
    ids = [i for i in user_ids if i is not None]
    if not ids:
        return {}
    return {row.id: row.display_name for row in db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))}


__all__ = ["acting_role", "names_of", "public_actor", "public_staff_log", "record_staff_action", "staff_actions_query"]
