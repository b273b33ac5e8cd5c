from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from consult import mine
from consult.accounts.models import User
from consult.comments import services
from consult.comments.forms import CommentForm, EditForm, ReplyForm
from consult.comments.highlighting import highlighted_sections
from consult.contributions import drafts
from consult.contributions.models import Contribution
from consult.core import browser_token, cache, i18n, text
from consult.core.errors import RuleViolation
from consult.core.forms import refused_on
from consult.core.models import db
from consult.core.params import page_number, whole_number
from consult.core.routing import public
from consult.extensions import POSTING_TOO_FAST, limiter, limits_off, posting_limit
from consult.permissions import Action, authorize, can
from consult.proposals.models import Consultation, Section
from consult.proposals.services import get_visible_consultation
from consult.questionnaires import services as questionnaire_services
from consult.reading import services as reading
from consult.sharing import previews

bp = Blueprint("comments", __name__)

PER_PAGE = 20


def _consultation_or_404(slug: str) -> Consultation:
    """The blueprint's loader of a consultation (the contributions' own is ``_visible_or_404``)."""
    return get_visible_consultation(current_user, slug) or abort(404)


def _text_language(c: Consultation, asked: str | None) -> str | None:
    """The language of the current version's text the section page shows (``reading.text_language``)."""
    return reading.text_language(c.current_version, asked=asked, interface=i18n.current_language())


