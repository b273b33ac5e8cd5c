"""Statements for a newcomer (issue 17): the tally hidden until you have voted (as Pol.is hides
it, so the count does not anchor the vote), progress through the statements, honest empty
states, a vote without ``next`` landing on the statements page, and the opinion map's words:
its legend, counts instead of a smoothed rate, and the page that reloads itself when the map
being computed is ready."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from consult.core.models import db
from consult.proposals.models import ConsultationState
from consult.voting import services as voting
from consult.voting import statements
from tests.factories import login, make_consultation, make_user
from tests.voting.test_opinion_pages import two_camps


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="buses", title="Night buses")


def three_statements(consultation, *, votes=2):
    """Three statements by someone else, each with ``votes`` agreeing votes by others."""
    writer = make_user(name="Wendy Writer")
    items = [statements.post_statement(consultation, actor=writer, body=f"Buses should do thing {i}.") for i in range(3)]
    for _ in range(votes):
        voter = make_user()
        for s in items:
            voting.cast_vote(consultation, actor=voter, value="agree", contribution=s)
    db.session.commit()
    return items


def item_html(html: str, statement_id: int) -> str:
    """The list item of one statement on the statements page."""
    match = re.search(rf'<li id="statement-{statement_id}".*?</li>', html, re.S)
    assert match, f"statement {statement_id} is not listed"
    return match.group(0)


def next_field(html: str) -> str:
    """The vote form's ``next`` (the page's main content: the header's language switcher has one too)."""
    main = html.split('id="main"', 1)[1]
    return re.search(r'name="next" value="([^"]*)"', main).group(1).replace("&amp;", "&")


# ---- the tally, hidden until you have voted --------------------------------------------------


def test_the_card_hides_the_tally_until_you_vote_then_shows_it(client, consultation, citizen):
    first, *_ = three_statements(consultation)
    login(client, citizen)
    card = client.get("/c/buses/statements/vote").get_data(as_text=True)
    assert "Buses should do thing 0." in card
    assert "2 agree" not in card and 'class="tally-agree"' not in card  # nothing to anchor the vote

    voted = client.post("/c/buses/vote", data={"contribution_id": first.id, "value": "disagree", "next": next_field(card)})
    assert voted.status_code == 302 and voted.headers["Location"] == f"/c/buses/statements/vote?after={first.id}"
    after = client.get(voted.headers["Location"]).get_data(as_text=True)
    shown = after.split('id="previous-heading"')[1].split("</section>")[0]
    assert "Buses should do thing 0." in shown
    assert "2 agree" in shown and "1 disagree" in shown and "your vote: disagree" in shown
    assert "Buses should do thing 1." in after  # and the next statement, its tally hidden
    assert after.count('class="tally-agree"') == 1


def test_after_naming_a_statement_you_did_not_vote_on_or_a_hidden_one_shows_no_tally(client, consultation, citizen, moderator):
    from consult.moderation import services as moderation

    first, second, _ = three_statements(consultation)
    voting.cast_vote(consultation, actor=citizen, value="agree", contribution=first)
    db.session.commit()
    login(client, citizen)
    assert 'id="previous-heading"' in client.get(f"/c/buses/statements/vote?after={first.id}").get_data(as_text=True)
    for after in (second.id, "x", "99999999999"):
        html = client.get(f"/c/buses/statements/vote?after={after}").get_data(as_text=True)
        assert 'id="previous-heading"' not in html and "2 agree" not in html, after
    moderation.act([first], actor=moderator, action="hide", reason="Off topic.")
    db.session.commit()
    html = client.get(f"/c/buses/statements/vote?after={first.id}").get_data(as_text=True)
    assert 'id="previous-heading"' not in html and "Buses should do thing 0." not in html


def test_the_list_shows_a_tally_once_you_voted_on_that_statement(client, consultation, citizen):
    first, second, _ = three_statements(consultation)
    login(client, citizen)
    html = client.get("/c/buses/statements").get_data(as_text=True)
    assert "2 agree" not in item_html(html, first.id)
    assert "How others voted is shown once you have voted." in item_html(html, first.id)
    client.post("/c/buses/vote", data={"contribution_id": first.id, "value": "agree", "next": "/c/buses/statements"})
    html = client.get("/c/buses/statements").get_data(as_text=True)
    assert "3 agree" in item_html(html, first.id) and "your vote: agree" in item_html(html, first.id)
    assert "agree</span>" not in item_html(html, second.id)  # still hidden where they have not voted


