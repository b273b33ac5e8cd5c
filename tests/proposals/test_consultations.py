"""Consultations: importing and publishing text, versions, diffs, the lifecycle, visibility."""

import io
import re
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.demo import POLICY_DIR, policy_files
from consult.proposals import services
from consult.proposals.models import Consultation, ConsultationState, Section, Transition, Version
from tests.conftest import login
from tests.factories import explain_changes, make_consultation

HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)


def headings_in(folder: str) -> list[str]:
    found = []
    for _, text in policy_files(folder):
        body = text.split("\n---", 2)[-1] if text.lstrip("\ufeff").startswith("---") else text
        found += HEADING.findall(body.replace("\r\n", "\n"))
    return found


@pytest.fixture
def policy(organisation, author):
    """The Federal Source Code Policy: draft v1 published and open, final v2 published."""
    consultation = services.create_consultation(organisation, actor=author, title="Federal Source Code Policy", slug="fscp")
    services.import_markdown(consultation, policy_files("v1-draft-2016-04"), actor=author)
    services.publish_version(consultation, actor=author)
    consultation.opens_at, consultation.closes_at = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)
    services.change_state(consultation, Transition.OPEN, actor=author)
    services.import_markdown(consultation, policy_files("v2-final-2016-08"), actor=author)
    explain_changes(consultation, author)
    services.publish_version(consultation, actor=author, note="The final policy, M-16-21.")
    db.session.commit()
    return consultation


def test_importing_the_real_policy_gives_a_section_per_heading(policy):
    v1, v2 = policy.version(1), policy.version(2)
    # A section per heading but the "Footnotes" ones: notes end the sections citing them.
    assert len(v1.sections) == len(headings_in("v1-draft-2016-04")) - 8 == 13
    assert len(v2.sections) == len(headings_in("v2-final-2016-08")) - 8 == 20
    for version in (v1, v2):
        keys = [s.key for s in version.sections]
        assert len(set(keys)) == len(keys)
        assert all("layout: page" not in s.body for s in version.sections)
    assert v1.section("objectives").heading == "1. Objectives"
    assert "Footnotes" not in [s.heading for s in v1.sections]


def test_publishing_a_version_records_what_changed(policy):
    v2 = policy.version(2)
    changes = {s.key: s.change for s in v2.sections}
    assert changes["objectives"] == "changed"
    assert changes["exceptions-to-government-code-reuse"] == "added"
    # renamed heading, mostly the same words: the section keeps its identity (and key)
    assert "membership-in-the-open-source-community" in changes
    assert v2.section("membership-in-the-open-source-community").heading.endswith("Participation in the Open Source Community")
    assert policy.current_version == v2
    assert v2.change_note == "The final policy, M-16-21."


def test_a_renumbered_section_is_kept(organisation, author):
    consultation = make_consultation(
        organisation, author=author, state="open", text="## 1. Purpose\n\nSame words.\n\n## 2. Scope\n\nAll staff.\n"
    )
    services.write_markdown(
        consultation, "## 1. Purpose\n\nSame words.\n\n## 3. Scope\n\nAll staff.\n\n## 2. New\n\nBrand new.\n", actor=author
    )
    explain_changes(consultation, author)
    version = services.publish_version(consultation, actor=author, note="Renumbered.")
    assert [(s.key, s.change) for s in version.sections] == [("purpose", "kept"), ("scope", "changed"), ("new", "added")]


def test_diff_page_shows_a_word_level_redline(client, policy):
    response = client.get("/c/fscp/diff?from=1&to=2")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "What changed from version 1 to version 2" in html
    assert html.count("<del>") > 10 and html.count("<ins>") > 10
    # readable without colour: each change is announced in words, not only styled
    assert '<span class="visually-hidden">deleted: </span>' in html and '<span class="visually-hidden">inserted: </span>' in html
    assert re.search(r"\d+ sections changed, \d+ added, \d+ removed", html)
    assert "Exceptions to Government Code Reuse" in html


