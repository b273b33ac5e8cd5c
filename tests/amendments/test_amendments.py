"""Amendments and votes: proposing, redlines, co-supporters, voting, answers, the response
threshold, and the next version built from accepted amendments."""

import re

import pytest
from sqlalchemy import func, select

from consult.amendments import services
from consult.amendments.models import Amendment, AmendmentSupporter, Citation
from consult.comments import services as comments
from consult.contributions.models import Contribution, ModerationState
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.permissions import PermissionDenied
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from consult.voting import services as voting
from consult.voting.models import Vote
from tests.conftest import login
from tests.factories import make_consultation, make_organisation, make_user

TEXT = """## Deadlines

Councils must respond within 30 days of receipt of a request. Small councils may ask for *one* extension.

## Fees

No fee may be charged for the first hour of work.
"""


@pytest.fixture
def consultation(organisation, author):
    c = make_consultation(organisation, author=author, state="open", slug="access", title="Access to information", text=TEXT)
    c.response_threshold = 2
    return c


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def amend(c, who, quote, replacement, why="Because.", key="deadlines"):
    return services.propose_amendment(c, actor=who, section_key=key, rationale=why, quote=quote, replacement=replacement)


# ---- proposing -----------------------------------------------------------------------------


def test_propose_by_editing_the_section_shows_a_redline_and_a_preview(client, consultation, citizen):
    login(client, citizen)
    form = client.get("/c/access/s/deadlines/amend").get_data(as_text=True)
    assert "Councils must respond within 30 days" in form  # the editor is pre-filled
    new_text = "Councils must respond within 20 working days of receipt of a request. Small councils may ask for *one* extension."
    preview = client.post("/c/access/s/deadlines/amend", data={"proposed_text": new_text, "rationale": "Faster.", "preview": "1"})
    assert preview.status_code == 200 and count(Contribution) == 0  # a preview stores nothing
    page = preview.get_data(as_text=True)
    assert re.search(r"<del>.*30.*</del>", page) and re.search(r"<ins>.*20 working.*</ins>", page)

    response = client.post("/c/access/s/deadlines/amend", data={"proposed_text": new_text, "rationale": "Faster **answers**."})
    assert response.status_code == 302
    contribution = db.session.scalar(select(Contribution))
    assert contribution.kind == "amendment" and contribution.amendment.state == "open"
    assert contribution.body_html.strip() == "<p>Faster <strong>answers</strong>.</p>"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r"<del><span class=\"visually-hidden\">deleted: </span>30", page)
    assert "Preview the section with this amendment applied" in page and "<em>one</em>" in page


def test_propose_by_replacing_a_quoted_passage(consultation, citizen):
    c = amend(consultation, citizen, "within 30 days", "within 20 days")
    assert c.amendment.proposed_text.startswith("Councils must respond within 20 days of receipt")
    assert [(op.kind, op.text) for op in services.redline(c) if op.kind != "equal"] == [("delete", "30"), ("insert", "20")]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"quote": "within 60 days", "replacement": "x", "rationale": "Why not"}, "The words you quoted are not in the section"),
        ({"proposed_text": "", "rationale": "Why not"}, "would be empty"),
        ({"rationale": "Why not"}, "the same as the current text"),
        ({"quote": "within 30 days", "replacement": "within 20 days", "rationale": ""}, "needs a rationale"),
    ],
)
def test_bad_amendments_are_refused_with_a_clear_message(client, consultation, citizen, data, message):
    login(client, citizen)
    if "proposed_text" not in data and "quote" not in data:
        data = data | {"proposed_text": consultation.current_version.section("deadlines").body}
    response = client.post("/c/access/s/deadlines/amend", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(Contribution) == 0


def test_proposing_on_a_closed_consultation_is_refused(client, organisation, author, citizen):
    make_consultation(organisation, author=author, state="closed", slug="closed-one", text=TEXT)
    db.session.commit()
    login(client, citizen)
    response = client.post("/c/closed-one/s/deadlines/amend", data={"quote": "30 days", "replacement": "20 days", "rationale": "x"})
    assert response.status_code == 403 and count(Contribution) == 0


# ---- co-supporters and withdrawal ----------------------------------------------------------


def test_others_join_as_co_supporters_but_not_the_author(client, consultation, citizen):
    c = amend(consultation, citizen, "within 30 days", "within 20 days")
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.co_support(c.amendment, actor=citizen)
    other = make_user(name="Olga Other")
    db.session.commit()
    login(client, other)
    assert client.post(f"/amendments/{c.id}/support").status_code == 302
    assert client.post(f"/amendments/{c.id}/support").status_code == 302  # twice is once
    assert count(AmendmentSupporter) == 1
    assert "Olga Other" in client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)


