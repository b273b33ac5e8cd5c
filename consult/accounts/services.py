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

Sign-in throttling is in ``throttling`` (its docstring says how it keeps from locking the owner
out); public names are checked by ``names``; common passwords by ``common_passwords``.

A login session ends on the server, whatever its cookie says: after ``SESSION_ABSOLUTE_LIFETIME``
seconds, or after the idle lifetime without a request (``SESSION_IDLE_LIFETIME_STAFF`` for site
admins and members of an organisation, ``SESSION_IDLE_LIFETIME`` for everyone when set).
``user_for_session`` deletes an ended session's row; it writes a session's ``last_seen_at`` at
most once a minute, in a short transaction of its own (``_write_apart``).

Changing the email address: the person asks with their password; a link goes to the new
address and the change is made only when it is followed; the old address is told when the
change is asked and when it is made. A new address that already has an account gets the same
answer (its owner is told by mail instead), so the form tells nobody which addresses have
accounts.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from consult.accounts import common_passwords, names, throttling
from consult.accounts.models import (
    LoginSession,
    Membership,
    Organisation,
    Role,
    User,
)
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.core import links, mail
from consult.core.errors import RuleViolation
from consult.core.mail import OutgoingMail, last_mail_failed, queue_mail
from consult.core.models import db, reading_first, sqlite_write_intent, utcnow
from consult.core.slugs import is_slug
from consult.core.templating import format_number
from consult.moderation.models import Block
from consult.permissions import Action, authorize, note_blocked_anywhere
from consult.site import services as site
from consult.site.images import ImageRefused, normalise_logo

MIN_PASSWORD_LENGTH = 10
#: A session's ``last_seen_at`` is written at most this often (not on every request).
LAST_SEEN_EVERY = timedelta(minutes=1)
EMAIL_CHANGE_HOURS = 24
CONFIRM_DAYS = 7


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked when no account matches, so a wrong address costs as long as a wrong password."""
    return generate_password_hash("not a real password, only for timing", method=method)


class AddressNotConfirmed(RuleViolation):
    """The right password for an account whose address is not confirmed yet. Said only after
    the password matched, so it tells a stranger nothing; ``mail_failed``: the last message to
    the address could not be sent (the page offers to send it again)."""

    def __init__(self, user: User, *, mail_failed: bool):
        if mail_failed:
            message = _("We could not send mail to %(email)s, so your address is not confirmed yet. Send the link again.", email=user.email)
        else:
            message = _(
                "Confirm your email address first: it is not confirmed yet. Follow the link we sent you when you signed up, "
                "or send the link again."
            )
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
    """At least ``MIN_PASSWORD_LENGTH`` characters, and not in the list of common passwords."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation(_("Choose a password of at least %(num)s characters.", num=MIN_PASSWORD_LENGTH), status=400, field="password")
    if common_passwords.is_common(password):
        raise RuleViolation(
            _(
                "This password is in lists of passwords that people use most often, which are the first "
                "ones anyone guessing tries. Choose another."
            ),
            status=400,
            field="password",
        )


def check_display_name(display_name: str, *, user: User | None = None) -> str:
    """The public name cleaned (``names.clean_display_name``), refused if it looks like the
    name of a member of staff (a site admin or anyone with a role in an organisation) other
    than ``user``: a participant must not pass for the organisation's staff, nor one member of
    staff for another."""
    name = names.clean_display_name(display_name)
    look = names.skeleton(name)
    is_staff = or_(User.is_site_admin.is_(True), exists().where(Membership.user_id == User.id))
    staff = select(User.display_name).where(is_staff)
    if user is not None and user.id is not None:
        staff = staff.where(User.id != user.id)
    if any(names.skeleton(other) == look for other in db.session.scalars(staff)):
        raise RuleViolation(
            _("This name looks too much like the name of a member of staff. Choose another."), status=400, field="display_name"
        )
    return name


