"""Moderation and synthesis: reports, the queue, hiding and restoring, blocking, pre-moderation,
the public log, themes, summaries with citations, and the figures of the outcome.

Every function that changes something takes the acting user as ``actor``, checks permission
through ``consult.permissions``, flushes and never commits.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from consult.accounts.models import Organisation, User
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.comments.models import Anchor
from consult.contributions.models import Contribution, ContributionKind, ModerationState
from consult.core import text
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.core.signals import contribution_approved, contribution_hidden, contribution_restored
from consult.core.templating import format_number
from consult.moderation.models import (
    Block,
    ContributionTheme,
    LogAction,
    ModerationLogEntry,
    Report,
    ReportReason,
    SectionSummary,
    SummaryCitation,
    Theme,
)
from consult.permissions import Action, authorize, can, forget_blocks, visible_contributions
from consult.proposals.models import Consultation
from consult.site.models import current_settings
from consult.voting.models import Vote

DEFAULT_REPORT_THRESHOLD = 3
MAX_DETAIL_LENGTH = 1_000
MAX_REASON_LENGTH = 500
MAX_SUMMARY_LENGTH = 20_000
MAX_THEME_NAME_LENGTH = 120  # the column's size
AUTO_HIDDEN = "Hidden after several reports, until a moderator reviews it."
HELD = "Waiting for a moderator: a new participant's first contribution is checked before it appears."


def report_threshold() -> int:
    """Set on the site's settings page, else in the configuration."""
    return current_settings().report_threshold or int(current_app.config.get("REPORT_THRESHOLD", DEFAULT_REPORT_THRESHOLD))


def _log(
    consultation: Consultation,
    action: LogAction,
    *,
    actor: User | None,
    contribution: Contribution | None = None,
    subject: User | None = None,
    rule: str = "",
    reason: str = "",
) -> None:
    db.session.add(
        ModerationLogEntry(
            organisation_id=consultation.organisation_id,
            consultation_id=consultation.id,
            contribution=contribution,
            subject_id=subject.id if subject else None,
            moderator_id=actor.id if actor else None,
            action=action,
            rule=rule,
            reason=reason,
        )
    )


# ---- pre-moderation --------------------------------------------------------------------------


def initial_state(consultation: Consultation, author: User) -> str:
    """The state a new contribution starts in: visible, or pending when the consultation is
    pre-moderated and its author has nothing approved in the organisation's consultations yet."""
    if consultation.moderation_mode != "pre":
        return ModerationState.VISIBLE
    approved = db.session.scalar(
        select(Contribution.id)
        .join(Consultation, Consultation.id == Contribution.consultation_id)
        .where(
            Contribution.author_id == author.id,
            Consultation.organisation_id == consultation.organisation_id,
            Contribution.moderation_state == ModerationState.VISIBLE,
        )
        .limit(1)
    )
    return ModerationState.VISIBLE if approved is not None else ModerationState.PENDING


def held(contribution: Contribution) -> None:
    """Log that a new contribution waits for approval (called after it is added)."""
    if contribution.moderation_state == ModerationState.PENDING:
        _log(contribution.consultation, LogAction.HOLD, actor=None, contribution=contribution, rule="pre-moderation", reason=HELD)


# ---- reports ---------------------------------------------------------------------------------


