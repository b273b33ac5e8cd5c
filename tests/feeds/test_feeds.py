"""Atom feeds and the sitemap: valid Atom (feedparser, the namespace and the required elements),
stable tag: ids, absolute links on the site's address, and never a draft, hidden, withdrawn,
deleted or erased thing, whoever asks."""

from xml.etree import ElementTree as ET

import feedparser
import pytest

from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.core.models import db
from consult.moderation import services as moderation
from consult.privacy.erasure import erase_account
from consult.privacy.models import ErasureMode
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from tests.conftest import login
from tests.factories import make_consultation, make_user

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def story(organisation, author, draft_consultation):
    c = make_consultation(organisation, author=author, state="open", slug="open-data", title="Open data policy")
    citizen = make_user(name="Casey Citizen")
    shown = comments.post_comment(c, actor=citizen, body="Publish the bus timetables.", section_key="purpose")
    hidden = comments.post_comment(c, actor=citizen, body="HIDDEN-COMMENT-WORDS", section_key="purpose")
    amendment = amendments.propose_amendment(
        c,
        actor=citizen,
        section_key="scope",
        rationale="Agencies too.",
        quote="every department",
        replacement="every department and agency",
    )
    withdrawn = amendments.propose_amendment(
        c, actor=citizen, section_key="purpose", rationale="WITHDRAWN-WORDS", quote="publishes", replacement="releases"
    )
    amendments.withdraw_amendment(withdrawn.amendment, actor=citizen)
    amendments.answer_amendment(amendment.amendment, actor=author, decision="accepted", reason="Agreed: **agencies** too.")
    return {
        "c": c,
        "citizen": citizen,
        "shown": shown,
        "hidden": hidden,
        "amendment": amendment,
        "withdrawn": withdrawn,
        "draft": draft_consultation,
    }


def parse(client, path: str, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, path
    assert response.mimetype == "application/atom+xml"
    body = response.data
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    root = ET.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None, required
    assert root.find(f"{ATOM}link[@rel='self']").get("href").startswith("http://consult.test/")
    for entry in root.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "author"):
            assert entry.find(f"{ATOM}{required}") is not None, required
        assert entry.find(f"{ATOM}id").text.startswith("tag:consult.test,")
        assert entry.find(f"{ATOM}author/{ATOM}name").text
        assert entry.find(f"{ATOM}link").get("href").startswith("http://consult.test/")
    return feed, body.decode()


def feeds_of(story):
    return ["/feeds/consultations.atom", "/o/council/feed.atom", "/c/open-data/feed.atom", f"/people/{story['citizen'].id}/feed.atom"]


def test_the_consultations_feed_lists_public_consultations_only(client, story):
    feed, body = parse(client, "/feeds/consultations.atom")
    assert [e.link for e in feed.entries] == ["http://consult.test/c/open-data"]
    assert "Secret draft plan" not in body
    assert feed.entries[0].author == "Riverside Council"
    feed, _ = parse(client, "/o/council/feed.atom")
    assert [e.title for e in feed.entries] == ["Open data policy (open)"]
    assert client.get("/o/nobody/feed.atom").status_code == 404


def test_a_consultation_feed_tells_versions_amendments_answers_and_the_outcome(client, story, author):
    c, amendment = story["c"], story["amendment"]
    proposals.change_state(c, Transition.CLOSE, actor=author)
    proposals.change_state(c, Transition.CONCLUDE, actor=author)
    feed, body = parse(client, "/c/open-data/feed.atom")
    titles = {e.title for e in feed.entries}
    assert {
        "Version 1 published",
        f"New amendment {amendment.id} to “Scope”",
        f"Amendment {amendment.id} answered: Accepted",
        "Outcome published: you said, we did",
    } <= titles
    by_title = {e.title: e for e in feed.entries}
    assert by_title[f"New amendment {amendment.id} to “Scope”"].author == "Casey Citizen"
    assert by_title[f"Amendment {amendment.id} answered: Accepted"].author == "Riverside Council"
    assert by_title["Outcome published: you said, we did"].link == "http://consult.test/c/open-data/outcome"
    assert len({e.id for e in feed.entries}) == len(feed.entries)
    assert "WITHDRAWN-WORDS" not in body and f"amendment {story['withdrawn'].id}" not in body.lower()