def create_user(*, email: str, password: str, display_name: str, site_admin: bool = False, confirmed: bool = True) -> User:
    """Create an account (for the CLI, the demo and tests). Refuses an address in use."""
    check_password_rules(password)
    return _new_user(
        email=normalise_email(email),
        password_hash=hash_password(password),
        display_name=check_display_name(display_name),
        site_admin=site_admin,
        confirmed=confirmed,
    )


def _new_user(*, email: str, password_hash: str, display_name: str, site_admin: bool = False, confirmed: bool = True) -> User:
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise RuleViolation(_("An account with this email address already exists."))
    user = User(
        email=email,
        password_hash=password_hash,
        display_name=display_name,
        is_site_admin=site_admin,
        confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def sign_up(
    *,
    email: str,
    password: str,
    display_name: str,
    next_url: str | None = None,
    browser: str | None = None,
    invitation: str | None = None,
) -> User | None:
    """Start an account and mail a confirmation link. A known address gets a different mail,
    and the caller shows the same message either way. Returns the new account, None for a
    known address. When registration is by invitation, ``invitation`` must be a valid code
    (checked for every address alike; one of its uses is taken only by a new account).

    ``next_url`` (a local path) rides in the link, so confirming returns the person to where they
    were. ``browser`` names the browser signing up (``core.browser_token.fingerprint``): the
    link signs the person in only there (``confirm_account``). An address signed up before but
    never confirmed gets a link that names no browser: whoever signed up first chose that
    account's password, and the owner of the address must not be signed in to an account a
    stranger knows the password of; they sign in, or reset the password, after confirming."""
    email = normalise_email(email)
    check_password_rules(password)
    with _reading():
        if not site.registration_open() and not site.invitation_is_valid(invitation):
            site.use_invitation(invitation)  # refuses, with the reason
        display_name = check_display_name(display_name)
    # Before any write lock, and for a taken address too: the same slow work, so timing tells nothing.
    password_hash = hash_password(password)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        if existing.confirmed_at is None:  # the first confirmation mail may have been lost
            _mail_confirmation(existing, greeting="", next_url=next_url)
            return None
        queue_mail(
            email,
            _("Someone tried to create a Consult account with your address"),
            _(
                "Someone (perhaps you) tried to sign up with this email address, which already has "
                "an account.\n\nIf it was you, sign in, or reset your password here:\n%(link)s\n\n"
                "If it was not you, you can ignore this message.",
                link=links.site_url("accounts.reset_request"),
            ),
        )
        return None
    site.use_invitation(invitation)
    user = _new_user(email=email, password_hash=password_hash, display_name=display_name, confirmed=False)
    _mail_confirmation(user, greeting=_("Welcome, %(name)s.", name=user.display_name) + "\n\n", next_url=next_url, browser=browser)
    return user


def _mail_confirmation(user: User, *, greeting: str, next_url: str | None = None, browser: str | None = None) -> None:
    code = _confirm_token(user, browser=browser)
    back = {"next": next_url} if links.safe_next(next_url) else {}
    queue_mail(
        user.email,
        _("Confirm your Consult account"),
        greeting
        + _(
            "Confirm your email address to start taking part:\n%(link)s\n\nIf the page asks for a code, paste this one:\n%(code)s\n",
            link=code_link("accounts.confirm", code, **back),
            code=code,
        ),
    )


def code_link(endpoint: str, code: str, **values: str) -> str:
    """A link to a page that takes a code, with the code in the fragment: browsers never send
    the fragment, so the code reaches no access log, proxy log or Referer header."""
    return f"{links.site_url(endpoint, **values)}#{code}"


def resend_confirmation(user_id: int, *, next_url: str | None = None, browser: str | None = None) -> User | None:
    """Mail a fresh confirmation link to an account not confirmed yet (asked for by someone who
    has just given its password, so the link may sign them in in their ``browser``); None if
    there is nothing to confirm."""
    user = db.session.get(User, user_id)
    if user is None or user.confirmed_at is not None:
        return None
    _mail_confirmation(user, greeting="", next_url=next_url, browser=browser)
    return user


@dataclass(frozen=True)
class Confirmation:
    user: User
    #: The link was followed for the first time, in the browser it names: start their session.
    signs_in: bool


def confirm_account(token: str, *, browser: str | None = None) -> Confirmation:
    """Confirm the address a link was mailed to (for ``CONFIRM_DAYS``). The link signs the person
    in once: the first time it is followed (a conditional UPDATE decides, so two racing clicks
    sign in once), and only in the browser that signed up or asked for it after giving the
    password (``browser``, as the link names it). Anywhere else, or again, it only confirms: a
    mailed link must not become a way into the account for whoever sees the mail later, nor sign
    someone in to an account made with their address by a stranger."""
    data = _load_token(token, "confirm", max_age=CONFIRM_DAYS * 24 * 3600)
    user = db.session.get(User, data.get("user"))
    if user is None or user.email != data.get("email"):
        raise RuleViolation(_("This confirmation link is not valid."), status=400)
    first = db.session.execute(update(User).where(User.id == user.id, User.confirmed_at.is_(None)).values(confirmed_at=utcnow())).rowcount
    db.session.expire(user, ["confirmed_at"])
    named = data.get("browser")
    return Confirmation(user=user, signs_in=bool(first) and browser is not None and named == browser)


@dataclass(frozen=True)
class SignInResult:
    """Credentials checked; the session starts once the sign-in's steps are done (``signin_flow``)."""

    user: User


def sign_in(*, email: str, password: str, address: str, known_accounts: Collection[int] = ()) -> SignInResult | None:
    """Check a password, within the limits of ``throttling`` (``known_accounts``: the accounts
    this browser signed in to before, from its known-browser cookie).

    Returns None for a wrong address or password, having recorded the failure: the caller
    commits, so the failure counts."""
    email, address = normalise_email(email), address[:64]
    with _reading():
        found = db.session.execute(select(User.id, User.password_hash).where(User.email == email)).first()
        known = found is not None and found.id in known_accounts
        throttling.refuse_if_throttled(email=email, address=address, known_device=known)
    stored = found.password_hash if found else None
    valid = check_password_hash(stored or _dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)  # holding no lock

    throttling.refuse_if_throttled(email=email, address=address, known_device=known)  # again: guesses checked meanwhile count
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not valid or user.password_hash != stored:  # (changed meanwhile: the old one no longer counts)
        throttling.record_failure(email=email, address=address, known_device=known)
        return None
    if user.confirmed_at is None:
        raise AddressNotConfirmed(user, mail_failed=last_mail_failed(user.email))
    throttling.clear_failures(email)
    return SignInResult(user=user)


def start_login_session(user: User, *, device: str = "", address: str | None = None) -> str:
    """A new login session for ``user``; returns its token (the cookie keeps it, the database
    only its hash). ``device`` describes the browser, ``address`` is where it signed in from."""
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, token_hash=_token_hash(token), device=device[:100], address=address and address[:64]))
    db.session.flush()
    return token


