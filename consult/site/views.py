"""The site's settings page, invitations to sign up, organisation settings, and what the
settings show on every page: the accent colour's stylesheet and the logos."""

from __future__ import annotations

import time
from typing import NamedTuple

from flask import Blueprint, Response, abort, current_app, flash, has_request_context, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from consult.accounts import services as accounts
from consult.accounts.forms import EmptyForm
from consult.core import cache, i18n
from consult.core.errors import RuleViolation
from consult.core.forms import refused_on
from consult.core.models import db, utcnow
from consult.core.params import whole_number
from consult.core.routing import public
from consult.permissions import Action, authorize
from consult.site import services
from consult.site.forms import InvitationCodeForm, InvitationForm, OrganisationForm, SiteForm
from consult.site.images import darker
from consult.site.models import INVITATION_SESSION_KEY, SiteSettings, current_settings, default_settings

bp = Blueprint("site", __name__)

#: Logos and the theme are asked for on every page: their URLs change with them, so browsers keep them.
LONG_CACHE = "public, max-age=31536000, immutable"


def settings_for_display() -> SiteSettings:
    """The site's settings for what pages show (the name, the colour, the zone), found once per
    request (every time shown asks for the zone) and kept by the process while the site's change
    stamp stays (``_kept_settings``); the defaults when the database cannot be read, so the site's
    own "unavailable" page still renders."""
    cached = getattr(request, "consult_site_settings", None) if has_request_context() else None
    if cached is not None:
        return cached
    try:
        settings = current_settings() if cache.writes_pending() else _kept_settings()  # its own change: as it stands
    except SQLAlchemyError:
        settings = default_settings()
    if has_request_context():
        request.consult_site_settings = settings  # per request, not per app context (tests share one)
    return settings


#: ``app.extensions``' key of the settings kept between requests: (site stamp, when read, a copy).
_KEPT = "consult.site_settings_kept"
#: The columns a kept copy holds: all but the logo's bytes (served by ``logo``, from the row).
_SHOWN = tuple(column.key for column in SiteSettings.__table__.columns if column.key != "logo")


def _kept_settings() -> SiteSettings:
    """The settings as stored, read again only when the site's change stamp moved (saving the
    settings draws it, in the same transaction), or after ``CACHE_TTL`` seconds, as the cache's
    fragments (a change made outside the application). The stamp is read first and with the
    page's others (``cache.page_stamps``): a page that shows a consultation reads no more than it
    did, and no query for the settings. The copy is transient (never in a session), the same
    object for every request of the process while it is current: read it, never change it."""
    stamp = cache.page_stamps(cache.SITE)[0]
    now = time.monotonic()
    kept = current_app.extensions.get(_KEPT)
    if kept is not None and kept[0] == stamp and now - kept[1] < (current_app.config.get("CACHE_TTL") or cache.DEFAULT_TTL):
        return kept[2]
    stored = current_settings()
    settings = SiteSettings(**{key: _copied(getattr(stored, key)) for key in _SHOWN})
    current_app.extensions[_KEPT] = (stamp, now, settings)
    return settings


def _copied(value):
    return [dict(item) for item in value] if isinstance(value, list) else value  # the footer's links: not the row's own list


class LayoutParts(NamedTuple):
    brand: Markup
    nav: Markup
    footer: Markup


def public_chrome() -> LayoutParts:
    """The layout's brand, header links and footer as a visitor not signed in sees them: the same
    on every page, so made once per language and per value of the settings they show (the key
    holds those values: a change to the settings makes a new one), not on every request."""
    site = settings_for_display()
    parts = (request.script_root, i18n.current_language(), site.site_name, site.logo_updated_at, site.logo_alt, site.footer_links)

    def build() -> LayoutParts:
        chrome = current_app.jinja_env.get_template("_chrome.html").module
        return LayoutParts(Markup(chrome.brand(site)), Markup(chrome.signed_out_nav()), Markup(chrome.footer(site)))

    return cache.cached("public-chrome", parts, build)


@bp.app_context_processor
def site_settings():
    return {"site_settings": settings_for_display, "public_chrome": public_chrome}


@bp.record_once
def _zone_from_settings(state) -> None:
    """Times are shown in the zone set on the settings page, else the configured one."""
    state.app.extensions["consult.time_zone"] = lambda: settings_for_display().time_zone
    state.app.extensions["consult.default_language"] = lambda: settings_for_display().default_language


def _upload(storage) -> bytes | None:
    return storage.read() if storage and getattr(storage, "filename", "") else None


