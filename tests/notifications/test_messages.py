"""``describe``: every kind of event says what happened in a sentence, with a link that leads
somewhere the reader may go, on the site and in mail."""

from __future__ import annotations

import pytest

from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.core.models import db
from consult.notifications.messages import describe, describe_all
from consult.notifications.models import Event, EventKind
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from tests.factories import login, make_consultation, make_user


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, title="Open data policy")


def event_of(kind: EventKind, consultation, author, reader) -> Event:
    """An event of ``kind`` addressed to (or followed by) ``reader``, as its source would record it."""
    other = make_user(name="Olu Other")
    contribution, data, recipient, actor = None, {}, None, author
    if kind in (
        EventKind.REPLY,
        EventKind.NEW_COMMENT,
        EventKind.CITED_IN_SUMMARY,
        EventKind.HIDDEN,
        EventKind.RESTORED,
        EventKind.ANCHOR_MOVED,
    ):
        mine = comments.post_comment(consultation, actor=reader, body="My comment on scope.", section_key="scope")
        contribution, recipient = mine, reader
        if kind in (EventKind.REPLY, EventKind.NEW_COMMENT):
            contribution = comments.post_comment(consultation, actor=other, body="A reply to it.", parent=mine)
            actor = other
    if kind in (EventKind.AMENDMENT_ANSWERED, EventKind.AMENDMENT_INCORPORATED, EventKind.CITED_IN_CHANGE, EventKind.NEW_AMENDMENT):
        contribution = amendments.propose_amendment(
            consultation, actor=reader, section_key="scope", rationale="Name the suppliers.", quote="contractors", replacement="suppliers"
        )
        recipient = reader
    if kind is EventKind.CONCLUDED:  # its link is the outcome page, there once concluded
        for step in (Transition.CLOSE, Transition.CONCLUDE):
            proposals.change_state(consultation, step, actor=author)
    data = {
        EventKind.AMENDMENT_ANSWERED: {"decision": "accepted_in_part", "reason": "Partly."},
        EventKind.AMENDMENT_INCORPORATED: {"version": 1},
        EventKind.CITED_IN_CHANGE: {"version": 1, "section_key": "scope"},
        EventKind.ANCHOR_MOVED: {"state": "orphaned", "version": 1},
        EventKind.HIDDEN: {"reason": "Off topic."},
        EventKind.VERSION_PUBLISHED: {"version": 1},
        EventKind.UPDATE: {"subject": "A hearing", "body": "On **Monday**."},
    }.get(kind, {})
    event = Event(
        kind=kind.value,
        consultation=consultation,
        actor=actor,
        recipient=recipient if kind.is_personal else None,
        contribution=contribution,
        section_key=contribution.section_key if contribution is not None else None,
        data=data,
    )
    db.session.add(event)
    db.session.flush()
    return event


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_is_a_sentence_with_a_link_the_reader_can_follow(kind, client, consultation, author, citizen):
    event = event_of(kind, consultation, author, citizen)
    db.session.commit()
    message = describe(event, citizen)
    assert message.text.lstrip("“")[0].isupper() and message.text.rstrip().endswith((".", "A hearing")), message.text
    assert "None" not in message.text, message.text
    assert message.url.startswith("http://consult.test/") and message.url.endswith(message.path)
    login(client, citizen)
    response = client.get(message.path.split("#")[0])
    assert response.status_code in (200, 302), (message.path, response.status_code)


def test_an_answer_names_who_answered_what_and_how(consultation, author, citizen):
    event = event_of(EventKind.AMENDMENT_ANSWERED, consultation, author, citizen)
    assert describe(event, citizen).text == f"{author.display_name} answered your amendment A1 to “Scope”: accepted in part."
    assert describe(event, citizen).excerpt == "Partly."  # the reason
    assert (
        describe(event, make_user()).text == f"{author.display_name} answered amendment A1 to “Scope”, which you follow: accepted in part."
    )


def test_the_words_of_a_contribution_only_while_the_reader_may_see_them(consultation, author, citizen, moderator):
    event = event_of(EventKind.NEW_COMMENT, consultation, author, citizen)
    assert describe(event, citizen).excerpt == "A reply to it."
    from consult.moderation import services as moderation

    moderation.act([event.contribution], actor=moderator, action="hide", reason="Off topic.")
    db.session.flush()
    assert describe(event, citizen).excerpt is None
    assert [m.excerpt for m in describe_all([event], citizen)] == [None]