def end_login_session(token: str | None) -> None:
    if token:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))


def user_for_session(user_id: str, token: str | None) -> User | None:
    """The user of a live login session, or None once that session was ended, by signing out
    or by its lifetimes (then its row is deleted). Notes when the session was last used, at
    most once a minute. Writes in a short transaction of its own (``_write_apart``): call it
    before the request has changed anything."""
    if not token or not user_id.isdigit():
        return None
    found = db.session.execute(
        select(LoginSession, User, exists().where(Block.user_id == User.id))
        .join(User, LoginSession.user_id == User.id)
        .where(User.id == int(user_id), LoginSession.token_hash == _token_hash(token))
    ).first()
    if found is None:
        return None
    login, user, blocked_somewhere = found
    note_blocked_anywhere(user, blocked_somewhere)  # asked here, in the one query, not by each check of the request
    now = utcnow()
    if _session_has_ended(login, user, now):
        _write_apart(delete(LoginSession).where(LoginSession.id == login.id))
        return None
    if now - login.last_seen_at >= LAST_SEEN_EVERY:
        _write_apart(
            update(LoginSession)
            .where(LoginSession.id == login.id, LoginSession.last_seen_at <= now - LAST_SEEN_EVERY)
            .values(last_seen_at=now)
        )
    return user


