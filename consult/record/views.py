"""The open policy record as a public download: the zip that ``consult export --zip`` writes,
built by a job once per change and served as a file (``consult/record/bundles.py``)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, make_response, render_template, request, send_file
from flask_babel import gettext as _

from consult.core.routing import public
from consult.extensions import RECORD_TOO_OFTEN, limiter, limits_off, record_limit
from consult.proposals.services import get_visible_consultation
from consult.record import bundles

bp = Blueprint("record", __name__)

RETRY_AFTER = 10  # seconds


@bp.route("/c/<slug>/record.zip")
@public
@limiter.limit(record_limit, error_message=RECORD_TOO_OFTEN, exempt_when=limits_off)
def download(slug: str):
    """What the public can see of the consultation, whoever downloads it (see docs/record.md)."""
    # The record is what the public sees: a draft has none yet, even for its authors.
    c = get_visible_consultation(None, slug) or abort(404, _("No consultation with that address."))
    bundle = bundles.open_bundle(c, base_url=current_app.config.get("BASE_URL") or request.host_url)
    if bundle is None:
        response = make_response(render_template("record/preparing.html", consultation=c, retry_after=RETRY_AFTER), 202)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    file, size = bundle
    response = send_file(file, mimetype="application/zip", as_attachment=True, download_name=f"{c.slug}-record.zip")
    response.content_length = size
    return response
