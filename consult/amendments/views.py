from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from consult.amendments import explanations, services
from consult.amendments.forms import AmendmentForm, AnswerForm, CiteForm, ReasonForm, UnciteForm
from consult.amendments.models import Amendment, AmendmentState, Decision
from consult.contributions.models import Contribution
from consult.core import cache, i18n
from consult.core.errors import RuleViolation
from consult.core.forms import refuse_invalid, refused_on
from consult.core.models import db
from consult.core.params import page_number
from consult.core.routing import public
from consult.extensions import POSTING_TOO_FAST, limiter, limits_off, posting_limit
from consult.groups import services as groups
from consult.permissions import Action, authorize
from consult.proposals.models import Consultation
from consult.proposals.services import get_visible_consultation
from consult.reading import services as reading
from consult.sharing import previews
from consult.voting import services as voting

bp = Blueprint("amendments", __name__)

PER_PAGE = 20
SORTS = {"support": _l("Most supported"), "newest": _l("Newest")}


def _consultation_or_404(slug: str, action: Action | None = None) -> Consultation:
    """The blueprint's loader of a consultation: one the user may see (else 404) and, given an
    action, may do it on (else 403)."""
    consultation = get_visible_consultation(current_user, slug) or abort(404)
    if action is not None:
        authorize(current_user, action, consultation)
    return consultation


def _amendment_or_404(contribution_id: int) -> Contribution:
    """The blueprint's loader of an amendment the user may see, in a consultation they may see."""
    return services.get_visible_amendment(current_user, contribution_id) or abort(404)


@bp.route("/c/<slug>/amendments")
@public
def index(slug: str):
    c = _consultation_or_404(slug)
    sort = request.args.get("sort", "support")
    if sort not in SORTS:
        abort(400, _("Sort by one of: %(sorts)s.", sorts=", ".join(SORTS)))
    section_key = request.args.get("section") or None
    if section_key and (c.current_version is None or not any(s.key == section_key for v in c.published_versions for s in v.sections)):
        abort(404, _("There is no such section in this consultation."))
    pagination = db.paginate(
        services.amendments_query(c, current_user, section_key=section_key, sort=sort),
        page=page_number(),
        per_page=PER_PAGE,
        error_out=False,
    )
    items = list(pagination.items)
    return render_template(
        "amendments/index.html",
        consultation=c,
        pagination=pagination,
        amendments=items,
        sort=sort,
        sorts=SORTS,
        section_key=section_key,
        tallies=voting.tallies(c.id for c in items),
        conflicts=services.conflicts(items),
        my_votes=voting.my_votes(current_user, c),
        waiting=services.unanswered_above_threshold(c),
        supporters=services.co_supporters((i.id for i in items), current_user),
        redlines={i.id: services.redline(i) for i in items},
    )


