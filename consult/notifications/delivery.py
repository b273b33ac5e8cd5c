"""Notifications by mail: at once, in a daily or weekly digest, or not at all, as each person
chose per kind of event (``Notification.delivery``, set at fan-out), and one-click unsubscribe.

The rules:

- **Mail is written by jobs, never by a request.** A fan-out (itself a job) ends with the
  ``notifications_made`` signal; the receiver queues ``mail_immediately`` for after it commits.
  Digests are periodic jobs. Each message is an ``OutgoingMail`` row (``core.mail.queue_mail``),
  delivered and retried by its own job.
- **Mailed at most once.** A notification is claimed by setting ``mailed_at`` with an
  ``UPDATE ... WHERE mailed_at IS NULL`` in the same transaction that stores its message, so a
  rerun, a retry or a second worker finds nothing left to claim, and a message never exists
  without its claim (or the other way round).
- **A cap per person per day.** At most ``NOTIFICATIONS_DAILY_CAP`` messages of their own
  within any 24 hours; past it, a notification is folded into the next daily digest (its
  delivery becomes ``daily``), so a burst of replies makes one digest, not fifty messages.
  On PostgreSQL the people's rows are locked (in id order) while their counts are read, so
  two jobs cannot both send the tenth message; SQLite's jobs write one at a time anyway.
- **Digests** gather a person's unmailed ``daily`` (``weekly``) notifications made before the
  latest digest time (``NOTIFICATIONS_DIGEST_HOUR`` o'clock UTC, for the weekly one on
  ``NOTIFICATIONS_WEEKLY_DAY``, 0 = Monday) into one message, grouped by consultation, newest
  first. The job runs every hour and sends whatever is due, so a worker that was down at the
  digest hour catches up at its next run, and a rerun finds nothing due.
- **Every message** has a plain-text and an HTML part, links on ``CONSULT_BASE_URL``, a link to
  the settings page, and RFC 8058 one-click unsubscribe headers whose URL carries a signed token
  (user and kind, or user and digest) that needs no sign-in and does not expire.
- **Never to an unconfirmed address** (see ``_mailable``).
- **In the reader's language**: each message is worded and rendered in the language the person
  chose, else the site's default (``mail_language``), whoever's request or job sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from consult.accounts.models import User
from consult.core import links
from consult.core.errors import RuleViolation
from consult.core.i18n import supported
from consult.core.jobs import crontab, enqueue_after_commit, job
from consult.core.mail import queue_mail
from consult.core.models import db, upsert_insert, utcnow
from consult.core.signals import notifications_made
from consult.notifications import services
from consult.notifications.messages import Message, describe, describe_all
from consult.notifications.models import Delivery, Event, EventKind, Follow, Notification, NotificationPreferences
from consult.notifications.wording import KIND_LABELS, describe_follow

log = logging.getLogger(__name__)

#: Notifications handled by one run of a job; a full batch queues the next run.
BATCH = 500
#: Immediate notifications still unmailed this long after they were made are picked up by the
#: sweep (the queue was down when their fan-out committed, a worker died mid-run).
SWEEP_AFTER = timedelta(minutes=2)
CAP_WINDOW = timedelta(days=1)
DIGESTS = (Delivery.DAILY, Delivery.WEEKLY)
UNSUBSCRIBE_SALT = "consult-unsubscribe"
UNFOLLOW_SALT = "consult-unfollow"


# ---- who may be mailed -----------------------------------------------------------------------


def _mailable(user: User) -> bool:
    """Only a confirmed address is mailed. An unconfirmed one may belong to someone else (typed
    by mistake or on purpose: notifications would then be mail to a stranger, which nobody can
    stop but the site), or be no address at all (Pol.is participants are imported as
    ``...@participants.invalid``, and the outcome is told to every participant). The
    notification stays on the person's notifications page; its delivery becomes ``off``, as it
    was not and will not be mailed."""
    return user.confirmed_at is not None


# ---- immediate mail --------------------------------------------------------------------------


@notifications_made.connect
def _mail_after_fan_out(event: Event, made: int = 0, **_extra: object) -> None:
    if made:
        enqueue_after_commit(mail_immediately, event.id)


@job(retries=5)
def mail_immediately(event_id: int) -> None:
    """Mail one event's ``immediate`` notifications, one message each, within the daily cap."""
    ids = db.session.scalars(
        select(Notification.id)
        .where(Notification.event_id == event_id, Notification.delivery == Delivery.IMMEDIATE, Notification.mailed_at.is_(None))
        .order_by(Notification.id)
        .limit(BATCH)
    ).all()
    mail_notifications(ids)
    if len(ids) == BATCH:
        enqueue_after_commit(mail_immediately, event_id)


