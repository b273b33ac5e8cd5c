"""The notification settings page and the one-click unsubscribe link."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from consult.core.models import db
from consult.core.routing import public
from consult.extensions import csrf
from consult.notifications import delivery, services
from consult.notifications.forms import SettingsForm
from consult.notifications.wording import describe_follow

bp = Blueprint("notifications", __name__)


@bp.route("/account/notifications", methods=["GET", "POST"])
def settings():
    form = SettingsForm()
    if form.validate_on_submit():
        delivery.save_settings(
            current_user, deliveries=form.deliveries(), follow_when_taking_part=form.follow_when_taking_part.data, actor=current_user
        )
        db.session.commit()
        flash("Your notification settings have been saved.", "success")
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
    flash(f"You no longer follow: {said.consultation}, {said.title}.", "success")
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
