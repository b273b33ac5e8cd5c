"""My contributions (issue 15, point 4): everything a person wrote with what became of it, and
the public statuses on their person page, computed by ``consult.mine`` in a fixed number of
queries."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event

from consult import mine
from consult.accounts.models import User
from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.models import db, utcnow
from consult.moderation import services as moderation
from consult.proposals import services as proposals
from consult.proposals.models import Consultation, Transition
from consult.voting.statements import post_statement
from tests.factories import login, make_consultation, make_organisation, make_user

TEXT = """## Deadlines

Councils must respond within 30 days of receipt of a request. Small councils may ask for *one* extension.

## Fees

No fee may be charged for the first hour of work.
"""

# Version 2: the accepted amendment (20 days) applied, and the passage on extensions dropped.
TEXT_2 = """## Deadlines

Councils must respond within 20 days of receipt of a request.

## Fees

No fee may be charged for the first hour of work.
"""


@dataclass
class Story:
    """A consultation taken to its conclusion, with one contribution of Casey's in each status."""

    consultation: Consultation
    casey: User
    plain: Contribution  # a comment, published
    reply: Contribution
    hidden: Contribution  # hidden, with the moderator's public reason
    deleted: Contribution  # deleted by Casey; a tombstone keeps the reply to it
    kept: Contribution  # an annotation whose words are unchanged in version 2
    orphaned: Contribution  # an annotation whose words version 2 dropped
    accepted: Contribution  # an amendment accepted, incorporated into version 2, cited there and in a summary
    rejected: Contribution  # an amendment not accepted, with the reason
    withdrawn: Contribution
    statement: Contribution
    pending: Contribution  # in a pre-moderated consultation of another organisation


def tell_the_story(organisation, author, moderator, citizen, *, conclude: bool = True) -> Story:
    c = make_consultation(organisation, author=author, state="open", slug="access", title="Access to information", text=TEXT)
    other = make_user(name="Olu Other")
    plain = comments.post_comment(c, actor=citizen, body="A fair policy overall.")
    hidden = comments.post_comment(c, actor=citizen, body="My neighbour at 12 High Street ignores requests.", section_key="fees")
    deleted = comments.post_comment(c, actor=citizen, body="Second thoughts.", section_key="fees")
    comments.post_comment(c, actor=other, body="Why?", parent=deleted)
    reply = comments.post_comment(c, actor=citizen, body="Because the fees add up.", parent=plain)
    kept = comments.post_comment(c, actor=citizen, body="Still fine.", section_key="fees", quote="first hour")
    orphaned = comments.post_comment(c, actor=citizen, body="Why only one?", section_key="deadlines", quote="may ask for one extension")
    accepted = amendments.propose_amendment(
        c, actor=citizen, section_key="deadlines", rationale="Faster.", quote="within 30 days", replacement="within 20 days"
    )
    rejected = amendments.propose_amendment(
        c, actor=citizen, section_key="fees", rationale="Free.", quote="the first hour", replacement="any hour"
    )
    withdrawn = amendments.propose_amendment(
        c, actor=citizen, section_key="fees", rationale="Oops.", quote="the first hour", replacement="two hours"
    )
    statement = post_statement(c, actor=citizen, body="Deadlines should be short.")
    moderation.act([hidden], actor=moderator, action="hide", reason="It gives a private address.")
    comments.delete_comment(deleted, actor=citizen)
    amendments.withdraw_amendment(withdrawn.amendment, actor=citizen)

    proposals.change_state(c, Transition.CLOSE, actor=author)
    amendments.answer_amendment(accepted.amendment, actor=author, decision="accepted", reason="Twenty days is enough.")
    amendments.answer_amendment(rejected.amendment, actor=author, decision="not_accepted", reason="Fees pay for the service.")
    amendments.start_next_version(c, actor=author)
    proposals.write_markdown(c, TEXT_2, actor=author)
    proposals.publish_version(c, actor=author, note="Faster answers, no extensions.")
    theme = moderation.create_theme(c, actor=moderator, name="Speed")
    moderation.write_summary(c, actor=moderator, theme=theme, summary=f"Many asked for faster answers [#{accepted.id}].")
    if conclude:
        proposals.change_state(c, Transition.CONCLUDE, actor=author)

    pre = make_consultation(make_organisation(), state="open", slug="pre-moderated", title="Parks")
    pre.moderation_mode = "pre"
    pending = comments.post_comment(pre, actor=citizen, body="More benches.")
    db.session.commit()
    return Story(c, citizen, plain, reply, hidden, deleted, kept, orphaned, accepted, rejected, withdrawn, statement, pending)