def test_entry_ids_are_stable(client, story, author):
    first, _ = parse(client, "/c/open-data/feed.atom")
    answer_id = next(e.id for e in first.entries if "answered" in e.title)
    amendments.answer_amendment(story["amendment"].amendment, actor=author, decision="accepted_in_part", reason="Some agencies.")
    second, _ = parse(client, "/c/open-data/feed.atom")
    revised = next(e for e in second.entries if "answered" in e.title)
    assert revised.id == answer_id and revised.title.endswith("Accepted in part")  # the same entry, updated
    assert {e.id for e in first.entries} == {e.id for e in second.entries}


def test_a_person_feed_shows_their_public_contributions(client, story):
    feed, body = parse(client, f"/people/{story['citizen'].id}/feed.atom")
    assert "Publish the bus timetables." in body
    assert all(e.author == "Casey Citizen" for e in feed.entries)
    assert {e.link for e in feed.entries} >= {
        f"http://consult.test/comments/{story['shown'].id}",
        f"http://consult.test/amendments/{story['amendment'].id}",
    }
    assert "WITHDRAWN-WORDS" not in body


def test_a_draft_has_no_feed_even_for_its_author(client, story, author):
    login(client, author)
    assert client.get("/c/secret-draft/feed.atom").status_code == 404
    for path in feeds_of(story):
        assert "Secret draft plan" not in parse(client, path)[1]
    assert "secret-draft" not in client.get("/sitemap.xml").get_data(as_text=True)


def test_hidden_content_is_in_no_feed_and_not_in_the_sitemap(client, story, moderator):
    before = "".join(parse(client, path)[1] for path in feeds_of(story))
    assert "HIDDEN-COMMENT-WORDS" in before  # it was there while visible: the test can fail
    moderation.act([story["hidden"], story["amendment"]], actor=moderator, action="hide", reason="Off topic")
    for path in feeds_of(story):
        _, body = parse(client, path)
        assert "HIDDEN-COMMENT-WORDS" not in body and "Agencies too." not in body
        assert f"/amendments/{story['amendment'].id}<" not in body and f"/amendments/{story['amendment'].id}\"" not in body
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    assert f"/amendments/{story['amendment'].id}<" not in sitemap


def test_an_erased_person_is_gone_from_the_feeds(client, story):
    citizen = story["citizen"]
    person_id = citizen.id
    erase_account(citizen, actor=citizen, mode=ErasureMode.WITHDRAW)
    db.session.commit()
    db.session.expire_all()  # as the next request's session: nothing read before the erasure
    assert client.get(f"/people/{person_id}/feed.atom").status_code == 404
    for path in feeds_of(story)[:3]:
        _, body = parse(client, path)
        assert "Casey Citizen" not in body and "Publish the bus timetables." not in body and "Agencies too." not in body


def test_the_sitemap_lists_public_pages(client, story, author):
    c = story["c"]
    proposals.change_state(c, Transition.CLOSE, actor=author)
    proposals.change_state(c, Transition.CONCLUDE, actor=author)
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{SITEMAP}urlset"
    locations = [u.find(f"{SITEMAP}loc").text for u in root.findall(f"{SITEMAP}url")]
    assert len(locations) == len(set(locations))
    expected = {
        "http://consult.test/c/open-data",
        "http://consult.test/c/open-data/v/1",
        "http://consult.test/c/open-data/s/purpose",
        "http://consult.test/c/open-data/s/scope",
        f"http://consult.test/amendments/{story['amendment'].id}",
        "http://consult.test/c/open-data/outcome",
    }
    assert expected <= set(locations)
    assert f"http://consult.test/amendments/{story['withdrawn'].id}" not in locations
    assert not any("secret-draft" in loc for loc in locations)


def test_robots_txt_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "Sitemap: http://consult.test/sitemap.xml" in response.get_data(as_text=True)


def test_pages_name_their_feeds(client, story):
    def alternates(path):
        html = client.get(path).get_data(as_text=True)
        return [line for line in html.splitlines() if 'type="application/atom+xml"' in line]

    assert any('href="http://consult.test/c/open-data/feed.atom"' in line for line in alternates("/c/open-data"))
    assert any('href="http://consult.test/c/open-data/feed.atom"' in line for line in alternates("/c/open-data/amendments"))
    assert any('href="http://consult.test/o/council/feed.atom"' in line for line in alternates("/o/council"))
    assert any(
        f'href="http://consult.test/people/{story["citizen"].id}/feed.atom"' in line
        for line in alternates(f"/people/{story['citizen'].id}")
    )
    assert any('href="http://consult.test/feeds/consultations.atom"' in line for line in alternates("/"))
    assert not any("secret-draft" in line for line in alternates("/"))
