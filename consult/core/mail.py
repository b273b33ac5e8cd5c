"""Outgoing mail: written as rows in the unit of work that asks for it, delivered by a job.

Services call ``queue_mail``: it adds an ``OutgoingMail`` row to the current transaction and
queues ``deliver_mail`` for when that transaction commits, so a page that says "check your
inbox" has the message stored, and nothing is sent for work that rolled back.

Delivery (``deliver_mail``, one message per job):

- takes the row for a short lease in a transaction of its own, then talks to the mail server
  holding no database lock, then records the outcome in another short transaction;
- a temporary failure (no connection, a 4xx answer) is retried with a doubling delay
  (``MAIL_RETRY_DELAY``) up to ``MAIL_MAX_ATTEMPTS``; a refusal (a 5xx answer) or the last
  attempt marks the row ``failed``, which the person and the site admins are shown;
- ``retry_queued_mail`` runs every minute and queues any row still due: a worker killed
  mid-send (kill -9), a queue that was down at commit, a lease that ran out.

A message has a plain-text body and may have an HTML one (sent as ``multipart/alternative``)
and extra headers (``List-Unsubscribe``...). The bodies are cleared once a message is sent:
they carry confirmation and reset codes.
``last_error`` holds the kind of failure and the server's code, never a body or a password.

Without ``CONSULT_MAIL_SERVER`` messages are written to ``instance/outbox/`` (one .eml file
each), so a development machine needs no mail server and no message content reaches the log.
"""

from __future__ import annotations

import enum
import logging
import smtplib
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from flask import current_app
from sqlalchemy import JSON, CheckConstraint, Index, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from consult.core.jobs import crontab, enqueue, enqueue_after_commit, job
from consult.core.models import UTCDateTime, db, utcnow

log = logging.getLogger(__name__)

#: How long a delivery holds a message before another may try it (a worker killed mid-send).
LEASE = timedelta(minutes=2)
SWEEP_BATCH = 200


class MailStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for (another) attempt
    SENT = "sent"  # accepted by the mail server (or written to the outbox folder)
    FAILED = "failed"  # refused, or out of attempts: shown to the person and to site admins


class OutgoingMail(db.Model):
    """One message to one address, from the moment a unit of work asks for it."""

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)  # None once sent: it may hold a code
    #: the same message as HTML (an alternative part), or None for plain text only; None once sent
    html_body: Mapped[str | None] = mapped_column(Text)
    #: headers beyond To, From and Subject (``List-Unsubscribe``), by name
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status_known"),
        CheckConstraint("status <> 'sent' OR (body IS NULL AND html_body IS NULL)", name="sent_body_cleared"),
        Index("ix_outgoing_mail_status_next_attempt_at", "status", "next_attempt_at"),
    )


#: Headers a caller may not set: the message's own (To, From, Subject) and how it is built.
RESERVED_HEADERS = frozenset({"to", "from", "subject", "content-type", "content-transfer-encoding", "mime-version", "cc", "bcc"})


def queue_mail(to: str, subject: str, body: str, *, html: str | None = None, headers: dict[str, str] | None = None) -> OutgoingMail:
    """Store a message in the current unit of work; it is delivered once that commits.
    ``html``: the same message as HTML, sent beside the text; ``headers``: extra headers."""
    extra = {name: " ".join(str(value).split()) for name, value in (headers or {}).items()}
    if reserved := {name for name in extra if name.lower() in RESERVED_HEADERS}:
        raise ValueError(f"queue_mail sets these headers itself: {sorted(reserved)}")
    mail = OutgoingMail(
        recipient=to,
        subject=" ".join(subject.split())[:200],  # a header: no line breaks
        body=body,
        html_body=html,
        headers=extra or None,
        next_attempt_at=utcnow(),
    )
    db.session.add(mail)
    db.session.flush()
    enqueue_after_commit(deliver_mail, mail.id)
    return mail


def retry_mail(mail: OutgoingMail) -> None:
    """Give a failed message a fresh set of attempts, starting now (after the commit)."""
    if mail.status != MailStatus.FAILED or mail.body is None:
        return
    mail.status, mail.attempts, mail.next_attempt_at = MailStatus.QUEUED.value, 0, utcnow()
    enqueue_after_commit(deliver_mail, mail.id)


