"""Share previews: Open Graph and Twitter-card tags on every public page kind, the preview image
(a PNG of 1200×630 drawn with the shipped font), its cache key, and nothing for what the
public may not see."""

import io
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from PIL import Image

from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.moderation import services as moderation
from consult.sharing import previews
from consult.sharing.drawing import Card, _font, draw_card, wrap
from consult.voting import services as voting
from tests.conftest import login
from tests.factories import make_consultation, make_user

BASE = "http://consult.test"


class Head(HTMLParser):
    """The ``<meta>`` and ``<link>`` tags of a page."""

    def __init__(self):
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            self.meta[attrs.get("property") or attrs["name"]] = attrs.get("content", "")
        elif tag == "link":
            self.links.append(attrs)


def head_of(html: str) -> Head:
    head = Head()
    head.feed(html)
    return head


@pytest.fixture
def story(organisation, author, moderator):
    """An open consultation with a comment, a reply and an amendment, concluded later by tests that need an outcome."""
    c = make_consultation(organisation, author=author, state="open", slug="open-data", title="Open data policy")
    citizen = make_user(name="Casey Citizen")
    comment = comments.post_comment(c, actor=citizen, body="Please publish **bus** timetables.", section_key="purpose")
    amendment = amendments.propose_amendment(
        c,
        actor=citizen,
        section_key="scope",
        rationale="Contractors too.",
        quote="every department",
        replacement="every department and agency",
    )
    return c, comment, amendment, citizen


def pages(story):
    c, comment, amendment, _ = story
    return {
        "consultation": f"/c/{c.slug}",
        "section": f"/c/{c.slug}/s/purpose",
        "amendment": f"/c/{amendment.consultation.slug}/amendments/A{amendment.amendment.number}",
        "comment": f"/comments/{comment.id}/share",
        "opinion map": f"/c/{c.slug}/opinion-map",
    }


def check_tags(client, path: str) -> Head:
    response = client.get(path)
    assert response.status_code == 200, path
    head = head_of(response.get_data(as_text=True))
    meta = head.meta
    for name in (
        "og:title",
        "og:description",
        "og:url",
        "og:site_name",
        "og:locale",
        "og:image",
        "og:type",
        "twitter:card",
        "twitter:image",
    ):
        assert meta.get(name), f"{path}: {name} missing"
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:site_name"] == "Consult" and meta["og:locale"] == "en_GB"
    assert (meta["og:image:width"], meta["og:image:height"]) == ("1200", "630")
    for name in ("og:url", "og:image", "twitter:image"):
        parts = urlsplit(meta[name])
        assert (parts.scheme, parts.netloc) == ("http", "consult.test"), f"{path}: {name} is not absolute on the site's address"
    assert urlsplit(meta["og:url"]).path == path
    canonical = [link["href"] for link in head.links if link.get("rel") == "canonical"]
    assert canonical == [meta["og:url"]]
    return head


def fetch_image(client, url: str) -> Image.Image:
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert (image.format, image.size) == ("PNG", (1200, 630))
    return image


def test_every_page_kind_has_tags_and_an_image(client, story, author):
    c, *_ = story
    shown = {}
    for kind, path in pages(story).items():
        meta = check_tags(client, path).meta
        fetch_image(client, meta["og:image"])
        shown[kind] = meta["og:image"]
    assert len(set(shown.values())) == len(shown)  # an image per page
    # The outcome page, once public.
    from consult.proposals import services as proposals
    from consult.proposals.models import Transition

    proposals.change_state(c, Transition.CLOSE, actor=author)
    proposals.change_state(c, Transition.CONCLUDE, actor=author)
    meta = check_tags(client, f"/c/{c.slug}/outcome").meta
    fetch_image(client, meta["og:image"])
    assert meta["og:title"] == "Outcome: Open data policy"


def test_tags_use_the_site_address_never_the_host_header(client, story):
    c, *_ = story
    html = client.get(f"/c/{c.slug}", headers={"Host": "evil.example"}, base_url="http://evil.example").get_data(as_text=True)
    meta = head_of(html).meta
    assert meta["og:url"] == f"{BASE}/c/{c.slug}" and meta["og:image"].startswith(f"{BASE}/c/{c.slug}/preview/")
    assert "evil.example" not in meta["og:image"]