def test_ambiguous_headings_are_named_with_the_heading_above(policy):
    labels = policy.version(2).labels()
    assert labels["objectives"] == "1. Objectives"  # unique: as it is
    headings = [("scope", "1. Scope", 2), ("scope-examples", "Examples", 3), ("terms", "2. Terms", 2), ("terms-examples", "Examples", 3)]
    version = Version(number=9, sections=[Section(key=k, heading=h, level=n, position=i) for i, (k, h, n) in enumerate(headings)])
    assert version.labels() == {
        "scope": "1. Scope",
        "scope-examples": "Examples (1. Scope)",
        "terms": "2. Terms",
        "terms-examples": "Examples (2. Terms)",
    }


def test_comparing_versions_is_computed_once_per_pair_of_texts(policy, author):
    from consult.proposals.services import _compare_texts

    v1, v2 = policy.version(1), policy.version(2)
    first = services.diff_versions(v1, v2)
    hits = _compare_texts.cache_info().hits
    again = services.diff_versions(v1, v2)
    assert _compare_texts.cache_info().hits == hits + 1
    assert [(d.key, d.status, d.text_ops) for d in again] == [(d.key, d.status, d.text_ops) for d in first]
    assert all(d.new is None or d.new in v2.sections for d in again)  # this session's sections, not cached ones
    # A changed text is a new comparison: the cache is keyed by the texts, not the versions' ids.
    draft = services.write_markdown(policy, "# Only one section\n\nNothing else.\n", actor=author)
    changed = services.diff_versions(v2, draft)
    assert [d.status for d in changed if d.new is not None] == ["added"]
    assert _compare_texts.cache_info().hits == hits + 1  # computed, not taken from the cache


@pytest.mark.parametrize("query", ["from=1&to=1", "from=x&to=2", "from=1&to=9"])
def test_diff_page_refuses_bad_versions(client, policy, query):
    assert client.get(f"/c/fscp/diff?{query}").status_code in (400, 404)


def test_version_switcher_shows_each_published_version(client, policy):
    html = client.get("/c/fscp").get_data(as_text=True)
    assert "Version 2, published" in html and "(current)" in html
    assert 'href="/c/fscp/v/1"' in html and "/c/fscp/diff?from=1" in html.replace("&amp;", "&")
    old = client.get("/c/fscp/v/1").get_data(as_text=True)
    assert "Introduction for Public Comment" in old
    assert client.get("/c/fscp/v/3").status_code == 404


def test_consultation_page_has_contents_and_sanitised_policy_html(client, policy):
    html = client.get("/c/fscp/v/1").get_data(as_text=True)
    assert '<nav class="toc"' in html and 'href="#s-objectives"' in html and 'id="s-objectives"' in html
    assert '<sup id="p-introduction-fnr1"><a aria-label="Footnote 1" href="#p-introduction-fn1">' in html
    assert '<li id="p-introduction-fn1" value="1">' in html and 'style="' not in html.split("<main", 1)[1]


def test_drafts_are_invisible_to_the_public_everywhere(app, client, draft_consultation, citizen, author):
    db.session.commit()
    slug, title = draft_consultation.slug, draft_consultation.title
    for who in (None, citizen):
        c = app.test_client()
        if who:
            login(c, who)
        for url in ("/", "/?state=draft", "/o/council", "/api/v1/consultations", "/api/v1/consultations?state=draft"):
            response = c.get(url)
            assert title not in response.get_data(as_text=True), url
        for url in (
            f"/c/{slug}",
            f"/c/{slug}/v/1",
            f"/c/{slug}/diff",
            f"/api/v1/consultations/{slug}",
            f"/api/v1/consultations/{slug}/versions/1",
        ):
            assert c.get(url).status_code == 404, url
        if who:
            assert c.get(f"/c/{slug}/text").status_code == 404
            assert c.post(f"/c/{slug}/publish").status_code == 404
        assert '"total":0' in c.get("/api/v1/consultations").get_data(as_text=True).replace(" ", "")
    editor = app.test_client()
    login(editor, author)
    assert title in editor.get("/").get_data(as_text=True)
    assert editor.get(f"/c/{slug}").status_code == 200


