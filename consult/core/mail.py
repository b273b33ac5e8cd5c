"""Outgoing mail, sent only after the transaction that asked for it commits.

Services call ``queue_mail``; nothing leaves if the unit of work rolls back. Without
``CONSULT_MAIL_SERVER`` messages are written to ``instance/outbox/`` (one .eml file each), so a
development machine needs no mail server and no message content ever goes to the log.
"""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from consult.core.models import db

_KEY = "consult_outbox"


def queue_mail(to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    db.session.info.setdefault(_KEY, []).append(message)


def deliver(message: EmailMessage) -> None:
    config = current_app.config
    message["From"] = config["MAIL_SENDER"]
    if not config["MAIL_SERVER"]:
        outbox = Path(current_app.instance_path) / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(message))
        return
    with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=10) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    messages = session.info.pop(_KEY, None)
    if not messages:
        return
    # In tests the outer transaction never commits; "after_commit" of a nested savepoint does
    # not fire here, so tests read ``sent_in_tests`` via the outbox instead (see conftest).
    for message in messages:
        try:
            deliver(message)
        except OSError:
            current_app.logger.warning("could not deliver mail to one recipient")


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, _previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(_KEY, None)
