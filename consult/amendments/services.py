"""Amendments: proposing, co-supporting, withdrawing, answering, conflicts, and the next
version built from the accepted ones.

Every function that changes something takes the acting user as ``actor``, checks permission
through ``consult.permissions``, flushes and never commits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from consult.accounts.models import User
from consult.amendments.edits import Edit, apply_edits, conflict, edits
from consult.amendments.models import Amendment, AmendmentState, AmendmentSupporter, Citation, Decision, take_number
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.comments.anchoring import locate_quote
from consult.contributions.models import Contribution, ContributionKind, ModerationState
from consult.contributions.services import BODY_RULES, MAX_QUOTE_LENGTH, add_contribution
from consult.core import i18n, text
from consult.core.errors import RuleViolation
from consult.core.models import db, upsert_insert, utcnow
from consult.core.signals import (
    amendment_answered,
    amendment_incorporated,
    amendment_supported,
    cited_in_change,
    consultation_concluding,
    version_published,
)
from consult.core.templating import format_number
from consult.permissions import Action, authorize, visible_contributions, visible_supporters
from consult.proposals.models import Consultation, Section, SectionChange, SectionText, Version
from consult.proposals.services import MAX_SECTION_LENGTH, draft_for_editing, get_visible_consultation, hold_open, section_changes
from consult.proposals.textdiff import DiffOp, word_diff
from consult.voting.models import Vote, VoteValue

MAX_RATIONALE_LENGTH = BODY_RULES[ContributionKind.AMENDMENT].max_length


# ---- proposing -----------------------------------------------------------------------------


def propose_amendment(
    consultation: Consultation,
    *,
    actor: User,
    section_key: str,
    rationale: str,
    proposed_text: str | None = None,
    quote: str | None = None,
    replacement: str | None = None,
    text_language: str | None = None,
) -> Contribution:
    """Propose new words for a section of the current version: the section's whole new text,
    or a quoted passage of it and its replacement (empty replacement: delete the passage). The
    words are those of its text in ``text_language`` (the original's by default, or when the
    version has no text in that language), and the amendment is in that language."""

    def words(contribution: Contribution) -> None:
        version = contribution.version
        language = text_language if text_language in version.languages else consultation.original_language
        section = version.section_in(section_key, language)
        if section is None:
            raise RuleViolation(_("That section is not in the current version of the text."), status=400)
        contribution.language = language
        proposed = proposed_section_text(section, proposed_text=proposed_text, quote=quote, replacement=replacement)
        if not proposed:
            raise RuleViolation(_("The amended section would be empty. To propose removing it, say so in a comment."), status=400)
        if len(proposed) > MAX_SECTION_LENGTH:
            raise RuleViolation(
                _("The amended section can be at most %(max)s characters.", max=format_number(MAX_SECTION_LENGTH)), status=400
            )
        if proposed == section.body.strip():
            raise RuleViolation(_("Your text is the same as the current text: change some words to propose an amendment."), status=400)
        contribution.section_key = section.key
        contribution.amendment = Amendment(
            proposed_text=proposed,
            state=AmendmentState.OPEN,
            consultation_id=consultation.id,
            number=next_amendment_number(consultation.id),
        )

    return add_contribution(consultation, actor=actor, kind=ContributionKind.AMENDMENT, body=rationale, prepare=words)


def next_amendment_number(consultation_id: int) -> int:
    """The next amendment number of the consultation (1 for its first), taken for good.

    One UPSERT of its ``amendment_numbers`` row: on PostgreSQL the row stays locked until the
    proposal's transaction ends, so a racing proposal waits for it and takes the number after
    (a first insert racing another meets the primary key and updates instead); SQLite's writing
    transactions are serialised already. A rolled-back proposal gives its number back; a deleted
    amendment keeps its number used, so "A3" never names two amendments. The unique key on
    (consultation, number) is the last guard."""
    return db.session.execute(take_number(db.session.get_bind().dialect.name, consultation_id)).scalar_one()


def proposed_section_text(section: Section, *, proposed_text: str | None, quote: str | None, replacement: str | None) -> str:
    """The section's Markdown as the amendment would have it: the quoted passage replaced, or
    else the whole text as written."""
    if quote is not None and quote.strip():
        return _replace_passage(section, quote, replacement or "")
    return (proposed_text or "").replace("\r\n", "\n").strip()


def preview(section: Section, proposed: str) -> tuple[list[DiffOp], str]:
    """The redline against the section's text and the amended section rendered, storing nothing."""
    return word_diff(section.text, text.section_text(proposed)), str(text.render_markdown(proposed))


