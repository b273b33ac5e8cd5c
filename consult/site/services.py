"""Changing the site's settings, and the invitations to sign up (site admins only)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select, update

from consult.accounts.models import User
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.core.errors import RuleViolation
from consult.core.i18n import LANGUAGES
from consult.core.models import db, utcnow
from consult.core.templating import format_number, time_zone
from consult.permissions import Action, authorize
from consult.site.images import HEX_COLOUR, MIN_CONTRAST, ImageRefused, contrast, normalise_logo
from consult.site.models import (
    MAX_FOOTER_LINKS,
    SETTINGS_ID,
    Invitation,
    Registration,
    SiteSettings,
    as_dict,
    current_settings,
)

#: The longest an invitation lasts.
MAX_INVITATION_DAYS = 90
#: The most people one invitation link may sign up.
MAX_INVITATION_USES = 10_000


@dataclass(frozen=True)
class FooterLink:
    label: str
    url: str


def _stored() -> SiteSettings:
    """The settings row, created on first save."""
    settings = db.session.get(SiteSettings, SETTINGS_ID)
    if settings is None:
        settings = SiteSettings(id=SETTINGS_ID, footer_links=[], logo_alt="")
        db.session.add(settings)
        db.session.flush()
    return settings


def check_footer_link(label: str, url: str) -> FooterLink:
    label, url = label.strip(), url.strip()
    if not label or not url:
        raise RuleViolation(_("Give each footer link both a label and an address."), status=400, field="footer_links")
    if len(label) > 80 or len(url) > 500:
        raise RuleViolation(
            _("Keep a footer link's label under 80 characters and its address under 500."), status=400, field="footer_links"
        )
    parts = urlsplit(url)
    local = url.startswith("/") and not url.startswith("//")
    if not local and (parts.scheme not in ("https", "http", "mailto") or (parts.scheme != "mailto" and not parts.netloc)):
        raise RuleViolation(
            _(
                "“%(url)s” is not an address a footer can link to: use https://…, http://…, mailto:… or a path on this site such as /o/council.",
                url=url,
            ),
            status=400,
            field="footer_links",
        )
    return FooterLink(label, url)


def parse_footer_links(text: str) -> list[FooterLink]:
    """One link a line: ``Label | https://address``."""
    links = []
    for line in text.splitlines():
        if not line.strip():
            continue
        label, bar, url = line.partition("|")
        if not bar:
            raise RuleViolation(_("Write “%(line)s” as: Label | https://address", line=line.strip()[:60]), status=400, field="footer_links")
        links.append(check_footer_link(label, url))
    if len(links) > MAX_FOOTER_LINKS:
        raise RuleViolation(_("Keep the footer to %(num)d links.", num=MAX_FOOTER_LINKS), status=400, field="footer_links")
    return links


def update_site(
    *,
    actor: User,
    site_name: str,
    accent_colour: str | None,
    footer_links: Sequence[FooterLink],
    registration: str,
    report_threshold: int | None,
    time_zone_name: str | None,
    default_language: str | None = None,
    logo: bytes | None = None,
    remove_logo: bool = False,
    logo_alt: str = "",
    expected_row_version: int | None = None,
) -> list[str]:
    """Save the site's settings; each refused value is said on its field. The accent colour must
    reach WCAG AA contrast (4.5:1) with white, as the header's text and the links' background
    are white. Returns the names of what changed (in the site's audit log)."""
    authorize(actor, Action.MANAGE_SITE)
    site_name = site_name.strip()
    if not site_name or len(site_name) > 80:
        raise RuleViolation(_("Give the site a name of at most 80 characters."), status=400, field="site_name")
    if accent_colour:
        if not HEX_COLOUR.match(accent_colour):
            raise RuleViolation(_("Give the colour as # and six hexadecimal digits, such as #1d4e89."), status=400, field="accent_colour")
        accent_colour = accent_colour.lower()
        ratio = contrast(accent_colour, "#ffffff")
        if ratio < MIN_CONTRAST:
            raise RuleViolation(
                _(
                    "White text on %(colour)s has a contrast of %(ratio)s:1; it needs at least %(minimum)s:1. Choose a darker colour.",
                    colour=accent_colour,
                    ratio=f"{ratio:.1f}",
                    minimum=MIN_CONTRAST,
                ),
                status=400,
                field="accent_colour",
            )
    if registration not in {r.value for r in Registration}:
        raise RuleViolation(_("Choose who may create an account."), status=400, field="registration")
    if report_threshold is not None and not 1 <= report_threshold <= 1000:
        raise RuleViolation(_("Use a whole number from 1 to 1,000 reports."), status=400, field="report_threshold")
    if time_zone_name:
        try:
            time_zone(time_zone_name)
        except RuntimeError:
            raise RuleViolation(
                _("“%(zone)s” is not a time zone we know: use a name such as Europe/Paris or America/New_York.", zone=time_zone_name),
                status=400,
                field="time_zone",
            ) from None
    if default_language and default_language not in LANGUAGES:
        raise RuleViolation(_("Choose one of the site's languages."), status=400, field="default_language")
    picture = None
    if logo:
        try:
            picture = normalise_logo(logo)
        except ImageRefused as refused:
            raise RuleViolation(str(refused), status=400, field="logo") from None
    logo_alt = logo_alt.strip()[:200]
    settings = _stored()
    if expected_row_version is not None and expected_row_version != settings.row_version:
        raise RuleViolation(_("Someone else saved the site's settings while you were editing. Reload the page and make your change again."))
    before = as_dict(settings)
    settings.site_name = site_name
    settings.accent_colour = accent_colour or None
    settings.footer_links = [{"label": link.label, "url": link.url} for link in footer_links]
    settings.registration = registration
    settings.report_threshold = report_threshold
    settings.time_zone = time_zone_name or None
    settings.default_language = default_language or None
    changed = [name for name, value in as_dict(settings).items() if before[name] != value]
    if picture is not None or (remove_logo and settings.logo_updated_at is not None):
        settings.logo = picture
        settings.logo_updated_at = utcnow() if picture is not None else None
        changed.append("logo")
    if settings.logo_alt != logo_alt:
        settings.logo_alt = logo_alt
        changed.append("logo_alt")
    if changed:
        record_staff_action(
            StaffOperation.EDIT_SITE, actor=actor, target_type=TargetType.SITE, target_id=SETTINGS_ID, detail={"fields": changed}
        )
    db.session.flush()
    return changed


