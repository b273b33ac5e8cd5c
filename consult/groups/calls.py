"""Calls to action: published by an organisation or a group coordinator, with a goal and a deadline.

- **Who publishes.** An organisation's authors and admins on its own consultations, or a
  group's coordinators on any consultation they can see; only while the consultation is open.
- **What it asks.** Support an amendment (its support votes), comment on a section or the whole
  consultation (the people who commented since the call), come to an event (``CallPledge``
  rows: "I'll come"), sign a group's submission (its ``Signature`` rows).
- **Progress is counted, never stored**: people, each once, from the rows the call is about,
  for many calls in one query per kind (``progress_of``). A closed call counts only what came
  before it closed, so its final figure stays.
- **It closes itself** at its deadline with no request arriving: a job queued after the commit
  for the deadline, and an every-minute sweep (a conditional UPDATE: each call closed once,
  however many workers run it).
- **It is told** to the consultation's followers and, for a group's call, to the group's
  members (``call_published``; ``notifications.sources`` records the event).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, delete, func, or_, select, update

from consult.accounts.models import Organisation, User
from consult.amendments.models import Amendment
from consult.contributions.models import Contribution, ContributionKind
from consult.core import links
from consult.core.errors import RuleViolation
from consult.core.jobs import crontab, enqueue_after_commit, job
from consult.core.models import db, upsert_insert, utcnow
from consult.core.signals import signals
from consult.core.text import render_markdown
from consult.groups.models import (
    CallKind,
    CallPledge,
    CallState,
    CallToAction,
    Group,
    GroupMembership,
    GroupRole,
    GroupSubmission,
    Signature,
)
from consult.permissions import Action, authorize, can, visible_calls, visible_contributions, visible_groups
from consult.proposals.models import Consultation
from consult.voting.models import Vote

#: sent with ``call`` (just published and flushed) and ``actor`` (who published it)
call_published = signals.signal("call-published")

MAX_TITLE = 200
MAX_BODY = 10_000
MAX_LOCATION = 300
MAX_GOAL = 1_000_000
#: Kinds of contribution that count as commenting (an annotation is a comment with an anchor).
COMMENTING = (ContributionKind.COMMENT.value, ContributionKind.REPLY.value)


# ---- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far a call is towards its goal, and how long it has left."""

    count: int
    goal: int
    deadline: datetime
    closed_at: datetime | None
    now: datetime

    @property
    def percent(self) -> int:
        return min(100, math.floor(100 * self.count / self.goal)) if self.goal else 0

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def days_left(self) -> int:
        """Whole days left, rounded up (0: closes within the hour or has passed)."""
        return max(0, math.ceil((self.deadline - self.now) / timedelta(days=1)))

    @property
    def hours_left(self) -> int:
        return max(0, math.ceil((self.deadline - self.now) / timedelta(hours=1)))


def _cutoff(column):
    """Rows made before the call closed (all of them while it is open)."""
    return or_(CallToAction.closed_at.is_(None), column <= CallToAction.closed_at)


def progress_of(calls: list[CallToAction], now: datetime | None = None) -> dict[int, Progress]:
    """The progress of each call, in one query per kind of call among them."""
    now = now or utcnow()
    counts: dict[int, int] = {}
    by_kind: dict[str, list[int]] = {}
    for call in calls:
        by_kind.setdefault(call.kind, []).append(call.id)
    for kind, ids in by_kind.items():
        query = select(CallToAction.id, _counted(CallKind(kind))).where(CallToAction.id.in_(ids)).group_by(CallToAction.id)
        counts.update(dict(db.session.execute(_joined(CallKind(kind), query)).all()))
    return {
        call.id: Progress(count=counts.get(call.id, 0), goal=call.goal, deadline=call.deadline, closed_at=call.closed_at, now=now)
        for call in calls
    }


def _counted(kind: CallKind):
    column = {
        CallKind.SUPPORT: Vote.user_id,
        CallKind.SIGN: Signature.user_id,
        CallKind.ATTEND: CallPledge.user_id,
        CallKind.COMMENT: Contribution.author_id,
    }[kind]
    return func.count(func.distinct(column))


