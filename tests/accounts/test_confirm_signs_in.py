"""A newcomer's confirmation link signs them in, in the browser that signed up, once, and brings
them back to the page they came from (a local ``next`` only); signing in before confirming
offers "Send the link again", which mails a new link and is limited."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from consult.accounts.models import User
from consult.core.models import db
from tests.accounts.test_accounts import NEW_PASSWORD, flashes, is_signed_in, mails_to, sign_in

NINA = "nina@example.org"
BACK = "/c/access/s/fees#comment-form"


def sign_up(client, *, next_url: str | None = None, address: str = NINA):
    data = {"display_name": "Nina Newcomer", "email": address, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "agree": "y"}
    return client.post("/signup", query_string={"next": next_url} if next_url else None, data=data)


def mailed_link(outbox, address: str = NINA, *, last: bool = True) -> tuple[str, str]:
    """The path (with its query) and the code of the newest (or first) confirmation link mailed."""
    messages = mails_to(outbox, address)
    assert messages, "no mail"
    body = (messages[-1] if last else messages[0]).get_content()
    match = re.search(r"https?://[^/\s]+(/confirm(?:\?\S*?)?)#(\S+)", body)
    assert match, body
    return match.group(1), match.group(2)


def test_the_link_signs_in_the_browser_that_signed_up_and_brings_it_back(client, outbox):
    response = sign_up(client, next_url=BACK)
    assert response.status_code == 302
    path, code = mailed_link(outbox)
    assert unquote(urlsplit(path).query) == f"next={BACK}"  # the way back rides in the link (the code stays after "#")
    assert not is_signed_in(client)

    confirmed = client.post(path, data={"code": code})
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"].endswith(BACK)
    assert is_signed_in(client)
    assert db.session.scalar(select(User.confirmed_at).where(User.email == NINA)) is not None


def test_elsewhere_or_a_second_time_the_link_only_confirms(client, app, outbox):
    sign_up(client, next_url=BACK)
    path, code = mailed_link(outbox)

    other_browser = app.test_client()
    confirmed = other_browser.post(path, data={"code": code}, follow_redirects=True)
    assert confirmed.request.path == "/signin"
    assert "Your email address is confirmed. You can sign in now." in flashes(confirmed.get_data(as_text=True))
    assert not is_signed_in(other_browser)

    # The browser that signed up, afterwards: the link has been used, so it signs nobody in.
    again = client.post(path, data={"code": code}, follow_redirects=True)
    assert again.request.path == "/signin" and not is_signed_in(client)


def test_a_foreign_next_never_leaves_the_site(client, outbox):
    sign_up(client, next_url="https://evil.example/steal")
    path, code = mailed_link(outbox)
    assert "evil" not in path  # not carried into the mail

    for foreign in ("https://evil.example", "//evil.example", "/\\evil.example"):
        assert "evil" not in sign_up(client.application.test_client(), next_url=foreign).headers["Location"]
    confirmed = client.post("/confirm", query_string={"next": "https://evil.example"}, data={"code": code})
    assert confirmed.status_code == 302
    location = urlsplit(confirmed.headers["Location"])
    assert location.netloc in ("", "consult.test") and "evil" not in confirmed.headers["Location"]
    assert is_signed_in(client)


def test_signing_in_unconfirmed_offers_to_send_the_link_again(client, outbox):
    sign_up(client, next_url=BACK)
    first_path, first_code = mailed_link(outbox)

    refused = sign_in(client, NINA, NEW_PASSWORD)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "not confirmed yet" in page and ">Send the link again</button>" in page

    again = client.post("/confirm/resend")
    assert again.status_code == 302
    assert len(mails_to(outbox, NINA)) == 2
    path, code = mailed_link(outbox)
    assert code != first_code or path != first_path
    assert client.post(path, data={"code": code}).status_code == 302
    assert is_signed_in(client)


def test_nobody_can_have_a_link_sent_without_the_password(client, outbox):
    sign_up(client)
    refused = sign_in(client, NINA, "not the password at all")
    assert "Send the link again" not in refused.get_data(as_text=True)
    client.post("/confirm/resend")
    assert len(mails_to(outbox, NINA)) == 1


def test_sending_the_link_again_is_limited(client, app, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    address = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"  # a counter of its own
    sign_up(client)
    answers = []
    for _ in range(4):
        sign_in(client, NINA, NEW_PASSWORD, address=address)
        answers.append(client.post("/confirm/resend", environ_base={"REMOTE_ADDR": address}).status_code)
    assert answers == [302, 302, 302, 429]
    assert len(mails_to(outbox, NINA)) == 1 + 3
