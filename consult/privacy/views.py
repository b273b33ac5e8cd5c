"""Download my data (``/account/data``) and delete my account (``/account/delete``), and a site
admin's erasure of someone's account on their request (``/admin/people/ID/erase``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from consult.accounts.models import User
from consult.accounts.signin_flow import SESSION_TOKEN_KEY
from consult.core.errors import RuleViolation
from consult.core.forms import refused_on
from consult.core.models import db
from consult.core.params import whole_number
from consult.permissions import Action, authorize
from consult.privacy import erasure, export
from consult.privacy.forms import DeleteAccountForm, EraseAccountForm, RequestExportForm
from consult.privacy.models import ErasureMode

bp = Blueprint("privacy", __name__)


@bp.route("/account/data", methods=["GET", "POST"])
def data():
    authorize(current_user, Action.EXPORT_DATA, current_user)
    form = RequestExportForm()
    if form.validate_on_submit():
        export.request_export(current_user, actor=current_user)
        db.session.commit()
        flash(_("We are preparing your data. It will be listed here, and you will be told, when it is ready."), "success")
        return redirect(url_for("privacy.data"))
    return render_template("privacy/data.html", form=form, exports=export.exports_of(current_user)), 400 if form.errors else 200


@bp.route("/account/data/<int:export_id>/download")
def download(export_id: int):
    found = export.ready_export(current_user, export_id, actor=current_user) or abort(404)
    item, path = found
    return send_file(
        path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"consult-data-{item.ready_at:%Y-%m-%d}.zip",
        max_age=0,
    )


@bp.route("/account/delete", methods=["GET", "POST"])
def delete_account():
    authorize(current_user, Action.ERASE_ACCOUNT, current_user)
    form = DeleteAccountForm()
    needs_password = erasure.has_password(current_user)
    signed_in_at = erasure.session_started_at(session.get(SESSION_TOKEN_KEY))
    if form.validate_on_submit():
        if not erasure.confirm_identity(
            current_user, password=form.password.data or "", address=request.remote_addr or "", signed_in_at=signed_in_at
        ):
            db.session.commit()  # the failed attempt counts
            form.password.errors.append(
                _("That is not your password.") if needs_password else _("Sign in again, then delete your account within a few minutes.")
            )
        else:
            try:
                erasure.erase_account(current_user, actor=current_user, mode=ErasureMode(form.mode.data))
            except RuleViolation as refused:
                if not refused_on(form, refused, fallback="mode"):
                    raise
            else:
                db.session.commit()
                logout_user()
                session.clear()
                flash(_("Your account has been deleted."), "success")
                return redirect(url_for("proposals.index"))
    return render_template(
        "privacy/delete.html", form=form, needs_password=needs_password, minutes=erasure.fresh_minutes()
    ), 400 if form.errors else 200


@bp.route("/admin/people/<int:user_id>/erase", methods=["GET", "POST"])
def erase_person(user_id: int):
    person = db.session.get(User, user_id) or abort(404)
    authorize(current_user, Action.ERASE_ACCOUNT, person)
    if person.id == current_user.id:
        return redirect(url_for("privacy.delete_account"))
    form = EraseAccountForm()
    if form.validate_on_submit():
        try:
            done = erasure.erase_account(person, actor=current_user, mode=ErasureMode(form.mode.data), reason=form.reason.data)
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="reason"):
                raise
        else:
            db.session.commit()
            flash(_("The account has been erased. It appears as “%(pseudonym)s” in the erasures log.", pseudonym=done.pseudonym), "success")
            return redirect(url_for("privacy.erasures"))
    return render_template("privacy/erase.html", form=form, person=person, already=erasure.erasure_of(person)), 400 if form.errors else 200


@bp.route("/admin/erasures")
def erasures():
    """The log, and a way to the erasure page of an account by its number (``/people/N``)."""
    log = erasure.erasures_log(actor=current_user)
    if "person" in request.args:
        number = whole_number(request.args.get("person"), low=1)
        if number is None:
            abort(400, _("The account number is a whole number, as in the address of the person's page (/people/N)."))
        return redirect(url_for("privacy.erase_person", user_id=number))
    return render_template("privacy/erasures.html", erasures=log)
