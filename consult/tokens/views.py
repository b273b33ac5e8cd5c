"""API tokens (web layer): a person's on their account, an organisation's for its admins. A new
token is shown once, on the page that answers the form that made it; only its hash is kept."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consult.accounts import services as accounts
from consult.accounts.forms import EmptyForm
from consult.core.errors import RuleViolation
from consult.core.forms import refused_on
from consult.core.models import db, utcnow
from consult.permissions import Action, authorize
from consult.tokens import services
from consult.tokens.forms import SCOPE_LABELS, TokenForm
from consult.tokens.models import ApiToken

bp = Blueprint("tokens", __name__)


def _organisation_or_404(slug: str):
    organisation = accounts.organisation_by_slug(slug) or abort(404)
    authorize(current_user, Action.MANAGE_API_TOKENS, organisation)
    return organisation


def _manage(organisation=None):
    form = TokenForm()
    form.offer(services.scopes_for(current_user, organisation))
    made = None
    if form.validate_on_submit():
        try:
            token, secret = services.create_token(
                actor=current_user,
                name=form.name.data or "",
                scopes=form.scopes.data or [],
                lifetime_days=int(form.lifetime.data),
                organisation=organisation,
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="name"):
                raise
        else:
            db.session.commit()
            made = (token, secret)
            form = TokenForm(formdata=None)
            form.offer(services.scopes_for(current_user, organisation))
    tokens = services.organisation_tokens(organisation, actor=current_user) if organisation else services.personal_tokens(current_user)
    return render_template(
        "tokens/manage.html",
        organisation=organisation,
        form=form,
        made=made,
        tokens=tokens,
        now=utcnow(),
        scope_labels={str(scope): label for scope, label in SCOPE_LABELS.items()},
        revoke_form=EmptyForm(),
    ), 400 if form.errors else 200


def _revoke(token: ApiToken | None, back: str):
    if token is None:
        abort(404)
    EmptyForm().validate_on_submit() or abort(400)
    services.revoke_token(token, actor=current_user)
    db.session.commit()
    flash(_("The token “%(name)s” is revoked: it no longer works.", name=token.name), "success")
    return redirect(back)


@bp.route("/account/tokens", methods=["GET", "POST"])
def personal():
    return _manage()


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_personal(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.organisation_id is not None or token.user_id != current_user.id:
        token = None
    return _revoke(token, url_for("tokens.personal"))


@bp.route("/o/<slug>/tokens", methods=["GET", "POST"])
def organisation(slug: str):
    return _manage(_organisation_or_404(slug))


@bp.route("/o/<slug>/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_organisation(slug: str, token_id: int):
    organisation = _organisation_or_404(slug)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.organisation_id != organisation.id:
        token = None
    return _revoke(token, url_for("tokens.organisation", slug=organisation.slug))
