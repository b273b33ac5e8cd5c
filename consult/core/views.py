from flask import Blueprint

from consult.core.routing import public

bp = Blueprint("core", __name__)


@bp.route("/healthz")
@public
def health():
    """Liveness for load balancers; also the bare baseline that bench/pages.py compares with."""
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