@pytest.fixture
def story(organisation, author, moderator, citizen) -> Story:
    return tell_the_story(organisation, author, moderator, citizen)


def lines_by_id(lines: list[mine.ContributionLine]) -> dict[int, mine.ContributionLine]:
    return {line.contribution.id: line for line in lines}


def names(line: mine.ContributionLine) -> list[str]:
    return [s.name for s in line.statuses]


def text_of(line: mine.ContributionLine, name: str) -> str:
    return next(s.text for s in line.statuses if s.name == name)


def test_every_status_is_on_the_right_contribution_for_its_author(story):
    page = mine.my_contributions(story.casey, page=1, per_page=50)
    lines = lines_by_id(page.lines)
    assert len(lines) == 11  # everything Casey wrote, deleted and hidden and waiting included
    assert names(lines[story.plain.id]) == ["published"]
    assert names(lines[story.reply.id]) == ["published"]
    assert lines[story.reply.id].kind == mine.Kind.REPLY
    assert names(lines[story.hidden.id]) == ["hidden"] and lines[story.hidden.id].state.reason == "It gives a private address."
    assert names(lines[story.deleted.id]) == ["deleted"] and lines[story.deleted.id].state.text == "Deleted by you"
    assert names(lines[story.pending.id]) == ["pending"] and lines[story.pending.id].state.text == "Waiting for a moderator"
    assert lines[story.orphaned.id].kind == mine.Kind.ANNOTATION
    assert names(lines[story.orphaned.id]) == ["published", "anchor-orphaned"]
    assert text_of(lines[story.orphaned.id], "anchor-orphaned") == "The passage it quotes is no longer in version 2"
    assert names(lines[story.kept.id]) == ["published", "anchor-anchored"]
    accepted = lines[story.accepted.id]
    assert names(accepted) == ["published", "answered", "incorporated", "cited-in-summary", "cited-in-version"]
    assert text_of(accepted, "answered") == "Answered: accepted"
    assert next(s.reason for s in accepted.statuses if s.name == "answered") == "Twenty days is enough."
    assert text_of(accepted, "incorporated") == "Incorporated into version 2"
    assert text_of(accepted, "cited-in-summary") == "Cited in the summary of the theme “Speed”"
    assert text_of(accepted, "cited-in-version") == "Cited for the change to “Deadlines” in version 2"
    rejected = lines[story.rejected.id]
    assert names(rejected) == ["published", "answered"] and text_of(rejected, "answered") == "Answered: not accepted"
    assert rejected.outcomes[0].reason == "Fees pay for the service."
    assert names(lines[story.withdrawn.id]) == ["published", "withdrawn"]
    assert lines[story.statement.id].kind == mine.Kind.STATEMENT and names(lines[story.statement.id]) == ["published"]
    # newest first
    assert [line.contribution.id for line in page.lines] == sorted(lines, key=lambda i: (lines[i].contribution.created_at, i), reverse=True)


