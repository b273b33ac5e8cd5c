from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from consult.accounts import services
from consult.accounts.forms import (
    EmptyForm,
    MemberForm,
    OrganisationForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignInForm,
    SignUpForm,
)
from consult.accounts.models import Membership, Organisation, Role, User
from consult.core.errors import RuleViolation
from consult.core.forms import refused_on
from consult.core.links import safe_next
from consult.core.models import db, reading_first
from consult.core.routing import public
from consult.extensions import login_manager
from consult.permissions import Action, authorize

bp = Blueprint("accounts", __name__)

SESSION_TOKEN_KEY = "sid"
CHECK_INBOX = "Check your inbox: we have sent you a message with the next step."


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return services.user_for_session(user_id, session.get(SESSION_TOKEN_KEY))


login_manager.login_view = "accounts.sign_in"
login_manager.login_message = "Sign in to continue."
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
    form = SignUpForm()
    if form.validate_on_submit():
        services.sign_up(email=form.email.data, password=form.password.data, display_name=form.display_name.data)
        db.session.commit()
        flash(CHECK_INBOX, "success")
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/sign_up.html", form=form), 400 if form.errors else 200


@bp.route("/signin", methods=["GET", "POST"])
@public
def sign_in():
    form = SignInForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        address = request.remote_addr or ""
        with reading_first():  # hashing is slow: SQLite's write lock is not held meanwhile
            user_id = services.check_password(email=form.email.data, password=form.password.data, address=address)
            db.session.commit()
        result = services.finish_sign_in(user_id, email=form.email.data, address=address)
        db.session.commit()
        if result is None:
            form.password.errors.append("That email address and password do not match an account.")
            return render_template("accounts/sign_in.html", form=form), 400
        session.clear()  # a fresh session: nothing planted before sign-in survives it
        session[SESSION_TOKEN_KEY] = result.session_token
        login_user(result.user)
        flash(f"Welcome, {result.user.display_name}.", "success")
        return redirect(next_url or url_for("proposals.index"))
    return render_template("accounts/sign_in.html", form=form), 400 if form.errors else 200


@bp.route("/signout", methods=["POST"])
def sign_out():
    EmptyForm().validate_on_submit() or abort(400)
    services.end_login_session(session.get(SESSION_TOKEN_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("proposals.index"))


@bp.route("/confirm/<token>")
@public
def confirm(token: str):
    services.confirm_account(token)
    db.session.commit()
    flash("Your email address is confirmed. You can sign in now.", "success")
    return redirect(url_for("accounts.sign_in"))


@bp.route("/reset", methods=["GET", "POST"])
@public
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(email=form.email.data)
        db.session.commit()
        flash(CHECK_INBOX, "success")
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_request.html", form=form), 400 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.reset_password(token=token, password=form.password.data)
        db.session.commit()
        flash("Your password has been changed. Sign in with the new one.", "success")
        return redirect(url_for("accounts.sign_in"))
    return render_template("accounts/reset_password.html", form=form), 400 if form.errors else 200


@bp.route("/account", methods=["GET", "POST"])
def account():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        services.update_profile(current_user, display_name=form.display_name.data)
        db.session.commit()
        flash("Your public name has been saved.", "success")
        return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form), 400 if form.errors else 200


@bp.route("/organisations/new", methods=["GET", "POST"])
def new_organisation():
    authorize(current_user, Action.CREATE_ORGANISATION)
    form = OrganisationForm()
    if form.validate_on_submit():
        organisation = services.create_organisation(
            actor=current_user, slug=form.slug.data, name=form.name.data, description=form.description.data
        )
        db.session.commit()
        flash(f"{organisation.name} has been created. Add its authors, moderators and admins.", "success")
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
            flash(f"{user.display_name} {'is now' if added else 'was already'} {form.role.data} of {organisation.name}.", "success")
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
    flash("The role has been removed.", "success")
    return redirect(url_for("accounts.members", slug=slug))


__all__ = ["RuleViolation", "bp"]
