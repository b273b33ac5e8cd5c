from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from consult.comments import services
from consult.comments.forms import CommentForm, EditForm, ReplyForm
from consult.contributions.models import Contribution
from consult.comments import highlighting
from consult.core import text
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.core.params import page_number, whole_number
from consult.accounts.models import User
from consult.permissions import Action, authorize, can, visible_consultations, visible_contributions
from consult.core.routing import public
from consult.proposals.models import Consultation, Section, Version
from consult.proposals.services import get_visible_consultation

from consult.extensions import POSTING_TOO_FAST, limiter, limits_off, posting_limit

bp = Blueprint("comments", __name__)

PER_PAGE = 20


def _consultation_or_404(slug: str) -> Consultation:
    return get_visible_consultation(current_user, slug) or abort(404)


def highlighted_sections(version: Version, only: Section | None = None) -> dict[str, str]:
    """Each section's HTML (or just ``only``'s) with its annotations drawn as <mark>s linking to their threads."""
    marks_by_section = services.highlights_for(version, current_user, section_key=only.key if only else None)
    result = {}
    for section in [only] if only else version.sections:
        marks = [
            highlighting.Highlight(
                start=h.start,
                end=h.end,
                href=url_for("comments.show", contribution_id=h.contribution_ids[0]),
                label=_mark_label(h),
                count=len(h.contribution_ids),
                id=str(h.contribution_ids[0]),
            )
            for h in marks_by_section.get(section.key, [])
        ]
        result[section.key] = _highlighted(section.html, tuple(marks)) if marks else section.html
    return result


@lru_cache(maxsize=256)
def _highlighted(html: str, marks: tuple[highlighting.Highlight, ...]) -> str:
    """Drawing the marks parses the section's HTML: most requests ask for the same sections
    with the same marks (a published text does not change), so each worker keeps the last few."""
    return str(highlighting.highlight(html, marks))


STATE_NOTES = {"changed": " (the wording has changed since)", "moved": " (moved here from another section)"}


def _mark_label(h: services.Highlighted) -> str:
    n = len(h.contribution_ids)
    quote = h.exact if len(h.exact) <= 60 else h.exact[:59] + "…"
    return f"{n} comment{'s' if n != 1 else ''} on “{quote}”{STATE_NOTES.get(h.state, '')}"


def _render_thread_page(c: Consultation, section: Section | None, form: CommentForm, status: int = 200):
    version = c.current_version
    pagination = db.paginate(services.threads_query(c, current_user, section_key=section.key if section else None), page=page_number(), per_page=PER_PAGE, error_out=False)
    threads = services.build_threads(list(pagination.items), current_user)
    total = db.session.scalar(
        select(func.count()).where(
            Contribution.consultation_id == c.id,
            (Contribution.section_key == section.key) if section else Contribution.section_key.is_(None),
            Contribution.kind.in_(services.DISCUSSION_KINDS),
            visible_contributions(current_user),
        )
    )
    html = None
    if section:  # footnotes live in sections of their own: their links go to the whole policy
        html = text.link_fragments_to(highlighted_sections(version, only=section)[section.key],
                                      url_for("proposals.consultation", slug=c.slug))
    return render_template(
        "comments/thread_page.html", consultation=c, version=version, section=section, section_html=html,
        form=form, pagination=pagination, threads=threads, total=total, can_post=can(current_user, Action.POST_COMMENT, c),
    ), status


@bp.route("/c/<slug>/s/<key>")
@public
def section(slug: str, key: str):
    c = _consultation_or_404(slug)
    version = c.current_version or abort(404)
    s = version.section(key) or abort(404, "This section is not in the current version.")
    form = CommentForm(section_key=s.key)
    # The "comment on the selected words" button of the reading page lands here with the quote.
    if request.args.get("quote"):
        form.quote.data = request.args.get("quote", "")[: services.MAX_QUOTE_LENGTH]
        for name in ("start", "end"):
            getattr(form, name).data = whole_number(request.args.get(name))
    return _render_thread_page(c, s, form)


@bp.route("/c/<slug>/comments")
@public
def consultation_comments(slug: str):
    c = _consultation_or_404(slug)
    if c.current_version is None:
        abort(404)
    return _render_thread_page(c, None, CommentForm())