def test_an_author_writes_publishes_and_opens_a_consultation_in_the_browser(client, author, organisation):
    login(client, author)
    response = client.post(
        "/consultations/new",
        data={
            "organisation_id": organisation.id,
            "title": "Parks by-law",
            "summary": "Tell us.",
            "licence": "CC-BY-4.0",
            "response_threshold": "5",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/c/parks-by-law/text")
    response = client.post(
        "/c/parks-by-law/text", data={"write-source": "## Opening hours\n\nParks open at dawn.\n\n## Dogs\n\nDogs on leads.\n"}
    )
    assert response.status_code == 302
    consultation = db.session.scalar(select(Consultation).where(Consultation.slug == "parks-by-law"))
    assert [s.key for s in consultation.draft_version.sections] == ["opening-hours", "dogs"]
    assert client.post("/c/parks-by-law/publish", data={"note": ""}).status_code == 302
    assert client.post("/c/parks-by-law/state", data={"transition": "open"}).status_code == 302
    db.session.refresh(consultation)
    assert consultation.state == "open" and consultation.current_version.number == 1
    assert "Dogs on leads." in client.get("/c/parks-by-law").get_data(as_text=True)


def test_markdown_files_are_imported_in_name_order(client, author, organisation):
    consultation = make_consultation(organisation, author=author, state="draft", text="", publish=False)
    login(client, author)
    files = [
        (io.BytesIO(b"---\ntitle: B\n---\n## Second\n\nTwo.\n"), "02-second.md"),
        (io.BytesIO("\ufeff## First\r\n\r\nOne — café.\r\n".encode()), "01-first.md"),
    ]
    response = client.post(f"/c/{consultation.slug}/text", data={"import-files": files}, content_type="multipart/form-data")
    assert response.status_code == 302
    # text: the textContent of the rendered body, exactly (the renderer ends each block with a newline)
    assert [(s.heading, s.text) for s in consultation.draft_version.sections] == [("First", "One — café.\n"), ("Second", "Two.\n")]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"write-source": ""}, "Write the text"),
        ({"write-source": "x" * 1_000_001}, "at most 1,000,000 characters here"),
    ],
)
def test_bad_text_is_refused_and_nothing_stored(client, author, organisation, data, message):
    consultation = make_consultation(organisation, author=author, state="draft", text="", publish=False)
    login(client, author)
    response = client.post(f"/c/{consultation.slug}/text", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Section.id))) == 0


