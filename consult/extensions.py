"""Flask extensions, created once and bound in ``create_app``."""

from flask import current_app, request
from flask_limiter import Limiter
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from consult.core import ratelimit  # noqa: F401  registers the sqlite:// limits storage (the default)
from consult.core.models import db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def _who() -> str:
    """Limits count per person when signed in, per address otherwise."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{request.remote_addr}"


limiter = Limiter(key_func=_who, default_limits=[])

POSTING_TOO_FAST = "You are posting faster than a person writes. Wait a minute, then try again; what you wrote is not saved."
VOTING_TOO_FAST = "Too many votes in a minute. Wait a moment, then vote again."
RECORD_TOO_OFTEN = "The record is built afresh for every download, so downloads are limited. Wait a minute, then download it again."


def limits_off() -> bool:
    """Checked per request: one Limiter serves every app of the process (tests make several),
    so the switch is the app's own setting, not Flask-Limiter's global RATELIMIT_ENABLED."""
    return not current_app.config.get("RATE_LIMITS", True)


def posting_limit() -> str:
    return current_app.config["POSTING_RATE_LIMIT"]


def voting_limit() -> str:
    return current_app.config["VOTING_RATE_LIMIT"]


def record_limit() -> str:
    return current_app.config["RECORD_RATE_LIMIT"]


__all__ = ["csrf", "db", "limiter", "login_manager", "migrate"]
