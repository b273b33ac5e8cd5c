"""Mail goes through jobs: written as a row with the change that asks for it, delivered by a job
to a real (local) SMTP server, retried with a growing delay, and a failure for good is shown to
the person and to the site admins, never a log line only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from consult.core import mail as mailing
from consult.core.mail import MailStatus, OutgoingMail
from consult.core.models import db, utcnow
from tests.accounts.smtp import SmtpReceiver, closed_port
from tests.accounts.test_accounts import CHECK_INBOX, NEW_PASSWORD, flashes, sign_in, sign_up
from tests.factories import login

NINA = "nina@example.org"


@pytest.fixture
def smtp(app, monkeypatch):
    """Mail to a real SMTP server listening on a local port."""
    with SmtpReceiver() as receiver:
        use_server(app, monkeypatch, receiver.port)
        yield receiver


def use_server(app, monkeypatch, port: int) -> None:
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False, "MAIL_TIMEOUT": 5}.items():
        monkeypatch.setitem(app.config, key, value)


def rows(recipient: str = NINA) -> list[OutgoingMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutgoingMail).where(OutgoingMail.recipient == recipient).order_by(OutgoingMail.id)))


def make_due(message: OutgoingMail) -> None:
    """As if the retry's delay (or a dead worker's lease) had run out."""
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_sign_up_writes_the_mail_with_the_account_and_a_job_delivers_it(client, smtp, queued_jobs):
    response = sign_up(client, email_address=NINA)

    assert response.status_code == 302
    [queued] = rows()
    assert queued.status == MailStatus.QUEUED and queued.attempts == 0
    assert "/confirm#" in queued.body
    assert smtp.received == []  # nothing is sent by the request itself
    assert queued_jobs.pending() == ["deliver_mail"]

    assert queued_jobs.run() >= 1

    [sent] = smtp.received
    assert sent["To"] == NINA and "Confirm" in sent["Subject"]
    assert "/confirm#" in sent.get_content()
    [row] = rows()
    assert (row.status, row.attempts, row.sent_at is not None) == (MailStatus.SENT, 1, True)
    assert row.body is None  # the confirmation code does not stay in the database


def test_a_mail_delivered_twice_is_sent_once(app, client, smtp, queued_jobs):
    sign_up(client, email_address=NINA)
    [row] = rows()

    queued_jobs.run()
    mailing.deliver_mail(row.id)  # a duplicate job, or the sweep racing the first delivery

    assert len(smtp.received) == 1


def test_a_refusing_server_marks_the_mail_failed_and_the_person_can_send_it_again(app, client, smtp, monkeypatch):
    smtp.refuse_with = "550 5.1.1 No such user here"

    response = sign_up(client, email_address=NINA)

    # The page answers as for any sign-up; the mail was stored, refused, and not retried.
    assert response.status_code == 302
    [row] = rows()
    assert (row.status, row.attempts, row.last_error) == (MailStatus.FAILED, 1, "recipient refused (550)")
    assert "No such user" not in row.last_error and NINA not in row.last_error

    refused = sign_in(client, NINA, NEW_PASSWORD)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert f"We could not send mail to {NINA}" in page
    assert "Send the link again" in page

    smtp.refuse_with = None  # the address is fixed on the server's side
    again = client.post("/confirm/resend")
    assert again.status_code == 302
    assert f"We have sent a new confirmation link to {NINA}." in flashes(client.get(again.headers["Location"]).get_data(as_text=True))
    [sent] = smtp.received
    assert "/confirm#" in sent.get_content()
    assert [r.status for r in rows()] == [MailStatus.FAILED, MailStatus.SENT]


def test_the_wrong_password_shows_nothing_about_mail(client, smtp):
    smtp.refuse_with = "550 5.1.1 No such user here"
    sign_up(client, email_address=NINA)

    refused = sign_in(client, NINA, "not the password at all")

    assert refused.status_code == 400
    assert "could not send" not in refused.get_data(as_text=True)
    assert client.post("/confirm/resend").status_code == 302
    assert len(rows()) == 1  # nothing sent again for someone without the password


def test_an_unreachable_server_is_retried_with_a_growing_delay_then_shown_to_site_admins(app, client, queued_jobs, monkeypatch, site_admin):
    use_server(app, monkeypatch, closed_port())
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "MAIL_RETRY_DELAY", 60)

    response = sign_up(client, email_address=NINA)
    assert response.status_code == 302
    assert flashes(client.get(response.headers["Location"]).get_data(as_text=True)) == [CHECK_INBOX]

    delays = []
    for attempt in (1, 2):
        before = utcnow()
        queued_jobs.run()
        [row] = rows()
        assert (row.status, row.attempts, row.last_error) == (MailStatus.QUEUED, attempt, "ConnectionRefusedError")
        delays.append(round((row.next_attempt_at - before).total_seconds() / 60))
        assert queued_jobs.pending() == []  # the retry waits for its time
        make_due(row)
        mailing.retry_queued_mail()  # the periodic sweep finds it due
    assert delays == [1, 2]

    queued_jobs.run()
    [row] = rows()
    assert (row.status, row.attempts) == (MailStatus.FAILED, 3)
    assert row.body is not None  # kept, to send again

    # The site admins see it, without its body, and send it again once the server is back.
    login(client, site_admin)
    assert "Mail that could not be sent" in client.get("/account").get_data(as_text=True)
    page = client.get("/admin/mail")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert NINA in text and "ConnectionRefusedError" in text and "Confirm your Consult account" in text
    assert "/confirm#" not in text and "Welcome" not in text
    with SmtpReceiver() as receiver:
        use_server(app, monkeypatch, receiver.port)
        retried = client.post(f"/admin/mail/{row.id}/retry")
        assert retried.status_code == 302
        queued_jobs.run()
        assert [m["To"] for m in receiver.received] == [NINA]
    [row] = rows()
    assert (row.status, row.body) == (MailStatus.SENT, None)
    assert "Every message has been sent" in client.get("/admin/mail").get_data(as_text=True)


def test_a_worker_killed_while_sending_leaves_the_mail_to_the_sweep(app, client, smtp, queued_jobs):
    sign_up(client, email_address=NINA)
    queued_jobs.huey.flush()  # the delivery job is lost with its worker...
    [row] = rows()
    assert mailing._claim(row.id) is not None  # ...which had taken the message and then died
    db.session.commit()

    mailing.retry_queued_mail()
    assert queued_jobs.pending() == []  # under its lease: maybe still being sent

    make_due(rows()[0])  # the lease runs out
    mailing.retry_queued_mail()
    queued_jobs.run()

    assert [m["To"] for m in smtp.received] == [NINA]
    [row] = rows()
    assert (row.status, row.attempts) == (MailStatus.SENT, 2)


def test_a_reset_mail_that_could_not_be_written_is_not_announced_as_sent(app, client, citizen, monkeypatch):
    """The mail row is part of the request's unit of work: if it cannot be stored, the request
    fails as a whole instead of saying "check your inbox"."""
    db.session.commit()
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    def broken_flush(*args, **kwargs):
        raise RuntimeError("database refused the write")

    monkeypatch.setattr(mailing.db.session, "flush", broken_flush)
    response = client.post("/reset", data={"email": citizen.email})
    monkeypatch.undo()

    assert response.status_code == 500
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == 0


def test_failed_mail_is_for_site_admins_only(client, citizen, org_admin):
    for user in (citizen, org_admin):
        login(client, user)
        assert client.get("/admin/mail").status_code == 403
        assert client.post("/admin/mail/1/retry").status_code == 403
    assert "Mail that could not be sent" not in client.get("/account").get_data(as_text=True)


def test_a_sent_mail_cannot_keep_its_body():
    from sqlalchemy.exc import IntegrityError

    db.session.add(OutgoingMail(recipient=NINA, subject="s", body="code", status=MailStatus.SENT.value))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_failure_reasons_keep_codes_and_never_what_the_server_echoed():
    import smtplib

    refused = smtplib.SMTPRecipientsRefused({NINA: (550, b"5.1.1 <nina@example.org> unknown")})
    assert mailing.describe_failure(refused) == ("recipient refused (550)", True)
    busy = smtplib.SMTPRecipientsRefused({NINA: (451, b"try later")})
    assert mailing.describe_failure(busy) == ("recipient refused (451)", False)
    auth = smtplib.SMTPAuthenticationError(535, b"bad password for user secret")
    reason, permanent = mailing.describe_failure(auth)
    assert (reason, permanent) == ("SMTPAuthenticationError (535)", True)
    assert not re.search("secret|nina", reason)
    assert mailing.describe_failure(TimeoutError()) == ("TimeoutError", False)