@bp.route("/c/<slug>/s/<key>/amend", methods=["GET", "POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off, methods=["POST"])
def propose(slug: str, key: str):
    c = _consultation_or_404(slug)
    version = c.current_version or abort(404)
    texts = reading.text_languages(
        version, reading.text_language(version, asked=request.args.get("text"), interface=i18n.current_language())
    )
    section = version.section_in(key, texts.shown) or abort(404, _("This section is not in the current version."))
    authorize(current_user, Action.PROPOSE_AMENDMENT, c)
    form, preview = AmendmentForm(), None
    if not form.is_submitted():
        form.proposed_text.data, form.quote.data = section.body.strip(), request.args.get("quote", "")[: services.MAX_QUOTE_LENGTH] or None
    elif form.validate():
        try:
            if form.preview.data:  # nothing is stored: show the redline of what would be proposed
                preview = services.preview_proposal(
                    section, proposed_text=form.proposed_text.data, quote=_quote(form), replacement=form.replacement.data
                )
            else:
                return _publish(c, section, form, texts.shown)
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="quote" if _quote(form) else "proposed_text"):
                raise
    return render_template(
        "amendments/propose.html",
        consultation=c,
        section=section,
        form=form,
        preview=preview,
        texts=texts,
        drafting_groups=groups.drafting_groups(current_user),  # issue 20: or write it with a group
    ), 400 if form.errors else 200


def _quote(form: AmendmentForm) -> str | None:
    return form.quote.data if form.quote.data and form.quote.data.strip() else None


def _publish(c: Consultation, section, form: AmendmentForm, language: str):
    contribution = services.propose_amendment(
        c,
        actor=current_user,
        section_key=section.key,
        rationale=form.rationale.data,
        proposed_text=form.proposed_text.data,
        quote=_quote(form),
        replacement=form.replacement.data,
        text_language=language,
    )
    db.session.commit()
    flash(
        contribution.posted_message(_("Your amendment is published. Others can now support it, and the organisation will answer it.")),
        "success",
    )
    return redirect(amendment_url(contribution))


@bp.app_template_global()
def amendment_url(contribution: Contribution, **values) -> str:
    """The address of an amendment's page: ``/c/SLUG/amendments/A3``."""
    return url_for("amendments.numbered", slug=contribution.consultation.slug, number=contribution.amendment.number, **values)


@bp.app_template_global()
def amendment_by_id(contribution_id: int) -> Contribution | None:
    """An amendment named by id in a list of conflicts (already loaded: no query)."""
    return db.session.get(Contribution, contribution_id)


@bp.route("/amendments/<int:contribution_id>")
@public
def show(contribution_id: int):
    """The address amendments had by their id (in mail, records and bookmarks): to the numbered one."""
    return redirect(amendment_url(_amendment_or_404(contribution_id)), code=301)


@bp.route("/c/<slug>/amendments/A<int:number>")
@public
def numbered(slug: str, number: int):
    c = _consultation_or_404(slug)
    contribution = services.visible_amendment_by_number(current_user, c, number) or abort(404)
    amendment = contribution.amendment
    return _render_amendment(contribution, AnswerForm(decision=amendment.decision, reason=amendment.answer or None))


def _render_amendment(contribution: Contribution, answer_form: AnswerForm, status: int = 200):
    c, amendment = contribution.consultation, contribution.amendment

    def content() -> str:
        return render_template(
            "amendments/_show_content.html",
            consultation=c,
            contribution=contribution,
            amendment=amendment,
            section=services.base_section(contribution),
            ops=services.redline(contribution),
            preview=services.preview_html(contribution),
            tally=voting.tallies([contribution.id])[contribution.id],
            my_vote=voting.my_votes(current_user, c).get(contribution.id),
            conflicting=services.section_conflicts(contribution),
            answer_form=answer_form,
            supporters=services.co_supporters([contribution.id], current_user)[contribution.id],
            is_supporter=services.is_co_supporter(amendment, current_user),
        )

    # Signed in: the person's vote, co-support, forms with their CSRF token: never shared.
    if current_user.is_authenticated:
        html = content()
    else:
        # with the page's share preview (as the public sees it), which sharing.views takes from the environ
        html, preview = cache.public_fragment(
            "amendment-page", c.id, request.base_url, (contribution.id,), lambda: (content(), previews.amendment_preview(contribution.id))
        )
        request.environ["consult.share_preview"] = preview
    return render_template("amendments/show.html", consultation=c, amendment=amendment, content=Markup(html)), status


@bp.route("/amendments/<int:contribution_id>/support", methods=["POST"])
def support(contribution_id: int):
    contribution = _amendment_or_404(contribution_id)
    services.co_support(contribution.amendment, actor=current_user)
    db.session.commit()
    flash(_("You are now a co-sponsor of this amendment: your name stands beside its author's. (It is not a vote: Support is.)"), "success")
    return redirect(amendment_url(contribution))


@bp.route("/amendments/<int:contribution_id>/leave", methods=["POST"])
def leave(contribution_id: int):
    contribution = _amendment_or_404(contribution_id)
    services.leave_support(contribution.amendment, actor=current_user)
    db.session.commit()
    flash(_("You are no longer a co-sponsor of this amendment."), "success")
    return redirect(amendment_url(contribution))


@bp.route("/amendments/<int:contribution_id>/withdraw", methods=["POST"])
def withdraw(contribution_id: int):
    contribution = _amendment_or_404(contribution_id)
    services.withdraw_amendment(contribution.amendment, actor=current_user)
    db.session.commit()
    flash(_("Your amendment is withdrawn. It stays on record, marked withdrawn."), "success")
    return redirect(amendment_url(contribution))


@bp.route("/amendments/<int:contribution_id>/answer", methods=["POST"])
def answer(contribution_id: int):
    contribution = _amendment_or_404(contribution_id)
    authorize(current_user, Action.ANSWER_AMENDMENT, contribution.amendment)
    form = AnswerForm()
    if form.validate_on_submit():
        services.answer_amendment(contribution.amendment, actor=current_user, decision=form.decision.data, reason=form.reason.data)
        db.session.commit()
        flash(_("Your answer is published."), "success")
        return redirect(amendment_url(contribution))
    return _render_amendment(contribution, form, 400)


@bp.route("/c/<slug>/next-version", methods=["POST"])
def next_version(slug: str):
    c = _consultation_or_404(slug)
    report = services.start_next_version(c, actor=current_user)
    db.session.commit()
    unexplained = explanations.unexplained(report.draft)
    return render_template("amendments/next_version.html", consultation=c, report=report, unexplained=unexplained)


def _name(contribution: Contribution) -> str:
    """How a cited contribution is named in the flash message: "amendment A3", "comment 12"."""
    if contribution.amendment:
        return _("amendment %(label)s", label=contribution.amendment.label)
    number = contribution.id
    names = {
        "comment": _("comment %(number)s", number=number),
        "reply": _("reply %(number)s", number=number),
        "statement": _("statement %(number)s", number=number),
        "answer": _("answer %(number)s", number=number),
    }
    return names.get(contribution.kind, f"{contribution.kind} {number}")


STATE_LABELS = {
    AmendmentState.OPEN: _l("Waiting for an answer"),
    AmendmentState.ANSWERED: _l("Answered"),
    AmendmentState.WITHDRAWN: _l("Withdrawn"),
    AmendmentState.INCORPORATED: _l("Incorporated"),
}


@bp.app_template_filter("amendment_state")
def amendment_state(amendment: Amendment) -> str:
    if amendment.state == AmendmentState.ANSWERED:
        return str(Decision(amendment.decision).answered_label)
    if amendment.state == AmendmentState.INCORPORATED and amendment.incorporated_version:
        return _("Incorporated in version %(number)s", number=amendment.incorporated_version.number)
    return str(STATE_LABELS[AmendmentState(amendment.state)])


@bp.route("/c/<slug>/cite", methods=["POST"])
def cite(slug: str):
    """Trace a section's change in the draft to a contribution (an amendment applied by hand, or
    a comment that led to it)."""
    c = _consultation_or_404(slug, Action.EDIT_TEXT)
    draft = c.draft_version or abort(409, _("There is no draft of a next version to cite contributions in."))
    form = CiteForm()
    form.validate() or refuse_invalid(form)
    key = form.section_key.data or ""
    contribution = services.cite_by_number(draft, key, form.contribution_id.data, actor=current_user)
    db.session.commit()
    flash(_("The change to this section now cites %(contribution)s.", contribution=_name(contribution)), "success")
    return redirect(url_for("proposals.version", slug=c.slug, number=draft.number) + f"#s-{key}")


@bp.route("/c/<slug>/reason", methods=["POST"])
def reason(slug: str):
    """The author's own reason for a section's change in the draft (or the editorial mark)."""
    c = _consultation_or_404(slug, Action.EDIT_TEXT)
    draft = c.draft_version or abort(409, _("There is no draft of a next version to give reasons in."))
    form = ReasonForm()
    form.validate() or refuse_invalid(form)
    key = form.section_key.data
    explanations.explain_change(draft, key, actor=current_user, reason=form.reason.data or "", editorial=form.editorial.data)
    db.session.commit()
    flash(_("The reason for this change has been saved."), "success")
    return redirect(url_for("proposals.version", slug=c.slug, number=draft.number) + f"#change-{key}")


@bp.route("/c/<slug>/uncite", methods=["POST"])
def uncite(slug: str):
    """Take back a citation in the draft (cited by mistake)."""
    c = _consultation_or_404(slug, Action.EDIT_TEXT)
    draft = c.draft_version or abort(409, _("There is no draft of a next version: published citations stay on record."))
    form = UnciteForm()
    form.validate() or refuse_invalid(form)
    key, contribution_id = form.section_key.data or "", form.contribution_id.data
    services.uncite(draft, key, contribution_id, actor=current_user) or abort(400, _("That citation is not in the draft."))
    db.session.commit()
    flash(_("The change to this section no longer cites contribution %(number)s.", number=contribution_id), "success")
    return redirect(url_for("proposals.version", slug=c.slug, number=draft.number) + f"#s-{key}")
