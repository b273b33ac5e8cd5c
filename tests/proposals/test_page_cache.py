"""The consultation and amendment pages' cached content (consult/core/cache.py): what changes
it, who shares it, and what a page costs once cached."""

from __future__ import annotations

from sqlalchemy import event

from consult.amendments.services import propose_amendment
from consult.comments.services import post_comment
from consult.core.models import db
from consult.moderation import services as moderation
from consult.voting.services import cast_vote
from tests.factories import login, make_consultation, make_user


def _page(client, c, **headers) -> str:
    response = client.get(f"/c/{c.slug}", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _statements(app, client, path: str) -> int:
    seen = []
    with app.app_context():
        engine = db.engine
    record = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(seen)


def test_the_public_page_is_served_again_in_a_few_statements(app, client):
    c = make_consultation()
    db.session.commit()
    uncached = _statements(app, client, f"/c/{c.slug}")  # the first reader computes it
    first = _page(client, c)
    cached = _statements(app, client, f"/c/{c.slug}")
    assert _page(client, c) == first
    assert cached <= 4 < uncached


def test_a_new_comment_a_hidden_one_and_a_vote_change_the_page(client):
    c = make_consultation()
    citizen = make_user()
    db.session.commit()
    assert "1 comment" not in _page(client, c)
    comment = post_comment(c, actor=citizen, body="Count me in.", section_key="scope")
    db.session.commit()
    assert "1 comment" in _page(client, c)

    moderation.act([comment], actor=make_user(role="moderator", organisation=c.organisation), action="hide", reason="Off topic.")
    db.session.commit()
    assert "1 comment" not in _page(client, c)

    assert "1 support" not in _page(client, c)
    cast_vote(c, actor=citizen, value="support", section_key="scope")
    db.session.commit()
    assert "1 support" in _page(client, c)


def test_a_new_version_and_a_new_title_change_the_page(client):
    from consult.proposals import services as proposals
    from consult.proposals.importing import split_markdown
    from tests.factories import explain_changes, make_organisation

    organisation = make_organisation()
    author = make_user(role="author", organisation=organisation)
    c = make_consultation(organisation, author=author)
    db.session.commit()
    assert "Open data policy" in _page(client, c)
    c.title = "Open data policy, revised"
    db.session.commit()
    assert "Open data policy, revised" in _page(client, c)

    proposals.save_draft_text(c, split_markdown("## Purpose\n\nA sentence of the second version.\n"), actor=author)
    explain_changes(c, author)
    proposals.publish_version(c, actor=author, note="Shorter.")
    db.session.commit()
    assert "A sentence of the second version." in _page(client, c)


def test_each_interface_language_has_its_own_page(client):
    c = make_consultation()
    db.session.commit()
    english = _page(client, c, **{"Accept-Language": "en"})
    french = _page(client, c, **{"Accept-Language": "fr"})
    assert english != french
    assert _page(client, c, **{"Accept-Language": "en"}) == english


def test_a_signed_in_persons_vote_and_tokens_never_reach_the_public_page(app, client):
    c = make_consultation()
    citizen = make_user(name="Priya Private")
    db.session.commit()
    _page(client, c)  # the public page cached first
    cast_vote(c, actor=citizen, value="support", section_key="scope")
    db.session.commit()
    login(client, citizen)
    mine = _page(client, c)
    assert "your vote" in mine and "Priya Private" in mine
    anonymous = app.test_client()
    public = _page(anonymous, c)
    assert "your vote" not in public and "Priya Private" not in public and "csrf_token" not in public
    assert "1 support" in public


def test_the_amendment_page_follows_its_votes_and_its_hiding(client):
    c = make_consultation()
    citizen, voter = make_user(), make_user()
    contribution = propose_amendment(c, actor=citizen, section_key="scope", rationale="Plainer.", proposed_text="It applies to everyone.")
    db.session.commit()
    path = f"/c/{c.slug}/amendments/A{contribution.amendment.number}"
    assert "1 support" not in client.get(path).get_data(as_text=True)
    cast_vote(c, actor=voter, value="support", contribution=contribution)
    db.session.commit()
    assert "1 support" in client.get(path).get_data(as_text=True)
    moderation.act([contribution], actor=make_user(role="moderator", organisation=c.organisation), action="hide", reason="Spam.")
    db.session.commit()
    assert client.get(path).status_code == 404