def test_withdrawing_keeps_the_history_and_stops_the_votes(client, consultation, citizen):
    c = amend(consultation, citizen, "within 30 days", "within 20 days", why="My reasons.")
    supporter = make_user(name="Sue Supporter")
    voting.cast_vote(consultation, actor=supporter, value="support", contribution=c)
    db.session.commit()
    login(client, citizen)
    # Not by the comment routes: deleting would take the amendment and its votes off the record.
    assert client.post(f"/comments/{c.id}/delete").status_code == 403
    assert client.post(f"/comments/{c.id}/edit", data={"body": "Other reasons."}).status_code == 403
    assert client.post(f"/amendments/{c.id}/withdraw").status_code == 302
    db.session.refresh(c.amendment)
    assert c.amendment.state == "withdrawn" and c.amendment.withdrawn_at is not None
    page = client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)
    assert "Withdrawn" in page and "My reasons." in page and "1 support" in page  # still on record
    assert count(Vote) == 1
    with pytest.raises(RuleViolation, match="withdrawn"):
        voting.cast_vote(consultation, actor=supporter, value="oppose", contribution=c)
    assert client.post(f"/amendments/{c.id}/withdraw").status_code == 403  # once


# ---- voting ---------------------------------------------------------------------------------


def test_one_vote_per_person_per_item_changeable_and_withdrawable(client, consultation, citizen):
    c = amend(consultation, make_user(name="Ann Amender"), "within 30 days", "within 20 days")
    db.session.commit()
    login(client, citizen)
    for value in ("support", "oppose", "support"):
        response = client.post("/c/access/vote", data={"contribution_id": c.id, "value": value})
        assert response.status_code == 302
    assert count(Vote) == 1 and db.session.scalar(select(Vote.value)) == "support"
    assert voting.tallies([c.id])[c.id].support == 1
    page = client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)
    assert 'aria-pressed="true"' in page and "Withdraw my vote" in page
    assert client.post("/c/access/vote", data={"contribution_id": c.id, "value": "withdraw"}).status_code == 302
    assert count(Vote) == 0
    # sections too, with their own uniqueness
    for value in ("oppose", "abstain"):
        assert client.post("/c/access/vote", data={"section_key": "fees", "value": value}).status_code == 302
    assert count(Vote) == 1 and voting.section_tallies(consultation)["fees"].abstain == 1


@pytest.mark.parametrize(
    "data, status",
    [
        ({"value": "support"}, 400),  # no target
        ({"section_key": "nowhere", "value": "support"}, 400),
        ({"section_key": "fees", "value": "maybe"}, 400),
        ({"section_key": "fees", "value": "agree"}, 400),  # agree/disagree/pass are for statements
        ({"contribution_id": "x", "value": "support"}, 400),
        ({"contribution_id": "999999", "value": "support"}, 404),
    ],
)
def test_bad_votes_are_refused_and_nothing_stored(client, consultation, citizen, data, status):
    login(client, citizen)
    assert client.post("/c/access/vote", data=data).status_code == status
    assert count(Vote) == 0


def test_votes_on_comments_hidden_items_or_closed_consultations_are_refused(client, consultation, author, citizen):
    comment = comments.post_comment(consultation, actor=citizen, body="Just a comment", section_key="fees")
    hidden = amend(consultation, make_user(name="Hal Hidden"), "within 30 days", "within 10 days")
    hidden.moderation_state = ModerationState.HIDDEN
    open_one = amend(consultation, make_user(name="Ann Amender"), "first hour", "first two hours", key="fees")
    db.session.commit()
    login(client, citizen)
    assert client.post("/c/access/vote", data={"contribution_id": comment.id, "value": "support"}).status_code == 400
    assert client.post("/c/access/vote", data={"contribution_id": hidden.id, "value": "support"}).status_code == 409
    assert count(Vote) == 0
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    db.session.commit()
    assert client.post("/c/access/vote", data={"contribution_id": open_one.id, "value": "support"}).status_code == 403
    assert client.post("/c/access/vote", data={"section_key": "fees", "value": "support"}).status_code == 403
    assert count(Vote) == 0
    with pytest.raises(PermissionDenied):
        voting.withdraw_vote(consultation, actor=citizen, section_key="fees")


