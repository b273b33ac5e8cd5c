"""An organisation's webhooks (web layer): register, see the secret and the delivery log, remove."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consult.accounts import services as accounts
from consult.accounts.forms import EmptyForm
from consult.core.errors import RuleViolation
from consult.core.forms import refused_on
from consult.core.models import db
from consult.webhooks import services
from consult.webhooks.forms import EVENT_LABELS, WebhookForm
from consult.webhooks.models import Webhook, WebhookEvent

bp = Blueprint("webhooks", __name__)


def _organisation(slug: str):
    return accounts.organisation_by_slug(slug) or abort(404)


@bp.route("/o/<slug>/webhooks", methods=["GET", "POST"])
def manage(slug: str):
    organisation = _organisation(slug)
    hooks = services.webhooks_of(organisation, actor=current_user)  # authorises
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            webhook, _secret = services.register(organisation, actor=current_user, url=form.url.data or "", events=form.events.data or [])
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="url"):
                raise
        else:
            db.session.commit()
            flash(_("The webhook is registered. Set its secret in the receiving system to check each delivery's signature."), "success")
            return redirect(url_for("webhooks.manage", slug=organisation.slug) + f"#webhook-{webhook.id}")
    return render_template(
        "webhooks/manage.html",
        organisation=organisation,
        form=form,
        hooks=[(hook, services.secret_of(hook), services.recent_deliveries(hook)) for hook in hooks],
        event_labels={event.value: label for event, label in EVENT_LABELS.items()},
        events=list(WebhookEvent),
        remove_form=EmptyForm(),
    ), 400 if form.errors else 200


@bp.route("/o/<slug>/webhooks/<int:webhook_id>/remove", methods=["POST"])
def remove(slug: str, webhook_id: int):
    organisation = _organisation(slug)
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.organisation_id != organisation.id:
        abort(404)
    EmptyForm().validate_on_submit() or abort(400)
    services.remove(webhook, actor=current_user)
    db.session.commit()
    flash(_("The webhook is removed: nothing more is sent to %(url)s.", url=webhook.url), "success")
    return redirect(url_for("webhooks.manage", slug=organisation.slug))