def preview_proposal(
    section: Section, *, proposed_text: str | None, quote: str | None, replacement: str | None
) -> tuple[list[DiffOp], str]:
    """``preview`` of what ``propose_amendment`` would store with these words."""
    return preview(section, proposed_section_text(section, proposed_text=proposed_text, quote=quote, replacement=replacement))


def _replace_passage(section: Section, quote: str, replacement: str) -> str:
    quote = quote.strip()
    if len(quote) > MAX_QUOTE_LENGTH:
        raise RuleViolation(_("Quote at most %(max)s characters.", max=format_number(MAX_QUOTE_LENGTH)), status=400)
    body = section.body.strip()
    span = locate_quote(body, quote)
    if span is None:
        raise RuleViolation(
            _(
                "The words you quoted are not in the section “%(section)s” as written (formatting such as links or "
                "emphasis inside them counts). Edit the whole section's text instead.",
                section=section.heading,
            ),
            status=400,
        )
    start, end = span
    return (body[:start] + replacement.strip() + body[end:]).strip()


# ---- taking part ---------------------------------------------------------------------------


def co_support(amendment: Amendment, *, actor: User) -> None:
    authorize(actor, Action.CO_SUPPORT_AMENDMENT, amendment)
    now = hold_open(amendment.contribution.consultation)
    # One statement that leaves the row there however many of one person's requests race: the
    # lock on the consultation is shared, so two of them can both find no row before inserting.
    joined = db.session.execute(
        upsert_insert(AmendmentSupporter)
        .values(amendment_id=amendment.contribution_id, user_id=actor.id, created_at=now)
        .on_conflict_do_nothing(index_elements=["amendment_id", "user_id"])
        .returning(AmendmentSupporter.id)
    ).first()
    db.session.expire(amendment, ["supporters"])
    if joined is not None:
        amendment_supported.send(amendment.contribution, actor=actor)


def leave_support(amendment: Amendment, *, actor: User) -> None:
    """A co-supporter takes their name off the amendment while the consultation is open."""
    hold_open(amendment.contribution.consultation)
    authorize(actor, Action.LEAVE_SUPPORT, amendment)
    for supporter in list(amendment.supporters):
        if supporter.user_id == actor.id:
            amendment.supporters.remove(supporter)
    db.session.flush()


def withdraw_amendment(amendment: Amendment, *, actor: User) -> None:
    """The author takes the amendment back; it stays on record, marked withdrawn, with its
    rationale, supporters and votes."""
    authorize(actor, Action.WITHDRAW_AMENDMENT, amendment)
    amendment.state = AmendmentState.WITHDRAWN
    amendment.withdrawn_at = utcnow()
    db.session.flush()


def answer_amendment(amendment: Amendment, *, actor: User, decision: str, reason: str) -> None:
    """The organisation's answer, with its reason. It can be revised until the outcome is
    published; the latest answer stands."""
    authorize(actor, Action.ANSWER_AMENDMENT, amendment)
    if decision not in {d.value for d in Decision}:
        raise RuleViolation(_("Choose an answer: accepted, accepted in part, not accepted or out of scope."), status=400)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for your answer: every answer carries one."), status=400)
    if len(reason) > MAX_RATIONALE_LENGTH:
        raise RuleViolation(_("A reason can be at most %(max)s characters.", max=format_number(MAX_RATIONALE_LENGTH)), status=400)
    if amendment.state == AmendmentState.ANSWERED and (amendment.decision, amendment.answer) == (decision, reason):
        return  # the same answer sent again (a double click, a reload): it keeps its date
    amendment.state = AmendmentState.ANSWERED
    amendment.decision = decision
    amendment.answer = reason
    amendment.answered_by = actor
    amendment.answered_at = utcnow()
    db.session.flush()
    record_staff_action(
        StaffOperation.ANSWER_AMENDMENT,
        actor=actor,
        consultation=amendment.contribution.consultation,
        target_type=TargetType.CONTRIBUTION,
        target_id=amendment.contribution_id,
        detail={"decision": decision},
    )
    amendment_answered.send(amendment.contribution, actor=actor, decision=decision, reason=reason)


