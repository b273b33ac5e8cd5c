"""The open policy record as a public download: the zip that ``consult export --zip`` writes."""

from __future__ import annotations

from flask import Blueprint, abort, send_file
from flask_login import current_user

from consult.core.routing import public
from consult.extensions import RECORD_TOO_OFTEN, limiter, limits_off, record_limit
from consult.proposals.services import get_visible_consultation
from consult.record import export

bp = Blueprint("record", __name__)


@bp.route("/c/<slug>/record.zip")
@public
@limiter.limit(record_limit, error_message=RECORD_TOO_OFTEN, exempt_when=limits_off)
def download(slug: str):
    """What the public can see of the consultation, whoever downloads it (see docs/record.md)."""
    c = get_visible_consultation(current_user, slug) or abort(404, "No consultation with that address.")
    archive, size = export.record_archive(c)
    response = send_file(archive, mimetype="application/zip", as_attachment=True, download_name=f"{c.slug}-record.zip")
    response.content_length = size
    return response