def _joined(kind: CallKind, query):
    if kind is CallKind.SUPPORT:
        on = and_(Vote.contribution_id == CallToAction.contribution_id, Vote.value == "support", _cutoff(Vote.updated_at))
        return query.join(Vote, on)
    if kind is CallKind.SIGN:
        return query.join(Signature, and_(Signature.contribution_id == CallToAction.contribution_id, _cutoff(Signature.created_at)))
    if kind is CallKind.ATTEND:
        return query.join(CallPledge, and_(CallPledge.call_id == CallToAction.id, _cutoff(CallPledge.created_at)))
    on = and_(
        Contribution.consultation_id == CallToAction.consultation_id,
        Contribution.kind.in_(COMMENTING),
        Contribution.created_at >= CallToAction.created_at,
        or_(CallToAction.section_key.is_(None), Contribution.section_key == CallToAction.section_key),
        _cutoff(Contribution.created_at),
        visible_contributions(None),
    )
    return query.join(Contribution, on)


def get_visible_call(viewer: User | None, call_id: int) -> CallToAction | None:
    return db.session.scalar(select(CallToAction).where(CallToAction.id == call_id, visible_calls(viewer)))


@dataclass(frozen=True)
class CallCard:
    """A call as lists show it (the consultation page, a group's page)."""

    call: CallToAction
    progress: Progress

    @property
    def title(self) -> str:
        return self.call.title

    @property
    def url(self) -> str:
        return links.path("calls.page", call_id=self.call.id)

    @property
    def closes_at(self) -> datetime:
        return self.call.deadline

    @property
    def publisher(self) -> str:
        return publisher_name(self.call)


def publisher_name(call: CallToAction) -> str:
    return call.group.name if call.group is not None else call.organisation.name  # type: ignore[union-attr]


def _cards(calls: list[CallToAction]) -> list[CallCard]:
    progress = progress_of(calls)
    return [CallCard(call, progress[call.id]) for call in calls]


def open_calls_of(consultation: Consultation, viewer: User | None) -> list[CallCard]:
    """The consultation's open calls the viewer may see, soonest deadline first."""
    calls = db.session.scalars(
        select(CallToAction)
        .where(CallToAction.consultation_id == consultation.id, CallToAction.state == CallState.OPEN, visible_calls(viewer))
        .order_by(CallToAction.deadline, CallToAction.id)
    ).all()
    return _cards(list(calls))


def group_panel(group: Group, viewer: User | None) -> dict[str, Any]:
    """What the group page shows of the group's calls to action (``groups/_calls_panel.html``)."""
    calls = db.session.scalars(
        select(CallToAction)
        .where(CallToAction.group_id == group.id, visible_calls(viewer))
        .order_by(CallToAction.state.desc(), CallToAction.deadline.desc(), CallToAction.id.desc())
        .limit(50)
    ).all()
    cards = _cards(list(calls))
    return {
        "calls_open": [c for c in cards if c.call.is_open],
        "calls_closed": [c for c in cards if not c.call.is_open],
        "calls_can_publish": can(viewer, Action.PUBLISH_CALL, group),
    }


def has_pledged(viewer: User | None, call: CallToAction) -> bool:
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    return db.session.scalar(select(CallPledge.id).where(CallPledge.call_id == call.id, CallPledge.user_id == viewer.id)) is not None


def action_link(call: CallToAction) -> tuple[str, dict[str, Any], str]:
    """Where a person goes to do what the call asks: the endpoint, its values and a fragment."""
    slug = call.consultation.slug
    contribution = call.contribution
    if call.kind == CallKind.SUPPORT and contribution is not None and contribution.amendment is not None:
        return "amendments.numbered", {"slug": slug, "number": contribution.amendment.number}, ""
    if call.kind == CallKind.SIGN and contribution is not None:
        if contribution.kind == ContributionKind.AMENDMENT:
            return "amendments.show", {"contribution_id": contribution.id}, ""
        return "comments.show", {"contribution_id": contribution.id}, ""
    if call.kind == CallKind.COMMENT and call.section_key:
        return "comments.section", {"slug": slug, "key": call.section_key}, ""
    return "proposals.consultation", {"slug": slug}, "#take-part"


# ---- what a call can be published for and about ----------------------------------------------


