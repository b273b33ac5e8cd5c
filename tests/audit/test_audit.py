"""The staff audit log: every operation of an author, admin or moderator leaves one row with the
right actor, role and target; the organisation's admins read it at /o/SLUG/audit; the open
record's staff_log names authors and admins and never a moderator."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from consult.accounts import services as accounts
from consult.accounts.models import Role
from consult.amendments import services as amendments
from consult.audit.models import StaffAction
from consult.comments import services as comments
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.moderation import services as moderation
from consult.permissions import PermissionDenied
from consult.proposals import services as proposals
from consult.proposals.importing import split_markdown
from consult.proposals.models import Transition
from consult.record import export
from tests.factories import SAMPLE_TEXT, login, make_consultation, make_organisation, make_user
from tests.record.test_record import schema_errors


class Log:
    """The rows added since it was made."""

    def __init__(self):
        self.since = db.session.scalar(select(db.func.max(StaffAction.id))) or 0

    def new(self) -> list[StaffAction]:
        db.session.flush()
        rows = list(db.session.scalars(select(StaffAction).where(StaffAction.id > self.since).order_by(StaffAction.id)))
        self.since = max([self.since, *(r.id for r in rows)])
        return rows

    def one(self) -> StaffAction:
        rows = self.new()
        assert len(rows) == 1, [(r.operation, r.target_type, r.target_id) for r in rows]
        return rows[0]


def summary(entry: StaffAction) -> tuple:
    return entry.operation, entry.actor_id, entry.actor_role, entry.target_type, entry.target_id


@pytest.fixture
def log():
    return Log()


# ---- each operation writes one row --------------------------------------------------------------


def test_consultation_lifecycle_operations_are_each_recorded_once(organisation, author, org_admin, log):
    c = proposals.create_consultation(
        organisation, actor=author, title="Parks plan", opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=9)
    )
    entry = log.one()
    assert summary(entry) == ("create_consultation", author.id, "author", "consultation", c.id)
    assert (entry.organisation_id, entry.consultation_id) == (organisation.id, c.id)

    proposals.update_consultation(
        c,
        actor=org_admin,
        title="Parks and playgrounds plan",
        summary="New summary",
        opens_at=c.opens_at,
        closes_at=c.closes_at,
        licence=c.licence,
    )
    entry = log.one()
    assert summary(entry) == ("edit_consultation", org_admin.id, "admin", "consultation", c.id)
    assert entry.detail == {"fields": ["title", "summary"]}
    proposals.update_consultation(
        c, actor=org_admin, title=c.title, summary=c.summary, opens_at=c.opens_at, closes_at=c.closes_at, licence=c.licence
    )
    assert log.new() == []  # saving without a change is not an operation

    draft = proposals.save_draft_text(c, split_markdown(SAMPLE_TEXT), actor=author)
    entry = log.one()
    assert summary(entry) == ("edit_text", author.id, "author", "version", draft.id)
    assert entry.detail == {"version": 1, "sections": 3}

    proposals.publish_version(c, actor=author)
    entry = log.one()
    assert summary(entry) == ("publish_version", author.id, "author", "version", draft.id) and entry.detail == {"version": 1}

    for transition, source, target in [
        (Transition.OPEN, "draft", "open"),
        (Transition.CLOSE, "open", "closed"),
        (Transition.REOPEN, "closed", "open"),
        (Transition.CLOSE, "open", "closed"),
        (Transition.CONCLUDE, "closed", "concluded"),
    ]:
        proposals.change_state(
            c, transition, actor=author, closes_at=utcnow() + timedelta(days=3) if transition == Transition.REOPEN else None
        )
        entry = log.one()
        assert summary(entry) == (transition.value, author.id, "author", "consultation", c.id)
        assert entry.detail == {"from": source, "to": target}


def test_a_refused_operation_leaves_no_entry(organisation, author, citizen, log):
    c = make_consultation(organisation, author=author, state="open")
    log.new()
    proposals.draft_for_editing(c, actor=author)
    with pytest.raises(RuleViolation):
        proposals.publish_version(c, actor=author, note="")  # version 2 needs a change note
    with pytest.raises(PermissionDenied):
        proposals.change_state(c, Transition.CLOSE, actor=citizen)
    assert log.new() == []


def test_answers_citations_and_the_next_version_are_recorded(organisation, author, citizen, log):
    c = make_consultation(organisation, author=author, state="open")
    proposal = amendments.propose_amendment(
        c,
        actor=citizen,
        section_key="scope",
        rationale="Cover contractors' staff.",
        quote="every department",
        replacement="every department and agency",
    )
    comment = comments.post_comment(c, actor=citizen, body="The scope matters.", section_key="scope")
    assert log.new()[-1].operation == "open"  # the citizen's contributions are not staff actions

    amendments.answer_amendment(proposal.amendment, actor=author, decision="accepted", reason="Agreed.")
    entry = log.one()
    assert summary(entry) == ("answer_amendment", author.id, "author", "contribution", proposal.id)
    assert entry.detail == {"decision": "accepted"}
    amendments.answer_amendment(proposal.amendment, actor=author, decision="accepted", reason="Agreed.")
    assert log.new() == []  # the same answer sent twice

    report = amendments.start_next_version(c, actor=author)
    entry = log.one()
    assert summary(entry) == ("start_next_version", author.id, "author", "version", report.draft.id)
    assert entry.detail == {"version": 2, "applied": [proposal.id]}

    amendments.cite(report.draft, "scope", comment, actor=author)
    entry = log.one()
    assert summary(entry) == ("add_citation", author.id, "author", "contribution", comment.id)
    assert entry.detail == {"version": 2, "section_key": "scope"}
    amendments.cite(report.draft, "scope", comment, actor=author)
    assert log.new() == []  # cited already

    assert amendments.uncite(report.draft, "scope", comment.id, actor=author)
    entry = log.one()
    assert summary(entry) == ("remove_citation", author.id, "author", "contribution", comment.id)
    assert not amendments.uncite(report.draft, "scope", comment.id, actor=author)
    assert log.new() == []


def test_moderation_is_recorded_as_done_by_a_moderator_even_by_an_admin(organisation, author, moderator, org_admin, citizen, log):
    c = make_consultation(organisation, author=author, state="open")
    first = comments.post_comment(c, actor=citizen, body="First.")
    second = comments.post_comment(c, actor=citizen, body="Second.")
    log.new()

    assert moderation.act([first, second], actor=moderator, action="hide", reason="Off topic.", rule="off_topic") == 2
    rows = log.new()
    assert [summary(r) for r in rows] == [
        ("hide", moderator.id, "moderator", "contribution", first.id),
        ("hide", moderator.id, "moderator", "contribution", second.id),
    ]
    assert rows[0].detail == {"rule": "off_topic"}
    moderation.act([first], actor=org_admin, action="restore")
    assert summary(log.one()) == ("restore", org_admin.id, "moderator", "contribution", first.id)
    moderation.act([first], actor=moderator, action="restore")
    assert log.new() == []  # already visible: nothing done
    moderation.act([first], actor=moderator, action="approve")
    assert summary(log.one()) == ("approve", moderator.id, "moderator", "contribution", first.id)

    moderation.block(organisation, citizen, actor=moderator, reason="Spam.", consultation=c)
    entry = log.one()
    assert summary(entry) == ("block", moderator.id, "moderator", "user", citizen.id) and entry.consultation_id == c.id
    moderation.block(organisation, citizen, actor=moderator, reason="Spam.", consultation=c)
    assert log.new() == []
    moderation.unblock(organisation, citizen, actor=moderator, consultation=c)
    entry = log.one()
    assert summary(entry) == ("unblock", moderator.id, "moderator", "user", citizen.id)
    assert (entry.organisation_id, entry.consultation_id) == (organisation.id, None)  # a block is the organisation's


def test_themes_and_summaries_are_recorded(organisation, author, moderator, citizen, log):
    c = make_consultation(organisation, author=author, state="open")
    comment = comments.post_comment(c, actor=citizen, body="Cover contractors.", section_key="scope")
    log.new()

    theme = moderation.create_theme(c, actor=moderator, name="Contractors")
    assert summary(log.one()) == ("create_theme", moderator.id, "moderator", "theme", theme.id)
    moderation.tag(theme, [comment], actor=moderator)
    entry = log.one()
    assert summary(entry) == ("tag_theme", moderator.id, "moderator", "theme", theme.id)
    assert entry.detail == {"count": 1, "contribution_ids": [comment.id]}
    moderation.tag(theme, [comment], actor=moderator)
    assert log.new() == []  # tagged already
    moderation.tag(theme, [comment], actor=moderator, remove=True)
    assert summary(log.one()) == ("untag_theme", moderator.id, "moderator", "theme", theme.id)

    moderation.write_summary(c, actor=moderator, summary=f"Contractors [#{comment.id}].", theme=theme)
    assert summary(log.one()) == ("write_summary", moderator.id, "moderator", "theme", theme.id)
    moderation.write_summary(c, actor=moderator, summary="About scope.", section_key="scope")
    entry = log.one()
    assert entry.operation == "write_summary" and entry.target_type == "section_summary" and entry.detail == {"section_key": "scope"}


def test_roles_and_organisations_are_recorded_for_the_organisation(organisation, org_admin, site_admin, citizen, log):
    assert accounts.add_member(organisation, citizen, Role.MODERATOR, actor=org_admin)
    entry = log.one()
    assert summary(entry) == ("grant_role", org_admin.id, "admin", "user", citizen.id)
    assert (entry.organisation_id, entry.consultation_id, entry.detail) == (organisation.id, None, {"role": "moderator"})
    assert not accounts.add_member(organisation, citizen, Role.MODERATOR, actor=org_admin)
    assert log.new() == []

    accounts.remove_member(organisation, citizen, Role.MODERATOR, actor=site_admin)
    assert summary(log.one()) == ("revoke_role", site_admin.id, "site_admin", "user", citizen.id)
    accounts.remove_member(organisation, citizen, Role.MODERATOR, actor=site_admin)
    assert log.new() == []  # there was no such role left

    other = accounts.create_organisation(actor=site_admin, slug="harbour", name="Harbour Board")
    entry = log.one()
    assert summary(entry) == ("create_organisation", site_admin.id, "site_admin", "organisation", other.id)
    assert entry.organisation_id == other.id


def test_over_http_a_saved_edit_writes_one_entry_and_a_refused_one_none(app, client, organisation, author):
    c = make_consultation(organisation, author=author, state="open")
    db.session.commit()
    log = Log()
    login(client, author)
    form = {"title": "Parks plan", "summary": "x", "licence": "CC-BY-4.0", "row_version": str(c.row_version)}
    assert client.post(f"/c/{c.slug}/edit", data={**form, "title": ""}).status_code == 400  # the form refuses it
    assert client.post(f"/c/{c.slug}/edit", data={**form, "row_version": str(c.row_version + 5)}).status_code == 409  # someone saved since
    assert log.new() == []
    assert client.post(f"/c/{c.slug}/edit", data=form).status_code == 302
    entry = log.one()
    assert (entry.operation, entry.actor_id, entry.consultation_id) == ("edit_consultation", author.id, c.id)
    assert "title" in entry.detail["fields"]


# ---- the admins' page ------------------------------------------------------------------------------


@pytest.fixture
def audited(organisation, author, moderator, citizen):
    """A consultation with an author's and a moderator's actions, and another organisation's."""
    c = make_consultation(organisation, author=author, state="open", slug="parks")
    comment = comments.post_comment(c, actor=citizen, body="Off topic.")
    moderation.act([comment], actor=moderator, action="hide", reason="Off topic.")
    elsewhere = make_organisation(slug="harbour", name="Harbour Board")
    outsider = make_user(name="Olga Outsider", role="admin", organisation=elsewhere)
    make_consultation(
        elsewhere, author=make_user(name="Hal Harbour", role="author", organisation=elsewhere), state="open", slug="harbour-plan"
    )
    db.session.commit()
    return c, comment, outsider


