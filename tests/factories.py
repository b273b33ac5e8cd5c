"""Plain factory functions: make what a test needs, with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import timedelta

from consult.accounts.models import Organisation, Role, User
from consult.accounts.services import grant_role, start_login_session
from consult.amendments import explanations
from consult.core.models import db, utcnow
from consult.policies.services import record_agreement
from consult.proposals import services as proposals
from consult.proposals.importing import split_markdown
from consult.proposals.models import Consultation, ConsultationState, Transition

PASSWORD = "correct horse battery"
_counter = itertools.count(1)
_password_hash: str | None = None

SAMPLE_TEXT = """## Purpose

This policy sets out how the council publishes open data.

## Scope

It applies to every department and to contractors working for them.

### Exceptions

Personal data is never published.
"""


def _hash() -> str:
    global _password_hash
    if _password_hash is None:  # scrypt is slow on purpose; hash once per test run
        from consult.accounts.services import hash_password

        _password_hash = hash_password(PASSWORD)
    return _password_hash


def make_user(
    *,
    name: str | None = None,
    email: str | None = None,
    role: str | None = None,
    organisation: Organisation | None = None,
    site_admin: bool = False,
    confirmed: bool = True,
    agreed: bool = True,
) -> User:
    n = next(_counter)
    user = User(
        email=(email or f"user{n}@example.org").lower(),
        password_hash=_hash(),
        display_name=name or f"Person {n}",
        is_site_admin=site_admin,
        confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    if agreed:  # to the current terms and privacy notice, as at sign-up (else the sign-in asks)
        record_agreement(user)
    if role:
        grant_role(organisation or make_organisation(), user, Role(role))
    return user


def make_organisation(*, slug: str | None = None, name: str | None = None) -> Organisation:
    n = next(_counter)
    organisation = Organisation(slug=slug or f"org-{n}", name=name or f"Organisation {n}")
    db.session.add(organisation)
    db.session.flush()
    return organisation


def make_consultation(
    organisation: Organisation | None = None,
    *,
    author: User | None = None,
    state: str = "open",
    slug: str | None = None,
    title: str = "Open data policy",
    text: str = SAMPLE_TEXT,
    publish: bool = True,
) -> Consultation:
    """A consultation in ``state``, reached through the real services (so rules hold)."""
    organisation = organisation or make_organisation()
    author = author or make_user(role="author", organisation=organisation)
    now = utcnow()
    consultation = proposals.create_consultation(
        organisation,
        actor=author,
        title=title,
        slug=slug,
        summary="What we want to hear.",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
    )
    if text:
        proposals.save_draft_text(consultation, split_markdown(text), actor=author)
    if publish and text:
        proposals.publish_version(consultation, actor=author)
    steps = {
        "draft": [],
        "open": [Transition.OPEN],
        "closed": [Transition.OPEN, Transition.CLOSE],
        "concluded": [Transition.OPEN, Transition.CLOSE, Transition.CONCLUDE],
    }[state]
    for step in steps:
        proposals.change_state(consultation, step, actor=author)
    assert consultation.state == ConsultationState(state)
    db.session.flush()
    return consultation


def explain_changes(consultation: Consultation, author: User, reason: str = "Changed for this test.") -> None:
    """Give each change of the draft that nothing explains yet a reason, as publishing a version
    after the first needs (``amendments.explanations``)."""
    draft = consultation.draft_version
    for item in explanations.unexplained(draft):
        explanations.explain_change(draft, item.key, actor=author, reason=reason)


def login(client, user: User) -> None:
    """Sign ``user`` in on ``client`` without the (deliberately slow) password check."""
    token = start_login_session(user)
    db.session.commit()
    with client.session_transaction() as session:
        session["sid"] = token
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
