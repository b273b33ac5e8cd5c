"""The statement and opinion-map pages (issue #7): the plain list, writing a statement, voting on
one statement at a time, and the map with its table, consensus and the viewer's own place."""

from __future__ import annotations

import re

import pytest

from consult.core.models import db
from consult.voting import services as voting
from consult.voting import statements
from consult.voting.models import OpinionMapCache
from tests.factories import login, make_consultation, make_user


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="buses", title="Night buses")


def two_camps(consultation, n=16):
    """Eight statements and ``n`` voters in two clear camps; returns (statements, voters)."""
    writer = make_user(name="Wendy Writer")
    items = [statements.post_statement(consultation, actor=writer, body=f"Statement number {i}.") for i in range(8)]
    voters = [make_user(name=f"Voter {i}") for i in range(n)]
    for i, person in enumerate(voters):
        camp = i % 2
        for j, s in enumerate(items):
            if j == 0:
                value = "agree"  # everyone agrees: a consensus statement
            else:
                value = "agree" if (j % 2 == camp) else "disagree"
            voting.cast_vote(consultation, actor=person, value=value, contribution=s)
    db.session.flush()
    return items, voters


def test_the_list_shows_vote_buttons_and_keeps_tallies_for_those_who_voted(client, consultation, citizen):
    items, _ = two_camps(consultation, n=2)
    page = client.get("/c/buses/statements")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Statement number 0." in html and "2 agree" not in html  # open: not before voting
    assert "How others voted is shown once you have voted." in html
    assert "Agree<span" not in html  # anonymous: no buttons, no form
    assert 'name="body"' not in html
    login(client, citizen)
    html = client.get("/c/buses/statements").get_data(as_text=True)
    assert f'id="vote-{items[0].id}"' in html
    assert 'value="agree"' in html and 'value="disagree"' in html and 'value="pass"' in html
    assert 'name="body"' in html


def test_writing_a_statement(client, consultation, citizen):
    login(client, citizen)
    too_long = "word " * 70
    refused = client.post("/c/buses/statements", data={"body": too_long})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "at most 280 characters" in html
    assert too_long.strip() in html  # what they wrote is kept
    done = client.post("/c/buses/statements", data={"body": "Buses should run all night."})
    assert done.status_code == 302
    assert "Buses should run all night." in client.get("/c/buses/statements").get_data(as_text=True)


def test_one_statement_at_a_time_least_voted_first(client, consultation, citizen):
    writer = make_user(name="Wendy Writer")
    a = statements.post_statement(consultation, actor=writer, body="First statement.")
    b = statements.post_statement(consultation, actor=writer, body="Second statement.")
    voting.cast_vote(consultation, actor=make_user(), value="agree", contribution=a)
    login(client, citizen)
    html = client.get("/c/buses/statements/vote").get_data(as_text=True)
    assert "Second statement." in html and "First statement." not in html
    assert f"/c/buses/statements/vote?after={b.id}" in html  # back here after voting, shown how others voted
    client.post("/c/buses/vote", data={"contribution_id": b.id, "value": "pass", "next": "/c/buses/statements/vote"})
    html = client.get("/c/buses/statements/vote").get_data(as_text=True)
    assert "First statement." in html
    client.post("/c/buses/vote", data={"contribution_id": a.id, "value": "disagree"})
    assert "You have voted on every statement" in client.get("/c/buses/statements/vote").get_data(as_text=True)


def test_the_map_page_with_groups_table_consensus_and_you(client, consultation, moderator):
    items, voters = two_camps(consultation)
    data = statements.compute_map(consultation)
    assert data["k"] == 2
    page = client.get("/c/buses/opinion-map")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'role="img"' in html and "<title" in html
    assert "updated in a moment" not in html  # current
    assert html.count("<circle") >= 8 and "<rect x=" in html  # two shapes, not only two colours
    assert "<caption>The groups" in html
    assert re.search(r"Group 1.*?<td>8</td>", html, re.S) and re.search(r"Group 2.*?<td>8</td>", html, re.S)
    assert "Statement number 1." in html and "all 8 people in this group who voted on it " in html
    assert "91 %" not in html and "votes)" not in html  # neither the smoothed rate nor "9 of 9 votes"
    consensus = html.split('id="consensus-heading"')[1]
    assert "Statement number 0." in consensus
    assert ">You</text>" not in html and "Tag these representative statements" not in html

    login(client, voters[0])
    html = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert ">You</text>" in html and "You are in group" in html

    login(client, moderator)
    html = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert "Tag these representative statements with a theme" in html
    assert "/c/buses/themes?show=all" in html


