"""A signed-out person's comment is kept while they sign up or in (without JavaScript): the
form's POST stores it for their browser and sends them to sign up with the way back; on return
the form holds it; posting it deletes the draft. Nothing is published before they post."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from consult.contributions.models import Contribution, Draft
from consult.core.models import db
from tests.comments.test_comments import consultation  # noqa: F401  (the fixture)
from tests.conftest import login
from tests.factories import make_user

WORDS = "Thirty days is too long for a simple request."


def drafts() -> int:
    return db.session.scalar(select(func.count()).select_from(Draft))


def test_a_signed_out_comment_waits_for_its_author_then_is_posted(client, consultation):  # noqa: F811
    page = client.get("/c/access/s/fees").get_data(as_text=True)
    assert 'action="/c/access/comments/draft#comment-form"' in page

    kept = client.post("/c/access/comments/draft", data={"section_key": "fees", "body": WORDS})
    assert kept.status_code == 302
    location = urlsplit(kept.headers["Location"])
    assert location.path == "/signup" and parse_qs(location.query)["next"] == ["/c/access/s/fees#comment-form"]
    assert drafts() == 1 and db.session.scalar(select(func.count()).select_from(Contribution)) == 0

    # Someone else's browser sees an empty form.
    assert WORDS not in client.application.test_client().get("/c/access/s/fees").get_data(as_text=True)

    login(client, make_user(name="Nina Newcomer"))
    back = html.unescape(client.get("/c/access/s/fees").get_data(as_text=True))
    assert f"{WORDS}</textarea>" in back and "here is what you wrote before signing in" in back
    assert 'action="/c/access/comments#comment-form"' in back

    posted = client.post("/c/access/comments", data={"section_key": "fees", "body": WORDS})
    assert posted.status_code == 302
    assert drafts() == 0
    assert WORDS not in client.get("/c/access/s/fees").get_data(as_text=True).split('id="comment-form"')[1].split("</form>")[0]


def test_an_empty_draft_is_refused_on_its_form_and_nothing_is_kept(client, consultation):  # noqa: F811
    refused = client.post("/c/access/comments/draft", data={"section_key": "fees", "body": ""})
    assert refused.status_code == 400 and "Write something before posting." in refused.get_data(as_text=True)
    assert drafts() == 0
    assert client.post("/c/access/comments/draft", data={"section_key": "nowhere", "body": "x"}).status_code == 400