# ---- reading -------------------------------------------------------------------------------


def get_visible_amendment(user: User | None, contribution_id: int) -> Contribution | None:
    """The amendment with this id if ``user`` may see it (and its consultation)."""
    contribution = db.session.scalar(
        select(Contribution)
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .where(Contribution.id == contribution_id, visible_contributions(user))
    )
    if contribution is None or get_visible_consultation(user, contribution.consultation.slug) is None:
        return None
    return contribution


def visible_amendment_by_number(user: User | None, consultation: Consultation, number: int) -> Contribution | None:
    """Amendment ``A{number}`` of the consultation if ``user`` may see it (the caller has
    checked that they may see the consultation)."""
    return db.session.scalar(
        select(Contribution)
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .where(Amendment.consultation_id == consultation.id, Amendment.number == number, visible_contributions(user))
    )


def co_supporters(amendment_ids, user: User | None) -> dict[int, list[User]]:
    """The co-supporters ``user`` may see of each amendment, in the order they joined (a
    blocked person's co-support is hidden, as what they wrote is)."""
    ids = list(amendment_ids)
    found: dict[int, list[User]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = db.session.execute(
        select(AmendmentSupporter.amendment_id, User)
        .join(User, User.id == AmendmentSupporter.user_id)
        .where(AmendmentSupporter.amendment_id.in_(ids), visible_supporters(user))
        .order_by(AmendmentSupporter.created_at, AmendmentSupporter.id)
    ).all()
    for amendment_id, person in rows:
        found[amendment_id].append(person)
    return found


def is_co_supporter(amendment: Amendment, user: User | None) -> bool:
    """Whether ``user`` has joined the amendment (they see it, blocked or not: it is their own)."""
    return user is not None and user.is_authenticated and any(s.user_id == user.id for s in amendment.supporters)


def support_count():
    """Supporting votes of the contribution in the enclosing query (a correlated COUNT)."""
    return (
        select(func.count(Vote.id))
        .where(Vote.contribution_id == Contribution.id, Vote.value == VoteValue.SUPPORT)
        .correlate(Contribution)
        .scalar_subquery()
    )


def amendments_query(consultation: Consultation, user: User | None, *, section_key: str | None = None, sort: str = "support"):
    query = (
        select(Contribution)
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .where(Contribution.consultation_id == consultation.id, visible_contributions(user))
        .options(selectinload(Contribution.author), selectinload(Contribution.version))
    )
    if section_key:
        query = query.where(Contribution.section_key == section_key)
    if sort == "newest":
        return query.order_by(Contribution.created_at.desc(), Contribution.id.desc())
    return query.order_by(support_count().desc(), Contribution.created_at.desc(), Contribution.id.desc())


def amendment_counts(consultation: Consultation, user: User | None) -> dict[str, int]:
    """How many amendments each section has, from the database."""
    rows = db.session.execute(
        select(Contribution.section_key, func.count())
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .where(Contribution.consultation_id == consultation.id, visible_contributions(user))
        .group_by(Contribution.section_key)
    ).all()
    return {key: n for key, n in rows}


def unanswered_above_threshold(consultation: Consultation) -> int:
    """Visible open amendments with at least the consultation's response threshold of
    supporting votes: each must be answered before the consultation is concluded."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Contribution)
            .join(Amendment, Amendment.contribution_id == Contribution.id)
            .where(
                Contribution.consultation_id == consultation.id,
                Contribution.moderation_state == ModerationState.VISIBLE,
                Contribution.deleted_at.is_(None),
                Amendment.state == AmendmentState.OPEN,
                support_count() >= consultation.response_threshold,
            )
        )
        or 0
    )


@consultation_concluding.connect
def _refuse_while_unanswered(consultation: Consultation, **_) -> None:
    """The outcome cannot be published while an amendment above the response threshold waits
    for an answer."""
    waiting = unanswered_above_threshold(consultation)
    if waiting:
        threshold = consultation.response_threshold
        if threshold == 1:
            message = ngettext(
                "%(num)d amendment with at least 1 supporting vote still waits for an answer. Answer every one before concluding.",
                "%(num)d amendments with at least 1 supporting vote still wait for an answer. Answer every one before concluding.",
                waiting,
            )
        else:
            message = ngettext(
                "%(num)d amendment with at least %(threshold)d supporting votes still waits for an answer. Answer every one before concluding.",
                "%(num)d amendments with at least %(threshold)d supporting votes still wait for an answer. Answer every one before concluding.",
                waiting,
                threshold=threshold,
            )
        raise RuleViolation(message)


def base_section(contribution: Contribution) -> Section | SectionText | None:
    """The section as it was when the amendment was written, in the language it was written on."""
    version = contribution.version
    language = contribution.language if contribution.language in version.languages else None
    return version.section_in(contribution.section_key, language)


def redline(contribution: Contribution) -> list[DiffOp]:
    """The amendment as a word-level redline of the section's plain text."""
    section = base_section(contribution)
    return word_diff(section.text if section else "", text.section_text(contribution.amendment.proposed_text))


def preview_html(contribution: Contribution) -> str:
    return str(text.render_markdown(contribution.amendment.proposed_text))


def conflicts(contributions: list[Contribution]) -> dict[int, list[int]]:
    """Among these amendments, which change overlapping words of the same section of the same
    version (withdrawn and rejected ones left aside): id -> the ids it conflicts with."""
    live = [
        c
        for c in contributions
        if c.amendment.state in (AmendmentState.OPEN, AmendmentState.ANSWERED)
        and c.amendment.decision in (None, Decision.ACCEPTED, Decision.ACCEPTED_IN_PART)
    ]
    groups: dict[tuple[int, str, str], list[Contribution]] = defaultdict(list)
    for c in live:  # the words of one text: amendments on its translations do not overlap them
        groups[(c.version_id, c.section_key, base_section(c).language)].append(c)
    result: dict[int, list[int]] = defaultdict(list)
    for members in groups.values():
        if len(members) < 2:
            continue
        base = base_section(members[0])
        changes = {c.id: edits(base.body.strip(), c.amendment.proposed_text) for c in members}
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if conflict(changes[a.id], changes[b.id]):
                    result[a.id].append(b.id)
                    result[b.id].append(a.id)
    return dict(result)


def section_conflicts(contribution: Contribution) -> list[int]:
    """The ids of the amendments this one conflicts with."""
    others = db.session.scalars(
        select(Contribution)
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .where(
            Contribution.consultation_id == contribution.consultation_id,
            Contribution.section_key == contribution.section_key,
            Contribution.version_id == contribution.version_id,
            visible_contributions(None),
        )
    ).all()
    return conflicts(list({c.id: c for c in [contribution, *others]}.values())).get(contribution.id, [])


# ---- the next version ----------------------------------------------------------------------


@dataclass
class NextVersion:
    draft: Version
    applied: list[Contribution] = field(default_factory=list)
    #: amendment -> the applied amendments it conflicts with; the author resolves these by hand
    conflicting: list[tuple[Contribution, list[Contribution]]] = field(default_factory=list)
    #: accepted in part, or written for an older version, or on a section changed in the draft
    by_hand: list[tuple[Contribution, str]] = field(default_factory=list)


def start_next_version(consultation: Consultation, *, actor: User) -> NextVersion:
    """Build (or add to) the draft of the next version with every accepted amendment applied,
    most supported first; an amendment whose words overlap one already applied is left for the
    author, flagged. Each applied amendment is cited by its section of the draft, so the change
    is traced to it and publishing the draft marks it incorporated."""
    authorize(actor, Action.START_NEXT_VERSION, consultation)
    current = consultation.current_version
    if current is None:
        raise RuleViolation(_("Publish version 1 before building the next version from amendments."))
    draft = draft_for_editing(consultation, actor=actor)
    report = NextVersion(draft=draft)
    accepted = db.session.scalars(
        select(Contribution)
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .where(
            Contribution.consultation_id == consultation.id,
            visible_contributions(None),
            Amendment.state == AmendmentState.ANSWERED,
            Amendment.decision.in_([Decision.ACCEPTED, Decision.ACCEPTED_IN_PART]),
        )
        .order_by(support_count().desc(), Contribution.created_at, Contribution.id)
    ).all()
    cited = set(db.session.scalars(select(Citation.contribution_id).where(Citation.version_id == draft.id)))
    by_section: dict[str, list[Contribution]] = defaultdict(list)
    for c in accepted:
        if c.id in cited:
            continue  # applied by an earlier run
        if c.amendment.decision == Decision.ACCEPTED_IN_PART:
            report.by_hand.append((c, _("accepted in part: write the accepted part into the draft yourself")))
        elif c.version_id != current.id:
            report.by_hand.append((c, _("written for version %(number)s, not the current one", number=c.version.number)))
        elif base_section(c).language != consultation.original_language:
            report.by_hand.append(
                (
                    c,
                    _(
                        "made on the text in %(language)s: write it into that text yourself",
                        language=i18n.language_name_in_interface(c.language),
                    ),
                )
            )
        else:
            by_section[c.section_key].append(c)

    for key, members in by_section.items():
        target, base = draft.section(key), current.section(key)
        if target is None or base is None:
            report.by_hand.extend((c, _("its section is not in the draft")) for c in members)
            continue
        if target.body.strip() != base.body.strip():
            report.by_hand.extend((c, _("its section was already changed in the draft")) for c in members)
            continue
        applied: list[tuple[Contribution, list[Edit]]] = []
        for c in members:
            changes = edits(base.body.strip(), c.amendment.proposed_text)
            clashing = [other for other, their in applied if conflict(changes, their)]
            if clashing:
                report.conflicting.append((c, clashing))
            else:
                applied.append((c, changes))
        if not applied:
            continue
        body = apply_edits(base.body.strip(), [e for _c, changes in applied for e in changes])
        target.body = body
        target.text = text.section_text(body)
        target.html = str(text.render_markdown(body))
        target.change = SectionChange.CHANGED
        for c, _changes in applied:
            db.session.add(Citation(version=draft, section_key=key, contribution=c))
            report.applied.append(c)
    db.session.flush()
    record_staff_action(
        StaffOperation.START_NEXT_VERSION,
        actor=actor,
        consultation=consultation,
        target_type=TargetType.VERSION,
        target_id=draft.id,
        detail={"version": draft.number, "applied": [c.id for c in report.applied]},
    )
    return report


def cite(version: Version, section_key: str, contribution: Contribution, *, actor: User) -> None:
    """Trace a section's change in an unpublished version to a contribution (an amendment
    applied by hand, or a comment that led to it)."""
    authorize(actor, Action.EDIT_TEXT, version.consultation)
    if version.published_at is not None:
        raise RuleViolation(_("A published version is fixed: cite contributions in the draft of the next one."))
    if version.section(section_key) is None and section_key not in {c.key for c in section_changes(version) if c.status == "removed"}:
        raise RuleViolation(_("That section is neither in the draft nor removed by it."), status=400)
    if (
        contribution.consultation_id != version.consultation_id
        or contribution.moderation_state != ModerationState.VISIBLE
        or contribution.deleted_at
    ):
        raise RuleViolation(_("There is no contribution %(number)s to cite in this consultation.", number=contribution.id), status=400)
    exists = db.session.scalar(
        select(Citation.id).where(
            Citation.version_id == version.id, Citation.section_key == section_key, Citation.contribution_id == contribution.id
        )
    )
    if exists is None:
        db.session.add(Citation(version=version, section_key=section_key, contribution=contribution))
        record_staff_action(
            StaffOperation.ADD_CITATION,
            actor=actor,
            consultation=version.consultation,
            target_type=TargetType.CONTRIBUTION,
            target_id=contribution.id,
            detail={"version": version.number, "section_key": section_key},
        )
    db.session.flush()


def cite_by_number(version: Version, section_key: str, contribution_id: int, *, actor: User) -> Contribution:
    """``cite`` the contribution numbered ``contribution_id`` (as an author types it); returns it."""
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None:
        raise RuleViolation(_("There is no contribution %(number)s to cite in this consultation.", number=contribution_id), status=400)
    cite(version, section_key, contribution, actor=actor)
    return contribution


def uncite(version: Version, section_key: str, contribution_id: int, *, actor: User) -> bool:
    """Take back a citation made in the draft by mistake. True if there was one."""
    authorize(actor, Action.EDIT_TEXT, version.consultation)
    if version.published_at is not None:
        raise RuleViolation(_("A published version is fixed: its citations stay on record."))
    gone = db.session.execute(
        delete(Citation).where(
            Citation.version_id == version.id, Citation.section_key == section_key, Citation.contribution_id == contribution_id
        )
    ).rowcount
    if gone:
        record_staff_action(
            StaffOperation.REMOVE_CITATION,
            actor=actor,
            consultation=version.consultation,
            target_type=TargetType.CONTRIBUTION,
            target_id=contribution_id,
            detail={"version": version.number, "section_key": section_key},
        )
    db.session.flush()
    return bool(gone)


CITABLE_PER_SECTION = 50


def citable_by_section(consultation: Consultation) -> dict[str, list[Contribution]]:
    """What an author may cite in the draft, per section: the visible comments, replies and
    amendments on it, newest first (at most CITABLE_PER_SECTION each, offered as suggestions
    beside the number field)."""
    ranked = (
        select(Contribution.id, func.row_number().over(partition_by=Contribution.section_key, order_by=Contribution.id.desc()).label("n"))
        .where(
            Contribution.consultation_id == consultation.id,
            Contribution.section_key.is_not(None),
            Contribution.kind.in_([ContributionKind.COMMENT, ContributionKind.REPLY, ContributionKind.AMENDMENT]),
            visible_contributions(None),
        )
        .subquery()
    )
    rows = db.session.scalars(
        select(Contribution)
        .join(ranked, ranked.c.id == Contribution.id)
        .where(ranked.c.n <= CITABLE_PER_SECTION)
        .order_by(Contribution.id.desc())
    )
    result: dict[str, list[Contribution]] = defaultdict(list)
    for contribution in rows:
        result[contribution.section_key].append(contribution)
    return dict(result)


def citations_of(version: Version) -> dict[str, list[Contribution]]:
    rows = db.session.execute(
        select(Citation.section_key, Contribution)
        .join(Contribution, Contribution.id == Citation.contribution_id)
        .where(Citation.version_id == version.id, visible_contributions(None))
        .order_by(Citation.section_key, Contribution.id)
    ).all()
    result: dict[str, list[Contribution]] = defaultdict(list)
    for key, c in rows:
        result[key].append(c)
    return dict(result)


@version_published.connect
def _mark_incorporated(sender, *, version: Version, **_):
    """Publishing a version marks the accepted amendments it cites as incorporated, and tells
    (by signals) of each amendment incorporated and of every other contribution its changes cite."""
    ids = select(Citation.contribution_id).where(Citation.version_id == version.id)
    incorporated: set[int] = set()
    for amendment in db.session.scalars(
        select(Amendment).where(
            Amendment.contribution_id.in_(ids),
            Amendment.state == AmendmentState.ANSWERED,
            Amendment.decision.in_([Decision.ACCEPTED, Decision.ACCEPTED_IN_PART]),
        )
    ):
        amendment.state = AmendmentState.INCORPORATED
        amendment.incorporated_version_id = version.id
        incorporated.add(amendment.contribution_id)
        amendment_incorporated.send(amendment.contribution, version=version)
    cited: dict[int, list[str]] = defaultdict(list)
    for key, contribution_id in db.session.execute(
        select(Citation.section_key, Citation.contribution_id).where(Citation.version_id == version.id).order_by(Citation.id)
    ):
        if contribution_id not in incorporated:
            cited[contribution_id].append(key)
    for contribution_id, keys in cited.items():
        cited_in_change.send(db.session.get(Contribution, contribution_id), version=version, section_keys=keys)