def test_your_own_statement_shows_its_tally_and_a_closed_consultation_shows_every_tally(client, consultation, citizen):
    items = three_statements(consultation)
    mine = statements.post_statement(consultation, actor=citizen, body="My own statement.")
    voting.cast_vote(consultation, actor=make_user(), value="agree", contribution=mine)
    db.session.commit()
    login(client, citizen)
    html = client.get("/c/buses/statements").get_data(as_text=True)
    assert "1 agree" in item_html(html, mine.id)
    consultation.state = ConsultationState.CLOSED
    db.session.commit()
    html = client.get("/c/buses/statements").get_data(as_text=True)
    for s in items:
        assert "2 agree" in item_html(html, s.id)  # voting is over: nothing left to anchor
    assert "shown once you have voted" not in html
    client.get("/signout")
    assert "2 agree" in item_html(client.get("/c/buses/statements").get_data(as_text=True), items[0].id)


def test_anonymous_readers_see_no_tally_while_voting_is_open(client, consultation):
    first, *_ = three_statements(consultation)
    html = client.get("/c/buses/statements").get_data(as_text=True)
    assert "2 agree" not in item_html(html, first.id) and "shown once you have voted" in html


# ---- progress ---------------------------------------------------------------------------------


def test_progress_counts_the_statements_of_others_you_voted_on(client, consultation, citizen):
    first, second, third = three_statements(consultation)
    mine = statements.post_statement(consultation, actor=citizen, body="My own statement.")  # not on their card
    voting.cast_vote(consultation, actor=citizen, value="pass", contribution=second)
    db.session.commit()
    assert statements.voting_progress(consultation, citizen) == statements.Progress(voted=1, total=3, others=3, own=1)
    login(client, citizen)
    card = client.get("/c/buses/statements/vote").get_data(as_text=True)
    assert re.search(r"You have voted on <strong>1 of 3</strong> statements", card)
    assert '<progress id="progress" max="3" value="1"' in card
    assert "Statement 2 of 3" in card
    client.post("/c/buses/vote", data={"contribution_id": first.id, "value": "agree"})
    card = client.get("/c/buses/statements/vote").get_data(as_text=True)
    assert "<strong>2 of 3</strong>" in card and "Statement 3 of 3" in card
    listed = client.get("/c/buses/statements").get_data(as_text=True)
    assert "<strong>2 of 3</strong>" in listed  # the list says it too
    client.post("/c/buses/vote", data={"contribution_id": mine.id, "value": "agree"})  # on the list, one's own too
    assert "<strong>3 of 4</strong>" in client.get("/c/buses/statements").get_data(as_text=True)
    assert "Statement 4 of 4" in client.get("/c/buses/statements/vote").get_data(as_text=True)


def test_progress_leaves_out_hidden_statements(client, consultation, citizen, moderator):
    from consult.moderation import services as moderation

    first, second, third = three_statements(consultation)
    voting.cast_vote(consultation, actor=citizen, value="agree", contribution=first)
    moderation.act([third], actor=moderator, action="hide", reason="Off topic.")
    db.session.commit()
    assert statements.voting_progress(consultation, citizen) == statements.Progress(voted=1, total=2, others=2, own=0)


# ---- empty states -----------------------------------------------------------------------------


def test_no_statements_at_all_says_so_and_what_to_do(client, consultation, citizen):
    login(client, citizen)
    card = client.get("/c/buses/statements/vote").get_data(as_text=True)
    assert "No statements yet" in card and "You have voted on every statement" not in card
    assert "Write the first one" in card and "/c/buses/statements#write-heading" in card
    assert "<progress" not in card  # no "0 of 0"
    listed = client.get("/c/buses/statements").get_data(as_text=True)
    assert "No one has written a statement yet. Write the first one above" in listed


def test_only_your_own_statements_is_not_everything_voted(client, consultation, citizen):
    statements.post_statement(consultation, actor=citizen, body="My own statement.")
    db.session.commit()
    login(client, citizen)
    card = client.get("/c/buses/statements/vote").get_data(as_text=True)
    assert "Nothing to vote on yet" in card and "The only statements so far are yours" in card
    assert "You have voted on every statement" not in card


def test_all_voted_says_so_and_links_the_map(client, consultation, citizen):
    for s in three_statements(consultation):
        voting.cast_vote(consultation, actor=citizen, value="agree", contribution=s)
    db.session.commit()
    login(client, citizen)
    card = client.get("/c/buses/statements/vote").get_data(as_text=True)
    assert "You have voted on every statement." in card and "All 3 of them." in card
    assert re.search(r'<a href="/c/buses/opinion-map">See where you stand on the opinion map</a>', card)
    assert "<strong>3 of 3</strong>" in card


def test_a_closed_consultation_offers_no_card(client, consultation, citizen):
    three_statements(consultation)
    consultation.state = ConsultationState.CLOSED
    db.session.commit()
    login(client, citizen)
    card = client.get("/c/buses/statements/vote").get_data(as_text=True)
    assert "Voting has ended" in card and "Buses should do thing 0." not in card


# ---- where a vote goes back to ----------------------------------------------------------------


