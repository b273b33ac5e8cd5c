"""Amendments are numbered per consultation, A1, A2, … in the order they are proposed, and
named so on their pages; the old address by id redirects to the numbered one."""

from __future__ import annotations

from consult.amendments import services
from consult.core.models import db
from tests.amendments.test_amendments import TEXT, amend
from tests.factories import login, make_consultation, make_user


def test_numbers_count_per_consultation_in_the_order_of_proposal(organisation, author, citizen):
    first = make_consultation(organisation, author=author, slug="first", text=TEXT)
    second = make_consultation(organisation, author=author, slug="second", text=TEXT)
    a1 = amend(first, citizen, "within 30 days", "within 20 days")
    b1 = amend(second, citizen, "within 30 days", "within 10 days")
    a2 = amend(first, make_user(), "within 30 days", "within 15 days")
    db.session.commit()
    assert [a1.amendment.label, a2.amendment.label, b1.amendment.label] == ["A1", "A2", "A1"]


def test_a_withdrawn_or_deleted_number_is_not_given_again(organisation, author, citizen):
    c = make_consultation(organisation, author=author, slug="again", text=TEXT)
    a1 = amend(c, citizen, "within 30 days", "within 20 days")
    db.session.flush()
    db.session.delete(a1)  # e.g. an erased account's amendments withdrawn entirely
    db.session.flush()
    a2 = amend(c, citizen, "within 30 days", "within 25 days")
    assert a2.amendment.number == 2


def test_the_page_says_the_number_and_the_old_address_redirects(client, organisation, author, citizen):
    c = make_consultation(organisation, author=author, slug="named", text=TEXT)
    amend(c, make_user(), "within 30 days", "within 20 days")
    a = amend(c, citizen, "within 30 days", "within 25 days")
    db.session.commit()

    old = client.get(f"/amendments/{a.id}")
    assert old.status_code == 301 and old.headers["Location"].endswith("/c/named/amendments/A2")
    page = client.get("/c/named/amendments/A2").get_data(as_text=True)
    assert "<h1>Amendment A2 to" in page and "<title>Amendment A2 ·" in page
    assert client.get("/c/named/amendments/A3").status_code == 404
    assert client.get("/c/other/amendments/A2").status_code == 404
    listed = client.get("/c/named/amendments").get_data(as_text=True)
    assert 'href="/c/named/amendments/A1">Amendment A1 to' in listed and 'href="/c/named/amendments/A2">Amendment A2 to' in listed

    login(client, citizen)
    assert client.post(f"/amendments/{a.id}/withdraw").headers["Location"].endswith("/c/named/amendments/A2")


def test_the_api_and_the_next_number_service(client, organisation, author, citizen):
    c = make_consultation(organisation, author=author, slug="api-numbers", text=TEXT)
    a = amend(c, citizen, "within 30 days", "within 20 days")
    db.session.commit()
    data = client.get(f"/api/v1/amendments/{a.id}").get_json()
    assert data["id"] == a.id and data["number"] == 1 and data["label"] == "A1"
    assert data["url"].endswith("/c/api-numbers/amendments/A1")
    assert services.next_amendment_number(c.id) == 2  # taken for good: the next proposal is A3
