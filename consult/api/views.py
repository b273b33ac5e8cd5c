from __future__ import annotations

from flask import Blueprint, abort, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consult.amendments import services as amendments_services
from consult.api import schemas
from consult.api.spec import operation
from consult.comments import services as comments
from consult.comments import w3c
from consult.core.models import db
from consult.core.params import whole_number
from consult.core.routing import public
from consult.permissions import Action, can
from consult.proposals import services
from consult.proposals.models import Consultation, Version
from consult.record import rows as record_rows
from consult.voting import services as voting

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 100


def _iso(value) -> str | None:
    return value.isoformat() if value else None


# The API serialises consultations, versions, sections and co-supporters with the open record's
# row serialisers (``consult.record.rows``), keeping its own field names and ISO times.
CONSULTATION_FIELDS = ("slug", "title", "summary", "state", "organisation", "opens_at", "closes_at", "current_version", "url")
SECTION_FIELDS = ("key", "position", "level", "heading", "change")


def _consultation_json(c: Consultation) -> dict:
    row = record_rows.consultation_row(c, time=_iso)
    return {key: row[key] for key in CONSULTATION_FIELDS} | {
        "licence": c.licence,
        "api_url": url_for("api.consultation", slug=c.slug, _external=True),
    }


def _version_json(c: Consultation, v: Version, *, with_sections: bool) -> dict:
    row = record_rows.version_row(c, v, time=_iso)
    data = {
        "number": row["number"],
        "published_at": row["published_at"],
        "change_note": row["change_note"],
        "api_url": url_for("api.version", slug=c.slug, number=v.number, _external=True),
    }
    if with_sections:
        data["sections"] = [_section_json(record_rows.section_row(s, version=v, version_url=row["url"])) for s in v.sections]
    return data


def _consultation_or_404(slug: str) -> Consultation:
    """The blueprint's loader: the consultation the caller may see (a draft is as absent as nothing)."""
    return services.get_visible_consultation(current_user, slug) or abort(404, _("No consultation with that address."))


def _section_json(row: dict) -> dict:
    """The API's names: ``text`` is the Markdown (the record's ``body``), ``plain_text`` the text."""
    return {key: row[key] for key in SECTION_FIELDS} | {"text": row["body"], "plain_text": row["text"]}


