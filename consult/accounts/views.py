from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, logout_user
from sqlalchemy.exc import SQLAlchemyError

from consult import mine
from consult.accounts import devices, services, signin_flow
from consult.accounts.forms import (
    ChangePasswordForm,
    ConfirmForm,
    EmailChangeForm,
    EmptyForm,
    MemberForm,
    OrganisationForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignInForm,
    SignUpForm,
)
from consult.accounts.models import ROLE_IN_TEXT, Membership, Organisation, Role, User
from consult.core import browser_token, i18n
from consult.core.errors import RuleViolation
from consult.core.forms import refused_on
from consult.core.links import safe_next
from consult.core.models import db
from consult.core.params import page_number
from consult.core.routing import public
from consult.extensions import csrf, limiter, limits_off, login_manager
from consult.permissions import Action, authorize
from consult.policies import services as policies
from consult.site import services as site
from consult.site.models import INVITATION_SESSION_KEY

bp = Blueprint("accounts", __name__)

SESSION_TOKEN_KEY = signin_flow.SESSION_TOKEN_KEY
CONFIRM_PENDING_KEY = "confirm_pending"  # the account whose right password was just given, not yet confirmed
CHECK_INBOX = _l("Check your inbox: we have sent you a message with the next step.")
CONFIRM_NEXT_KEY = "confirm_next"  # where the unconfirmed person was going, for the link sent again
CONFIRM_PURPOSE = "confirm"  # the browser token's fingerprint a confirmation link names
RESEND_LIMIT = "3 per 10 minutes;10 per day"
RESENT_TOO_OFTEN = _l(
    "We have sent several links already. Wait a few minutes for them to arrive (look in your spam folder too), then try again."
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = services.user_for_session(user_id, session.get(SESSION_TOKEN_KEY))
    if user is None:
        session.pop(SESSION_TOKEN_KEY, None)  # ended: signed out here too
    return user


@bp.before_app_request
def load_signed_in_user():
    """Find the signed-in person before the view changes anything: ``user_for_session`` may
    end an expired session or note the time in a short transaction of its own. (The sign-in
    gate has already done it for pages that need a signed-in person.)"""
    if request.endpoint != "static":
        current_user._get_current_object()


login_manager.login_view = "accounts.sign_in"
login_manager.login_message = _l("Sign in to continue.")
login_manager.localize_callback = str  # the lazy message in the request's language, as a str the session can keep
login_manager.session_protection = None  # our own login sessions do this job, server-side


def _organisation_or_404(slug: str, action: Action | None = None) -> Organisation:
    """The blueprint's loader of an organisation and, given an action, the user's permission to do it."""
    organisation = services.organisation_by_slug(slug) or abort(404)
    if action is not None:
        authorize(current_user, action, organisation)
    return organisation


@bp.route("/signup", methods=["GET", "POST"])
@public
def sign_up():
    """``?next=``: where the confirmation link brings the person back to (signed in, when it is
    followed in this browser: the browser's token is named in the link)."""
    invitation = session.get(INVITATION_SESSION_KEY)
    # Asked on the form's page only: a POST must not read before the password is hashed (the
    # service checks the invitation then, outside the write lock).
    if request.method == "GET" and not site.registration_open() and not site.invitation_is_valid(invitation):
        flash(_("Creating an account on this site needs an invitation: paste its code, or follow the link you were sent."), "info")
        return redirect(url_for("site.invitation"))
    form = SignUpForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        browser = browser_token.current_or_new()
        try:
            user = services.sign_up(
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                next_url=next_url,
                browser=browser_token.fingerprint(browser, CONFIRM_PURPOSE),
                invitation=invitation,
            )
        except RuleViolation as refused:
            if not refused_on(form, refused):
                raise
        else:
            if user is not None:  # a new account (a taken address gets a mail and nothing else)
                policies.record_agreement(user)
                session.pop(INVITATION_SESSION_KEY, None)
            db.session.commit()
            flash(str(CHECK_INBOX), "success")
            return browser_token.give(redirect(url_for("accounts.sign_in", next=next_url)), browser)
    return render_template("accounts/sign_up.html", form=form, next_url=next_url), 400 if form.errors else 200


@bp.route("/signin", methods=["GET", "POST"])
@public
def sign_in():
    form = SignInForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        try:
            result = services.sign_in(
                email=form.email.data,
                password=form.password.data,
                address=request.remote_addr or "",
                known_accounts=devices.known_accounts(),
            )
        except services.AddressNotConfirmed as unconfirmed:
            db.session.rollback()
            session[CONFIRM_PENDING_KEY] = unconfirmed.user_id
            session[CONFIRM_NEXT_KEY] = next_url
            return render_template(
                "accounts/sign_in.html", form=form, unconfirmed=unconfirmed, resend_form=EmptyForm(), next_url=next_url
            ), 400
        db.session.commit()
        if result is None:
            form.password.errors.append(_("That email address and password do not match an account."))
            return render_template("accounts/sign_in.html", form=form, next_url=next_url), 400
        return signin_flow.begin(result.user, next_url=next_url, method="password")
    return render_template("accounts/sign_in.html", form=form, next_url=next_url), 400 if form.errors else 200


@bp.record_once
def _language_from_account(state) -> None:
    """The interface speaks the language a signed-in person chose (consult/core/i18n.py)."""

    def chosen() -> str | None:
        try:
            return current_user.language if current_user.is_authenticated else None
        except SQLAlchemyError:  # the database is down: its own error page, in the browser's language
            return None

    state.app.extensions["consult.person_language"] = chosen


@bp.route("/language", methods=["POST"])
@public
@csrf.exempt
def choose_language():
    """The language switcher (a form on every page, no script needed): remembered on the account
    of someone signed in, in a cookie for someone who is not; then back to the page they were on.

    Without a CSRF token on purpose: one would put a session cookie on every page a visitor
    reads, and all a forged request could do is choose a language; the session cookie is
    ``SameSite=Lax``, so a cross-site form never changes an account's setting anyway."""
    code = i18n.supported(request.form.get("language"))
    if code is None:
        abort(400, description=_("Choose one of the languages offered."))
    if current_user.is_authenticated and current_user.language != code:
        current_user.language = code
        db.session.commit()
    response = redirect(safe_next(request.form.get("next")) or url_for("proposals.index"))
    response.set_cookie(
        i18n.COOKIE,
        code,
        max_age=i18n.COOKIE_MAX_AGE,
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.route("/signout", methods=["POST"])
def sign_out():
    EmptyForm().validate_on_submit() or abort(400)
    services.end_login_session(session.get(SESSION_TOKEN_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("proposals.index"))


@bp.route("/confirm", methods=["GET", "POST"])
@public
def confirm():
    """The mailed link is ``/confirm#CODE``: a script posts the code from the fragment (one
    click); without it the person pastes the code. No code is ever part of a requested URL."""
    form = ConfirmForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        try:
            confirmed = services.confirm_account(
                form.code.data.strip(), browser=browser_token.fingerprint(browser_token.current(), CONFIRM_PURPOSE)
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="code"):
                raise
        else:
            db.session.commit()
            if confirmed.signs_in:  # the browser that signed up: in, through the usual steps, and back
                signed_in = signin_flow.begin(confirmed.user, next_url=next_url, method="confirm")
                flash(_("Your email address is confirmed."), "success")  # after begin, which starts a fresh session
                return signed_in
            flash(_("Your email address is confirmed. You can sign in now."), "success")
            return redirect(url_for("accounts.sign_in", next=next_url))
    return render_template("accounts/confirm.html", form=form, next_url=next_url), 400 if form.errors else 200


@bp.route("/confirm/resend", methods=["POST"])
@public
@limiter.limit(RESEND_LIMIT, error_message=lambda: str(RESENT_TOO_OFTEN), exempt_when=limits_off)
@limiter.limit(
    RESEND_LIMIT,
    key_func=lambda: f"resend:{session.get(CONFIRM_PENDING_KEY)}",
    error_message=lambda: str(RESENT_TOO_OFTEN),
    exempt_when=limits_off,
)
def resend_confirmation():
    """Asked for from the sign-in page just after the right password for an account not yet
    confirmed (the session names it): nobody else can have a link sent. Limited per address and
    per account. The new link signs the person in when followed in this browser."""
    EmptyForm().validate_on_submit() or abort(400)
    user_id = session.pop(CONFIRM_PENDING_KEY, None)
    next_url = safe_next(session.pop(CONFIRM_NEXT_KEY, None))
    browser = browser_token.current_or_new()
    fingerprint = browser_token.fingerprint(browser, CONFIRM_PURPOSE)
    user = services.resend_confirmation(user_id, next_url=next_url, browser=fingerprint) if isinstance(user_id, int) else None
    db.session.commit()
    if user is not None:
        flash(_("We have sent a new confirmation link to %(email)s.", email=user.email), "success")
    return browser_token.give(redirect(url_for("accounts.sign_in", next=next_url)), browser)


@bp.route("/reset", methods=["GET", "POST"])
@public
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(email=form.email.data)
        db.session.commit()
        flash(str(CHECK_INBOX), "success")
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_request.html", form=form), 400 if form.errors else 200


@bp.route("/reset/password", methods=["GET", "POST"])
@public
def reset_password():
    """The mailed link is ``/reset/password#CODE``; the code is posted with the new password."""
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(token=form.code.data.strip(), password=form.password.data)
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="code"):
                raise
        else:
            db.session.commit()
            flash(_("Your password has been changed. Sign in with the new one."), "success")
            # The mailbox is proved: this browser is the owner's, whoever else is guessing.
            return devices.remember(redirect(url_for("accounts.sign_in")), user.id)
    return render_template("accounts/reset_password.html", form=form), 400 if form.errors else 200


@bp.route("/account", methods=["GET", "POST"])
def account():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        try:
            services.update_profile(current_user, display_name=form.display_name.data)
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="display_name"):
                raise
        else:
            db.session.commit()
            flash(_("Your public name has been saved."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form), 400 if form.errors else 200


@bp.route("/account/email", methods=["GET", "POST"])
def change_email():
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            asked = services.request_email_change(
                current_user, password=form.current_password.data, new_email=form.email.data, address=request.remote_addr or ""
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="email"):
                raise
        else:
            db.session.commit()
            if asked:
                flash(
                    _(
                        "We have sent a link to %(email)s. Follow it to finish the change; until then your address stays as it is.",
                        email=services.normalise_email(form.email.data),
                    ),
                    "success",
                )
                return redirect(url_for("accounts.account"))
            form.current_password.errors.append(_("That is not your current password."))
    return render_template("accounts/email_change.html", form=form), 400 if form.errors else 200


@bp.route("/account/email/confirm", methods=["GET", "POST"])
@public
def confirm_email_change():
    """The link mailed to the new address is ``/account/email/confirm#CODE`` (the code never in
    a requested URL, as for ``confirm``). Public: the mail may be read on another device; the
    code, mailed to the new address after the password was given, is the proof."""
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            user = services.confirm_email_change(form.code.data.strip())
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="code"):
                raise
        else:
            db.session.commit()
            flash(_("Your email address is now %(email)s.", email=user.email), "success")
            return redirect(url_for("accounts.account" if current_user.is_authenticated else "accounts.sign_in"))
    return render_template("accounts/email_confirm.html", form=form), 400 if form.errors else 200


@bp.route("/account/sessions")
def sessions():
    """The browsers signed in to the account, this one marked, each with a button to sign it out."""
    return render_template(
        "accounts/sessions.html",
        login_sessions=services.login_sessions_of(current_user),
        this_session=services.session_id_for(session.get(SESSION_TOKEN_KEY)),
    )


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
def end_session(session_id: int):
    EmptyForm().validate_on_submit() or abort(400)
    ended = services.end_session_of(current_user, session_id)
    db.session.commit()
    flash(_("That browser is signed out.") if ended else _("That browser was already signed out."), "success")
    return redirect(url_for("accounts.sessions"))


@bp.route("/account/sessions/end-others", methods=["POST"])
def end_other_sessions():
    EmptyForm().validate_on_submit() or abort(400)
    ended = services.end_other_sessions(current_user, keep_token=session.get(SESSION_TOKEN_KEY))
    db.session.commit()
    flash(ngettext("Signed out everywhere else (%(num)d browser).", "Signed out everywhere else (%(num)d browsers).", ended), "success")
    return redirect(url_for("accounts.sessions"))


@bp.route("/me/contributions")
def contributions():
    """Everything the signed-in person wrote, newest first, with what became of each."""
    page = mine.my_contributions(
        current_user, page=page_number(), consultation_slug=request.args.get("consultation", ""), status=request.args.get("status", "")
    )
    return render_template("accounts/contributions.html", **vars(page))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            changed = services.change_password(
                current_user,
                current=form.current_password.data,
                new=form.password.data,
                address=request.remote_addr or "",
                keep_session=session.get(SESSION_TOKEN_KEY),
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="password"):
                raise
        else:
            db.session.commit()
            if changed:
                flash(_("Your password has been changed. Your other signed-in browsers are signed out."), "success")
                return redirect(url_for("accounts.account"))
            form.current_password.errors.append(_("That is not your current password."))
    return render_template("accounts/change_password.html", form=form), 400 if form.errors else 200


@bp.route("/admin/mail")
def failed_mail():
    messages = services.failed_mail(actor=current_user)
    return render_template("accounts/failed_mail.html", messages=messages, retry_form=EmptyForm())


@bp.route("/admin/mail/<int:mail_id>/retry", methods=["POST"])
def retry_mail(mail_id: int):
    EmptyForm().validate_on_submit() or abort(400)
    message = services.retry_failed_mail(mail_id, actor=current_user) or abort(404)
    db.session.commit()
    flash(_("Message %(id)s will be sent again.", id=message.id), "success")
    return redirect(url_for("accounts.failed_mail"))


@bp.route("/organisations/new", methods=["GET", "POST"])
def new_organisation():
    authorize(current_user, Action.CREATE_ORGANISATION)
    form = OrganisationForm()
    if form.validate_on_submit():
        organisation = services.create_organisation(
            actor=current_user, slug=form.slug.data, name=form.name.data, description=form.description.data
        )
        db.session.commit()
        flash(_("%(organisation)s has been created. Add its authors, moderators and admins.", organisation=organisation.name), "success")
        return redirect(url_for("accounts.members", slug=organisation.slug))
    return render_template("accounts/new_organisation.html", form=form), 400 if form.errors else 200


@bp.route("/o/<slug>/members", methods=["GET", "POST"])
def members(slug: str):
    organisation = _organisation_or_404(slug, Action.MANAGE_ORGANISATION)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            user, added = services.add_member_by_email(organisation, form.email.data, Role(form.role.data), actor=current_user)
        except RuleViolation as refused:
            if not refused_on(form, refused):
                raise
        else:
            db.session.commit()
            said = {"name": user.display_name, "role": ROLE_IN_TEXT[Role(form.role.data)], "organisation": organisation.name}
            if added:
                flash(_("%(name)s is now %(role)s of %(organisation)s.", **said), "success")
            else:
                flash(_("%(name)s was already %(role)s of %(organisation)s.", **said), "success")
            return redirect(url_for("accounts.members", slug=slug))
    return render_template(
        "accounts/members.html",
        organisation=organisation,
        memberships=services.memberships_of(organisation),
        form=form,
        remove_form=EmptyForm(),
    ), 400 if form.errors else 200


@bp.route("/o/<slug>/members/<int:membership_id>/remove", methods=["POST"])
def remove_member(slug: str, membership_id: int):
    organisation = _organisation_or_404(slug)
    membership = db.get_or_404(Membership, membership_id)
    if membership.organisation_id != organisation.id or not EmptyForm().validate_on_submit():
        abort(404)
    services.remove_member(organisation, membership.user, Role(membership.role), actor=current_user)
    db.session.commit()
    flash(_("The role has been removed."), "success")
    return redirect(url_for("accounts.members", slug=slug))


__all__ = ["RuleViolation", "bp"]