def test_admins_read_every_action_with_who_did_it(client, organisation, org_admin, author, moderator, audited):
    c, comment, _ = audited
    login(client, org_admin)
    page = client.get(f"/o/{organisation.slug}/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Max Moderator (moderator)" in html and "Hid a contribution" in html and f"#{comment.id}" in html
    assert "Ada Author (author)" in html and "Published a version" in html and "Opened the consultation" in html
    assert "Hal Harbour" not in html  # another organisation's log
    assert html.index("Hid a contribution") < html.index("Published a version")  # newest first
    assert f'href="/o/{organisation.slug}/audit"' in client.get(f"/o/{organisation.slug}").get_data(as_text=True)


def test_the_log_filters_by_consultation_and_pages(client, organisation, org_admin, author, audited):
    c, _, _ = audited
    make_consultation(organisation, author=author, state="draft", slug="other-one", title="Another plan")
    db.session.commit()
    login(client, org_admin)
    html = client.get(f"/o/{organisation.slug}/audit?consultation=other-one").get_data(as_text=True)
    assert "Created the consultation" in html and "Hid a contribution" not in html and "Opened the consultation" not in html
    html = client.get(f"/o/{organisation.slug}/audit?consultation={c.slug}").get_data(as_text=True)
    assert "Hid a contribution" in html
    assert client.get(f"/o/{organisation.slug}/audit?consultation=harbour-plan").status_code == 404  # not this organisation's
    assert client.get(f"/o/{organisation.slug}/audit?page=abc").status_code == 400
    assert client.get(f"/o/{organisation.slug}/audit?page=99").status_code == 200


def test_the_log_pages_by_fifty(client, organisation, org_admin, author, audited):
    c, _, _ = audited
    for n in range(55):
        proposals.update_consultation(
            c, actor=author, title=f"Parks plan {n}", summary=c.summary, opens_at=c.opens_at, closes_at=c.closes_at, licence=c.licence
        )
    db.session.commit()
    login(client, org_admin)
    first = client.get(f"/o/{organisation.slug}/audit").get_data(as_text=True)
    second = client.get(f"/o/{organisation.slug}/audit?page=2").get_data(as_text=True)
    assert first.count("Edited the consultation&#39;s details") == 50
    assert second.count("Edited the consultation&#39;s details") == 5 and "Hid a contribution" in second


@pytest.mark.parametrize("who, status", [("site_admin", 200), ("author", 403), ("moderator", 403), ("citizen", 403), ("outsider", 403)])
def test_only_the_organisations_admins_and_site_admins_read_the_log(request, client, organisation, audited, who, status):
    user = audited[2] if who == "outsider" else request.getfixturevalue(who)
    login(client, user)
    assert client.get(f"/o/{organisation.slug}/audit").status_code == status


def test_anonymous_readers_are_sent_to_sign_in_and_unknown_organisations_are_404(client, org_admin, organisation):
    response = client.get(f"/o/{organisation.slug}/audit")
    assert response.status_code == 302 and "/signin?next=" in response.headers["Location"]
    login(client, org_admin)
    assert client.get("/o/no-such-organisation/audit").status_code == 404


# ---- the open record -------------------------------------------------------------------------------


def test_the_records_staff_log_names_authors_and_admins_and_never_moderators(
    app, tmp_path, organisation, author, org_admin, moderator, citizen
):
    c = make_consultation(organisation, author=author, state="open", slug="record-log")
    comment = comments.post_comment(c, actor=citizen, body="Off topic rant.")
    proposal = amendments.propose_amendment(
        c, actor=citizen, section_key="scope", rationale="Wider.", quote="every department", replacement="every public body"
    )
    moderation.act([comment], actor=moderator, action="hide", reason="Off topic.")
    moderation.act([proposal], actor=org_admin, action="approve")  # an admin moderating is "a moderator"
    moderation.block(organisation, citizen, actor=moderator, reason="Spam.", consultation=c)
    accounts.add_member(organisation, make_user(name="Nina New"), Role.AUTHOR, actor=org_admin)
    amendments.answer_amendment(proposal.amendment, actor=org_admin, decision="not_accepted", reason="Too wide.")
    theme = moderation.create_theme(c, actor=moderator, name="Scope")
    proposals.change_state(c, Transition.CLOSE, actor=author)
    proposals.change_state(c, Transition.CONCLUDE, actor=author)
    db.session.commit()

    with app.test_request_context(base_url="http://consult.test"):
        export.write_folder(c, tmp_path / "record")
    document = json.loads((tmp_path / "record" / "record.json").read_text(encoding="utf-8"))
    assert schema_errors(document) == []
    log = document["staff_log"]
    assert [(e["operation"], e["by"]["role"], e["by"]["name"]) for e in log] == [
        ("create_consultation", "author", "Ada Author"),
        ("edit_text", "author", "Ada Author"),
        ("publish_version", "author", "Ada Author"),
        ("open", "author", "Ada Author"),
        ("hide", "moderator", None),
        ("approve", "moderator", None),
        ("block", "moderator", None),
        ("answer_amendment", "admin", "Orla Org-Admin"),
        ("create_theme", "moderator", None),
        ("close", "author", "Ada Author"),
        ("conclude", "author", "Ada Author"),
    ]  # the new author's role is the organisation's, not this consultation's
    by_operation = {e["operation"]: e for e in log}
    assert by_operation["hide"]["target_type"] == "contribution" and by_operation["hide"]["target_id"] == comment.id
    assert by_operation["block"]["target_type"] is None and by_operation["block"]["target_id"] is None  # never whom
    assert by_operation["answer_amendment"]["detail"] == {"decision": "not_accepted"}
    assert by_operation["create_theme"]["target_id"] == theme.id
    assert by_operation["conclude"]["detail"] == {"from": "closed", "to": "concluded"}
    everything = (tmp_path / "record" / "record.json").read_text(encoding="utf-8") + (tmp_path / "record" / "README.md").read_text(
        encoding="utf-8"
    )
    assert "Max Moderator" not in everything and "Nina New" not in everything


def test_the_schema_refuses_a_named_moderator():
    entry = {
        "id": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
        "operation": "hide",
        "by": {"role": "moderator", "name": "Max Moderator"},
        "target_type": "contribution",
        "target_id": 3,
        "detail": {},
    }
    document = {"staff_log": [entry]}
    assert any("staff_log[0].by.name" in e for e in schema_errors(document))
    entry["by"]["name"] = None
    assert not any("staff_log" in e for e in schema_errors(document))


def test_the_page_shows_every_kind_of_entry_in_plain_words(client, organisation, author, moderator, org_admin, citizen):
    c = make_consultation(organisation, author=author, state="open", slug="everything")
    comment = comments.post_comment(c, actor=citizen, body="Cover contractors.", section_key="scope")
    proposal = amendments.propose_amendment(
        c, actor=citizen, section_key="scope", rationale="Wider.", quote="every department", replacement="every public body"
    )
    amendments.answer_amendment(proposal.amendment, actor=author, decision="accepted_in_part", reason="Partly.")
    report = amendments.start_next_version(c, actor=author)
    amendments.cite(report.draft, "scope", comment, actor=author)
    amendments.uncite(report.draft, "scope", comment.id, actor=author)
    theme = moderation.create_theme(c, actor=moderator, name="Contractors")
    moderation.tag(theme, [comment], actor=moderator)
    moderation.write_summary(c, actor=moderator, summary="About scope.", section_key="scope")
    moderation.block(organisation, citizen, actor=moderator, reason="Spam.", consultation=c)
    moderation.unblock(organisation, citizen, actor=moderator, consultation=c)
    accounts.add_member(organisation, make_user(name="Nina New"), Role.AUTHOR, actor=org_admin)
    db.session.commit()
    login(client, org_admin)
    html = client.get(f"/o/{organisation.slug}/audit").get_data(as_text=True)
    for words in (
        "Answered an amendment",
        "decision: accepted_in_part",
        "Started the next version from accepted amendments",
        "Cited a contribution in the draft",
        "Removed a citation from the draft",
        "Created a theme",
        "Tagged contributions with a theme",
        "Wrote a summary",
        "summary of section scope",
        "Blocked a participant",
        "Lifted a block",
        "Casey Citizen",
        "Gave a role",
        "Nina New",
        "role: author",
        "Orla Org-Admin (admin)",
    ):
        assert words in html, words