def test_tallies_equal_the_votes_and_amendments_sort_by_support(client, consultation):
    people = [make_user(name=f"Voter {n}") for n in range(5)]
    few = amend(consultation, people[0], "within 30 days", "within 20 days")
    many = amend(consultation, people[1], "first hour", "first two hours", key="fees")
    for p in people:
        voting.cast_vote(consultation, actor=p, value="support", contribution=many)
    voting.cast_vote(consultation, actor=people[2], value="support", contribution=few)
    voting.cast_vote(consultation, actor=people[3], value="oppose", contribution=few)
    db.session.commit()
    stored = dict(
        db.session.execute(select(Vote.contribution_id, func.count()).where(Vote.value == "support").group_by(Vote.contribution_id)).all()
    )
    tallies = voting.tallies([few.id, many.id])
    assert (tallies[few.id].support, tallies[few.id].oppose, tallies[many.id].support) == (1, 1, 5) == (stored[few.id], 1, stored[many.id])
    page = client.get("/c/access/amendments").get_data(as_text=True)
    assert page.index(f"Amendment {many.amendment.label} ") < page.index(f"Amendment {few.amendment.label} ")
    newest = client.get("/c/access/amendments?sort=newest").get_data(as_text=True)
    assert newest.index(f"Amendment {many.amendment.label} ") < newest.index(f"Amendment {few.amendment.label} ")
    assert client.get("/c/access/amendments?sort=loudest").status_code == 400
    data = client.get("/api/v1/consultations/access/amendments").get_json()
    assert [a["id"] for a in data["amendments"]] == [many.id, few.id]
    assert data["amendments"][1]["tally"] == {"support": 1, "oppose": 1, "abstain": 0}
    assert {"op": "insert", "text": "20"} in data["amendments"][1]["redline"]


# ---- answers --------------------------------------------------------------------------------


def test_only_authors_of_the_organisation_answer_cve_2026_40869(app, consultation, citizen, moderator, author):
    """Decidim let anyone accept or reject amendments (CVE-2026-40869)."""
    c = amend(consultation, citizen, "within 30 days", "within 20 days")
    outsider = make_user(role="author", organisation=make_organisation(slug="elsewhere"), name="Other Org Author")
    db.session.commit()
    data = {"decision": "accepted", "reason": "Fine by me."}
    for who in (citizen, moderator, outsider):
        client = app.test_client()
        login(client, who)
        assert client.post(f"/amendments/{c.id}/answer", data=data).status_code == 403, who.display_name
        assert "Publish the answer" not in client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)
    db.session.refresh(c.amendment)
    assert c.amendment.state == "open" and c.amendment.decision is None

    client = app.test_client()
    login(client, author)
    response = client.post(f"/amendments/{c.id}/answer", data={"decision": "accepted", "reason": ""})
    assert response.status_code == 400 and "Give the reason" in response.get_data(as_text=True)
    assert client.post(f"/amendments/{c.id}/answer", data={"decision": "perhaps", "reason": "x"}).status_code == 400
    assert client.post(f"/amendments/{c.id}/answer", data=data).status_code == 302
    db.session.refresh(c.amendment)
    assert (c.amendment.state, c.amendment.decision, c.amendment.answer) == ("answered", "accepted", "Fine by me.")
    assert "Fine by me." in client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)
    answered_at = c.amendment.answered_at
    assert client.post(f"/amendments/{c.id}/answer", data=data).status_code == 302  # the same answer again
    db.session.refresh(c.amendment)
    assert c.amendment.answered_at == answered_at  # not republished with a new date


