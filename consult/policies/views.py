"""The site's policy pages (``/terms``, ``/privacy``, ``/accessibility``, ``/cookies``) and their
versions, the site admins' editor (``/admin/policies``), and the ``agree`` sign-in step
(``/agree``), which holds a sign-in back until the person has agreed to the current terms and
privacy notice."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consult.accounts import signin_flow
from consult.accounts.models import User
from consult.core.errors import RuleViolation
from consult.core.forms import refused_on
from consult.core.models import db
from consult.core.routing import public
from consult.permissions import Action, authorize
from consult.policies import (
    retention,  # noqa: F401  (its periodic job)
    services,
)
from consult.policies.forms import SIGNIFICANT, AgreeForm, PolicyForm
from consult.policies.models import PolicyKind

bp = Blueprint("policies", __name__)

#: Whole sentences for each policy (the article changes with its name in other languages).
PUBLISHED = {
    PolicyKind.TERMS: lambda **v: _("Version %(number)s of the terms of use is published.", **v),
    PolicyKind.PRIVACY: lambda **v: _("Version %(number)s of the privacy notice is published.", **v),
    PolicyKind.ACCESSIBILITY: lambda **v: _("Version %(number)s of the accessibility statement is published.", **v),
    PolicyKind.COOKIES: lambda **v: _("Version %(number)s of the cookie notice is published.", **v),
}


def for_each_kind(rule: str, **options):
    """Route ``rule`` (with ``KIND`` in it) once per policy, e.g. ``/terms`` and ``/privacy``:
    fixed addresses, so no other address can reach the view."""

    def register(view):
        for kind in PolicyKind:
            bp.add_url_rule(rule.replace("KIND", kind.value), view_func=view, defaults={"kind": kind.value}, **options)
        return view

    return register


@signin_flow.step("agree", endpoint="policies.agree", order=20)
def needs_agreement(user: User) -> bool:
    """Anyone who has not agreed to the latest significant version of the terms or the privacy notice."""
    return bool(services.policies_to_agree(user))


@for_each_kind("/KIND")
@public
def show(kind: str):
    return render_template("policies/show.html", policy=services.current_policy(PolicyKind(kind)), current=True)


@for_each_kind("/KIND/versions")
@public
def versions(kind: str):
    return render_template("policies/versions.html", kind=PolicyKind(kind), history=services.policy_history(PolicyKind(kind)))


@for_each_kind("/KIND/versions/<int:number>")
@public
def version(kind: str, number: int):
    policy = services.policy_version(PolicyKind(kind), number) or abort(404, _("There is no such version of this policy."))
    current = services.current_policy(PolicyKind(kind))
    return render_template("policies/show.html", policy=policy, current=policy.number == current.number)


@bp.route("/admin/policies")
def admin():
    authorize(current_user, Action.MANAGE_POLICIES)
    return render_template("policies/admin.html", policies=[services.current_policy(kind) for kind in PolicyKind])


@for_each_kind("/admin/policies/KIND/edit", methods=["GET", "POST"])
def edit(kind: str):
    authorize(current_user, Action.MANAGE_POLICIES)
    current = services.current_policy(PolicyKind(kind))
    form = PolicyForm(data={"body": current.body, "based_on": str(current.number)})
    if form.validate_on_submit():
        try:
            saved = services.save_policy(
                current.kind,
                actor=current_user,
                body=form.body.data,
                significant=form.change.data == SIGNIFICANT,
                note=form.note.data or "",
                based_on=int(form.based_on.data) if form.based_on.data else None,
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="body"):
                raise
        else:
            db.session.commit()
            flash(PUBLISHED[current.kind](number=saved.number), "success")
            return redirect(url_for("policies.admin"))
    return render_template("policies/edit.html", policy=current, form=form), 400 if form.errors else 200


@bp.route("/agree", methods=["GET", "POST"])
@public
def agree():
    """The sign-in step: the person agrees to what changed, or cancels the sign-in."""
    user = signin_flow.pending_user()
    if user is None:
        return signin_flow.expired()
    if request.method == "POST" and "decline" in request.form:
        session.pop(signin_flow.PENDING_KEY, None)
        flash(_("You are not signed in. You can still read every consultation."), "success")
        return redirect(url_for("proposals.index"))
    form = AgreeForm()
    if form.validate_on_submit():
        services.record_agreement(user)
        return signin_flow.step_done("agree")
    return render_template("policies/agree.html", form=form, policies=services.policies_to_agree(user)), 400 if form.errors else 200