# ---- invitations ----------------------------------------------------------------------------


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_invitation(*, actor: User, note: str, max_uses: int, days: int) -> tuple[Invitation, str]:
    """A new invitation link's row and its code (shown once: only its hash is kept)."""
    authorize(actor, Action.MANAGE_SITE)
    if not 1 <= max_uses <= MAX_INVITATION_USES:
        raise RuleViolation(
            _("Use a whole number from 1 to %(most)s.", most=format_number(MAX_INVITATION_USES)), status=400, field="max_uses"
        )
    if not 1 <= days <= MAX_INVITATION_DAYS:
        raise RuleViolation(_("An invitation lasts from 1 to %(most)d days.", most=MAX_INVITATION_DAYS), status=400, field="days")
    code = secrets.token_urlsafe(24)
    invitation = Invitation(
        code_hash=_hash(code),
        note=note.strip()[:200],
        max_uses=max_uses,
        created_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(invitation)
    db.session.flush()
    record_staff_action(
        StaffOperation.CREATE_INVITATION,
        actor=actor,
        target_type=TargetType.INVITATION,
        target_id=invitation.id,
        detail={"fields": ["max_uses", "expires_at"]},
    )
    return invitation, code


def revoke_invitation(invitation_id: int, *, actor: User) -> Invitation | None:
    authorize(actor, Action.MANAGE_SITE)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        return None
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        record_staff_action(StaffOperation.REVOKE_INVITATION, actor=actor, target_type=TargetType.INVITATION, target_id=invitation.id)
        db.session.flush()
    return invitation


def invitations(*, actor: User) -> list[Invitation]:
    authorize(actor, Action.MANAGE_SITE)
    return list(db.session.scalars(select(Invitation).order_by(Invitation.created_at.desc(), Invitation.id.desc())).all())


def invitation_is_valid(code: str | None, now: datetime | None = None) -> bool:
    """Whether ``code`` opens sign-up now (checked before the form is shown; using it is ``use_invitation``)."""
    if not code or len(code) > 100:
        return False
    invitation = db.session.scalar(select(Invitation).where(Invitation.code_hash == _hash(code)))
    return invitation is not None and invitation.usable(now or utcnow())


def registration_open() -> bool:
    return not current_settings().invite_only


def use_invitation(code: str | None) -> None:
    """Take one use of the invitation ``code`` for a new account, when registration is by
    invitation; refuse when it is unknown, used up, expired or revoked. One conditional UPDATE:
    two sign-ups cannot both take an invitation's last use."""
    if registration_open():
        return
    refused = RuleViolation(
        _(
            "Creating an account on this site needs an invitation, and this one is not valid (unknown, used up, expired or revoked). "
            "Ask the site's administrators for a new one."
        ),
        status=403,
    )
    if not code or len(code) > 100:
        raise refused
    taken = db.session.execute(
        update(Invitation)
        .where(
            Invitation.code_hash == _hash(code),
            Invitation.revoked_at.is_(None),
            Invitation.uses < Invitation.max_uses,
            Invitation.expires_at > utcnow(),
        )
        .values(uses=Invitation.uses + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise refused
