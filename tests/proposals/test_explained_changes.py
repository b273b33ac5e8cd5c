"""No unexplained change: publishing a version after the first needs, for every changed, added and
removed section, citations or a reason (or the editorial mark); the author can correct how the
draft's sections match the previous version, and the diff, re-anchoring and the record follow."""

from __future__ import annotations

import csv
import json

import pytest

from consult.amendments import explanations
from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.comments.models import Anchor
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.demo import demo_consultations, load_demo
from consult.proposals import services
from consult.record.export import write_folder
from tests.conftest import login
from tests.factories import make_consultation

V1 = """## Opening hours

Parks open at dawn and close at dusk every day of the year.

## Dogs

Dogs must be kept on leads near playgrounds and ponds.

## Fees

Parking costs two pounds a day.
"""

# Opening hours changed, Dogs kept, Fees removed, Events added.
V2 = """## Opening hours

Parks open at seven and close at dusk every day of the year.

## Dogs

Dogs must be kept on leads near playgrounds and ponds.

## Events

Events need a permit from the council.
"""


@pytest.fixture
def consultation(organisation, author):
    c = make_consultation(organisation, author=author, slug="parks", text=V1)
    comments.post_comment(c, actor=author, body="Why dusk?", section_key="opening-hours", quote="close at dusk")
    services.write_markdown(c, V2, actor=author)
    db.session.flush()
    return c


def statuses(draft) -> dict[str, str]:
    return {item.key: item.status for item in services.section_changes(draft)}


def test_the_draft_lists_its_changed_added_and_removed_sections(consultation):
    assert statuses(consultation.draft_version) == {"opening-hours": "changed", "events": "added", "fees": "removed"}


def test_publishing_without_a_reason_is_refused_naming_the_sections(consultation, author):
    with pytest.raises(RuleViolation) as refused:
        services.publish_version(consultation, actor=author, note="Earlier opening.")
    assert refused.value.status == 400
    message = refused.value.message
    assert "“Opening hours” (changed)" in message and "“Events” (added)" in message and "“Fees” (removed)" in message
    assert "Dogs" not in message
    assert consultation.draft_version is not None and consultation.current_version.number == 1


def test_a_citation_a_reason_or_the_editorial_mark_explains_a_change(consultation, author, citizen):
    draft = consultation.draft_version
    comment = comments.post_comment(consultation, actor=citizen, body="Open earlier, please.", section_key="opening-hours")
    amendments.cite(draft, "opening-hours", comment, actor=author)
    explanations.explain_change(draft, "events", actor=author, reason="Events were often held without anyone knowing.")
    with pytest.raises(RuleViolation) as refused:
        services.publish_version(consultation, actor=author, note="Earlier opening.")
    assert "“Fees” (removed)" in refused.value.message and "Opening hours" not in refused.value.message
    explanations.explain_change(draft, "fees", actor=author, reason="", editorial=True)

    version = services.publish_version(consultation, actor=author, note="Earlier opening.")
    assert version.number == 2
    by_key = {e.change.key: e for e in explanations.explanations(version)}
    assert by_key["opening-hours"].citations == [comment.id]
    assert by_key["events"].reason == "Events were often held without anyone knowing."
    assert by_key["fees"].editorial and by_key["fees"].change.status == "removed"


def test_the_first_version_needs_no_reasons(organisation, author):
    c = make_consultation(organisation, author=author, state="draft", text=V1, publish=False)
    assert services.publish_version(c, actor=author).number == 1


def test_a_reason_only_for_a_section_that_changed(consultation, author):
    draft = consultation.draft_version
    with pytest.raises(RuleViolation) as refused:
        explanations.explain_change(draft, "dogs", actor=author, reason="Nothing changed.")
    assert refused.value.status == 400
    with pytest.raises(RuleViolation) as too_long:
        explanations.explain_change(draft, "events", actor=author, reason="x" * 1001)
    assert too_long.value.status == 400 and too_long.value.field == "reason"