def test_concluding_is_refused_while_an_amendment_above_the_threshold_is_unanswered(client, consultation, author, citizen):
    popular = amend(consultation, citizen, "within 30 days", "within 20 days")
    quiet = amend(consultation, citizen, "first hour", "first two hours", key="fees")
    for n in range(2):
        voting.cast_vote(consultation, actor=make_user(name=f"Fan {n}"), value="support", contribution=popular)
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    db.session.commit()
    assert services.unanswered_above_threshold(consultation) == 1
    assert "1 amendment with at least 2 supporting votes still waits" in client.get("/c/access").get_data(as_text=True)
    with pytest.raises(RuleViolation, match="1 amendment with at least 2 supporting votes still waits"):
        proposals.change_state(consultation, Transition.CONCLUDE, actor=author)
    db.session.rollback()
    login(client, author)
    response = client.post("/c/access/state", data={"transition": "conclude", "confirm": "y"})
    assert response.status_code == 409 and "still waits for an answer" in response.get_data(as_text=True)
    services.answer_amendment(popular.amendment, actor=author, decision="not_accepted", reason="Thirty days is the legal minimum.")
    proposals.change_state(consultation, Transition.CONCLUDE, actor=author)  # the quiet one is below the threshold
    assert consultation.state == "concluded" and quiet.amendment.state == "open"


# ---- conflicts and the next version ----------------------------------------------------------


def test_overlapping_amendments_are_flagged_as_conflicting(client, consultation, citizen):
    a = amend(consultation, citizen, "within 30 days", "within 20 days")
    b = amend(consultation, citizen, "respond within 30 days of receipt", "reply promptly")
    c = amend(consultation, citizen, "*one* extension", "two extensions")
    db.session.commit()
    assert services.conflicts([a, b, c]) == {a.id: [b.id], b.id: [a.id]}
    page = client.get(f"/amendments/{a.id}", follow_redirects=True).get_data(as_text=True)
    assert f'href="/c/access/amendments/A{b.amendment.number}">amendment A{b.amendment.number}</a>' in page and "Conflicts with" in page
    assert "Conflicts with" not in client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)


def test_the_next_version_applies_accepted_amendments_and_flags_a_conflicting_pair(app, consultation, author, citizen):
    fans = [make_user(name=f"Fan {n}") for n in range(3)]
    faster = amend(consultation, citizen, "within 30 days", "within 20 days")
    clash = amend(consultation, citizen, "respond within 30 days of receipt", "reply promptly")  # overlaps `faster`
    more = amend(consultation, citizen, "*one* extension", "two extensions")
    fees = amend(consultation, citizen, "first hour", "first two hours", key="fees")
    partly = amend(consultation, citizen, "No fee may be charged", "No fee at all may be charged", key="fees")
    rejected = amend(consultation, citizen, "Small councils", "All councils")
    for fan in fans:
        voting.cast_vote(consultation, actor=fan, value="support", contribution=faster)
    voting.cast_vote(consultation, actor=fans[0], value="support", contribution=clash)
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    for c, decision in [
        (faster, "accepted"),
        (clash, "accepted"),
        (more, "accepted"),
        (fees, "accepted"),
        (partly, "accepted_in_part"),
        (rejected, "not_accepted"),
    ]:
        services.answer_amendment(c.amendment, actor=author, decision=decision, reason="Considered.")
    db.session.commit()

    client = app.test_client()
    login(client, author)
    response = client.post("/c/access/next-version")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Conflicts to resolve by hand (1)" in page and f"Amendment {clash.amendment.label}</a> changes the same words as" in page
    assert "accepted in part" in page

    draft = consultation.draft_version
    assert draft.number == 2
    assert (
        draft.section("deadlines").body
        == "Councils must respond within 20 days of receipt of a request. Small councils may ask for two extensions."
    )
    assert draft.section("fees").body == "No fee may be charged for the first two hours of work."
    cited = set(db.session.execute(select(Citation.section_key, Citation.contribution_id).where(Citation.version_id == draft.id)).all())
    assert cited == {("deadlines", faster.id), ("deadlines", more.id), ("fees", fees.id)}
    # running it again applies nothing twice
    services.start_next_version(consultation, actor=author)
    assert draft.section("deadlines").body.count("20 days") == 1 and count(Citation) == 3

    # a citizen cannot build the next version
    other = app.test_client()
    login(other, citizen)
    assert other.post("/c/access/next-version").status_code == 403

    proposals.publish_version(consultation, actor=author, note="Faster answers, two extensions, two free hours.")
    db.session.commit()
    states = {c.id: c.amendment.state for c in (faster, clash, more, fees, partly, rejected)}
    assert states == {
        faster.id: "incorporated",
        clash.id: "answered",
        more.id: "incorporated",
        fees.id: "incorporated",
        partly.id: "answered",
        rejected.id: "answered",
    }
    assert faster.amendment.incorporated_version.number == 2
    v2 = client.get("/c/access").get_data(as_text=True)
    assert (
        f'href="/c/access/amendments/{faster.amendment.label}">amendment {faster.amendment.label}</a>' in v2 and "This change answers" in v2
    )
    api = client.get(f"/api/v1/amendments/{faster.id}").get_json()
    assert api["state"] == "incorporated" and api["incorporated_in_version"] == 2 and api["answer"]["decision"] == "accepted"