def report(contribution: Contribution, *, actor: User, reason: str, detail: str = "") -> bool:
    """Flag a contribution. One report per person per contribution (a second one changes
    nothing); at the threshold of distinct reporters it is hidden until a moderator reviews it.
    Returns True if it is now hidden."""
    authorize(actor, Action.REPORT, contribution)
    if reason not in {r.value for r in ReportReason}:
        raise RuleViolation(_("Choose why you report it: spam, offensive, off topic, personal data or other."), status=400)
    detail = (detail or "").strip()
    if reason == ReportReason.OTHER and not detail:
        raise RuleViolation(_("Say what is wrong with it."), status=400)
    if len(detail) > MAX_DETAIL_LENGTH:
        raise RuleViolation(_("Say it in at most %(count)s characters.", count=format_number(MAX_DETAIL_LENGTH)), status=400)
    try:
        with db.session.begin_nested():
            db.session.add(Report(contribution_id=contribution.id, reporter_id=actor.id, reason=reason, detail=detail))
    except IntegrityError:
        return contribution.moderation_state == ModerationState.HIDDEN  # already reported by this person
    reporters = db.session.scalar(
        select(func.count(func.distinct(Report.reporter_id))).where(Report.contribution_id == contribution.id, Report.resolved_at.is_(None))
    )
    if reporters >= report_threshold() and contribution.moderation_state == ModerationState.VISIBLE:
        hidden = db.session.execute(
            update(Contribution)
            .where(Contribution.id == contribution.id, Contribution.moderation_state == ModerationState.VISIBLE)
            .values(moderation_state=ModerationState.HIDDEN, hidden_reason=AUTO_HIDDEN, hidden_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.refresh(contribution)
        if hidden:
            _log(
                contribution.consultation,
                LogAction.AUTO_HIDE,
                actor=None,
                contribution=contribution,
                rule=f"{report_threshold()} reports",
                reason=AUTO_HIDDEN,
            )
            contribution_hidden.send(contribution, actor=None, reason=AUTO_HIDDEN)
    db.session.flush()
    return contribution.moderation_state == ModerationState.HIDDEN


# ---- the queue -------------------------------------------------------------------------------


@dataclass
class QueueItem:
    contribution: Contribution
    reports: int
    reasons: dict[str, int]
    first_reported_at: object


def queue(organisation: Organisation, *, consultation: Consultation | None = None, limit: int = 200) -> list[QueueItem]:
    """What waits for a moderator in the organisation's consultations: contributions with open
    reports and contributions held for approval, most reported and then oldest first."""
    open_reports = (
        select(Report.contribution_id, func.count(func.distinct(Report.reporter_id)).label("n"), func.min(Report.created_at).label("first"))
        .where(Report.resolved_at.is_(None))
        .group_by(Report.contribution_id)
        .subquery()
    )
    query = (
        select(Contribution, func.coalesce(open_reports.c.n, 0), func.coalesce(open_reports.c.first, Contribution.created_at))
        .join(Consultation, Consultation.id == Contribution.consultation_id)
        .outerjoin(open_reports, open_reports.c.contribution_id == Contribution.id)
        .where(
            Consultation.organisation_id == organisation.id,
            Contribution.deleted_at.is_(None),
            (open_reports.c.n > 0) | (Contribution.moderation_state == ModerationState.PENDING),
        )
        .order_by(func.coalesce(open_reports.c.n, 0).desc(), func.coalesce(open_reports.c.first, Contribution.created_at), Contribution.id)
        .limit(limit)
    )
    if consultation is not None:
        query = query.where(Contribution.consultation_id == consultation.id)
    rows = db.session.execute(query).all()
    reasons: dict[int, dict[str, int]] = {}
    ids = [c.id for c, _, _ in rows]
    if ids:
        for cid, reason, n in db.session.execute(
            select(Report.contribution_id, Report.reason, func.count())
            .where(Report.contribution_id.in_(ids), Report.resolved_at.is_(None))
            .group_by(Report.contribution_id, Report.reason)
        ):
            reasons.setdefault(cid, {})[reason] = n
    return [QueueItem(c, n, reasons.get(c.id, {}), first) for c, n, first in rows]


def hidden_items(organisation: Organisation, *, consultation: Consultation | None = None, limit: int = 200) -> list[Contribution]:
    """Hidden contributions of the organisation's consultations (or of one), latest hidden first,
    so a moderator can restore one."""
    query = (
        select(Contribution)
        .join(Consultation, Consultation.id == Contribution.consultation_id)
        .where(
            Consultation.organisation_id == organisation.id,
            Contribution.moderation_state == ModerationState.HIDDEN,
            Contribution.deleted_at.is_(None),
        )
        .order_by(Contribution.hidden_at.desc(), Contribution.id.desc())
        .limit(limit)
    )
    if consultation is not None:
        query = query.where(Contribution.consultation_id == consultation.id)
    return list(db.session.scalars(query))


class Operation(enum.StrEnum):
    """What a moderator does to selected contributions from the queue."""

    APPROVE = "approve"  # keep it (and let a held one appear); its reports are closed
    HIDE = "hide"  # hidden with a public reason, shown as a tombstone
    RESTORE = "restore"  # shown again

    @property
    def done(self) -> str:
        """How the queue says it was done: "3 contributions hidden"."""
        return {Operation.APPROVE: "approved", Operation.HIDE: "hidden", Operation.RESTORE: "restored"}[self]


def act(contributions: Sequence[Contribution], *, actor: User, action: Operation | str, reason: str = "", rule: str = "") -> int:
    """Approve, hide or restore one or many contributions at once; their open reports are
    resolved and each change is logged. Hiding needs a public reason. Returns how many changed
    (approving counts every one: it closes their reports)."""
    try:
        operation = Operation(action)
    except ValueError:
        raise RuleViolation(_("Choose an action: approve, hide or restore."), status=400, field="action") from None
    if not contributions:
        raise RuleViolation(_("Select at least one contribution."), status=400)
    reason = (reason or "").strip()
    if operation is Operation.HIDE and not reason:
        raise RuleViolation(
            _("Give the reason for hiding: it is shown in place of the contribution and in the public log."), status=400, field="reason"
        )
    if len(reason) > MAX_REASON_LENGTH:
        raise RuleViolation(
            _("Give the reason in at most %(count)s characters.", count=format_number(MAX_REASON_LENGTH)), status=400, field="reason"
        )
    if rule and rule not in {r.value for r in ReportReason}:
        raise RuleViolation(_("Unknown rule."), status=400)
    now = utcnow()
    changed = 0
    for c in contributions:
        authorize(actor, Action.MODERATE, c.consultation)
        told = None  # what its author and followers are to hear of it (by a signal, below)
        if operation is Operation.HIDE and c.moderation_state != ModerationState.HIDDEN:
            c.moderation_state, c.hidden_reason, c.hidden_at = ModerationState.HIDDEN, reason, now
            told = contribution_hidden
        elif operation is Operation.HIDE and c.hidden_reason != reason:
            # Hidden already (by reports, "until a moderator reviews it", or for another reason):
            # the moderator's decision and its reason replace that text and go on the record.
            c.hidden_reason = reason
            told = contribution_hidden
        elif operation is not Operation.HIDE and c.moderation_state != ModerationState.VISIBLE:
            told = contribution_approved if c.moderation_state == ModerationState.PENDING else contribution_restored
            c.moderation_state, c.hidden_reason, c.hidden_at = ModerationState.VISIBLE, "", None
        elif operation is not Operation.APPROVE:
            continue  # already so: nothing to log
        changed += 1
        _log(c.consultation, LogAction(operation.value), actor=actor, contribution=c, rule=rule, reason=reason)
        record_staff_action(
            StaffOperation(operation.value),
            actor=actor,
            consultation=c.consultation,
            target_type=TargetType.CONTRIBUTION,
            target_id=c.id,
            detail={"rule": rule} if rule else None,
        )
        if told is not None:
            db.session.flush()
            told.send(c, actor=actor, reason=reason)
    ids = [c.id for c in contributions]
    db.session.execute(
        update(Report)
        .where(Report.contribution_id.in_(ids), Report.resolved_at.is_(None))
        .values(resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return changed


def selected_contributions(ids: Sequence[int], consultations: Iterable[Consultation]) -> list[Contribution]:
    """The contributions a moderator ticked, each of one of ``consultations`` (those of the
    organisation, or the one consultation, whose page the boxes were on)."""
    allowed = {c.id for c in consultations}
    items = list(db.session.scalars(select(Contribution).where(Contribution.id.in_(ids)))) if ids else []
    if any(c.consultation_id not in allowed for c in items):
        raise RuleViolation(_("Select contributions of this organisation's consultations only."), status=400)
    return items


def block(organisation: Organisation, user: User, *, actor: User, reason: str, consultation: Consultation) -> None:
    """Block a participant in the organisation's consultations: everything they wrote there is
    hidden (reversibly: nothing of it is changed) and they can no longer take part."""
    authorize(actor, Action.MODERATE, organisation)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for blocking: it goes into the public log."), status=400)
    if len(reason) > MAX_REASON_LENGTH:
        raise RuleViolation(
            _("Give the reason in at most %(count)s characters.", count=format_number(MAX_REASON_LENGTH)), status=400, field="reason"
        )
    if user.id == actor.id:
        raise RuleViolation(_("You cannot block yourself."), status=400)
    try:  # the unique constraint, not a look first, settles two moderators blocking at once
        with db.session.begin_nested():
            db.session.add(Block(organisation_id=organisation.id, user_id=user.id, reason=reason))
    except IntegrityError:
        return  # already blocked
    forget_blocks()
    _log(consultation, LogAction.BLOCK, actor=actor, subject=user, reason=reason)
    record_staff_action(StaffOperation.BLOCK, actor=actor, consultation=consultation, target_type=TargetType.USER, target_id=user.id)
    db.session.flush()


def block_author_of(organisation: Organisation, contribution_id: int | None, *, actor: User, reason: str) -> User:
    """Block the author of one of the organisation's contributions (moderators know people by
    what they wrote, not by their accounts). Returns who is blocked."""
    contribution = db.session.get(Contribution, contribution_id) if contribution_id is not None else None
    if contribution is None or contribution.consultation.organisation_id != organisation.id or contribution.author is None:
        raise RuleViolation(
            _("Give the number of one of this organisation's contributions: its author is the one blocked."),
            status=400,
            field="contribution_id",
        )
    block(organisation, contribution.author, actor=actor, reason=reason, consultation=contribution.consultation)
    return contribution.author


class ItemOperation(enum.StrEnum):
    """What a moderator does from a contribution itself (its page, its card in a thread)."""

    HIDE = "hide"
    BLOCK = "block"  # its author, in the organisation's consultations


def contribution_to_moderate(actor: User, contribution_id: int) -> Contribution | None:
    """A contribution (hidden or not, not deleted) that ``actor`` moderates; None otherwise (a 404:
    nobody else learns that it exists)."""
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None or contribution.deleted_at is not None or not can(actor, Action.MODERATE, contribution.consultation):
        return None
    return contribution


def moderate_item(contribution: Contribution, *, actor: User, action: ItemOperation | str, reason: str, rule: str = "") -> User | None:
    """Hide one contribution, or block its author, from the contribution itself: the same rules,
    log and audit as the queue's hiding (``act``) and blocking (``block_author_of``). Returns
    the person blocked (None when hiding)."""
    try:
        operation = ItemOperation(action)
    except ValueError:
        raise RuleViolation(_("Choose what to do: hide the contribution or block its author."), status=400, field="action") from None
    if operation is ItemOperation.HIDE:
        act([contribution], actor=actor, action=Operation.HIDE, reason=reason, rule=rule)
        return None
    organisation = contribution.consultation.organisation
    if contribution.author is None:
        raise RuleViolation(_("This contribution's author has left: there is nobody to block."), status=400)
    return block_author_of(organisation, contribution.id, actor=actor, reason=reason)


def lift_block(organisation: Organisation, block_id: int, *, actor: User) -> User | None:
    """Lift one of the organisation's blocks; returns whom it blocked (None: no such block here)."""
    row = db.session.get(Block, block_id)
    if row is None or row.organisation_id != organisation.id:
        return None
    user = db.session.get(User, row.user_id)
    consultation = db.session.scalar(select(Consultation).where(Consultation.organisation_id == organisation.id).limit(1))
    unblock(organisation, user, actor=actor, consultation=consultation)
    return user


def blocks_of(organisation: Organisation) -> list[Block]:
    return list(db.session.scalars(select(Block).where(Block.organisation_id == organisation.id).order_by(Block.created_at.desc())))


def consultations_of(organisation: Organisation) -> list[Consultation]:
    """The organisation's consultations, by title (whose contributions its moderators act on)."""
    return list(
        db.session.scalars(select(Consultation).where(Consultation.organisation_id == organisation.id).order_by(Consultation.title))
    )


def unblock(organisation: Organisation, user: User, *, actor: User, consultation: Consultation) -> None:
    authorize(actor, Action.MODERATE, organisation)
    gone = db.session.execute(delete(Block).where(Block.organisation_id == organisation.id, Block.user_id == user.id)).rowcount
    if gone:
        forget_blocks()
        _log(consultation, LogAction.UNBLOCK, actor=actor, subject=user, reason="The block was lifted.")
        # A block is the organisation's, not one consultation's (the public log above files it
        # under one so that it is published at all).
        record_staff_action(
            StaffOperation.UNBLOCK, actor=actor, organisation_id=organisation.id, target_type=TargetType.USER, target_id=user.id
        )
    db.session.flush()


def public_log(organisation: Organisation, *, consultation: Consultation | None = None):
    """The moderation log as the public sees it (the query; the template leaves out who acted)."""
    query = select(ModerationLogEntry).where(ModerationLogEntry.organisation_id == organisation.id)
    if consultation is not None:
        query = query.where(ModerationLogEntry.consultation_id == consultation.id)
    return query.order_by(ModerationLogEntry.created_at.desc(), ModerationLogEntry.id.desc())


# ---- themes and summaries --------------------------------------------------------------------

CITATION = re.compile(r"\[#(\d{1,12})\]")


def create_theme(consultation: Consultation, *, actor: User, name: str) -> Theme:
    authorize(actor, Action.SUMMARISE, consultation)
    name = " ".join((name or "").split())
    if not name:
        raise RuleViolation(_("Name the theme."), status=400)
    if len(name) > MAX_THEME_NAME_LENGTH:
        raise RuleViolation(_("Name the theme in at most %(count)s characters.", count=format_number(MAX_THEME_NAME_LENGTH)), status=400)
    theme = Theme(consultation=consultation, name=name)
    try:
        with db.session.begin_nested():
            db.session.add(theme)
    except IntegrityError:
        raise RuleViolation(_("There is already a theme “%(name)s”.", name=name), status=400) from None
    record_staff_action(
        StaffOperation.CREATE_THEME, actor=actor, consultation=consultation, target_type=TargetType.THEME, target_id=theme.id
    )
    return theme


def theme_from_group(consultation: Consultation, *, actor: User, name: str, contributions: Iterable[Contribution]) -> tuple[Theme, int]:
    """A suggested group made a theme in one step: the theme is created (the same rules as
    ``create_theme``) and the group's contributions tagged with it. Returns the theme and how
    many were tagged."""
    theme = create_theme(consultation, actor=actor, name=name)
    return theme, tag(theme, contributions, actor=actor)


def tag(theme: Theme, contributions: Iterable[Contribution], *, actor: User, remove: bool = False) -> int:
    authorize(actor, Action.SUMMARISE, theme.consultation)
    count, changed = 0, []
    for c in contributions:
        if c.consultation_id != theme.consultation_id:
            raise RuleViolation(_("Tag only contributions of this consultation."), status=400)
        if remove:
            gone = db.session.execute(
                delete(ContributionTheme).where(ContributionTheme.theme_id == theme.id, ContributionTheme.contribution_id == c.id)
            ).rowcount
            count += gone
            if gone:
                changed.append(c.id)
            continue
        try:
            with db.session.begin_nested():
                db.session.execute(insert(ContributionTheme).values(theme_id=theme.id, contribution_id=c.id))
        except IntegrityError:
            continue  # already tagged
        count += 1
        changed.append(c.id)
    if changed:
        record_staff_action(
            StaffOperation.UNTAG_THEME if remove else StaffOperation.TAG_THEME,
            actor=actor,
            consultation=theme.consultation,
            target_type=TargetType.THEME,
            target_id=theme.id,
            detail={"count": len(changed), "contribution_ids": changed},
        )
    db.session.flush()
    return count


def _checked_citations(consultation: Consultation, summary: str) -> list[int]:
    """The ids ``[#123]`` cites; each must be a contribution of this consultation that the
    public can see, or the summary is refused."""
    ids = sorted({int(m) for m in CITATION.findall(summary)})
    if not ids:
        return []
    found = set(
        db.session.scalars(
            select(Contribution.id).where(
                Contribution.id.in_(ids), Contribution.consultation_id == consultation.id, visible_contributions(None)
            )
        )
    )
    missing = [i for i in ids if i not in found]
    if missing:
        listed = ", ".join(f"#{i}" for i in missing)
        raise RuleViolation(
            ngettext(
                "The summary cites %(listed)s, which is not a visible contribution of this consultation (unknown, hidden or deleted). "
                "Cite only what the public can read.",
                "The summary cites %(listed)s, which are not a visible contribution of this consultation (unknown, hidden or deleted). "
                "Cite only what the public can read.",
                len(missing),
                listed=listed,
            ),
            status=400,
        )
    return ids


def render_summary(summary: str) -> str:
    """Markdown with each ``[#123]`` turned into a link to contribution 123. The links are put
    in after sanitising (the sanitiser keeps only absolute links), from digits only."""
    urls = current_app.url_map.bind("")  # paths only: also outside a request (the CLI, the demo)
    marked = CITATION.sub(lambda m: f"CONSULTCITE{m.group(1)}END", summary)
    html = str(text.render_markdown(marked))
    return re.sub(
        r"CONSULTCITE(\d+)END",
        lambda m: f'<a href="{urls.build("comments.show", {"contribution_id": int(m.group(1))})}">#{m.group(1)}</a>',
        html,
    )


def write_summary(
    consultation: Consultation, *, actor: User, summary: str, theme: Theme | None = None, section_key: str | None = None
) -> None:
    """Save a theme's or a section's summary and the citations in it."""
    authorize(actor, Action.SUMMARISE, consultation)
    summary = (summary or "").strip()
    if len(summary) > MAX_SUMMARY_LENGTH:
        raise RuleViolation(_("A summary can be at most %(count)s characters.", count=format_number(MAX_SUMMARY_LENGTH)), status=400)
    ids = _checked_citations(consultation, summary)
    html = render_summary(summary) if summary else ""
    if theme is not None:
        if theme.consultation_id != consultation.id:
            raise RuleViolation(_("That theme is not part of this consultation."), status=400)
        theme.summary, theme.summary_html, theme.updated_at = summary, html, utcnow()
        db.session.execute(delete(SummaryCitation).where(SummaryCitation.theme_id == theme.id))
        db.session.flush()
        db.session.add_all(SummaryCitation(theme_id=theme.id, contribution_id=i) for i in ids)
        target_type, target_id = TargetType.THEME, theme.id
    else:
        version = consultation.current_version
        if not section_key or version is None or not any(s.key == section_key for v in consultation.published_versions for s in v.sections):
            raise RuleViolation(_("That section is not in this consultation."), status=400)
        row = db.session.scalar(
            select(SectionSummary).where(SectionSummary.consultation_id == consultation.id, SectionSummary.section_key == section_key)
        )
        if row is None:
            row = SectionSummary(consultation_id=consultation.id, section_key=section_key)
            db.session.add(row)
            db.session.flush()
        row.summary, row.summary_html, row.updated_at = summary, html, utcnow()
        db.session.execute(delete(SummaryCitation).where(SummaryCitation.section_summary_id == row.id))
        db.session.flush()
        db.session.add_all(SummaryCitation(section_summary_id=row.id, contribution_id=i) for i in ids)
        target_type, target_id = TargetType.SECTION_SUMMARY, row.id
    record_staff_action(
        StaffOperation.WRITE_SUMMARY,
        actor=actor,
        consultation=consultation,
        target_type=target_type,
        target_id=target_id,
        detail={"section_key": section_key} if section_key and theme is None else None,
    )
    db.session.flush()


def themes_of(consultation: Consultation) -> list[tuple[Theme, int]]:
    """Themes with the number of visible contributions tagged with each."""
    rows = db.session.execute(
        select(Theme, func.count(Contribution.id))
        .outerjoin(ContributionTheme, ContributionTheme.theme_id == Theme.id)
        .outerjoin(Contribution, (Contribution.id == ContributionTheme.contribution_id) & visible_contributions(None))
        .where(Theme.consultation_id == consultation.id)
        .group_by(Theme.id)
        .order_by(Theme.name)
    ).all()
    return [(t, n) for t, n in rows]


def theme_of(consultation: Consultation, theme_id: int | None) -> Theme | None:
    theme = db.session.get(Theme, theme_id) if theme_id is not None else None
    return theme if theme is not None and theme.consultation_id == consultation.id else None


def to_tag(consultation: Consultation, *, show: str = "untagged", section_key: str | None = None, theme_id: int | None = None):
    """The query of what the themes page lists for tagging, oldest first: what the public can
    see, on one section or all, tagged with one theme, untagged (``show="untagged"``) or all."""
    query = (
        select(Contribution).where(Contribution.consultation_id == consultation.id, visible_contributions(None)).order_by(Contribution.id)
    )
    if section_key:
        query = query.where(Contribution.section_key == section_key)
    if theme_id is not None:
        query = query.where(Contribution.id.in_(select(ContributionTheme.contribution_id).where(ContributionTheme.theme_id == theme_id)))
    elif show == "untagged":
        query = query.where(~Contribution.id.in_(select(ContributionTheme.contribution_id)))
    return query


def theme_names(contribution_ids: Sequence[int]) -> dict[int, list[str]]:
    """The names of the themes each contribution is tagged with."""
    tagged: dict[int, list[str]] = {}
    if contribution_ids:
        for cid, name in db.session.execute(
            select(ContributionTheme.contribution_id, Theme.name).join(Theme).where(ContributionTheme.contribution_id.in_(contribution_ids))
        ):
            tagged.setdefault(cid, []).append(name)
    return tagged


CITABLE_LISTED = 200


def citable(consultation: Consultation, *, theme: Theme | None = None, section_key: str | None = None) -> list[Contribution]:
    """What a summary is about, listed beside it with the numbers to cite: the theme's tagged
    contributions, or those on the section."""
    query = select(Contribution).where(Contribution.consultation_id == consultation.id, visible_contributions(None))
    if theme is not None:
        query = query.where(Contribution.id.in_(select(ContributionTheme.contribution_id).where(ContributionTheme.theme_id == theme.id)))
    else:
        query = query.where(Contribution.section_key == section_key)
    return list(db.session.scalars(query.order_by(Contribution.id).limit(CITABLE_LISTED)))


def section_summary(consultation: Consultation, section_key: str) -> SectionSummary | None:
    return db.session.scalar(
        select(SectionSummary).where(SectionSummary.consultation_id == consultation.id, SectionSummary.section_key == section_key)
    )


def section_summaries(consultation: Consultation) -> dict[str, SectionSummary]:
    return {s.section_key: s for s in db.session.scalars(select(SectionSummary).where(SectionSummary.consultation_id == consultation.id))}


# ---- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    people: int
    comments: int
    annotations: int
    amendments: int
    votes: int

    def rows(self) -> list[tuple[str, int]]:
        return [
            (_("People who took part"), self.people),
            (_("Comments and replies"), self.comments),
            (_("Annotations"), self.annotations),
            (_("Amendments"), self.amendments),
            (_("Votes"), self.votes),
        ]


def figures(consultation: Consultation) -> Figures:
    """Participation counted from the database, over what the public can see."""
    visible = (Contribution.consultation_id == consultation.id) & visible_contributions(None)
    annotated = (
        select(Anchor.contribution_id)
        .where(Anchor.version_id == Contribution.version_id, Anchor.contribution_id == Contribution.id)
        .exists()
    )
    contributors = select(Contribution.author_id).where(visible, Contribution.author_id.is_not(None))
    voters = select(Vote.user_id).where(Vote.consultation_id == consultation.id)
    people = db.session.scalar(select(func.count()).select_from(contributors.union(voters).subquery()))
    kinds = dict(db.session.execute(select(Contribution.kind, func.count()).where(visible).group_by(Contribution.kind)).all())
    annotations = db.session.scalar(select(func.count()).select_from(Contribution).where(visible, annotated))
    votes = db.session.scalar(
        select(func.count())
        .select_from(Vote)
        .where(
            Vote.consultation_id == consultation.id,
            Vote.contribution_id.is_(None) | Vote.contribution_id.in_(select(Contribution.id).where(visible)),
        )
    )
    return Figures(
        people=people or 0,
        comments=kinds.get(ContributionKind.COMMENT, 0) + kinds.get(ContributionKind.REPLY, 0) - (annotations or 0),
        annotations=annotations or 0,
        amendments=kinds.get(ContributionKind.AMENDMENT, 0),
        votes=votes or 0,
    )
