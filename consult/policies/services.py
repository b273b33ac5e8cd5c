"""The site's policies: reading the current text of each, saving a new version, and agreement.

Rules:

- Only site admins save a version (``Action.MANAGE_POLICIES``); every save adds version N+1 and
  an audit entry, and never changes an earlier version.
- A person must have agreed to the latest *significant* version of each of ``AGREED_KINDS``
  (the terms and the privacy notice); a person with no agreement at all (an account made by an
  identity provider, by the CLI, or before this feature) has not. An editorial version is
  agreed to by agreeing to an earlier one. Sign-up and the ``agree`` sign-in step record
  agreement to the *current* version of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from consult.accounts.models import User
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.core.templating import format_number
from consult.permissions import Action, authorize
from consult.policies.defaults import default_text
from consult.policies.models import AGREED_KINDS, DEFAULT_VERSION, PolicyAgreement, PolicyKind, PolicyVersion

MAX_BODY_LENGTH = 100_000
MAX_NOTE_LENGTH = 500


@dataclass(frozen=True)
class PolicyText:
    """One version of a policy as shown: the stored row's fields, or the shipped default's."""

    kind: PolicyKind
    number: int
    body: str
    significant: bool
    note: str
    saved_at: datetime | None  # None: the text that ships with Consult
    saved_by: str | None

    @property
    def title(self) -> str:
        return self.kind.title

    @property
    def is_default(self) -> bool:
        return self.number == DEFAULT_VERSION


def _default(kind: PolicyKind) -> PolicyText:
    return PolicyText(
        kind=kind,
        number=DEFAULT_VERSION,
        body=default_text(kind, current_app.config),
        significant=True,
        note="The text that ships with Consult.",
        saved_at=None,
        saved_by=None,
    )


def _shown(row: PolicyVersion) -> PolicyText:
    return PolicyText(
        kind=PolicyKind(row.kind),
        number=row.number,
        body=row.body,
        significant=row.significant,
        note=row.note,
        saved_at=row.saved_at,
        saved_by=row.saved_by.display_name if row.saved_by is not None else None,
    )


def current_policy(kind: PolicyKind) -> PolicyText:
    """The text in force: the latest saved version, else the one that ships with Consult."""
    row = db.session.scalar(select(PolicyVersion).where(PolicyVersion.kind == kind.value).order_by(PolicyVersion.number.desc()).limit(1))
    return _shown(row) if row is not None else _default(kind)


def policy_version(kind: PolicyKind, number: int) -> PolicyText | None:
    """Version ``number`` of ``kind``, or None if there is no such version."""
    if number == DEFAULT_VERSION:
        return _default(kind)
    row = db.session.scalar(select(PolicyVersion).where(PolicyVersion.kind == kind.value, PolicyVersion.number == number))
    return _shown(row) if row is not None else None


def policy_history(kind: PolicyKind) -> list[PolicyText]:
    """Every version of ``kind``, newest first, ending with the one that shipped with Consult."""
    rows = db.session.scalars(select(PolicyVersion).where(PolicyVersion.kind == kind.value).order_by(PolicyVersion.number.desc()))
    return [*(_shown(row) for row in rows), _default(kind)]


def save_policy(kind: PolicyKind, *, actor: User, body: str, significant: bool, note: str, based_on: int | None = None) -> PolicyVersion:
    """Save a new version of ``kind`` (site admins only), numbered after the current one.

    ``based_on``: the version the editor started from; if someone saved another meanwhile, the
    save is refused rather than silently replacing their text. A text identical to the current
    one is refused too (nothing to version). ``significant``: the change asks for agreement
    again (for the terms and the privacy notice); editorial otherwise."""
    authorize(actor, Action.MANAGE_POLICIES)
    body = body.replace("\r\n", "\n").strip() + "\n"
    note = " ".join(note.split())
    if not body.strip():
        raise RuleViolation(_("Write the text of the policy."), status=400, field="body")
    if len(body) > MAX_BODY_LENGTH:
        raise RuleViolation(
            _("A policy can be at most %(most)s characters.", most=format_number(MAX_BODY_LENGTH)), status=400, field="body"
        )
    if len(note) > MAX_NOTE_LENGTH:
        raise RuleViolation(_("Say what changed in at most %(most)s characters.", most=MAX_NOTE_LENGTH), status=400, field="note")
    current = current_policy(kind)
    if based_on is not None and based_on != current.number:
        raise RuleViolation(
            _(
                "Someone saved version %(number)s while you were editing. Copy your text, reload the page and apply your change to it.",
                number=current.number,
            ),
            status=400,  # shown on the form, keeping what was typed
            field="body",
        )
    if body.strip() == current.body.strip():
        raise RuleViolation(_("The text is the same as the current version: there is nothing to save."), status=400, field="body")
    version = PolicyVersion(
        kind=kind.value,
        number=current.number + 1,
        body=body,
        significant=significant,
        note=note,
        saved_by_id=actor.id,
        saved_at=utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    record_staff_action(
        StaffOperation.EDIT_POLICY,
        actor=actor,
        target_type=TargetType.POLICY,
        target_id=version.id,
        detail={"kind": kind.value, "version": version.number, "significant": significant},
    )
    return version


def _latest_numbers(*, significant_only: bool) -> dict[PolicyKind, int]:
    query = select(PolicyVersion.kind, func.max(PolicyVersion.number)).group_by(PolicyVersion.kind)
    if significant_only:
        query = query.where(PolicyVersion.significant.is_(True))
    found = {PolicyKind(kind): number for kind, number in db.session.execute(query)}
    return {kind: found.get(kind, DEFAULT_VERSION) for kind in AGREED_KINDS}


def _agreed_numbers(user: User) -> dict[PolicyKind, int]:
    rows = db.session.execute(
        select(PolicyAgreement.kind, func.max(PolicyAgreement.version))
        .where(PolicyAgreement.user_id == user.id, PolicyAgreement.kind.in_([k.value for k in AGREED_KINDS]))
        .group_by(PolicyAgreement.kind)
    )
    return {PolicyKind(kind): number for kind, number in rows}


def policies_to_agree(user: User) -> list[PolicyText]:
    """The policies ``user`` has not agreed to since their last significant change (their
    current text, to show), in the order of ``AGREED_KINDS``; empty when nothing is needed."""
    agreed = _agreed_numbers(user)
    required = _latest_numbers(significant_only=True)
    return [current_policy(kind) for kind in AGREED_KINDS if agreed.get(kind, 0) < required[kind]]


def record_agreement(user: User, kinds: tuple[PolicyKind, ...] = AGREED_KINDS) -> list[PolicyAgreement]:
    """``user`` agrees, now, to the current version of each of ``kinds`` (a version already agreed
    to is not recorded twice)."""
    current = _latest_numbers(significant_only=False)
    agreed = _agreed_numbers(user) if user.id is not None else {}
    now = utcnow()
    rows = [
        PolicyAgreement(user_id=user.id, kind=kind.value, version=current[kind], agreed_at=now)
        for kind in kinds
        if agreed.get(kind, 0) < current[kind]
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def agreements_of(user: User) -> list[dict[str, Any]]:
    """What ``user`` agreed to and when, oldest first (for their data download)."""
    rows = db.session.scalars(
        select(PolicyAgreement).where(PolicyAgreement.user_id == user.id).order_by(PolicyAgreement.agreed_at, PolicyAgreement.id)
    )
    return [{"policy": row.kind, "version": row.version, "agreed_at": row.agreed_at.isoformat()} for row in rows]


__all__ = [
    "PolicyText",
    "agreements_of",
    "current_policy",
    "policies_to_agree",
    "policy_history",
    "policy_version",
    "record_agreement",
    "save_policy",
]
