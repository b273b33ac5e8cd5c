"""The write API: taking part (comments, replies, annotations, amendments, votes, reports) and,
for an organisation's staff, publishing versions, answering amendments, changing a
consultation's state and moderating.

Each write is authenticated by a bearer token (never the session cookie: ``auth.py`` says why)
carrying the operation's scope, and goes through the same service, with the same permission
checks, as the page that does it; the token's person is the actor. An organisation's token acts
only in its organisation's consultations. Limits count per token (``API_RATE_LIMIT``), and the
writes that publish what a person says also count against that person's posting or voting limit,
as on the site. ``Idempotency-Key`` makes a retried POST safe (``idempotency.py``). Refusals are
problem details: a rule of the consultation that refuses names its field in ``errors``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consult.amendments import services as amendments
from consult.api import idempotency, schemas
from consult.api.auth import current_token, rate_limit_key, require_organisation, require_token
from consult.api.problems import problem_type
from consult.api.reads import comment_json
from consult.api.spec import WRITE_ERRORS, operation
from consult.api.views import _amendment_json, _consultation_json, _consultation_or_404, _version_json, bp
from consult.comments import services as comments
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.core.problems import Problem
from consult.extensions import POSTING_TOO_FAST, VOTING_TOO_FAST, csrf, limiter, limits_off, posting_limit, voting_limit
from consult.moderation import services as moderation
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from consult.tokens.models import Scope
from consult.voting import services as voting


def api_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def _json_object() -> None:
    """Writes take a JSON object."""
    if not request.is_json:
        raise Problem(
            415,
            title=_("The body is not JSON"),
            detail=_("Send a JSON object, with the header “Content-Type: application/json”."),
            type=problem_type("invalid-body"),
        )
    if not isinstance(request.get_json(silent=True), dict):
        raise Problem(
            400,
            title=_("The body is not JSON"),
            detail=_("The body must be a JSON object, such as {\"body\": \"…\"}."),
            type=problem_type("invalid-body"),
        )


def write(*, scope: Scope, body: type, ok: dict, tags: tuple[str, ...], limit: Callable[[], str] | None = None, limit_message=None):
    """Make a view a write of the API: a token with ``scope``, a JSON body checked against
    ``body``, limits per token (and ``limit`` per person), the idempotency key, one commit."""

    def decorate(view: Callable) -> Callable:
        documented = operation(tags=tags, ok=ok, json=body, errors=WRITE_ERRORS, token=str(scope))(view)

        @functools.wraps(documented)
        def endpoint(**kwargs):
            token = require_token(scope)
            _json_object()
            return idempotency.once(token, lambda: documented(**kwargs))

        limited = limiter.limit(api_limit, key_func=rate_limit_key, exempt_when=limits_off, override_defaults=False)(endpoint)
        if limit is not None:
            limited = limiter.limit(limit, error_message=limit_message, exempt_when=limits_off, override_defaults=False)(limited)
        return csrf.exempt(limited)

    return decorate


@bp.errorhandler(RuleViolation)
def refused(error: RuleViolation):
    """A rule of the consultation refused the write: the service's words, on the field it names."""
    db.session.rollback()
    status = error.status if error.status in (400, 403, 404, 409, 422) else 409
    return Problem(
        status,
        title=_("Refused"),
        detail=error.message,
        type=problem_type("refused"),
        errors=[{"field": error.field, "message": error.message}] if error.field else None,
    ).get_response()


def _in_scope(c) -> None:
    require_organisation(current_token(), c.organisation_id)


def _created(data: dict, location: str):
    return data, 201, {"Location": location}


# ---- taking part --------------------------------------------------------------------------------


@bp.route("/consultations/<slug>/comments", methods=["POST"])
@write(
    scope=Scope.CONTRIBUTE,
    body=schemas.CommentIn,
    ok={201: schemas.Comment},
    tags=("Contributions",),
    limit=posting_limit,
    limit_message=POSTING_TOO_FAST,
)
def post_comment(slug: str):
    """Comment on the consultation or one of its sections; with a quote, an annotation.

    Published at once, or held for a moderator where the consultation says so
    (``moderation_state`` is then ``pending``)."""
    return _posted_comment(slug)


