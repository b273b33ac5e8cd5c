"""Two-factor sign-in: a TOTP authenticator app (RFC 6238, through pyotp) and recovery codes.

Anyone may turn it on; site admins and organisation admins must when the setting
``TWO_FACTOR_REQUIRED_FOR_STAFF`` says so (they are then enrolled as a step of signing in, and
cannot get in without it). The sign-in step itself is in ``twofactor_views`` (a web module:
``signin_flow`` is web plumbing); every rule is here.

- **Enrolment** keeps a secret (encrypted with a key derived from the site's secret key) on a row
  that is pending until the person enters a current code from their app; then the code is asked
  at every sign-in, and ten recovery codes are shown once (only their hashes are kept).
- **A code works once.** Codes of the previous, current and next 30-second step are accepted
  (clocks drift), but only for a step later than the last one accepted; the database settles two
  requests racing with one code (a conditional ``UPDATE``), as it does for a recovery code.
- **Guessing is throttled**: after ``TWO_FACTOR_MAX_FAILURES`` wrong codes for an account within
  ``SIGNIN_WINDOW_SECONDS``, codes are refused unseen until the window has passed. (The sign-in
  step also ends a pending sign-in after that many wrong codes: the password must be given again.)
- **Turning it off** needs a current code or a recovery code, and the password: a borrowed
  session alone cannot. Making new recovery codes needs a current code.

Like ``services.sign_in``, checks return a falsy answer for a wrong code having recorded the
failure, so that the caller's commit keeps it; they raise only when the account is throttled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import delete, func, or_, select, update
from werkzeug.security import check_password_hash

from consult.accounts.models import Role, User
from consult.accounts.twofactor_models import RecoveryCode, TwoFactor, TwoFactorFailure
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow

STEP_SECONDS = 30
DIGITS = 6
WINDOW_STEPS = 1  # a code of the step before or after the current one is accepted too
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
RECOVERY_CODE_LENGTH = 12  # about 59 bits each
ISSUER = "Consult"

WRONG_CODE = _l("That code is not right. Enter the 6 digits your app shows now, or one of your recovery codes.")
WRONG_APP_CODE = _l("That code is not right. Enter the 6 digits your app shows now.")


class TwoFactorThrottled(RuleViolation):
    def __init__(self, minutes: int):
        super().__init__(
            ngettext(
                "Too many wrong codes. Wait %(num)d minute and try again.",
                "Too many wrong codes. Wait %(num)d minutes and try again.",
                minutes,
            ),
            status=429,
        )


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret for typing in, and as a link and a QR code."""

    secret: str  # in groups of four, as apps' "enter a key" screens show it
    uri: str
    qr_svg: str


# --- who is asked -------------------------------------------------------------------------------


def two_factor_of(user: User) -> TwoFactor | None:
    return db.session.get(TwoFactor, user.id)


def is_enabled(user: User) -> bool:
    found = two_factor_of(user)
    return found is not None and found.is_enabled


def is_staff(user: User) -> bool:
    """Site admins and organisation admins: those who may be required to use a second factor."""
    return user.is_site_admin or any(m.role == Role.ADMIN for m in user.memberships)


def is_required(user: User) -> bool:
    """The setting ``TWO_FACTOR_REQUIRED_FOR_STAFF`` is on and this person is staff."""
    return bool(current_app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"]) and is_staff(user)


def must_enrol(user: User) -> bool:
    """Required of this person, and not set up yet: they may do nothing before enrolling."""
    return is_required(user) and not is_enabled(user)


def asked_at_sign_in(user: User) -> bool:
    """The sign-in step is needed: a code for those who have it, enrolment for those who must."""
    return is_enabled(user) or is_required(user)


# --- enrolment ------------------------------------------------------------------------------------


def start_enrolment(user: User) -> TwoFactor:
    """Give ``user`` a new secret, pending until they confirm it with a code (a pending one is
    kept: the person may have scanned it already). Refused when it is on already."""
    found = two_factor_of(user)
    if found is not None and found.is_enabled:
        raise RuleViolation(_("Two-factor sign-in is already on for your account."), status=409)
    if found is None:
        found = TwoFactor(user_id=user.id, secret=_encrypt(pyotp.random_base32()))
        db.session.add(found)
        db.session.flush()
    return found


def enrolment(user: User) -> Enrolment | None:
    """The pending secret of ``user`` to show on the enrolment page, or None if none is pending."""
    found = two_factor_of(user)
    if found is None or found.is_enabled:
        return None
    secret = _decrypt(found.secret)
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=user.email, issuer_name=ISSUER)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", omitsize=False)
    return Enrolment(secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), uri=uri, qr_svg=qr_svg)


def confirm_enrolment(user: User, *, code: str) -> list[str] | None:
    """Turn the second factor on, given a current code from the app the pending secret was put
    in; returns the new recovery codes (to be shown once). None for a wrong code (recorded)."""
    found = two_factor_of(user)
    if found is None or found.is_enabled:
        raise RuleViolation(_("There is no set-up waiting for a code. Start again."), status=409)
    _refuse_if_throttled(user)
    if _use_app_code(found, code) is None:
        _record_failure(user)
        return None
    found.enabled_at = utcnow()
    _clear_failures(user)
    return _new_recovery_codes(user)


# --- codes ----------------------------------------------------------------------------------------


