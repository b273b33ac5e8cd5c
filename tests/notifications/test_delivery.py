"""Notifications by mail: at once up to a daily cap, the rest and the digests in one message a
day (or week), never twice, with a text and an HTML part, and a one-click unsubscribe link that
needs no sign-in."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from consult.core.mail import OutgoingMail, queue_mail
from consult.core.models import db, utcnow
from consult.notifications import delivery
from consult.notifications import services as notifications
from consult.notifications.models import Delivery, EventKind, Notification, NotificationPreferences
from tests.factories import login, make_consultation, make_user


@pytest.fixture
def consultation(organisation, author):
    consultation = make_consultation(organisation, author=author, title="Open data policy")
    db.session.commit()  # its opening is told before the tests' followers follow
    return consultation


@pytest.fixture
def follower(consultation):
    person = make_user(name="Fran Follower", email="fran@example.org")
    notifications.follow(consultation, actor=person)
    return person


def mails_to(outbox, address: str) -> list[EmailMessage]:
    parsed = [email.message_from_string(raw, policy=email.policy.default) for raw in outbox.messages()]
    return [m for m in parsed if m["To"] == address]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def update_from(author, consultation, subject: str) -> int | None:
    """An author's message to the followers (mailed at once by default), committed."""
    event_id = notifications.record_event(EventKind.UPDATE, consultation, actor=author, data={"subject": subject, "body": "Details."})
    db.session.commit()  # the fan-out, then the mail, run after the commit (at once in tests)
    return event_id


def waiting(user, kind: Delivery) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.delivery == kind.value, Notification.mailed_at.is_(None)
        )
    )


def backdate_notifications(days: int, minutes: int = 0) -> None:
    for notification in db.session.scalars(select(Notification)):
        notification.created_at -= timedelta(days=days, minutes=minutes)
    db.session.commit()


def test_an_immediate_notification_is_mailed_with_text_html_and_one_click_unsubscribe(outbox, author, consultation, follower):
    update_from(author, consultation, "A hearing on 3 March")

    [message] = mails_to(outbox, follower.email)
    assert message["Subject"] == "Open data policy: A hearing on 3 March"
    assert message.get_content_type() == "multipart/alternative"
    assert "A hearing on 3 March" in text_of(message) and "Details." in text_of(message)
    assert "sent an update on “Open data policy”: A hearing on 3 March" in html_of(message)  # the page's own sentence
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://consult.test/unsubscribe/") and unsubscribe.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "http://consult.test/account/notifications" in text_of(message)  # change what we send you
    assert f'href="http://consult.test/c/{consultation.slug}/updates#update-' in html_of(message)
    assert mails_to(outbox, author.email) == []  # never the person who caused it
    assert waiting(follower, Delivery.IMMEDIATE) == 0


def test_the_daily_cap_holds_and_the_rest_go_in_the_next_digest(app, monkeypatch, outbox, author, consultation, follower):
    cap = 3
    monkeypatch.setitem(app.config, "NOTIFICATIONS_DAILY_CAP", cap)
    for n in range(cap + 3):
        update_from(author, consultation, f"Update number {n}")

    assert [m["Subject"] for m in mails_to(outbox, follower.email)] == [f"Open data policy: Update number {n}" for n in range(cap)]
    assert waiting(follower, Delivery.DAILY) == 3

    delivery.mail_digests(Delivery.DAILY, made_before=utcnow())
    db.session.commit()

    messages = mails_to(outbox, follower.email)
    assert len(messages) == cap + 1
    digest = text_of(messages[-1])
    assert messages[-1]["Subject"] == "Your daily digest: 3 updates"
    assert [n for n in range(cap + 3) if f"Update number {n}" in digest] == [3, 4, 5]
    assert waiting(follower, Delivery.DAILY) == 0