def _session_has_ended(login: LoginSession, user: User, now) -> bool:
    config = current_app.config
    if now - login.created_at > timedelta(seconds=config["SESSION_ABSOLUTE_LIFETIME"]):
        return True
    idle = now - login.last_seen_at
    everyone, staff = config["SESSION_IDLE_LIFETIME"], config["SESSION_IDLE_LIFETIME_STAFF"]
    if everyone is not None and idle > timedelta(seconds=everyone):
        return True
    # Whether the person is staff is asked only once they have been away longer than staff may
    # be: their memberships are not loaded on every request for an answer that cannot change it.
    return staff is not None and idle > timedelta(seconds=staff) and (user.is_site_admin or bool(user.memberships))


def _write_apart(statement) -> None:
    """One small write in a transaction of its own, holding the write lock from its start (on
    SQLite a reading request's transaction could not take it half-way), then committed."""
    _end_transaction()
    token = sqlite_write_intent.set(True)
    try:
        db.session.execute(statement)
        db.session.commit()
    finally:
        sqlite_write_intent.reset(token)


def login_sessions_of(user: User) -> list[LoginSession]:
    """The person's live sessions, the most recently used first."""
    return list(
        db.session.scalars(
            select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
        )
    )


def session_id_for(token: str | None) -> int | None:
    """The id of the session whose cookie holds ``token`` (the page marks it "this browser")."""
    return db.session.scalar(select(LoginSession.id).where(LoginSession.token_hash == _token_hash(token))) if token else None


def end_session_of(user: User, session_id: int) -> bool:
    """End one of the person's own sessions (signing that browser out); False if it was not theirs or is gone."""
    ended = db.session.execute(delete(LoginSession).where(LoginSession.id == session_id, LoginSession.user_id == user.id))
    return bool(ended.rowcount)


def end_other_sessions(user: User, *, keep_token: str | None) -> int:
    """Sign out every browser of the person but the one holding ``keep_token``; how many were ended."""
    others = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_token:
        others = others.where(LoginSession.token_hash != _token_hash(keep_token))
    return db.session.execute(others).rowcount