@job(periodic=crontab(minute="*/5"))
def mail_pending_immediately() -> None:
    """Mail the immediate notifications left behind (a queue that was down, a lost job). The
    claim makes a run beside ``mail_immediately`` harmless."""
    ids = db.session.scalars(
        select(Notification.id)
        .where(
            Notification.delivery == Delivery.IMMEDIATE,
            Notification.mailed_at.is_(None),
            Notification.created_at <= utcnow() - SWEEP_AFTER,
        )
        .order_by(Notification.id)
        .limit(BATCH)
    ).all()
    mail_notifications(ids)


def _lock_people(user_ids: Iterable[int]) -> dict[int, User]:
    """The people, their rows locked until the commit (PostgreSQL; in id order, so two jobs
    never wait on each other in a circle)."""
    people = db.session.scalars(select(User).where(User.id.in_(sorted(set(user_ids)))).order_by(User.id).with_for_update())
    return {user.id: user for user in people}


def _mailed_lately(user_ids: Iterable[int], now: datetime) -> dict[int, int]:
    rows = db.session.execute(
        select(Notification.user_id, func.count(Notification.id))
        .where(
            Notification.user_id.in_(list(user_ids)),
            Notification.delivery == Delivery.IMMEDIATE,
            Notification.mailed_at > now - CAP_WINDOW,
        )
        .group_by(Notification.user_id)
    ).all()
    return {user_id: count for user_id, count in rows}


def _redeliver(ids: Sequence[int], delivery: Delivery) -> None:
    if ids:
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(list(ids)), Notification.mailed_at.is_(None), Notification.delivery == Delivery.IMMEDIATE)
            .values(delivery=delivery.value)
            .execution_options(synchronize_session=False)
        )


def _claim(condition: Sequence) -> list[int]:
    """Mark unmailed notifications mailed now; the ids this caller took (none that another
    run took first)."""
    return list(
        db.session.scalars(
            update(Notification)
            .where(*condition, Notification.mailed_at.is_(None))
            .values(mailed_at=utcnow())
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    )


def mail_notifications(ids: Sequence[int]) -> int:
    """Mail these ``immediate`` notifications, one message each, up to each person's daily
    cap; the rest are folded into the next daily digest. Returns how many messages were queued."""
    if not ids:
        return 0
    now = utcnow()
    candidates = db.session.execute(
        select(Notification.id, Notification.user_id)
        .where(Notification.id.in_(list(ids)), Notification.delivery == Delivery.IMMEDIATE, Notification.mailed_at.is_(None))
        .order_by(Notification.id)
    ).all()
    people = _lock_people(user_id for _id, user_id in candidates)
    sent = _mailed_lately(people, now)
    cap = int(current_app.config["NOTIFICATIONS_DAILY_CAP"])
    to_send, to_fold, unmailable = [], [], []
    for notification_id, user_id in candidates:
        if not _mailable(people[user_id]):
            unmailable.append(notification_id)
        elif sent.get(user_id, 0) >= cap:
            to_fold.append(notification_id)
        else:
            to_send.append(notification_id)
            sent[user_id] = sent.get(user_id, 0) + 1
    _redeliver(to_fold, Delivery.DAILY)
    _redeliver(unmailable, Delivery.OFF)
    claimed = _claim([Notification.id.in_(to_send), Notification.delivery == Delivery.IMMEDIATE]) if to_send else []
    for notification in _load(claimed):
        _queue_one(notification)
    return len(claimed)


def _load(ids: Sequence[int]) -> list[Notification]:
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.id.in_(list(ids)))
            .options(
                selectinload(Notification.user),
                selectinload(Notification.event).selectinload(Event.consultation),
                selectinload(Notification.event).selectinload(Event.actor),
                selectinload(Notification.event).selectinload(Event.version),
                selectinload(Notification.event).selectinload(Event.contribution),
            )
            .order_by(Notification.created_at.desc(), Notification.id.desc())
        )
    )


