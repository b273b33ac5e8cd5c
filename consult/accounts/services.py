"""Accounts: signing up, in and out, resetting passwords, organisations and memberships.

Messages never tell whether an email address has an account: sign-up, sign-in and reset
answer the same way for a known and an unknown address, and the owner of a known address is
told by mail instead.

Codes in mail (confirmation, reset) never travel in a URL path or query, which access logs
keep: the mailed link carries the code in its fragment (``/confirm#CODE``), which browsers do
not send, and the page posts it (by a small script, or pasted by the person without one).

Password hashing is slow on purpose, so it never runs while holding a database lock: the
services that hash read what they need in a deferred transaction (``_reading``), end it, hash,
then write in a short transaction of their own (on SQLite a POST's writes begin with
``BEGIN IMMEDIATE``, the write lock), checking that what they read has not changed meanwhile.
These services therefore end the transaction they were called in (``_end_transaction``).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from consult.accounts.models import (
    LoginSession,
    Membership,
    Organisation,
    Role,
    SignInAttempt,
    User,
)
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.core import links, mail
from consult.core.errors import RuleViolation
from consult.core.mail import OutgoingMail, last_mail_failed, queue_mail
from consult.core.models import db, reading_first, utcnow
from consult.core.slugs import is_slug
from consult.permissions import Action, authorize

MIN_PASSWORD_LENGTH = 10


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked when no account matches, so a wrong address costs as long as a wrong password."""
    return generate_password_hash("not a real password, only for timing", method=method)


class SignInThrottled(RuleViolation):
    def __init__(self, minutes: int):
        super().__init__(
            f"Too many failed sign-in attempts. Wait {minutes} minutes and try again, or reset your password.",
            status=429,
        )


class AddressNotConfirmed(RuleViolation):
    """The right password for an account whose address is not confirmed yet. Said only after
    the password matched, so it tells a stranger nothing; ``mail_failed``: the last message to
    the address could not be sent (the page offers to send it again)."""

    def __init__(self, user: User, *, mail_failed: bool):
        if mail_failed:
            message = f"We could not send mail to {user.email}, so your address is not confirmed yet. Send the link again."
        else:
            message = "Confirm your email address first: follow the link we sent you when you signed up."
        super().__init__(message, status=400)
        self.user_id = user.id
        self.mail_failed = mail_failed


def _end_transaction() -> None:
    """Commit what the unit of work has done so far (reads, such as loading the signed-in
    user) so that the slow hashing that follows holds no database lock."""
    if db.session().in_transaction():
        db.session.commit()


@contextmanager
def _reading() -> Iterator[None]:
    """Reads that come before slow work, in a deferred transaction (SQLite: a plain BEGIN,
    which takes no write lock and, with WAL, waits for no writer), ended when the block ends."""
    _end_transaction()
    with reading_first():
        try:
            yield
        finally:
            _end_transaction()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    """A salted hash by the configured ``PASSWORD_HASH_METHOD`` (scrypt unless set otherwise).

    The hash names its method, so hashes made under another setting still verify.
    """
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.", status=400)


def create_user(*, email: str, password: str, display_name: str, site_admin: bool = False, confirmed: bool = True) -> User:
    """Create an account (for the CLI, the demo and tests). Refuses an address in use."""
    check_password_rules(password)
    return _new_user(
        email=normalise_email(email),
        password_hash=hash_password(password),
        display_name=display_name,
        site_admin=site_admin,
        confirmed=confirmed,
    )