def test_the_demo_has_amendments_in_every_state(app):
    from consult.demo import load_demo

    load_demo()
    states = dict(db.session.execute(select(Amendment.state, func.count()).group_by(Amendment.state)).all())
    assert set(states) == {"open", "answered", "withdrawn", "incorporated"}
    decisions = set(db.session.scalars(select(Amendment.decision).where(Amendment.decision.is_not(None))))
    assert decisions == {"accepted", "not_accepted", "out_of_scope"}
    assert count(Vote) > 10 and count(Citation) == 2


def test_authors_cite_comments_behind_a_change_in_the_draft(client, consultation, author, citizen):
    comment = comments.post_comment(consultation, actor=citizen, body="Thirty days is too long.", section_key="deadlines")
    hidden = comments.post_comment(consultation, actor=citizen, body="Rude words", section_key="deadlines")
    hidden.moderation_state = ModerationState.HIDDEN
    db.session.commit()
    login(client, author)
    assert (
        client.post("/c/access/cite", data={"section_key": "deadlines", "contribution_id": comment.id}).status_code == 409
    )  # no draft yet
    proposals.write_markdown(consultation, TEXT.replace("within 30 days", "within 20 days"), actor=author)
    db.session.commit()
    draft_page = client.get("/c/access/v/2").get_data(as_text=True)
    assert "Cite a comment or amendment behind this change" in draft_page
    # The section's contributions are offered beside the number field (not the hidden one).
    assert 'list="citable-deadlines"' in draft_page and f'<option value="{comment.id}">comment by ' in draft_page
    assert f'<option value="{hidden.id}">' not in draft_page
    assert client.post("/c/access/cite", data={"section_key": "deadlines", "contribution_id": f"#{comment.id}"}).status_code == 302
    assert client.post("/c/access/cite", data={"section_key": "deadlines", "contribution_id": comment.id}).status_code == 302  # once
    for bad in (
        {"section_key": "deadlines", "contribution_id": "abc"},
        {"section_key": "deadlines", "contribution_id": hidden.id},
        {"section_key": "nowhere", "contribution_id": comment.id},
        {"section_key": "deadlines", "contribution_id": 999999},
    ):
        assert client.post("/c/access/cite", data=bad).status_code == 400, bad
    assert count(Citation) == 1
    assert f'href="/comments/{comment.id}">comment {comment.id}</a>' in client.get("/c/access/v/2").get_data(as_text=True)
    other = client.application.test_client()
    login(other, citizen)
    assert other.post("/c/access/cite", data={"section_key": "deadlines", "contribution_id": comment.id}).status_code == 403
    assert other.post("/c/access/uncite", data={"section_key": "deadlines", "contribution_id": comment.id}).status_code == 403
    # A citation made by mistake is taken back in the draft; once published it stays.
    assert f"Remove the citation of comment {comment.id}" in client.get("/c/access/v/2").get_data(as_text=True)
    assert client.post("/c/access/uncite", data={"section_key": "fees", "contribution_id": comment.id}).status_code == 400
    assert client.post("/c/access/uncite", data={"section_key": "deadlines", "contribution_id": comment.id}).status_code == 302
    assert count(Citation) == 0
    client.post("/c/access/cite", data={"section_key": "deadlines", "contribution_id": comment.id})
    proposals.publish_version(consultation, actor=author, note="Faster.")
    db.session.commit()
    assert client.post("/c/access/uncite", data={"section_key": "deadlines", "contribution_id": comment.id}).status_code == 409
    assert count(Citation) == 1 and "Remove the citation" not in client.get("/c/access/v/2").get_data(as_text=True)


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["\u00b2", "99999999999999999999"])  # "²" passes str.isdigit(); the other is past INTEGER
def test_numbers_that_are_not_whole_numbers_in_range_are_a_400(client, consultation, author, number):
    response = client.get("/c/access/amendments", query_string={"page": number})
    assert response.status_code == 400 and "page number" in response.get_data(as_text=True)
    proposals.write_markdown(consultation, TEXT.replace("within 30 days", "within 20 days"), actor=author)
    db.session.commit()
    login(client, author)
    cite = client.post("/c/access/cite", data={"section_key": "deadlines", "contribution_id": number})
    assert cite.status_code == 400 and "Give the number" in cite.get_data(as_text=True)
    assert count(Citation) == 0