def request_password_reset(*, email: str) -> None:
    """Mail a reset link if the address has an account; say nothing either way."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        return
    code = _reset_token(user)
    queue_mail(
        user.email,
        _("Reset your Consult password"),
        _(
            "Follow this link within an hour to choose a new password:\n%(link)s\n\n"
            "If the page asks for a code, paste this one:\n%(code)s\n\n"
            "If you did not ask for this, ignore this message: your password stays as it is.",
            link=code_link("accounts.reset_password", code),
            code=code,
        ),
    )


def reset_password(*, token: str, password: str) -> User:
    """Set a new password. The code works once: it is bound to the old password's hash.
    Every other signed-in session of the account ends."""
    data = _load_token(token, "reset", max_age=3600)
    with _reading():
        user = db.session.get(User, data.get("user"))
        stamp = user and _password_stamp(user)
    if user is None or data.get("stamp") != stamp:
        raise RuleViolation(_("This reset link has expired or was already used."), status=400, field="code")
    check_password_rules(password)
    password_hash = hash_password(password)  # holding no lock

    user = db.session.get(User, data["user"], populate_existing=True, with_for_update=True)
    if user is None or data.get("stamp") != _password_stamp(user):  # used meanwhile
        raise RuleViolation(_("This reset link has expired or was already used."), status=400, field="code")
    user.password_hash = password_hash
    if user.confirmed_at is None:  # following the mailed link proves the address
        user.confirmed_at = utcnow()
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    throttling.clear_failures(user.email)  # the owner has proved who they are: no one else's guesses hold them back
    return user


def change_password(user: User, *, current: str, new: str, address: str, keep_session: str | None) -> bool:
    """A signed-in person sets a new password, giving the current one (a borrowed session
    alone cannot); every other session of the account ends. False for a wrong current
    password, having recorded the failure (it counts towards the sign-in limits): the caller
    commits, so the failure counts."""
    check_password_rules(new)
    checked = _check_current_password(user, password=current, address=address, then=lambda: hash_password(new))
    if checked is None:
        return False
    account, account.password_hash = checked
    end_other_sessions(account, keep_token=keep_session)
    return True


def _check_current_password(
    user: User, *, password: str, address: str, then: Callable[[], str] | None = None
) -> tuple[User, str | None] | None:
    """A signed-in person's current password, checked as a sign-in from a known browser would
    be (their own failures count, nobody else's), holding no lock while hashing. Returns the
    user, locked for the change, with the result of ``then`` (more slow work done meanwhile),
    or None (the failure recorded) for a wrong password."""
    user_id, email, address = user.id, user.email, address[:64]
    with _reading():
        throttling.refuse_if_throttled(email=email, address=address, known_device=True)
        stored = db.session.scalar(select(User.password_hash).where(User.id == user_id))
    valid = stored is not None and check_password_hash(stored, password)  # holding no lock
    pending = then() if valid and then else None

    account = db.session.get(User, user_id, populate_existing=True, with_for_update=True)
    if not valid or account is None or account.password_hash != stored:
        throttling.record_failure(email=email, address=address, known_device=True)
        return None
    return account, pending


def request_email_change(user: User, *, password: str, new_email: str, address: str) -> bool:
    """The signed-in person asks to use ``new_email``, giving their password (a borrowed
    session alone cannot). Mails a confirmation link to the new address (or, if it already
    has an account, tells that account's owner instead: the answer here is the same) and tells
    the old address. False for a wrong password (the failure recorded; the caller commits)."""
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise RuleViolation(_("That is already your email address."), status=400, field="email")
    checked = _check_current_password(user, password=password, address=address)
    if checked is None:
        return False
    account = checked[0]
    taken = db.session.scalar(select(User.id).where(User.email == new_email)) is not None
    if taken:
        queue_mail(
            new_email,
            _("Someone tried to move a Consult account to your address"),
            _(
                "Someone (perhaps you) asked to change the email address of a Consult account to this "
                "one, which already belongs to an account. Nothing has changed: one address can belong to "
                "one account only.\n\nIf you meant to use this address, sign in to the account that has it, "
                "or reset its password here:\n%(link)s\n\n"
                "If it was not you, you can ignore this message.",
                link=links.site_url("accounts.reset_request"),
            ),
        )
    else:
        code = _serializer("email").dumps({"user": account.id, "from": account.email, "to": new_email})
        queue_mail(
            new_email,
            _("Confirm your new email address for Consult"),
            _(
                "Follow this link within %(hours)s hours to use this address for your Consult account:\n%(link)s\n\n"
                "If the page asks for a code, paste this one:\n%(code)s\n\n"
                "If you did not ask for this, ignore this message: nothing changes.",
                hours=EMAIL_CHANGE_HOURS,
                link=code_link("accounts.confirm_email_change", code),
                code=code,
            ),
        )
    queue_mail(
        account.email,
        _("A change of your Consult email address was asked for"),
        _(
            "Someone signed in to your Consult account asked to change its email address to %(email)s. "
            "The change is made only when the link we mailed to that address is followed; until then "
            "we keep writing to this one.\n\nIf it was not you, change your password now:\n%(link)s",
            email=new_email,
            link=links.site_url("accounts.change_password"),
        ),
    )
    return True


def confirm_email_change(token: str) -> User:
    """Follow the link mailed to the new address: the change is made, and the old address told.
    A link works once (it names the address it changes from) and for ``EMAIL_CHANGE_HOURS``."""
    data = _load_token(token, "email", max_age=EMAIL_CHANGE_HOURS * 3600)
    user = db.session.get(User, data.get("user"), with_for_update=True)
    used = RuleViolation(_("This link has expired or was already used."), status=400, field="code")
    if user is None or user.email != data.get("from") or not isinstance(data.get("to"), str):
        raise used
    old, new = user.email, data["to"]
    taken = RuleViolation(_("Another account uses this address now, so it cannot be yours too."), status=400, field="code")
    if db.session.scalar(select(User.id).where(User.email == new)) is not None:
        raise taken
    try:
        with db.session.begin_nested():  # an account made with the address meanwhile: the unique key says so
            user.email = new
            if user.confirmed_at is None:
                user.confirmed_at = utcnow()
            db.session.flush()
    except IntegrityError:
        raise taken from None
    queue_mail(
        old,
        _("Your Consult email address was changed"),
        _(
            "The email address of your Consult account is now %(email)s: the link mailed to it was "
            "followed. We will not write to this address again.\n\nIf it was not you, tell the site's "
            "administrators at once.",
            email=new,
        ),
    )
    return user


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
    """Change the person's public name (``check_display_name``'s rules)."""
    user.display_name = check_display_name(display_name, user=user)


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


def update_organisation(
    organisation: Organisation,
    *,
    actor: User | None,
    name: str,
    description: str,
    logo: bytes | None = None,
    remove_logo: bool = False,
    logo_alt: str = "",
) -> list[str]:
    """Change the organisation's name, description and logo (its admins and site admins); the
    logo is checked by its content and redrawn as a small PNG. Returns what changed (logged)."""
    authorize(actor, Action.MANAGE_ORGANISATION, organisation)
    name = name.strip()
    if not name or len(name) > 200:
        raise RuleViolation(_("Give the organisation a name of at most %(num)s characters.", num=200), status=400, field="name")
    if len(description) > 5000:
        raise RuleViolation(_("Keep the description to %(num)s characters.", num=format_number(5000)), status=400, field="description")
    picture = None
    if logo:
        try:
            picture = normalise_logo(logo)
        except ImageRefused as refused:
            raise RuleViolation(str(refused), status=400, field="logo") from None
    changed = []
    for field, value in (("name", name), ("description", description), ("logo_alt", logo_alt.strip()[:200])):
        if getattr(organisation, field) != value:
            setattr(organisation, field, value)
            changed.append(field)
    if picture is not None or (remove_logo and organisation.logo_updated_at is not None):
        organisation.logo = picture
        organisation.logo_updated_at = utcnow() if picture is not None else None
        changed.append("logo")
    if changed:
        record_staff_action(
            StaffOperation.EDIT_ORGANISATION,
            actor=actor,
            organisation_id=organisation.id,
            target_type=TargetType.ORGANISATION,
            target_id=organisation.id,
            detail={"fields": changed},
        )
    db.session.flush()
    return changed


def _new_organisation(*, slug: str, name: str, description: str = "") -> Organisation:
    if not is_slug(slug):
        raise RuleViolation(_("Use lowercase letters, digits and single hyphens in the short name."), status=400)
    if db.session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise RuleViolation(_("That short name is taken."))
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
        raise RuleViolation(_("No account uses this address. Ask the person to sign up first."), status=400, field="email")
    return user, add_member(organisation, user, role, actor=actor)


def memberships_of(organisation: Organisation) -> list[Membership]:
    return list(
        db.session.scalars(select(Membership).where(Membership.organisation_id == organisation.id).order_by(Membership.role, Membership.id))
    )


def remove_member(organisation: Organisation, user: User, role: Role, *, actor: User | None) -> None:
    authorize(actor, Action.MANAGE_ORGANISATION, organisation)
    if role == Role.ADMIN and actor is not None and actor.id == user.id:
        raise RuleViolation(_("You cannot remove your own admin role; ask another admin."))
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


def _confirm_token(user: User, *, browser: str | None = None) -> str:
    return _serializer("confirm").dumps({"user": user.id, "email": user.email, "browser": browser})


def _reset_token(user: User) -> str:
    return _serializer("reset").dumps({"user": user.id, "stamp": _password_stamp(user)})


def _password_stamp(user: User) -> str:
    """Changes with the password and the address: a reset link mailed before either changed no longer works."""
    return hashlib.sha256(f"{user.password_hash}\n{user.email}".encode()).hexdigest()[:16]


def _load_token(token: str, purpose: str, *, max_age: int) -> dict:
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise RuleViolation(_("This link has expired. Ask for a new one."), status=400) from None
    except BadSignature:
        raise RuleViolation(_("This link is not valid."), status=400) from None
    return data if isinstance(data, dict) else {}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