def _new_user(*, email: str, password_hash: str, display_name: str, site_admin: bool = False, confirmed: bool = True) -> User:
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise RuleViolation("An account with this email address already exists.")
    user = User(
        email=email,
        password_hash=password_hash,
        display_name=display_name.strip(),
        is_site_admin=site_admin,
        confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def sign_up(*, email: str, password: str, display_name: str) -> User | None:
    """Start an account and mail a confirmation link. A known address gets a different mail,
    and the caller shows the same message either way. Returns the new account, None for a
    known address."""
    email = normalise_email(email)
    check_password_rules(password)
    _end_transaction()
    # Before any write lock, and for a taken address too: the same slow work, so timing tells nothing.
    password_hash = hash_password(password)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        if existing.confirmed_at is None:  # the first confirmation mail may have been lost
            _mail_confirmation(existing, greeting="")
            return None
        queue_mail(
            email,
            "Someone tried to create a Consult account with your address",
            "Someone (perhaps you) tried to sign up with this email address, which already has "
            "an account.\n\nIf it was you, sign in, or reset your password here:\n"
            f"{links.site_url('accounts.reset_request')}\n\n"
            "If it was not you, you can ignore this message.",
        )
        return None
    user = _new_user(email=email, password_hash=password_hash, display_name=display_name, confirmed=False)
    _mail_confirmation(user, greeting=f"Welcome, {user.display_name}.\n\n")
    return user


def _mail_confirmation(user: User, *, greeting: str) -> None:
    code = _confirm_token(user)
    queue_mail(
        user.email,
        "Confirm your Consult account",
        f"{greeting}Confirm your email address to start taking part:\n{code_link('accounts.confirm', code)}\n\n"
        f"If the page asks for a code, paste this one:\n{code}\n",
    )


def code_link(endpoint: str, code: str) -> str:
    """A link to a page that takes a code, with the code in the fragment: browsers never send
    the fragment, so the code reaches no access log, proxy log or Referer header."""
    return f"{links.site_url(endpoint)}#{code}"


def resend_confirmation(user_id: int) -> User | None:
    """Mail a fresh confirmation link to an account not confirmed yet (asked for by someone who
    has just given its password); None if there is nothing to confirm."""
    user = db.session.get(User, user_id)
    if user is None or user.confirmed_at is not None:
        return None
    _mail_confirmation(user, greeting="")
    return user


def confirm_account(token: str) -> User:
    data = _load_token(token, "confirm", max_age=7 * 24 * 3600)
    user = db.session.get(User, data.get("user"))
    if user is None or user.email != data.get("email"):
        raise RuleViolation("This confirmation link is not valid.", status=400)
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
    return user


@dataclass(frozen=True)
class SignInResult:
    """Credentials checked; the session starts once the sign-in's steps are done (``signin_flow``)."""

    user: User


def sign_in(*, email: str, password: str, address: str) -> SignInResult | None:
    """Check a password, within limits: after N failures in the window for an account or an
    address, refuse for the rest of the window without looking at the password.

    Returns None for a wrong address or password, having recorded the failure: the caller
    commits, so the failure counts."""
    email, address = normalise_email(email), address[:64]
    with _reading():
        _refuse_if_throttled(email=email, address=address)
        stored = db.session.scalar(select(User.password_hash).where(User.email == email))
    valid = check_password_hash(stored or _dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)  # holding no lock

    _refuse_if_throttled(email=email, address=address)  # again: guesses checked meanwhile count
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not valid or user.password_hash != stored:  # (changed meanwhile: the old one no longer counts)
        db.session.add(SignInAttempt(email=email, address=address))
        return None
    if user.confirmed_at is None:
        raise AddressNotConfirmed(user, mail_failed=last_mail_failed(user.email))
    db.session.execute(delete(SignInAttempt).where(SignInAttempt.email == email))
    return SignInResult(user=user)


def _refuse_if_throttled(*, email: str, address: str) -> None:
    """After N failures in the window for an account or an address, refuse for the rest of the window."""
    config = current_app.config
    window = int(config["SIGNIN_WINDOW_SECONDS"])
    since = utcnow() - timedelta(seconds=window)
    failures_for_account = db.session.scalar(select(func.count()).where(SignInAttempt.email == email, SignInAttempt.attempted_at >= since))
    failures_for_address = db.session.scalar(
        select(func.count()).where(SignInAttempt.address == address, SignInAttempt.attempted_at >= since)
    )
    if (
        failures_for_account >= config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]
        or failures_for_address >= config["SIGNIN_MAX_FAILURES_PER_ADDRESS"]
    ):
        raise SignInThrottled(max(1, window // 60))


def start_login_session(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, token_hash=_token_hash(token)))
    db.session.flush()
    return token


def end_login_session(token: str | None) -> None:
    if token:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))


