"""Questionnaire pages: answering (``/c/SLUG/questionnaire``), the results
(``/c/SLUG/questionnaire/results``) and the authors' editor (``/c/SLUG/questionnaire/edit``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from consult.core.errors import RuleViolation
from consult.core.forms import WHOLE_FORM, refuse_invalid, refused_on
from consult.core.models import db
from consult.core.params import whole_number
from consult.core.routing import public
from consult.extensions import POSTING_TOO_FAST, limiter, limits_off, posting_limit
from consult.permissions import Action, authorize, can
from consult.proposals.models import Consultation
from consult.proposals.services import get_visible_consultation
from consult.questionnaires import services
from consult.questionnaires.forms import AnswerForm, ButtonForm, QuestionForm, raw_answers

bp = Blueprint("questionnaires", __name__)


def _consultation_or_404(slug: str) -> Consultation:
    """The blueprint's one loader: the consultation the user may see, else 404."""
    return get_visible_consultation(current_user, slug) or abort(404)


def _viewer():
    return current_user if current_user.is_authenticated else None


@bp.app_context_processor
def questionnaire_helpers():
    """``questionnaire_of(c)`` for the consultation page's link (``questionnaires/_link.html``)."""
    return {"questionnaire_of": services.current_questionnaire}


# ---- answering -------------------------------------------------------------------------------


def _render_answer(c: Consultation, questionnaire, *, given=None, errors=None, status: int = 200):
    viewer = _viewer()
    response = services.response_of(questionnaire, viewer)
    return render_template(
        "questionnaires/answer.html",
        consultation=c,
        questionnaire=questionnaire,
        response=response,
        mine=given if given is not None else services.my_answers(response),
        errors=errors or {},
        can_answer=can(viewer, Action.ANSWER_QUESTIONNAIRE, c),
    ), status


@bp.route("/c/<slug>/questionnaire")
@public
def answer(slug: str):
    c = _consultation_or_404(slug)
    return _render_answer(c, services.current_questionnaire(c) or abort(404))


