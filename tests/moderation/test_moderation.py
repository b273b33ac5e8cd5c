"""Moderation: reports, the queue, hiding, blocking, pre-moderation, the public log, rate
limits, themes and summaries, and the outcome page."""

import io
import re
import zipfile

import pytest
from sqlalchemy import func, select

from consult import create_app
from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.moderation import services
from consult.moderation.models import Block, ContributionTheme, ModerationLogEntry, Report, SummaryCitation, Theme
from consult.permissions import PermissionDenied
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from consult.voting import services as voting
from tests.conftest import login
from tests.factories import explain_changes, make_consultation, make_user

TEXT = """## Deadlines

Councils must respond within 30 days of receipt of a request.

## Fees

No fee may be charged for the first hour of work.
"""


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="access", title="Access to information", text=TEXT)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def people(n, prefix="Reporter"):
    return [make_user(name=f"{prefix} {i}") for i in range(n)]


# ---- reports -------------------------------------------------------------------------------


def test_the_third_distinct_report_hides_and_a_repeat_does_not_count(client, consultation, citizen):
    target = comments.post_comment(consultation, actor=citizen, body="Buy cheap watches at example.com", section_key="fees")
    first, second, third = people(3)
    db.session.commit()
    assert services.report(target, actor=first, reason="spam") is False
    assert services.report(target, actor=first, reason="offensive") is False  # the same person again: not counted
    assert count(Report) == 1
    assert services.report(target, actor=second, reason="spam") is False
    assert target.moderation_state == "visible"
    login(client, third)
    response = client.post(f"/contributions/{target.id}/report", data={"reason": "spam"})
    assert response.status_code == 302
    db.session.refresh(target)
    assert target.moderation_state == "hidden" and target.hidden_reason == services.AUTO_HIDDEN
    page = client.get("/c/access/s/fees").get_data(as_text=True)
    assert "Buy cheap watches" not in page and "This comment is hidden." in page and "0 comments" in page
    log = client.application.test_client().get("/c/access/moderation-log").get_data(as_text=True)  # as the public sees it
    assert "Hidden after reports" in log and first.display_name not in log and third.display_name not in log


def test_hiding_an_item_hidden_by_reports_records_the_moderators_decision(client, consultation, citizen, moderator):
    """Confirming a hide on an auto-hidden item said "0 contributions hidden", logged nothing,
    and the public text still said "until a moderator reviews it"."""
    target = comments.post_comment(consultation, actor=citizen, body="Buy cheap watches at example.com", section_key="fees")
    db.session.commit()
    for reporter in people(3):
        services.report(target, actor=reporter, reason="spam")
    assert target.hidden_reason == services.AUTO_HIDDEN
    logged = count(ModerationLogEntry, ModerationLogEntry.contribution_id == target.id)

    assert services.act([target], actor=moderator, action="hide", reason="Advertising.", rule="spam") == 1
    db.session.commit()
    assert target.moderation_state == "hidden" and target.hidden_reason == "Advertising."
    assert count(ModerationLogEntry, ModerationLogEntry.contribution_id == target.id) == logged + 1
    assert count(Report, Report.contribution_id == target.id, Report.resolved_at.is_(None)) == 0
    page = client.get("/c/access/s/fees").get_data(as_text=True)
    assert "Advertising." in page and services.AUTO_HIDDEN not in page
    assert "Advertising." in client.get("/c/access/moderation-log").get_data(as_text=True)

    # The same decision again changes nothing and logs nothing.
    assert services.act([target], actor=moderator, action="hide", reason="Advertising.") == 0
    assert count(ModerationLogEntry, ModerationLogEntry.contribution_id == target.id) == logged + 1


