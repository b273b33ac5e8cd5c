"""The margin panel's fragment (``comments.section_discussion``): a section's or a highlight's
discussion without the page around it, with the forms and notices the panel shows. The panel
itself (margin.js) is tested in a browser: tests/browser/test_margin.py."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from consult.comments import services
from consult.core.models import db
from consult.moderation import services as moderation
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from tests.factories import login, make_consultation, make_user

TEXT = """## Deadlines

Councils must respond within 30 days of receipt of a request. Small councils may ask for *one* extension.

## Fees

No fee may be charged for the first hour of work.
"""


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="access", title="Access to information", text=TEXT)


def annotate(consultation, who, quote, body, key="deadlines"):
    return services.post_comment(consultation, actor=who, body=body, section_key=key, quote=quote)


def test_the_section_fragment_has_its_threads_and_a_comment_form_without_the_page(client, consultation, citizen):
    first = services.post_comment(consultation, actor=make_user(name="Ann"), body="SECTION-WORDS", section_key="deadlines")
    services.post_comment(consultation, actor=make_user(name="Ben"), body="REPLY-WORDS", parent=first)
    services.post_comment(consultation, actor=make_user(name="Cy"), body="OTHER-SECTION", section_key="fees")
    db.session.commit()
    login(client, citizen)
    response = client.get("/c/access/s/deadlines/discussion")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<html" not in page and "site-header" not in page  # a fragment, not a page
    assert "SECTION-WORDS" in page and "REPLY-WORDS" in page and "OTHER-SECTION" not in page
    assert "2 comments" in page
    assert 'action="/c/access/comments"' in page and 'name="section_key" value="deadlines"' in page
    assert 'name="csrf_token"' in page
    # The reply form the panel opens under a comment, and the reply link it takes over.
    assert 'class="margin-reply-template"' in page and 'name="parent_id"' in page
    assert f'href="/comments/{first.id}/reply"' in page


def test_a_highlight_fragment_shows_only_its_annotations_threads(client, consultation, citizen):
    one = annotate(consultation, make_user(name="Ann"), "within 30 days", "ONE-WORDS")
    two = annotate(consultation, make_user(name="Ben"), "within 30 days", "TWO-WORDS")
    annotate(consultation, make_user(name="Cy"), "one extension", "THREE-WORDS")
    db.session.commit()
    page = client.get(f"/c/access/s/deadlines/discussion?annotation={one.id}&annotation={two.id}").get_data(as_text=True)
    assert "ONE-WORDS" in page and "TWO-WORDS" in page and "THREE-WORDS" not in page
    assert "Comments on the highlighted words" in page
    # "All 3 comments on this section" opens the section's discussion in the panel too.
    assert re.search(r'href="/c/access/s/deadlines#comments" data-discussion="/c/access/s/deadlines/discussion">All 3 comments', page)


def test_the_consultation_page_links_each_highlight_to_its_fragment(client, consultation):
    one = annotate(consultation, make_user(name="Ann"), "within 30 days", "ONE-WORDS")
    two = annotate(consultation, make_user(name="Ben"), "within 30 days", "TWO-WORDS")
    db.session.commit()
    page = client.get("/c/access").get_data(as_text=True)
    link = re.search(r'<a class="annotation-link"[^>]*>', page).group(0)
    assert f'data-annotation="{one.id}"' in link
    discussion = re.search(r'data-discussion="([^"]+)"', link).group(1).replace("&amp;", "&")
    parts = urlsplit(discussion)
    assert parts.path == "/c/access/s/deadlines/discussion"
    assert parse_qs(parts.query) == {"annotation": [str(one.id), str(two.id)]}
    # The section's links open its discussion too; the panel is on the page, hidden until then.
    assert 'data-discussion="/c/access/s/deadlines/discussion"' in page
    assert 'id="margin-panel"' in page and "js/margin.js" in page


def test_the_fragment_fills_in_the_selected_words(client, consultation, citizen):
    login(client, citizen)
    page = client.get("/c/access/s/deadlines/discussion?quote=within+30+days&start=27&end=41").get_data(as_text=True)
    assert '<textarea id="margin-quote" name="quote" rows="2">within 30 days</textarea>' in page
    assert 'name="start" value="27"' in page and 'name="end" value="41"' in page


def test_signed_out_readers_are_asked_to_sign_in_and_come_back(client, consultation):
    annotate(consultation, make_user(name="Ann"), "within 30 days", "ONE-WORDS")
    db.session.commit()
    page = client.get("/c/access/s/deadlines/discussion").get_data(as_text=True)
    assert "ONE-WORDS" in page
    link = re.search(r'<a href="([^"]+)">Sign in to reply</a>', page)
    assert link and parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query) == {"next": ["/c/access#s-deadlines"]}
    assert "<form" not in page and "margin-reply-template" not in page


def test_a_closed_consultation_fragment_offers_no_form(client, consultation, author, citizen):
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    db.session.commit()
    login(client, citizen)
    page = client.get("/c/access/s/deadlines/discussion").get_data(as_text=True)
    assert "This consultation is closed" in page and "<form" not in page


def test_hidden_annotations_stay_hidden_in_the_fragment(client, consultation, moderator, citizen):
    hidden = annotate(consultation, make_user(name="Hal"), "within 30 days", "HIDDEN-WORDS")
    db.session.commit()
    moderation.act([hidden], actor=moderator, action="hide", reason="Rude.")
    db.session.commit()
    page = client.get(f"/c/access/s/deadlines/discussion?annotation={hidden.id}").get_data(as_text=True)
    assert "HIDDEN-WORDS" not in page and "Rude." in page  # a tombstone with the public reason, as in threads


@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("/c/access/s/deadlines/discussion?annotation=x", 400),
        ("/c/access/s/deadlines/discussion?annotation=99999999999", 400),
        ("/c/access/s/deadlines/discussion?annotation=0", 400),
        ("/c/access/s/nowhere/discussion", 404),
        ("/c/nothing/s/deadlines/discussion", 404),
    ],
)
def test_bad_fragment_addresses_are_refused_clearly(client, consultation, address, status):
    assert client.get(address).status_code == status


def test_an_annotation_of_another_consultation_is_not_shown(client, consultation, organisation, author):
    other = make_consultation(organisation, author=author, state="open", slug="other", title="Other", text=TEXT)
    elsewhere = annotate(other, make_user(name="Eve"), "within 30 days", "ELSEWHERE-WORDS")
    db.session.commit()
    page = client.get(f"/c/access/s/deadlines/discussion?annotation={elsewhere.id}").get_data(as_text=True)
    assert "ELSEWHERE-WORDS" not in page
