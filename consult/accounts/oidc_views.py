"""Signing in with an identity provider, and linking one to an account (consult/accounts/oidc.py).

The sign-in starts with a link (GET), not a form: the site's CSP ``form-action 'self'`` would
stop a form's redirect to the provider. Starting it changes nothing but this browser's session
(where the state, nonce and code verifier wait for the provider's answer, for
``PENDING_MINUTES``); an answer that does not match them is refused and stores nothing.
"""

from __future__ import annotations

import time

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from consult.accounts import oidc, services, signin_flow
from consult.accounts.forms import EmptyForm, IdentityAccountForm
from consult.core.errors import RuleViolation
from consult.core.forms import refused_on
from consult.core.links import safe_next
from consult.core.models import db
from consult.core.routing import public
from consult.site.models import INVITATION_SESSION_KEY

bp = Blueprint("oidc", __name__)

PENDING_KEY = "oidc_pending"  # the authorization waiting for the provider's answer
IDENTITY_KEY = "oidc_identity"  # a checked identity with no account yet, waiting for "Create your account"
CONFIRM_PENDING_KEY = "confirm_pending"  # as accounts.views: the account whose confirmation may be mailed again
PENDING_MINUTES = 10


@bp.app_context_processor
def provider_buttons() -> dict:
    return {"oidc_providers": oidc.providers()}


def _provider_or_404(name: str) -> oidc.Provider:
    return oidc.provider_named(name) or abort(404)


def _redirect_uri(provider: oidc.Provider) -> str:
    return url_for("oidc.callback", name=provider.name, _external=True)


def _send_to_provider(provider: oidc.Provider, *, purpose: str, next_url: str | None) -> Response:
    authorization = oidc.start(provider, redirect_uri=_redirect_uri(provider))
    session[PENDING_KEY] = {
        "provider": provider.name,
        "state": authorization.state,
        "nonce": authorization.nonce,
        "verifier": authorization.code_verifier,
        "purpose": purpose,
        "user_id": current_user.id if purpose == "link" else None,
        "next": next_url or "",
        "until": time.time() + PENDING_MINUTES * 60,
    }
    return redirect(authorization.url)


@bp.route("/signin/oidc/<name>")
@public
def start(name: str):
    provider = _provider_or_404(name)
    return _send_to_provider(provider, purpose="signin", next_url=safe_next(request.args.get("next")))


@bp.route("/signin/oidc/<name>/callback")
@public
def callback(name: str):
    provider = _provider_or_404(name)
    pending = session.pop(PENDING_KEY, None)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time() or pending.get("provider") != provider.name:
        raise oidc.SignInRefused(
            _("This sign-in with %(provider)s was not started in this browser, or took too long. Start again.", provider=provider.display)
        )
    identity = oidc.finish(
        provider,
        params=request.args,
        state=pending["state"],
        nonce=pending["nonce"],
        code_verifier=pending["verifier"],
        redirect_uri=_redirect_uri(provider),
    )
    if pending["purpose"] == "link":
        if not current_user.is_authenticated or current_user.id != pending["user_id"]:
            raise oidc.SignInRefused(_("Sign in to your account again, then link the provider."))
        linked = oidc.link(current_user, identity)
        db.session.commit()
        flash(
            _("You can now sign in with %(provider)s.", provider=provider.display)
            if linked
            else _("%(provider)s was already linked.", provider=provider.display),
            "success",
        )
        return redirect(url_for("oidc.methods"))
    try:
        user = oidc.signed_in(identity)
    except services.AddressNotConfirmed as unconfirmed:
        db.session.rollback()
        session[CONFIRM_PENDING_KEY] = unconfirmed.user_id
        return render_template("accounts/oidc_unconfirmed.html", message=unconfirmed.message, resend_form=EmptyForm()), 400
    if user is None:
        session[IDENTITY_KEY] = {**vars(identity), "next": pending["next"], "until": time.time() + PENDING_MINUTES * 60}
        return redirect(url_for("oidc.new_account"))
    db.session.commit()
    return signin_flow.begin(user, next_url=pending["next"], method=f"oidc:{provider.name}")


def _waiting_identity() -> tuple[oidc.Identity, str] | None:
    data = session.get(IDENTITY_KEY)
    if not isinstance(data, dict) or data.get("until", 0) < time.time():
        return None
    fields = {k: data[k] for k in ("provider", "issuer", "subject", "name", "email", "email_verified")}
    return oidc.Identity(**fields), data.get("next") or ""


@bp.route("/signin/oidc/new", methods=["GET", "POST"])
@public
def new_account():
    """The "Create your account" page: the first sign-in with an identity no account is linked to."""
    waiting = _waiting_identity()
    if waiting is None:
        session.pop(IDENTITY_KEY, None)
        return signin_flow.expired()
    identity, next_url = waiting
    provider = oidc.provider_named(identity.provider)
    if provider is None or provider.issuer != identity.issuer:
        session.pop(IDENTITY_KEY, None)
        abort(404)
    verified_email = identity.email if identity.email_verified else None
    form = IdentityAccountForm(data={"display_name": identity.name, "email": verified_email or ""})
    if verified_email:
        form.email.description = _(
            "%(provider)s has confirmed this address. If you type another, we will send it a link to confirm it before you can sign in.",
            provider=provider.display,
        )
    else:
        form.email.description = _("We will send this address a link to confirm it before you can sign in. It is never shown to others.")
    if form.validate_on_submit():
        try:
            created = oidc.create_account(
                identity, display_name=form.display_name.data, email=form.email.data, invitation=session.get(INVITATION_SESSION_KEY)
            )
            db.session.commit()
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="email"):
                raise
        except IntegrityError:  # the same identity or address, created meanwhile by another request
            db.session.rollback()
            form.email.errors.append(_("This account was created meanwhile. Sign in again."))
        else:
            session.pop(IDENTITY_KEY, None)
            if created.user is not None and created.confirmed:
                return signin_flow.begin(created.user, next_url=next_url, method=f"oidc:{provider.name}")
            flash(
                _(
                    "Check your inbox: we have sent a link to %(email)s. Follow it, then sign in with %(provider)s.",
                    email=form.email.data.strip(),
                    provider=provider.display,
                ),
                "success",
            )
            return redirect(url_for("accounts.sign_in"))
    return render_template(
        "accounts/oidc_new_account.html", form=form, provider=provider, verified_email=verified_email
    ), 400 if form.errors else 200


@bp.route("/account/sign-in")
def methods():
    """The ways this person signs in: a password, and the identity providers linked."""
    links = oidc.links_of(current_user)
    linked = {each.issuer for each in links}
    names = {p.issuer: p for p in oidc.providers()}
    return render_template(
        "accounts/oidc_methods.html",
        links=[(each, names.get(each.issuer)) for each in links],
        unlinked=[p for p in oidc.providers() if p.issuer not in linked],
        has_password=oidc.has_usable_password(current_user),
    )


@bp.route("/account/sign-in/<name>/link")
def link(name: str):
    provider = _provider_or_404(name)
    return _send_to_provider(provider, purpose="link", next_url=None)


@bp.route("/account/sign-in/<int:link_id>/unlink", methods=["POST"])
def unlink(link_id: int):
    EmptyForm().validate_on_submit() or abort(400)
    gone = oidc.unlink(current_user, link_id)
    db.session.commit()
    provider = next((p for p in oidc.providers() if p.issuer == gone.issuer), None)
    flash(_("%(provider)s no longer signs you in.", provider=provider.display if provider else gone.provider), "success")
    return redirect(url_for("oidc.methods"))