def check_code(user: User, *, code: str, recovery: bool = True) -> str | None:
    """Check a code at sign-in (or before a change): "app" for a current code from the
    authenticator, "recovery" for an unused recovery code (now used up), None for anything else
    (a wrong, used or replayed code: the failure is recorded). Refused unseen when throttled."""
    found = two_factor_of(user)
    if found is None or not found.is_enabled:
        return None
    _refuse_if_throttled(user)
    kind = None
    if _use_app_code(found, code) is not None:
        kind = "app"
    elif recovery and _use_recovery_code(user, code):
        kind = "recovery"
    if kind is None:
        _record_failure(user)
    else:
        _clear_failures(user)
    return kind


def unused_recovery_codes(user: User) -> int:
    return db.session.scalar(select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def regenerate_recovery_codes(user: User, *, code: str) -> list[str] | None:
    """New recovery codes, given a current code from the app; the old ones stop working. None
    for a wrong code (recorded)."""
    if check_code(user, code=code, recovery=False) is None:
        return None
    return _new_recovery_codes(user)


@dataclass(frozen=True)
class Refusal:
    """What was wrong in what was typed: the field and the message to show on it."""

    field: str
    message: str


def disable(user: User, *, code: str, password: str) -> Refusal | None:
    """Turn the second factor off, given a current code or a recovery code and, if the account
    has a password, that password. Deletes the secret and the recovery codes. Returns what was
    wrong instead (recorded as a failure, which the caller commits), or None when done.

    The password is checked holding no database lock (hashing is slow on purpose): the
    transaction the caller began is ended first, as ``services`` does."""
    user_id, stored = user.id, user.password_hash
    _refuse_if_throttled(user)
    if db.session().in_transaction():
        db.session.commit()
    # no password (an account made through an identity provider has an unusable "!" hash): the code alone
    password_ok = not stored or stored.startswith("!") or check_password_hash(stored, password)  # holding no lock
    user = db.session.get(User, user_id)
    if not password_ok or user.password_hash != stored:  # (changed meanwhile: the old one no longer counts)
        _record_failure(user)
        return Refusal("password", _("That is not your password."))
    if check_code(user, code=code) is None:
        return Refusal("code", str(WRONG_CODE))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(TwoFactor).where(TwoFactor.user_id == user.id))
    db.session.expire_all()
    return None


def _now() -> float:
    """The time codes are checked at (tests move it)."""
    return time.time()


def _use_app_code(found: TwoFactor, code: str) -> int | None:
    """The time step of ``code`` if it is a current code of ``found``'s secret for a step later
    than the last one used, which it becomes; else None."""
    digits = re.sub(r"[\s-]", "", code)
    if len(digits) != DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    totp = pyotp.TOTP(_decrypt(found.secret), digits=DIGITS, interval=STEP_SECONDS)
    current = int(_now() // STEP_SECONDS)
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            # Only for a later step than the last accepted: a code works once, even raced.
            taken = db.session.execute(
                update(TwoFactor)
                .where(TwoFactor.user_id == found.user_id, or_(TwoFactor.last_step.is_(None), TwoFactor.last_step < step))
                .values(last_step=step, last_used_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            db.session.expire(found)
            if taken == 1:
                return step
    return None


def _use_recovery_code(user: User, code: str) -> bool:
    normalised = normalise_recovery_code(code)
    if len(normalised) != RECOVERY_CODE_LENGTH:
        return False
    return (
        db.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(normalised), RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def normalise_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)) for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(code)) for code in codes)
    db.session.flush()
    return [f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes]


def _code_hash(normalised: str) -> str:
    # Random codes of ~59 bits: a fast hash is enough (no dictionary to try them against).
    return hashlib.sha256(normalised.encode()).hexdigest()


# --- throttling -----------------------------------------------------------------------------------


def failures_since(user: User, since: datetime) -> int:
    return db.session.scalar(select(func.count()).where(TwoFactorFailure.user_id == user.id, TwoFactorFailure.attempted_at >= since)) or 0


def _refuse_if_throttled(user: User) -> None:
    window = int(current_app.config["SIGNIN_WINDOW_SECONDS"])
    if failures_since(user, utcnow() - timedelta(seconds=window)) >= int(current_app.config["TWO_FACTOR_MAX_FAILURES"]):
        raise TwoFactorThrottled(max(1, window // 60))


def _record_failure(user: User) -> None:
    window = int(current_app.config["SIGNIN_WINDOW_SECONDS"])
    # Those past the window count no more: the table holds no more than a window's guesses.
    db.session.execute(
        delete(TwoFactorFailure).where(
            TwoFactorFailure.user_id == user.id, TwoFactorFailure.attempted_at < utcnow() - timedelta(seconds=window)
        )
    )
    db.session.add(TwoFactorFailure(user_id=user.id))
    db.session.flush()


def _clear_failures(user: User) -> None:
    db.session.execute(delete(TwoFactorFailure).where(TwoFactorFailure.user_id == user.id))


# --- the secret at rest ---------------------------------------------------------------------------


def _fernet() -> Fernet:
    """A key derived from the site's secret key (changing that key makes every stored secret
    unreadable: people then sign in with a recovery code and enrol again)."""
    digest = hashlib.sha256(b"consult-two-factor\0" + str(current_app.config["SECRET_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _decrypt(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        # Encrypted under another secret key: no code can match it (a recovery code still can).
        return pyotp.random_base32()