def failed_mail(limit: int = 200) -> list[OutgoingMail]:
    """Messages that could not be sent, newest first."""
    return list(
        db.session.scalars(
            select(OutgoingMail).where(OutgoingMail.status == MailStatus.FAILED).order_by(OutgoingMail.id.desc()).limit(limit)
        )
    )


def last_mail_failed(address: str) -> bool:
    """Whether the latest message to this address could not be sent."""
    status = db.session.scalar(
        select(OutgoingMail.status).where(OutgoingMail.recipient == address).order_by(OutgoingMail.id.desc()).limit(1)
    )
    return status == MailStatus.FAILED


@job(retries=0)
def deliver_mail(mail_id: int) -> None:
    """Send one message. Its own retries are scheduled here (not by raising) so the attempt
    count and the reason are kept; at most one delivery holds a message at a time (the lease)."""
    message = _claim(mail_id)
    db.session.commit()  # the lease is taken; the mail server is talked to holding no lock
    if message is None:
        return
    failure = None
    try:
        _send(message)
    except OSError as error:  # smtplib's errors, refused and timed-out connections, a full disk
        failure = error
    _record_outcome(mail_id, failure)  # a short write transaction of its own


@job(periodic=crontab(minute="*"), writes=False)
def retry_queued_mail() -> None:
    """Queue a delivery for every message still due: what a crash, a lost job or a queue that
    was down left behind. A message being sent is under its lease and not due."""
    due = db.session.scalars(
        select(OutgoingMail.id)
        .where(OutgoingMail.status == MailStatus.QUEUED, OutgoingMail.next_attempt_at <= utcnow())
        .order_by(OutgoingMail.next_attempt_at)
        .limit(SWEEP_BATCH)
    ).all()
    for mail_id in due:
        enqueue(deliver_mail, mail_id)


def _claim(mail_id: int) -> EmailMessage | None:
    """Take a due message for the lease; None if it is sent, failed, or held by another delivery."""
    now = utcnow()
    taken = db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, OutgoingMail.status == MailStatus.QUEUED, OutgoingMail.next_attempt_at <= now)
        .values(attempts=OutgoingMail.attempts + 1, next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        return None
    mail = db.session.get(OutgoingMail, mail_id, populate_existing=True)
    message = EmailMessage()
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    for name, value in (mail.headers or {}).items():
        message[name] = value
    message.set_content(mail.body or "")
    if mail.html_body is not None:
        message.add_alternative(mail.html_body, subtype="html")
    return message


def _record_outcome(mail_id: int, failure: OSError | None) -> None:
    mail = db.session.get(OutgoingMail, mail_id, populate_existing=True)
    if mail is None:
        return
    now = utcnow()
    if failure is None:
        mail.status, mail.sent_at, mail.last_error = MailStatus.SENT.value, now, None
        mail.body = mail.html_body = None
        return
    reason, permanent = describe_failure(failure)
    mail.last_error = reason
    config = current_app.config
    if permanent or mail.attempts >= int(config["MAIL_MAX_ATTEMPTS"]):
        mail.status = MailStatus.FAILED.value
        log.warning("mail %d failed after %d attempts: %s", mail.id, mail.attempts, reason)  # no address, no body
        return
    delay = timedelta(seconds=float(config["MAIL_RETRY_DELAY"]) * 2 ** (mail.attempts - 1))
    mail.next_attempt_at = now + delay
    enqueue_after_commit(deliver_mail, mail.id, eta=mail.next_attempt_at)


def describe_failure(error: OSError) -> tuple[str, bool]:
    """A short reason (the kind of failure and the server's code, nothing it echoed back) and
    whether trying again can help: a 5xx answer is a refusal, anything else may pass later."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _text in error.recipients.values()})
        return f"recipient refused ({', '.join(map(str, codes))})", all(500 <= c < 600 for c in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__} ({error.smtp_code})", 500 <= error.smtp_code < 600
    return type(error).__name__, False


def _send(message: EmailMessage) -> None:
    config = current_app.config
    message["From"] = config["MAIL_SENDER"]
    if not config["MAIL_SERVER"]:
        outbox = Path(current_app.instance_path) / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(message))
        return
    with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=float(config["MAIL_TIMEOUT"])) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
