"""A page's browser title is plain text: markup a template puts in it is removed (the site
administration page showed raw ``<h2>``), and what a person typed is shown as typed, never run."""

from __future__ import annotations

import html
import re

from werkzeug.routing.converters import NumberConverter

from consult.comments import services as comments
from consult.core.models import db
from tests.factories import login, make_consultation, make_user


def title_of(response) -> str:
    found = re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S)
    assert found, response.request.path
    return found.group(1)


def test_the_site_administration_pages_have_plain_titles(client):
    login(client, make_user(site_admin=True))
    assert title_of(client.get("/account")) == "Your account · Consult"
    assert title_of(client.get("/admin/mail")) == "Mail that could not be sent · Consult"
    assert title_of(client.get("/organisations/new")) == "New organisation · Consult"


def test_no_page_title_holds_markup(app, client, organisation, author):
    admin = make_user(site_admin=True, role="admin", organisation=organisation)
    c = make_consultation(organisation, author=author, slug="titles")
    comment = comments.post_comment(c, actor=make_user(), body="A comment")
    db.session.commit()
    login(client, admin)
    adapter = app.url_map.bind("consult.test")
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint == "static":
            continue
        values = {
            name: comment.id
            if isinstance(rule._converters[name], NumberConverter)
            else (organisation.slug if rule.rule.startswith("/o/") else c.slug)
            for name in rule.arguments
            if name not in (rule.defaults or {})  # a rule's fixed values (the policy pages' kind) fill themselves in
        }
        response = client.get(adapter.build(rule.endpoint, {**(rule.defaults or {}), **values}))
        if response.mimetype != "text/html" or response.status_code in (301, 302, 303):
            continue
        title = title_of(response)
        assert "<" not in title and "&lt;" not in title, (rule.rule, title)
        seen += 1
    assert seen >= 30


def test_typed_words_in_a_title_are_shown_as_typed(client):
    title = title_of(client.get("/search", query_string={"q": "</title><script>alert(1)</script>"}))
    assert "<script>" not in title
    assert html.unescape(title).startswith("Search: </title><script>alert(1)</script>")