@pytest.mark.parametrize("sent", [{}, {"next": ""}, {"next": "https://evil.example/"}, {"next": "//evil.example"}])
def test_a_statement_vote_without_a_good_next_returns_to_the_statements_page(client, consultation, citizen, sent):
    first, *_ = three_statements(consultation)
    login(client, citizen)
    response = client.post("/c/buses/vote", data={"contribution_id": first.id, "value": "agree", **sent})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/c/buses/statements#statement-{first.id}"
    assert client.get(response.headers["Location"]).status_code == 200
    withdrawn = client.post("/c/buses/vote", data={"contribution_id": first.id, "value": "withdraw"})
    assert withdrawn.headers["Location"] == f"/c/buses/statements#statement-{first.id}"


# ---- the opinion map's words ------------------------------------------------------------------


def statement_line(app, direction, n_success, n_trials, where=""):
    module = app.jinja_env.get_template("voting/_map.html").module
    stats = SimpleNamespace(statement=1, direction=direction, n_success=n_success, n_trials=n_trials)
    return re.sub(r"\s+", " ", str(module.statement_line(stats, {1: "Fares should fall."}, where)))


@pytest.mark.parametrize(
    ("direction", "n_success", "n_trials", "where", "said"),
    [
        ("agree", 9, 9, "in this group", "(all 9 people in this group who voted on it agree)"),
        ("agree", 7, 9, "in this group", "(7 of the 9 people in this group who voted on it agree: 78 %)"),
        ("disagree", 1, 1, "in this group", "(the one person in this group who voted on it disagrees)"),
        ("agree", 12, 16, "", "(12 of the 16 people who voted on it agree: 75 %)"),
    ],
)
def test_a_statement_on_the_map_says_its_share_in_words(app, direction, n_success, n_trials, where, said):
    with app.test_request_context():
        line = statement_line(app, direction, n_success, n_trials, where)
    assert line.startswith("Fares should fall.") and said in line


def test_the_map_shows_counts_not_the_smoothed_rate_and_an_inline_legend(client, consultation):
    items, _ = two_camps(consultation)
    data = statements.compute_map(consultation)
    smoothed = {round(s["p_success"] * 100) for g in data["groups"] for s in g["representative"]}
    assert 90 in smoothed  # 8 of 8 smoothed: (8 + 1) / (8 + 2); the page must not print it
    db.session.commit()
    html = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert "90 %" not in html and "votes)" not in html
    table = html.split("<caption>")[1].split("</table>")[0]
    assert "all 8 people in this group who voted on it" in table
    consensus = html.split('id="consensus-heading"')[1]
    assert "Statement number 0. <span" in consensus and "all 16 people who voted on it agree" in consensus
    legend = re.search(r'<ul class="map-legend".*?</ul>', html, re.S).group(0)
    entries = re.findall(r"<li>(.*?)</li>", legend, re.S)
    assert [re.sub(r"<svg.*?</svg>\s*", "", e, flags=re.S) for e in entries] == [
        "<span>Group 1: circles, 8 people</span>",
        "<span>Group 2: squares, 8 people</span>",
    ]


def test_a_map_being_computed_says_it_reloads_itself_and_links_a_reload(client, consultation, citizen, queued_jobs):
    items, _ = two_camps(consultation)
    statements.compute_map(consultation)
    db.session.commit()
    current = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert "opinion-map.js" not in current and "map-updating" not in current  # nothing to wait for
    assert client.get("/c/buses/opinion-map/status").get_json() == {"current": True, "updating": False, "failed": False}

    voting.cast_vote(consultation, actor=citizen, value="agree", contribution=items[1])
    db.session.commit()
    stale = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert 'data-status-url="/c/buses/opinion-map/status"' in stale and "/static/js/opinion-map.js" in stale
    assert '<span class="map-reload-auto" hidden>This page reloads itself when the new map is ready.</span>' in stale  # shown by the script
    assert '<a href="/c/buses/opinion-map">Reload the page</a> to see it.' in stale  # without JavaScript
    status = client.get("/c/buses/opinion-map/status")
    assert status.get_json() == {"current": False, "updating": True, "failed": False}
    assert status.headers["Cache-Control"] == "no-store"
    assert queued_jobs.pending() == ["recompute_opinion_map"]  # queued once, whoever asked

    queued_jobs.run()
    db.session.expire_all()
    assert client.get("/c/buses/opinion-map/status").get_json()["current"] is True


def test_the_map_status_of_a_consultation_you_may_not_see_is_a_404(client, organisation, author):
    make_consultation(organisation, author=author, state="draft", slug="secret")
    db.session.commit()
    assert client.get("/c/secret/opinion-map/status").status_code == 404
    assert client.get("/c/nowhere/opinion-map/status").status_code == 404
