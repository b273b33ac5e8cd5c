"""Two workers mailing at once (issue 15): each notification is mailed at most once and a person's
daily cap holds across both, on a SQLite file and on a scratch PostgreSQL database (where the
people's rows are locked while their counts are read: ``delivery.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.core.mail import OutgoingMail
from consult.core.models import db
from consult.notifications import delivery
from consult.notifications import services as notifications
from consult.notifications.models import Delivery, EventKind, Notification
from tests.factories import make_consultation, make_organisation, make_user
from tests.scratch import KINDS, scratch_app, together

CAP = 3
EVENTS = 8
WORKERS = 4


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction: the workers race on committed data in their own database."""
    yield


@pytest.mark.parametrize("kind", KINDS)
def test_workers_mailing_at_once_mail_each_notification_once_within_the_cap(kind, tmp_path):
    with scratch_app(kind, tmp_path, NOTIFICATIONS_DAILY_CAP=CAP, JOBS_IMMEDIATE=False) as app:
        with app.app_context():
            council = make_organisation()
            author = make_user(role="author", organisation=council)
            consultation = make_consultation(council, author=author)
            reader = make_user()
            notifications.follow(consultation, actor=reader)
            for n in range(EVENTS):
                event_id = notifications.record_event(
                    EventKind.UPDATE, consultation, actor=author, data={"subject": f"News {n}", "body": "."}
                )
                notifications.fan_out(event_id)
            db.session.commit()
            ids = list(db.session.scalars(select(Notification.id).where(Notification.user_id == reader.id)))
            email = reader.email
        assert len(ids) == EVENTS

        def worker(mine):
            with app.app_context():
                try:
                    sent = delivery.mail_notifications(mine)
                    db.session.commit()
                    return sent
                finally:
                    db.session.remove()

        # as the jobs of different events do: each worker mails other notifications of the same person
        results = together([lambda n=n: worker(ids[n::WORKERS]) for n in range(WORKERS)])

        for result in results:
            assert not isinstance(result, BaseException), repr(result)
        with app.app_context():
            messages = db.session.scalar(select(func.count(OutgoingMail.id)).where(OutgoingMail.recipient == email))
            mailed = db.session.scalar(select(func.count(Notification.id)).where(Notification.mailed_at.is_not(None)))
            folded = db.session.scalar(select(func.count(Notification.id)).where(Notification.delivery == Delivery.DAILY.value))
        assert sum(results) == messages == mailed == CAP  # never a notification twice, never past the cap
        assert folded == EVENTS - CAP  # the rest wait for the digest