def test_the_page_shows_each_status_beside_its_contribution(client, story):
    login(client, story.casey)
    html = client.get("/me/contributions").get_data(as_text=True)

    def item(contribution: Contribution) -> str:
        return html[html.index(f'id="line-{contribution.id}"') :].split("</li>\n  <li", 1)[0].split("</article>")[0]

    assert "Hidden by a moderator" in item(story.hidden) and "It gives a private address." in item(story.hidden)
    assert "Waiting for a moderator" in item(story.pending)
    assert "Deleted by you" in item(story.deleted)
    accepted = item(story.accepted)
    assert "Answered: accepted" in accepted and "Twenty days is enough." in accepted
    assert '<a href="/c/access/diff?from=1&amp;to=2">Incorporated into version 2</a>' in accepted
    assert '<a href="/c/access/outcome">Cited in the summary of the theme “Speed”</a>' in accepted
    assert "The passage it quotes is no longer in version 2" in item(story.orphaned)
    assert f'href="/comments/{story.plain.id}"' in item(story.plain)
    assert 'href="/c/access"' in item(story.hidden) or f'href="/comments/{story.hidden.id}"' in item(story.hidden)


def test_another_persons_page_never_shows_a_private_status(app, story):
    visitor = make_user(name="Vic Visitor")
    for who in (None, visitor, story.casey):  # the public page is the same for its owner
        client = app.test_client()
        if who is not None:
            login(client, who)
        html = client.get(f"/people/{story.casey.id}").get_data(as_text=True)
        for private in ("Waiting for a moderator", "More benches", "Hidden", "It gives a private address", "12 High Street", "Deleted"):
            assert private not in html, (who, private)
        assert "Answered: accepted" in html and "Twenty days is enough." in html
        assert "Incorporated into version 2" in html and "Cited in the summary of the theme “Speed”" in html
        assert "The passage it quotes is no longer in version 2" in html and "Withdrawn by its author" in html
    lines = lines_by_id(mine.public_contributions(story.casey, None, page=1, per_page=50).lines)
    assert set(lines) == {
        story.plain.id,
        story.reply.id,
        story.kept.id,
        story.orphaned.id,
        story.accepted.id,
        story.rejected.id,
        story.withdrawn.id,
        story.statement.id,
    }
    assert all(line.state.name == "published" for line in lines.values())


def test_a_summary_is_not_cited_before_the_outcome_is_public(client, organisation, author, moderator, citizen):
    """Summaries are the moderators' working notes until the consultation is concluded: neither
    the author of a cited contribution nor the public learn of a citation before."""
    story = tell_the_story(organisation, author, moderator, citizen, conclude=False)
    for lines in (
        mine.my_contributions(story.casey, page=1, per_page=50).lines,
        mine.public_contributions(story.casey, None, page=1, per_page=50).lines,
    ):
        assert names(lines_by_id(lines)[story.accepted.id]) == ["published", "answered", "incorporated", "cited-in-version"]
    assert mine.my_contributions(story.casey, page=1, status="cited").pagination.total == 1
    login(client, story.casey)
    assert "Cited in the summary" not in client.get(f"/people/{story.casey.id}").get_data(as_text=True)


def test_a_block_hides_what_i_wrote_and_says_so_to_me_only(client, story, organisation, moderator):
    moderation.block(organisation, story.casey, actor=moderator, reason="Repeated abuse.", consultation=story.consultation)
    db.session.commit()
    lines = lines_by_id(mine.my_contributions(story.casey, page=1, per_page=50).lines)
    assert names(lines[story.plain.id])[0] == "blocked" and lines[story.plain.id].link.endpoint == "proposals.consultation"
    assert names(lines[story.hidden.id])[0] == "hidden"  # the moderator's own decision and reason stay first
    assert names(lines[story.pending.id])[0] == "pending"  # another organisation's consultation
    hidden = {line.contribution.id for line in mine.my_contributions(story.casey, page=1, per_page=50, status="hidden").lines}
    assert story.plain.id in hidden and story.pending.id not in hidden
    assert mine.public_contributions(story.casey, None, page=1).pagination.total == 0


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("pending", ["pending"]),
        ("hidden", ["hidden"]),
        ("deleted", ["deleted"]),
        ("withdrawn", ["withdrawn"]),
        ("answered", ["accepted", "rejected"]),
        ("incorporated", ["accepted"]),
        ("cited", ["accepted"]),
    ],
)
def test_filter_by_status(story, status, expected):
    found = {line.contribution.id for line in mine.my_contributions(story.casey, page=1, status=status).lines}
    assert found == {getattr(story, name).id for name in expected}


