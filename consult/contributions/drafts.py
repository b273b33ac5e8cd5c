"""Drafts: what a signed-out person wrote in a form, kept while they sign up or in.

A newcomer who writes a comment (or an amendment) and then learns they need an account must
find their words again when they come back, even by way of the confirmation mail and without
JavaScript. The form's POST, signed out, stores its fields here under the hash of a random token
that only their browser's draft cookie holds (not the session, which sign-in clears and which is
too small for a long text), then sends them to sign up. Back on the page, signed in, the form is
filled from the draft; posting the contribution deletes it.

A draft names no account and is kept ``KEEP_HOURS``: every keeping removes older ones, so the
table holds only what is on its way to being posted.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, select

from consult.contributions.models import Draft
from consult.core.models import db, upsert_insert, utcnow
from consult.proposals.models import Consultation

KEEP_HOURS = 24
#: Longest text kept per field (a section's text is the longest a form takes).
MAX_FIELD_LENGTH = 100_000


def browser_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def keep_draft(consultation: Consultation, *, browser_token: str, place: str, fields: dict[str, str | int | None]) -> None:
    """Keep (or replace) this browser's draft of the form ``place`` in the consultation."""
    now = utcnow()
    db.session.execute(delete(Draft).where(Draft.created_at < now - timedelta(hours=KEEP_HOURS)))
    kept = {name: value[:MAX_FIELD_LENGTH] if isinstance(value, str) else value for name, value in fields.items()}
    db.session.execute(
        upsert_insert(Draft)
        .values(browser_hash=browser_hash(browser_token), consultation_id=consultation.id, place=place[:100], fields=kept, created_at=now)
        .on_conflict_do_update(index_elements=["browser_hash", "consultation_id", "place"], set_={"fields": kept, "created_at": now})
    )


def draft_for(consultation: Consultation, *, browser_token: str | None, place: str) -> dict | None:
    """The fields this browser kept for the form ``place``, or None (none, or too old)."""
    if not browser_token:
        return None
    fields = db.session.scalar(
        select(Draft.fields).where(
            Draft.browser_hash == browser_hash(browser_token),
            Draft.consultation_id == consultation.id,
            Draft.place == place,
            Draft.created_at >= utcnow() - timedelta(hours=KEEP_HOURS),
        )
    )
    return fields if isinstance(fields, dict) else None


def discard_draft(consultation: Consultation, *, browser_token: str | None, place: str) -> None:
    """The contribution is posted: its draft is gone (in the same transaction)."""
    if browser_token:
        db.session.execute(
            delete(Draft).where(
                Draft.browser_hash == browser_hash(browser_token), Draft.consultation_id == consultation.id, Draft.place == place
            )
        )