def publishers_for(user: User, consultation: Consultation) -> list[Organisation | Group]:
    """Who ``user`` may publish a call for on ``consultation``: its organisation (its authors
    and admins) and the groups they coordinate."""
    found: list[Organisation | Group] = []
    if can(user, Action.PUBLISH_CALL, consultation.organisation):
        found.append(consultation.organisation)
    groups = db.session.scalars(
        select(Group)
        .join(GroupMembership, GroupMembership.group_id == Group.id)
        .where(GroupMembership.user_id == user.id, GroupMembership.role == GroupRole.COORDINATOR, visible_groups(None))
        .order_by(Group.name)
    ).all()
    found.extend(g for g in groups if can(user, Action.PUBLISH_CALL, g))
    return found


def amendments_to_support(consultation: Consultation) -> list[Amendment]:
    """The amendments of the consultation a call may ask people to support (shown, not withdrawn)."""
    return list(
        db.session.scalars(
            select(Amendment)
            .join(Contribution, Contribution.id == Amendment.contribution_id)
            .where(Amendment.consultation_id == consultation.id, Amendment.state == "open", visible_contributions(None))
            .order_by(Amendment.number)
        )
    )


def submissions_to_sign(consultation: Consultation) -> list[tuple[Contribution, Group]]:
    """The group submissions of the consultation a call may ask people to sign."""
    rows = db.session.execute(
        select(Contribution, Group)
        .join(GroupSubmission, GroupSubmission.contribution_id == Contribution.id)
        .join(Group, Group.id == GroupSubmission.group_id)
        .where(Contribution.consultation_id == consultation.id, visible_contributions(None), Group.state == "visible")
        .order_by(Contribution.id)
    ).all()
    return [(c, g) for c, g in rows]


def sections_of(consultation: Consultation) -> list[tuple[str, str]]:
    version = consultation.current_version
    return [(s.key, s.heading) for s in version.sections] if version is not None else []


# ---- publishing, changing and closing --------------------------------------------------------


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _check_details(
    consultation: Consultation,
    kind: CallKind,
    *,
    title: str,
    body: str,
    goal: int | None,
    deadline: datetime | None,
    event_starts_at: datetime | None,
    event_ends_at: datetime | None,
    location: str,
    now: datetime,
) -> tuple[str, str, int, datetime, str]:
    title, body, location = " ".join((title or "").split()), (body or "").strip(), " ".join((location or "").split())
    if not title:
        raise RuleViolation(_("Give the call a title."), status=400, field="title")
    if len(title) > MAX_TITLE:
        raise RuleViolation(_("Keep the title to %(most)s characters.", most=MAX_TITLE), status=400, field="title")
    if len(body) > MAX_BODY:
        raise RuleViolation(_("Keep the text to %(most)s characters.", most=MAX_BODY), status=400, field="body")
    if goal is None or not 1 <= goal <= MAX_GOAL:
        raise RuleViolation(_("Set a goal between 1 and %(most)s people.", most=f"{MAX_GOAL:,}"), status=400, field="goal")
    if kind is CallKind.ATTEND:
        if event_starts_at is None:
            raise RuleViolation(_("Say when the event starts."), status=400, field="event_starts_at")
        if event_starts_at <= now:
            raise RuleViolation(_("The event must start in the future."), status=400, field="event_starts_at")
        if event_ends_at is not None and event_ends_at < event_starts_at:
            raise RuleViolation(_("The event cannot end before it starts."), status=400, field="event_ends_at")
        if not location:
            raise RuleViolation(_("Say where the event takes place."), status=400, field="location")
        if len(location) > MAX_LOCATION:
            raise RuleViolation(_("Keep the place to %(most)s characters.", most=MAX_LOCATION), status=400, field="location")
        deadline = deadline or event_starts_at
        if deadline > event_starts_at:
            raise RuleViolation(_("The deadline cannot be after the event starts."), status=400, field="deadline")
    if deadline is None:
        raise RuleViolation(_("Set a deadline."), status=400, field="deadline")
    if deadline <= now:
        raise RuleViolation(_("The deadline must be in the future."), status=400, field="deadline")
    if kind is not CallKind.ATTEND and consultation.closes_at is not None and deadline > consultation.closes_at:
        raise RuleViolation(_("The deadline cannot be after the consultation closes."), status=400, field="deadline")
    return title, body, goal, deadline, location