def test_uploading_a_non_markdown_or_non_utf8_file_is_refused(client, author, organisation):
    consultation = make_consultation(organisation, author=author, state="draft", text="", publish=False)
    login(client, author)
    response = client.post(
        f"/c/{consultation.slug}/text", data={"import-files": [(io.BytesIO(b"MZ\x90"), "virus.exe")]}, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and "Only Markdown files" in response.get_data(as_text=True)
    response = client.post(
        f"/c/{consultation.slug}/text",
        data={"import-files": [(io.BytesIO(b"## A\n\n\xff\xfe"), "latin.md")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "not UTF-8" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Section.id))) == 0


def test_creating_with_bad_details_is_refused(client, author, organisation):
    login(client, author)
    now = utcnow()
    response = client.post(
        "/consultations/new",
        data={
            "organisation_id": organisation.id,
            "title": "",
            "slug": "Bad Slug!",
            "licence": "CC-BY-4.0",
            "response_threshold": "-1",
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Give the consultation a title." in html and "single hyphens" in html and "from 0 to 100,000" in html
    response = client.post(
        "/consultations/new",
        data={
            "organisation_id": organisation.id,
            "title": "Dates backwards",
            "licence": "CC-BY-4.0",
            "response_threshold": "1",
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 400 and "closing date must be after" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Consultation.id))) == 0


def test_creating_in_someone_elses_organisation_is_refused(client, citizen, organisation):
    login(client, citizen)
    assert client.get("/consultations/new").status_code == 403


def test_two_editors_saving_at_once_do_not_overwrite_each_other(client, author, open_consultation):
    login(client, author)
    stale = open_consultation.row_version
    fields = {"title": "First save", "summary": "", "licence": "CC-BY-4.0", "response_threshold": "3", "row_version": str(stale)}
    assert client.post("/c/open-one/edit", data=fields).status_code == 302
    response = client.post("/c/open-one/edit", data=fields | {"title": "Second save"})
    assert response.status_code == 409 and "Someone else saved" in response.get_data(as_text=True)
    db.session.refresh(open_consultation)
    assert open_consultation.title == "First save"


def test_opening_needs_a_published_version(organisation, author):
    consultation = make_consultation(organisation, author=author, state="draft", publish=False)
    with pytest.raises(RuleViolation, match="Publish version 1"):
        services.change_state(consultation, Transition.OPEN, actor=author)


def test_publishing_a_second_version_needs_a_change_note(organisation, author, open_consultation):
    services.write_markdown(open_consultation, "## Purpose\n\nNew words.\n", actor=author)
    with pytest.raises(RuleViolation, match="change note"):
        services.publish_version(open_consultation, actor=author, note="  ")
    assert open_consultation.current_version.number == 1


def test_a_published_version_is_frozen(organisation, author, open_consultation):
    v1_text = [s.body for s in open_consultation.version(1).sections]
    services.write_markdown(open_consultation, "## Purpose\n\nRewritten.\n", actor=author)
    assert [s.body for s in open_consultation.version(1).sections] == v1_text
    assert open_consultation.draft_version.number == 2


def test_consultations_open_and_close_by_date(organisation, author):
    now = utcnow()
    scheduled = make_consultation(organisation, author=author, state="draft", slug="scheduled")
    scheduled.opens_at, scheduled.closes_at = now + timedelta(hours=1), now + timedelta(days=10)
    unpublished = make_consultation(organisation, author=author, state="draft", slug="unpublished", publish=False)
    unpublished.opens_at = now - timedelta(hours=1)
    ending = make_consultation(organisation, author=author, state="open", slug="ending")
    ending.closes_at = now + timedelta(hours=2)
    db.session.flush()

    assert services.apply_schedule(now) == 0
    assert services.apply_schedule(now + timedelta(hours=1, minutes=1)) == 1
    assert (scheduled.state, unpublished.state, ending.state) == ("open", "draft", "open")
    assert services.apply_schedule(now + timedelta(hours=3)) == 1
    assert ending.state == "closed"
    assert services.apply_schedule(now + timedelta(hours=3)) == 0  # idempotent


def test_the_tick_command_applies_the_schedule(app, organisation, author):
    ending = make_consultation(organisation, author=author, state="open", slug="ending")
    ending.closes_at = utcnow() + timedelta(seconds=1)
    ending.opens_at = utcnow() - timedelta(days=1)
    db.session.commit()
    ending.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0 and "1 consultation(s) changed state" in result.output
    db.session.refresh(ending)
    assert ending.state == ConsultationState.CLOSED


def test_list_filters_by_state_and_organisation(client, organisation, author):
    make_consultation(organisation, author=author, state="open", title="Open one", slug="o1")
    make_consultation(organisation, author=author, state="closed", title="Closed one", slug="c1")
    db.session.commit()
    open_html = client.get("/?state=open").get_data(as_text=True)
    assert "Open one" in open_html and "Closed one" not in open_html
    closed_html = client.get("/?state=closed").get_data(as_text=True)
    assert "Closed one" in closed_html and "Open one" not in closed_html
    assert "Open one" in client.get("/?organisation=council").get_data(as_text=True)
    assert client.get("/?organisation=nobody").status_code == 404
    assert client.get("/?state=secret").status_code == 400
    assert client.get("/?page=abc").status_code == 400


def test_versions_are_numbered_without_gaps(policy):
    numbers = db.session.scalars(select(Version.number).where(Version.consultation_id == policy.id).order_by(Version.number)).all()
    assert numbers == [1, 2]


def test_demo_policy_ships_with_the_package():
    assert (POLICY_DIR / "LICENSE.md").exists() and len(list((POLICY_DIR / "v1-draft-2016-04").glob("*.md"))) == 10


def test_site_admin_creates_an_organisation_and_others_cannot(app, client, site_admin, citizen, org_admin):
    from consult.accounts.models import Organisation

    for who in (citizen, org_admin):
        other = app.test_client()
        login(other, who)
        assert other.post("/organisations/new", data={"name": "X", "slug": "x"}).status_code == 403
    login(client, site_admin)
    assert client.post("/organisations/new", data={"name": "", "slug": "Bad Slug"}).status_code == 400
    response = client.post("/organisations/new", data={"name": "Harbour Board", "slug": "harbour", "description": "Ports."})
    assert response.status_code == 302 and response.headers["Location"].endswith("/o/harbour/members")
    assert client.post("/organisations/new", data={"name": "Again", "slug": "harbour"}).status_code == 409
    assert db.session.scalar(select(func.count(Organisation.id)).where(Organisation.slug.in_(["x", "harbour"]))) == 1


def test_setting_a_date_queues_the_job_that_opens_or_closes_on_it_and_the_job_does(app, open_consultation, author):
    from consult.core.jobs import queue
    from consult.proposals.services import open_and_close_by_date, update_consultation

    huey = queue(app).huey
    before = {task.id for task in huey.scheduled()}
    closes_at = utcnow() + timedelta(hours=2)
    update_consultation(
        open_consultation,
        actor=author,
        title=open_consultation.title,
        summary="",
        opens_at=open_consultation.opens_at,
        closes_at=closes_at,
        licence=open_consultation.licence,
    )
    assert {task.id for task in huey.scheduled()} == before  # not before the change is committed
    db.session.commit()
    due = [task for task in huey.scheduled() if task.id not in before and task.name == open_and_close_by_date.__name__]
    due_at = closes_at.astimezone(UTC).replace(tzinfo=None)
    assert any(timedelta(0) <= task.eta - due_at <= timedelta(seconds=1) for task in due)  # at the date, not before
    assert open_consultation.state == "open"  # not yet: the job waits for its date

    open_consultation.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    queue(app).enqueue(open_and_close_by_date)  # what the worker runs every minute and at the date
    db.session.refresh(open_consultation)
    assert open_consultation.state == "closed"


def test_a_rolled_back_date_change_queues_nothing(app, open_consultation, author):
    from consult.core.jobs import queue
    from consult.proposals.services import update_consultation

    huey = queue(app).huey
    before = {task.id for task in huey.scheduled()}
    update_consultation(
        open_consultation,
        actor=author,
        title=open_consultation.title,
        summary="",
        opens_at=open_consultation.opens_at,
        closes_at=utcnow() + timedelta(hours=3),
        licence=open_consultation.licence,
    )
    db.session.rollback()
    db.session.commit()
    assert {task.id for task in huey.scheduled()} == before


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["\u00b2", "99999999999999999999"])  # "²" passes str.isdigit(), int() refuses it
def test_a_page_number_that_is_not_a_whole_number_in_range_is_a_400(client, open_consultation, page):
    response = client.get("/", query_string={"page": page})
    assert response.status_code == 400 and "page number" in response.get_data(as_text=True)


def test_a_transition_with_a_trailing_newline_is_refused(client, author, open_consultation):
    login(client, author)
    response = client.post("/c/open-one/state", data={"transition": "close\n"})
    assert response.status_code == 400 and "Unknown change of state" in response.get_data(as_text=True)
    db.session.refresh(open_consultation)
    assert open_consultation.state == "open"


@pytest.mark.parametrize("row_version", [None, "", "\u00b2", "99999999999999999999"])
def test_saving_details_without_a_valid_row_version_is_refused_and_saves_nothing(client, author, open_consultation, row_version):
    login(client, author)
    fields = {"title": "Saved blind", "summary": "", "licence": "CC-BY-4.0", "response_threshold": "3"}
    if row_version is not None:
        fields["row_version"] = row_version
    response = client.post("/c/open-one/edit", data=fields)
    assert response.status_code == 400 and "Reload the page" in response.get_data(as_text=True)
    db.session.refresh(open_consultation)
    assert open_consultation.title != "Saved blind"


def test_uploading_a_file_with_a_nul_character_is_refused(client, author, organisation):
    consultation = make_consultation(organisation, author=author, state="draft", text="", publish=False)
    login(client, author)
    upload = [(io.BytesIO(b"## A\n\nHalf\x00a line\n"), "nul.md")]
    response = client.post(f"/c/{consultation.slug}/text", data={"import-files": upload}, content_type="multipart/form-data")
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
    named = [(io.BytesIO(b"## A\n\nFine\n"), "a\x00.md")]
    response = client.post(f"/c/{consultation.slug}/text", data={"import-files": named}, content_type="multipart/form-data")
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Section.id))) == 0


