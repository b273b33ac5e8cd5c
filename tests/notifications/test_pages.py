"""The notifications page, the unread count in the header, the follow buttons and an author's
update, over HTTP: what a person sees and what the forms do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.core.models import db
from consult.moderation import services as moderation
from consult.notifications import services as notifications
from consult.notifications.models import Event, EventKind, Follow, Notification
from tests.factories import login, make_consultation, make_user


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, title="Open data policy")


def notify(kind, consultation, **kwargs) -> int:
    event_id = notifications.record_event(kind, consultation, **kwargs)
    db.session.commit()  # fanned out at once in tests
    assert event_id is not None
    return event_id


def answered(consultation, author, citizen, decision="accepted_in_part") -> int:
    proposal = amendments.propose_amendment(
        consultation, actor=citizen, section_key="scope", rationale="Say which contractors.", quote="contractors", replacement="suppliers"
    )
    amendments.answer_amendment(proposal.amendment, actor=author, decision=decision, reason="Partly: suppliers too.")
    db.session.commit()
    recorded = db.session.scalar(
        select(Event.id).where(Event.kind == EventKind.AMENDMENT_ANSWERED.value, Event.contribution_id == proposal.id)
    )
    if recorded is not None:  # by the amendments' own signal, once that records events
        return recorded
    return notify(
        EventKind.AMENDMENT_ANSWERED, consultation, actor=author, recipient=citizen, contribution=proposal, data={"decision": decision}
    )


# ---- the page and the count -----------------------------------------------------------------


def test_the_page_says_what_happened_in_a_sentence_with_a_link_and_marks_unread(client, consultation, author, citizen):
    answered(consultation, author, citizen)
    login(client, citizen)
    page = client.get("/notifications").get_data(as_text=True)
    sentence = f"{author.display_name} answered your amendment A1 to “Scope”: accepted in part."
    assert sentence in page
    link = re.search(r'<a href="(/c/[a-z-]+/amendments/A\d+)">' + re.escape(sentence), page)
    assert link is not None, "the sentence links to the amendment"
    assert client.get(link.group(1)).status_code == 200
    assert "Unread:" in page  # in words, not only a colour


def test_the_header_counts_unread_notifications_for_the_signed_in_only(client, consultation, author, citizen):
    answered(consultation, author, citizen)
    assert "Notifications" not in client.get(f"/c/{consultation.slug}").get_data(as_text=True)
    login(client, citizen)
    header = client.get(f"/c/{consultation.slug}").get_data(as_text=True)
    unread = notifications.unread_count(citizen)
    assert unread >= 1
    assert f'<span class="unread-count">({unread})</span><span class="visually-hidden"> unread</span>' in header


def test_mark_one_and_mark_all_read_without_javascript(client, consultation, author, citizen):
    answered(consultation, author, citizen)
    notify(EventKind.UPDATE, consultation, actor=author, recipient=None, data={"subject": "A hearing", "body": "On Monday."})
    notifications.follow(consultation, actor=citizen)
    notify(EventKind.CLOSING_SOON, consultation)
    login(client, citizen)
    first = db.session.scalars(select(Notification).where(Notification.user_id == citizen.id).order_by(Notification.id)).first()
    unread = notifications.unread_count(citizen)
    assert unread >= 2
    response = client.post(f"/notifications/{first.id}/read", data={"next": "/notifications?page=1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/notifications?page=1#notification-{first.id}")
    assert notifications.unread_count(citizen) == unread - 1
    assert client.post("/notifications/read").status_code == 302
    assert notifications.unread_count(citizen) == 0
    assert "Nothing unread." in client.get("/notifications").get_data(as_text=True)


def test_nobody_marks_another_persons_notification(client, consultation, author, citizen):
    answered(consultation, author, citizen)
    theirs = db.session.scalar(select(Notification.id).where(Notification.user_id == citizen.id).limit(1))
    login(client, make_user())
    unread = notifications.unread_count(citizen)
    assert client.post(f"/notifications/{theirs}/read").status_code == 404
    assert notifications.unread_count(citizen) == unread


def test_the_page_never_shows_the_words_of_a_comment_hidden_since(client, consultation, citizen, moderator):
    writer = make_user(name="Rude Writer")
    notifications.follow(consultation, "section:scope", actor=citizen)
    comment = comments.post_comment(consultation, actor=writer, body="Something rude about the council.", section_key="scope")
    notify(EventKind.NEW_COMMENT, consultation, actor=writer, contribution=comment)
    login(client, citizen)
    assert "Something rude about the council." in client.get("/notifications").get_data(as_text=True)

    moderation.act([comment], actor=moderator, action="hide", reason="Insults.")
    db.session.commit()
    page = client.get("/notifications").get_data(as_text=True)
    assert "Rude Writer commented on “Scope”." in page
    assert "Something rude" not in page


def test_the_page_is_paginated_newest_first(client, consultation, citizen):
    notifications.follow(consultation, actor=citizen)
    for n in range(32):
        notify(EventKind.UPDATE, consultation, data={"subject": f"Update {n}", "body": "Text."})
    login(client, citizen)
    first = client.get("/notifications").get_data(as_text=True)
    assert first.index("Update 31") < first.index("Update 30")
    assert "Update 1<" not in first and 'rel="next"' in first
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert "Update 1" in second and "Update 0" in second and 'rel="prev"' in second
    assert client.get("/notifications?page=x").status_code == 400


def test_the_page_costs_the_same_queries_for_5_or_25_notifications(client, consultation, author, citizen):
    notifications.follow(consultation, actor=citizen)
    notifications.follow(consultation, "section:scope", actor=citizen)
    login(client, citizen)

    def some_of_each():
        writer = make_user()
        comment = comments.post_comment(consultation, actor=writer, body="On scope.", section_key="scope", quote="every department")
        notify(EventKind.NEW_COMMENT, consultation, actor=writer, contribution=comment)
        answered(consultation, author, citizen)
        notify(EventKind.UPDATE, consultation, actor=author, data={"subject": "News", "body": "Text."})
        notify(EventKind.VERSION_PUBLISHED, consultation, actor=author, version=consultation.current_version)
        notify(EventKind.CLOSING_SOON, consultation)

    def statements() -> int:
        with statements_on(r"\w+") as seen:
            assert client.get("/notifications").status_code == 200
        return len(seen)

    some_of_each()
    few = statements()
    for _ in range(4):
        some_of_each()
    assert statements() == few


def test_the_pages_need_sign_in(client):
    assert "/signin" in client.get("/notifications").headers["Location"]


@contextmanager
def statements_on(table: str) -> Iterator[list[str]]:
    """The SQL statements that read ``table`` while the block runs."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if re.search(rf"\bFROM {table}\b", statement):
            seen.append(statement)

    engine = db.session.get_bind()
    engine = getattr(engine, "engine", engine)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_count_and_the_follow_buttons_cost_one_query_each_per_page(client, consultation, citizen):
    for n in range(5):
        comments.post_comment(consultation, actor=make_user(), body=f"Thread {n}.", section_key="scope")
    notifications.follow(consultation, "section:scope", actor=citizen)
    login(client, citizen)
    for url in (f"/c/{consultation.slug}", f"/c/{consultation.slug}/s/scope", "/notifications"):
        with statements_on("notifications") as counts, statements_on("follows") as follows:
            page = client.get(url).get_data(as_text=True)
        assert len(counts) <= 2, (url, counts)  # the count, and on its own page the list
        assert len([s for s in counts if "count(" in s.lower()]) == 1, (url, counts)
        if url != "/notifications":
            assert page.count("follow-form") >= 3, url  # the consultation's, a section's, and threads' or sections'
            assert len(follows) == 1, (url, follows)


