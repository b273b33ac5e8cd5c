"""Confirmation and reset codes never travel in a URL's path or query, which access logs, proxies
and Referer headers keep: mailed links carry them in the fragment (never sent by browsers),
and the pages take them only from a posted form."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask import request, request_started
from sqlalchemy import select

from consult.accounts.models import User
from consult.core.models import db
from tests.accounts.test_accounts import NEW_PASSWORD, body_of, confirm, mailed_code, mails, reset, sign_in, sign_up


@pytest.fixture
def requested(app):
    """Every URL the app is asked for during the test, as an access log line would show it."""
    seen: list[str] = []

    def log_line(sender, **_extra) -> None:
        seen.append(request.full_path)

    request_started.connect(log_line, app)
    try:
        yield seen
    finally:
        request_started.disconnect(log_line, app)


def links_in(message) -> list[str]:
    return re.findall(r"https?://\S+", body_of(message))


def test_no_requested_or_mailed_url_carries_a_code(client, citizen, outbox, requested):
    db.session.commit()
    sign_up(client, email_address="nina@example.org")
    confirm_code = mailed_code(mails(outbox)[0], "/confirm")
    assert client.get("/confirm").status_code == 200  # what the mailed link asks for
    assert confirm(client, confirm_code).status_code == 302
    assert sign_in(client, "nina@example.org", NEW_PASSWORD).status_code == 302
    client.post("/signout")

    client.post("/reset", data={"email": citizen.email})
    reset_code = mailed_code(mails(outbox)[-1], "/reset/password")
    assert client.get("/reset/password").status_code == 200
    assert reset(client, reset_code).status_code == 302
    assert sign_in(client, citizen.email, NEW_PASSWORD).status_code == 302

    assert len(requested) >= 8
    for line in requested:
        for code in (confirm_code, reset_code):
            assert code not in line
    for message in mails(outbox):
        for link in links_in(message):
            parts = urlsplit(link)
            for code in (confirm_code, reset_code):
                assert code not in parts.path + "?" + parts.query, link


def test_the_old_code_in_path_addresses_are_gone(client, citizen, outbox):
    db.session.commit()
    sign_up(client, email_address="nina@example.org")
    confirm_code = mailed_code(mails(outbox)[0], "/confirm")
    client.post("/reset", data={"email": citizen.email})
    reset_code = mailed_code(mails(outbox)[-1], "/reset/password")

    assert client.get(f"/confirm/{confirm_code}").status_code == 404
    assert client.post(f"/reset/{reset_code}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    # Nor is a code taken from the query string of the new pages.
    assert client.post(f"/confirm?code={confirm_code}").status_code == 400
    assert client.post(f"/reset/password?code={reset_code}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 400

    nina = db.session.scalar(select(User).where(User.email == "nina@example.org"))
    db.session.refresh(nina)
    assert nina.confirmed_at is None
    assert sign_in(client, citizen.email, NEW_PASSWORD).status_code == 400


def test_the_pages_work_without_scripts_and_load_only_the_sites_own(client):
    for path in ("/confirm", "/reset/password"):
        page = client.get(path).get_data(as_text=True)
        assert re.search(r'<form method="post" action="' + re.escape(path) + '"', page)
        assert 'name="code"' in page  # to paste the code when no script fills it in
        assert "/static/js/code-from-link.js" in page
        assert "<script>" not in page  # the Content-Security-Policy allows no inline script