def user_for_session(user_id: str, token: str | None) -> User | None:
    """The user of a live login session, or None once that session was ended."""
    if not token or not user_id.isdigit():
        return None
    return db.session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == int(user_id), LoginSession.token_hash == _token_hash(token))
    )


def request_password_reset(*, email: str) -> None:
    """Mail a reset link if the address has an account; say nothing either way."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        return
    code = _reset_token(user)
    queue_mail(
        user.email,
        "Reset your Consult password",
        f"Follow this link within an hour to choose a new password:\n{code_link('accounts.reset_password', code)}\n\n"
        f"If the page asks for a code, paste this one:\n{code}\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is.",
    )


def reset_password(*, token: str, password: str) -> User:
    """Set a new password. The code works once: it is bound to the old password's hash.
    Every other signed-in session of the account ends."""
    data = _load_token(token, "reset", max_age=3600)
    with _reading():
        user = db.session.get(User, data.get("user"))
        stamp = user and _password_stamp(user)
    if user is None or data.get("stamp") != stamp:
        raise RuleViolation("This reset link has expired or was already used.", status=400, field="code")
    check_password_rules(password)
    password_hash = hash_password(password)  # holding no lock

    user = db.session.get(User, data["user"], populate_existing=True, with_for_update=True)
    if user is None or data.get("stamp") != _password_stamp(user):  # used meanwhile
        raise RuleViolation("This reset link has expired or was already used.", status=400, field="code")
    user.password_hash = password_hash
    if user.confirmed_at is None:  # following the mailed link proves the address
        user.confirmed_at = utcnow()
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return user


def change_password(user: User, *, current: str, new: str, address: str, keep_session: str | None) -> bool:
    """A signed-in person sets a new password, giving the current one (a borrowed session
    alone cannot); every other session of the account ends. False for a wrong current
    password, having recorded the failure (it counts towards the sign-in limits): the caller
    commits, so the failure counts."""
    user_id, email, address = user.id, user.email, address[:64]
    with _reading():
        _refuse_if_throttled(email=email, address=address)
        stored = db.session.scalar(select(User.password_hash).where(User.id == user_id))
    valid = stored is not None and check_password_hash(stored, current)  # holding no lock
    check_password_rules(new)
    password_hash = hash_password(new) if valid else None

    account = db.session.get(User, user_id, populate_existing=True, with_for_update=True)
    if password_hash is None or account is None or account.password_hash != stored:
        db.session.add(SignInAttempt(email=email, address=address))
        return False
    account.password_hash = password_hash
    others = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_session:
        others = others.where(LoginSession.token_hash != _token_hash(keep_session))
    db.session.execute(others)
    return True


def failed_mail(*, actor: User | None) -> list[OutgoingMail]:
    """The messages that could not be sent, for the site admins (never their bodies)."""
    authorize(actor, Action.MANAGE_MAIL)
    return mail.failed_mail()


def retry_failed_mail(mail_id: int, *, actor: User | None) -> OutgoingMail | None:
    """Try a failed message again, with a fresh set of attempts; None if it is not a failed one."""
    authorize(actor, Action.MANAGE_MAIL)
    message = db.session.get(OutgoingMail, mail_id)
    if message is None or message.status != mail.MailStatus.FAILED:
        return None
    mail.retry_mail(message)
    return message


def update_profile(user: User, *, display_name: str) -> None:
    user.display_name = display_name.strip()


def organisation_by_slug(slug: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.slug == slug))


def create_organisation(*, actor: User | None, slug: str, name: str, description: str = "") -> Organisation:
    authorize(actor, Action.CREATE_ORGANISATION)
    organisation = _new_organisation(slug=slug, name=name, description=description)
    record_staff_action(
        StaffOperation.CREATE_ORGANISATION,
        actor=actor,
        organisation_id=organisation.id,
        target_type=TargetType.ORGANISATION,
        target_id=organisation.id,
    )
    return organisation


def _new_organisation(*, slug: str, name: str, description: str = "") -> Organisation:
    if not is_slug(slug):
        raise RuleViolation("Use lowercase letters, digits and single hyphens in the short name.", status=400)
    if db.session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise RuleViolation("That short name is taken.")
    organisation = Organisation(slug=slug, name=name.strip(), description=description)
    db.session.add(organisation)
    db.session.flush()
    return organisation


def add_member(organisation: Organisation, user: User, role: Role, *, actor: User | None) -> bool:
    """Give ``user`` a role in the organisation; False if they had it already. Only its admins
    (and site admins) do this."""
    authorize(actor, Action.MANAGE_ORGANISATION, organisation)
    had = {m.id for m in user.memberships}
    added = grant_role(organisation, user, role).id not in had
    if added:
        record_staff_action(
            StaffOperation.GRANT_ROLE,
            actor=actor,
            organisation_id=organisation.id,
            target_type=TargetType.USER,
            target_id=user.id,
            detail={"role": role.value},
        )
    return added


def add_member_by_email(organisation: Organisation, email: str, role: Role, *, actor: User | None) -> tuple[User, bool]:
    """``add_member`` for the person with this address (admins know people by their address);
    returns them and whether the role is new."""
    authorize(actor, Action.MANAGE_ORGANISATION, organisation)
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise RuleViolation("No account uses this address. Ask the person to sign up first.", status=400, field="email")
    return user, add_member(organisation, user, role, actor=actor)


def memberships_of(organisation: Organisation) -> list[Membership]:
    return list(
        db.session.scalars(select(Membership).where(Membership.organisation_id == organisation.id).order_by(Membership.role, Membership.id))
    )


def remove_member(organisation: Organisation, user: User, role: Role, *, actor: User | None) -> None:
    authorize(actor, Action.MANAGE_ORGANISATION, organisation)
    if role == Role.ADMIN and actor is not None and actor.id == user.id:
        raise RuleViolation("You cannot remove your own admin role; ask another admin.")
    gone = db.session.execute(
        delete(Membership).where(
            Membership.organisation_id == organisation.id,
            Membership.user_id == user.id,
            Membership.role == role.value,
        )
    ).rowcount
    db.session.expire(user, ["memberships"])
    if gone:
        record_staff_action(
            StaffOperation.REVOKE_ROLE,
            actor=actor,
            organisation_id=organisation.id,
            target_type=TargetType.USER,
            target_id=user.id,
            detail={"role": role.value},
        )


def grant_role(organisation: Organisation, user: User, role: Role) -> Membership:
    """The rule-free core of ``add_member``, for the CLI and the demo."""
    existing = next(
        (m for m in user.memberships if m.organisation_id == organisation.id and m.role == role),
        None,
    )
    if existing:
        return existing
    membership = Membership(user=user, organisation=organisation, role=role.value)
    db.session.add(membership)
    db.session.flush()
    return membership


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"consult-{purpose}")


def _confirm_token(user: User) -> str:
    return _serializer("confirm").dumps({"user": user.id, "email": user.email})


def _reset_token(user: User) -> str:
    return _serializer("reset").dumps({"user": user.id, "stamp": _password_stamp(user)})


def _password_stamp(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _load_token(token: str, purpose: str, *, max_age: int) -> dict:
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise RuleViolation("This link has expired. Ask for a new one.", status=400) from None
    except BadSignature:
        raise RuleViolation("This link is not valid.", status=400) from None
    return data if isinstance(data, dict) else {}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