@bp.route("/consultations/<slug>/annotations", methods=["POST"])
@write(
    scope=Scope.CONTRIBUTE,
    body=schemas.AnnotationIn,
    ok={201: schemas.Comment},
    tags=("Contributions",),
    limit=posting_limit,
    limit_message=POSTING_TOO_FAST,
)
def post_annotation(slug: str):
    """Annotate: comment on words of a section, quoted exactly as published (``start`` and
    ``end``, offsets in the section's ``plain_text``, say which occurrence)."""
    return _posted_comment(slug)


def _posted_comment(slug: str):
    """A comment or an annotation (``schemas.CommentIn`` or ``AnnotationIn``, validated) posted to ``slug``: 201."""
    c = _consultation_or_404(slug)
    _in_scope(c)
    data = request.context.json
    contribution = comments.post_comment(
        c, actor=current_user, body=data.body, section_key=data.section_key, quote=data.quote, start=data.start, end=data.end
    )
    return _created(comment_json(contribution), url_for("api.comment", contribution_id=contribution.id, _external=True))


@bp.route("/comments/<int:contribution_id>/replies", methods=["POST"])
@write(
    scope=Scope.CONTRIBUTE,
    body=schemas.ReplyIn,
    ok={201: schemas.Comment},
    tags=("Contributions",),
    limit=posting_limit,
    limit_message=POSTING_TOO_FAST,
)
def post_reply(contribution_id: int):
    """Reply to a comment, an annotation or a reply."""
    parent = comments.visible_contribution(current_user, contribution_id)
    if parent is None:
        abort(404, _("No comment with that number."))
    _in_scope(parent.consultation)
    data: schemas.ReplyIn = request.context.json
    contribution = comments.post_comment(parent.consultation, actor=current_user, body=data.body, parent=parent)
    return _created(comment_json(contribution), url_for("api.comment", contribution_id=contribution.id, _external=True))


@bp.route("/consultations/<slug>/amendments", methods=["POST"])
@write(
    scope=Scope.CONTRIBUTE,
    body=schemas.AmendmentIn,
    ok={201: schemas.Amendment},
    tags=("Amendments",),
    limit=posting_limit,
    limit_message=POSTING_TOO_FAST,
)
def propose_amendment(slug: str):
    """Propose new words for a section: its whole new text (``proposed_text``), or a passage of
    it (``quote``) and what replaces it (``replacement``), with the reason (``rationale``)."""
    c = _consultation_or_404(slug)
    _in_scope(c)
    data: schemas.AmendmentIn = request.context.json
    contribution = amendments.propose_amendment(
        c,
        actor=current_user,
        section_key=data.section_key,
        rationale=data.rationale,
        proposed_text=data.proposed_text,
        quote=data.quote,
        replacement=data.replacement,
    )
    return _created(_amendment_out(contribution), url_for("api.amendment", contribution_id=contribution.id, _external=True))


def _amendment_out(contribution) -> dict:
    supporters = amendments.co_supporters([contribution.id], current_user)[contribution.id]
    tally = voting.tallies([contribution.id])[contribution.id]
    return _amendment_json(contribution, tally, supporters) | {"conflicts_with": amendments.section_conflicts(contribution)}


@bp.route("/consultations/<slug>/votes", methods=["POST"])
@write(
    scope=Scope.CONTRIBUTE,
    body=schemas.VoteIn,
    ok={200: schemas.Vote},
    tags=("Votes",),
    limit=voting_limit,
    limit_message=VOTING_TOO_FAST,
)
def vote(slug: str):
    """Vote on an amendment, a statement or a section; a second vote on the same item replaces
    the first."""
    c = _consultation_or_404(slug)
    _in_scope(c)
    data: schemas.VoteIn = request.context.json
    target = None
    if data.contribution_id is not None:
        target = voting.vote_target(c, data.contribution_id)
        if target is None or comments.visible_contribution(current_user, target.id) is None:
            abort(404, _("There is no such item in this consultation."))
    value = voting.cast_vote(c, actor=current_user, value=data.value, contribution=target, section_key=data.section_key)
    return {"value": value, "contribution_id": data.contribution_id, "section_key": None if target is not None else data.section_key}