@pytest.mark.parametrize("slug", ["abc\n", "Bad Slug", "a--b", "-a"])
def test_a_slug_is_lowercase_words_and_single_hyphens_with_nothing_after(organisation, author, slug):
    with pytest.raises(RuleViolation):
        services.create_consultation(organisation, actor=author, title="T", slug=slug)
    from consult.accounts.services import _new_organisation

    with pytest.raises(RuleViolation):  # organisations' short names follow the same rule
        _new_organisation(slug=slug, name="Bad")


def test_closing_by_hand_then_reopening_asks_for_a_new_closing_date(client, author, open_consultation):
    login(client, author)
    assert client.post("/c/open-one/state", data={"transition": "close"}).status_code == 302
    page = client.get("/c/open-one").get_data(as_text=True)
    assert 'name="closes_at" aria-describedby="reopen-hint" required' in page and "the closing date has passed" in page
    refused = client.post("/c/open-one/state", data={"transition": "reopen"})
    assert refused.status_code == 409 and "Set a closing date in the future" in refused.get_data(as_text=True)
    past = client.post("/c/open-one/state", data={"transition": "reopen", "closes_at": "2001-01-01T10:00"})
    assert past.status_code == 400 and "in the future" in past.get_data(as_text=True)
    garbled = client.post("/c/open-one/state", data={"transition": "reopen", "closes_at": "next week"})
    assert garbled.status_code == 400 and "as a date and a time" in garbled.get_data(as_text=True)
    db.session.refresh(open_consultation)
    assert open_consultation.state == "closed"
    later = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    assert client.post("/c/open-one/state", data={"transition": "reopen", "closes_at": later}).status_code == 302
    db.session.refresh(open_consultation)
    assert open_consultation.state == "open" and open_consultation.closes_at.strftime("%Y-%m-%dT%H:%M") == later


