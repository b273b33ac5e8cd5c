"""Webhooks: a local HTTP server receives signed deliveries of an organisation's events and
checks them (a tampered body or an old time fails); private and loopback addresses are refused
unless the setting allows them; failed deliveries are tried again with backoff and logged; only
the organisation's admins manage them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from consult.amendments import services as amendments
from consult.audit.models import StaffAction, StaffOperation
from consult.core.errors import PermissionDenied, RuleViolation
from consult.core.models import db, utcnow
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from consult.webhooks import addresses, services, signing
from consult.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.conftest import login
from tests.factories import make_consultation, make_user


class Receiver:
    """A local HTTP server that keeps what it is sent and answers with ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/consult"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def events(self) -> list[str]:
        return [json.loads(body)["event"] for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join()


@pytest.fixture
def allow_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)


def test_a_signed_delivery_reaches_the_receiver_and_a_tampered_one_fails(organisation, org_admin, author, receiver, allow_private):
    webhook, secret = services.register(
        organisation, actor=org_admin, url=receiver.url, events=["version.published", "consultation.state_changed"]
    )
    db.session.commit()
    c = make_consultation(organisation, author=author, state="draft", slug="bus-routes")
    db.session.commit()  # the publish's delivery is sent once this commits
    assert receiver.events() == ["version.published"]
    proposals.change_state(c, Transition.OPEN, actor=author)
    db.session.commit()
    assert receiver.events() == ["version.published", "consultation.state_changed"]

    headers, body = receiver.received[0]
    payload = json.loads(body)
    assert payload["consultation"]["slug"] == "bus-routes" and payload["version"]["number"] == 1
    assert headers["Content-Type"] == "application/json" and headers["Consult-Event"] == "version.published"
    assert signing.verify(secret, headers[signing.HEADER], body)
    assert not signing.verify(secret, headers[signing.HEADER], body.replace(b"bus-routes", b"bus-route5"))  # tampered
    assert not signing.verify("whsec_another", headers[signing.HEADER], body)  # another secret
    timestamp = int(headers[signing.HEADER].split(",")[0][2:])
    assert not signing.verify(secret, headers[signing.HEADER], body, now=timestamp + 3600)  # replayed an hour later
    assert not signing.verify(secret, None, body) and not signing.verify(secret, "t=x,v1=y", body)
    deliveries = services.recent_deliveries(webhook)
    assert [d.status for d in deliveries] == [DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED]


def test_an_answer_and_an_outcome_are_events_too(organisation, org_admin, author, receiver, allow_private):
    services.register(organisation, actor=org_admin, url=receiver.url, events=["amendment.answered", "outcome.published"])
    c = make_consultation(organisation, author=author, state="open")
    amendment = amendments.propose_amendment(
        c,
        actor=make_user(),
        section_key="scope",
        rationale="Contractors too.",
        quote="every department",
        replacement="every department and agency",
    )
    db.session.commit()
    amendments.answer_amendment(amendment.amendment, actor=author, decision="out_of_scope", reason="Out of scope.")
    db.session.commit()
    proposals.change_state(c, Transition.CLOSE, actor=author)
    proposals.change_state(c, Transition.CONCLUDE, actor=author)
    db.session.commit()
    assert receiver.events() == ["amendment.answered", "outcome.published"]
    answered = json.loads(receiver.received[0][1])
    assert answered["amendment"]["decision"] == "out_of_scope" and answered["amendment"]["label"] == "A1"


def test_nothing_is_sent_for_a_rolled_back_event_or_another_organisation(organisation, org_admin, author, receiver, allow_private):
    services.register(organisation, actor=org_admin, url=receiver.url, events=["version.published"])
    db.session.commit()
    make_consultation(organisation, author=author, state="draft")
    db.session.rollback()
    make_consultation(state="draft")  # another organisation's
    db.session.commit()
    assert receiver.received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://example.org/hook",
        "https://user:pass@hooks.example.org/",
        "javascript:alert(1)",
        "not a url",
    ],
)
def test_private_and_odd_addresses_are_refused(organisation, org_admin, url):
    with pytest.raises(RuleViolation) as refused:
        services.register(organisation, actor=org_admin, url=url, events=["version.published"])
    assert refused.value.status == 400 and refused.value.field == "url"


