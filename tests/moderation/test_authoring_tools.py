"""Moderation tools of issue 17: hiding and blocking from the contribution itself, the queue's
"select all" and filter by consultation, and a suggested group made a theme in one step."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.core.models import db
from consult.moderation import services
from consult.moderation.models import Block, ContributionTheme, ModerationLogEntry, Theme
from tests.factories import login, make_consultation, make_user

TEXT = """## Deadlines

Councils must respond within 30 days of receipt of a request.

## Fees

No fee may be charged for the first hour of work.
"""


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="access", title="Access to information", text=TEXT)


@pytest.fixture
def moderator(organisation):
    return make_user(name="Mo Moderator", role="moderator", organisation=organisation)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def ticked(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'name="ids" value="(\d+)" id="select-\d+" aria-label="Select #\d+" checked', html)}


def boxes(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'name="ids" value="(\d+)" id="select-\d+"', html)}


# ---- from the contribution itself ----------------------------------------------------------


def test_a_moderator_sees_the_control_on_the_contribution_and_others_do_not(client, consultation, moderator, citizen):
    c = comments.post_comment(consultation, actor=citizen, body="Some words", section_key="fees")
    db.session.commit()
    page = f"/c/{consultation.slug}/s/fees"
    login(client, citizen)
    assert f'action="/contributions/{c.id}/moderate"' not in client.get(page).get_data(as_text=True)
    assert client.get(f"/contributions/{c.id}/moderate").status_code == 404
    assert client.post(f"/contributions/{c.id}/moderate", data={"action": "hide", "reason": "x"}).status_code == 404
    login(client, moderator)
    html = client.get(page).get_data(as_text=True)
    assert f'action="/contributions/{c.id}/moderate"' in html and "Block Casey Citizen" in html
    assert c.moderation_state == "visible"


def test_a_moderator_blocks_the_author_from_the_contribution(client, consultation, moderator, citizen, organisation):
    c = comments.post_comment(consultation, actor=citizen, body="Abuse", section_key="fees")
    other = comments.post_comment(consultation, actor=citizen, body="Another of theirs")
    db.session.commit()
    login(client, moderator)
    response = client.post(f"/contributions/{c.id}/moderate", data={"action": "block", "reason": "Repeated abuse", "rule": ""})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/comments/{c.id}")
    assert count(Block, Block.user_id == citizen.id, Block.organisation_id == organisation.id) == 1
    assert count(ModerationLogEntry, ModerationLogEntry.reason == "Repeated abuse") == 1
    # the same rule as the queue's block: everything they wrote is gone from public view
    client.post("/signout")
    assert "Another of theirs" not in client.get(f"/c/{consultation.slug}/comments").get_data(as_text=True)
    assert other.moderation_state == "visible"  # blocking changes no contribution


def test_a_moderator_hides_from_the_contribution_and_the_reason_is_needed(client, consultation, moderator, citizen):
    c = comments.post_comment(consultation, actor=citizen, body="Off topic words", section_key="fees")
    db.session.commit()
    login(client, moderator)
    refused = client.post(f"/contributions/{c.id}/moderate", data={"action": "hide", "reason": "  ", "rule": "off_topic"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Give the reason for hiding" in html
    assert '<option value="off_topic" selected>' in html  # what was chosen is kept
    db.session.refresh(c)
    assert c.moderation_state == "visible" and count(ModerationLogEntry) == 0
    done = client.post(f"/contributions/{c.id}/moderate", data={"action": "hide", "reason": "Not about fees", "rule": "off_topic"})
    assert done.status_code == 302
    db.session.refresh(c)
    assert c.moderation_state == "hidden" and c.hidden_reason == "Not about fees"
    assert "Not about fees" in client.get(f"/c/{consultation.slug}/s/fees").get_data(as_text=True)


def test_an_unknown_action_is_refused_on_the_form(client, consultation, moderator, citizen):
    c = comments.post_comment(consultation, actor=citizen, body="Words")
    db.session.commit()
    login(client, moderator)
    response = client.post(f"/contributions/{c.id}/moderate", data={"action": "delete", "reason": "x"})
    assert response.status_code == 400 and "Choose what to do" in response.get_data(as_text=True)
    assert count(Block) == 0


def test_an_amendment_has_the_control_too(client, consultation, moderator, citizen):
    a = amendments.propose_amendment(
        consultation,
        actor=citizen,
        section_key="fees",
        proposed_text="No fee may be charged for the first two hours of work.",
        rationale="More time.",
    )
    db.session.commit()
    login(client, moderator)
    html = client.get(f"/amendments/{a.id}", follow_redirects=True).get_data(as_text=True)
    assert f'action="/contributions/{a.id}/moderate"' in html and "Hide this amendment" in html
    response = client.post(f"/contributions/{a.id}/moderate", data={"action": "hide", "reason": "Spam"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/amendments/{a.id}")


# ---- the queue: select all, filter by consultation -------------------------------------------


@pytest.fixture
def two_queues(organisation, author, consultation, citizen):
    other = make_consultation(organisation, author=author, state="open", slug="parking", title="Parking", text=TEXT)
    reporter = make_user()
    here = [comments.post_comment(consultation, actor=citizen, body=f"Here {i}") for i in range(3)]
    there = [comments.post_comment(other, actor=citizen, body=f"There {i}") for i in range(2)]
    for c in here + there:
        services.report(c, actor=reporter, reason="spam")
    db.session.commit()
    return other, here, there


def test_select_all_ticks_every_box_of_the_page_and_does_nothing_else(client, organisation, moderator, two_queues):
    other, here, there = two_queues
    login(client, moderator)
    queue = f"/o/{organisation.slug}/moderation"
    page = client.get(queue).get_data(as_text=True)
    assert ticked(page) == set() and 'form="select-page-form"' in page and ">Select all<" in page
    selected = client.post(queue, data={"select": "all", "action": "hide", "reason": ""})
    html = selected.get_data(as_text=True)
    assert selected.status_code == 200 and ticked(html) == {c.id for c in here + there}
    assert ">Select none<" in html
    assert all(c.moderation_state == "visible" for c in here + there) and count(ModerationLogEntry) == 0
    assert ticked(client.post(queue, data={"select": "none"}).get_data(as_text=True)) == set()
    assert client.post(queue, data={"select": "everything"}).status_code == 400


def test_the_queue_is_filtered_by_consultation(client, organisation, moderator, consultation, two_queues):
    other, here, there = two_queues
    login(client, moderator)
    queue = f"/o/{organisation.slug}/moderation"
    assert boxes(client.get(queue).get_data(as_text=True)) == {c.id for c in here + there}
    page = client.get(f"{queue}?consultation=parking").get_data(as_text=True)
    assert boxes(page) == {c.id for c in there} and '<option value="parking" selected>' in page
    # select all on the filtered page ticks only its own; acting keeps the filter
    assert ticked(client.post(f"{queue}?consultation=parking", data={"select": "all"}).get_data(as_text=True)) == {c.id for c in there}
    done = client.post(f"{queue}?consultation=parking", data={"ids": [c.id for c in there], "action": "approve"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/moderation?consultation=parking")
    assert boxes(client.get(f"{queue}?consultation=parking").get_data(as_text=True)) == set()
    assert boxes(client.get(queue).get_data(as_text=True)) == {c.id for c in here}
    unknown = client.get(f"{queue}?consultation=somebody-elses")
    assert unknown.status_code == 400 and "Choose one of this organisation" in unknown.get_data(as_text=True)


# ---- a suggested group made a theme ----------------------------------------------------------

BIKE = [
    "Build protected bike lanes on the high street.",
    "Protected bike lanes on the high street, please.",
    "We need protected bike lanes along the high street.",
    "Bike lanes on the high street must be protected.",
]
BUS = [
    "Run the night bus every twenty minutes.",
    "The night bus should come every twenty minutes.",
    "A night bus every twenty minutes would help shift workers.",
    "Night bus service every twenty minutes.",
]
TREES = ["Plant more trees in the park.", "More trees in the park, please.", "The park needs more trees planted."]


def test_a_suggested_group_becomes_a_theme_in_one_step(client, consultation, moderator, citizen, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "SUGGESTIONS_DIR", str(tmp_path / "suggestions"))
    written = {body: comments.post_comment(consultation, actor=citizen, body=body) for body in BIKE + BUS + TREES}
    db.session.commit()
    login(client, moderator)
    html = client.get(f"/c/{consultation.slug}/themes").get_data(as_text=True)  # jobs run at once in the tests
    forms = re.findall(r'<form method="post" action="/c/access/themes/from-group".*?</form>', html, re.S)
    assert forms and all("Make this group a theme" in f for f in forms)
    bike_form = next(f for f in forms if "bike" in f)
    ids = [int(i) for i in re.findall(r'name="ids" value="(\d+)"', bike_form)]
    assert {written[b].id for b in BIKE} <= set(ids)
    response = client.post(f"/c/{consultation.slug}/themes/from-group", data={"name": "Cycling", "ids": ids})
    assert response.status_code == 302
    theme = db.session.scalar(select(Theme).where(Theme.name == "Cycling"))
    assert theme is not None
    assert set(db.session.scalars(select(ContributionTheme.contribution_id).where(ContributionTheme.theme_id == theme.id))) == set(ids)
    # the name is taken now: said at the group, nothing tagged twice, the name typed kept
    again = client.post(f"/c/{consultation.slug}/themes/from-group", data={"name": "Cycling", "ids": ids})
    page = again.get_data(as_text=True)
    assert again.status_code == 400 and "There is already a theme “Cycling”" in page and 'value="Cycling"' in page
    assert count(Theme) == 1


def test_a_group_of_another_consultations_contributions_is_refused(client, consultation, moderator, organisation, author, citizen):
    other = make_consultation(organisation, author=author, state="open", slug="parking", title="Parking", text=TEXT)
    foreign = comments.post_comment(other, actor=citizen, body="Elsewhere")
    db.session.commit()
    login(client, moderator)
    response = client.post(f"/c/{consultation.slug}/themes/from-group", data={"name": "Mixed", "ids": [foreign.id]})
    assert response.status_code == 400 and count(Theme) == 0


# ---- the outcome page's chart ----------------------------------------------------------------


def test_the_outcome_chart_labels_are_the_pages_text_beside_the_bars(client, organisation, author, citizen):
    c = make_consultation(organisation, author=author, state="open", slug="charted", title="Charted", text=TEXT)
    for i in range(3):
        comments.post_comment(c, actor=citizen, body=f"Comment {i}")
    from consult.proposals import services as proposals
    from consult.proposals.models import Transition

    proposals.change_state(c, Transition.CLOSE, actor=author)
    proposals.change_state(c, Transition.CONCLUDE, actor=author, confirmed=True)
    db.session.commit()
    html = client.get("/c/charted/outcome").get_data(as_text=True)
    figures = html.split('id="figures-heading"')[1].split("</section>")[0]
    assert "<text" not in figures and "font-size" not in figures  # no type scaled with a drawing
    labels = re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="bar-number">(\d+)</td>', figures)
    widths = [float(w) for w in re.findall(r'<rect x="0" y="0" height="16" width="([\d.]+)%">', figures)]
    assert labels and len(widths) == len(labels)
    largest = max(int(n) for _, n in labels)
    assert [round(int(n) / largest * 100, 1) for _, n in labels] == widths


def test_a_refused_group_is_said_even_when_no_group_on_the_page_matches(client, consultation, moderator, citizen):
    comment = comments.post_comment(consultation, actor=citizen, body="Alone")
    db.session.commit()
    login(client, moderator)
    response = client.post(f"/c/{consultation.slug}/themes/from-group", data={"name": "", "ids": [comment.id]})
    assert response.status_code == 400 and "Name the theme." in response.get_data(as_text=True)
    assert count(Theme) == 0
