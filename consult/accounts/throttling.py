"""Sign-in throttling that slows guessing without letting anyone lock a chosen person out.

Counting failed sign-ins per account and refusing everyone once an account had five of them
let a stranger keep anyone out indefinitely (five wrong passwords every fifteen minutes), and
counting per address refused everyone behind one NAT (an office, a school, a mobile carrier)
once one of them had mistyped twenty times. So, within ``SIGNIN_WINDOW_SECONDS``:

- **Browsers that signed in to the account before are not held back by anyone else's
  failures.** A browser that finishes signing in to an account (or resetting its password)
  gets a signed, long-lived "known browser" cookie naming that account (``accounts.devices``).
  Its failures are recorded as ``known_device`` and only those count against it: after
  ``SIGNIN_MAX_FAILURES_PER_ACCOUNT`` of them it waits out the window like anyone else.
  Whoever guesses from elsewhere cannot forge the cookie, so cannot lock the owner's own
  browsers.
- **Other browsers wait once the account has had ``SIGNIN_MAX_FAILURES_PER_ACCOUNT``
  failures** (from anywhere: this is what slows a guesser who moves between addresses),
  and are told the ways past it that only the owner has: their own browser, or a password
  reset. A completed reset clears the account's failures and makes the browser that did it
  a known one, so the owner is in at once even while the guessing goes on.
- **Per address, a ceiling, not a limit per person.** Failures from one address are counted
  per account by the rule above (a pair of address and account never gets past five); across
  all accounts an address is held back only after ``SIGNIN_MAX_FAILURES_PER_ADDRESS`` failures
  (default 100), which one person's mistyping cannot reach but one guesser trying many
  accounts does. Known browsers are not held back by it either, so a guesser behind the same
  NAT keeps out nobody who has signed in there before.

A successful sign-in clears the account's failures. Failures are counted for addresses
without an account exactly as for those with one, so the answers tell nothing about which
addresses have accounts.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import ngettext
from sqlalchemy import delete, func, select

from consult.accounts.models import SignInAttempt
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow


class SignInThrottled(RuleViolation):
    def __init__(self, minutes: int, *, from_known_browser: bool):
        if from_known_browser:
            message = ngettext(
                "Too many failed sign-in attempts from this browser. Wait %(num)d minute and try again, or reset your password.",
                "Too many failed sign-in attempts from this browser. Wait %(num)d minutes and try again, or reset your password.",
                minutes,
            )
        else:
            message = ngettext(
                "Too many failed sign-in attempts. Wait %(num)d minute and try again, or reset your password "
                "(which also lets this browser in at once). A browser you have signed in with before is not held back.",
                "Too many failed sign-in attempts. Wait %(num)d minutes and try again, or reset your password "
                "(which also lets this browser in at once). A browser you have signed in with before is not held back.",
                minutes,
            )
        super().__init__(message, status=429)


def refuse_if_throttled(*, email: str, address: str, known_device: bool) -> None:
    """Raise ``SignInThrottled`` if this attempt must wait (the rules in the module docstring)."""
    config = current_app.config
    window = int(config["SIGNIN_WINDOW_SECONDS"])
    since = utcnow() - timedelta(seconds=window)
    recent = select(func.count()).select_from(SignInAttempt).where(SignInAttempt.attempted_at >= since)
    if known_device:
        own = db.session.scalar(recent.where(SignInAttempt.email == email, SignInAttempt.known_device.is_(True)))
        throttled = own >= config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]
    else:
        throttled = (
            db.session.scalar(recent.where(SignInAttempt.email == email)) >= config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]
            or db.session.scalar(recent.where(SignInAttempt.address == address, SignInAttempt.known_device.is_(False)))
            >= config["SIGNIN_MAX_FAILURES_PER_ADDRESS"]
        )
    if throttled:
        raise SignInThrottled(max(1, window // 60), from_known_browser=known_device)


def record_failure(*, email: str, address: str, known_device: bool) -> None:
    db.session.add(SignInAttempt(email=email, address=address[:64], known_device=known_device))


def clear_failures(email: str) -> None:
    """After a successful sign-in or a completed reset: the account starts afresh."""
    db.session.execute(delete(SignInAttempt).where(SignInAttempt.email == email))