def test_a_blocked_persons_co_support_appears_on_no_page_api_response_or_export(app, client, consultation, citizen, moderator):
    """A block hides everything the person did in the organisation's consultations; their
    co-support too, everywhere it is shown: names, counts, the API and the open record. Lifting
    the block brings it back."""
    import csv
    import io
    import json
    import zipfile

    from consult.moderation import services as moderation

    c = amend(consultation, citizen, "within 30 days", "within 20 days")
    olga, bram = make_user(name="Olga Visible"), make_user(name="Bram Blockedperson")
    services.co_support(c.amendment, actor=olga)
    services.co_support(c.amendment, actor=bram)
    moderation.block(consultation.organisation, bram, actor=moderator, reason="Spam", consultation=consultation)
    db.session.commit()

    with zipfile.ZipFile(io.BytesIO(client.get("/c/access/record.zip").data)) as archive:
        record = {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}
    seen = {
        "amendment page": client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True),
        "amendments list": client.get("/c/access/amendments").get_data(as_text=True),
        "consultation page": client.get("/c/access").get_data(as_text=True),
        "api amendment": client.get(f"/api/v1/amendments/{c.id}").get_data(as_text=True),
        "api amendments": client.get("/api/v1/consultations/access/amendments").get_data(as_text=True),
        **{f"record {name}": body for name, body in record.items()},
    }
    assert len(record) > 5
    assert [where for where, body in seen.items() if "Bram Blockedperson" in body] == []
    assert "Co-sponsors: Olga Visible." in seen["amendment page"]
    assert "· 1 co-sponsor\n" in seen["amendments list"]
    assert json.loads(seen["api amendment"])["co_supporters"] == ["Olga Visible"]
    assert json.loads(seen["api amendments"])["amendments"][0]["co_supporters"] == ["Olga Visible"]
    (row,) = [r for r in json.loads(record["record.json"])["contributions"] if r["id"] == c.id]
    assert row["amendment"]["co_supporters"] == ["Olga Visible"]
    (csv_row,) = [r for r in csv.DictReader(io.StringIO(record["amendments.csv"])) if r["id"] == str(c.id)]
    assert csv_row["co_supporters"] == "1"

    # Bram still sees that he joined (so he can leave), though nobody else sees his name.
    login(client, bram)
    assert "Stop co-sponsoring" in client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)

    moderation.unblock(consultation.organisation, bram, actor=moderator, consultation=consultation)
    db.session.commit()
    anonymous = app.test_client()
    assert "Co-sponsors: Olga Visible, Bram Blockedperson." in anonymous.get(f"/amendments/{c.id}", follow_redirects=True).get_data(
        as_text=True
    )
    assert "· 2 co-sponsors\n" in anonymous.get("/c/access/amendments").get_data(as_text=True)
    assert json.loads(anonymous.get(f"/api/v1/amendments/{c.id}").data)["co_supporters"] == ["Olga Visible", "Bram Blockedperson"]


def test_only_co_supporters_leave_and_only_while_open(client, consultation, citizen, author):
    c = amend(consultation, citizen, "within 30 days", "within 20 days")
    olga, nina = make_user(name="Olga Other"), make_user(name="Nina Never")
    services.co_support(c.amendment, actor=olga)
    db.session.commit()
    login(client, nina)
    assert "Stop co-sponsoring" not in client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)
    assert client.post(f"/amendments/{c.id}/leave").status_code == 403
    login(client, olga)
    assert "Stop co-sponsoring" in client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    db.session.commit()
    assert "Stop co-sponsoring" not in client.get(f"/amendments/{c.id}", follow_redirects=True).get_data(as_text=True)
    assert client.post(f"/amendments/{c.id}/leave").status_code == 409
    assert count(AmendmentSupporter) == 1
