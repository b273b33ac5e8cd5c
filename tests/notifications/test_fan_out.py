"""The notifications core: events recorded once, fanned out once per person, never to the
person who caused them, never about what the reader may not see, never for a draft."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult.comments import services as comments
from consult.core.models import db
from consult.moderation import services as moderation
from consult.notifications import services as notifications
from consult.notifications.models import Delivery, Event, EventKind, Follow, Notification
from tests.factories import make_consultation, make_user


def told(event_id: int | None) -> dict[int, str]:
    """Who got a notification of this event, and with which delivery."""
    rows = db.session.execute(select(Notification.user_id, Notification.delivery).where(Notification.event_id == event_id)).all()
    return {user_id: delivery for user_id, delivery in rows}


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author)


@pytest.fixture
def people():
    return [make_user(name=f"Follower {n}") for n in range(3)]


def test_an_event_reaches_every_follower_once_and_never_its_actor(consultation, author, people):
    for person in people:
        notifications.follow(consultation, actor=person)
    notifications.follow(consultation, actor=author)
    event_id = notifications.record_event(EventKind.OPENED, consultation, actor=author)
    db.session.commit()  # the fan-out runs after the commit (at once in tests)

    assert set(told(event_id)) == {p.id for p in people}
    assert notifications.fan_out(event_id) == 0  # a second run (a retry) tells nobody again
    assert len(told(event_id)) == 3
    assert db.session.get(Event, event_id).fanned_out_at is not None


def test_the_delivery_is_each_persons_choice_or_the_default(consultation, people):
    for person in people:
        notifications.follow(consultation, actor=person)
    notifications.set_delivery(people[0], EventKind.VERSION_PUBLISHED, Delivery.WEEKLY)
    event_id = notifications.record_event(EventKind.VERSION_PUBLISHED, consultation)
    db.session.commit()
    assert told(event_id) == {people[0].id: "weekly", people[1].id: "daily", people[2].id: "daily"}


def test_nothing_is_recorded_for_a_draft(organisation, author, people):
    draft = make_consultation(organisation, author=author, state="draft")
    assert notifications.record_event(EventKind.VERSION_PUBLISHED, draft, actor=author) is None
    assert db.session.scalar(select(func.count(Event.id))) == 0


def test_a_personal_event_reaches_its_recipient_but_not_when_they_caused_it(consultation, people):
    comment = comments.post_comment(consultation, actor=people[0], body="First.")
    reply = comments.post_comment(consultation, actor=people[1], body="A reply.", parent=comment)
    event_id = notifications.record_event(EventKind.REPLY, consultation, actor=people[1], recipient=people[0], contribution=reply)
    own = notifications.record_event(EventKind.REPLY, consultation, actor=people[0], recipient=people[0], contribution=reply)
    db.session.commit()
    assert told(event_id) == {people[0].id: "immediate"}
    assert own is None


def test_followers_hear_nothing_of_a_contribution_the_public_cannot_see(consultation, people, moderator):
    notifications.follow(consultation, "section:scope", actor=people[0])
    notifications.follow(consultation, actor=people[1])
    comment = comments.post_comment(consultation, actor=people[2], body="Rude words.", section_key="scope")
    moderation.act([comment], actor=moderator, action="hide", reason="Insults another participant.")
    db.session.flush()
    seen = notifications.record_event(EventKind.NEW_COMMENT, consultation, actor=people[2], contribution=comment)
    hidden = notifications.record_event(
        EventKind.HIDDEN, consultation, actor=moderator, recipient=people[2], contribution=comment, data={"reason": "Insults"}
    )
    db.session.commit()
    assert told(seen) == {}
    assert told(hidden) == {people[2].id: "immediate"}  # its author is told, and only they


def test_a_new_comment_reaches_the_followers_of_its_section_not_of_the_consultation(consultation, people):
    notifications.follow(consultation, "section:scope", actor=people[0])
    notifications.follow(consultation, actor=people[1])
    comment = comments.post_comment(consultation, actor=people[2], body="On scope.", section_key="scope")
    event_id = notifications.record_event(EventKind.NEW_COMMENT, consultation, actor=people[2], contribution=comment)
    db.session.commit()
    assert set(told(event_id)) == {people[0].id}


def test_unfollowing_stops_notifications_and_taking_part_does_not_follow_again(consultation, people):
    person = people[0]
    notifications.follow(consultation, actor=person)
    notifications.unfollow(consultation, actor=person)
    notifications.follow_when_taking_part(person, consultation, [notifications.CONSULTATION])
    event_id = notifications.record_event(EventKind.CLOSED, consultation)
    db.session.commit()
    assert told(event_id) == {}
    assert not notifications.is_following(person, consultation)
    follow = db.session.scalar(select(Follow).where(Follow.user_id == person.id))
    assert follow is not None and follow.active is False


def test_taking_part_follows_unless_turned_off(consultation, people):
    from consult.notifications.models import NotificationPreferences

    notifications.follow_when_taking_part(people[0], consultation, [notifications.CONSULTATION, "contribution:1"])
    db.session.add(NotificationPreferences(user_id=people[1].id, follow_when_taking_part=False))
    notifications.follow_when_taking_part(people[1], consultation, [notifications.CONSULTATION])
    assert notifications.is_following(people[0], consultation)
    assert not notifications.is_following(people[1], consultation)


def test_an_event_with_a_dedupe_key_is_recorded_once(consultation):
    first = notifications.record_event(EventKind.CLOSING_SOON, consultation, dedupe_key=f"closing:{consultation.id}")
    second = notifications.record_event(EventKind.CLOSING_SOON, consultation, dedupe_key=f"closing:{consultation.id}")
    assert first is not None and second is None
    assert db.session.scalar(select(func.count(Event.id))) == 1


def test_the_conclusion_reaches_everyone_who_took_part(organisation, author, people):
    consultation = make_consultation(organisation, author=author)
    comments.post_comment(consultation, actor=people[0], body="I took part.")
    db.session.flush()
    from consult.proposals import services as proposals
    from consult.proposals.models import Transition

    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    event_id = notifications.record_event(EventKind.CONCLUDED, consultation, actor=author)
    db.session.commit()
    assert set(told(event_id)) == {people[0].id}


def test_following_needs_something_public_to_follow(consultation, people):
    from consult.core.errors import RuleViolation

    with pytest.raises(RuleViolation):
        notifications.follow(consultation, "section:no-such-section", actor=people[0])
    with pytest.raises(RuleViolation):
        notifications.follow(consultation, "contribution:999999", actor=people[0])
    notifications.follow(consultation, "section:scope", actor=people[0])
    assert notifications.is_following(people[0], consultation, "section:scope")


def test_reading_counts_and_marks_only_ones_own(consultation, people):
    for person in people[:2]:
        notifications.follow(consultation, actor=person)
    notifications.record_event(EventKind.CLOSED, consultation)
    notifications.record_event(EventKind.VERSION_PUBLISHED, consultation)
    db.session.commit()
    assert notifications.unread_count(people[0]) == 2
    mine, more = notifications.notifications_of(people[0])
    assert len(mine) == 2 and not more
    theirs = notifications.notifications_of(people[1])[0]
    assert notifications.mark_read(people[0], [theirs[0].id]) == 0  # not theirs to mark
    assert notifications.mark_read(people[0], [mine[0].id]) == 1
    assert notifications.unread_count(people[0]) == 1
    assert notifications.mark_read(people[0]) == 1
    assert notifications.unread_count(people[0]) == 0 and notifications.unread_count(people[1]) == 2