@bp.route("/admin/site", methods=["GET", "POST"])
def settings():
    authorize(current_user, Action.MANAGE_SITE)
    stored = current_settings()
    form = SiteForm(obj=stored)
    if not form.is_submitted():
        form.footer_links.data = "\n".join(f"{link['label']} | {link['url']}" for link in stored.footer_links or [])
        form.row_version.data = str(stored.row_version or 1)
    elif form.validate():
        try:
            changed = services.update_site(
                actor=current_user,
                site_name=form.site_name.data,
                accent_colour=(form.accent_colour.data or "").strip() or None,
                footer_links=services.parse_footer_links(form.footer_links.data or ""),
                registration=form.registration.data,
                report_threshold=form.report_threshold.data,
                time_zone_name=(form.time_zone.data or "").strip() or None,
                default_language=form.default_language.data or None,
                logo=_upload(form.logo.data),
                remove_logo=form.remove_logo.data,
                logo_alt=form.logo_alt.data or "",
                expected_row_version=whole_number(form.row_version.data),
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="site_name"):
                raise
        else:
            db.session.commit()
            flash(_("The site's settings have been saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("site.settings"))
    return render_template("site/settings.html", form=form, stored=stored), 400 if form.errors else 200


@bp.route("/admin/site/invitations", methods=["GET", "POST"])
def invitations():
    form = InvitationForm()
    code = None
    if form.validate_on_submit():
        try:
            _invitation, code = services.create_invitation(
                actor=current_user, note=form.note.data or "", max_uses=form.max_uses.data, days=form.days.data
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="note"):
                raise
        else:
            db.session.commit()
    return render_template(
        "site/invitations.html",
        form=form,
        code=code,
        invitations=services.invitations(actor=current_user),
        now=utcnow(),
        revoke_form=EmptyForm(),
        invite_only=not services.registration_open(),
    ), 400 if form.errors else 200


@bp.route("/admin/site/invitations/<int:invitation_id>/revoke", methods=["POST"])
def revoke_invitation(invitation_id: int):
    EmptyForm().validate_on_submit() or abort(400)
    services.revoke_invitation(invitation_id, actor=current_user) or abort(404)
    db.session.commit()
    flash(_("The invitation is revoked: its link no longer lets anyone sign up."), "success")
    return redirect(url_for("site.invitations"))


@bp.route("/signup/invitation", methods=["GET", "POST"])
@public
def invitation():
    """The invitation link is ``/signup/invitation#CODE``: a script sends the code from the
    fragment (never part of a requested URL); without it the person pastes the code."""
    form = InvitationCodeForm()
    if form.validate_on_submit():
        code = form.code.data.strip()
        if services.invitation_is_valid(code):
            session[INVITATION_SESSION_KEY] = code
            return redirect(url_for("accounts.sign_up"))
        form.code.errors.append(_("This invitation is not valid: it is unknown, used up, expired or revoked. Ask for a new one."))
    return render_template("site/invitation.html", form=form), 400 if form.errors else 200


@bp.route("/site/theme.css")
@public
def theme():
    colour = current_settings().accent_colour
    if not colour:
        abort(404)
    css = f":root {{ --brand: {colour}; --brand-dark: {darker(colour)}; }}\n"
    return Response(css, mimetype="text/css", headers={"Cache-Control": LONG_CACHE})


def _png(data: bytes | None) -> Response:
    if not data:
        abort(404)
    return Response(data, mimetype="image/png", headers={"Cache-Control": LONG_CACHE, "Content-Disposition": "inline; filename=logo.png"})


@bp.route("/site/logo.png")
@public
def logo():
    return _png(current_settings().logo if current_settings().logo_updated_at else None)


@bp.route("/o/<slug>/logo.png")
@public
def organisation_logo(slug: str):
    organisation = accounts.organisation_by_slug(slug) or abort(404)
    return _png(organisation.logo if organisation.logo_updated_at else None)


@bp.route("/o/<slug>/settings", methods=["GET", "POST"])
def organisation_settings(slug: str):
    organisation = accounts.organisation_by_slug(slug) or abort(404)
    authorize(current_user, Action.MANAGE_ORGANISATION, organisation)
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit():
        try:
            changed = accounts.update_organisation(
                organisation,
                actor=current_user,
                name=form.name.data,
                description=form.description.data or "",
                logo=_upload(form.logo.data),
                remove_logo=form.remove_logo.data,
                logo_alt=form.logo_alt.data or "",
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="name"):
                raise
        else:
            db.session.commit()
            flash(_("The organisation's settings have been saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("site.organisation_settings", slug=organisation.slug))
    return render_template("site/organisation.html", form=form, organisation=organisation), 400 if form.errors else 200