def _target(
    consultation: Consultation, kind: CallKind, amendment: str | None, submission_id: int | None, section_key: str | None
) -> tuple[int | None, str | None]:
    """The contribution (support, sign) or section (comment) a call is about."""
    if kind is CallKind.SUPPORT:
        label = (amendment or "").strip().upper().removeprefix("A")
        found = next((a for a in amendments_to_support(consultation) if label.isdigit() and a.number == int(label)), None)
        if found is None:
            raise RuleViolation(_("Choose an amendment of this consultation that is open for support."), status=400, field="amendment")
        return found.contribution_id, None
    if kind is CallKind.SIGN:
        found_c = next((c for c, _g in submissions_to_sign(consultation) if c.id == submission_id), None)
        if found_c is None:
            raise RuleViolation(_("Choose a group's submission on this consultation."), status=400, field="submission")
        return found_c.id, None
    if kind is CallKind.COMMENT and section_key:
        if section_key not in dict(sections_of(consultation)):
            raise RuleViolation(_("Choose a section of the text."), status=400, field="section_key")
        return None, section_key
    return None, None


def publish_call(
    consultation: Consultation,
    *,
    actor: User,
    publisher: Organisation | Group,
    kind: str,
    title: str,
    body: str = "",
    goal: int | None,
    deadline: datetime | None,
    amendment: str | None = None,
    submission_id: int | None = None,
    section_key: str | None = None,
    event_starts_at: datetime | None = None,
    event_ends_at: datetime | None = None,
    location: str = "",
    language: str = "en",
    now: datetime | None = None,
) -> CallToAction:
    """Publish a call to action on an open consultation the actor can see, for an organisation
    (its own consultation) or a group they coordinate; told to followers and members, closed
    by the job at its deadline."""
    authorize(actor, Action.PUBLISH_CALL, publisher)
    authorize(actor, Action.VIEW_CONSULTATION, consultation)
    now = now or utcnow()
    if isinstance(publisher, Organisation) and publisher.id != consultation.organisation_id:
        raise RuleViolation(_("An organisation publishes calls on its own consultations only."), status=400, field="publisher")
    if not consultation.accepts_contributions(now):
        raise RuleViolation(_("Calls to action are published while the consultation is open."), status=409)
    try:
        call_kind = CallKind(kind)
    except ValueError:
        raise RuleViolation(_("Choose what the call asks people to do."), status=400, field="kind") from None
    title, body, goal, deadline, location = _check_details(
        consultation,
        call_kind,
        title=title,
        body=body,
        goal=goal,
        deadline=_aware(deadline),
        event_starts_at=_aware(event_starts_at),
        event_ends_at=_aware(event_ends_at),
        location=location,
        now=now,
    )
    contribution_id, section = _target(consultation, call_kind, amendment, submission_id, section_key)
    attend = call_kind is CallKind.ATTEND
    call = CallToAction(
        consultation_id=consultation.id,
        organisation_id=publisher.id if isinstance(publisher, Organisation) else None,
        group_id=publisher.id if isinstance(publisher, Group) else None,
        kind=call_kind.value,
        contribution_id=contribution_id,
        section_key=section,
        title=title,
        body=body,
        body_html=str(render_markdown(body)) if body else "",
        language=language,
        goal=goal,
        deadline=deadline,
        event_starts_at=_aware(event_starts_at) if attend else None,
        event_ends_at=_aware(event_ends_at) if attend else None,
        location=location if attend else "",
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(call)
    db.session.flush()
    schedule_closing(call)
    call_published.send(call, actor=actor)
    return call


def update_call(
    call: CallToAction,
    *,
    actor: User,
    title: str,
    body: str,
    goal: int | None,
    deadline: datetime | None,
    event_starts_at: datetime | None = None,
    event_ends_at: datetime | None = None,
    location: str = "",
    now: datetime | None = None,
) -> None:
    """Change an open call's words, goal, deadline or event (not what it asks people to do)."""
    authorize(actor, Action.MANAGE_CALL, call)
    if not call.is_open:
        raise RuleViolation(_("This call is closed; it can no longer be changed."), status=409)
    now = now or utcnow()
    kind = CallKind(call.kind)
    title, body, goal, deadline, location = _check_details(
        call.consultation,
        kind,
        title=title,
        body=body,
        goal=goal,
        deadline=_aware(deadline),
        event_starts_at=_aware(event_starts_at),
        event_ends_at=_aware(event_ends_at),
        location=location,
        now=now,
    )
    call.title, call.body, call.goal, call.deadline = title, body, goal, deadline
    call.body_html = str(render_markdown(body)) if body else ""
    if kind is CallKind.ATTEND:
        call.event_starts_at, call.event_ends_at, call.location = _aware(event_starts_at), _aware(event_ends_at), location
    db.session.flush()
    schedule_closing(call)


def close_call(call: CallToAction, *, actor: User, now: datetime | None = None) -> bool:
    """Close a call early. A conditional UPDATE: False when it was closed already."""
    authorize(actor, Action.MANAGE_CALL, call)
    now = now or utcnow()
    closed = db.session.execute(
        update(CallToAction)
        .where(CallToAction.id == call.id, CallToAction.state == CallState.OPEN)
        .values(state=CallState.CLOSED, closed_at=now)
        .returning(CallToAction.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.refresh(call)
    return bool(closed)


def schedule_closing(call: CallToAction) -> None:
    """Once this transaction commits, queue ``close_calls_by_deadline`` for the call's deadline
    (the every-minute run catches anything missed: a moved deadline, a worker that was down)."""
    if call.deadline > utcnow():
        enqueue_after_commit(close_calls_by_deadline, eta=call.deadline)


@job(periodic=crontab(minute="*"))
def close_calls_by_deadline() -> None:
    """The job behind closing calls at their deadline: every minute, and at each deadline."""
    close_due_calls()


def close_due_calls(now: datetime | None = None) -> int:
    """Close the open calls whose deadline has passed, dated at their deadline. A conditional
    UPDATE, so two workers close each call once. Returns how many this run closed."""
    now = now or utcnow()
    closed = db.session.scalars(
        update(CallToAction)
        .where(CallToAction.state == CallState.OPEN, CallToAction.deadline <= now)
        .values(state=CallState.CLOSED, closed_at=CallToAction.deadline)
        .returning(CallToAction.id)
        .execution_options(synchronize_session=False)
    ).all()
    if closed:
        db.session.expire_all()
    return len(closed)


# ---- pledging to come ----------------------------------------------------------------------


def pledge(call: CallToAction, *, actor: User) -> bool:
    """``actor`` says they will come to the call's event; once (a double click adds nothing).
    Returns whether this added the pledge."""
    authorize(actor, Action.PLEDGE, call)
    statement = (
        upsert_insert(CallPledge)
        .values(call_id=call.id, user_id=actor.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["call_id", "user_id"])
        .returning(CallPledge.id)
    )
    return db.session.scalar(statement) is not None


def withdraw_pledge(call: CallToAction, *, actor: User) -> bool:
    """``actor`` can't come after all (while the call is open). Returns whether a pledge went."""
    authorize(actor, Action.PLEDGE, call)
    gone = db.session.execute(
        delete(CallPledge).where(CallPledge.call_id == call.id, CallPledge.user_id == actor.id).returning(CallPledge.id)
    ).all()
    return bool(gone)


# ---- iCalendar -----------------------------------------------------------------------------


def _ics_text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    """Fold a content line at 75 octets (continuations start with a space), never inside a
    UTF-8 character."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        limit = 75 if not out else 74  # a continuation's leading space counts
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _ics_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_of(call: CallToAction, *, url: str, host: str, now: datetime | None = None) -> str:
    """The call as an iCalendar file (RFC 5545): the event of an attend call, else the
    deadline as a reminder."""
    now = now or utcnow()
    if call.kind == CallKind.ATTEND and call.event_starts_at is not None:
        start = call.event_starts_at
        end = call.event_ends_at or start + timedelta(hours=1)
        summary = call.title
    else:
        start = end = call.deadline
        summary = _("Deadline: %(title)s", title=call.title)
    description = f"{call.body}\n\n{url}" if call.body else url
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Consult//Calls to action//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:call-{call.id}@{host}",
        f"DTSTAMP:{_ics_time(now)}",
        f"DTSTART:{_ics_time(start)}",
        f"DTEND:{_ics_time(end)}",
        f"SUMMARY:{_ics_text(summary)}",
    ]
    if call.location:
        lines.append(f"LOCATION:{_ics_text(call.location)}")
    lines += [
        f"DESCRIPTION:{_ics_text(description)}",
        f"URL:{url}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_ics_fold(line) + "\r\n" for line in lines)
