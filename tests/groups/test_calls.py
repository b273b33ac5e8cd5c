"""Calls to action (issue 20): publishing, progress counted from rows (people once), closing at
the deadline with no request arriving, pledges, the .ics file, who is told, and bad input."""

from __future__ import annotations

from datetime import UTC, timedelta

import icalendar
import pytest
from sqlalchemy import func, select

from consult.amendments.services import propose_amendment
from consult.comments.services import post_comment
from consult.core.errors import PermissionDenied, RuleViolation
from consult.core.models import db, utcnow
from consult.groups import calls
from consult.groups.models import CallPledge, CallToAction, GroupState
from consult.notifications.models import Event, Notification
from consult.notifications.services import follow
from consult.voting.services import cast_vote
from tests.conftest import login
from tests.factories import make_consultation, make_user
from tests.groups.call_helpers import call_group, make_call


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def amendment(open_consultation):
    contribution = propose_amendment(
        open_consultation, actor=make_user(name="Proposer"), section_key="purpose", rationale="Clearer.", proposed_text="New words."
    )
    db.session.flush()
    return contribution


def publish(consultation, actor, publisher, **fields):
    fields.setdefault("kind", "support")
    fields.setdefault("title", "Support A1 by Friday")
    fields.setdefault("goal", 200)
    fields.setdefault("deadline", utcnow() + timedelta(days=3))
    return calls.publish_call(consultation, actor=actor, publisher=publisher, **fields)


def test_an_organisation_publishes_a_call_to_support_an_amendment_and_its_progress_counts_people(
    open_consultation, author, organisation, amendment
):
    call = publish(open_consultation, author, organisation, amendment="a1", body="Please **support** it.")
    assert call.contribution_id == amendment.id and call.is_open and "<strong>support</strong>" in call.body_html
    assert calls.progress_of([call])[call.id].count == 0
    voters = [make_user(name=f"Voter {i}") for i in range(3)]
    for voter in voters:
        cast_vote(open_consultation, actor=voter, value="support", contribution=amendment)
    cast_vote(open_consultation, actor=voters[0], value="support", contribution=amendment)  # again: still one person
    cast_vote(open_consultation, actor=make_user(name="Against"), value="oppose", contribution=amendment)
    progress = calls.progress_of([call])[call.id]
    assert (progress.count, progress.goal, progress.percent) == (3, 200, 1)
    assert progress.days_left == 3


def test_a_comment_call_counts_each_person_once_and_only_since_it_was_published(open_consultation, author, organisation):
    early, keen, other = make_user(name="Early"), make_user(name="Keen"), make_user(name="Other")
    before = post_comment(open_consultation, actor=early, body="Before the call.", section_key="purpose")
    before.created_at = utcnow() - timedelta(hours=1)
    db.session.flush()
    call = publish(open_consultation, author, organisation, kind="comment", section_key="purpose", title="Comment on the purpose")
    post_comment(open_consultation, actor=keen, body="First.", section_key="purpose")
    post_comment(open_consultation, actor=keen, body="Second.", section_key="purpose")
    post_comment(open_consultation, actor=other, body="Elsewhere.", section_key=None)  # not on the section
    db.session.flush()
    whole = publish(open_consultation, author, organisation, kind="comment", title="Comment on anything")
    whole.created_at = call.created_at
    db.session.flush()
    progress = calls.progress_of([call, whole])
    assert progress[call.id].count == 1  # Keen, once; Early came before the call
    assert progress[whole.id].count == 2  # Keen and Other


def test_progress_of_many_calls_takes_one_query_per_kind(open_consultation, author, organisation, amendment, app):
    made = [publish(open_consultation, author, organisation, amendment="A1", title=f"Call {i}") for i in range(5)]
    made += [make_call(open_consultation, organisation=organisation) for _ in range(5)]
    statements = []
    from sqlalchemy import event

    engine = db.session.get_bind()

    def seen(*args, **kwargs):
        statements.append(args)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        calls.progress_of(made)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 2


def test_a_call_closes_at_its_deadline_with_no_request_arriving(app, open_consultation, author, organisation, amendment):
    from consult.core.jobs import queue

    huey = queue(app).huey
    before = {task.id for task in huey.scheduled()}
    deadline = utcnow() + timedelta(hours=5)
    call = publish(open_consultation, author, organisation, amendment="A1", deadline=deadline)
    assert {task.id for task in huey.scheduled()} == before  # not before the call is committed
    db.session.commit()
    due = [t for t in huey.scheduled() if t.id not in before and t.name == calls.close_calls_by_deadline.__name__]
    due_at = deadline.astimezone(UTC).replace(tzinfo=None)
    assert any(timedelta(0) <= t.eta - due_at <= timedelta(seconds=1) for t in due)  # at the deadline, not before

    voter = make_user(name="In time")
    cast_vote(open_consultation, actor=voter, value="support", contribution=amendment)
    call.deadline = utcnow()  # passed (just after the vote in time)
    db.session.commit()
    queue(app).enqueue(calls.close_calls_by_deadline)  # what the worker runs every minute and at the deadline
    db.session.refresh(call)
    assert not call.is_open and call.closed_at == call.deadline
    assert calls.close_due_calls() == 0  # closed once: a second worker finds nothing to close

    cast_vote(open_consultation, actor=make_user(name="Too late"), value="support", contribution=amendment)
    db.session.flush()
    assert calls.progress_of([call])[call.id].count == 1  # a closed call keeps its final figure


