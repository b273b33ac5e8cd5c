"""Why the text changed: every changed, added and removed section of a version after the first
is explained before the version is published, by the contributions it cites (``Citation``) or by
the author's own short reason, or marked as an editorial change (``ChangeReason``).

Every function that changes something takes the acting user as ``actor``, checks permission
through ``consult.permissions``, flushes and never commits. The rule is enforced in
``proposals.services.publish_version`` through the ``version_publishing`` signal, so the pages,
the API and the CLI publish under the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from sqlalchemy import delete, select, update

from consult.accounts.models import User
from consult.amendments.models import MAX_CHANGE_REASON_LENGTH, ChangeReason, Citation
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.contributions.models import Contribution
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.core.signals import section_keys_changed, version_publishing
from consult.core.templating import format_number
from consult.permissions import Action, authorize, visible_contributions
from consult.proposals.models import Consultation, Version
from consult.proposals.services import SectionChangeItem, section_changes

#: How many unexplained sections a refusal names before saying "and N more".
NAMED_IN_REFUSAL = 8


@dataclass(frozen=True)
class ChangeExplanation:
    """A changed, added or removed section and what explains it."""

    change: SectionChangeItem
    citations: list[int] = field(default_factory=list)  # contribution ids, public ones only
    reason: str = ""
    editorial: bool = False

    @property
    def explained(self) -> bool:
        return bool(self.citations or self.reason or self.editorial)


def reasons_of(version: Version) -> dict[str, ChangeReason]:
    """The author's reasons in ``version``, by section key."""
    return {r.section_key: r for r in db.session.scalars(select(ChangeReason).where(ChangeReason.version_id == version.id))}


def explanations(version: Version) -> list[ChangeExplanation]:
    """Each changed, added and removed section of ``version`` (since the published version before
    it), in the order of the text, with its citations of visible contributions and its reason."""
    changes = section_changes(version)
    if not changes:
        return []
    cited: dict[str, list[int]] = {}
    for key, contribution_id in db.session.execute(
        select(Citation.section_key, Citation.contribution_id)
        .join(Contribution, Contribution.id == Citation.contribution_id)
        .where(Citation.version_id == version.id, visible_contributions(None))
        .order_by(Citation.section_key, Citation.contribution_id)
    ):
        cited.setdefault(key, []).append(contribution_id)
    reasons = reasons_of(version)
    result = []
    for change in changes:
        reason = reasons.get(change.key)
        result.append(
            ChangeExplanation(
                change,
                citations=cited.get(change.key, []),
                reason=reason.reason if reason else "",
                editorial=bool(reason and reason.editorial),
            )
        )
    return result


def unexplained(version: Version) -> list[SectionChangeItem]:
    """The changed, added and removed sections of ``version`` that nothing explains yet."""
    return [e.change for e in explanations(version) if not e.explained]


def explain_change(version: Version, section_key: str, *, actor: User, reason: str, editorial: bool = False) -> None:
    """The author's own word on why a section of the draft changed, was added or was removed: a
    short reason, or the mark that the change is editorial only (wording, numbering, layout), or
    both. Neither takes the word back (citations may still explain the change)."""
    consultation = version.consultation
    authorize(actor, Action.EDIT_TEXT, consultation)
    if version.published_at is not None:
        raise RuleViolation(_("A published version is fixed: its reasons stay on record."))
    if section_key not in {c.key for c in section_changes(version)}:
        raise RuleViolation(_("That section neither changed, nor was added or removed, in this draft."), status=400)
    reason = " ".join(reason.split())
    if len(reason) > MAX_CHANGE_REASON_LENGTH:
        raise RuleViolation(
            _("Keep the reason to %(max)s characters: a sentence or two.", max=format_number(MAX_CHANGE_REASON_LENGTH)),
            status=400,
            field="reason",
        )
    row = db.session.scalar(select(ChangeReason).where(ChangeReason.version_id == version.id, ChangeReason.section_key == section_key))
    if not reason and not editorial:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(ChangeReason(version=version, section_key=section_key, reason=reason, editorial=editorial))
    else:
        row.reason, row.editorial = reason, editorial
    db.session.flush()
    record_staff_action(
        StaffOperation.EDIT_TEXT,
        actor=actor,
        consultation=consultation,
        target_type=TargetType.VERSION,
        target_id=version.id,
        detail={"version": version.number, "section_key": section_key, "reason": reason, "editorial": editorial},
    )


def refusal(version: Version, missing: list[SectionChangeItem]) -> str:
    """The message that refuses to publish ``version`` while ``missing`` are unexplained."""
    statuses = {"changed": pgettext("section", "changed"), "added": pgettext("section", "added"), "removed": pgettext("section", "removed")}
    named = ", ".join(
        _("“%(section)s” (%(status)s)", section=c.label, status=statuses.get(c.status, c.status)) for c in missing[:NAMED_IN_REFUSAL]
    )
    if len(missing) > NAMED_IN_REFUSAL:
        return ngettext(
            "Version %(version)s is not published: say why each section changed. %(num)d section still needs a citation, "
            "a reason or the editorial mark: %(named)s and %(more)d more.",
            "Version %(version)s is not published: say why each section changed. %(num)d sections still need a citation, "
            "a reason or the editorial mark: %(named)s and %(more)d more.",
            len(missing),
            version=version.number,
            named=named,
            more=len(missing) - NAMED_IN_REFUSAL,
        )
    return ngettext(
        "Version %(version)s is not published: say why each section changed. %(num)d section still needs a citation, "
        "a reason or the editorial mark: %(named)s.",
        "Version %(version)s is not published: say why each section changed. %(num)d sections still need a citation, "
        "a reason or the editorial mark: %(named)s.",
        len(missing),
        version=version.number,
        named=named,
    )


@version_publishing.connect
def _refuse_unexplained(consultation: Consultation, *, version: Version, previous: Version | None, **_) -> None:
    """No unexplained change: a version after the first is published only when each changed,
    added and removed section cites contributions, gives a reason, or is marked editorial."""
    if previous is None:
        return
    missing = unexplained(version)
    if missing:
        raise RuleViolation(refusal(version, missing), status=400)


@section_keys_changed.connect
def _follow_new_keys(consultation: Consultation, *, version: Version, renamed: dict[str, str], **_) -> None:
    """Citations and reasons filed under a draft section's key follow it to its new key."""
    if not renamed:
        return
    arriving = [key for key in renamed.values() if key not in renamed]  # e.g. a removed section's, now matched
    moving = select(Citation.contribution_id).where(Citation.version_id == version.id, Citation.section_key.in_(list(renamed)))
    db.session.execute(
        delete(Citation).where(Citation.version_id == version.id, Citation.section_key.in_(arriving), Citation.contribution_id.in_(moving))
    )
    db.session.execute(delete(ChangeReason).where(ChangeReason.version_id == version.id, ChangeReason.section_key.in_(arriving)))
    for model in (Citation, ChangeReason):
        # Through keys no section has, as the sections themselves moved (the unique keys).
        for number, old in enumerate(renamed):
            db.session.execute(
                update(model).where(model.version_id == version.id, model.section_key == old).values(section_key=f"~{number}")
            )
        for number, new in enumerate(renamed.values()):
            db.session.execute(
                update(model).where(model.version_id == version.id, model.section_key == f"~{number}").values(section_key=new)
            )
    db.session.expire_all()