def test_a_name_that_resolves_to_a_private_address_is_refused(monkeypatch):
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["93.184.215.14", "10.0.0.7"])
    with pytest.raises(addresses.AddressRefused):
        addresses.check_url("https://hooks.example.org/", resolver=addresses.resolve)
    assert addresses.check_url("https://hooks.example.org/x", resolver=lambda h, p: ["93.184.215.14"]) == "https://hooks.example.org/x"


def test_an_address_that_turned_private_is_not_delivered_to(organisation, org_admin, author, monkeypatch):
    """Registered while public; by the time of sending it resolves to this machine."""
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["93.184.215.14"])
    webhook, _ = services.register(organisation, actor=org_admin, url="https://hooks.example.org/in", events=["version.published"])
    db.session.commit()
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["127.0.0.1"])
    make_consultation(organisation, author=author, state="draft")
    db.session.commit()  # the delivery's job runs now, and refuses the address
    delivery = db.session.query(WebhookDelivery).filter_by(webhook_id=webhook.id).one()
    assert delivery.status == DeliveryStatus.FAILED and "private network" in delivery.error and delivery.response_status is None


def _waited(delivery) -> int:
    return round((delivery.next_attempt_at - delivery.last_attempt_at) / timedelta(minutes=1))


def test_a_failing_receiver_is_tried_again_with_backoff_then_given_up(organisation, org_admin, author, receiver, allow_private):
    receiver.status = 500
    webhook, _ = services.register(organisation, actor=org_admin, url=receiver.url, events=["version.published"])
    make_consultation(organisation, author=author, state="draft")
    db.session.commit()  # tried at once, as the event commits
    delivery = db.session.query(WebhookDelivery).filter_by(webhook_id=webhook.id).one()
    assert (delivery.attempts, delivery.response_status, delivery.error) == (1, 500, "HTTP 500")
    waits = [_waited(delivery)]
    services.deliver(delivery.id)  # too early: the next try is not due yet
    assert delivery.attempts == 1
    while delivery.next_attempt_at is not None:
        delivery.next_attempt_at = utcnow()  # its time has come
        services.deliver(delivery.id)
        if delivery.next_attempt_at is not None:
            waits.append(_waited(delivery))
    assert waits == [1, 5, 30, 120, 480]
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == len(receiver.received) == len(services.BACKOFF) + 1
    # A redirect is a failure, never followed (it could lead to a private address).
    receiver.status = 302
    make_consultation(organisation, author=author, state="draft")
    db.session.commit()
    second = services.recent_deliveries(webhook)[0]
    assert second.error == "HTTP 302" and second.status == DeliveryStatus.PENDING and second.attempts == 1


def test_only_the_organisation_s_admins_manage_webhooks(organisation, org_admin, author, moderator):
    for who in (author, moderator, make_user()):
        with pytest.raises(PermissionDenied):
            services.register(organisation, actor=who, url="https://hooks.example.org/", events=["version.published"])
    other_admin = make_user(role="admin", organisation=make_consultation(state="draft").organisation)
    with pytest.raises(PermissionDenied):
        services.webhooks_of(organisation, actor=other_admin)


def test_the_settings_page(client, organisation, org_admin, receiver, allow_private):
    login(client, org_admin)
    page = client.get(f"/o/{organisation.slug}/webhooks")
    assert page.status_code == 200 and "No webhook yet." in page.get_data(as_text=True)
    response = client.post(f"/o/{organisation.slug}/webhooks", data={"url": receiver.url, "events": ["version.published"]})
    assert response.status_code == 302
    html = client.get(f"/o/{organisation.slug}/webhooks").get_data(as_text=True)
    assert receiver.url in html and "whsec_" in html and "Nothing sent yet." in html
    assert db.session.query(StaffAction).filter_by(operation=StaffOperation.ADD_WEBHOOK).count() == 1
    bad = client.post(f"/o/{organisation.slug}/webhooks", data={"url": receiver.url, "events": ["everything"]})
    assert bad.status_code == 400 and "Choose at least one of the events offered." in bad.get_data(as_text=True)
    webhook_id = services.webhooks_of(organisation, actor=org_admin)[0].id
    assert client.post(f"/o/{organisation.slug}/webhooks/{webhook_id}/remove").status_code == 302
    assert services.webhooks_of(organisation, actor=org_admin) == []
    assert db.session.query(StaffAction).filter_by(operation=StaffOperation.REMOVE_WEBHOOK).count() == 1


def test_a_citizen_cannot_open_the_page(client, organisation, citizen):
    login(client, citizen)
    assert client.get(f"/o/{organisation.slug}/webhooks").status_code == 403