def test_a_digest_gathers_a_days_events_into_one_message_grouped_by_consultation_newest_first(
    organisation, author, outbox, consultation, follower
):
    other = make_consultation(organisation, author=author, title="Parks strategy")
    db.session.commit()  # its opening is told before Fran follows
    notifications.follow(other, actor=follower)
    for kind, about in ((EventKind.OPENED, consultation), (EventKind.CLOSED, other), (EventKind.VERSION_PUBLISHED, consultation)):
        notifications.record_event(kind, about, actor=author)
        db.session.commit()
    assert waiting(follower, Delivery.DAILY) == 3 and mails_to(outbox, follower.email) == []

    backdate_notifications(days=1)
    delivery.mail_due_digests()
    db.session.commit()

    [message] = mails_to(outbox, follower.email)
    assert message["Subject"] == "Your daily digest: 3 updates"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_of(message)
    order = [text.index(s) for s in ("== Open data policy ==", "is published", "is open for comments", "== Parks strategy ==", "is closed")]
    assert order == sorted(order)
    assert "<h2" in html_of(message) and "Parks strategy" in html_of(message)


def test_rerunning_the_digest_jobs_mails_nothing_twice(outbox, author, consultation, follower):
    notifications.set_delivery(follower, EventKind.CLOSED, Delivery.WEEKLY)
    notifications.record_event(EventKind.OPENED, consultation, actor=author)
    notifications.record_event(EventKind.CLOSED, consultation, actor=author)
    db.session.commit()
    backdate_notifications(days=8)  # before the last daily and the last weekly digest

    for _run in range(3):
        delivery.mail_due_digests()
        db.session.commit()
    assert sorted(m["Subject"] for m in mails_to(outbox, follower.email)) == [
        "Your daily digest: 1 update",
        "Your weekly digest: 1 update",
    ]
    assert delivery.mail_digests(Delivery.DAILY, made_before=utcnow()) == 0


