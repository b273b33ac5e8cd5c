"""API access tokens (domain services): making, listing and revoking them, finding the token a
request carries, and the idempotency keys of the writes made with one.

A token is ``cst_`` and 43 random characters (256 bits); only its SHA-256 is stored, so it is
shown once, when made. A personal token acts as its person. An organisation's token is made by
one of its admins, acts as that admin (every permission check runs as them) but only in the
organisation's consultations, carries staff scopes only (``ORGANISATION_SCOPES``: it speaks for
the organisation, never as a participant) and stops working when its maker stops being the
organisation's admin. Scopes are an upper bound on what the person may do anyway: a person is
offered ``moderate`` or ``publish`` only if some organisation gave them that role.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from consult.accounts.models import Organisation, Role, User
from consult.core.errors import RuleViolation
from consult.core.jobs import crontab, job
from consult.core.models import db, sqlite_write_intent, utcnow
from consult.permissions import Action, authorize, can
from consult.tokens.models import ORGANISATION_SCOPES, ApiToken, IdempotentRequest, Scope

TOKEN_START = "cst_"  # says what it is when found in a log or a repository (secret scanners match it)
PREFIX_LENGTH = len(TOKEN_START) + 8  # shown in lists to tell tokens apart
#: How long a token may live, at most; the form offers these (days).
LIFETIMES = (7, 30, 90, 365)
MAX_LIFETIME_DAYS = max(LIFETIMES)
MAX_NAME_LENGTH = 100
#: Noting each use would write on every request: once a minute is enough to see it is in use.
LAST_USED_EVERY = timedelta(minutes=1)
#: How long an idempotency key is remembered: a client retries within minutes, not days.
KEYS_KEPT_FOR = timedelta(hours=24)

MODERATOR_ROLES = frozenset({Role.MODERATOR, Role.ADMIN})
EDITOR_ROLES = frozenset({Role.AUTHOR, Role.ADMIN})


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# ---- what may be given ----------------------------------------------------------------------


def scopes_for(actor: User, organisation: Organisation | None = None) -> list[Scope]:
    """The scopes ``actor`` may put on a token: for an organisation's token its staff scopes;
    for a personal one ``read`` and ``contribute``, and ``moderate`` or ``publish`` when some
    organisation (or the site) gave them the role for it."""
    if organisation is not None:
        return list(ORGANISATION_SCOPES)
    roles = {Role(m.role) for m in actor.memberships}
    scopes = [Scope.READ, Scope.CONTRIBUTE]
    if actor.is_site_admin or roles & MODERATOR_ROLES:
        scopes.append(Scope.MODERATE)
    if actor.is_site_admin or roles & EDITOR_ROLES:
        scopes.append(Scope.PUBLISH)
    return scopes


# ---- making, listing, revoking ----------------------------------------------------------------


def create_token(
    *, actor: User, name: str, scopes: list[str], lifetime_days: int, organisation: Organisation | None = None
) -> tuple[ApiToken, str]:
    """Make a token for ``actor`` (or, given ``organisation``, for the organisation, made by
    ``actor``, one of its admins). Returns the token and its secret, which is never stored and
    must be shown to them now."""
    authorize(actor, Action.MANAGE_API_TOKENS, organisation if organisation is not None else actor)
    name = " ".join((name or "").split())
    if not name:
        raise RuleViolation(_("Give the token a name that says where it is used."), status=400, field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise RuleViolation(_("Use a name of at most %(count)d characters.", count=MAX_NAME_LENGTH), status=400, field="name")
    allowed = {str(s) for s in scopes_for(actor, organisation)}
    chosen = [str(s) for s in Scope if str(s) in set(scopes or [])]
    if not chosen:
        raise RuleViolation(_("Choose at least one thing the token may do."), status=400, field="scopes")
    if set(scopes) - allowed:
        raise RuleViolation(_("You cannot give a token more than your roles allow."), status=400, field="scopes")
    if not 1 <= lifetime_days <= MAX_LIFETIME_DAYS:
        raise RuleViolation(
            _("A token lives at most %(count)d days: choose how long.", count=MAX_LIFETIME_DAYS), status=400, field="lifetime"
        )
    secret = TOKEN_START + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=actor.id,
        organisation_id=organisation.id if organisation is not None else None,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        token_hash=token_hash(secret),
        scopes=chosen,
        created_at=now,
        expires_at=now + timedelta(days=lifetime_days),
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def personal_tokens(user: User) -> list[ApiToken]:
    """The person's own tokens (not the organisations' they made), the newest first."""
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.organisation_id.is_(None)).order_by(ApiToken.id.desc())
        )
    )


def organisation_tokens(organisation: Organisation, *, actor: User) -> list[ApiToken]:
    """The organisation's tokens, whoever of its admins made them, the newest first."""
    authorize(actor, Action.MANAGE_API_TOKENS, organisation)
    return list(db.session.scalars(select(ApiToken).where(ApiToken.organisation_id == organisation.id).order_by(ApiToken.id.desc())))


def revoke_token(token: ApiToken, *, actor: User) -> None:
    """Stop the token working at once (it stays listed, marked revoked). A person revokes their
    own tokens; any admin of an organisation revokes its tokens."""
    authorize(actor, Action.MANAGE_API_TOKENS, token.organisation if token.organisation_id is not None else token.user)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()


# ---- using one --------------------------------------------------------------------------------


def usable_token(secret: str, *, now: datetime | None = None) -> ApiToken | None:
    """The token whose secret this is, if it may be used now: known, not revoked, not expired,
    and for an organisation's token, its maker still the organisation's admin."""
    if not secret.startswith(TOKEN_START) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    now = now or utcnow()
    if token is None or token.revoked_at is not None or token.is_expired(now):
        return None
    if token.organisation_id is not None and not can(token.user, Action.MANAGE_API_TOKENS, token.organisation):
        return None
    return token


def note_use(token: ApiToken, *, now: datetime | None = None) -> None:
    """Note when the token was last used, at most once a minute, in a short transaction of its
    own (call it before the request has changed anything)."""
    now = now or utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    if db.session().in_transaction():
        db.session.commit()
    intent = sqlite_write_intent.set(True)  # SQLite: take the write lock at BEGIN, as a reading transaction could not half-way
    try:
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id, (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at <= now - LAST_USED_EVERY))
            .values(last_used_at=now)
        )
        db.session.commit()
    finally:
        sqlite_write_intent.reset(intent)


def acts_in(token: ApiToken, organisation_id: int) -> bool:
    """An organisation's token acts only in its organisation's consultations; a personal token
    wherever its person may."""
    return token.organisation_id is None or token.organisation_id == organisation_id


# ---- idempotency keys ---------------------------------------------------------------------------


def remembered_request(token: ApiToken, key: str) -> IdempotentRequest | None:
    return db.session.scalar(select(IdempotentRequest).where(IdempotentRequest.token_id == token.id, IdempotentRequest.key == key))


def remember_request(token: ApiToken, key: str, *, request_hash: str, status: int, body: str, location: str | None) -> None:
    """Keep the answer given to this key, in the transaction of the write it answers: a second
    request with the same key at the same moment fails on the unique key here
    (``IntegrityError``) and its write is rolled back with it."""
    with db.session.begin_nested():
        db.session.add(
            IdempotentRequest(token_id=token.id, key=key, request_hash=request_hash, status=status, body=body, location=location)
        )


@job(periodic=crontab(minute="17"))
def forget_old_keys() -> int:
    """Idempotency keys are kept for a day (``KEYS_KEPT_FOR``)."""
    return db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < utcnow() - KEYS_KEPT_FOR)).rowcount
