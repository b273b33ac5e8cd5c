"""A GET to a button's POST-only address leads to its page, never to "Method not allowed"
(consult/core/action_urls.py). Every POST-only rule of the app is walked, so a new one is
covered as soon as it exists."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing.converters import NumberConverter

from tests.factories import login, make_consultation


def _post_only_rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if "POST" in r.methods and "GET" not in r.methods and not r.rule.startswith("/api/")),
        key=lambda r: r.rule,
    )


def _sample_url(app, rule) -> str:
    values = {name: 1 if isinstance(rule._converters[name], NumberConverter) else "some-slug" for name in rule.arguments}
    adapter = app.url_map.bind("consult.test")
    return adapter.build(rule.endpoint, values, method="POST")


def _answers_get(app, path: str) -> bool:
    try:
        app.url_map.bind("consult.test").match(path, method="GET")
    except HTTPException:
        return False
    return True


def test_there_are_post_only_rules_to_check(app):
    endpoints = {r.endpoint for r in _post_only_rules(app)}
    assert {"amendments.next_version", "moderation.block", "accounts.sign_out"} <= endpoints


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_a_get_to_every_post_only_address_redirects_to_a_page(app, client, citizen, signed_in):
    if signed_in:
        login(client, citizen)
    checked = 0
    for rule in _post_only_rules(app):
        url = _sample_url(app, rule)
        if _answers_get(app, url):
            continue  # the same address is also a page (POST /c/SLUG/statements, GET the list)
        response = client.get(url)
        assert response.status_code == 303, f"GET {url} ({rule.endpoint}) answered {response.status_code}"
        target = urlsplit(response.headers["Location"]).path
        assert target != url and _answers_get(app, target), f"GET {url} went to {target}, which is not a page"
        assert client.head(url).status_code == 303
        checked += 1
    assert checked >= 20


def test_next_version_opened_directly_goes_to_the_consultation(client, author, organisation):
    c = make_consultation(organisation, author=author, state="open")
    login(client, author)
    response = client.get(f"/c/{c.slug}/next-version")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == f"/c/{c.slug}"
    page = client.get(f"/c/{c.slug}/next-version", follow_redirects=True)
    assert page.status_code == 200 and "Method Not Allowed" not in page.get_data(as_text=True)


def test_a_view_can_name_its_page(client, organisation):
    # The moderation queue, not the organisation's public page, is where blocks are made.
    assert urlsplit(client.get(f"/o/{organisation.slug}/block").headers["Location"]).path == f"/o/{organisation.slug}/moderation"
    assert urlsplit(client.get(f"/o/{organisation.slug}/unblock/3").headers["Location"]).path == f"/o/{organisation.slug}/moderation"


def test_signing_out_by_get_signs_nobody_out(client, citizen):
    login(client, citizen)
    assert client.get("/signout").status_code == 303
    assert client.get("/account").status_code == 200  # still signed in


def test_the_api_keeps_its_405(client):
    rules = list(client.application.url_map.iter_rules())
    readable = {r.rule for r in rules if "GET" in r.methods}  # an address with a read and a write answers GET with the read
    for rule in [r for r in rules if r.rule.startswith("/api/") and "GET" not in r.methods and r.rule not in readable]:
        assert client.get(_sample_url(client.application, rule)).status_code == 405


def test_a_post_only_address_still_takes_its_post(client, citizen):
    login(client, citizen)
    assert client.post("/signout").status_code in (302, 303)
    assert client.get("/account").status_code == 302  # signed out: sent to sign in