def explain_all(consultation, author) -> None:
    draft = consultation.draft_version
    for item in explanations.unexplained(draft):
        explanations.explain_change(draft, item.key, actor=author, reason=f"Reason for {item.key}.")


def test_the_publish_page_names_the_sections_and_the_draft_page_offers_a_reason(client, consultation, author):
    db.session.commit()
    login(client, author)
    page = client.get("/c/parks/v/2").get_data(as_text=True)
    assert "3 of 3 changed, added or removed sections still need a reason" in page
    assert 'id="reason-fees"' in page and 'id="match-events"' in page

    refused = client.post("/c/parks/publish", data={"note": "Earlier opening."})
    assert refused.status_code == 400
    assert "“Opening hours” (changed)" in refused.get_data(as_text=True)

    for key in ("opening-hours", "events"):
        assert client.post("/c/parks/reason", data={"section_key": key, "reason": f"Because of {key}."}).status_code == 302
    assert client.post("/c/parks/reason", data={"section_key": "fees", "editorial": "y"}).status_code == 302
    assert "Every change is explained." in client.get("/c/parks/v/2").get_data(as_text=True)
    assert client.post("/c/parks/publish", data={"note": "Earlier opening."}).status_code == 302
    published = client.get("/c/parks/v/2").get_data(as_text=True)
    assert "Why it changed: Because of opening-hours." in published and "Removed since version 1" in published


def test_a_reason_for_an_unknown_section_is_a_400(client, consultation, author):
    db.session.commit()
    login(client, author)
    assert client.post("/c/parks/reason", data={"section_key": "nowhere", "reason": "x"}).status_code == 400
    assert client.post("/c/parks/match", data={"section_key": "events", "replaces": "nowhere"}).status_code == 400


# ---- correcting the match ------------------------------------------------------------------------


def test_the_author_says_a_section_replaces_an_old_one(consultation, author):
    """Events share nothing with Fees, so they are added and removed; the author says Events
    replace Fees: the section takes Fees' key, and the diff redlines it word by word."""
    draft = services.match_section(consultation, "events", actor=author, replaces="fees")
    assert [s.key for s in draft.sections] == ["opening-hours", "dogs", "fees"]
    assert statuses(draft) == {"opening-hours": "changed", "fees": "changed"}
    # The choice holds when the text is saved again.
    services.write_markdown(consultation, V2.replace("a permit", "a written permit"), actor=author)
    assert [s.key for s in consultation.draft_version.sections] == ["opening-hours", "dogs", "fees"]

    explain_all(consultation, author)
    v2 = services.publish_version(consultation, actor=author, note="Events instead of fees.")
    [fees] = [d for d in services.diff_versions(consultation.version(1), v2) if d.key == "fees"]
    assert fees.status == "changed" and {op.kind for op in fees.text_ops} >= {"delete", "insert"}


def test_the_author_says_a_section_is_new(consultation, author):
    """Opening hours are matched by key; the author says the new text is a new section: it gets a
    key of its own, the old one is removed, and the annotation on it does not follow."""
    draft = services.match_section(consultation, "opening-hours", actor=author, replaces=None)
    assert [s.key for s in draft.sections] == ["opening-hours-2", "dogs", "events"]
    assert statuses(draft) == {"opening-hours-2": "added", "opening-hours": "removed", "events": "added", "fees": "removed"}

    explain_all(consultation, author)
    v2 = services.publish_version(consultation, actor=author, note="New opening hours.")
    diffs = {d.key: d.status for d in services.diff_versions(consultation.version(1), v2)}
    assert diffs["opening-hours"] == "removed" and diffs["opening-hours-2"] == "added"
    anchor = db.session.scalar(db.select(Anchor).where(Anchor.version_id == v2.id))
    assert anchor.section_key != "opening-hours"