# ---- follow buttons -------------------------------------------------------------------------


def test_follow_and_unfollow_a_section_from_the_consultation_page(client, consultation, citizen):
    login(client, citizen)
    page = client.get(f"/c/{consultation.slug}").get_data(as_text=True)
    assert "Follow<span class=\"visually-hidden\"> the section Scope</span>" in page
    response = client.post(f"/c/{consultation.slug}/follow", data={"target": "section:scope", "next": f"/c/{consultation.slug}#s-scope"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/c/{consultation.slug}#s-scope")
    assert notifications.is_following(citizen, consultation, "section:scope")
    page = client.get(f"/c/{consultation.slug}").get_data(as_text=True)
    assert 'Following<span class="visually-hidden"> the section Scope</span>' in page
    assert 'Follow<span class="visually-hidden"> this consultation</span>' in page  # the rest stays unfollowed

    client.post(f"/c/{consultation.slug}/unfollow", data={"target": "section:scope"})
    assert not notifications.is_following(citizen, consultation, "section:scope")


def test_follow_an_amendment_and_a_thread_from_their_pages(client, consultation, citizen):
    other = make_user()
    proposal = amendments.propose_amendment(
        consultation, actor=other, section_key="scope", rationale="Why.", quote="contractors", replacement="suppliers"
    )
    comment = comments.post_comment(consultation, actor=other, body="A thread.", section_key="scope")
    db.session.commit()
    login(client, citizen)
    assert f"Follow<span class=\"visually-hidden\"> amendment {proposal.amendment.label}</span>" in client.get(
        f"/amendments/{proposal.id}", follow_redirects=True
    ).get_data(as_text=True)
    thread = client.get(f"/c/{consultation.slug}/s/scope").get_data(as_text=True)
    assert f"Follow<span class=\"visually-hidden\"> the thread of comment #{comment.id}</span>" in thread
    assert 'Follow<span class="visually-hidden"> the section Scope</span>' in thread
    for target in (f"contribution:{proposal.id}", f"contribution:{comment.id}"):
        assert client.post(f"/c/{consultation.slug}/follow", data={"target": target}).status_code == 302
        assert notifications.is_following(citizen, consultation, target)
    assert f"Following<span class=\"visually-hidden\"> the thread of comment #{comment.id}</span>" in client.get(
        f"/c/{consultation.slug}/s/scope"
    ).get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "section:no-such-section",
        "contribution:999999",
        "contribution:0",
        "elsewhere",
        "section:" + "x" * 200,
        "contribution:12345678901234567890",
    ],
)
def test_nothing_to_follow_is_a_clear_4xx_and_stores_nothing(client, consultation, citizen, target):
    login(client, citizen)
    for action in ("follow", "unfollow"):
        response = client.post(f"/c/{consultation.slug}/{action}", data={"target": target})
        assert response.status_code in (400, 404), (action, target, response.status_code)
    assert db.session.scalar(select(Follow.id).where(Follow.user_id == citizen.id)) is None


