"""The section page's cached part for visitors not signed in (issue 22): the section's text and the
page of threads come from ``cache.public_fragment``; what changes them makes a new key, and the
comment form (CSRF token, kept draft, quote) is never part of what is shared."""

from __future__ import annotations

import re

from consult.comments.services import edit_comment, post_comment
from consult.core.models import db
from consult.moderation import services as moderation
from tests.comments.test_comments import consultation  # noqa: F401  (the fixture)
from tests.factories import login, make_user
from tests.proposals.test_page_cache import _statements

PATH = "/c/access/s/fees"


def _threads(client, path: str = PATH, **headers) -> str:
    """The page's list of comments (the cached part's threads)."""
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True).split('<section id="comments"')[1].split("</section>")[0]


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="[^"]+"', page).group(0)


def test_a_new_hidden_or_edited_comment_changes_the_cached_threads(client, consultation, citizen):  # noqa: F811
    assert "No comments yet." in _threads(client)
    comment = post_comment(consultation, actor=citizen, body="Fees should be waived for students.", section_key="fees")
    db.session.commit()
    assert "Fees should be waived for students." in _threads(client)

    edit_comment(comment, actor=citizen, body="Fees should be waived for pupils.")
    db.session.commit()
    assert "Fees should be waived for pupils." in _threads(client).split('class="comment-body"')[1].split("</div>")[0]

    moderator = make_user(role="moderator", organisation=consultation.organisation)
    moderation.act([comment], actor=moderator, action="hide", reason="Off topic.")
    db.session.commit()
    hidden = _threads(client)
    assert "waived for pupils" not in hidden and "This comment is hidden." in hidden


def test_an_author_changing_their_display_name_changes_the_cached_threads(client, consultation, citizen):  # noqa: F811
    post_comment(consultation, actor=citizen, body="Cheaper copies, please.", section_key="fees")
    db.session.commit()
    assert citizen.display_name in _threads(client)
    citizen.display_name = "Renamed Reader"
    db.session.commit()
    assert "Renamed Reader" in _threads(client)


def test_each_page_number_and_language_has_its_own_cached_threads(client, consultation, citizen):  # noqa: F811
    for n in range(21):  # 20 threads a page: the 21st (the oldest) is on page 2
        post_comment(consultation, actor=citizen, body=f"Thread number {n}.", section_key="fees")
    db.session.commit()
    first, second = _threads(client), _threads(client, PATH + "?page=2")
    assert "Thread number 20." in first and "Thread number 20." not in second
    assert "Thread number 0." in second and "Thread number 0." not in first
    assert _threads(client) == first and _threads(client, PATH + "?page=2") == second

    english = _threads(client, **{"Accept-Language": "en"})
    french = _threads(client, **{"Accept-Language": "fr"})
    assert english != french and "21 comments" in english and "21 commentaires" in french


def test_each_text_language_has_its_own_cached_section_text(client, organisation, author):
    from tests.proposals.test_languages import bilingual

    c = bilingual(organisation, author)
    db.session.commit()

    def text(path: str) -> str:
        return client.get(path).get_data(as_text=True).split('class="section-body"')[1].split("</div>")[0].replace("&#39;", "'")

    english, french = text(f"/c/{c.slug}/s/scope"), text(f"/c/{c.slug}/s/scope?text=fr")
    assert "It applies to every department" in english and "Elle s'applique à chaque service" in french
    assert text(f"/c/{c.slug}/s/scope") == english and text(f"/c/{c.slug}/s/scope?text=fr") == french


def test_no_csrf_token_draft_or_quote_of_one_visitor_reaches_another(app, client, consultation, monkeypatch):  # noqa: F811
    client.get(PATH + "?quote=Mine%20alone")
    kept = client.post("/c/access/comments/draft", data={"section_key": "fees", "body": "My private draft."})
    assert kept.status_code == 302
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # the forms carry their tokens
    mine = client.get(PATH).get_data(as_text=True)
    assert "My private draft." in mine
    other = app.test_client()
    theirs = other.get(PATH).get_data(as_text=True)
    assert "My private draft." not in theirs and "Mine alone" not in theirs
    assert _csrf(mine) not in theirs and _csrf(theirs) not in mine
    quoted = other.get(PATH + "?quote=Their%20words").get_data(as_text=True)
    assert "My private draft." not in quoted and _csrf(mine) not in quoted


def test_a_signed_in_readers_page_is_never_the_cached_one(app, client, consultation, citizen):  # noqa: F811
    post_comment(consultation, actor=citizen, body="My own comment.", section_key="fees")
    db.session.commit()
    public = _threads(app.test_client())
    login(client, citizen)
    own = _threads(client)
    assert "/edit" in own and "/edit" not in public
    assert "/edit" not in _threads(app.test_client())


def test_the_cached_page_is_served_again_in_a_few_statements(app, client, consultation, citizen, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    for n in range(5):
        post_comment(consultation, actor=citizen, body=f"Comment {n}.", section_key="fees")
    db.session.commit()
    uncached = _statements(app, client, PATH)
    first = client.get(PATH).get_data(as_text=True)
    cached = _statements(app, client, PATH)
    assert _csrf(first)  # the form is there, rendered for the request
    assert cached <= 6 < uncached


def test_only_the_pages_own_addresses_are_kept_for_everyone(app, client, consultation, citizen):  # noqa: F811
    """Any other query is rendered for the request alone: no one can fill the cache with addresses
    of their own (``?page=9999``, tracking tags), nor put their own arguments in the links the
    next visitors are served."""
    for n in range(21):  # two pages of threads
        post_comment(consultation, actor=citizen, body=f"Thread number {n}.", section_key="fees")
    db.session.commit()
    kept = app.extensions["consult_cache"]._data

    def entries_after(query: str) -> int:
        assert client.get(PATH + query).status_code == 200
        return len(kept)

    shared = entries_after("")
    assert entries_after("?page=2") == shared + 1 and entries_after("?page=1") == shared + 2
    for query in ("?page=3", "?page=9999", "?page=02", "?page=2&page=2", "?utm_source=mail", "?page=2&evil=%22x", "?text=xx"):
        assert entries_after(query) == shared + 2, query
    served = client.get(PATH + "?evil=planted").get_data(as_text=True)
    assert "planted" in served  # its own links keep its arguments...
    assert "planted" not in client.get(PATH).get_data(as_text=True)  # ...which reach no one else
