"""The record's row serialisers (``consult.record.rows``) and the API that reuses them: the same
consultation, version and section in both, and a blocked co-supporter in neither."""

from __future__ import annotations

from consult.amendments import services as amendments
from consult.core.models import db
from consult.moderation import services as moderation
from consult.record import rows
from tests.factories import make_user


def test_the_api_and_the_record_serialise_a_consultation_its_versions_and_sections_alike(app, client, open_consultation):
    c = open_consultation
    api = client.get(f"/api/v1/consultations/{c.slug}").get_json()
    with app.test_request_context(base_url="http://consult.test"):
        row = rows.consultation_row(c)
        sections = list(rows.section_rows(c))
        versions = list(rows.version_rows(c))
    assert {k: api[k] for k in ("slug", "title", "summary", "state", "organisation", "current_version", "url")} == {
        k: row[k] for k in ("slug", "title", "summary", "state", "organisation", "current_version", "url")
    }
    assert [(s["key"], s["heading"], s["text"], s["plain_text"]) for s in api["sections"]] == [
        (s["key"], s["heading"], s["body"], s["text"]) for s in sections
    ]
    assert [(v["number"], v["change_note"]) for v in api["versions"]] == [(v["number"], v["change_note"]) for v in versions]
    assert api["opens_at"] == c.opens_at.isoformat()  # the API keeps its ISO times; the record writes ...Z
    assert row["opens_at"].endswith("Z")


def test_a_blocked_co_supporter_is_named_neither_in_the_api_nor_in_the_record(
    app, client, organisation, author, moderator, open_consultation, citizen
):
    c = open_consultation
    proposal = amendments.propose_amendment(
        c, actor=citizen, section_key="scope", rationale="Wider.", quote="every department", replacement="every public body"
    )
    friend, spammer = make_user(name="Fran Friend"), make_user(name="Sam Spammer")
    amendments.co_support(proposal.amendment, actor=friend)
    amendments.co_support(proposal.amendment, actor=spammer)
    db.session.commit()
    assert client.get(f"/api/v1/amendments/{proposal.id}").get_json()["co_supporters"] == ["Fran Friend", "Sam Spammer"]

    moderation.block(organisation, spammer, actor=moderator, reason="Spam.", consultation=c)
    db.session.commit()
    assert client.get(f"/api/v1/amendments/{proposal.id}").get_json()["co_supporters"] == ["Fran Friend"]
    (listed,) = client.get(f"/api/v1/consultations/{c.slug}/amendments").get_json()["amendments"]
    assert listed["co_supporters"] == ["Fran Friend"]
    with app.test_request_context(base_url="http://consult.test"):
        (row,) = [r for r in rows.contribution_rows(c) if r["id"] == proposal.id]
    assert row["amendment"]["co_supporters"] == ["Fran Friend"]
