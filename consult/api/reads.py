"""The read API beyond consultations, versions and amendments (``views.py``): the index,
comments (with annotations and replies), statements, the opinion map, and themes and summaries
once published. Lists of contributions are paged by cursor (``cursors.py``): stable while
people keep posting, which page numbers are not."""

from __future__ import annotations

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from consult.api import cursors, schemas
from consult.api.spec import operation
from consult.api.views import _consultation_or_404, bp
from consult.comments import services as comments
from consult.contributions.models import Contribution, ContributionKind
from consult.core.models import db
from consult.core.routing import public
from consult.permissions import visible_contributions
from consult.record import rows as record_rows
from consult.voting import services as voting
from consult.voting import statements as statement_services

DISCUSSION_KINDS = (ContributionKind.COMMENT.value, ContributionKind.REPLY.value)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def author_name(contribution: Contribution) -> str:
    return contribution.author.display_name if contribution.author else _("Former participant")


def _quote_json(contribution: Contribution) -> dict | None:
    """The words an annotation is about, as anchored on the latest version it was placed on."""
    anchors = sorted(contribution.anchors, key=lambda a: a.version.number, reverse=True)
    if not anchors:
        return None
    anchor = anchors[0]
    return {
        "exact": anchor.exact,
        "prefix": anchor.prefix,
        "suffix": anchor.suffix,
        "start": anchor.start,
        "end": anchor.end,
        "version": anchor.version.number,
        "state": anchor.state,
    }


def comment_json(contribution: Contribution) -> dict:
    return {
        "id": contribution.id,
        "kind": contribution.kind,
        "consultation": contribution.consultation.slug,
        "version": contribution.version.number,
        "section_key": contribution.section_key,
        "parent_id": contribution.parent_id,
        "thread_id": contribution.thread_id,
        "author": author_name(contribution),
        "created_at": _iso(contribution.created_at),
        "edited_at": _iso(contribution.edited_at),
        "moderation_state": contribution.moderation_state,
        "body": contribution.body,
        "body_html": contribution.body_html,
        "quote": _quote_json(contribution),
        "url": url_for("comments.show", contribution_id=contribution.id, _external=True),
        "api_url": url_for("api.comment", contribution_id=contribution.id, _external=True),
    }


def _page(query, *, limit: int, endpoint: str, **values) -> tuple[list, str | None, str | None]:
    """One page of ``query`` (ordered by id) after the request's cursor, and the next cursor and
    address (None on the last page)."""
    after = cursors.position(request.args.get("cursor"))
    items = list(db.session.scalars(query.where(Contribution.id > after).order_by(Contribution.id).limit(limit + 1)))
    if len(items) <= limit:
        return items, None, None
    items = items[:limit]
    cursor = cursors.cursor_after(items[-1].id)
    return items, cursor, url_for(endpoint, cursor=cursor, limit=limit, _external=True, **values)


@bp.route("/")
@public
@operation(tags=("About",), ok={200: schemas.Index})
def index():
    """Where everything is: the description, its documentation and the first list to read."""
    return {
        "name": "Consult API",
        "version": "1",
        "openapi": url_for("api.openapi", _external=True),
        "documentation": url_for("api.docs", _external=True),
        "consultations": url_for("api.consultations", _external=True),
        "authentication": _("Send a token as “Authorization: Bearer …”: make one on your account's page."),
    }


@bp.route("/consultations/<slug>/comments")
@public
@operation(tags=("Contributions",), ok={200: schemas.CommentPage}, query=schemas.CommentsQuery)
def comments_list(slug: str):
    """The consultation's comments, annotations and replies, oldest first.

    Hidden and deleted ones are left out; your own that wait for a moderator are in (with a token
    or signed in). ``section`` keeps the comments on one section."""
    c = _consultation_or_404(slug)
    query = request.context.query
    where = [Contribution.consultation_id == c.id, Contribution.kind.in_(DISCUSSION_KINDS), visible_contributions(current_user)]
    if query.section:
        where.append(Contribution.section_key == query.section)
    items, cursor, next_url = _page(
        select(Contribution).where(*where),
        limit=query.limit,
        endpoint="api.comments_list",
        slug=c.slug,
        **({"section": query.section} if query.section else {}),
    )
    return {"comments": [comment_json(item) for item in items], "next_cursor": cursor, "next": next_url}


@bp.route("/comments/<int:contribution_id>")
@public
@operation(tags=("Contributions",), ok={200: schemas.Comment})
def comment(contribution_id: int):
    """One comment, annotation or reply."""
    contribution = comments.visible_contribution(current_user, contribution_id)
    if contribution is None or contribution.kind not in DISCUSSION_KINDS:
        abort(404, _("No comment with that number."))
    return comment_json(contribution)


@bp.route("/consultations/<slug>/statements")
@public
@operation(tags=("Opinion map",), ok={200: schemas.StatementPage}, query=schemas.CursorQuery)
def statements(slug: str):
    """The consultation's statements, oldest first. While the consultation is open, a statement's
    tally is shown only to those who voted on it or wrote it (as on the site, so that the count
    does not sway the vote); ``tally`` is null otherwise."""
    c = _consultation_or_404(slug)
    query = request.context.query
    items, cursor, next_url = _page(
        select(Contribution).where(
            Contribution.consultation_id == c.id, Contribution.kind == ContributionKind.STATEMENT, visible_contributions(current_user)
        ),
        limit=query.limit,
        endpoint="api.statements",
        slug=c.slug,
    )
    shown = statement_services.tallies_shown(c, current_user, items, voting.my_votes(current_user, c))
    tallies = voting.tallies(item.id for item in items)
    return {
        "statements": [
            {
                "id": item.id,
                "author": author_name(item),
                "created_at": _iso(item.created_at),
                "body": item.body,
                "moderation_state": item.moderation_state,
                "tally": {"agree": tallies[item.id].agree, "disagree": tallies[item.id].disagree, "passed": tallies[item.id].passed}
                if item.id in shown
                else None,
            }
            for item in items
        ],
        "next_cursor": cursor,
        "next": next_url,
    }


@bp.route("/consultations/<slug>/opinion-map")
@public
@operation(tags=("Opinion map",), ok={200: schemas.OpinionMap})
def opinion_map(slug: str):
    """The opinion map as last computed: its groups (their size, never who is in them), each
    group's representative statements and the consensus, as in the open record."""
    c = _consultation_or_404(slug)
    shown = record_rows.opinion_map_row(c)
    if shown is None:
        return {"computed": False, "computed_at": None, "groups": [], "consensus": []}
    return {"computed": True} | shown


@bp.route("/consultations/<slug>/themes")
@public
@operation(tags=("Outcome",), ok={200: schemas.Themes})
def themes(slug: str):
    """The moderators' themes and summaries, published with the outcome (empty before)."""
    c = _consultation_or_404(slug)
    published = record_rows.outcome_published(c)
    return {
        "published": published,
        "themes": [
            row | {"contribution_ids": list(row["contribution_ids"]), "cites": list(row["cites"])} for row in record_rows.theme_rows(c)
        ],
        "section_summaries": [row | {"cites": list(row["cites"])} for row in record_rows.section_summary_rows(c)],
    }