def test_what_is_made_after_the_digest_hour_waits_for_the_next_digest(app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFICATIONS_DIGEST_HOUR", 7)
    monkeypatch.setitem(app.config, "NOTIFICATIONS_WEEKLY_DAY", 0)
    wednesday_morning = utcnow().replace(year=2026, month=3, day=4, hour=6, minute=30)
    assert delivery.digest_due_at(Delivery.DAILY, wednesday_morning) == wednesday_morning.replace(
        day=3, hour=7, minute=0, second=0, microsecond=0
    )
    assert delivery.digest_due_at(Delivery.WEEKLY, wednesday_morning) == wednesday_morning.replace(
        day=2, hour=7, minute=0, second=0, microsecond=0
    )
    monday_later = wednesday_morning.replace(day=9, hour=7, minute=1)
    assert delivery.digest_due_at(Delivery.WEEKLY, monday_later) == monday_later.replace(minute=0, second=0, microsecond=0)


def test_an_unconfirmed_address_is_never_mailed(outbox, author, consultation):
    stranger = make_user(name="Not Confirmed", confirmed=False)
    notifications.follow(consultation, actor=stranger)
    update_from(author, consultation, "News")
    assert mails_to(outbox, stranger.email) == []
    assert waiting(stranger, Delivery.OFF) == 1  # on their notifications page, never mailed


def unsubscribe_path(message: EmailMessage) -> str:
    return urlsplit(message["List-Unsubscribe"].strip("<>")).path


def test_a_post_to_the_unsubscribe_link_without_a_session_turns_that_kind_off(
    app, monkeypatch, client, outbox, author, consultation, follower
):
    update_from(author, consultation, "News")
    [message] = mails_to(outbox, follower.email)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # as in production: the route is exempt

    response = client.post(unsubscribe_path(message), data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "You are unsubscribed" in response.get_data(as_text=True)
    assert notifications.delivery_for(follower, EventKind.UPDATE) is Delivery.OFF
    assert notifications.delivery_for(follower, EventKind.OPENED) is Delivery.DAILY  # only that kind
    update_from(author, consultation, "More news")
    assert len(mails_to(outbox, follower.email)) == 1
    assert client.post("/account/notifications", data={}).status_code in (302, 400)  # CSRF still guards the rest


def test_following_the_unsubscribe_link_only_asks(client, outbox, author, consultation, follower):
    update_from(author, consultation, "News")
    [message] = mails_to(outbox, follower.email)
    response = client.get(unsubscribe_path(message))
    assert response.status_code == 200
    assert "<form method=\"post\">" in response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert notifications.delivery_for(follower, EventKind.UPDATE) is Delivery.IMMEDIATE


@pytest.mark.parametrize(
    "tamper", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: t.split(".")[0] + ".x", lambda t: "nonsense"]
)
def test_a_tampered_unsubscribe_token_is_refused_and_changes_nothing(client, follower, tamper):
    token = delivery.unsubscribe_token(follower, EventKind.UPDATE)
    db.session.commit()
    response = client.post(f"/unsubscribe/{tamper(token)}")
    assert response.status_code == 400
    assert client.get(f"/unsubscribe/{tamper(token)}").status_code == 400
    assert notifications.delivery_for(follower, EventKind.UPDATE) is Delivery.IMMEDIATE


def test_a_token_of_another_purpose_is_refused(app, client, follower):
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer(app.config["SECRET_KEY"], salt="consult-confirm").dumps({"user": follower.id, "kind": "update"})
    db.session.commit()
    assert client.post(f"/unsubscribe/{forged}").status_code == 400


def test_the_digests_unsubscribe_link_turns_off_what_the_digest_carries(client, outbox, author, consultation, follower):
    notifications.record_event(EventKind.OPENED, consultation, actor=author)
    db.session.commit()
    delivery.mail_digests(Delivery.DAILY, made_before=utcnow())
    db.session.commit()
    [digest] = mails_to(outbox, follower.email)

    assert client.post(unsubscribe_path(digest)).status_code == 200
    assert notifications.delivery_for(follower, EventKind.OPENED) is Delivery.OFF
    assert notifications.delivery_for(follower, EventKind.UPDATE) is Delivery.IMMEDIATE  # not in any digest


def test_turning_a_kind_off_drops_what_waits_for_the_digest(author, consultation, follower, outbox):
    notifications.record_event(EventKind.OPENED, consultation, actor=author)
    db.session.commit()
    delivery.choose_delivery(follower, EventKind.OPENED, Delivery.OFF)
    delivery.mail_digests(Delivery.DAILY, made_before=utcnow())
    db.session.commit()
    assert mails_to(outbox, follower.email) == []


def settings_form(**changes) -> dict[str, str]:
    data = {kind.value: notifications.DEFAULT_DELIVERY[kind].value for kind in EventKind}
    data["follow_when_taking_part"] = "y"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_settings_page_saves(client, follower):
    login(client, follower)
    page = client.get("/account/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<label class="label" for="reply">' in html and 'id="follow_when_taking_part"' in html

    response = client.post("/account/notifications", data=settings_form(reply="weekly", new_comment="daily", follow_when_taking_part=None))

    assert response.status_code == 302
    assert notifications.delivery_for(follower, EventKind.REPLY) is Delivery.WEEKLY
    assert notifications.delivery_for(follower, EventKind.NEW_COMMENT) is Delivery.DAILY
    prefs = db.session.get(NotificationPreferences, follower.id)
    assert prefs is not None and prefs.follow_when_taking_part is False
    html = client.get("/account/notifications").get_data(as_text=True)
    assert '<option selected value="weekly">' in html


def test_the_settings_page_refuses_an_unknown_choice(client, follower):
    login(client, follower)
    response = client.post("/account/notifications", data=settings_form(reply="hourly"))
    assert response.status_code == 400
    assert notifications.delivery_for(follower, EventKind.REPLY) is Delivery.IMMEDIATE


def test_the_settings_page_lists_what_i_follow_and_unfollows_it(client, consultation, follower):
    other = make_user()
    notifications.follow(consultation, actor=other)
    login(client, follower)
    html = client.get("/account/notifications").get_data(as_text=True)
    assert "Open data policy: The whole consultation" in html
    [follow] = notifications.follows_of(follower)
    [theirs] = notifications.follows_of(other)

    assert client.post(f"/account/notifications/follows/{theirs.id}/unfollow").status_code == 404
    assert client.post(f"/account/notifications/follows/{follow.id}/unfollow").status_code == 302
    assert not notifications.is_following(follower, consultation)
    assert notifications.is_following(other, consultation)


def test_queue_mail_keeps_a_html_part_and_extra_headers_until_sent(outbox):
    mail = queue_mail("nina@example.org", "Hello\nthere", "Plain.", html="<p>Rich.</p>", headers={"List-Unsubscribe": "<http://x/u>"})
    db.session.commit()
    [message] = mails_to(outbox, "nina@example.org")
    assert message["Subject"] == "Hello there"
    assert text_of(message).strip() == "Plain." and html_of(message).strip() == "<p>Rich.</p>"
    assert message["List-Unsubscribe"] == "<http://x/u>"
    sent = db.session.get(OutgoingMail, mail.id, populate_existing=True)
    assert sent.body is None and sent.html_body is None
    with pytest.raises(ValueError):
        queue_mail("nina@example.org", "s", "b", headers={"From": "someone@else"})


def test_mail_is_written_by_jobs_after_the_fan_out_never_by_the_unit_of_work_that_caused_it(
    outbox, author, consultation, follower, queued_jobs
):
    notifications.record_event(EventKind.UPDATE, consultation, actor=author, data={"subject": "News"})
    db.session.commit()
    assert queued_jobs.pending(notifications=True) == ["fan_out"]
    assert db.session.scalar(select(func.count(OutgoingMail.id))) == 0

    queued_jobs.run()  # the fan-out queues the mail job, which queues the delivery

    assert [m["Subject"] for m in mails_to(outbox, follower.email)] == ["Open data policy: News"]


def test_the_sweep_mails_what_a_lost_job_left_behind(outbox, author, consultation, follower):
    from consult.core.signals import notifications_made

    notifications_made.disconnect(delivery._mail_after_fan_out)  # as if the mail job were lost
    try:
        update_from(author, consultation, "News")
    finally:
        notifications_made.connect(delivery._mail_after_fan_out)
    assert mails_to(outbox, follower.email) == []
    delivery.mail_pending_immediately()
    db.session.commit()
    assert mails_to(outbox, follower.email) == []  # too recent: its own job may still be coming
    backdate_notifications(days=0, minutes=5)

    delivery.mail_pending_immediately()
    delivery.mail_pending_immediately()
    db.session.commit()

    assert [m["Subject"] for m in mails_to(outbox, follower.email)] == ["Open data policy: News"]


def test_a_message_about_what_i_follow_has_a_stop_following_link_that_needs_no_sign_in(client, outbox, author, consultation, follower):
    update_from(author, consultation, "News")
    [message] = mails_to(outbox, follower.email)
    [link] = [word for word in text_of(message).split() if "/unfollow/" in word]
    assert f'href="{link}"' in html_of(message)
    path = urlsplit(link).path

    page = client.get(path)
    assert page.status_code == 200 and "Stop following" in page.get_data(as_text=True)
    assert notifications.is_following(follower, consultation)
    assert client.post(path).status_code == 200
    assert not notifications.is_following(follower, consultation)
    assert client.post(path[:-3] + "abc").status_code == 400


def test_a_digest_offers_to_stop_following_each_consultation(outbox, author, consultation, follower):
    notifications.record_event(EventKind.OPENED, consultation, actor=author)
    db.session.commit()
    delivery.mail_digests(Delivery.DAILY, made_before=utcnow())
    db.session.commit()
    [digest] = mails_to(outbox, follower.email)
    assert "Stop following Open data policy: http://consult.test/unfollow/" in text_of(digest)
