from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from consult.core.models import db
from consult.core.routing import public

bp = Blueprint("core", __name__)

PLAIN = {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/healthz")
@public
def health():
    """Liveness for load balancers (the process answers); also the bare baseline that
    bench/pages.py compares with. Readiness, which needs the database, is ``/readyz``."""
    return "ok\n", 200, PLAIN


@bp.route("/readyz")
@public
def ready():
    """Readiness: the database answers. A load balancer sends no one to a server that cannot
    reach it (503 says so, without the error's details, which go to the log)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("readiness check: the database does not answer", exc_info=True)
        return "database unavailable\n", 503, PLAIN
    return "ready\n", 200, PLAIN