@bp.route("/c/<slug>/questionnaire", methods=["POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off)
def submit(slug: str):
    c = _consultation_or_404(slug)
    questionnaire = services.current_questionnaire(c) or abort(404)
    form = AnswerForm()
    form.validate() or refuse_invalid(form)
    answers = raw_answers(request.form, questionnaire)
    try:
        services.submit_response(questionnaire, answers, actor=current_user)
    except services.AnswersRefused as refused:
        db.session.rollback()
        return _render_answer(c, questionnaire, given=_as_given(questionnaire, answers), errors=refused.errors, status=400)
    db.session.commit()
    flash(_("Thank you: your answers are saved. You can change them until the consultation closes."), "success")
    return redirect(url_for(".results", slug=c.slug))


def _as_given(questionnaire, answers) -> dict[int, dict]:
    """What was sent, shaped like ``services.my_answers`` so the form shows it again."""
    given = {}
    for q in questionnaire.questions:
        raw = answers.get(q.id)
        if q.is_text:
            given[q.id] = {"choices": [], "words": raw or ""}
        elif isinstance(raw, dict):
            given[q.id] = {"choices": [], "ranks": raw}
        else:
            values = raw if isinstance(raw, list) else [raw]
            given[q.id] = {"choices": [whole_number(v) for v in values if v], "words": ""}
    return given


# ---- results ---------------------------------------------------------------------------------


@bp.route("/c/<slug>/questionnaire/results")
@public
def results(slug: str):
    c = _consultation_or_404(slug)
    authorize(_viewer(), Action.VIEW_QUESTIONNAIRE_RESULTS, c)
    published = services.published_versions(c)
    number = whole_number(request.args.get("version"), low=1)
    shown = next((q for q in published if q.number == number), None) if number is not None else (published[-1] if published else None)
    if shown is None:
        abort(404)
    respondents, questions = services.results(shown, _viewer())
    return render_template(
        "questionnaires/results.html",
        consultation=c,
        questionnaire=shown,
        current=published[-1],
        published=published,
        respondents=respondents,
        questions=questions,
    )


# ---- editing (authors) -----------------------------------------------------------------------


def _sections(c: Consultation) -> dict[str, str]:
    """What a question may be about: "" (the whole consultation) or a section's key, and its name."""
    version = c.current_version or c.draft_version
    sections = version.sections if version is not None else []
    return {"": _("The whole consultation"), **{s.key: _("Section: %(section)s", section=s.heading) for s in sections}}


def _question_form(c: Consultation, question=None) -> QuestionForm:
    form = QuestionForm(obj=question) if question is not None and request.method == "GET" else QuestionForm()
    form.section_key.choices = [SelectChoice(key, label) for key, label in _sections(c).items()]
    if question is not None and request.method == "GET":
        form.options.data = "\n".join(o["label"] for o in question.options)
        form.section_key.data = question.section_key or ""
    return form


def _input(form: QuestionForm) -> services.QuestionInput:
    return services.QuestionInput(
        kind=form.kind.data or "",
        prompt=form.prompt.data or "",
        help_text=form.help_text.data or "",
        required=bool(form.required.data),
        section_key=form.section_key.data or None,
        options=(form.options.data or "").splitlines(),
    )


def _render_editor(c: Consultation, form: QuestionForm, status: int = 200):
    return render_template(
        "questionnaires/edit.html",
        consultation=c,
        questionnaire=services.working_questionnaire(c),
        published=services.published_versions(c),
        form=form,
        buttons=ButtonForm(),
        sections=_sections(c),
    ), status


@bp.route("/c/<slug>/questionnaire/edit")
def edit(slug: str):
    c = _consultation_or_404(slug)
    authorize(current_user, Action.EDIT_QUESTIONNAIRE, c)
    return _render_editor(c, _question_form(c))


@bp.route("/c/<slug>/questionnaire/questions", methods=["POST"])
def add_question(slug: str):
    c = _consultation_or_404(slug)
    form = _question_form(c)
    if not form.validate():
        return _render_editor(c, form, status=400)
    try:
        services.add_question(c, _input(form), actor=current_user)
    except RuleViolation as refused:
        if not refused_on(form, refused, fallback=WHOLE_FORM):
            raise
        return _render_editor(c, form, status=400)
    db.session.commit()
    flash(_("The question is added."), "success")
    return redirect(url_for(".edit", slug=c.slug))


@bp.route("/c/<slug>/questionnaire/questions/<int:key>", methods=["GET", "POST"])
def edit_question(slug: str, key: int):
    c = _consultation_or_404(slug)
    authorize(current_user, Action.EDIT_QUESTIONNAIRE, c)
    working = services.working_questionnaire(c)
    question = (working.question(key) if working is not None else None) or abort(404)
    form = _question_form(c, question)
    if request.method == "POST" and form.validate():
        try:
            services.update_question(c, key, _input(form), actor=current_user)
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback=WHOLE_FORM):
                raise
        else:
            db.session.commit()
            flash(_("The question is saved."), "success")
            return redirect(url_for(".edit", slug=c.slug) + f"#question-{key}")
    status = 400 if request.method == "POST" else 200
    return render_template("questionnaires/question.html", consultation=c, questionnaire=working, question=question, form=form), status


@bp.route("/c/<slug>/questionnaire/questions/<int:key>/move", methods=["POST"])
def move_question(slug: str, key: int):
    c = _consultation_or_404(slug)
    ButtonForm().validate() or abort(400, _("The form has expired: go back, reload the page and try again."))
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400, _("Say whether to move the question up or down."))
    services.move_question(c, key, actor=current_user, up=direction == "up")
    db.session.commit()
    return redirect(url_for(".edit", slug=c.slug) + f"#question-{key}")


@bp.route("/c/<slug>/questionnaire/questions/<int:key>/remove", methods=["POST"])
def remove_question(slug: str, key: int):
    c = _consultation_or_404(slug)
    ButtonForm().validate() or abort(400, _("The form has expired: go back, reload the page and try again."))
    services.remove_question(c, key, actor=current_user)
    db.session.commit()
    flash(_("The question is removed."), "success")
    return redirect(url_for(".edit", slug=c.slug))


@bp.route("/c/<slug>/questionnaire/publish", methods=["POST"])
def publish(slug: str):
    c = _consultation_or_404(slug)
    ButtonForm().validate() or abort(400, _("The form has expired: go back, reload the page and try again."))
    questionnaire = services.publish_questionnaire(c, actor=current_user)
    db.session.commit()
    flash(
        _("Version %(number)s of the questionnaire is published: participants answer it from now on.", number=questionnaire.number),
        "success",
    )
    return redirect(url_for(".edit", slug=c.slug))
