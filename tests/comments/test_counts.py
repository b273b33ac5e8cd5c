"""The section pages' counts come from ``thread_counts``, kept up to date with every change that
alters them; the pages of a long thread make as many SQL statements as those of a short one; and
a section with many highlights draws its passages merged, each linking to its discussion."""

import pytest
from sqlalchemy import event, func, select

from consult.comments import counts, services
from consult.comments.highlighting import MAX_RANGES
from consult.contributions.models import Contribution
from consult.core.models import db
from consult.moderation import services as moderation
from consult.permissions import visible_contributions
from tests.conftest import login
from tests.factories import make_consultation, make_user

TEXT = """## Fees

No fee may be charged for the first hour of work, and the council must answer within thirty days of receipt of the request.
"""


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="access", title="Access to information", text=TEXT)


def counted(consultation, user=None) -> int:
    """The count the pages used to make over the whole thread."""
    return db.session.scalar(
        select(func.count()).where(
            Contribution.consultation_id == consultation.id,
            Contribution.section_key == "fees",
            Contribution.kind.in_(services.DISCUSSION_KINDS),
            visible_contributions(user),
        )
    )


def test_counts_follow_posting_hiding_blocking_and_deleting(consultation, citizen, moderator, organisation):
    other = make_user(name="Other")
    first = services.post_comment(consultation, actor=citizen, body="One.", section_key="fees")
    services.post_comment(consultation, actor=other, body="Two.", section_key="fees")
    services.post_comment(consultation, actor=other, body="A reply.", parent=first)
    db.session.commit()
    seen = counts.counts_for(consultation, None, "fees")
    assert (seen.comments, seen.threads) == (3, 2) == (counted(consultation), 2)
    stamp = seen.stamp

    moderation.moderate_item(first, actor=moderator, action="hide", reason="Off topic.")
    db.session.commit()
    seen = counts.counts_for(consultation, None, "fees")
    assert (seen.comments, seen.threads) == (counted(consultation), 2) == (2, 2)  # a hidden thread stays as a tombstone
    assert seen.stamp != stamp

    moderation.block(organisation, other, actor=moderator, reason="Spam.", consultation=consultation)
    db.session.commit()
    assert counts.counts_for(consultation, None, "fees").comments == counted(consultation) == 0
    moderation.unblock(organisation, other, actor=moderator, consultation=consultation)
    db.session.commit()
    assert counts.counts_for(consultation, None, "fees").comments == counted(consultation) == 2

    lone = db.session.scalar(select(Contribution).where(Contribution.body == "Two."))
    services.delete_comment(lone, actor=other)
    db.session.commit()
    seen = counts.counts_for(consultation, None, "fees")
    assert (seen.comments, seen.threads) == (counted(consultation), 1) == (1, 1)
    assert services.section_counts(consultation, None) == {"fees": 1}


def test_a_signed_in_person_also_counts_their_own_waiting_comment(consultation, citizen):
    consultation.premoderation = True if hasattr(consultation, "premoderation") else None
    mine = services.post_comment(consultation, actor=citizen, body="Mine.", section_key="fees")
    mine.moderation_state = "pending"
    db.session.commit()
    assert counts.counts_for(consultation, None, "fees").comments == counted(consultation) == 0
    assert counts.counts_for(consultation, citizen, "fees").comments == counted(consultation, citizen) == 1
    assert counts.counts_for(consultation, citizen, "fees").threads == 1


def test_counts_are_right_before_the_commit_too(consultation, citizen):
    services.post_comment(consultation, actor=citizen, body="One.", section_key="fees")
    db.session.flush()
    assert counts.counts_for(consultation, None, "fees").comments == 1


def statements_of(client, path: str) -> int:
    """The SQL statements of a second request for ``path`` (the first after a change also reads
    once what the worker then keeps, and what the commit expired)."""
    assert client.get(path).status_code == 200
    seen = []

    def note(*args):
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return len(seen)


def post_many(consultation, people, n: int, *, quote_every: int = 0) -> None:
    words = ["fee", "may", "be", "charged", "for", "the", "first", "hour", "of", "work"]
    for i in range(n):
        quote = " ".join(words[i % 5 : i % 5 + 3]) if quote_every and i % quote_every == 0 else None
        services.post_comment(consultation, actor=people[i % len(people)], body=f"Comment {i}.", section_key="fees", quote=quote)
    db.session.commit()


