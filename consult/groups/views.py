"""Group pages: the list, a group's page, starting and running a group, joining and leaving."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consult.accounts.forms import EmptyForm
from consult.accounts.models import User
from consult.core.errors import RuleViolation
from consult.core.forms import refuse_invalid, refused_on
from consult.core.models import db
from consult.core.routing import public
from consult.groups import activity, calls, drafts, services
from consult.groups.forms import AttachForm, GroupForm, RemoveForm, RoleForm, SearchForm
from consult.groups.models import Group
from consult.permissions import Action, authorize, can

bp = Blueprint("groups", __name__)


def _group_or_404(slug: str) -> Group:
    group = services.group_by_slug(slug) or abort(404)
    authorize(current_user, Action.VIEW_GROUP, group)
    return group


def _managed_group_or_404(slug: str) -> Group:
    group = _group_or_404(slug)
    authorize(current_user, Action.MANAGE_GROUP, group)
    return group


def _person_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


def _buttons_form() -> None:
    EmptyForm().validate_on_submit() or abort(
        400, _("This form was not sent from this site or has expired. Go back, reload the page and try again.")
    )


def _page_of(group: Group):
    return redirect(url_for("groups.page", slug=group.slug))


@bp.route("/groups")
@public
def index():
    form = SearchForm(request.args)
    search = form.q.data if form.validate() else ""
    viewer = current_user if current_user.is_authenticated else None
    mine = services.groups_of(current_user) if viewer is not None else []
    return render_template(
        "groups/index.html", form=form, groups=services.list_groups(viewer, search=search or ""), mine=mine, search=search
    )


def _group_form_page(form: GroupForm, *, parent: Group | None = None):
    if form.validate_on_submit():
        try:
            group = services.create_group(
                actor=current_user, name=form.name.data, description=form.description.data, visibility=form.visibility.data, parent=parent
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="name"):
                raise
        else:
            db.session.commit()
            flash(_("Your group “%(name)s” is started: invite people with its link.", name=group.name), "success")
            return _page_of(group)
    return render_template("groups/new.html", form=form, parent=parent), 400 if form.errors else 200


@bp.route("/groups/new", methods=["GET", "POST"])
def new():
    authorize(current_user, Action.CREATE_GROUP)
    return _group_form_page(GroupForm())


@bp.route("/g/<slug>/chapters/new", methods=["GET", "POST"])
def new_chapter(slug: str):
    parent = _managed_group_or_404(slug)
    authorize(current_user, Action.CREATE_GROUP)
    return _group_form_page(GroupForm(), parent=parent)


@bp.route("/g/<slug>")
@public
def page(slug: str):
    group = _group_or_404(slug)
    viewer = current_user if current_user.is_authenticated else None
    if group.is_hidden and not can(viewer, Action.VIEW_GROUP_MEMBERS, group):
        return render_template("groups/hidden.html", group=group)
    shows_members = can(viewer, Action.VIEW_GROUP_MEMBERS, group)
    context = {
        "group": group,
        "role": services.group_role(viewer, group),
        "member_count": services.member_count(group),
        "members": services.members(group, viewer=viewer) if shows_members else [],
        "chapters": services.chapters(group, viewer),
        "parent": group.parent
        if group.parent is not None and (not group.parent.is_hidden or can(viewer, Action.MODERATE_GROUPS))
        else None,
        "attachable": services.attachable_chapters(group, actor=viewer) if viewer is not None else [],
        "attach_form": AttachForm(),
    }
    context["attach_form"].chapter.choices = [(g.slug, g.name) for g in context["attachable"]]
    for panel in (activity.group_panel(group, viewer), drafts.group_panel(group, viewer), calls.group_panel(group, viewer)):
        context.update(panel)
    return render_template("groups/page.html", **context)


@bp.route("/g/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    group = _managed_group_or_404(slug)
    form = GroupForm(obj=group)
    if form.validate_on_submit():
        try:
            services.edit_group(
                group, actor=current_user, name=form.name.data, description=form.description.data, visibility=form.visibility.data
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="name"):
                raise
        else:
            db.session.commit()
            flash(_("The group's details are saved."), "success")
            return _page_of(group)
    return render_template("groups/edit.html", group=group, form=form), 400 if form.errors else 200


@bp.route("/g/<slug>/members")
@public
def members(slug: str):
    group = _group_or_404(slug)
    viewer = current_user if current_user.is_authenticated else None
    memberships = services.members(group, viewer=viewer)
    manages = can(viewer, Action.MANAGE_GROUP, group)
    return render_template(
        "groups/members.html",
        group=group,
        memberships=memberships,
        manages=manages,
        blocks=services.blocked_people(group, actor=viewer) if manages else [],
        role_form=RoleForm(),
        remove_form=RemoveForm(),
    )


@bp.route("/g/<slug>/join", methods=["POST"])
def join(slug: str):
    group = _group_or_404(slug)
    _buttons_form()
    services.join_group(group, actor=current_user)
    db.session.commit()
    flash(_("You are a member of “%(name)s”.", name=group.name), "success")
    return _page_of(group)


@bp.route("/g/<slug>/join/<code>", methods=["GET", "POST"])
def join_by_invitation(slug: str, code: str):
    group = _group_or_404(slug)
    if not services.invitation_is_valid(group, code):
        abort(404, _("This invitation link does not work any more: ask the group's coordinators for a new one."))
    if request.method == "POST":
        _buttons_form()
        services.join_by_invitation(group, code, actor=current_user)
        db.session.commit()
        flash(_("You are a member of “%(name)s”.", name=group.name), "success")
        return _page_of(group)
    return render_template("groups/invitation.html", group=group, code=code, role=services.group_role(current_user, group))


@bp.route("/g/<slug>/leave", methods=["POST"])
def leave(slug: str):
    group = _group_or_404(slug)
    _buttons_form()
    services.leave_group(group, actor=current_user)
    db.session.commit()
    flash(_("You left “%(name)s”. Signatures you gave stay until you withdraw them.", name=group.name), "success")
    return _page_of(group)


@bp.route("/g/<slug>/members/<int:user_id>/role", methods=["POST"])
def change_role(slug: str, user_id: int):
    group = _managed_group_or_404(slug)
    person = _person_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        refuse_invalid(form)
    services.set_role(group, person, form.role.data, actor=current_user)
    db.session.commit()
    flash(_("%(name)s's role is changed.", name=person.display_name), "success")
    return redirect(url_for("groups.members", slug=group.slug))


@bp.route("/g/<slug>/members/<int:user_id>/remove", methods=["POST"])
def remove(slug: str, user_id: int):
    group = _managed_group_or_404(slug)
    person = _person_or_404(user_id)
    form = RemoveForm()
    if not form.validate_on_submit():
        refuse_invalid(form)
    services.remove_member(group, person, actor=current_user, block=form.block.data, reason=form.reason.data or "")
    db.session.commit()
    flash(_("%(name)s is no longer a member.", name=person.display_name), "success")
    return redirect(url_for("groups.members", slug=group.slug))


@bp.route("/g/<slug>/blocks/<int:user_id>/remove", methods=["POST"])
def unblock(slug: str, user_id: int):
    group = _managed_group_or_404(slug)
    person = _person_or_404(user_id)
    _buttons_form()
    services.unblock(group, person, actor=current_user)
    db.session.commit()
    flash(_("%(name)s may join the group again.", name=person.display_name), "success")
    return redirect(url_for("groups.members", slug=group.slug))


@bp.route("/g/<slug>/invitation", methods=["POST"])
def new_invitation(slug: str):
    group = _managed_group_or_404(slug)
    _buttons_form()
    services.new_invitation_link(group, actor=current_user)
    db.session.commit()
    flash(_("The group has a new invitation link: the old one no longer works."), "success")
    return redirect(url_for("groups.page", slug=group.slug, _anchor="invitation"))


@bp.route("/g/<slug>/chapters", methods=["POST"])
def attach(slug: str):
    parent = _managed_group_or_404(slug)
    form = AttachForm()
    form.chapter.choices = [(g.slug, g.name) for g in services.attachable_chapters(parent, actor=current_user)]
    if not form.validate_on_submit():
        refuse_invalid(form)
    chapter = services.group_by_slug(form.chapter.data) or abort(404)
    services.attach_chapter(chapter, parent, actor=current_user)
    db.session.commit()
    flash(_("“%(chapter)s” is now a chapter of “%(parent)s”.", chapter=chapter.name, parent=parent.name), "success")
    return _page_of(parent)


@bp.route("/g/<slug>/detach", methods=["POST"])
def detach(slug: str):
    chapter = _group_or_404(slug)
    parent = chapter.parent or abort(404)
    _buttons_form()
    services.detach_chapter(chapter, actor=current_user)
    db.session.commit()
    flash(_("“%(chapter)s” is no longer a chapter of “%(parent)s”.", chapter=chapter.name, parent=parent.name), "success")
    return _page_of(parent)