@bp.route("/contributions/<int:contribution_id>/reports", methods=["POST"])
@write(
    scope=Scope.CONTRIBUTE,
    body=schemas.ReportIn,
    ok={201: schemas.Report},
    tags=("Moderation",),
    limit=posting_limit,
    limit_message=POSTING_TOO_FAST,
)
def report(contribution_id: int):
    """Report what someone else wrote to the moderators (your name is never shown with it). At
    the site's threshold of reports it is hidden until a moderator looks at it."""
    contribution = comments.visible_contribution(current_user, contribution_id)
    if contribution is None:
        abort(404, _("No contribution with that number."))
    _in_scope(contribution.consultation)
    data: schemas.ReportIn = request.context.json
    hidden = moderation.report(contribution, actor=current_user, reason=data.reason, detail=data.detail)
    return {"contribution_id": contribution.id, "hidden": hidden}, 201


# ---- staff --------------------------------------------------------------------------------------


@bp.route("/consultations/<slug>/versions", methods=["POST"])
@write(scope=Scope.PUBLISH, body=schemas.PublishIn, ok={201: schemas.Version}, tags=("Staff",))
def publish_version(slug: str):
    """Publish the next version: the draft written on the site, or ``text`` (the whole text in
    Markdown, split into sections at its headings), with a change note."""
    c = _consultation_or_404(slug)
    _in_scope(c)
    data: schemas.PublishIn = request.context.json
    if data.text is not None:
        proposals.write_markdown(c, data.text, actor=current_user)
    version = proposals.publish_version(c, actor=current_user, note=data.note)
    return _created(
        _version_json(c, version, with_sections=True), url_for("api.version", slug=c.slug, number=version.number, _external=True)
    )


@bp.route("/consultations/<slug>/state", methods=["POST"])
@write(scope=Scope.PUBLISH, body=schemas.StateIn, ok={200: schemas.Consultation}, tags=("Staff",))
def change_state(slug: str):
    """Open, close, reopen (with a new closing time) or conclude the consultation. Concluding
    publishes the outcome, and is final."""
    c = _consultation_or_404(slug)
    _in_scope(c)
    data: schemas.StateIn = request.context.json
    proposals.change_state(c, Transition(data.transition), actor=current_user, closes_at=data.closes_at, confirmed=True)
    return _consultation_json(c)


@bp.route("/amendments/<int:contribution_id>/answer", methods=["POST"])
@write(scope=Scope.PUBLISH, body=schemas.AnswerIn, ok={200: schemas.Amendment}, tags=("Staff",))
def answer_amendment(contribution_id: int):
    """The organisation's answer to an amendment, with its reason; it may be revised until the
    outcome is published."""
    contribution = amendments.get_visible_amendment(current_user, contribution_id)
    if contribution is None:
        abort(404, _("No amendment with that number."))
    _in_scope(contribution.consultation)
    data: schemas.AnswerIn = request.context.json
    amendments.answer_amendment(contribution.amendment, actor=current_user, decision=data.decision, reason=data.reason)
    return _amendment_out(contribution)


@bp.route("/contributions/<int:contribution_id>/moderation", methods=["POST"])
@write(scope=Scope.MODERATE, body=schemas.ModerationIn, ok={200: schemas.Moderated}, tags=("Moderation",))
def moderate(contribution_id: int):
    """Approve, hide (with a public reason) or restore a contribution; its open reports are closed."""
    contribution = moderation.contribution_to_moderate(current_user, contribution_id)
    if contribution is None:
        abort(404, _("No contribution with that number."))
    _in_scope(contribution.consultation)
    data: schemas.ModerationIn = request.context.json
    moderation.act([contribution], actor=current_user, action=data.action, reason=data.reason)
    return {"contribution_id": contribution.id, "moderation_state": contribution.moderation_state}