def test_a_long_thread_takes_as_many_statements_as_a_short_one(client, consultation, citizen):
    people = [make_user(name=f"P{i}") for i in range(3)]
    post_many(consultation, people, 25, quote_every=2)
    short = statements_of(client, "/c/access/s/fees")
    post_many(consultation, people, 100, quote_every=2)
    assert statements_of(client, "/c/access/s/fees") == short
    login(client, citizen)
    signed_in = statements_of(client, "/c/access/s/fees")
    post_many(consultation, people, 40, quote_every=2)
    assert statements_of(client, "/c/access/s/fees") == signed_in


def test_many_highlights_are_drawn_as_passages_that_open_their_discussion(client, consultation):
    people = [make_user(name=f"P{i}") for i in range(3)]
    text = services.anchor_text(consultation.current_version.section("fees"))
    words = text.split()
    for i in range(MAX_RANGES + 10):  # distinct overlapping ranges
        at = i % (len(words) - 4)
        services.post_comment(
            consultation, actor=people[i % 3], body=f"On {i}.", section_key="fees", quote=" ".join(words[at : at + 2 + i % 3])
        )
    db.session.commit()
    page = client.get("/c/access/s/fees").get_data(as_text=True)
    assert page.count('class="annotation-link"') < 5
    assert "?from=" in page and "&amp;to=" in page
    start = page.index("data-discussion=\"") + len('data-discussion="')
    discussion = page[start : page.index('"', start)].replace("&amp;", "&")
    fragment = client.get(discussion).get_data(as_text=True)
    assert "Comments on the highlighted words" in fragment
    assert fragment.count('class="comment level-1"') == 20  # the first page of the passage's threads


def test_kept_highlights_change_with_what_they_draw(client, consultation, citizen, moderator):
    """The public highlights are kept per stamp: hiding an annotation, or blocking its author,
    takes its highlight off the next page; a person's own waiting annotation is drawn for them alone."""
    note = services.post_comment(consultation, actor=citizen, body="On the fee.", section_key="fees", quote="first hour of work")
    db.session.commit()
    assert 'class="annotation-link"' in client.get("/c/access/s/fees").get_data(as_text=True)  # kept now
    moderation.moderate_item(note, actor=moderator, action="hide", reason="Off topic.")
    db.session.commit()
    assert 'class="annotation-link"' not in client.get("/c/access/s/fees").get_data(as_text=True)

    waiting = services.post_comment(consultation, actor=citizen, body="Mine.", section_key="fees", quote="thirty days")
    waiting.moderation_state = "pending"
    db.session.commit()
    assert 'class="annotation-link"' not in client.get("/c/access/s/fees").get_data(as_text=True)
    login(client, citizen)
    assert f'data-annotation="{waiting.id}"' in client.get("/c/access/s/fees").get_data(as_text=True)


def test_blocking_an_author_takes_their_highlights_off(client, consultation, citizen, moderator, organisation):
    services.post_comment(consultation, actor=citizen, body="On the fee.", section_key="fees", quote="first hour of work")
    db.session.commit()
    assert 'class="annotation-link"' in client.get("/c/access/s/fees").get_data(as_text=True)
    moderation.block(organisation, citizen, actor=moderator, reason="Spam.", consultation=consultation)
    db.session.commit()
    assert 'class="annotation-link"' not in client.get("/c/access/s/fees").get_data(as_text=True)
    moderation.unblock(organisation, citizen, actor=moderator, consultation=consultation)
    db.session.commit()
    assert 'class="annotation-link"' in client.get("/c/access/s/fees").get_data(as_text=True)


def test_the_consultation_page_keeps_its_highlights_until_they_change(client, consultation, citizen, moderator):
    note = services.post_comment(consultation, actor=citizen, body="On the fee.", section_key="fees", quote="first hour of work")
    db.session.commit()
    assert f'data-annotation="{note.id}"' in client.get("/c/access").get_data(as_text=True)
    assert f'data-annotation="{note.id}"' in client.get("/c/access").get_data(as_text=True)  # kept
    services.delete_comment(note, actor=citizen)
    db.session.commit()
    assert f'data-annotation="{note.id}"' not in client.get("/c/access").get_data(as_text=True)