def mail_language(user: User) -> str:
    """The language a person's mail is written in: the one they chose, else the site's default
    (its settings page, else ``DEFAULT_LANGUAGE``), never the language of whoever's request
    happens to send it."""
    site_default = current_app.extensions.get("consult.default_language")
    return (
        supported(user.language)
        or supported(site_default() if site_default is not None else None)
        or supported(current_app.config.get("DEFAULT_LANGUAGE"))
        or "en"
    )


def _queue_one(notification: Notification) -> None:
    user = notification.user
    with force_locale(mail_language(user)):
        said = describe(notification.event, user)
        event = notification.event
        kind = EventKind(event.kind)
        follow = _follow_that_brought(notification)
        context = {
            "user": user,
            "said": said,
            "kind_label": KIND_LABELS[kind],
            "unfollow": (describe_follow(follow, link=links.site_url), unfollow_url(follow)) if follow else None,
            **_footer(user, kind),
        }
        _queue(user, said.mail_subject, "immediate", context)


def _follow_that_brought(notification: Notification) -> Follow | None:
    """The person's follow through which an event reached them (None: it is about their own
    contribution), for the message's "stop following" link."""
    event = notification.event
    if event.recipient_id == notification.user_id:
        return None
    targets = services.follower_targets(event)
    if not targets:
        return None
    return db.session.scalar(
        select(Follow)
        .where(
            Follow.user_id == notification.user_id,
            Follow.consultation_id == event.consultation_id,
            Follow.target.in_(targets),
            Follow.active,
        )
        .order_by(Follow.id)
        .limit(1)
    )


def _footer(user: User, what: EventKind | Delivery) -> dict[str, str]:
    return {
        "unsubscribe_url": unsubscribe_url(user, what),
        "settings_url": links.site_url("notifications.settings"),
    }


