"""Embeds: the framed views of a consultation, a section, an amendment and a statement, the only
pages another site may frame; what the public may not see has none; oEmbed answers and the
discovery link."""

from __future__ import annotations

import re

import pytest

from consult import create_app
from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.core.models import db
from consult.moderation import services as moderation
from consult.voting import services as voting
from consult.voting import statements
from tests.conftest import login
from tests.factories import make_consultation, make_user

BASE = "http://consult.test"


@pytest.fixture
def story(organisation, author, moderator):
    c = make_consultation(organisation, author=author, state="open", slug="open-data", title="Open data policy")
    citizen = make_user(name="Casey Citizen")
    comments.post_comment(c, actor=citizen, body="Please publish bus timetables.", section_key="purpose")
    comments.post_comment(c, actor=make_user(), body="And the trains.", section_key="purpose")
    amendment = amendments.propose_amendment(
        c,
        actor=citizen,
        section_key="scope",
        rationale="Contractors too.",
        quote="every department",
        replacement="every department and agency",
    )
    voting.cast_vote(c, actor=make_user(), value="support", contribution=amendment)
    statement = statements.post_statement(c, actor=moderator, body="Timetables should be open data.")
    db.session.commit()
    return c, amendment, statement


def embed_paths(story) -> dict[str, str]:
    c, amendment, statement = story
    return {
        "consultation": f"/c/{c.slug}/embed",
        "section": f"/c/{c.slug}/s/purpose/embed",
        "amendment": f"/c/{c.slug}/amendments/A{amendment.amendment.number}/embed",
        "statement": f"/c/{c.slug}/statements/{statement.id}/embed",
    }


@pytest.mark.parametrize("kind", ["consultation", "section", "amendment", "statement"])
def test_an_embed_may_be_framed_by_any_site(client, story, kind):
    response = client.get(embed_paths(story)[kind])
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy and "frame-ancestors 'none'" not in policy
    assert "X-Frame-Options" not in response.headers
    html = response.get_data(as_text=True)
    assert "<form" not in html, "an embed holds no form: taking part happens on Consult"
    for link in re.findall(r"<a [^>]*>", html):
        assert 'target="_blank"' in link and 'rel="noopener"' in link, link


def test_every_other_page_refuses_to_be_framed(client, story):
    c, _, _ = story
    for path in ("/", f"/c/{c.slug}", f"/c/{c.slug}/s/purpose", "/oembed?url=x"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_what_the_embeds_show(client, story):
    paths = embed_paths(story)
    section = client.get(paths["section"]).get_data(as_text=True)
    assert "2 comments" in section and "Have your say" in section
    assert 'href="http://consult.test/c/open-data/s/purpose"' in section
    amendment = client.get(paths["amendment"]).get_data(as_text=True)
    assert "Support: 1 · Oppose: 0 · Abstain: 0" in amendment and "Vote on Consult" in amendment
    consultation = client.get(paths["consultation"]).get_data(as_text=True)
    assert "2 comments · 1 amendment" in consultation and "30 days left" in consultation
    statement = client.get(paths["statement"]).get_data(as_text=True)
    assert "Timetables should be open data." in statement and "Agree" in statement


def test_the_allow_list_setting(tmp_path, story):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "sqlite://",
            "SECRET_KEY": "x",
            "EMBED_FRAME_ANCESTORS": "https://council.example  https://*.gov.example",
        }
    )
    assert app.config["EMBED_FRAME_ANCESTORS"] == "https://council.example https://*.gov.example"
    for wrong in ("'self' 'unsafe-inline'", "javascript:alert(1)", "", "https://a.example; script-src *"):
        with pytest.raises(RuntimeError, match="EMBED_FRAME_ANCESTORS"):
            create_app(
                {
                    "TESTING": True,
                    "INSTANCE_PATH": str(tmp_path),
                    "DATABASE_URL": "sqlite://",
                    "SECRET_KEY": "x",
                    "EMBED_FRAME_ANCESTORS": wrong,
                }
            )


def test_nothing_the_public_may_not_see(client, story, organisation, author, moderator):
    c, amendment, statement = story
    draft = make_consultation(organisation, author=author, state="draft", slug="secret-draft")
    moderation.moderate_item(amendment, actor=moderator, action="hide", reason="Off topic")
    moderation.moderate_item(statement, actor=moderator, action="hide", reason="Off topic")
    db.session.commit()
    login(client, moderator)  # even signed in as someone who may see them: an embed shows what the public sees
    paths = embed_paths(story)
    assert client.get(paths["amendment"]).status_code == 404
    assert client.get(paths["statement"]).status_code == 404
    assert client.get(f"/c/{draft.slug}/embed").status_code == 404
    assert client.get(f"/c/{c.slug}/s/no-such-section/embed").status_code == 404


def test_oembed(client, story):
    c, amendment, _ = story
    response = client.get("/oembed", query_string={"url": f"{BASE}/c/{c.slug}/s/purpose", "maxwidth": "400"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["version"] == "1.0" and data["type"] == "rich" and data["width"] == 400
    assert f'src="{BASE}/c/{c.slug}/s/purpose/embed"' in data["html"] and data["html"].startswith("<iframe ")
    number = amendment.amendment.number
    data = client.get("/oembed", query_string={"url": f"{BASE}/c/{c.slug}/amendments/A{number}"}).get_json()
    assert f"/c/{c.slug}/amendments/A{number}/embed" in data["html"] and data["title"].startswith(f"Amendment A{number}")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({}, 400),
        ({"url": "https://elsewhere.example/c/open-data"}, 404),
        ({"url": f"{BASE}/signin"}, 404),
        ({"url": f"{BASE}/c/nope"}, 404),
        ({"url": f"{BASE}/c/open-data", "format": "xml"}, 501),
        ({"url": f"{BASE}/c/open-data", "maxwidth": "wide"}, 400),
        ({"url": "javascript:alert(1)"}, 404),
    ],
)
def test_oembed_refusals(client, story, query, status):
    response = client.get("/oembed", query_string=query)
    assert response.status_code == status
    assert response.status_code != 500


def test_pages_with_an_embed_say_so(client, story):
    c, _, _ = story
    html = client.get(f"/c/{c.slug}").get_data(as_text=True)
    link = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)">', html)
    assert link and "url=http://consult.test/c/open-data&amp;format=json" in link.group(1)
    assert "json+oembed" not in client.get("/").get_data(as_text=True)
