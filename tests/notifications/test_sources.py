"""Every kind of event, recorded where it happens by driving the real services: told exactly
once to each person it concerns, never to the person who caused it, never about what a reader
may not see, never about a draft; and taking part follows what one took part in."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.comments.models import Anchor
from consult.core.models import db, utcnow
from consult.moderation import services as moderation
from consult.notifications import services as notifications
from consult.notifications import sources
from consult.notifications.models import Event, EventKind, Follow, NotificationPreferences
from consult.notifications.models import Notification as Row
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from consult.voting import services as voting
from consult.voting import statements
from tests.factories import make_consultation, make_user

NEXT_TEXT = """## Purpose

This policy sets out how the council publishes open data.

## Scope

It applies to every department and council company, and to contractors.

### Exceptions

Personal data is never published.
"""


def told(kind: EventKind, *, contribution=None) -> Counter[int]:
    """How many notifications of ``kind`` each person got (about ``contribution``, if given)."""
    query = select(Row.user_id).join(Event, Event.id == Row.event_id).where(Event.kind == kind.value)
    if contribution is not None:
        query = query.where(Event.contribution_id == contribution.id)
    return Counter(db.session.scalars(query))


def once(*people) -> Counter[int]:
    return Counter({p.id: 1 for p in people})


def events(kind: EventKind) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.kind == kind.value).order_by(Event.id)))


def follows(person, consultation) -> set[str]:
    return set(
        db.session.scalars(
            select(Follow.target).where(Follow.user_id == person.id, Follow.consultation_id == consultation.id, Follow.active)
        )
    )


@pytest.fixture
def consultation(organisation, author):
    consultation = make_consultation(organisation, author=author)
    db.session.commit()  # its opening is told before anyone follows
    return consultation


@pytest.fixture
def people():
    return [make_user(name=name) for name in ("Ada", "Bo", "Cy", "Di")]


# ---- contributions -------------------------------------------------------------------------


def test_a_reply_tells_the_author_of_what_it_answers_and_the_threads_followers_once(consultation, people):
    ada, bo, cy, di = people
    notifications.follow(consultation, "section:scope", actor=di)  # a section's follower hears of comments, not replies
    first = comments.post_comment(consultation, actor=ada, body="Too narrow.", section_key="scope")
    db.session.commit()
    reply = comments.post_comment(consultation, actor=bo, body="Why?", parent=first)
    db.session.commit()
    assert told(EventKind.REPLY, contribution=reply) == once(ada)

    deeper = comments.post_comment(consultation, actor=cy, body="Agreed with Bo.", parent=reply)
    db.session.commit()
    assert told(EventKind.REPLY, contribution=deeper) == once(bo, ada)  # Bo answered; Ada follows her thread

    own = comments.post_comment(consultation, actor=ada, body="Because of the companies.", parent=first)
    db.session.commit()
    assert told(EventKind.REPLY, contribution=own) == once(bo, cy)  # a reply to her own comment reaches the thread, not her
    assert told(EventKind.NEW_COMMENT) == once(di)  # the comment, once; the replies are the thread's
    assert len(events(EventKind.REPLY)) == 3


def test_a_comment_or_amendment_reaches_those_who_follow_where_it_is(consultation, people):
    ada, bo, cy, di = people
    notifications.follow(consultation, "section:scope", actor=ada)
    notifications.follow(consultation, actor=bo)
    comment = comments.post_comment(consultation, actor=cy, body="On scope.", section_key="scope")
    elsewhere = comments.post_comment(consultation, actor=cy, body="On purpose.", section_key="purpose")
    db.session.commit()
    assert told(EventKind.NEW_COMMENT, contribution=comment) == once(ada)
    assert told(EventKind.NEW_COMMENT, contribution=elsewhere) == Counter()

    amendment = amendments.propose_amendment(
        consultation, actor=di, section_key="scope", rationale="Companies too.", quote="every department", replacement="every body"
    )
    db.session.commit()
    # the consultation's followers (Bo, and Cy by commenting) and the section's (Ada); never Di
    assert told(EventKind.NEW_AMENDMENT, contribution=amendment) == once(ada, bo, cy)


def test_taking_part_follows_what_one_took_part_in_and_voting_follows_nothing(consultation, people):
    ada, bo, cy, di = people
    comment = comments.post_comment(consultation, actor=ada, body="A comment.", section_key="scope")
    reply = comments.post_comment(consultation, actor=bo, body="A reply.", parent=comment)
    amendment = amendments.propose_amendment(
        consultation, actor=cy, section_key="scope", rationale="Wider.", quote="every department", replacement="every body"
    )
    amendments.co_support(amendment.amendment, actor=di)
    voter = make_user(name="Voter")
    voting.cast_vote(consultation, actor=voter, value="support", contribution=amendment)
    voting.cast_vote(consultation, actor=voter, value="oppose", section_key="scope")
    shy = make_user(name="Shy")
    db.session.add(NotificationPreferences(user_id=shy.id, follow_when_taking_part=False))
    comments.post_comment(consultation, actor=shy, body="Quietly.", parent=comment)

    assert follows(ada, consultation) == {f"contribution:{comment.id}", "consultation"}
    assert follows(bo, consultation) == {f"contribution:{comment.id}"}  # a reply: its thread
    assert reply.thread_id == comment.id
    assert follows(cy, consultation) == {f"contribution:{amendment.id}", "consultation"}
    assert follows(di, consultation) == {f"contribution:{amendment.id}"}  # co-supporting: the amendment
    assert follows(voter, consultation) == set()
    assert follows(shy, consultation) == set()


def test_a_statement_follows_the_consultation_and_tells_nobody(consultation, people):
    ada, bo = people[:2]
    notifications.follow(consultation, actor=bo)
    statements.post_statement(consultation, actor=ada, body="Night buses should run every hour.")
    db.session.commit()
    assert follows(ada, consultation) == {"consultation"}
    assert db.session.scalar(select(func.count(Row.id)).where(Row.user_id == bo.id)) == 0


def test_unfollowing_a_thread_is_not_undone_by_taking_part_again(consultation, people):
    ada, bo = people[:2]
    comment = comments.post_comment(consultation, actor=ada, body="A comment.")
    notifications.unfollow(consultation, f"contribution:{comment.id}", actor=ada)
    comments.post_comment(consultation, actor=ada, body="Me again.", parent=comment)
    db.session.commit()
    reply = comments.post_comment(consultation, actor=bo, body="A reply to the reply.", parent=comment)
    db.session.commit()
    assert f"contribution:{comment.id}" not in follows(ada, consultation)
    assert told(EventKind.REPLY, contribution=reply) == once(ada)  # still told as the author of what it answers


# ---- pre-moderation and moderation ---------------------------------------------------------


def test_a_contribution_waiting_for_a_moderator_tells_nobody_until_approved_then_once(consultation, people, moderator):
    ada, bo, cy, newcomer = people
    comment = comments.post_comment(consultation, actor=ada, body="Trusted words.", section_key="scope")
    notifications.follow(consultation, "section:scope", actor=cy)
    consultation.moderation_mode = "pre"
    db.session.commit()  # Ada's comment is visible: she has something approved
    reply = comments.post_comment(consultation, actor=newcomer, body="My first reply.", parent=comment)
    db.session.commit()
    assert reply.moderation_state == "pending"
    assert told(EventKind.REPLY) == Counter() and events(EventKind.REPLY) == []

    moderation.act([reply], actor=moderator, action="approve")
    db.session.commit()
    assert told(EventKind.REPLY, contribution=reply) == once(ada)
    moderation.act([reply], actor=moderator, action="approve")  # approving again changes nothing
    moderation.act([reply], actor=moderator, action="hide", reason="Off topic.")
    moderation.act([reply], actor=moderator, action="restore")
    db.session.commit()
    assert told(EventKind.REPLY, contribution=reply) == once(ada)
    assert len(events(EventKind.REPLY)) == 1

    held = comments.post_comment(consultation, actor=bo, body="Held, then refused, then let through.", section_key="scope")
    db.session.commit()
    moderation.act([held], actor=moderator, action="hide", reason="Not about the policy.")
    db.session.commit()
    assert told(EventKind.NEW_COMMENT, contribution=held) == Counter()
    assert told(EventKind.HIDDEN, contribution=held) == once(bo)
    moderation.act([held], actor=moderator, action="restore")
    db.session.commit()
    assert told(EventKind.NEW_COMMENT, contribution=held) == once(cy)  # the public sees it for the first time
    assert told(EventKind.RESTORED, contribution=held) == once(bo)


def test_hiding_and_restoring_tell_the_author_alone_with_the_public_reason(consultation, people, moderator):
    ada, bo = people[:2]
    comment = comments.post_comment(consultation, actor=ada, body="Rude words.", section_key="scope")
    notifications.follow(consultation, f"contribution:{comment.id}", actor=bo)
    db.session.commit()
    moderation.act([comment], actor=moderator, action="hide", reason="Insults another participant.")
    db.session.commit()
    assert told(EventKind.HIDDEN) == once(ada)
    assert events(EventKind.HIDDEN)[0].data == {"reason": "Insults another participant."}
    moderation.act([comment], actor=moderator, action="hide", reason="Insults another participant.")  # already so
    db.session.commit()
    assert told(EventKind.HIDDEN) == once(ada)

    moderation.act([comment], actor=moderator, action="restore")
    db.session.commit()
    assert told(EventKind.RESTORED) == once(ada)
    assert [e.contribution_id for e in events(EventKind.NEW_COMMENT)] == [comment.id]  # shown again, not news again


def test_reports_that_hide_a_contribution_tell_its_author(consultation, people):
    ada = people[0]
    comment = comments.post_comment(consultation, actor=ada, body="Contested.")
    for reporter in people[1:]:
        moderation.report(comment, actor=reporter, reason="offensive")
    db.session.commit()
    assert comment.moderation_state == "hidden"
    assert told(EventKind.HIDDEN) == once(ada)
    assert events(EventKind.HIDDEN)[0].data == {"reason": moderation.AUTO_HIDDEN}


def test_nobody_hears_of_a_reply_hidden_before_anyone_was_told(consultation, people, moderator):
    ada, bo = people[:2]
    comment = comments.post_comment(consultation, actor=ada, body="Hello.")
    db.session.commit()
    reply = comments.post_comment(consultation, actor=bo, body="Spam spam spam.", parent=comment)
    moderation.act([reply], actor=moderator, action="hide", reason="Spam.")
    db.session.commit()  # one unit of work: hidden before the fan-out
    assert told(EventKind.REPLY) == Counter()
    assert told(EventKind.HIDDEN) == once(bo)


# ---- amendments, versions, citations and annotations ---------------------------------------


def test_an_answer_tells_the_amendments_author_and_followers_with_decision_and_reason(consultation, author, people):
    ada, bo = people[:2]
    amendment = amendments.propose_amendment(
        consultation, actor=ada, section_key="scope", rationale="Wider.", quote="every department", replacement="every body"
    )
    amendments.co_support(amendment.amendment, actor=bo)
    db.session.commit()
    amendments.answer_amendment(amendment.amendment, actor=author, decision="accepted_in_part", reason="The companies, yes.")
    db.session.commit()
    assert told(EventKind.AMENDMENT_ANSWERED) == once(ada, bo)
    assert events(EventKind.AMENDMENT_ANSWERED)[0].data == {"decision": "accepted_in_part", "reason": "The companies, yes."}

    amendments.answer_amendment(amendment.amendment, actor=author, decision="accepted_in_part", reason="The companies, yes.")
    db.session.commit()  # the same answer again (a double click) tells nobody again
    assert told(EventKind.AMENDMENT_ANSWERED) == once(ada, bo)
    amendments.answer_amendment(amendment.amendment, actor=author, decision="accepted", reason="All of it, after all.")
    db.session.commit()  # a revised answer is news
    assert told(EventKind.AMENDMENT_ANSWERED) == Counter({ada.id: 2, bo.id: 2})
    assert told(EventKind.AMENDMENT_ANSWERED)[author.id] == 0


def test_publishing_the_next_version_tells_what_it_incorporates_cites_and_moves(consultation, author, people):
    ada, bo, cy, di = people
    notifications.follow(consultation, actor=di)
    amendment = amendments.propose_amendment(
        consultation,
        actor=ada,
        section_key="scope",
        rationale="Wider.",
        quote="every department",
        replacement="every department and council company",
    )
    comment = comments.post_comment(consultation, actor=bo, body="Contractors matter.", section_key="scope")
    kept = comments.post_comment(consultation, actor=cy, body="Good.", section_key="purpose", quote="publishes open data")
    changed = comments.post_comment(consultation, actor=cy, body="Which ones?", section_key="scope", quote="contractors working for them")
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    amendments.answer_amendment(amendment.amendment, actor=author, decision="accepted", reason="Yes.")
    db.session.commit()
    proposals.write_markdown(consultation, NEXT_TEXT, actor=author)
    draft = consultation.draft_version
    amendments.cite(draft, "scope", amendment, actor=author)
    amendments.cite(draft, "scope", comment, actor=author)
    db.session.commit()
    assert events(EventKind.AMENDMENT_INCORPORATED) == [] and events(EventKind.CITED_IN_CHANGE) == []  # a draft is not news

    version = proposals.publish_version(consultation, actor=author, note="Council companies too.")
    db.session.commit()
    assert amendment.amendment.state == "incorporated"
    assert told(EventKind.AMENDMENT_INCORPORATED) == once(ada)  # her amendment's followers: herself
    assert events(EventKind.AMENDMENT_INCORPORATED)[0].data == {"version": 2}
    assert told(EventKind.CITED_IN_CHANGE) == once(bo)  # not Ada again: "incorporated" says it
    assert events(EventKind.CITED_IN_CHANGE)[0].data == {"version": 2, "section_keys": ["scope"]}
    # every one who follows the consultation; the author, who published it, hears nothing
    assert told(EventKind.VERSION_PUBLISHED) == once(ada, bo, cy, di)

    placed = {a.contribution_id: a.state for a in db.session.scalars(select(Anchor).where(Anchor.version_id == version.id))}
    assert placed[kept.id] == "anchored" and placed[changed.id] != "anchored"
    assert told(EventKind.ANCHOR_MOVED, contribution=changed) == once(cy)
    assert told(EventKind.ANCHOR_MOVED, contribution=kept) == Counter()
    assert events(EventKind.ANCHOR_MOVED)[0].data == {"state": placed[changed.id], "version": 2}
    for kind in EventKind:
        assert told(kind)[author.id] == 0


# ---- the consultation's life ---------------------------------------------------------------


def test_the_consultations_life_reaches_its_followers_once_and_its_conclusion_everyone(organisation, author, people, moderator):
    ada, bo, cy, di = people
    consultation = make_consultation(organisation, author=author)
    db.session.commit()
    notifications.follow(consultation, actor=di)
    comment = comments.post_comment(consultation, actor=ada, body="Open data, yes.", section_key="scope")
    other = comments.post_comment(consultation, actor=bo, body="Me too.", section_key="scope")
    notifications.unfollow(consultation, actor=bo)  # took part, then unfollowed: still hears the outcome
    db.session.commit()

    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    db.session.commit()
    assert told(EventKind.CLOSED) == once(ada, di)
    proposals.change_state(consultation, Transition.REOPEN, actor=author, closes_at=utcnow() + timedelta(days=10))
    db.session.commit()
    assert told(EventKind.OPENED) == once(ada, di)
    assert events(EventKind.OPENED)[-1].data == {"reopened": True}
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    theme = moderation.create_theme(consultation, actor=moderator, name="Support")
    moderation.write_summary(consultation, actor=moderator, theme=theme, summary=f"Many agree [#{comment.id}] [#{other.id}].")
    moderation.write_summary(consultation, actor=moderator, section_key="scope", summary=f"Ada [#{comment.id}].")
    db.session.commit()
    assert told(EventKind.CLOSED) == Counter({ada.id: 2, di.id: 2})
    assert events(EventKind.CITED_IN_SUMMARY) == []  # the summaries are not public yet

    proposals.change_state(consultation, Transition.CONCLUDE, actor=author)
    db.session.commit()
    assert told(EventKind.CONCLUDED) == once(ada, bo, di)
    assert told(EventKind.CITED_IN_SUMMARY) == once(ada, bo)  # one each, however many summaries cite them
    cited = {e.contribution_id: e.data for e in events(EventKind.CITED_IN_SUMMARY)}
    assert cited[comment.id] == {"themes": ["Support"], "section_keys": ["scope"]}
    for kind in EventKind:
        assert told(kind)[author.id] == 0


def test_the_schedule_opening_and_closing_is_told_once(organisation, author, people):
    follower = people[0]
    consultation = make_consultation(organisation, author=author, state="draft")
    now = utcnow()
    assert proposals.apply_schedule(now) == 1  # its opening date has come
    db.session.commit()
    assert [e.consultation_id for e in events(EventKind.OPENED)] == [consultation.id]
    assert events(EventKind.OPENED)[0].actor_id is None
    notifications.follow(consultation, actor=follower)
    db.session.commit()
    assert proposals.apply_schedule(now + timedelta(days=31)) == 1
    assert proposals.apply_schedule(now + timedelta(days=31)) == 0  # a second run changes nothing
    db.session.commit()
    assert told(EventKind.CLOSED) == once(follower)


def test_closing_soon_is_told_once_per_closing_date(consultation, author, people):
    follower = people[0]
    notifications.follow(consultation, actor=follower)
    db.session.commit()
    assert sources.tell_closing_soon() == 0  # closes in 30 days
    closes_at = consultation.closes_at
    later = closes_at - timedelta(days=2)  # three days before, and a little after
    assert sources.tell_closing_soon(later) == 1
    assert sources.tell_closing_soon(later + timedelta(hours=1)) == 0  # the next hour's run
    db.session.commit()
    assert told(EventKind.CLOSING_SOON) == once(follower)

    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    proposals.change_state(consultation, Transition.REOPEN, actor=author, closes_at=utcnow() + timedelta(days=2))
    db.session.commit()
    assert sources.tell_closing_soon() == 1  # a new closing date is news
    db.session.commit()
    assert told(EventKind.CLOSING_SOON) == Counter({follower.id: 2})


def test_the_hourly_job_tells_closing_soon(app, consultation, people):
    notifications.follow(consultation, actor=people[0])
    consultation.closes_at = utcnow() + timedelta(days=1)
    db.session.commit()
    sources.remind_closing_soon()
    sources.remind_closing_soon()
    db.session.commit()
    assert told(EventKind.CLOSING_SOON) == once(people[0])


def test_nothing_is_recorded_about_a_draft(organisation, author):
    draft = make_consultation(organisation, author=author, state="draft")
    proposals.write_markdown(draft, NEXT_TEXT, actor=author)
    db.session.commit()
    assert db.session.scalar(select(func.count(Event.id)).where(Event.consultation_id == draft.id)) == 0


def test_the_request_records_one_event_and_a_job_tells_the_followers(consultation, people, queued_jobs):
    followers = people[:3]
    for person in followers:
        notifications.follow(consultation, "section:scope", actor=person)
    db.session.commit()
    queued_jobs.run(notifications=True)
    comment = comments.post_comment(consultation, actor=people[3], body="On scope.", section_key="scope")
    db.session.commit()
    assert len(events(EventKind.NEW_COMMENT)) == 1
    assert told(EventKind.NEW_COMMENT) == Counter()  # nobody yet: the fan-out waits for the worker
    assert queued_jobs.pending(notifications=True) == ["fan_out"]
    assert queued_jobs.pending() == []  # other tests' lists leave it out
    queued_jobs.run(notifications=True)
    assert told(EventKind.NEW_COMMENT, contribution=comment) == once(*followers)
