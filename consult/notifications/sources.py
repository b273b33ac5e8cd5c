"""Where events come from: receivers of the domains' signals (``consult.core.signals``) that
record each kind of event once, in the unit of work where it happens, and follow what a person
takes part in; and the hourly job that tells a consultation is closing soon.

The domains never import notifications: they send signals, and these receivers call
``services.record_event`` (fanned out after the commit, so nothing is told about work that
rolled back). What is told, and to whom (``services.follower_targets``):

- **A contribution, once, when the public first sees it**: as it is posted, or, when it waited
  for a moderator, when it is approved (or restored); never while it waits. The dedupe key
  ``posted:ID`` keeps that to once however it comes to be shown.
  A reply: REPLY to the author of what it answers and to the thread's followers. A comment:
  NEW_COMMENT to its section's followers (a comment on the whole consultation: the
  consultation's). An amendment: NEW_AMENDMENT to the consultation's and its section's
  followers. Replies are not NEW_COMMENTs of their section: a thread is followed for them. A
  statement (the opinion map) tells nobody: statements are many and short, voted on one by one.
- **Taking part follows** (``follow_when_taking_part``: unless the person turned that off, or
  unfollowed it before): a comment its thread and the consultation; a reply its thread; an
  amendment itself and the consultation; co-supporting an amendment, the amendment (a
  co-signatory wants to hear its answer); a statement, the consultation. A vote follows
  nothing: votes are many and quiet (a click on each of dozens of amendments, sections and
  statements), and following everything voted on would turn a few clicks into a stream of
  notifications about other people's work.
- **What became of it**: AMENDMENT_ANSWERED (decision and reason; each new answer: an answer
  can be revised until the outcome); AMENDMENT_INCORPORATED (the version that contains it);
  CITED_IN_CHANGE (a contribution cited by the changed sections of a newly published version,
  other than an amendment it incorporates: that one hears "incorporated", once);
  CITED_IN_SUMMARY when the summaries are published, at the conclusion (until then they are the
  moderators' working notes, which the public may not read); ANCHOR_MOVED for each annotation
  placed on a new version as changed, moved or orphaned (not one that was orphaned already: its
  author heard then); HIDDEN (with the public reason, by a moderator or after reports) and
  RESTORED. Told to the author (never if they did it themselves), and where the kind says so
  to the contribution's followers.
- **The consultation's life**, to its followers: OPENED (reopening too), CLOSED, CONCLUDED (to
  everyone who took part as well), VERSION_PUBLISHED, and CLOSING_SOON from the hourly job
  (its dedupe key names the closing date: a rerun tells nobody again, a new date tells again).
  Nothing is recorded about a draft (``record_event`` refuses).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from consult.accounts.models import User
from consult.contributions.models import Contribution, ContributionKind, ModerationState
from consult.core.jobs import crontab, job
from consult.core.models import db, utcnow
from consult.core.signals import (
    amendment_answered,
    amendment_incorporated,
    amendment_supported,
    annotations_reanchored,
    cited_in_change,
    consultation_state_changed,
    contribution_approved,
    contribution_hidden,
    contribution_posted,
    contribution_restored,
    version_published,
)
from consult.groups.calls import call_published
from consult.groups.models import CallToAction, Signature
from consult.moderation.models import SectionSummary, SummaryCitation, Theme
from consult.notifications.models import EventKind, Follow
from consult.notifications.services import CONSULTATION, contribution_target, follow_when_taking_part, record_event
from consult.proposals.models import Consultation, ConsultationState, Version

#: How long before its closing date a consultation's followers are reminded.
CLOSING_SOON = timedelta(days=3)

#: The event a contribution makes when the public first sees it, by kind (statements: none).
POSTED_EVENTS = {
    ContributionKind.REPLY: EventKind.REPLY,
    ContributionKind.COMMENT: EventKind.NEW_COMMENT,
    ContributionKind.AMENDMENT: EventKind.NEW_AMENDMENT,
}


def _publisher(version: Version) -> User | None:
    return db.session.get(User, version.published_by_id) if version.published_by_id is not None else None


def tell_author(kind: EventKind, contribution: Contribution, *, actor: User | None, **details: Any) -> int | None:
    """Record an event about ``contribution`` addressed to its author (and, for the kinds that
    say so, its followers); nothing about one its author deleted."""
    if contribution.is_deleted:
        return None
    return record_event(kind, contribution.consultation, actor=actor, recipient=contribution.author, contribution=contribution, **details)


# ---- contributions -------------------------------------------------------------------------


def taking_part_targets(contribution: Contribution) -> list[str]:
    """What posting ``contribution`` follows (see the module docstring)."""
    kind = ContributionKind(contribution.kind)
    if kind is ContributionKind.REPLY:
        return [contribution_target(contribution.thread_id or contribution.id)]
    if kind in (ContributionKind.COMMENT, ContributionKind.AMENDMENT):
        return [contribution_target(contribution), CONSULTATION]
    return [CONSULTATION]


def announce(contribution: Contribution) -> int | None:
    """Record the event a contribution makes when the public first sees it: now, if it is shown
    (not waiting for a moderator, hidden or deleted), and only once (``posted:ID``)."""
    kind = POSTED_EVENTS.get(ContributionKind(contribution.kind))
    if kind is None or contribution.moderation_state != ModerationState.VISIBLE or contribution.is_deleted:
        return None
    recipient = None
    if kind is EventKind.REPLY:
        parent = contribution.parent
        recipient = parent.author if parent is not None and not parent.is_deleted else None
    return record_event(
        kind,
        contribution.consultation,
        actor=contribution.author,
        recipient=recipient,
        contribution=contribution,
        dedupe_key=f"posted:{contribution.id}",
    )


@contribution_posted.connect
def _on_posted(contribution: Contribution, *, actor: User, **_) -> None:
    follow_when_taking_part(actor, contribution.consultation, taking_part_targets(contribution))
    announce(contribution)


@contribution_approved.connect
def _on_approved(contribution: Contribution, **_) -> None:
    announce(contribution)


@contribution_hidden.connect
def _on_hidden(contribution: Contribution, *, actor: User | None, reason: str, **_) -> None:
    tell_author(EventKind.HIDDEN, contribution, actor=actor, data={"reason": reason})


@contribution_restored.connect
def _on_restored(contribution: Contribution, *, actor: User, **_) -> None:
    tell_author(EventKind.RESTORED, contribution, actor=actor)
    announce(contribution)  # held, hidden and then restored: the public sees it for the first time


# ---- amendments and citations --------------------------------------------------------------


@amendment_supported.connect
def _on_supported(contribution: Contribution, *, actor: User, **_) -> None:
    follow_when_taking_part(actor, contribution.consultation, [contribution_target(contribution)])


@amendment_answered.connect
def _on_answered(contribution: Contribution, *, actor: User, decision: str, reason: str, **_) -> None:
    tell_author(EventKind.AMENDMENT_ANSWERED, contribution, actor=actor, data={"decision": decision, "reason": reason})
    tell_signers(contribution, actor=actor, decision=decision, reason=reason)


# issue 20 (drafts): the organisation's answer to a group's amendment reaches every signer
def tell_signers(contribution: Contribution, *, actor: User | None, decision: str, reason: str) -> int:
    """A personal AMENDMENT_ANSWERED to each person who signed a group's amendment, once per
    answer (its dedupe key names the signer and the answer's date): not to its author (told
    above), nor to a signer who follows the amendment (the followers' event reaches them).
    Addressed to the signer alone (``data["signer"]``: not to the amendment's followers again).
    Returns how many events were recorded."""
    if contribution.is_deleted or contribution.amendment is None:
        return 0
    followers = select(Follow.user_id).where(
        Follow.consultation_id == contribution.consultation_id, Follow.target == contribution_target(contribution), Follow.active
    )
    signers = db.session.scalars(
        select(User)
        .join(Signature, Signature.user_id == User.id)
        .where(Signature.contribution_id == contribution.id, User.id.not_in(followers))
        .order_by(Signature.id)
    )
    stamp = contribution.amendment.answered_at.isoformat() if contribution.amendment.answered_at else ""
    told = 0
    for signer in signers:
        if signer.id == contribution.author_id:
            continue
        told += (
            record_event(
                EventKind.AMENDMENT_ANSWERED,
                contribution.consultation,
                actor=actor,
                recipient=signer,
                contribution=contribution,
                data={"decision": decision, "reason": reason, "signer": True},
                dedupe_key=f"answered:{contribution.id}:{stamp}:signer:{signer.id}",
            )
            is not None
        )
    return told


@amendment_incorporated.connect
def _on_incorporated(contribution: Contribution, *, version: Version, **_) -> None:
    tell_author(
        EventKind.AMENDMENT_INCORPORATED,
        contribution,
        actor=_publisher(version),
        version=version,
        data={"version": version.number},
        dedupe_key=f"incorporated:{version.id}:{contribution.id}",
    )


@cited_in_change.connect
def _on_cited_in_change(contribution: Contribution, *, version: Version, section_keys: list[str], **_) -> None:
    tell_author(
        EventKind.CITED_IN_CHANGE,
        contribution,
        actor=_publisher(version),
        section_key=section_keys[0] if section_keys else None,
        version=version,
        data={"version": version.number, "section_keys": section_keys},
        dedupe_key=f"cited-in-change:{version.id}:{contribution.id}",
    )


def tell_cited_in_summaries(consultation: Consultation, *, actor: User | None) -> int:
    """CITED_IN_SUMMARY to the author of each contribution the published summaries cite, one
    per contribution naming every theme and section whose summary cites it. Returns how many."""
    rows = db.session.execute(
        select(SummaryCitation.contribution_id, Theme.name, SectionSummary.section_key)
        .join(Contribution, Contribution.id == SummaryCitation.contribution_id)
        .outerjoin(Theme, Theme.id == SummaryCitation.theme_id)
        .outerjoin(SectionSummary, SectionSummary.id == SummaryCitation.section_summary_id)
        .where(Contribution.consultation_id == consultation.id)
        .order_by(SummaryCitation.contribution_id, SummaryCitation.id)
    ).all()
    cited: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"themes": [], "section_keys": []})
    for contribution_id, theme, section_key in rows:
        if theme is not None:
            cited[contribution_id]["themes"].append(theme)
        if section_key is not None:
            cited[contribution_id]["section_keys"].append(section_key)
    contributions = _contributions(cited)
    recorded = 0
    for contribution_id, data in cited.items():
        event_id = tell_author(
            EventKind.CITED_IN_SUMMARY,
            contributions[contribution_id],
            actor=actor,
            data=data,
            dedupe_key=f"cited-in-summary:{contribution_id}",
        )
        recorded += event_id is not None
    return recorded


def _contributions(ids: Iterable[int]) -> dict[int, Contribution]:
    ids = list(ids)
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Contribution).where(Contribution.id.in_(ids)))}


# ---- versions and annotations --------------------------------------------------------------


@version_published.connect
def _on_version_published(consultation: Consultation, *, version: Version, **_) -> None:
    record_event(
        EventKind.VERSION_PUBLISHED,
        consultation,
        actor=_publisher(version),
        version=version,
        data={"version": version.number},
        dedupe_key=f"version:{version.id}",
    )


@annotations_reanchored.connect
def _on_reanchored(version: Version, *, placements: list[tuple[int, str, str | None]], **_) -> None:
    """ANCHOR_MOVED to the author of each annotation placed on ``version`` as changed, moved or
    orphaned; one still on its words tells nobody."""
    touched = [(cid, state, key) for cid, state, key in placements if state != "anchored"]
    contributions = _contributions(cid for cid, _, _ in touched)
    actor = _publisher(version)
    for contribution_id, state, section_key in touched:
        tell_author(
            EventKind.ANCHOR_MOVED,
            contributions[contribution_id],
            actor=actor,
            section_key=section_key,
            version=version,
            data={"state": state, "version": version.number},
            dedupe_key=f"reanchored:{version.id}:{contribution_id}",
        )


# ---- the consultation's life ---------------------------------------------------------------


@consultation_state_changed.connect
def _on_state_changed(consultation: Consultation, *, previous: str, actor: User | None, **_) -> None:
    state = ConsultationState(consultation.state)
    if state is ConsultationState.OPEN:
        record_event(EventKind.OPENED, consultation, actor=actor, data={"reopened": previous == ConsultationState.CLOSED})
    elif state is ConsultationState.CLOSED:
        record_event(EventKind.CLOSED, consultation, actor=actor)
    elif state is ConsultationState.CONCLUDED:
        record_event(EventKind.CONCLUDED, consultation, actor=actor)
        tell_cited_in_summaries(consultation, actor=actor)


def tell_closing_soon(now: datetime | None = None) -> int:
    """CLOSING_SOON to the followers of each open consultation that closes within
    ``CLOSING_SOON``: once per closing date (a rerun tells nobody again; a new closing date
    tells again). Returns how many were recorded by this run."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Consultation)
        .where(
            Consultation.state == ConsultationState.OPEN,
            Consultation.closes_at > now,
            Consultation.closes_at <= now + CLOSING_SOON,
        )
        .order_by(Consultation.id)
    ).all()
    recorded = 0
    for consultation in due:
        closes = consultation.closes_at.astimezone(UTC).isoformat(timespec="seconds")  # type: ignore[union-attr]
        event_id = record_event(
            EventKind.CLOSING_SOON, consultation, data={"closes_at": closes}, dedupe_key=f"closing-soon:{consultation.id}:{closes}"
        )
        recorded += event_id is not None
    return recorded


@job(periodic=crontab(minute="0"))
def remind_closing_soon() -> None:
    """Every hour: tell the followers of consultations closing within three days."""
    tell_closing_soon()


# ---- calls to action (issue 20, calls helper) --------------------------------------------------


@call_published.connect
def _on_call_published(call: CallToAction, *, actor: User, **_) -> None:
    """CALL_PUBLISHED to the consultation's followers and, for a group's call, the group's
    members (``services._audience`` adds them, from ``data["group"]``), each once."""
    record_event(
        EventKind.CALL_PUBLISHED,
        call.consultation,
        actor=actor,
        data={"call": call.id, "group": call.group_id},
        dedupe_key=f"call:{call.id}",
    )
