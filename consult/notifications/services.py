"""Following, recording events and fanning them out into notifications.

The rules (every event kind in ``models.EventKind``):

- **Recorded once, in the unit of work that made it happen.** ``record_event`` adds the row;
  ``fan_out`` runs as a job after that commits, so a request costs one INSERT however many
  people follow, and nothing is told about work that rolled back. An event with a
  ``dedupe_key`` is recorded at most once, whoever records it.
- **Who is told.** The event's ``recipient`` (personal kinds: the author of the reply's
  parent, of the answered amendment, of the hidden comment), the followers of its targets
  (``follower_targets``), and for ``concluded`` everyone who took part. Never the person who
  made it happen (``actor``). Never anything about a consultation the public cannot see (a
  draft). About a contribution the public cannot see (waiting for a moderator, hidden,
  deleted, its author blocked), only its own author, and only of kinds about their own
  contribution (hidden, restored...).
- **Exactly once per person.** ``notifications`` is unique per (person, event) and the
  fan-out inserts with ON CONFLICT DO NOTHING, so a retried or repeated fan-out tells nobody
  twice. One INSERT ... SELECT per event, whatever the number of followers.
- **Delivery** of each notification is read from the person's settings at fan-out
  (``DEFAULT_DELIVERY`` without a row): see ``delivery.py`` for mail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, literal, select, union, update
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import Select

from consult.accounts.models import User
from consult.contributions.models import Contribution
from consult.core.errors import RuleViolation
from consult.core.jobs import crontab, enqueue, enqueue_after_commit, job
from consult.core.models import db, upsert_insert, utcnow
from consult.core.signals import notifications_made
from consult.groups.models import GroupMembership
from consult.notifications.models import (
    ACCOUNT_KINDS,
    DEFAULT_DELIVERY,
    PERSONAL_KINDS,
    Delivery,
    Event,
    EventKind,
    Follow,
    Notification,
    NotificationPreferences,
    NotificationSetting,
)
from consult.permissions import Action, authorize, visible_contributions
from consult.proposals.models import PUBLIC_STATES, Consultation, Version

log = logging.getLogger(__name__)

CONSULTATION = "consultation"
#: Events not fanned out this long after they were recorded are picked up by the sweep
#: (a queue that was down at commit, a worker killed mid-run).
SWEEP_AFTER = timedelta(minutes=1)
SWEEP_BATCH = 100


# ---- targets -------------------------------------------------------------------------------


def section_target(key: str) -> str:
    return f"section:{key}"


def contribution_target(contribution: Contribution | int) -> str:
    return f"contribution:{contribution if isinstance(contribution, int) else contribution.id}"


#: Kinds about one person's contribution that also reach its followers: recorded without a
#: recipient when there is nobody else to address (a reply to one's own comment still reaches
#: the thread's followers; an answer to an amendment whose author left, its followers).
FOLLOWED_PERSONAL_KINDS = frozenset({EventKind.REPLY, EventKind.AMENDMENT_ANSWERED, EventKind.AMENDMENT_INCORPORATED})


def follower_targets(event: Event) -> list[str]:
    """Which follows an event reaches, by kind (see the module docstring for the rest).

    - a reply: followers of its thread;
    - a new comment: followers of its section (a comment on the whole consultation: of the
      consultation). Following a consultation does not bring every comment: that is the noise
      people leave a platform over; follow a section or a thread for that;
    - a new amendment: followers of the consultation and of its section;
    - an amendment answered or built into a version: followers of that amendment;
    - the consultation's life (opened, closing soon, closed, concluded, a new version, an
      author's update): followers of the consultation;
    - the rest (cited, re-anchored, hidden, restored) concern only the author.
    """
    kind = EventKind(event.kind)
    contribution = event.contribution
    if kind is EventKind.REPLY and contribution is not None:
        return [contribution_target(contribution.thread_id or contribution.id)]
    if kind is EventKind.NEW_COMMENT:
        return [section_target(event.section_key)] if event.section_key else [CONSULTATION]
    if kind is EventKind.NEW_AMENDMENT:
        return [CONSULTATION] + ([section_target(event.section_key)] if event.section_key else [])
    if kind is EventKind.AMENDMENT_ANSWERED and (event.data or {}).get("signer"):
        return []  # issue 20 (drafts): a signer's own copy of the answer, to them alone
    if kind in (EventKind.AMENDMENT_ANSWERED, EventKind.AMENDMENT_INCORPORATED) and contribution is not None:
        return [contribution_target(contribution)]
    if kind in PERSONAL_KINDS:
        return []
    return [CONSULTATION]


# ---- following -----------------------------------------------------------------------------


def _check_target(consultation: Consultation, target: str) -> None:
    if target == CONSULTATION:
        return
    kind, _colon, value = target.partition(":")
    if kind == "section" and value:
        if any(v.section(value) for v in consultation.published_versions):
            return
    elif kind == "contribution" and value.isdigit():
        found = db.session.scalar(
            select(Contribution.id).where(
                Contribution.id == int(value),
                Contribution.consultation_id == consultation.id,
                visible_contributions(None),
            )
        )
        if found:
            return
    raise RuleViolation(_("There is nothing here to follow."), status=404)


def follow(consultation: Consultation, target: str = CONSULTATION, *, actor: User) -> None:
    """Follow a consultation, one of its sections (``section:KEY``) or one of its public
    contributions (``contribution:ID``): asked for, so it undoes an earlier unfollow."""
    authorize(actor, Action.FOLLOW, consultation)
    _check_target(consultation, target)
    statement = (
        upsert_insert(Follow)
        .values(user_id=actor.id, consultation_id=consultation.id, target=target, active=True, automatic=False, created_at=utcnow())
        .on_conflict_do_update(index_elements=["user_id", "consultation_id", "target"], set_={"active": True, "automatic": False})
    )
    db.session.execute(statement)


def unfollow(consultation: Consultation, target: str = CONSULTATION, *, actor: User | None = None, user: User | None = None) -> None:
    """Stop following. The row stays, inactive, so that taking part again does not follow
    again. ``user`` without ``actor``: a signed unsubscribe link, already checked."""
    person = actor or user
    if person is None:
        raise ValueError("unfollow needs the person")
    if actor is not None and not _has_follow(person, consultation, target):
        _check_target(consultation, target)  # a made-up target is refused, not stored
    statement = (
        upsert_insert(Follow)
        .values(user_id=person.id, consultation_id=consultation.id, target=target, active=False, automatic=False, created_at=utcnow())
        .on_conflict_do_update(index_elements=["user_id", "consultation_id", "target"], set_={"active": False})
    )
    db.session.execute(statement)


def _has_follow(user: User, consultation: Consultation, target: str) -> bool:
    return (
        db.session.scalar(
            select(Follow.id).where(Follow.user_id == user.id, Follow.consultation_id == consultation.id, Follow.target == target)
        )
        is not None
    )


def follow_when_taking_part(user: User, consultation: Consultation, targets: Iterable[str]) -> None:
    """Follow what a person just took part in, unless they turned that off or unfollowed it
    before. Called by the services that add contributions (through their signals)."""
    wants = db.session.scalar(select(NotificationPreferences.follow_when_taking_part).where(NotificationPreferences.user_id == user.id))
    if wants is False:
        return
    for target in dict.fromkeys(targets):
        statement = (
            upsert_insert(Follow)
            .values(user_id=user.id, consultation_id=consultation.id, target=target, active=True, automatic=True, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["user_id", "consultation_id", "target"])
        )
        db.session.execute(statement)


def is_following(user: User | None, consultation: Consultation, target: str = CONSULTATION) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return bool(
        db.session.scalar(
            select(Follow.active).where(Follow.user_id == user.id, Follow.consultation_id == consultation.id, Follow.target == target)
        )
    )


def followed_targets(user: User | None, consultation: Consultation) -> set[str]:
    """What a person follows in one consultation (``consultation``, ``section:KEY``,
    ``contribution:ID``), in one query: for the follow buttons of a page."""
    if user is None or not user.is_authenticated:
        return set()
    return set(
        db.session.scalars(select(Follow.target).where(Follow.user_id == user.id, Follow.consultation_id == consultation.id, Follow.active))
    )


def follower_count(consultation: Consultation) -> int:
    """How many people follow the consultation itself (who an author's update reaches)."""
    return (
        db.session.scalar(
            select(func.count(Follow.id)).where(Follow.consultation_id == consultation.id, Follow.target == CONSULTATION, Follow.active)
        )
        or 0
    )


def follows_of(user: User) -> list[Follow]:
    """Everything a person follows (active), newest first, for their settings page."""
    return list(
        db.session.scalars(
            select(Follow).where(Follow.user_id == user.id, Follow.active).order_by(Follow.created_at.desc(), Follow.id.desc())
        )
    )


# ---- recording -----------------------------------------------------------------------------


def record_event(
    kind: EventKind,
    consultation: Consultation | None,
    *,
    actor: User | None = None,
    recipient: User | None = None,
    contribution: Contribution | None = None,
    section_key: str | None = None,
    version: Version | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Record that something happened, in the current unit of work; it is fanned out once that
    commits. Returns the event's id, or None when nothing is recorded: a draft consultation,
    a personal event addressed to nobody or to the person who caused it (unless it reaches
    followers too: ``FOLLOWED_PERSONAL_KINDS``, then it is recorded for them alone), or an
    event already recorded under ``dedupe_key``. The kinds about a person's account
    (``ACCOUNT_KINDS``) have no consultation and are told to their recipient alone."""
    if (consultation is None) != (kind in ACCOUNT_KINDS):
        raise ValueError(f"{kind} is recorded {'without' if kind in ACCOUNT_KINDS else 'with'} a consultation")
    if consultation is not None and consultation.state not in PUBLIC_STATES:
        return None
    if kind in PERSONAL_KINDS:
        if recipient is not None and actor is not None and recipient.id == actor.id:
            recipient = None
        if recipient is None and kind not in FOLLOWED_PERSONAL_KINDS:
            return None
    values = {
        "kind": kind.value,
        "consultation_id": consultation.id if consultation is not None else None,
        "actor_id": actor.id if actor else None,
        "recipient_id": recipient.id if recipient else None,
        "contribution_id": contribution.id if contribution else None,
        "section_key": section_key if section_key is not None else (contribution.section_key if contribution else None),
        "version_id": version.id if version else None,
        "data": data or {},
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
    }
    statement = upsert_insert(Event).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Event.id)
    event_id = db.session.scalar(statement)
    if event_id is not None:
        enqueue_after_commit(fan_out, event_id)
    return event_id


#: An author's update: a subject line and a Markdown body (sanitised when shown), both required.
MAX_UPDATE_SUBJECT = 150
MAX_UPDATE_BODY = 5000


def send_update(consultation: Consultation, *, actor: User, subject: str, body: str) -> int | None:
    """An author writes to everyone following a public consultation (the outcome, a hearing, a
    deadline): an ``update`` event, fanned out and delivered like any other, and listed on the
    consultation's updates page. Returns the event's id."""
    authorize(actor, Action.SEND_UPDATE, consultation)
    subject, body = " ".join((subject or "").split()), (body or "").strip()
    if not subject:
        raise RuleViolation(_("Write a subject."), status=400, field="subject")
    if len(subject) > MAX_UPDATE_SUBJECT:
        raise RuleViolation(_("Keep the subject to %(most)s characters.", most=MAX_UPDATE_SUBJECT), status=400, field="subject")
    if not body:
        raise RuleViolation(_("Write the update."), status=400, field="body")
    if len(body) > MAX_UPDATE_BODY:
        raise RuleViolation(_("Keep the update to %(most)s characters.", most=MAX_UPDATE_BODY), status=400, field="body")
    return record_event(EventKind.UPDATE, consultation, actor=actor, data={"subject": subject, "body": body})


def updates_of(consultation: Consultation) -> list[Event]:
    """The updates its authors sent about a consultation, newest first (they are public)."""
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.consultation_id == consultation.id, Event.kind == EventKind.UPDATE.value)
            .order_by(Event.created_at.desc(), Event.id.desc())
        )
    )


# ---- fanning out ---------------------------------------------------------------------------


def _publicly_visible(contribution_id: int) -> bool:
    return bool(db.session.scalar(select(Contribution.id).where(Contribution.id == contribution_id, visible_contributions(None))))


def _audience(event: Event) -> Select | None:
    """The ids of the people an event reaches, before the actor is taken out (a SELECT of
    one column ``user_id``), or None when it reaches nobody."""
    consultation = event.consultation
    if EventKind(event.kind) in ACCOUNT_KINDS:
        return select(literal(event.recipient_id).label("user_id")) if event.recipient_id is not None else None
    if consultation is None or consultation.state not in PUBLIC_STATES:
        return None  # a draft (or back to one): nobody hears of it
    kind = EventKind(event.kind)
    public = event.contribution_id is None or _publicly_visible(event.contribution_id)
    parts: list[Select] = []
    if event.recipient_id is not None and (public or kind in PERSONAL_KINDS):
        own = event.contribution is None or event.contribution.author_id == event.recipient_id
        if public or own:
            parts.append(select(literal(event.recipient_id).label("user_id")))
    if public:
        targets = follower_targets(event)
        if targets:
            parts.append(
                select(Follow.user_id.label("user_id")).where(
                    Follow.consultation_id == event.consultation_id, Follow.target.in_(targets), Follow.active
                )
            )
        if kind is EventKind.CALL_PUBLISHED and (event.data or {}).get("group"):
            # issue 20 (calls helper): a group's call reaches its members too (the union dedupes)
            parts.append(select(GroupMembership.user_id.label("user_id")).where(GroupMembership.group_id == int(event.data["group"])))
        if kind is EventKind.CONCLUDED:
            parts.append(
                select(Contribution.author_id.label("user_id")).where(
                    Contribution.consultation_id == event.consultation_id,
                    Contribution.author_id.is_not(None),
                    visible_contributions(None),
                )
            )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else union(*parts)


@job(retries=5)
def fan_out(event_id: int) -> int:
    """Make the notifications of one event: one INSERT ... SELECT, idempotent. Returns how
    many were made by this run."""
    event = db.session.get(Event, event_id)
    if event is None:
        return 0
    made = 0
    audience = _audience(event)
    if audience is not None:
        people = audience.subquery()
        default = DEFAULT_DELIVERY[EventKind(event.kind)].value
        rows = (
            select(
                people.c.user_id,
                literal(event.id).label("event_id"),
                func.coalesce(NotificationSetting.delivery, default).label("delivery"),
                literal(utcnow()).label("created_at"),
            )
            .select_from(people)
            .join(User, User.id == people.c.user_id)
            .outerjoin(
                NotificationSetting,
                and_(NotificationSetting.user_id == people.c.user_id, NotificationSetting.kind == event.kind),
            )
            # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT; the actor is never told
            .where(people.c.user_id != (event.actor_id if event.actor_id is not None else -1))
            .distinct()
        )
        statement = (
            upsert_insert(Notification)
            .from_select(["user_id", "event_id", "delivery", "created_at"], rows)
            .on_conflict_do_nothing(index_elements=["user_id", "event_id"])
            .returning(Notification.id)  # psycopg gives no rowcount for INSERT ... SELECT
        )
        made = len(db.session.execute(statement).all())
    event.fanned_out_at = event.fanned_out_at or utcnow()
    db.session.flush()
    notifications_made.send(event, made=made)
    return made


@job(periodic=crontab(minute="*"), writes=False)
def fan_out_pending() -> None:
    """Queue the fan-out of events left behind (the queue was down when they committed, a
    worker died mid-run). Running one twice is harmless: the fan-out is idempotent."""
    due = utcnow() - SWEEP_AFTER
    ids = db.session.scalars(
        select(Event.id).where(Event.fanned_out_at.is_(None), Event.created_at <= due).order_by(Event.id).limit(SWEEP_BATCH)
    ).all()
    for event_id in ids:
        enqueue(fan_out, event_id, once=f"fan-out:{event_id}")


# ---- reading -------------------------------------------------------------------------------


def unread_count(user: User | None) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return (
        db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))) or 0
    )


def notifications_of(user: User, *, page: int = 1, per_page: int = 30) -> tuple[list[Notification], bool]:
    """A person's notifications, newest first, and whether there are more."""
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id)
        .options(  # what ``messages.describe`` reads, loaded for the page at once
            selectinload(Notification.event).options(
                selectinload(Event.actor),
                selectinload(Event.contribution).options(selectinload(Contribution.anchors), selectinload(Contribution.amendment)),
                selectinload(Event.version),
                selectinload(Event.consultation).selectinload(Consultation.organisation),
            )
        )
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return list(rows[:per_page]), len(rows) > per_page


def mark_read(user: User, ids: Sequence[int] | None = None) -> int:
    """Mark a person's notifications read: these ids (only theirs), or all of them."""
    condition = [Notification.user_id == user.id, Notification.read_at.is_(None)]
    if ids is not None:
        if not ids:
            return 0
        condition.append(Notification.id.in_(list(ids)))
    result = db.session.execute(update(Notification).where(*condition).values(read_at=utcnow()))
    return result.rowcount or 0


def delivery_for(user: User, kind: EventKind) -> Delivery:
    chosen = db.session.scalar(
        select(NotificationSetting.delivery).where(NotificationSetting.user_id == user.id, NotificationSetting.kind == kind.value)
    )
    return Delivery(chosen) if chosen else DEFAULT_DELIVERY[kind]


def set_delivery(user: User, kind: EventKind, delivery: Delivery) -> None:
    statement = (
        upsert_insert(NotificationSetting)
        .values(user_id=user.id, kind=kind.value, delivery=delivery.value)
        .on_conflict_do_update(index_elements=["user_id", "kind"], set_={"delivery": delivery.value})
    )
    db.session.execute(statement)