@pytest.mark.parametrize("data, message", [({"reason": "boring"}, "Choose why"), ({"reason": "other"}, "Say what is wrong")])
def test_bad_reports_are_refused(client, consultation, citizen, data, message):
    target = comments.post_comment(consultation, actor=make_user(name="Ann"), body="Hello", section_key="fees")
    db.session.commit()
    login(client, citizen)
    response = client.post(f"/contributions/{target.id}/report", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count(Report) == 0


def test_reporting_your_own_words_or_signed_out_is_refused(client, consultation, citizen):
    mine = comments.post_comment(consultation, actor=citizen, body="Mine", section_key="fees")
    db.session.commit()
    assert client.post(f"/contributions/{mine.id}/report", data={"reason": "spam"}).status_code in (302, 401)
    assert count(Report) == 0
    login(client, citizen)
    assert client.post(f"/contributions/{mine.id}/report", data={"reason": "spam"}).status_code == 403


# ---- the queue -------------------------------------------------------------------------------


def test_a_citizen_cannot_reach_the_queue_or_act(client, consultation, citizen, organisation):
    target = comments.post_comment(consultation, actor=make_user(name="Ann"), body="Hello", section_key="fees")
    db.session.commit()
    login(client, citizen)
    assert client.get(f"/o/{organisation.slug}/moderation").status_code == 403
    response = client.post(f"/o/{organisation.slug}/moderation", data={"ids": [target.id], "action": "hide", "reason": "No."})
    assert response.status_code == 403
    assert client.post(f"/o/{organisation.slug}/block", data={"contribution_id": target.id, "reason": "No."}).status_code == 403
    assert client.get("/c/access/themes").status_code == 403
    db.session.refresh(target)
    assert target.moderation_state == "visible" and count(ModerationLogEntry) == 0


def test_moderators_work_the_queue_in_bulk(client, consultation, moderator, organisation):
    authors = people(3, "Author")
    a, b, c = (comments.post_comment(consultation, actor=who, body=f"Text {i}", section_key="fees") for i, who in enumerate(authors))
    reporters = people(2)
    for r in reporters:
        services.report(a, actor=r, reason="offensive")
    services.report(b, actor=reporters[0], reason="spam")
    db.session.commit()
    login(client, moderator)
    page = client.get(f"/o/{organisation.slug}/moderation").get_data(as_text=True)
    assert page.index(f">#{a.id}<") < page.index(f">#{b.id}<")  # most reported first
    assert f">#{c.id}<" not in page  # nothing to do about it
    response = client.post(
        f"/o/{organisation.slug}/moderation",
        data={"ids": [a.id, b.id], "action": "hide", "reason": "Insults are not debate.", "rule": "offensive"},
    )
    assert response.status_code == 302
    assert "Done: 2 contributions hidden." in client.get(response.headers["Location"]).get_data(as_text=True)
    for x in (a, b):
        db.session.refresh(x)
        assert (x.moderation_state, x.hidden_reason) == ("hidden", "Insults are not debate.")
    assert count(Report, Report.resolved_at.is_(None)) == 0
    assert f">#{a.id}<" not in client.get(f"/o/{organisation.slug}/moderation").get_data(as_text=True)
    thread = client.get("/c/access/s/fees").get_data(as_text=True)
    assert "Insults are not debate." in thread and "Text 0" not in thread
    # hiding needs a public reason: said on the form, the selection kept
    services.report(c, actor=reporters[1], reason="off_topic")
    db.session.commit()
    refused = client.post(f"/o/{organisation.slug}/moderation", data={"ids": [c.id], "action": "hide", "reason": "", "rule": "off_topic"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and '<a href="#reason">Give the reason for hiding' in html
    assert f'value="{c.id}" id="select-{c.id}" aria-label="Select #{c.id}" checked' in html
    assert '<option value="off_topic" selected>' in html and '<option value="hide" selected>' in html  # the choices kept
    assert 'id="reason" name="reason"' in html and 'aria-invalid="true"' in html
    # hidden ones are listed for restoring
    assert f'id="restore-{a.id}"' in client.get(f"/o/{organisation.slug}/moderation").get_data(as_text=True)
    # restoring brings it back
    assert client.post(f"/o/{organisation.slug}/moderation", data={"ids": [a.id], "action": "restore"}).status_code == 302
    assert "Text 0" in client.get("/c/access/s/fees").get_data(as_text=True)
    log = client.application.test_client().get("/c/access/moderation-log").get_data(as_text=True)
    assert log.count("Insults are not debate.") == 2 and "Restored" in log and moderator.display_name not in log


def test_a_hidden_item_is_absent_from_every_list_count_tally_and_api(client, consultation, author, citizen, moderator):
    """One walk through every place a contribution shows up."""
    secret = "Quarantined words"
    annotation = comments.post_comment(consultation, actor=citizen, body=secret, section_key="deadlines", quote="within 30 days")
    comments.post_comment(consultation, actor=make_user(name="Rita"), body="A reply stays", parent=annotation)
    amendment = amendments.propose_amendment(
        consultation, actor=citizen, section_key="fees", rationale=secret, quote="first hour", replacement="first two hours"
    )
    voter = make_user(name="Vic Voter")
    voting.cast_vote(consultation, actor=voter, value="support", contribution=amendment)
    db.session.commit()
    before = services.figures(consultation)
    assert (before.annotations, before.amendments, before.votes) == (1, 1, 1)
    assert client.get("/api/v1/search?q=quarantined").get_json()["total"] == 2  # found before it is hidden
    with zipfile.ZipFile(io.BytesIO(client.get("/c/access/record.zip").data)) as record:
        assert secret in record.read("record.json").decode("utf-8")
    services.act([annotation, amendment], actor=moderator, action="hide", reason="Personal data.")
    db.session.commit()

    places = {
        "reading page": "/c/access",
        "section page": "/c/access/s/deadlines",
        "fees page": "/c/access/s/fees",
        "amendments": "/c/access/amendments",
        "person": f"/people/{citizen.id}",
        "annotations API": "/api/v1/consultations/access/annotations",
        "amendments API": "/api/v1/consultations/access/amendments",
    }
    places |= {"search page": "/search?q=quarantined", "search API": "/api/v1/search?q=quarantined words"}
    for name, url in places.items():
        page = client.get(url).get_data(as_text=True)
        assert secret not in page, name  # (the search pages repeat the query in lower case)
    assert client.get("/api/v1/search?q=quarantined").get_json()["total"] == 0
    # the open policy record: every file of the zip
    with zipfile.ZipFile(io.BytesIO(client.get("/c/access/record.zip").data)) as record:
        for name in record.namelist():
            assert secret not in record.read(name).decode("utf-8-sig"), name
    reading = client.get("/c/access").get_data(as_text=True)
    assert '<mark class="annotation' not in reading and 'Amendments <span class="count">(0)</span>' in reading  # no highlight, not counted
    assert "A reply stays" in client.get("/c/access/s/deadlines").get_data(as_text=True)
    assert client.get(f"/amendments/{amendment.id}", follow_redirects=True).status_code == 404
    assert client.get(f"/api/v1/amendments/{amendment.id}").status_code == 404
    assert client.get("/api/v1/consultations/access/annotations").get_json()["total"] == 1  # the reply only
    assert services.section_summaries(consultation) == {}
    after = services.figures(consultation)
    assert (after.annotations, after.amendments, after.votes) == (0, 0, 0)
    assert voting.tallies([amendment.id])[amendment.id].support == 1  # the vote is kept, for a restore
    assert amendments.unanswered_above_threshold(consultation) == 0
    login(client, voter)
    assert client.post("/c/access/vote", data={"contribution_id": amendment.id, "value": "oppose"}).status_code == 409


def test_blocking_hides_everything_the_author_wrote_and_unblocking_restores_it(client, consultation, citizen, moderator, organisation):
    other = make_consultation(organisation, state="open", slug="other", text=TEXT)
    words = [comments.post_comment(c, actor=citizen, body=f"Words {c.slug}", section_key="fees") for c in (consultation, other)]
    db.session.commit()
    login(client, moderator)
    response = client.post(f"/o/{organisation.slug}/block", data={"contribution_id": words[0].id, "reason": "Repeated abuse."})
    assert response.status_code == 302
    for slug in ("access", "other"):
        page = client.get(f"/c/{slug}/s/fees").get_data(as_text=True)
        assert f"Words {slug}" not in page and "the moderators blocked its author" in page
    assert services.figures(consultation).comments == 0
    citizen_client = client.application.test_client()
    login(citizen_client, citizen)
    assert citizen_client.post("/c/access/comments", data={"section_key": "fees", "body": "Let me back"}).status_code == 403
    block_id = db.session.scalar(select(func.max(ModerationLogEntry.id)))

    row = db.session.scalar(select(Block))
    assert client.post(f"/o/{organisation.slug}/unblock/{row.id}").status_code == 302
    for slug in ("access", "other"):
        assert f"Words {slug}" in client.get(f"/c/{slug}/s/fees").get_data(as_text=True)
    assert block_id is not None
    log = client.application.test_client().get("/c/access/moderation-log").get_data(as_text=True)
    assert "A participant was blocked" in log and "A block was lifted" in log and citizen.display_name not in log


def test_a_refused_block_or_theme_is_explained_on_its_form_keeping_what_was_typed(client, consultation, citizen, moderator, organisation):
    words = comments.post_comment(consultation, actor=citizen, body="Some words", section_key="fees")
    db.session.commit()
    login(client, moderator)
    url = f"/o/{organisation.slug}/block"
    for data, message in (
        ({"contribution_id": "nine", "reason": "Abuse."}, "Give the number of one of this organisation"),
        ({"contribution_id": "999999", "reason": "Abuse."}, "Give the number of one of this organisation"),
        ({"contribution_id": str(words.id), "reason": "  "}, "Give the reason for blocking"),
        ({"contribution_id": str(words.id), "reason": "x" * 100_000}, "at most 500 characters"),  # it goes into the public log
    ):
        response = client.post(url, data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and message in html, data
        assert "Moderation queue" in html and f'value="{data["contribution_id"]}"' in html  # the queue, the number kept
    assert count(Block) == 0 and count(ModerationLogEntry) == 0
    assert client.post(url, data={"contribution_id": f"#{words.id}", "reason": "Abuse."}).status_code == 302  # "#12" is a number too

    for name, message in (("   ", "Name the theme."), ("x" * 121, "at most 120 characters")):
        response = client.post("/c/access/themes", data={"name": name})
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert client.post("/c/access/themes", data={"name": "Fees"}).status_code == 302
    again = client.post("/c/access/themes", data={"name": "Fees"})
    assert again.status_code == 400 and "There is already a theme" in again.get_data(as_text=True)
    assert 'value="Fees"' in again.get_data(as_text=True)
    # What was typed stays, also on a page listing tagged contributions (their theme names are shown too).
    other = services.create_theme(consultation, actor=moderator, name="Other")
    shown = comments.post_comment(consultation, actor=make_user(name="Una"), body="Shown words", section_key="fees")
    services.tag(other, [shown], actor=moderator)  # (the first author is blocked: theirs is not listed)
    db.session.commit()
    listed = client.post("/c/access/themes?show=all", data={"name": "Fees"})
    assert listed.status_code == 400 and 'name="name" maxlength="120" value="Fees"' in listed.get_data(as_text=True)


def test_tagging_or_blocking_twice_changes_nothing_the_second_time(consultation, citizen, moderator, organisation):
    """The unique constraints settle repeats (and two moderators at once): no error, no second row or log line."""
    words = comments.post_comment(consultation, actor=citizen, body="Some words", section_key="fees")
    theme = services.create_theme(consultation, actor=moderator, name="Fees")
    assert services.tag(theme, [words], actor=moderator) == 1
    assert services.tag(theme, [words, words], actor=moderator) == 0
    assert count(ContributionTheme) == 1
    assert services.tag(theme, [words], actor=moderator, remove=True) == 1 and count(ContributionTheme) == 0
    assert services.tag(theme, [words], actor=moderator) == 1  # tagged again after untagging
    for _ in range(2):
        services.block(organisation, citizen, actor=moderator, reason="Abuse.", consultation=consultation)
    assert count(Block) == 1 and count(ModerationLogEntry, ModerationLogEntry.action == "block") == 1
    with pytest.raises(RuleViolation, match="already a theme"):
        services.create_theme(consultation, actor=moderator, name=" Fees ")
    db.session.commit()  # the session is still usable after the refused insert
    assert count(Theme) == 1


def test_pre_moderation_holds_a_newcomers_first_contribution(client, consultation, citizen, moderator, organisation):
    consultation.moderation_mode = "pre"
    db.session.commit()
    first = comments.post_comment(consultation, actor=citizen, body="My first words", section_key="fees")
    db.session.commit()
    assert first.moderation_state == "pending"
    assert "My first words" not in client.get("/c/access/s/fees").get_data(as_text=True)  # the public does not see it
    login(client, citizen)
    assert "My first words" in client.get("/c/access/s/fees").get_data(as_text=True)  # its author does, marked
    mod = client.application.test_client()
    login(mod, moderator)
    assert f">#{first.id}<" in mod.get(f"/o/{organisation.slug}/moderation").get_data(as_text=True)
    assert mod.post(f"/o/{organisation.slug}/moderation", data={"ids": [first.id], "action": "approve"}).status_code == 302
    second = comments.post_comment(consultation, actor=citizen, body="Now trusted", section_key="fees")
    assert second.moderation_state == "visible"


def test_posting_too_fast_answers_429_with_a_clear_message(instance_path, tmp_path):
    from tests.conftest import build_schema

    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "sqlite://",
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "POSTING_RATE_LIMIT": "2 per minute",
            "SERVER_NAME": "consult.test",
        }
    )
    build_schema(app)
    with app.app_context():
        make_consultation(state="open", slug="fast", text=TEXT)
        writer = make_user(name="Speedy")
        db.session.commit()
        client = app.test_client()
        login(client, writer)
        codes = [client.post("/c/fast/comments", data={"section_key": "fees", "body": f"Comment {n}"}).status_code for n in range(3)]
        assert codes == [302, 302, 429]
        response = client.post("/c/fast/comments", data={"section_key": "fees", "body": "again"})
        assert response.status_code == 429 and "faster than a person writes" in response.get_data(as_text=True)
        assert db.session.scalar(select(func.count()).select_from(Contribution)) == 2
        db.session.remove()


# ---- themes and summaries --------------------------------------------------------------------


def test_summaries_cite_visible_contributions_only(client, consultation, moderator, citizen):
    good = comments.post_comment(consultation, actor=citizen, body="Thirty days is too long", section_key="deadlines")
    hidden = comments.post_comment(consultation, actor=citizen, body="Rude", section_key="deadlines")
    services.act([hidden], actor=moderator, action="hide", reason="Rude.")
    db.session.commit()
    login(client, moderator)
    assert client.post("/c/access/themes", data={"name": "Deadlines"}).status_code == 302
    theme_page = client.get("/c/access/themes").get_data(as_text=True)
    theme_id = int(re.search(r"/c/access/themes/(\d+)/summary", theme_page).group(1))
    assert client.post("/c/access/themes", data={"theme_id": theme_id, "ids": [good.id]}).status_code == 302
    form = client.get(f"/c/access/themes/{theme_id}/summary").get_data(as_text=True)
    assert f"<code>[#{good.id}]</code>" in form and f"[#{hidden.id}]" not in form  # the tagged ones, to cite
    section_form = client.get("/c/access/s/deadlines/summary").get_data(as_text=True)
    assert f"<code>[#{good.id}]</code>" in section_form and "Rude" not in section_form
    for bad, missing in ((f"See [#{hidden.id}].", f"#{hidden.id}"), ("See [#999999].", "#999999")):
        response = client.post(f"/c/access/themes/{theme_id}/summary", data={"summary": bad})
        assert response.status_code == 400 and missing in response.get_data(as_text=True)
        assert "not a visible contribution" in response.get_data(as_text=True)
    assert count(SummaryCitation) == 0
    ok = client.post(f"/c/access/themes/{theme_id}/summary", data={"summary": f"People want faster answers [#{good.id}]."})
    assert ok.status_code == 302 and count(SummaryCitation) == 1
    response = client.post("/c/access/s/deadlines/summary", data={"summary": f"One view [#{good.id}]."})
    assert response.status_code == 302 and count(SummaryCitation) == 2
    outcome = client.get("/c/access/outcome").get_data(as_text=True)
    assert f'<a href="/comments/{good.id}">#{good.id}</a>' in outcome and "People want faster answers" in outcome
    assert "Preview:" in outcome
    citizen_client = client.application.test_client()
    login(citizen_client, citizen)
    assert citizen_client.post(f"/c/access/themes/{theme_id}/summary", data={"summary": "Mine"}).status_code == 403


def test_the_outcome_is_public_once_concluded(client, consultation, author):
    assert client.get("/c/access/outcome").status_code == 404
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    proposals.write_markdown(consultation, TEXT.replace("30 days", "20 days"), actor=author)
    explain_changes(consultation, author)
    proposals.publish_version(consultation, actor=author, note="Faster.")
    proposals.change_state(consultation, Transition.CONCLUDE, actor=author)
    db.session.commit()
    page = client.get("/c/access/outcome").get_data(as_text=True)
    assert "You said, we did" in page and "Preview:" not in page
    assert (
        re.search(r"<del>.*30.*</del>", page) and "People who took part" in page and "<svg" in page and '<table class="bar-chart">' in page
    )
    # Redlines fold (the citations stay in view), with the whole comparison a link away.
    assert re.search(
        r'<details class="redline-details"><summary>The changes, word by word.*?</summary><div class="redline">.*?<del>', page, re.S
    )
    assert 'href="/c/access/diff?from=1&amp;to=2"' in page
    assert 'href="/c/access/record.zip" download>Download the record (ZIP)' in page  # the open record, found
    assert 'href="/c/access/record.zip" download>download the whole record' in client.get("/c/access").get_data(as_text=True)


def test_moderation_actions_need_the_organisations_moderators(consultation, citizen, author):
    target = comments.post_comment(consultation, actor=make_user(name="Ann"), body="Hello", section_key="fees")
    for who in (citizen, author):
        with pytest.raises(PermissionDenied):
            services.act([target], actor=who, action="hide", reason="No.")
    with pytest.raises(PermissionDenied):
        services.create_theme(consultation, actor=citizen, name="Mine")
    with pytest.raises(RuleViolation):
        services.act([], actor=author, action="hide", reason="No.")


def test_the_reply_form_never_quotes_a_hidden_or_blocked_comment(client, consultation, citizen, moderator, organisation):
    hidden = comments.post_comment(consultation, actor=make_user(name="Hal"), body="HIDDEN-WORDS", section_key="fees")
    blocked_author = make_user(name="Bo")
    blocked = comments.post_comment(consultation, actor=blocked_author, body="BLOCKED-WORDS", section_key="fees")
    services.act([hidden], actor=moderator, action="hide", reason="Rude.")
    services.block(organisation, blocked_author, actor=moderator, reason="Abuse.", consultation=consultation)
    db.session.commit()
    login(client, citizen)
    for item in (hidden, blocked):
        assert client.get(f"/comments/{item.id}/reply").status_code == 404
        assert client.post(f"/comments/{item.id}/reply", data={"body": "A reply"}).status_code == 404
    assert "HIDDEN-WORDS" not in client.get("/c/access/s/fees").get_data(as_text=True)
    assert count(Contribution, Contribution.parent_id.in_([hidden.id, blocked.id])) == 0


def test_a_concluded_consultations_themes_are_fixed_and_moderators_told_why(client, consultation, author, moderator, citizen):
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    proposals.change_state(consultation, Transition.CONCLUDE, actor=author)
    db.session.commit()
    login(client, moderator)
    for url in ("/c/access/themes", "/c/access/s/fees/summary"):
        response = client.get(url)
        assert response.status_code == 409 and "part of the published outcome" in response.get_data(as_text=True)
    assert client.post("/c/access/themes", data={"name": "Late"}).status_code == 409
    login(client, citizen)
    assert client.get("/c/access/themes").status_code == 403  # citizens learn nothing more


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["\u00b2", "99999999999999999999"])  # "²" passes str.isdigit(); the other is past INTEGER
def test_numbers_that_are_not_whole_numbers_in_range_are_a_400(client, consultation, citizen, moderator, number):
    comment = comments.post_comment(consultation, actor=citizen, body="Fine words", section_key="deadlines")
    theme = services.create_theme(consultation, actor=moderator, name="Deadlines")
    db.session.commit()
    assert client.get("/c/access/moderation-log", query_string={"page": number}).status_code == 400
    login(client, moderator)
    queue = client.post("/o/council/moderation", data={"ids": [str(comment.id), number], "action": "hide", "reason": "spam"})
    assert queue.status_code == 400 and "selected by their numbers" in queue.get_data(as_text=True)
    blocked = client.post("/o/council/block", data={"contribution_id": number, "reason": "abuse"})
    assert blocked.status_code == 400 and "Give the number" in blocked.get_data(as_text=True)
    tagged = client.post("/c/access/themes", data={"theme_id": number, "ids": str(comment.id)})
    assert tagged.status_code == 400
    assert client.post("/c/access/themes", data={"theme_id": str(theme.id), "ids": number}).status_code == 400
    assert client.get("/c/access/themes", query_string={"theme": number}).status_code == 400
    assert client.get("/c/access/themes", query_string={"page": number}).status_code == 400
    db.session.refresh(comment)
    assert comment.moderation_state == "visible"
    assert db.session.scalar(select(func.count()).select_from(Block)) == 0
    assert db.session.scalar(select(func.count()).select_from(ContributionTheme)) == 0


def test_posting_limits_are_counted_in_redis_when_several_servers_share_them(tmp_path):
    """With RATELIMIT_STORAGE_URI=redis://… the counters live in Redis, where every app server
    reads them (CI runs Redis; a developer without it is told, not failed)."""
    import uuid

    from tests.conftest import build_schema, redis_or_skip

    server = redis_or_skip(14)
    prefix = f"consult-test-{uuid.uuid4().hex}"
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "sqlite://",
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "POSTING_RATE_LIMIT": "2 per minute",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/14",
            "RATELIMIT_KEY_PREFIX": prefix,
            "SERVER_NAME": "consult.test",
        }
    )
    build_schema(app)
    try:
        with app.app_context():
            make_consultation(state="open", slug="fast", text=TEXT)
            writer = make_user(name="Speedy")
            db.session.commit()
            client = app.test_client()
            login(client, writer)
            codes = [client.post("/c/fast/comments", data={"section_key": "fees", "body": f"Comment {n}"}).status_code for n in range(3)]
            assert codes == [302, 302, 429]
            counters = [key.decode() for key in server.scan_iter(f"*{prefix}*")]
            assert any(f"user:{writer.id}" in key for key in counters), counters
    finally:
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)