def _shared_address(page: int, threads: int, texts: reading.TextLanguages | None) -> bool:
    """Whether this address of a section page is one the page's own links make, the only ones
    whose fragments are kept for everyone: ``page`` and ``text`` at most once each, spelt as the
    links spell them, and a page that exists. Any other query (a share's tracking tags, a typo,
    ``?page=999999``) is rendered for the request alone, so no one can fill the cache with
    addresses of their own, nor put their own arguments in the links others are served."""
    args = request.args
    if not set(args) <= {"page", "text"} or any(len(args.getlist(name)) > 1 for name in args):
        return False
    if "page" in args and (args["page"] != str(page) or page > max(1, -(-threads // PER_PAGE))):
        return False
    return "text" not in args or (texts is not None and args["text"] == texts.param)


def _render_thread_page(
    c: Consultation, section: Section | None, form: CommentForm, status: int = 200, *, removed: bool = False, draft_kept: bool = False
):
    """``removed``: ``section`` is from an earlier version; its thread is shown without its text.

    The section's text and the page of threads are rendered apart (``_section_text.html``,
    ``_threads.html``): for a visitor not signed in they are the same for everyone, so they are
    cached (``cache.public_fragment``), while the comment form (a CSRF token, a kept draft, a quote
    from ``?quote=``) and the flashes are always rendered for the request."""
    version = c.current_version
    language = _text_language(c, form.text_language.data or request.args.get("text"))
    texts = reading.text_languages(version, language) if version is not None else None
    form.text_language.data = texts.param if texts else None
    section_key = section.key if section else None
    counted = services.counts.counts_for(c, current_user, section_key)
    page = page_number()
    if section and not removed:
        section = section.in_language(language)
    can_post = not removed and can(current_user, Action.POST_COMMENT, c)

    def fragments() -> tuple[str, str]:
        pagination = db.paginate(
            services.threads_query(c, current_user, section_key=section_key),
            page=page,
            per_page=PER_PAGE,
            error_out=False,
            count=False,  # the number of threads is kept up to date (``thread_counts``), not counted per request
        )
        pagination.total = counted.threads
        threads = services.build_threads(list(pagination.items), current_user)
        section_text = ""
        if section and not removed:  # footnotes live in sections of their own: their links go to the whole policy
            marks = services.highlights_for(version, current_user, section_key=section.key, language=language, stamp=counted.stamp)
            html = text.link_fragments_to(
                highlighted_sections(version, marks, only=section)[section.key],
                url_for("proposals.consultation", slug=c.slug, text=texts.param),
            )
            elsewhere = services.annotations_on_other_texts(
                version, current_user, language=language, section_key=section.key, stamp=counted.stamp
            )
            section_text = render_template(
                "comments/_section_text.html",
                consultation=c,
                version=version,
                section=section,
                section_html=html,
                texts=texts,
                elsewhere=elsewhere,
            )
        return section_text, render_template(
            "comments/_threads.html",
            consultation=c,
            version=version,
            pagination=pagination,
            threads=threads,
            total=counted.comments,
            can_post=can_post,
        )

    if current_user.is_authenticated or removed or not _shared_address(page, counted.threads, texts):
        section_text, threads = fragments()  # their own votes, follows, edit links: never shared
    else:
        # Everything the two fragments show from the request: the page, the text's language, the
        # query (the pagination's and the language switch's links keep its arguments).
        parts = (
            getattr(version, "id", None),
            section_key,
            page,
            language,
            texts.param if texts else None,
            sorted(request.args.items(multi=True)),
        )

        def build() -> tuple[str, str, object]:
            # the page's share preview as the public sees it (none for the other addresses of this page)
            preview = previews.section_preview(c.slug, section_key) if request.endpoint == "comments.section" else None
            return (*fragments(), preview)

        section_text, threads, preview = cache.public_fragment("thread-page", c.id, request.base_url, parts, build)
        request.environ["consult.share_preview"] = preview  # sharing.views takes it from the environ
    return render_template(
        "comments/thread_page.html",
        consultation=c,
        version=version,
        section=section,
        section_text=Markup(section_text),
        threads=Markup(threads),
        form=form,
        total=counted.comments,
        can_post=can_post,
        # Signed out on an open consultation: they may write; posting keeps it and asks them to sign up.
        can_draft=not removed and not current_user.is_authenticated and c.is_open,
        draft_kept=draft_kept,
        removed=removed,
        texts=texts,
    ), status


@bp.route("/c/<slug>/s/<key>")
@public
def section(slug: str, key: str):
    c = _consultation_or_404(slug)
    version = c.current_version or abort(404)
    s = version.section(key)
    if s is None:
        earlier = services.earlier_section(c, key) or abort(404, _("This section is not in any version of the text."))
        return _render_thread_page(c, earlier, CommentForm(section_key=key), removed=True)
    form = CommentForm(section_key=s.key)
    # The "comment on the selected words" button of the reading page lands here with the quote.
    if request.args.get("quote"):
        form.quote.data = request.args.get("quote", "")[: services.MAX_QUOTE_LENGTH]
        for name in ("start", "end"):
            getattr(form, name).data = whole_number(request.args.get(name))
    return _render_thread_page(c, s, form, draft_kept=_fill_from_draft(c, form))


# ---- the margin panel (margin.js): a section's or a highlight's discussion, without the page ----


@bp.route("/c/<slug>/s/<key>/discussion")
@public
def section_discussion(slug: str, key: str):
    """The discussion of a section of the current version as an HTML fragment, which
    ``margin.js`` shows beside the text; ``?annotation=ID`` (repeated): only those annotations'
    threads (a highlight's); ``?from=START&to=END`` (and ``text``): the threads of the annotations on
    those words of the section's text (a passage where many highlights were drawn merged). ``quote``, ``start`` and ``end`` fill in the comment form as on the
    section page, which stays the address without scripts (and links from the fragment go there)."""
    c = _consultation_or_404(slug)
    version = c.current_version or abort(404)
    section = version.section(key) or abort(404, _("This section is not in the current version of the text."))
    raw_ids = request.args.getlist("annotation")
    ids = [whole_number(raw, low=1) for raw in raw_ids[:50]]
    if None in ids or len(raw_ids) > 50:
        abort(400, _("An annotation is named by its number (at most 50 of them)."))
    passage = [whole_number(request.args.get(name)) for name in ("from", "to")]  # a merged highlight's words
    language = _text_language(c, request.args.get("text"))
    only = ids or (services.annotations_on(version, section.key, *passage, language=language) if None not in passage else None)
    query = services.threads_query(c, current_user, section_key=section.key, only=only)
    threads = services.build_threads(list(db.session.scalars(query.limit(PER_PAGE))), current_user)
    quote = request.args.get("quote", "")[: services.MAX_QUOTE_LENGTH]
    return render_template(
        "comments/_margin_discussion.html",
        consultation=c,
        version=version,
        section=section,
        threads=threads,
        highlight=only is not None,
        per_page=PER_PAGE,
        total=services.discussion_count(c, current_user, section_key=section.key),
        can_post=can(current_user, Action.POST_COMMENT, c),
        quote=quote,
        start=whole_number(request.args.get("start")) if quote else None,
        end=whole_number(request.args.get("end")) if quote else None,
        texts=reading.text_languages(version, language),
    )


@bp.route("/c/<slug>/comments")
@public
def consultation_comments(slug: str):
    c = _consultation_or_404(slug)
    if c.current_version is None:
        abort(404)
    form = CommentForm()
    return _render_thread_page(c, None, form, draft_kept=_fill_from_draft(c, form))


DRAFT_FIELDS = ("body", "quote", "start", "end", "text_language")


def _draft_place(section_key: str | None) -> str:
    return f"comment:{section_key or ''}"


def _fill_from_draft(c: Consultation, form: CommentForm) -> bool:
    """Put back what this browser wrote in the form before signing up or in (see ``keep_draft``)."""
    kept = drafts.draft_for(c, browser_token=browser_token.current(), place=_draft_place(form.section_key.data))
    if kept is None:
        return False
    for name in DRAFT_FIELDS:
        if kept.get(name) is not None:
            getattr(form, name).data = kept[name]
    return True


@bp.route("/c/<slug>/comments/draft", methods=["POST"])
@public
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off)
def keep_draft(slug: str):
    """A signed-out person posts the comment form: what they wrote is kept for their browser
    (``contributions.drafts``) and they are asked to create an account (or sign in), coming back
    to the form, filled in, once they have. Nothing is published."""
    c = _consultation_or_404(slug)
    form = CommentForm()
    section = _commented_section(c, form.section_key.data)
    if current_user.is_authenticated or not c.is_open:
        return redirect(
            url_for("comments.section", slug=c.slug, key=section.key) if section else url_for("comments.consultation_comments", slug=c.slug)
        )
    if not form.validate_on_submit():
        return _render_thread_page(c, section, form, status=400)
    token = browser_token.current_or_new()
    drafts.keep_draft(
        c, browser_token=token, place=_draft_place(form.section_key.data), fields={n: getattr(form, n).data for n in DRAFT_FIELDS}
    )
    db.session.commit()
    back = url_for("comments.section", slug=c.slug, key=section.key) if section else url_for("comments.consultation_comments", slug=c.slug)
    flash(_("We have kept what you wrote. Create an account (or sign in) to post it: you will come back to it."), "success")
    return browser_token.give(redirect(url_for("accounts.sign_up", next=back + "#comment-form")), token)


@bp.route("/c/<slug>/comments", methods=["POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off)
def post(slug: str):
    c = _consultation_or_404(slug)
    form = CommentForm()
    section = _commented_section(c, form.section_key.data)
    try:
        if form.validate_on_submit():
            contribution = services.post_comment(
                c,
                actor=current_user,
                body=form.body.data,
                section_key=section.key if section else None,
                quote=form.quote.data,
                start=form.start.data,
                end=form.end.data,
                text_language=form.text_language.data or c.original_language,
            )
    except RuleViolation as refused:
        # Wrong input: say so on the form, keeping what they wrote (closed meanwhile, not allowed: the error page says so).
        if not refused_on(form, refused, fallback="quote" if form.quote.data else "body"):
            raise
    if form.errors:
        return _render_thread_page(c, section, form, status=400)
    drafts.discard_draft(c, browser_token=browser_token.current(), place=_draft_place(form.section_key.data))
    db.session.commit()
    flash(
        contribution.posted_message(
            _("Your comment is published.") if not contribution.anchors else _("Your comment on the selected words is published.")
        ),
        "success",
    )
    return redirect(_place_of(contribution))


def _commented_section(c: Consultation, key: str | None) -> Section | None:
    """The section of the current version a comment is about (None: the whole consultation)."""
    section = c.current_version.section(key) if key and c.current_version else None
    if key and section is None:
        abort(400, _("That section is not in the current version of the text."))
    return section


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
        flash(contribution.posted_message(_("Your reply is published.")), "success")
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
        flash(_("Your comment has been updated; the earlier text stays visible under it."), "success")
        return redirect(_place_of(contribution))
    return render_template(
        "comments/edit.html", consultation=contribution.consultation, contribution=contribution, form=form
    ), 400 if form.errors else 200


@bp.route("/comments/<int:contribution_id>/delete", methods=["GET", "POST"])
def delete(contribution_id: int):
    """A page that asks first (a link on the comment leads here), then the deletion."""
    contribution = _visible_or_404(contribution_id)
    authorize(current_user, Action.DELETE_COMMENT, contribution)
    c = contribution.consultation
    if request.method == "GET":
        return render_template("comments/delete.html", consultation=c, contribution=contribution)
    back = (
        url_for("comments.section", slug=c.slug, key=contribution.section_key)
        if contribution.section_key
        else url_for("comments.consultation_comments", slug=c.slug)
    )
    services.delete_comment(contribution, actor=current_user)
    db.session.commit()
    flash(_("Your comment has been deleted."), "success")
    return redirect(back)


def _visible_or_404(contribution_id: int, *, tombstones: bool = True) -> Contribution:
    return services.visible_contribution(current_user, contribution_id, tombstones=tombstones) or abort(404)


def _place_of(contribution: Contribution) -> str:
    """The URL of the page of its thread that shows it, with its fragment."""
    if contribution.kind == "statement":  # statements have a page of their own, not threads
        return url_for("voting.statements_list", slug=contribution.consultation.slug) + f"#statement-{contribution.id}"
    if contribution.kind == "answer":  # a questionnaire's free-text answer: shown with the results of its version
        number = questionnaire_services.version_of_answer(contribution)
        return url_for("questionnaires.results", slug=contribution.consultation.slug, version=number) + f"#answer-{contribution.id}"
    root, newer = services.thread_root_and_newer(contribution, current_user)
    c = contribution.consultation
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
    return render_template("comments/person.html", person=user, **vars(mine.public_contributions(user, current_user, page=page_number())))


@bp.route("/people/former-participant")
@public
def former_participant():
    """Who wrote contributions whose author has erased their account."""
    return render_template("comments/person.html", person=None, lines=[], pagination=None)
