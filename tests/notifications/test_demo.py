"""A newcomer who signs in as a demo citizen finds notifications waiting."""

from __future__ import annotations

from sqlalchemy import func, select

from consult.accounts.models import User
from consult.core.models import db
from consult.demo import DEMO_PASSWORD
from consult.notifications import services as notifications
from consult.notifications.models import Event, Notification
from tests.notifications.test_delivery import mails_to, text_of


def test_the_demo_citizens_have_unread_notifications_and_follow_things(app, client):
    assert app.test_cli_runner().invoke(args=["demo", "--quiet"]).exit_code == 0
    response = client.post("/signin", data={"email": "citizen@demo.consult.example", "password": DEMO_PASSWORD})
    assert response.status_code == 302

    page = client.get("/notifications").get_data(as_text=True)
    assert "Alex Author replied to your comment on “5.1 Pilot Program”." in page
    assert "Alex Author answered your amendment A" in page and ": accepted." in page
    assert "sent an update on “Federal Source Code Policy”: A public hearing on the pilot program" in page
    assert "“Federal Source Code Policy: the 2016 round” is concluded: read what came of it." in page
    assert "Unread:" in page
    header = client.get("/").get_data(as_text=True)
    assert '</span><span class="visually-hidden"> unread</span>' in header
    consultation = client.get("/c/federal-source-code-policy").get_data(as_text=True)
    assert 'Following<span class="visually-hidden"> this consultation</span>' in consultation
    assert 'Following<span class="visually-hidden"> the section 5.1 Pilot Program</span>' in consultation

    # every event was fanned out once, to others than its actor
    assert db.session.scalar(select(func.count(Event.id)).where(Event.fanned_out_at.is_(None))) == 0
    assert db.session.scalar(select(func.count(Notification.id)).join(Event).where(Notification.user_id == Event.actor_id)) == 0
    for email in ("citizen@demo.consult.example", "citizen2@demo.consult.example"):
        person = db.session.scalar(select(User).where(User.email == email))
        assert notifications.unread_count(person) >= 3, email


def test_the_demo_mails_each_person_one_digest_of_its_backstory_not_a_message_per_event(app, outbox, queued_jobs):
    assert app.test_cli_runner().invoke(args=["demo", "--quiet"]).exit_code == 0
    queued_jobs.run(notifications=True)  # what `consult worker` finds after the demo's commit: nothing left to mail at once

    [to_chris] = mails_to(outbox, "citizen@demo.consult.example")
    assert to_chris["Subject"].startswith("Your daily digest: ")
    assert "Alex Author replied to your comment on “5.1 Pilot Program”." in text_of(to_chris)
    assert (
        db.session.scalar(select(func.count(Notification.id)).where(Notification.mailed_at.is_(None), Notification.delivery == "immediate"))
        == 0
    )