def _queue(user: User, subject: str, template: str, context: dict) -> None:
    queue_mail(
        user.email,
        subject,
        render_template(f"notifications/mail/{template}.txt", **context),
        html=render_template(f"notifications/mail/{template}.html", **context),
        headers={
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


# ---- digests ---------------------------------------------------------------------------------


def digest_due_at(delivery: Delivery, now: datetime) -> datetime:
    """The latest time the daily (weekly) digest was due at or before ``now``: what was made
    before it goes into it."""
    config = current_app.config
    hour = int(config["NOTIFICATIONS_DIGEST_HOUR"])
    due = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if delivery is Delivery.WEEKLY:
        due -= timedelta(days=(now.weekday() - int(config["NOTIFICATIONS_WEEKLY_DAY"])) % 7)
        return due if due <= now else due - timedelta(days=7)
    return due if due <= now else due - timedelta(days=1)


@dataclass
class DigestGroup:
    consultation: str
    items: list[Message]
    unfollow_url: str | None = None


def mail_digests(delivery: Delivery, *, made_before: datetime, limit: int = BATCH) -> int:
    """Send each person their digest: their unmailed notifications of this delivery made before
    ``made_before``, in one message. Returns how many people were looked at (``limit`` when
    there may be more)."""
    if delivery not in DIGESTS:
        raise ValueError(f"no digest for {delivery}")
    waiting = (Notification.delivery == delivery.value, Notification.created_at <= made_before)
    user_ids = db.session.scalars(
        select(Notification.user_id)
        .where(*waiting, Notification.mailed_at.is_(None))
        .group_by(Notification.user_id)
        .order_by(Notification.user_id)
        .limit(limit)
    ).all()
    people = _lock_people(user_ids)
    for user_id in user_ids:
        user = people[user_id]
        if not _mailable(user):
            db.session.execute(
                update(Notification)
                .where(Notification.user_id == user_id, *waiting, Notification.mailed_at.is_(None))
                .values(delivery=Delivery.OFF.value)
                .execution_options(synchronize_session=False)
            )
            continue
        notifications = _load(_claim([Notification.user_id == user_id, *waiting]))
        if notifications:
            _queue_digest(user, delivery, notifications)
    return len(user_ids)


def _queue_digest(user: User, delivery: Delivery, notifications: list[Notification]) -> None:
    with force_locale(mail_language(user)):
        _queue_digest_in_language(user, delivery, notifications)


def _queue_digest_in_language(user: User, delivery: Delivery, notifications: list[Notification]) -> None:
    groups: dict[int, DigestGroup] = {}
    told = describe_all([n.event for n in notifications], user)
    for notification, said in zip(notifications, told, strict=True):  # newest first: the groups come in order of their newest
        group = groups.setdefault(notification.event.consultation_id, DigestGroup(consultation=said.consultation, items=[]))
        group.items.append(said)
    following = db.session.scalars(
        select(Follow).where(
            Follow.user_id == user.id, Follow.consultation_id.in_(list(groups)), Follow.target == services.CONSULTATION, Follow.active
        )
    )
    for follow in following:
        groups[follow.consultation_id].unfollow_url = unfollow_url(follow)
    period = "daily" if delivery is Delivery.DAILY else "weekly"
    count = len(notifications)
    if delivery is Delivery.DAILY:
        subject = ngettext("Your daily digest: %(num)d update", "Your daily digest: %(num)d updates", count)
    else:
        subject = ngettext("Your weekly digest: %(num)d update", "Your weekly digest: %(num)d updates", count)
    context = {"user": user, "period": period, "groups": list(groups.values()), "count": count, **_footer(user, delivery)}
    _queue(user, subject, "digest", context)


@job(periodic=crontab(minute="5"))
def mail_due_digests() -> None:
    """Every hour: send the digests that are due (the daily one after its hour, the weekly one
    after its day's). What was mailed is claimed, so a rerun or a second worker mails nothing
    twice; a full batch queues the next run at once."""
    now = utcnow()
    more = False
    for delivery in DIGESTS:
        more |= mail_digests(delivery, made_before=digest_due_at(delivery, now), limit=BATCH) >= BATCH
    if more:
        enqueue_after_commit(mail_due_digests, once="mail-due-digests")


# ---- one-click unsubscribe -------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user: User, what: EventKind | Delivery) -> str:
    """A token that turns off one kind of mail (``EventKind``) or one digest (``Delivery``) for
    one person. Signed with the app's secret under a salt of its own (a confirmation or reset
    token cannot be replayed here, nor this one there); it does not expire, as a message read
    months later must still unsubscribe."""
    return _serializer().dumps({"user": user.id, "kind": what.value})


def unsubscribe_url(user: User, what: EventKind | Delivery) -> str:
    return links.site_url("notifications.unsubscribe", token=unsubscribe_token(user, what))


@dataclass(frozen=True)
class Unsubscription:
    """What a token turns off: one kind, or every kind a digest carries."""

    user: User
    kind: EventKind | None
    digest: Delivery | None

    @property
    def what(self) -> str:
        if self.kind is not None:
            return KIND_LABELS[self.kind]
        if self.digest is Delivery.DAILY:
            return _("The daily digest")
        return _("The weekly digest") if self.digest else ""

    def kinds(self) -> list[EventKind]:
        """The kinds it turns off: the one named, or those the person now gets in the digest."""
        if self.kind is not None:
            return [self.kind]
        return [kind for kind in EventKind if services.delivery_for(self.user, kind) is self.digest]


def read_unsubscribe_token(token: str) -> Unsubscription:
    """The unsubscription a token names; a token that was not signed by us (tampered, cut short,
    made up) or names nobody is refused with a 400."""
    invalid = RuleViolation(_("This unsubscribe link is not valid. Choose what we send you on your settings page."), status=400)
    try:
        data = _serializer().loads(token)
    except BadData:
        raise invalid from None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int) or not isinstance(data.get("kind"), str):
        raise invalid
    user = db.session.get(User, data["user"])
    if user is None:
        raise invalid
    value = data["kind"]
    if value in EventKind:
        return Unsubscription(user=user, kind=EventKind(value), digest=None)
    if value in DIGESTS:
        return Unsubscription(user=user, kind=None, digest=Delivery(value))
    raise invalid


def unsubscribe(token: str) -> Unsubscription:
    """Turn off what a signed unsubscribe link names (RFC 8058: no sign-in, no further
    question). The token is the person's proof; it is checked here."""
    unsubscription = read_unsubscribe_token(token)
    for kind in unsubscription.kinds():
        choose_delivery(unsubscription.user, kind, Delivery.OFF)
    return unsubscription


# ---- unfollowing from a message --------------------------------------------------------------


def _unfollow_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNFOLLOW_SALT)


