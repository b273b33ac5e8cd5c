"""Two-factor sign-in, the pages: setting it up on ``/account/two-factor``, and the sign-in step
that asks for a code (or, for staff who must have it and do not yet, sets it up).

The rules are in ``consult/accounts/twofactor.py``. Recovery codes are shown in the answer to the
POST that made them and nowhere else: nothing keeps them to show again.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from consult.accounts import signin_flow, twofactor
from consult.accounts.forms import EmptyForm
from consult.accounts.models import User
from consult.accounts.twofactor_forms import AppCodeForm, DisableForm, SignInCodeForm
from consult.core.models import db
from consult.core.routing import public

bp = Blueprint("two_factor", __name__)

STEP = "two-factor"
PASSED_KEY = "two_factor_passed"  # the pending sign-in whose second factor was given
FAILURES_KEY = "two_factor_failures"  # wrong codes given in the pending sign-in
#: What a signed-in person who must enrol may still reach (besides this blueprint's pages).
OPEN_BEFORE_ENROLMENT = frozenset({"static", "accounts.sign_out", "core.health", "core.ready"})


@signin_flow.step(STEP, endpoint="two_factor.sign_in_step", order=10)
def needs_second_factor(user: User) -> bool:
    return twofactor.asked_at_sign_in(user)


@bp.before_app_request
def enrol_staff_first():
    """A session that started before staff were required to use a second factor (or before this
    person became an admin) goes nowhere but to enrolment until it is done."""
    if not current_app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] or not current_user.is_authenticated:
        return None
    if request.blueprint == bp.name or request.endpoint in OPEN_BEFORE_ENROLMENT or not twofactor.must_enrol(current_user):
        return None
    if request.path.startswith("/api/"):
        abort(403)
    flash(_("Your role needs two-factor sign-in: set it up to continue."), "error")
    return redirect(url_for("two_factor.manage"))


# --- the account's page ---------------------------------------------------------------------------


@bp.route("/account/two-factor", methods=["GET", "POST"])
def manage():
    """Set up (a POST confirms the pending secret with a code), or what can be done once it is on."""
    if twofactor.is_enabled(current_user):
        return _render_enabled()
    form = AppCodeForm()
    details = twofactor.enrolment(current_user)
    if details is not None and form.validate_on_submit():
        codes = twofactor.confirm_enrolment(current_user, code=form.code.data)
        db.session.commit()
        if codes is not None:
            return render_template("accounts/two_factor_codes.html", codes=codes, continue_url=url_for("accounts.account"), new=True)
        form.code.errors.append(str(twofactor.WRONG_APP_CODE))
    return _render_enrolment(details, form, start_url=url_for(".start"), confirm_url=url_for(".manage"))


@bp.route("/account/two-factor/start", methods=["POST"])
def start():
    EmptyForm().validate_on_submit() or abort(400)
    twofactor.start_enrolment(current_user)
    db.session.commit()
    return redirect(url_for(".manage"))


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
def regenerate():
    if not twofactor.is_enabled(current_user):
        return redirect(url_for(".manage"))
    form = AppCodeForm(prefix="regenerate")
    if form.validate_on_submit():
        codes = twofactor.regenerate_recovery_codes(current_user, code=form.code.data)
        db.session.commit()
        if codes is not None:
            return render_template("accounts/two_factor_codes.html", codes=codes, continue_url=url_for(".manage"), new=False)
        form.code.errors.append(str(twofactor.WRONG_APP_CODE))
    return _render_enabled(regenerate_form=form)


@bp.route("/account/two-factor/disable", methods=["POST"])
def disable():
    if not twofactor.is_enabled(current_user):
        return redirect(url_for(".manage"))
    form = DisableForm(prefix="disable")
    if form.validate_on_submit():
        refused = twofactor.disable(current_user, code=form.code.data, password=form.password.data or "")
        db.session.commit()
        if refused is None:
            flash(_("Two-factor sign-in is off. Your recovery codes no longer work."), "success")
            return redirect(url_for(".manage"))
        form[refused.field].errors.append(refused.message)
    return _render_enabled(disable_form=form)


def _render_enabled(*, regenerate_form: AppCodeForm | None = None, disable_form: DisableForm | None = None):
    regenerate_form = regenerate_form or AppCodeForm(prefix="regenerate", formdata=None)
    disable_form = disable_form or DisableForm(prefix="disable", formdata=None)
    return render_template(
        "accounts/two_factor_on.html",
        two_factor=twofactor.two_factor_of(current_user),
        unused=twofactor.unused_recovery_codes(current_user),
        has_password=bool(current_user.password_hash) and not current_user.password_hash.startswith("!"),
        regenerate_form=regenerate_form,
        disable_form=disable_form,
    ), 400 if regenerate_form.errors or disable_form.errors else 200


def _render_enrolment(details: twofactor.Enrolment | None, form: AppCodeForm, *, start_url: str, confirm_url: str, signing_in=False):
    return render_template(
        "accounts/two_factor.html",
        enrolment=details,
        form=form,
        start_form=EmptyForm(formdata=None),
        start_url=start_url,
        confirm_url=confirm_url,
        signing_in=signing_in,
    ), 400 if form.errors else 200


# --- the sign-in step -----------------------------------------------------------------------------


@bp.route("/signin/two-factor", methods=["GET", "POST"])
@public
def sign_in_step():
    """A code for those who have a second factor; enrolment for staff who must and have none."""
    user = signin_flow.pending_user()
    if user is None:
        return signin_flow.expired()
    if session.get(PASSED_KEY) == _pending_sign_in():
        return signin_flow.step_done(STEP)
    if not twofactor.is_enabled(user):
        return _enrol_at_sign_in(user) if twofactor.is_required(user) else signin_flow.step_done(STEP)
    form = SignInCodeForm()
    if form.validate_on_submit():
        kind = twofactor.check_code(user, code=form.code.data)
        db.session.commit()
        if kind == "app":
            return signin_flow.step_done(STEP)
        if kind == "recovery":
            session[PASSED_KEY] = _pending_sign_in()
            return render_template("accounts/two_factor_recovery_used.html", unused=twofactor.unused_recovery_codes(user))
        if _one_more_failure():
            return _start_again()
        form.code.errors.append(str(twofactor.WRONG_CODE))
    return render_template("accounts/two_factor_sign_in.html", form=form), 400 if form.errors else 200


@bp.route("/signin/two-factor/start", methods=["POST"])
@public
def sign_in_start():
    user = signin_flow.pending_user()
    if user is None:
        return signin_flow.expired()
    EmptyForm().validate_on_submit() or abort(400)
    if twofactor.must_enrol(user):
        twofactor.start_enrolment(user)
        db.session.commit()
    return redirect(url_for(".sign_in_step"))


def _enrol_at_sign_in(user: User):
    form = AppCodeForm()
    details = twofactor.enrolment(user)
    if details is not None and form.validate_on_submit():
        codes = twofactor.confirm_enrolment(user, code=form.code.data)
        db.session.commit()
        if codes is not None:
            session[PASSED_KEY] = _pending_sign_in()
            return render_template("accounts/two_factor_codes.html", codes=codes, continue_url=url_for(".sign_in_step"), new=True)
        if _one_more_failure():
            return _start_again()
        form.code.errors.append(str(twofactor.WRONG_APP_CODE))
    return _render_enrolment(details, form, start_url=url_for(".sign_in_start"), confirm_url=url_for(".sign_in_step"), signing_in=True)


def _pending_sign_in() -> str:
    """Which pending sign-in this is (a new one, even of the same person, starts afresh)."""
    pending = session.get(signin_flow.PENDING_KEY) or {}
    return f"{pending.get('user_id')}:{pending.get('until')}"


def _one_more_failure() -> bool:
    """Count a wrong code against the pending sign-in; True once it has had too many."""
    key = _pending_sign_in()
    counted = session.get(FAILURES_KEY)
    failures = (counted["count"] if isinstance(counted, dict) and counted.get("for") == key else 0) + 1
    session[FAILURES_KEY] = {"for": key, "count": failures}
    return failures >= int(current_app.config["TWO_FACTOR_MAX_FAILURES"])


def _start_again() -> Response:
    for key in (signin_flow.PENDING_KEY, FAILURES_KEY, PASSED_KEY):
        session.pop(key, None)
    flash(_("Too many wrong codes. Sign in again to have another try."), "error")
    return redirect(url_for("accounts.sign_in"))