@bp.route("/c/<slug>/comments", methods=["POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off)
def post(slug: str):
    c = _consultation_or_404(slug)
    form = CommentForm()
    section = c.current_version.section(form.section_key.data) if form.section_key.data and c.current_version else None
    if form.section_key.data and section is None:
        abort(400, "That section is not in the current version of the text.")
    if not form.validate_on_submit():
        return _render_thread_page(c, section, form, status=400)
    try:
        contribution = services.post_comment(
            c, actor=current_user, body=form.body.data, section_key=section.key if section else None,
            quote=form.quote.data, start=form.start.data, end=form.end.data,
        )
    except RuleViolation as refused:
        if refused.status != 400:
            raise  # closed meanwhile, not allowed: the error page says so
        db.session.rollback()
        # Wrong input: say so on the form, keeping what they wrote.
        (form.quote if form.quote.data else form.body).errors = [refused.message]
        return _render_thread_page(c, section, form, status=400)
    db.session.commit()
    flash("Your comment is published." if not contribution.anchors else "Your comment on the selected words is published.", "success")
    return redirect(_place_of(contribution))


@bp.route("/comments/<int:contribution_id>")
@public
def show(contribution_id: int):
    """Any contribution's permanent address (summaries cite them by it)."""
    contribution = _visible_or_404(contribution_id)
    if contribution.kind == "amendment":
        return redirect(url_for("amendments.show", contribution_id=contribution.id))
    return redirect(_place_of(contribution))


@bp.route("/comments/<int:contribution_id>/reply", methods=["GET", "POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off, methods=["POST"])
def reply(contribution_id: int):
    parent = _visible_or_404(contribution_id, tombstones=False)  # the form quotes it: never a hidden one
    c = parent.consultation
    authorize(current_user, Action.POST_COMMENT, c)
    form = ReplyForm(parent_id=parent.id)
    if form.validate_on_submit():
        contribution = services.post_comment(c, actor=current_user, body=form.body.data, parent=parent)
        db.session.commit()
        flash("Your reply is published.", "success")
        return redirect(_place_of(contribution))
    return render_template("comments/reply.html", consultation=c, parent=parent, form=form), 400 if form.errors else 200


@bp.route("/comments/<int:contribution_id>/edit", methods=["GET", "POST"])
def edit(contribution_id: int):
    contribution = _visible_or_404(contribution_id)
    authorize(current_user, Action.EDIT_COMMENT, contribution)
    form = EditForm(obj=contribution)
    if form.validate_on_submit():
        services.edit_comment(contribution, actor=current_user, body=form.body.data)
        db.session.commit()
        flash("Your comment has been updated; the earlier text stays visible under it.", "success")
        return redirect(_place_of(contribution))
    return render_template("comments/edit.html", consultation=contribution.consultation, contribution=contribution, form=form), 400 if form.errors else 200


@bp.route("/comments/<int:contribution_id>/delete", methods=["GET", "POST"])
def delete(contribution_id: int):
    """A page that asks first (a link on the comment leads here), then the deletion."""
    contribution = _visible_or_404(contribution_id)
    authorize(current_user, Action.DELETE_COMMENT, contribution)
    c = contribution.consultation
    if request.method == "GET":
        return render_template("comments/delete.html", consultation=c, contribution=contribution)
    back = url_for("comments.section", slug=c.slug, key=contribution.section_key) if contribution.section_key else url_for("comments.consultation_comments", slug=c.slug)
    services.delete_comment(contribution, actor=current_user)
    db.session.commit()
    flash("Your comment has been deleted.", "success")
    return redirect(back)


def _visible_or_404(contribution_id: int, *, tombstones: bool = True) -> Contribution:
    contribution = db.session.scalar(
        select(Contribution).where(Contribution.id == contribution_id, visible_contributions(current_user, tombstones=tombstones))
    )
    if contribution is None or get_visible_consultation(current_user, contribution.consultation.slug) is None:
        abort(404)
    return contribution


def _place_of(contribution: Contribution) -> str:
    """The URL of the page of its thread that shows it, with its fragment."""
    if contribution.kind == "statement":  # statements have a page of their own, not threads
        return url_for("voting.statements_list", slug=contribution.consultation.slug) + f"#statement-{contribution.id}"
    root_id = contribution.thread_id or contribution.id
    root = db.session.get(Contribution, root_id)
    c = contribution.consultation
    newer = db.session.scalar(
        select(func.count()).select_from(
            services.threads_query(c, current_user, section_key=root.section_key)
            .where((Contribution.created_at > root.created_at) | ((Contribution.created_at == root.created_at) & (Contribution.id > root.id)))
            .subquery()
        )
    )
    page = newer // PER_PAGE + 1
    args = {"page": page} if page > 1 else {}
    fragment = f"#comment-{contribution.id}"
    if root.section_key:
        return url_for("comments.section", slug=c.slug, key=root.section_key, **args) + fragment
    return url_for("comments.consultation_comments", slug=c.slug, **args) + fragment


@bp.route("/people/<int:user_id>")
@public
def person(user_id: int):
    """A participant's public page: their display name and what they wrote in public
    consultations (never their email address)."""
    user = db.get_or_404(User, user_id)
    contributions = db.session.scalars(
        select(Contribution)
        .join(Consultation, Consultation.id == Contribution.consultation_id)
        .where(Contribution.author_id == user.id, visible_contributions(None), visible_consultations(current_user))
        .order_by(Contribution.created_at.desc())
        .limit(50)
    ).all()
    return render_template("comments/person.html", person=user, contributions=contributions)


@bp.route("/people/former-participant")
@public
def former_participant():
    """Who wrote contributions whose author has erased their account."""
    return render_template("comments/person.html", person=None, contributions=[])