def test_a_publisher_closes_a_call_early_once(open_consultation, author, organisation, amendment, citizen):
    call = publish(open_consultation, author, organisation, amendment="A1")
    with pytest.raises(PermissionDenied):
        calls.close_call(call, actor=citizen)
    assert calls.close_call(call, actor=author) is True
    assert calls.close_call(call, actor=author) is False
    with pytest.raises(RuleViolation):
        calls.update_call(call, actor=author, title="New", body="", goal=5, deadline=utcnow() + timedelta(days=1))


def test_a_group_coordinator_publishes_and_members_and_followers_are_told_once(open_consultation, citizen):
    coordinator, member, follower = make_user(name="Coordinator"), make_user(name="Member"), make_user(name="Follower")
    group = call_group(coordinator, members=[member, citizen])
    follow(open_consultation, actor=follower)
    follow(open_consultation, actor=citizen)  # a member who follows too: told once
    db.session.commit()
    call = publish(
        open_consultation,
        coordinator,
        group,
        kind="attend",
        title="Come to the hearing",
        event_starts_at=utcnow() + timedelta(days=5),
        location="Town hall, room 2",
        deadline=None,
    )
    assert call.deadline == call.event_starts_at  # an event takes people's word until it starts
    db.session.commit()  # the fan-out runs after the commit (at once in tests)
    event = db.session.scalar(select(Event).where(Event.kind == "call_published"))
    told = set(db.session.scalars(select(Notification.user_id).where(Notification.event_id == event.id)))
    assert told == {member.id, citizen.id, follower.id}  # never the coordinator who published it
    assert count(Notification, Notification.event_id == event.id, Notification.user_id == citizen.id) == 1

    from consult.notifications.messages import describe

    message = describe(event, member)
    assert "Come to the hearing" in message.text and group.name in message.text and message.path == f"/calls/{call.id}"


def test_only_publishers_publish_and_only_on_open_consultations(open_consultation, organisation, citizen, author, amendment):
    other_group = call_group(make_user(name="Someone"))
    with pytest.raises(PermissionDenied):
        publish(open_consultation, citizen, organisation, amendment="A1")
    with pytest.raises(PermissionDenied):
        publish(open_consultation, citizen, other_group, amendment="A1")
    closed = make_consultation(organisation, author=author, state="closed", slug="closed-one")
    with pytest.raises(RuleViolation) as refused:
        publish(closed, author, organisation, kind="comment")
    assert refused.value.status == 409


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"goal": 0}, "goal"),
        ({"goal": 1_000_001}, "goal"),
        ({"title": "   "}, "title"),
        ({"deadline": utcnow() - timedelta(hours=1)}, "deadline"),
        ({"deadline": utcnow() + timedelta(days=400)}, "deadline"),  # after the consultation closes
        ({"amendment": "A99"}, "amendment"),
        ({"kind": "dance"}, "kind"),
        ({"kind": "comment", "section_key": "nowhere"}, "section_key"),
        ({"kind": "sign", "submission_id": 12345}, "submission"),
        ({"kind": "attend", "location": "Hall"}, "event_starts_at"),
        ({"kind": "attend", "event_starts_at": utcnow() + timedelta(days=2)}, "location"),
        ({"kind": "attend", "event_starts_at": utcnow() + timedelta(days=1), "location": "Hall"}, "deadline"),  # after it starts
    ],
)
def test_bad_details_are_refused_with_a_400_on_their_field(open_consultation, author, organisation, amendment, fields, field):
    fields.setdefault("amendment", "A1")
    with pytest.raises(RuleViolation) as refused:
        publish(open_consultation, author, organisation, **fields)
    assert (refused.value.status, refused.value.field) == (400, field)


def test_the_new_call_form_refuses_bad_input_with_a_4xx_and_stores_nothing(client, open_consultation, author, citizen, amendment):
    db.session.commit()
    url = f"/c/{open_consultation.slug}/calls/new"
    login(client, citizen)
    assert client.get(url).status_code == 403
    login(client, author)
    assert client.get(url).status_code == 200
    base = {"publisher": f"organisation:{open_consultation.organisation_id}", "kind": "support", "amendment": "A1", "title": "Support"}
    soon = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    for bad in (
        {"goal": "0"},
        {"goal": "lots"},
        {"goal": "5", "deadline": "yesterday"},
        {"goal": "5"},
        {"goal": "5", "deadline": soon, "amendment": "A7"},
    ):
        response = client.post(url, data=base | bad)
        assert response.status_code == 400, bad
    assert client.post(url, data=base | {"goal": "5", "deadline": soon, "publisher": "group:1"}).status_code == 400
    assert count(CallToAction) == 0
    response = client.post(url, data=base | {"goal": "5", "deadline": soon})
    assert response.status_code == 302
    call = db.session.scalar(select(CallToAction))
    assert response.headers["Location"].endswith(f"/calls/{call.id}")
    assert client.get("/calls/999999").status_code == 404
    assert client.get("/calls/999999.ics").status_code == 404


