"""The notifications page and the unread count, following, an author's update, the notification
settings page and the one-click unsubscribe link."""

from __future__ import annotations

from flask import Blueprint, abort, flash, has_request_context, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from consult.core.errors import RuleViolation
from consult.core.forms import refuse_invalid, refused_on
from consult.core.links import safe_next
from consult.core.models import db
from consult.core.params import page_number
from consult.core.routing import public
from consult.extensions import POSTING_TOO_FAST, csrf, limiter, limits_off, posting_limit
from consult.notifications import delivery, services
from consult.notifications.forms import BackForm, FollowForm, SettingsForm, UpdateForm
from consult.notifications.messages import describe_all
from consult.notifications.models import Notification
from consult.notifications.wording import describe_follow
from consult.permissions import Action, authorize
from consult.proposals.models import Consultation
from consult.proposals.services import get_visible_consultation

bp = Blueprint("notifications", __name__)

PER_PAGE = 30


@bp.app_context_processor
def notification_helpers():
    """``unread_notifications()`` for the header and ``followed(consultation)`` for the follow
    buttons: each one query, asked only by a page that shows it, once per request."""

    # Kept on the request, not on ``g``: an app context can outlive a request (tests, the CLI).
    cache = request.environ.setdefault("consult.notifications", {}) if has_request_context() else {}

    def unread_notifications() -> int:
        if "unread" not in cache:
            cache["unread"] = services.unread_count(current_user)
        return cache["unread"]

    def followed(consultation: Consultation) -> set[str]:
        if consultation.id not in cache:
            cache[consultation.id] = services.followed_targets(current_user, consultation)
        return cache[consultation.id]

    return {"unread_notifications": unread_notifications, "followed": followed}


def _consultation_or_404(slug: str) -> Consultation:
    return get_visible_consultation(current_user, slug) or abort(404)


@bp.route("/notifications")
def index():
    page = page_number()
    items, more = services.notifications_of(current_user, page=page, per_page=PER_PAGE)
    messages = describe_all([n.event for n in items], current_user)
    return render_template(
        "notifications/index.html",
        notifications=list(zip(items, messages, strict=True)),
        page=page,
        more=more,
    )


@bp.route("/notifications/read", methods=["POST"])
def read_all():
    marked = services.mark_read(current_user)
    db.session.commit()
    if marked:
        flash(ngettext("%(num)d notification marked as read.", "%(num)d notifications marked as read.", marked), "success")
    else:
        flash(_("Nothing was unread."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
def read_one(notification_id: int):
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    services.mark_read(current_user, [notification.id])
    db.session.commit()
    back = BackForm()  # the page of the list the button was on
    back.validate() or refuse_invalid(back)
    return redirect((safe_next(back.next.data) or url_for("notifications.index")) + f"#notification-{notification.id}")


@bp.route("/c/<slug>/follow", methods=["POST"])
def follow_target(slug: str):
    return _follow_or_unfollow(slug, following=True)


@bp.route("/c/<slug>/unfollow", methods=["POST"])
def unfollow_target(slug: str):
    return _follow_or_unfollow(slug, following=False)


#: What a follow button said, in whole sentences: (following now, no longer following).
FOLLOWED = {
    "consultation": (
        _l("You follow this consultation now: you will be told what happens."),
        _l("You no longer follow this consultation."),
    ),
    "section": (_l("You follow this section now: you will be told what happens."), _l("You no longer follow this section.")),
    "contribution": (_l("You follow this now: you will be told what happens."), _l("You no longer follow this.")),
}


def _follow_or_unfollow(slug: str, *, following: bool):
    c = _consultation_or_404(slug)
    form = FollowForm()
    form.validate() or refuse_invalid(form)
    target = form.target.data
    if following:
        services.follow(c, target, actor=current_user)
    else:
        services.unfollow(c, target, actor=current_user)
    db.session.commit()
    now_following, no_longer = FOLLOWED[target.partition(":")[0]]
    flash(str(now_following if following else no_longer), "success")
    return redirect(safe_next(form.next.data) or url_for("proposals.consultation", slug=c.slug))


@bp.route("/c/<slug>/update", methods=["GET", "POST"])
@limiter.limit(posting_limit, error_message=POSTING_TOO_FAST, exempt_when=limits_off, methods=["POST"])
def send_update(slug: str):
    """An author's update to everyone following the consultation."""
    c = _consultation_or_404(slug)
    authorize(current_user, Action.SEND_UPDATE, c)
    form = UpdateForm()
    if form.validate_on_submit():
        try:
            services.send_update(c, actor=current_user, subject=form.subject.data, body=form.body.data)
            db.session.commit()
            flash(_("Your update is sent to everyone following this consultation."), "success")
            return redirect(url_for("notifications.updates", slug=c.slug))
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="body"):
                raise
    return render_template(
        "notifications/send_update.html", consultation=c, form=form, followers=services.follower_count(c)
    ), 400 if form.errors else 200


@bp.route("/c/<slug>/updates")
@public
def updates(slug: str):
    """The updates the organisation sent about a consultation: public, like the consultation."""
    c = _consultation_or_404(slug)
    return render_template("notifications/updates.html", consultation=c, updates=services.updates_of(c))


@bp.route("/account/notifications", methods=["GET", "POST"])
def settings():
    form = SettingsForm()
    if form.validate_on_submit():
        delivery.save_settings(
            current_user, deliveries=form.deliveries(), follow_when_taking_part=form.follow_when_taking_part.data, actor=current_user
        )
        db.session.commit()
        flash(_("Your notification settings have been saved."), "success")
        return redirect(url_for("notifications.settings"))
    if not form.is_submitted():
        deliveries, follows = delivery.settings_of(current_user)
        for kind, chosen in deliveries.items():
            form[kind.value].data = chosen.value
        form.follow_when_taking_part.data = follows
    followed = [(f, describe_follow(f)) for f in services.follows_of(current_user)]
    return render_template("notifications/settings.html", form=form, followed=followed), 400 if form.errors else 200


@bp.route("/account/notifications/follows/<int:follow_id>/unfollow", methods=["POST"])
def unfollow(follow_id: int):
    # (CSRFProtect checks the token of every POST but the unsubscribe link's)
    stopped = delivery.unfollow_by_id(follow_id, actor=current_user)
    db.session.commit()
    said = describe_follow(stopped)
    flash(_("You no longer follow: %(consultation)s, %(title)s.", consultation=said.consultation, title=said.title), "success")
    return redirect(url_for("notifications.settings"))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
@csrf.exempt
def unsubscribe(token: str):
    """RFC 8058: mail clients POST here with no session and no CSRF token; the signed token is
    the proof. A GET (a person following the link) only shows the button, as link checkers and
    mail scanners fetch every link in a message."""
    if request.method == "POST":
        done = delivery.unsubscribe(token)
        db.session.commit()
    else:
        done = delivery.read_unsubscribe_token(token)
    response = render_template("notifications/unsubscribe.html", unsubscription=done, done=request.method == "POST")
    return response, 200, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@bp.route("/unfollow/<token>", methods=["GET", "POST"])
@public
def unfollow_by_link(token: str):
    """The "stop following" link of a message: a signed token, no sign-in. A GET only asks
    (mail scanners fetch links); the form posts with its CSRF token."""
    follow = delivery.follow_of_token(token)
    if request.method == "POST":
        delivery.unfollow_by_link(token)
        db.session.commit()
    response = render_template("notifications/unfollow.html", said=describe_follow(follow), done=request.method == "POST")
    return response, 200, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