def test_not_enough_votes_and_no_computation_on_the_request(client, consultation, citizen, queued_jobs):
    html = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert "not enough votes yet" in html
    assert db.session.get(OpinionMapCache, consultation.id) is None  # nothing computed on the request
    assert queued_jobs.pending() == ["recompute_opinion_map"]  # a job will
    queued_jobs.run()

    items, _ = two_camps(consultation)
    statements.compute_map(consultation)
    voting.cast_vote(consultation, actor=citizen, value="agree", contribution=items[1])  # the map is now stale
    cache = db.session.get(OpinionMapCache, consultation.id)
    seen = cache.vote_count
    for _ in range(3):
        html = client.get("/c/buses/opinion-map").get_data(as_text=True)
        assert "updated in a moment" in html and "reload" in html
        assert "Group 1" in html  # the stale map is still shown meanwhile
    db.session.expire_all()
    assert db.session.get(OpinionMapCache, consultation.id).vote_count == seen  # not recomputed on the request
    assert queued_jobs.pending() == ["recompute_opinion_map"]  # queued once for three visits

    assert queued_jobs.run() == 1
    db.session.expire_all()
    assert db.session.get(OpinionMapCache, consultation.id).vote_count == seen + 1
    assert "updated in a moment" not in client.get("/c/buses/opinion-map").get_data(as_text=True)


def test_a_hidden_statement_leaves_the_list_the_vote_page_and_the_map(client, consultation, citizen, moderator):
    from consult.moderation import services as moderation

    items, voters = two_camps(consultation)
    hidden = items[0]  # the consensus statement, on every page until it is hidden

    def shown(data):
        return {s["statement"] for group in data["groups"] for s in group["representative"]} | {
            s["statement"] for side in data["consensus"].values() for s in side
        }

    assert hidden.id in shown(statements.compute_map(consultation))
    assert "Statement number 0." in client.get("/c/buses/opinion-map").get_data(as_text=True)
    moderation.act([hidden], actor=moderator, action="hide", reason="Off topic.")
    db.session.commit()

    after = shown(statements.compute_map(consultation))
    assert after and hidden.id not in after
    login(client, citizen)
    for url in ("/c/buses/statements", "/c/buses/statements/vote", "/c/buses/opinion-map"):
        assert "Statement number 0." not in client.get(url).get_data(as_text=True), url
    refused = client.post("/c/buses/vote", data={"contribution_id": hidden.id, "value": "agree"})
    assert refused.status_code in (404, 409)


def test_everyone_voting_alike_shows_one_group_and_what_they_agree_on(client, consultation):
    writer = make_user(name="Wendy Writer")
    items = [statements.post_statement(consultation, actor=writer, body=f"Shared view {i}.") for i in range(8)]
    for i in range(16):
        person = make_user(name=f"Alike {i}")
        for s in items:
            voting.cast_vote(consultation, actor=person, value="agree", contribution=s)
    db.session.flush()
    assert statements.compute_map(consultation)["k"] == 1
    html = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert "not enough votes" not in html
    assert ">1 group</h2>" in html and "votes alike, so there is one group" in html
    assert re.search(r'class="consensus-agree">.*Shared view', html, re.S)


def test_a_statement_is_not_edited_or_deleted_once_written_and_links_to_its_place(client, consultation, citizen):
    mine = statements.post_statement(consultation, actor=citizen, body="Short statement.")
    db.session.commit()
    login(client, citizen)
    assert client.post(f"/comments/{mine.id}/edit", data={"body": "x" * 3000}).status_code == 403
    assert client.post(f"/comments/{mine.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(type(mine), mine.id).body == "Short statement."
    shown = client.get(f"/comments/{mine.id}")
    assert shown.status_code == 302 and shown.headers["Location"].endswith(f"/c/buses/statements#statement-{mine.id}")


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["\u00b2", "99999999999999999999"])  # "²" passes str.isdigit(); the other is past INTEGER
def test_a_vote_on_an_item_that_is_not_a_whole_number_in_range_is_a_400(client, consultation, citizen, number):
    login(client, citizen)
    response = client.post("/c/buses/vote", data={"contribution_id": number, "value": "agree"})
    assert response.status_code == 400 and "by its number" in response.get_data(as_text=True)
    assert voting.my_votes(citizen, consultation) == {}


@pytest.mark.parametrize(
    "target", ["/\n/evil.example", "/\t/evil.example", "/\r\n/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/"]
)
def test_after_voting_only_a_path_on_this_site_is_followed(client, consultation, citizen, target):
    statement = statements.post_statement(consultation, actor=make_user(), body="Buses should run all night.")
    db.session.commit()
    login(client, citizen)
    response = client.post("/c/buses/vote", data={"contribution_id": statement.id, "value": "agree", "next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "evil" not in location