def test_concluding_needs_the_box_ticked(client, author, open_consultation):
    login(client, author)
    client.post("/c/open-one/state", data={"transition": "close"})
    assert 'id="conclude-confirm" name="confirm" value="y" required' in client.get("/c/open-one").get_data(as_text=True)
    refused = client.post("/c/open-one/state", data={"transition": "conclude"})
    assert refused.status_code == 400 and "Concluding is final" in refused.get_data(as_text=True)
    db.session.refresh(open_consultation)
    assert open_consultation.state == "closed"
    assert client.post("/c/open-one/state", data={"transition": "conclude", "confirm": "y"}).status_code == 302
    db.session.refresh(open_consultation)
    assert open_consultation.state == "concluded"


def test_a_scheduled_opening_is_shown_and_opening_now_says_so(client, author, organisation):
    c = make_consultation(organisation, author=author, state="draft", slug="later")
    c.opens_at, c.closes_at = utcnow() + timedelta(days=30), utcnow() + timedelta(days=60)
    db.session.commit()
    login(client, author)
    page = client.get("/c/later").get_data(as_text=True)
    assert "Scheduled: the consultation opens by itself on" in page and "Open now, not on " in page


def test_refusals_about_a_field_are_shown_on_the_form_with_what_was_typed(client, author, organisation, open_consultation):
    login(client, author)
    data = {
        "organisation_id": organisation.id,
        "title": "Street lighting",
        "summary": "Tell us where it is dark.",
        "licence": "CC-BY-4.0",
        "response_threshold": "2",
        "opens_at": "2027-02-01T09:00",
        "closes_at": "2027-01-01T09:00",
    }
    response = client.post("/consultations/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "The closing date must be after the opening date." in html
    assert 'value="Street lighting"' in html and "Tell us where it is dark." in html and 'id="closes_at-error"' in html
    taken = client.post("/consultations/new", data=data | {"closes_at": "2027-03-01T09:00", "slug": "open-one"})
    assert taken.status_code == 400 and "That web address is taken" in taken.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(Consultation.title == "Street lighting")) == 0
    created = client.post("/consultations/new", data=data | {"closes_at": "2027-03-01T09:00"})
    assert created.status_code == 302
    made = db.session.scalar(select(Consultation).where(Consultation.title == "Street lighting"))
    assert made.response_threshold == 2  # the threshold asked on creation is kept

    long = "## Everything\n\n" + "Words and more words. " * 5_000  # 110,000 characters in one section
    too_long = client.post(f"/c/{made.slug}/text", data={"write-source": long})
    assert too_long.status_code == 400 and "longer than 100,000 characters; split it with headings" in too_long.get_data(as_text=True)
    assert 'id="write-source-error"' in too_long.get_data(as_text=True) and "Words and more words." in too_long.get_data(as_text=True)
    binary = client.post(
        f"/c/{made.slug}/text", data={"import-files": (io.BytesIO(b"\xff\xfe\x00bad"), "binary.md")}, content_type="multipart/form-data"
    )
    assert (
        binary.status_code == 400
        and "is not UTF-8 text" in binary.get_data(as_text=True)
        and 'id="import-files-error"' in binary.get_data(as_text=True)
    )

    # Version 2 needs a change note: the draft comes back with the message on the note, and what was typed.
    services.write_markdown(open_consultation, "## Deadlines\n\nTwenty days.\n", actor=author)
    db.session.commit()
    refused = client.post("/c/open-one/publish", data={"note": "   "})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="note-error"' in html and "Say in a change note what changed" in html
    assert open_consultation.current_version.number == 1


def test_too_large_a_text_says_the_limit_and_what_to_do(client, author, open_consultation):
    login(client, author)
    response = client.post("/c/open-one/text", data={"write-source": "## A\n\n" + "x" * (1_000_001)})
    assert response.status_code == 400 and "at most 1,000,000 characters here" in response.get_data(as_text=True)
    # The editor takes bodies larger than the site's 2 MB (a Word document): a text past 2 MB is
    # refused the same way, on its field.
    response = client.post("/c/open-one/text", data={"write-source": "## A\n\n" + "x" * (2 * 1024 * 1024 + 10)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "at most 1,000,000 characters here" in html and "several Markdown files" in html
