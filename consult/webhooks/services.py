"""Webhooks (application layer): registering and removing them, the deliveries events make, and
the job that sends a delivery and tries again with backoff.

A delivery row is written in the transaction of the event (a version published, an answer
given), so a rolled-back event sends nothing; its job is queued once that transaction commits.
Each try signs the stored body anew with the time of sending (``signing.py``), does not follow
redirects (one could lead to a private address), and checks the address again (``addresses.py``).
Tries follow ``BACKOFF``; after the last one the delivery is marked failed. A periodic sweep
queues any delivery that is due and was not queued (a worker that stopped meanwhile)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from datetime import timedelta

import requests
from cryptography.fernet import Fernet
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from consult.accounts.models import Organisation, User
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.contributions.models import Contribution
from consult.core import links
from consult.core.errors import RuleViolation
from consult.core.jobs import crontab, enqueue, enqueue_after_commit, job
from consult.core.models import db, utcnow
from consult.core.signals import amendment_answered, consultation_state_changed, version_published
from consult.permissions import Action, authorize
from consult.proposals.models import Consultation, ConsultationState, Version
from consult.webhooks import signing
from consult.webhooks.addresses import AddressRefused, check_url
from consult.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent

log = logging.getLogger(__name__)

#: How long after each failed try the next one is made; after the last, the delivery has failed.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=8))
TIMEOUT = 10  # seconds for the receiver to answer
MAX_WEBHOOKS = 20  # per organisation
LOG_LENGTH = 50  # deliveries shown per webhook on the settings page


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"consult-webhooks\0" + str(current_app.config["SECRET_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secret_of(webhook: Webhook) -> str:
    return _fernet().decrypt(webhook.secret_encrypted.encode()).decode()


def _allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE"))


def webhooks_of(organisation: Organisation, *, actor: User) -> list[Webhook]:
    authorize(actor, Action.MANAGE_ORGANISATION, organisation)
    return list(db.session.scalars(select(Webhook).where(Webhook.organisation_id == organisation.id).order_by(Webhook.id)))


def register(organisation: Organisation, *, actor: User, url: str, events: list[str]) -> tuple[Webhook, str]:
    """Register ``url`` for ``events``; returns the webhook and its secret (shown to the admin to
    set up the receiver; they can see it again on the settings page)."""
    authorize(actor, Action.MANAGE_ORGANISATION, organisation)
    try:
        url = check_url(url, allow_private=_allow_private())
    except AddressRefused as refused:
        raise RuleViolation(str(refused), status=400, field="url") from None
    if len(url) > 2000:
        raise RuleViolation(_("Use an address of at most 2,000 characters."), status=400, field="url")
    known = {e.value for e in WebhookEvent}
    chosen = sorted(set(events) & known)
    if not chosen or set(events) - known:
        raise RuleViolation(_("Choose at least one of the events offered."), status=400, field="events")
    count = len(db.session.scalars(select(Webhook.id).where(Webhook.organisation_id == organisation.id)).all())
    if count >= MAX_WEBHOOKS:
        raise RuleViolation(_("An organisation has at most %(n)s webhooks: remove one first.", n=MAX_WEBHOOKS), status=400, field="url")
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook(organisation=organisation, url=url, events=chosen, secret_encrypted=_fernet().encrypt(secret.encode()).decode())
    db.session.add(webhook)
    db.session.flush()
    record_staff_action(
        StaffOperation.ADD_WEBHOOK,
        actor=actor,
        target_type=TargetType.ORGANISATION,
        target_id=organisation.id,
        organisation_id=organisation.id,
        detail={"webhook": webhook.id, "url": url, "events": chosen},
    )
    return webhook, secret


def remove(webhook: Webhook, *, actor: User) -> None:
    authorize(actor, Action.MANAGE_ORGANISATION, webhook.organisation)
    record_staff_action(
        StaffOperation.REMOVE_WEBHOOK,
        actor=actor,
        target_type=TargetType.ORGANISATION,
        target_id=webhook.organisation_id,
        organisation_id=webhook.organisation_id,
        detail={"webhook": webhook.id, "url": webhook.url},
    )
    db.session.delete(webhook)
    db.session.flush()


def recent_deliveries(webhook: Webhook) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(LOG_LENGTH)
        )
    )


# ---- events into deliveries -------------------------------------------------------------------


def _consultation_data(c: Consultation) -> dict:
    return {
        "slug": c.slug,
        "title": c.title,
        "state": c.state,
        "url": links.site_url("proposals.consultation", slug=c.slug),
    }


def queue_event(organisation_id: int, event: WebhookEvent, data: dict) -> int:
    """A delivery for each active webhook of the organisation that wants ``event``; each is
    sent by a job once the current transaction commits. Returns how many."""
    hooks = [
        h
        for h in db.session.scalars(select(Webhook).where(Webhook.organisation_id == organisation_id, Webhook.active.is_(True)))
        if event.value in (h.events or [])
    ]
    made = 0
    for hook in hooks:
        delivery = WebhookDelivery(webhook=hook, event=event.value, body="", next_attempt_at=utcnow())
        db.session.add(delivery)
        db.session.flush()
        payload = {"id": f"delivery-{delivery.id}", "event": event.value, "created_at": utcnow().isoformat(), **data}
        delivery.body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        enqueue_after_commit(deliver, delivery.id)
        made += 1
    return made


@version_published.connect
def _on_version_published(consultation: Consultation, *, version: Version, **_) -> None:
    queue_event(
        consultation.organisation_id,
        WebhookEvent.VERSION_PUBLISHED,
        {
            "consultation": _consultation_data(consultation),
            "version": {
                "number": version.number,
                "url": links.site_url("proposals.version", slug=consultation.slug, number=version.number),
            },
        },
    )


@consultation_state_changed.connect
def _on_state_changed(consultation: Consultation, *, previous: str, **_) -> None:
    data = {"consultation": _consultation_data(consultation), "previous_state": str(previous)}
    queue_event(consultation.organisation_id, WebhookEvent.STATE_CHANGED, data)
    if consultation.state == ConsultationState.CONCLUDED:
        outcome = {"consultation": _consultation_data(consultation), "outcome_url": links.site_url("outcome.show", slug=consultation.slug)}
        queue_event(consultation.organisation_id, WebhookEvent.OUTCOME_PUBLISHED, outcome)


@amendment_answered.connect
def _on_answered(contribution: Contribution, *, decision: str, reason: str, **_) -> None:
    c = contribution.consultation
    amendment = contribution.amendment
    queue_event(
        c.organisation_id,
        WebhookEvent.AMENDMENT_ANSWERED,
        {
            "consultation": _consultation_data(c),
            "amendment": {
                "label": amendment.label,
                "url": links.site_url("amendments.numbered", slug=c.slug, number=amendment.number),
                "decision": str(decision),
                "reason": reason,
            },
        },
    )


# ---- sending ----------------------------------------------------------------------------------


def _failed(delivery: WebhookDelivery, error: str, status: int | None = None) -> None:
    delivery.response_status = status
    delivery.error = error[:300]
    if delivery.attempts > len(BACKOFF):
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        return
    delivery.next_attempt_at = utcnow() + BACKOFF[delivery.attempts - 1]
    enqueue_after_commit(deliver, delivery.id, eta=delivery.next_attempt_at)


@job(retries=0)
def deliver(delivery_id: int) -> None:
    """Try a delivery once; on failure, schedule the next try (or give up after the last)."""
    delivery = db.session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > utcnow() + timedelta(seconds=5):
        return  # queued twice (the sweep and a retry): the later run sends it
    webhook = delivery.webhook
    delivery.attempts += 1
    delivery.last_attempt_at = utcnow()
    if not webhook.active:
        _failed(delivery, "The webhook was turned off.")
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        return
    try:
        url = check_url(webhook.url, allow_private=_allow_private())
    except AddressRefused as refused:
        delivery.status, delivery.next_attempt_at, delivery.error = DeliveryStatus.FAILED, None, str(refused)[:300]
        return
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Consult-Webhooks/1",
        "Consult-Event": delivery.event,
        "Consult-Delivery": str(delivery.id),
        signing.HEADER: signing.sign(secret_of(webhook), body),
    }
    try:
        response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as error:
        log.info("webhook delivery %s failed: %s", delivery.id, type(error).__name__)
        _failed(delivery, type(error).__name__)
        return
    if 200 <= response.status_code < 300:
        delivery.status, delivery.response_status, delivery.error, delivery.next_attempt_at = (
            DeliveryStatus.DELIVERED,
            response.status_code,
            "",
            None,
        )
    else:
        _failed(delivery, f"HTTP {response.status_code}", response.status_code)


@job(periodic=crontab(minute="*/5"))
def sweep_deliveries() -> int:
    """Queue every pending delivery whose time has come (a worker may have stopped with it queued)."""
    due = db.session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= utcnow())
    ).all()
    for delivery_id in due:
        enqueue(deliver, delivery_id)
    return len(due)