def test_filter_by_consultation_and_bad_filters(client, story):
    login(client, story.casey)
    html = client.get("/me/contributions?consultation=pre-moderated").get_data(as_text=True)
    assert "More benches" in html and "A fair policy overall" not in html
    assert "1 contribution matches these filters." in html
    assert client.get("/me/contributions?status=nonsense").status_code == 400
    assert client.get("/me/contributions?consultation=nowhere").status_code == 404
    assert client.get("/me/contributions?page=0").status_code == 400


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/me/contributions")
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin")


def test_the_header_and_the_account_page_link_to_it(client, citizen):
    login(client, citizen)
    html = client.get("/account").get_data(as_text=True)
    assert html.count('href="/me/contributions"') == 2  # the header's account links and the page
    assert "You have not written anything yet." in client.get("/me/contributions").get_data(as_text=True)


# ---- a fixed number of queries ---------------------------------------------------------------


@contextmanager
def counting_queries():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def write_many(ids: dict[str, int], n: int) -> None:
    """``n`` more contributions of Casey's, of every kind."""
    c, casey, plain = (db.session.get(model, ids[name]) for model, name in ((Consultation, "c"), (User, "casey"), (Contribution, "plain")))
    for i in range(n):
        if i % 4 == 0:
            comments.post_comment(c, actor=casey, body=f"Comment {i}", section_key="fees", quote="first hour")
        elif i % 4 == 1:
            comments.post_comment(c, actor=casey, body=f"Reply {i}", parent=plain)
        elif i % 4 == 2:
            post_statement(c, actor=casey, body=f"Statement number {i}")
        else:
            amendments.propose_amendment(
                c, actor=casey, section_key="fees", rationale=f"Reason {i}", quote="first hour", replacement=f"first {i} hours"
            )


@pytest.fixture
def open_story(organisation, author, moderator, citizen) -> Story:
    """The story's statuses, in a consultation open again (so more can be written in it)."""
    story = tell_the_story(organisation, author, moderator, citizen, conclude=False)
    proposals.change_state(story.consultation, Transition.REOPEN, actor=author, closes_at=utcnow() + timedelta(days=5))
    db.session.commit()
    return story


def queries_for(app, ids: dict[str, int], more: int) -> tuple[int, int, int]:
    """How many queries a page of all of Casey's contributions takes (the service, with what the
    template reads), "My contributions" and the person page, after writing ``more``."""
    write_many(ids, more)
    db.session.commit()
    client = app.test_client()
    login(client, db.session.get(User, ids["casey"]))
    db.session.expunge_all()  # nothing cached from writing them
    casey = db.session.get(User, ids["casey"])
    with counting_queries() as service:
        page = mine.my_contributions(casey, page=1, per_page=100)
        for line in page.lines:  # what the template reads
            _ = (line.contribution.consultation.title, line.contribution.anchor, line.contribution.body_html, line.statuses)
    assert len(page.lines) == page.pagination.total > more
    db.session.expunge_all()
    with counting_queries() as view:
        assert client.get("/me/contributions").status_code == 200
    db.session.expunge_all()
    with counting_queries() as person:
        assert client.get(f"/people/{ids['casey']}").status_code == 200
    return len(service), len(view), len(person)


def test_the_number_of_queries_does_not_grow_with_the_contributions(app, open_story):
    ids = {"c": open_story.consultation.id, "casey": open_story.casey.id, "plain": open_story.plain.id}
    few = queries_for(app, ids, 5)
    many = queries_for(app, ids, 45)  # 50 more than the story's own
    assert few == many
