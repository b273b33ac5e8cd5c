from __future__ import annotations

from urllib.parse import urljoin

from flask import Blueprint, abort, jsonify, render_template, request
from flask_babel import gettext as _

from consult.core.i18n import LANGUAGES, current_language
from consult.core.params import whole_number
from consult.core.routing import public
from consult.search import services
from consult.search.documents import KINDS
from consult.search.query import MAX_QUERY_LENGTH, QueryError

bp = Blueprint("search", __name__)


def _int(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    if not raw:
        return default
    number = whole_number(raw, high=999_999)
    return -1 if number is None else number  # -1: refused by check_filters


def _args() -> dict:
    return {
        "consultation": request.args.get("consultation") or None,
        "kind": request.args.get("kind") or None,
        "status": request.args.get("status") or None,
        "language": request.args.get("language") or None,
        "page": _int("page", 1),
        "per_page": _int("per_page", 20),
    }


@bp.route("/search")
@public
def results():
    q = request.args.get("q", "")
    args = _args()
    args["per_page"] = 20
    page, error = None, None
    consultations = services.searchable_consultations()  # first: the check of the hits uses it too
    if q.strip():
        try:
            page = services.search(q, reader=current_language(), **args)
        except QueryError as e:
            error = str(e)
    return render_template(
        "search/results.html",
        q=q,
        page=page,
        error=error,
        args=args,
        kinds=KINDS,
        kind_labels=services.KIND_LABELS,
        consultations=consultations,
        languages=LANGUAGES,
        max_length=MAX_QUERY_LENGTH,
    ), 400 if error else 200


@bp.route("/api/v1/search")
@public
def api():
    q = request.args.get("q", "")
    if not q.strip():
        abort(400, _("Give the words to search for in 'q'."))
    try:
        page = services.search(q, reader=current_language(), **_args())
    except QueryError as e:
        abort(400, str(e))
    return jsonify(
        query=q,
        page=page.page,
        per_page=page.per_page,
        total=page.total,
        total_is_estimate=page.approximate,
        results=[
            {
                "kind": r.kind,
                "title_html": str(r.title_html),
                "snippet_html": str(r.snippet_html),
                "url": urljoin(request.host_url, r.url),
                "consultation": r.consultation_slug,
                "section": r.section_key,
                "date": r.date.isoformat(),
                "language": r.language,
                "score": round(r.score, 4),
            }
            for r in page.results
        ],
    )