def test_pledging_is_once_per_person_and_can_be_taken_back(client, open_consultation, organisation, citizen):
    call = make_call(open_consultation, organisation=organisation)
    db.session.commit()
    login(client, citizen)
    for _ in range(2):  # a double click
        assert client.post(f"/calls/{call.id}/pledge").status_code == 302
    assert count(CallPledge, CallPledge.call_id == call.id) == 1
    assert calls.progress_of([call])[call.id].count == 1
    assert "I can" in client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert client.post(f"/calls/{call.id}/unpledge").status_code == 302
    assert count(CallPledge, CallPledge.call_id == call.id) == 0
    unconfirmed = make_user(name="Unconfirmed", confirmed=False)
    db.session.commit()
    login(client, unconfirmed)
    assert client.post(f"/calls/{call.id}/pledge").status_code == 403


def test_the_ics_file_parses_with_the_event_times_and_place(client, open_consultation, organisation):
    starts = (utcnow() + timedelta(days=6)).replace(microsecond=0, second=0)
    ends = starts + timedelta(hours=2)
    title = "Public hearing on the river, the docks; and the bridge \\ " + "é" * 60
    call = make_call(
        open_consultation,
        organisation=organisation,
        title=title,
        event_starts_at=starts,
        event_ends_at=ends,
        location="Town hall, room 2; east wing",
        body="Line one.\nLine two, with a comma.",
    )
    db.session.commit()
    response = client.get(f"/calls/{call.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    raw = response.data
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded at 75 octets
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    calendar = icalendar.Calendar.from_ical(raw)
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["DTSTART"].dt == starts and vevent["DTEND"].dt == ends
    assert str(vevent["SUMMARY"]) == title
    assert str(vevent["LOCATION"]) == "Town hall, room 2; east wing"
    assert "Line two, with a comma." in str(vevent["DESCRIPTION"]) and f"/calls/{call.id}" in str(vevent["URL"])
    assert str(vevent["UID"]).startswith(f"call-{call.id}@") and "DTSTAMP" in vevent


def test_the_consultation_page_lists_open_calls_at_the_top_and_the_call_page_is_public(
    client, open_consultation, organisation, author, amendment
):
    call = publish(open_consultation, author, organisation, amendment="A1", title="Support A1 by Friday", goal=40)
    closed = make_call(open_consultation, organisation=organisation, title="An old call", closed=True)
    cast_vote(open_consultation, actor=make_user(name="Supporter"), value="support", contribution=amendment)
    db.session.commit()
    page = client.get(f"/c/{open_consultation.slug}").get_data(as_text=True)
    assert "Support A1 by Friday" in page and "An old call" not in page
    assert (
        page.index("Have your say") < page.index("Support A1 by Friday") < page.index('class="facts"')
    )  # at the top, after the one action
    shown = client.get(f"/calls/{call.id}")
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "<strong>1</strong> of 40" in text and 'max="40"' in text and "3 days left" in text
    assert f"/c/{open_consultation.slug}/amendments/A1" in text  # the way to act
    assert 'property="og:title"' in text
    assert "Closed on" in client.get(f"/calls/{closed.id}").get_data(as_text=True)


def test_a_hidden_groups_calls_are_not_shown(client, open_consultation):
    group = call_group(make_user(name="Coordinator"))
    call = make_call(open_consultation, group=group, title="A hidden group's call")
    group.state = GroupState.HIDDEN
    db.session.commit()
    assert client.get(f"/calls/{call.id}").status_code == 404
    assert "A hidden group" not in client.get(f"/c/{open_consultation.slug}").get_data(as_text=True)


def test_the_group_panel_lists_its_calls(open_consultation):
    coordinator = make_user(name="Coordinator")
    group = call_group(coordinator)
    open_call = make_call(open_consultation, group=group)
    old = make_call(open_consultation, group=group, closed=True)
    panel = calls.group_panel(group, coordinator)
    assert [c.call for c in panel["calls_open"]] == [open_call] and [c.call for c in panel["calls_closed"]] == [old]
    assert panel["calls_can_publish"] and not calls.group_panel(group, None)["calls_can_publish"]


def test_every_field_of_the_call_forms_is_bounded(app):
    """tests/core/test_forms.py walks ``*/forms.py``; the calls' forms live in ``call_forms.py``."""
    from consult.groups.call_forms import ButtonForm, CallDetailsForm, NewCallForm
    from tests.core.test_forms import _unbounded

    with app.test_request_context():
        assert {cls.__name__: _unbounded(cls(meta={"csrf": False})) for cls in (CallDetailsForm, NewCallForm, ButtonForm)} == {
            "CallDetailsForm": [],
            "NewCallForm": [],
            "ButtonForm": [],
        }
