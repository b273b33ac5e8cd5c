"""The site's settings (one row) and the invitations to sign up when registration is by
invitation only."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from consult.core.models import UTCDateTime, db, utcnow

#: The one row's id.
SETTINGS_ID = 1
DEFAULT_SITE_NAME = "Consult"
#: At most this many links in the footer (besides the site's policies).
MAX_FOOTER_LINKS = 8


class Registration(enum.StrEnum):
    OPEN = "open"  # anyone may create an account
    INVITE = "invite"  # only with an invitation link from a site admin


class SiteSettings(db.Model):
    """What a site admin sets on the site's settings page. Absent values fall back to the
    configuration file (the report threshold, the time zone) or to Consult's own defaults."""

    __tablename__ = "site_settings"

    id: Mapped[int] = mapped_column(primary_key=True, default=SETTINGS_ID)
    site_name: Mapped[str] = mapped_column(String(80), default=DEFAULT_SITE_NAME)
    #: "#rrggbb" for the header, links and buttons; None keeps Consult's own blue
    accent_colour: Mapped[str | None] = mapped_column(String(7))
    #: [{"label": ..., "url": ...}], shown in the footer after the site's policies
    footer_links: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    registration: Mapped[str] = mapped_column(String(10), default=Registration.OPEN, server_default=Registration.OPEN)
    #: distinct reporters after whom a contribution is hidden pending review; None: the configured one
    report_threshold: Mapped[int | None] = mapped_column()
    #: an IANA zone name for the times shown; None: the configured one
    time_zone: Mapped[str | None] = mapped_column(String(64))
    #: the interface language when neither the person nor their browser names one we have; None: the configured one
    default_language: Mapped[str | None] = mapped_column(String(16))
    #: a PNG redrawn from the upload (consult/site/images.py), small enough to keep in the row
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    #: when the logo was last set (None: no logo); its URL carries it, so a new logo is fetched anew
    logo_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    logo_alt: Mapped[str] = mapped_column(String(200), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        CheckConstraint(f"id = {SETTINGS_ID}", name="one_row"),
        CheckConstraint("registration IN ('open', 'invite')", name="registration_known"),
        CheckConstraint("report_threshold IS NULL OR report_threshold >= 1", name="report_threshold_positive"),
        CheckConstraint("accent_colour IS NULL OR length(accent_colour) = 7", name="accent_colour_hex"),
    )

    @property
    def invite_only(self) -> bool:
        return self.registration == Registration.INVITE


def current_settings() -> SiteSettings:
    """The site's settings: the stored row, else the defaults (a transient row, never added).
    Once loaded, the row is in the session's identity map: asking again costs no query."""
    return db.session.get(SiteSettings, SETTINGS_ID) or default_settings()


def default_settings() -> SiteSettings:
    return SiteSettings(id=SETTINGS_ID, site_name=DEFAULT_SITE_NAME, footer_links=[], registration=Registration.OPEN, logo_alt="")


class Invitation(db.Model):
    """A link that lets people create an account when registration is by invitation: used at
    most ``max_uses`` times (counted in one UPDATE, so two sign-ups cannot both take the last
    use), until it expires or is revoked. Only a hash of its code is kept."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    max_uses: Mapped[int] = mapped_column(default=1)
    uses: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("max_uses >= 1", name="max_uses_positive"),
        CheckConstraint("uses >= 0 AND uses <= max_uses", name="uses_within_max"),
    )

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and self.uses < self.max_uses and self.expires_at > now

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.uses >= self.max_uses:
            return "used"
        return "expired" if self.expires_at <= now else "usable"


def as_dict(settings: SiteSettings) -> dict[str, Any]:
    return {
        "site_name": settings.site_name,
        "accent_colour": settings.accent_colour,
        "footer_links": list(settings.footer_links or []),
        "registration": settings.registration,
        "report_threshold": settings.report_threshold,
        "time_zone": settings.time_zone,
        "default_language": settings.default_language,
    }


#: Where the sign-up page keeps an invitation's code for the rest of the sign-up (a password
#: form, or an identity provider's round trip).
INVITATION_SESSION_KEY = "signup_invitation"