def test_the_tags_say_what_the_page_is(client, story):
    c, comment, amendment, _ = story
    meta = head_of(client.get(f"/c/{amendment.consultation.slug}/amendments/A{amendment.amendment.number}").get_data(as_text=True)).meta
    assert meta["og:title"] == f"Amendment {amendment.amendment.label} to “Scope” · Open data policy"
    assert meta["og:description"] == "Contractors too."
    meta = head_of(client.get(f"/comments/{comment.id}/share").get_data(as_text=True)).meta
    assert meta["og:title"] == "Comment by Casey Citizen · Open data policy"
    assert meta["og:description"] == "Please publish bus timetables."  # plain text, no Markdown


def test_the_amendment_image_changes_with_its_tally_and_the_old_address_never_serves_the_old_image(client, story):
    c, _, amendment, _ = story
    before = head_of(client.get(f"/c/{amendment.consultation.slug}/amendments/A{amendment.amendment.number}").get_data(as_text=True)).meta[
        "og:image"
    ]
    old_png = client.get(urlsplit(before).path).data
    voting.cast_vote(c, actor=make_user(), value="support", contribution=amendment)
    after = head_of(client.get(f"/c/{amendment.consultation.slug}/amendments/A{amendment.amendment.number}").get_data(as_text=True)).meta[
        "og:image"
    ]
    assert after != before
    new_png = fetch_image(client, after)
    assert client.get(urlsplit(after).path).data != old_png
    stale = client.get(urlsplit(before).path)
    assert stale.status_code == 302 and stale.headers["Location"].endswith(urlsplit(after).path)
    assert new_png.size == (1200, 630)


def test_the_image_changes_with_the_state(client, story, author):
    from consult.proposals import services as proposals
    from consult.proposals.models import Transition

    c, *_ = story
    before = head_of(client.get(f"/c/{c.slug}").get_data(as_text=True)).meta["og:image"]
    proposals.change_state(c, Transition.CLOSE, actor=author)
    after = head_of(client.get(f"/c/{c.slug}").get_data(as_text=True)).meta["og:image"]
    assert after != before
    assert client.get(urlsplit(before).path).status_code == 302
    assert client.get(urlsplit(after).path).data != client.get(urlsplit(before).path, follow_redirects=False).data


def test_images_are_cached_as_files_named_by_what_they_show(app, client, story, instance_path):
    c, *_ = story
    preview = previews.consultation_preview(c.slug)
    folder = instance_path / "previews"
    for old in folder.glob("*.png") if folder.exists() else []:
        old.unlink()
    client.get(urlsplit(preview.image_url).path)
    files = sorted(p.name for p in folder.glob("consultation-*.png"))
    assert len(files) == 1 and files[0].endswith(f"-{preview.digest}.png")
    c.title = "Open data policy, revised"
    newer = previews.consultation_preview(c.slug)
    client.get(urlsplit(newer.image_url).path)
    assert [p.name for p in folder.glob("consultation-*.png")] == [files[0].replace(preview.digest, newer.digest)]  # the older one removed


def test_a_hidden_amendment_has_no_tags_and_no_image(client, story, moderator):
    c, comment, amendment, _ = story
    image = head_of(client.get(f"/c/{amendment.consultation.slug}/amendments/A{amendment.amendment.number}").get_data(as_text=True)).meta[
        "og:image"
    ]
    comment_image = head_of(client.get(f"/comments/{comment.id}/share").get_data(as_text=True)).meta["og:image"]
    moderation.act([amendment, comment], actor=moderator, action="hide", reason="Off topic")
    assert client.get(urlsplit(image).path).status_code == 404
    assert client.get(urlsplit(comment_image).path).status_code == 404
    gone = client.get(f"/c/{amendment.consultation.slug}/amendments/A{amendment.amendment.number}")
    assert gone.status_code == 404 and "og:" not in gone.get_data(as_text=True)  # an error page has no preview


