"""The staff audit log of an organisation, for its admins: ``/o/SLUG/audit``."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from consult.accounts.models import Organisation
from consult.audit import services
from consult.core.models import db
from consult.core.params import page_number
from consult.permissions import Action, authorize
from consult.proposals.services import visible_consultations_query

bp = Blueprint("audit", __name__)

PER_PAGE = 50


@bp.route("/o/<slug>/audit")
def log(slug: str):
    organisation = db.session.scalar(select(Organisation).where(Organisation.slug == slug)) or abort(404)
    authorize(current_user, Action.VIEW_AUDIT_LOG, organisation)
    consultations = list(db.session.scalars(visible_consultations_query(current_user, organisation=organisation)))
    chosen = request.args.get("consultation", "")
    consultation = next((c for c in consultations if c.slug == chosen), None)
    if chosen and consultation is None:
        abort(404, _("This organisation has no consultation at that address."))
    entries = db.paginate(
        services.staff_actions_query(organisation.id, consultation_id=consultation.id if consultation else None),
        page=page_number(),
        per_page=PER_PAGE,
        error_out=False,
    )
    people = services.names_of({e.target_id for e in entries.items if e.target_type == "user"})
    return render_template(
        "audit/log.html", organisation=organisation, consultations=consultations, consultation=consultation, entries=entries, people=people
    )