def test_a_hidden_contribution_cannot_be_followed_but_can_be_unfollowed(client, consultation, citizen, moderator):
    comment = comments.post_comment(consultation, actor=make_user(), body="Soon hidden.", section_key="scope")
    notifications.follow(consultation, f"contribution:{comment.id}", actor=citizen)
    moderation.act([comment], actor=moderator, action="hide", reason="Spam.")
    db.session.commit()
    login(client, citizen)
    assert client.post(f"/c/{consultation.slug}/unfollow", data={"target": f"contribution:{comment.id}"}).status_code == 302
    assert client.post(f"/c/{consultation.slug}/follow", data={"target": f"contribution:{comment.id}"}).status_code == 404


def test_no_follow_buttons_for_the_signed_out_or_on_a_draft(client, organisation, author, consultation):
    assert "Follow<span" not in client.get(f"/c/{consultation.slug}").get_data(as_text=True)
    draft = make_consultation(organisation, author=author, state="draft", slug="a-draft")
    db.session.commit()
    login(client, author)
    assert "Follow<span" not in client.get(f"/c/{draft.slug}").get_data(as_text=True)
    assert client.post(f"/c/{draft.slug}/follow", data={"target": "consultation"}).status_code == 403


def test_a_next_address_elsewhere_is_not_followed(client, consultation, citizen):
    login(client, citizen)
    response = client.post(f"/c/{consultation.slug}/follow", data={"target": "consultation", "next": "//evil.example/"})
    assert response.headers["Location"].endswith(f"/c/{consultation.slug}")


# ---- an author's update ---------------------------------------------------------------------


def test_an_author_sends_an_update_to_the_followers(client, consultation, author, citizen):
    notifications.follow(consultation, actor=citizen)
    db.session.commit()
    login(client, author)
    page = client.get(f"/c/{consultation.slug}").get_data(as_text=True)
    assert f'href="/c/{consultation.slug}/update"' in page  # in the author's tools
    assert "1 person follows" in client.get(f"/c/{consultation.slug}/update").get_data(as_text=True)
    response = client.post(
        f"/c/{consultation.slug}/update",
        data={"subject": "A public hearing on 12 January", "body": "Come to **City Hall**.<script>alert(1)</script>"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/c/{consultation.slug}/updates")
    event = db.session.scalar(select(Event).where(Event.kind == "update"))
    assert event.data == {"subject": "A public hearing on 12 January", "body": "Come to **City Hall**.<script>alert(1)</script>"}
    assert db.session.scalar(select(Notification.user_id).where(Notification.event_id == event.id)) == citizen.id

    public = client.get(f"/c/{consultation.slug}/updates").get_data(as_text=True)
    assert "<strong>City Hall</strong>" in public and "<script>alert" not in public

    login(client, citizen)
    mine = client.get("/notifications").get_data(as_text=True)
    assert f"{consultation.organisation.name} sent an update on “Open data policy”: A public hearing on 12 January" in mine
    assert "<strong>City Hall</strong>" in mine and "<script>alert" not in mine


@pytest.mark.parametrize(
    "data, error",
    [
        ({"subject": "", "body": "Text."}, "Write a subject."),
        ({"subject": "S" * 151, "body": "Text."}, "Keep the subject to 150 characters."),
        ({"subject": "Hearing", "body": "   "}, "Write the update."),
        ({"subject": "Hearing", "body": "x" * 5001}, "Keep the update to 5,000 characters."),
    ],
)
def test_an_update_within_limits_or_the_form_again(client, consultation, author, data, error):
    login(client, author)
    response = client.post(f"/c/{consultation.slug}/update", data=data)
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert db.session.scalar(select(Event.id).where(Event.kind == "update")) is None


def test_only_the_organisations_authors_send_updates(client, consultation, citizen):
    login(client, citizen)
    assert client.get(f"/c/{consultation.slug}/update").status_code == 403
    assert client.post(f"/c/{consultation.slug}/update", data={"subject": "Hi", "body": "Spam."}).status_code == 403
    assert f'href="/c/{consultation.slug}/update"' not in client.get(f"/c/{consultation.slug}").get_data(as_text=True)


def test_bad_input_is_a_clear_4xx(client, consultation, citizen):
    login(client, citizen)
    assert client.post("/notifications/99999999999999999999/read").status_code == 404
    assert client.post(f"/c/{consultation.slug}/follow", data={}).status_code == 400
    assert client.post("/c/no-such-consultation/follow", data={"target": "consultation"}).status_code == 404
    assert client.get("/c/no-such-consultation/updates").status_code == 404
    assert client.get("/c/no-such-consultation/update").status_code == 404