def test_correcting_the_match_moves_citations_and_reasons_with_the_section(consultation, author, citizen):
    draft = consultation.draft_version
    comment = comments.post_comment(consultation, actor=citizen, body="Open earlier.", section_key="opening-hours")
    amendments.cite(draft, "opening-hours", comment, actor=author)
    explanations.explain_change(draft, "opening-hours", actor=author, reason="Earlier.")
    services.match_section(consultation, "opening-hours", actor=author, replaces=None)
    by_key = {e.change.key: e for e in explanations.explanations(consultation.draft_version)}
    assert by_key["opening-hours-2"].citations == [comment.id] and by_key["opening-hours-2"].reason == "Earlier."
    assert not by_key["opening-hours"].explained


def test_the_match_form_on_the_draft_page(client, consultation, author):
    db.session.commit()
    login(client, author)
    response = client.post("/c/parks/match", data={"section_key": "events", "replaces": "fees"})
    assert response.status_code == 302
    db.session.expire_all()
    assert [s.key for s in consultation.draft_version.sections] == ["opening-hours", "dogs", "fees"]
    assert "(matched as you said)" in client.get("/c/parks/v/2").get_data(as_text=True)


# ---- the demo's concluded round: the done-when test ------------------------------------------------


def test_the_demo_explains_every_change_of_version_2_in_the_record(app, tmp_path):
    """Done when: on the demo's concluded round, every changed, added and removed section of version
    2 carries citations or a reason in record.json (removed ones in sections.csv too), and the pilot
    section, renamed and rewritten in place, is matched and redlined word by word."""
    load_demo()
    db.session.flush()
    past = next(c for c in demo_consultations() if c.slug == "federal-source-code-policy-2016")
    assert past.is_concluded
    write_folder(past, tmp_path)
    record = json.loads((tmp_path / "record.json").read_text(encoding="utf-8"))
    rows = [r for r in record["sections"] if r["version"] == 2]
    changed = [r for r in rows if r["change"] != "kept"]
    assert len(changed) >= 23  # the notes blocks are no sections: their notes changed with their sections
    for row in changed:
        assert row["cites"] or row["reason"] or row["editorial"], row["key"]
    removed = {r["key"] for r in rows if r["change"] == "removed"}
    assert {"introduction-for-public-comment", "appendix-b-software-procurement-analysis"} <= removed
    assert {r["key"] for r in rows if r["cites"]} == {"introduction", "membership-in-the-open-source-community"}
    with (tmp_path / "sections.csv").open(encoding="utf-8-sig") as f:
        csv_removed = {r["key"] for r in csv.DictReader(f) if r["version"] == "2" and r["change"] == "removed"}
    assert csv_removed == removed

    v1, v2 = past.version(1), past.version(2)
    diffs = {d.key: d for d in services.diff_versions(v1, v2)}
    for key in ("pilot-program", "software-procurement-considerations"):
        assert diffs[key].status == "changed", key
        assert diffs[key].new.heading != diffs[key].old.heading
        assert {"delete", "insert"} <= {op.kind for op in diffs[key].text_ops}, key
    # The annotation on the pilot followed the section.
    assert db.session.scalars(db.select(Anchor).where(Anchor.version_id == v2.id, Anchor.section_key == "pilot-program")).all()


def test_the_next_version_page_lists_the_changes_still_to_explain(client, consultation, author):
    db.session.commit()
    login(client, author)
    page = client.post("/c/parks/next-version").get_data(as_text=True)
    assert "Changes still to explain (3)" in page
    assert 'href="/c/parks/v/2#change-fees">Fees</a> (removed)' in page


def test_the_outcome_page_gives_the_reasons(client, consultation, author):
    explain_all(consultation, author)
    services.publish_version(consultation, actor=author, note="Earlier opening.")
    db.session.commit()
    login(client, author)
    page = client.get("/c/parks/outcome").get_data(as_text=True)
    assert "Why: Reason for opening-hours." in page and "Why: Reason for fees." in page