def test_a_pending_amendment_is_shown_to_its_author_without_a_preview(client, story):
    c, *_ = story
    c.moderation_mode = "pre"
    newcomer = make_user(name="Nia Newcomer")
    pending = amendments.propose_amendment(
        c, actor=newcomer, section_key="purpose", rationale="Say why.", quote="publishes", replacement="releases"
    )
    assert pending.is_pending
    login(client, newcomer)
    response = client.get(f"/c/{pending.consultation.slug}/amendments/A{pending.amendment.number}")
    assert response.status_code == 200  # they read it while it waits for a moderator…
    html = response.get_data(as_text=True)
    assert "og:" not in html and 'rel="canonical"' not in html and "share-url" not in html  # …but nothing to share
    assert previews.amendment_preview(pending.id) is None


def test_a_draft_has_no_preview_even_for_its_author(client, draft_consultation, author):
    login(client, author)
    html = client.get(f"/c/{draft_consultation.slug}").get_data(as_text=True)
    assert "og:title" not in html and "Secret draft plan" in html
    assert previews.consultation_preview(draft_consultation.slug) is None
    assert client.get(f"/c/{draft_consultation.slug}/preview/0123456789abcdef0123.png").status_code == 404


def test_share_links_are_plain_links_and_the_address_is_in_a_read_only_field(client, story):
    c, *_ = story
    html = client.get(f"/c/{c.slug}").get_data(as_text=True)
    assert 'href="mailto:?subject=Open%20data%20policy&amp;body=http%3A%2F%2Fconsult.test%2Fc%2Fopen-data"' in html
    assert "https://www.facebook.com/sharer/sharer.php?u=http%3A%2F%2Fconsult.test%2Fc%2Fopen-data" in html
    assert f'<input id="share-url" type="text" readonly value="{BASE}/c/{c.slug}">' in html
    assert "<iframe" not in html and "connect.facebook" not in html and "platform.twitter" not in html


def test_each_comment_links_to_its_share_page(client, story):
    c, comment, *_ = story
    html = client.get(f"/c/{c.slug}/s/purpose").get_data(as_text=True)
    assert f'href="/comments/{comment.id}/share"' in html
    page = client.get(f"/comments/{comment.id}/share").get_data(as_text=True)
    assert "bus</strong> timetables" in page and f'href="/comments/{comment.id}"' in page


def test_an_amendment_has_no_comment_page(client, story):
    _, _, amendment, _ = story
    assert client.get(f"/comments/{amendment.id}/share").status_code == 404


def test_long_titles_are_wrapped_within_the_image():
    font = _font(True, 58)
    lines = wrap("A " + "very " * 60 + "long title", font, 1056, 4)
    assert len(lines) == 4 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 1056 for line in lines)
    assert wrap("x" * 300, font, 1056, 4)[0]  # one unbreakable word is cut, not drawn off the image
    image = Image.open(io.BytesIO(draw_card(Card("Consultation", "Title " * 40, "Org", "Open", "3 days left", ""))))
    assert image.size == (1200, 630)


def test_a_call_to_action_has_tags_and_an_image_that_changes_with_its_progress(client, story, organisation, author):
    """Issue 20: a call is shared with a preview card showing how far it is towards its goal."""
    from datetime import timedelta

    from consult.core.models import db, utcnow
    from consult.groups import calls

    c, _, amendment, citizen = story
    call = calls.publish_call(
        c,
        actor=author,
        publisher=organisation,
        kind="support",
        amendment=amendment.amendment.label,
        title="Support the contractors amendment",
        body="Every **agency** too.",
        goal=10,
        deadline=utcnow() + timedelta(days=4),
    )
    db.session.commit()
    meta = check_tags(client, f"/calls/{call.id}").meta
    assert meta["og:title"] == "Support the contractors amendment · Open data policy"
    before = meta["og:image"]
    fetch_image(client, before)
    assert previews.call_preview(call.id).card.tally == "0 of 10"
    voting.cast_vote(c, actor=make_user(name="Supporter"), value="support", contribution=amendment)
    db.session.commit()
    after = check_tags(client, f"/calls/{call.id}").meta["og:image"]
    assert after != before and previews.call_preview(call.id).card.tally == "1 of 10"
    assert client.get(urlsplit(before).path).status_code == 302  # the old address leads to the current image