def unfollow_url(follow: Follow) -> str:
    """A signed link that stops one follow without signing in (the person may read the message
    on a phone where they are not signed in); it does not expire."""
    token = _unfollow_serializer().dumps({"user": follow.user_id, "follow": follow.id})
    return links.site_url("notifications.unfollow_by_link", token=token)


def follow_of_token(token: str) -> Follow:
    """The follow a signed unfollow link names; anything else is refused with a 400."""
    try:
        data = _unfollow_serializer().loads(token)
    except BadData:
        data = None
    found = db.session.get(Follow, data["follow"]) if isinstance(data, dict) and isinstance(data.get("follow"), int) else None
    if found is None or found.user_id != data.get("user"):
        raise RuleViolation(_("This link is not valid. See what you follow on your settings page."), status=400)
    return found


def unfollow_by_link(token: str) -> Follow:
    """Stop the follow a signed link names (the token is the person's proof)."""
    found = follow_of_token(token)
    services.unfollow(found.consultation, found.target, user=found.user)
    return found


# ---- settings --------------------------------------------------------------------------------


def choose_delivery(user: User, kind: EventKind, delivery: Delivery) -> None:
    """Set how a kind is mailed from now on. What is waiting for a digest follows the choice
    (turned off: never mailed; moved to the other digest: sent with it); what waits to be
    mailed at once goes out as it was."""
    services.set_delivery(user, kind, delivery)
    if delivery is Delivery.IMMEDIATE:
        return
    waiting = [Delivery.DAILY.value, Delivery.WEEKLY.value] + ([Delivery.IMMEDIATE.value] if delivery is Delivery.OFF else [])
    db.session.execute(
        update(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.mailed_at.is_(None),
            Notification.delivery.in_(waiting),
            Notification.event_id.in_(select(Event.id).where(Event.kind == kind.value)),
        )
        .values(delivery=delivery.value)
        .execution_options(synchronize_session=False)
    )


def settings_of(user: User) -> tuple[dict[EventKind, Delivery], bool]:
    """A person's delivery per kind (their choice or the default) and whether taking part
    follows."""
    deliveries = {kind: services.delivery_for(user, kind) for kind in KIND_LABELS}
    follows = db.session.scalar(select(NotificationPreferences.follow_when_taking_part).where(NotificationPreferences.user_id == user.id))
    return deliveries, follows is not False


def save_settings(user: User, *, deliveries: dict[EventKind, Delivery], follow_when_taking_part: bool, actor: User) -> None:
    """Save a person's choices (only their own: ``actor`` must be ``user``)."""
    if actor.id != user.id:
        raise RuleViolation(_("You can only change your own notifications."), status=403)
    current, _follows = settings_of(user)
    for kind, delivery in deliveries.items():
        if current.get(kind) is not delivery:
            choose_delivery(user, kind, delivery)
    statement = (
        upsert_insert(NotificationPreferences)
        .values(user_id=user.id, follow_when_taking_part=follow_when_taking_part)
        .on_conflict_do_update(index_elements=["user_id"], set_={"follow_when_taking_part": follow_when_taking_part})
    )
    db.session.execute(statement)


def unfollow_by_id(follow_id: int, *, actor: User) -> Follow:
    """Stop following, from the settings page's list: only one's own follows (404 otherwise)."""
    found = db.session.get(Follow, follow_id)
    if found is None or found.user_id != actor.id:
        raise RuleViolation(_("There is nothing here to unfollow."), status=404)
    services.unfollow(found.consultation, found.target, actor=actor)
    return found