def _int_arg(name: str, default: int, *, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    number = whole_number(raw, low=low, high=high)
    if number is None:
        abort(400, _("'%(name)s' must be a whole number from %(low)s to %(high)s.", name=name, low=low, high=high))
    return number


@bp.route("/consultations")
@public
@operation(tags=("Consultations",), ok={200: schemas.ConsultationList}, query=schemas.ConsultationsQuery, validate=False)
def consultations():
    state = request.args.get("state")
    if state is not None and state not in ("draft", "open", "closed", "concluded"):
        abort(400, _("'state' must be one of draft, open, closed, concluded."))
    page = _int_arg("page", 1, low=1, high=100_000)
    per_page = _int_arg("per_page", 20, low=1, high=MAX_PER_PAGE)
    pagination = db.paginate(services.visible_consultations_query(current_user, state=state), page=page, per_page=per_page, error_out=False)
    return jsonify(
        consultations=[_consultation_json(c) for c in pagination.items],
        page=page,
        per_page=per_page,
        total=pagination.total,
    )


@bp.route("/consultations/<slug>")
@public
@operation(tags=("Consultations",), ok={200: schemas.ConsultationDetail}, validate=False)
def consultation(slug: str):
    c = _consultation_or_404(slug)
    current = c.current_version
    data = _consultation_json(c)
    data["versions"] = [_version_json(c, v, with_sections=False) for v in c.versions if can(current_user, Action.VIEW_VERSION, v)]
    data["sections"] = _version_json(c, current, with_sections=True)["sections"] if current else []
    return jsonify(data)


@bp.route("/consultations/<slug>/versions/<int:number>")
@public
@operation(tags=("Consultations",), ok={200: schemas.Version}, validate=False)
def version(slug: str, number: int):
    c = _consultation_or_404(slug)
    v = c.version(number)
    if v is None or not can(current_user, Action.VIEW_VERSION, v):  # drafts for the organisation's editors, as on the site
        abort(404, _("No published version with that number."))
    return jsonify(_version_json(c, v, with_sections=True))


ANNOTATIONS_PER_PAGE = 100


@bp.route("/consultations/<slug>/annotations")
@public
@operation(tags=("Contributions",), ok={200: schemas.AnnotationDocument}, query=schemas.AnnotationsQuery, validate=False)
def annotations(slug: str):
    """The consultation's annotations and their replies as a W3C Web Annotation collection;
    ``?page=N`` gives one AnnotationPage of it."""
    c = _consultation_or_404(slug)
    query = comments.annotations_query(c, current_user)
    total = comments.annotation_count(c, current_user)
    pages = max(1, -(-total // ANNOTATIONS_PER_PAGE))
    collection_iri = url_for("api.annotations", slug=slug, _external=True)
    label = f"Annotations on “{c.title}”"
    page_iri = lambda n: url_for("api.annotations", slug=slug, page=n, _external=True)  # noqa: E731
    if "page" not in request.args:
        document = w3c.annotation_collection(
            collection_iri=collection_iri,
            label=label,
            total=total,
            first_iri=page_iri(1) if total else None,
            last_iri=page_iri(pages) if total else None,
        )
    else:
        page = _int_arg("page", 1, low=1, high=pages)
        items = db.session.scalars(query.offset((page - 1) * ANNOTATIONS_PER_PAGE).limit(ANNOTATIONS_PER_PAGE)).all()
        document = w3c.annotation_page(
            [comments.annotation_record(item) for item in items],
            page_iri=page_iri(page),
            collection_iri=collection_iri,
            collection_label=label,
            total=total,
            start_index=(page - 1) * ANNOTATIONS_PER_PAGE,
            next_iri=page_iri(page + 1) if page < pages else None,
            prev_iri=page_iri(page - 1) if page > 1 else None,
        )
    response = jsonify(document)
    response.mimetype = "application/ld+json"
    response.headers["Content-Type"] = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
    return response


# ---- amendments ------------------------------------------------------------------------------


def _amendment_json(c, tally, supporters: list) -> dict:
    a = c.amendment
    return {
        "id": c.id,
        "number": a.number,  # in its consultation: "A3" is how people name it
        "label": a.label,
        "url": url_for("amendments.numbered", slug=c.consultation.slug, number=a.number, _external=True),
        "api_url": url_for("api.amendment", contribution_id=c.id, _external=True),
        "section_key": c.section_key,
        "version": c.version.number,
        "author": c.author.display_name if c.author else "Former participant",
        "created_at": c.created_at.isoformat(),
        "rationale": c.body,
        "proposed_text": a.proposed_text,
        "redline": [{"op": op.kind, "text": op.text} for op in amendments_services.redline(c)],
        "state": a.state,
        "answer": {
            "decision": a.decision,
            "reason": a.answer,
            "answered_at": a.answered_at.isoformat() if a.answered_at else None,
        }
        if a.decision
        else None,
        "withdrawn_at": a.withdrawn_at.isoformat() if a.withdrawn_at else None,
        "incorporated_in_version": a.incorporated_version.number if a.incorporated_version else None,
        "co_supporters": [person.display_name for person in supporters],
        "tally": {"support": tally.support, "oppose": tally.oppose, "abstain": tally.abstain},
    }


@bp.route("/consultations/<slug>/amendments")
@public
@operation(tags=("Amendments",), ok={200: schemas.AmendmentList}, query=schemas.AmendmentsQuery, validate=False)
def amendments(slug: str):
    c = _consultation_or_404(slug)
    sort = request.args.get("sort", "support")
    if sort not in ("support", "newest"):
        abort(400, _("'sort' must be support or newest."))
    page = _int_arg("page", 1, low=1, high=100_000)
    per_page = _int_arg("per_page", 20, low=1, high=MAX_PER_PAGE)
    pagination = db.paginate(
        amendments_services.amendments_query(c, current_user, sort=sort), page=page, per_page=per_page, error_out=False
    )
    items = list(pagination.items)
    tallies = voting.tallies(i.id for i in items)
    conflicts = amendments_services.conflicts(items)
    supporters = amendments_services.co_supporters((i.id for i in items), current_user)
    return jsonify(
        amendments=[_amendment_json(i, tallies[i.id], supporters[i.id]) | {"conflicts_with": conflicts.get(i.id, [])} for i in items],
        page=page,
        per_page=per_page,
        total=pagination.total,
        waiting_for_answer=amendments_services.unanswered_above_threshold(c),
        response_threshold=c.response_threshold,
    )


@bp.route("/amendments/<int:contribution_id>")
@public
@operation(tags=("Amendments",), ok={200: schemas.Amendment}, validate=False)
def amendment(contribution_id: int):
    c = amendments_services.get_visible_amendment(current_user, contribution_id) or abort(404)
    supporters = amendments_services.co_supporters([c.id], current_user)[c.id]
    return jsonify(
        _amendment_json(c, voting.tallies([c.id])[c.id], supporters) | {"conflicts_with": amendments_services.section_conflicts(c)}
    )
