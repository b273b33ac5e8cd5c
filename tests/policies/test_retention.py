"""Retention: the hourly job removes accounts never confirmed after RETENTION_UNCONFIRMED_DAYS
(unless something was written with them) and drops IP addresses after RETENTION_ADDRESS_DAYS."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from consult.accounts.models import LoginSession, SignInAttempt, User
from consult.contributions.models import Contribution
from consult.core.jobs import DECLARED, enqueue
from consult.core.models import db, utcnow
from consult.policies import retention
from consult.policies.models import PolicyAgreement
from tests.factories import make_consultation, make_user


def aged(user: User, days: float) -> User:
    user.created_at = utcnow() - timedelta(days=days)
    db.session.flush()
    return user


def exists(user_id: int) -> bool:
    return db.session.scalar(select(func.count()).select_from(User).where(User.id == user_id)) == 1


def attempt(days_ago: float, address: str = "203.0.113.9") -> SignInAttempt:
    row = SignInAttempt(email="someone@example.org", address=address, attempted_at=utcnow() - timedelta(days=days_ago))
    db.session.add(row)
    db.session.flush()
    return row


def test_the_job_is_periodic():
    assert DECLARED[retention.apply_retention.job_name].periodic is not None


def test_unconfirmed_accounts_older_than_the_setting_are_removed(app):
    old = aged(make_user(confirmed=False), days=8)
    old_id = old.id
    new = aged(make_user(confirmed=False), days=6)
    confirmed = aged(make_user(confirmed=True), days=400)
    db.session.commit()

    enqueue(retention.apply_retention)  # as the worker runs it (jobs run at once in the tests)
    db.session.expire_all()

    assert not exists(old_id)
    assert db.session.scalar(select(func.count()).select_from(PolicyAgreement).where(PolicyAgreement.user_id == old_id)) == 0
    assert exists(new.id) and exists(confirmed.id)


def test_the_setting_decides_how_old(app, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_UNCONFIRMED_DAYS", 30)
    younger = aged(make_user(confirmed=False), days=8)
    older = aged(make_user(confirmed=False), days=31)

    assert retention.remove_unconfirmed_accounts() == 1
    assert exists(younger.id) and not exists(older.id)


def test_unconfirmed_accounts_that_wrote_something_or_are_imported_or_staff_stay(organisation):
    """A Pol.is import's participants are unconfirmed, with an external id, contributions and votes."""
    consultation = make_consultation(organisation)
    writer = aged(make_user(confirmed=False), days=90)
    db.session.add(Contribution(consultation=consultation, author=writer, version=consultation.current_version, kind="comment", body="Hi"))
    imported = aged(make_user(confirmed=False), days=90)
    imported.external_id = "polis:17"
    member = aged(make_user(confirmed=False, role="author", organisation=organisation), days=90)
    admin = aged(make_user(confirmed=False, site_admin=True), days=90)

    assert retention.remove_unconfirmed_accounts() == 0
    assert all(exists(u.id) for u in (writer, imported, member, admin))


def test_addresses_older_than_the_setting_are_dropped(app):
    old, recent = attempt(days_ago=31), attempt(days_ago=29)
    db.session.commit()

    enqueue(retention.apply_retention)
    db.session.expire_all()

    assert (old.address, recent.address) == ("", "203.0.113.9")
    assert db.session.scalar(select(func.count()).select_from(SignInAttempt)) == 2  # the attempts themselves stay (throttling counts them)


def test_the_address_setting_decides_how_old(app, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_ADDRESS_DAYS", 1)
    two_days, hours = attempt(days_ago=2), attempt(days_ago=0.5)

    assert retention.drop_old_addresses() == 1
    assert (two_days.address, hours.address) == ("", "203.0.113.9")
    assert retention.drop_old_addresses() == 0  # nothing left to drop


def test_login_sessions_addresses_are_dropped_when_sessions_store_one():
    """Sessions gain an ``address`` column with the account pages (another change); until then
    there is nothing to drop, and the job must not fail for it."""
    column = LoginSession.__table__.columns.get("address")
    citizen = make_user()
    session = LoginSession(token_hash="x" * 64, user_id=citizen.id, created_at=utcnow() - timedelta(days=31))
    if column is not None:
        setattr(session, column.key, "198.51.100.7")
    db.session.add(session)
    db.session.flush()

    retention.drop_old_addresses()

    if column is not None:
        db.session.refresh(session)
        assert getattr(session, column.key) in (None, "")


def test_the_apps_logs_carry_no_ip_address(client, citizen, caplog):
    """docs/operations.md promises it: addresses are kept only as long as the setting says, and the
    app's own log lines never hold one (failed sign-ins, refused requests, jobs)."""
    db.session.commit()
    address = {"REMOTE_ADDR": "203.0.113.77"}
    caplog.set_level("DEBUG")

    for _ in range(3):
        client.post("/signin", data={"email": citizen.email, "password": "wrong password"}, environ_base=address)
    client.get("/admin/policies", environ_base=address)
    client.get("/no-such-page", environ_base=address)
    enqueue(retention.apply_retention)

    assert caplog.records  # something was logged, and none of it is the address
    assert "203.0.113.77" not in caplog.text
