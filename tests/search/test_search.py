"""Search: what the public may read is found, what it may not never is (results, snippets,
counts), hostile queries cost what a normal one does, and every commit reaches the index, from
one process or several. Runs on Whoosh, and on PostgreSQL full-text search as well when the
test database is PostgreSQL."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event, func, select, text

from consult import create_app
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.jobs import queue
from consult.core.models import db, utcnow
from consult.moderation import services as moderation
from consult.proposals import services as proposals
from consult.proposals.models import Consultation, Transition
from consult.search import documents, outbox, whoosh_backend, whoosh_matching
from consult.search import services as search
from consult.search.indexing import SearchService, rebuild_now, request_rebuild
from consult.search.outbox import catch_up
from consult.search.query import MAX_QUERY_LENGTH, QueryError, parse
from consult.search.whoosh_backend import FORMAT, WhooshBackend
from tests.conftest import ON_POSTGRES
from tests.factories import login, make_consultation, make_user

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ["whoosh"] + (["postgres"] if ON_POSTGRES else [])


@pytest.fixture(params=BACKENDS)
def backend(request, app, tmp_path, monkeypatch):
    if request.param == "whoosh":
        chosen = WhooshBackend(tmp_path / "index")
    else:
        from consult.search.postgres_backend import PostgresBackend

        chosen = PostgresBackend()
    monkeypatch.setitem(app.extensions, "consult_search", SearchService(chosen))
    chosen.rebuild(db.session)  # documents left by earlier tests' commits are not ours
    return chosen


def indexed_keys(backend) -> set[str]:
    return backend.document_keys() if backend.name == "whoosh" else backend.document_keys(db.session)


def find(q: str, **filters) -> search.SearchPage:
    return search.search(q, **filters)


def paths(page: search.SearchPage) -> list[str]:
    return [urlsplit(r.url).path + ("#" + urlsplit(r.url).fragment if urlsplit(r.url).fragment else "") for r in page.results]


@pytest.fixture
def consultation(organisation, author, backend):
    c = make_consultation(organisation, author=author, state="open", slug="open-data", title="Open data policy")
    db.session.commit()
    return c


def say(consultation, who, body, **kwargs):
    contribution = comments.post_comment(consultation, actor=who, body=body, **kwargs)
    db.session.commit()
    return contribution


def test_finds_consultations_sections_and_contributions_with_marked_snippets(consultation, citizen):
    comment = say(consultation, citizen, "Publish the bus timetables as spreadsheets.", section_key="purpose")
    reply = say(consultation, make_user(), "Spreadsheets please, not PDFs.", parent=comment)

    page = find("spreadsheets")
    assert page.total == 2
    assert set(paths(page)) == {f"/comments/{comment.id}", f"/comments/{reply.id}"}
    assert {r.kind for r in page.results} == {"comment", "reply"}
    assert all("<mark>" in str(r.snippet_html) for r in page.results)

    sections = find("contractors")  # "It applies to every department and to contractors"
    assert [(r.kind, r.section_heading) for r in sections.results] == [("section", "Scope")]
    assert "<mark>contractors</mark>" in str(sections.results[0].snippet_html)
    assert [r.kind for r in find("open data policy", kind="consultation").results] == ["consultation"]
    assert find("publishing").total >= 2  # English stemming: publishes, publish


def test_the_search_page_reads_the_consultations_once_and_the_headings_in_one_query(client, consultation, citizen):
    """The form's list of consultations serves the check of the hits; the headings of the hits'
    sections come with their latest version in one statement (issue 22: statements per page)."""
    say(consultation, citizen, "Timetables as spreadsheets, please.", section_key="scope")
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    client.get("/search?q=timetables")
    db.session.commit()  # a request's own transaction, as in a worker
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        page = client.get("/search?q=timetables").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert "Timetables as <mark>spreadsheets</mark>" in page or "<mark>Timetables</mark>" in page
    assert "Comment on “Scope”" in page  # the hit's section, by its heading
    assert len([s for s in seen if s.startswith("SELECT") and "FROM consultations" in s.split(" WHERE")[0]]) == 1
    assert len([s for s in seen if s.startswith("SELECT") and ("FROM versions" in s or "FROM sections" in s)]) == 1


def test_snippets_escape_what_people_wrote(consultation, citizen):
    say(consultation, citizen, "Timetables <script>alert(1)</script> & more")
    snippet = str(find("timetables").results[0].snippet_html)
    assert "<script" not in snippet and "<mark>Timetables</mark>" in snippet


def test_amendments_and_theme_summaries_are_found(consultation, citizen, author, moderator):
    from consult.amendments.services import propose_amendment

    amendment = propose_amendment(
        consultation,
        actor=citizen,
        section_key="scope",
        rationale="Charities receive grants too.",
        proposed_text="It applies to every department, contractor and grantee.",
    )
    db.session.commit()
    assert paths(find("charities")) == [f"/amendments/{amendment.id}"]

    theme = moderation.create_theme(consultation, actor=moderator, name="Accessible formats")
    moderation.write_summary(consultation, actor=moderator, theme=theme, summary="People asked for machine-readable timetables.")
    db.session.commit()
    assert find("machine readable").total == 0, "a theme summary is published with the outcome, not before"
    proposals.change_state(consultation, Transition.CLOSE, actor=author)
    proposals.change_state(consultation, Transition.CONCLUDE, actor=author)
    db.session.commit()
    page = find("machine readable")
    assert [r.kind for r in page.results] == ["theme"]
    assert paths(page) == [f"/c/open-data/outcome#theme-{theme.id}"]
    assert [r.kind for r in find("charities", status="closed").results] == ["amendment"]
    assert find("charities", status="open").total == 0


def _hide(contribution, moderator):
    moderation.act([contribution], actor=moderator, action="hide", reason="Personal attack")


def _restore(contribution, moderator):
    moderation.act([contribution], actor=moderator, action="restore")


@pytest.mark.parametrize("kind", ["comment", "reply", "amendment", "statement"])
def test_hidden_content_leaves_at_once_and_comes_back_when_restored(consultation, citizen, moderator, kind, backend):
    from consult.amendments.services import propose_amendment

    if kind == "comment":
        target = say(consultation, citizen, "Zebra crossings near every school.")
    elif kind == "reply":
        target = say(
            consultation, citizen, "Zebra crossings near every school.", parent=say(consultation, make_user(), "Road safety first.")
        )
    elif kind == "amendment":
        target = propose_amendment(
            consultation,
            actor=citizen,
            section_key="scope",
            rationale="Zebra crossings near every school.",
            proposed_text="It applies to every department.",
        )
        db.session.commit()
    else:
        target = Contribution(
            consultation_id=consultation.id,
            kind="statement",
            author_id=citizen.id,
            version_id=consultation.current_version.id,
            body="Zebra crossings near every school.",
            body_html="<p>Zebra crossings near every school.</p>",
        )
        db.session.add(target)
        db.session.commit()
    key = f"contribution:{target.id}"
    assert find("zebra").total == 1 and key in indexed_keys(backend)

    _hide(target, moderator)
    db.session.commit()
    assert key not in indexed_keys(backend)
    page = find("zebra")
    assert (page.total, page.results) == (0, [])
    assert find("zebra", kind=kind).total == 0

    _restore(target, moderator)
    db.session.commit()
    assert find("zebra").total == 1 and key in indexed_keys(backend)


def test_auto_hidden_by_reports_leaves_the_index(consultation, citizen, backend):
    target = say(consultation, citizen, "Buy cheap watches at example.com")
    for _ in range(3):
        moderation.report(target, actor=make_user(), reason="spam")
    db.session.commit()
    assert find("watches").total == 0
    assert f"contribution:{target.id}" not in indexed_keys(backend)


def test_rolled_back_work_leaves_the_index_alone(consultation, citizen, moderator):
    target = say(consultation, citizen, "Quiet streets after ten.")
    _hide(target, moderator)
    db.session.rollback()
    assert find("quiet").total == 1


def test_blocking_hides_everything_the_person_wrote_and_unblocking_brings_it_back(consultation, organisation, citizen, moderator, backend):
    first = say(consultation, citizen, "Lanterns in the park.")
    say(consultation, citizen, "More lanterns by the river.", parent=first)
    say(consultation, make_user(), "Lanterns cost too much.")
    assert find("lanterns").total == 3

    moderation.block(organisation, citizen, actor=moderator, reason="Spam", consultation=consultation)
    db.session.commit()
    assert find("lanterns").total == 1
    assert f"contribution:{first.id}" not in indexed_keys(backend)

    moderation.unblock(organisation, citizen, actor=moderator, consultation=consultation)
    db.session.commit()
    assert find("lanterns").total == 3


def test_pending_contributions_wait_for_approval(consultation, citizen, moderator, author):
    consultation.moderation_mode = "pre"
    db.session.commit()
    held = say(consultation, citizen, "Skateboard ramps for teenagers.")
    assert held.moderation_state == "pending"
    assert find("skateboard").total == 0
    moderation.act([held], actor=moderator, action="approve")
    db.session.commit()
    assert find("skateboard").total == 1


def test_deleted_contributions_and_their_text_are_gone(consultation, citizen):
    alone = say(consultation, citizen, "Fountains everywhere.")
    answered = say(consultation, citizen, "Fountains in the square.")
    say(consultation, make_user(), "Which square?", parent=answered)
    comments.delete_comment(alone, actor=citizen)
    comments.delete_comment(answered, actor=citizen)  # a tombstone: it has a reply
    db.session.commit()
    assert find("fountains").total == 0
    assert find("square").total == 1  # the reply stays


def test_drafts_are_never_found_and_appear_when_opened_by_schedule(organisation, author, backend):
    draft = make_consultation(
        organisation,
        author=author,
        state="draft",
        slug="secret",
        title="Secret tunnel plan",
        text="## Tunnel\n\nA tunnel under the harbour.\n",
    )
    db.session.commit()
    assert find("tunnel").total == 0 and find("harbour").total == 0
    assert not any(k.endswith(f":{draft.id}") or f":{draft.id}:" in k for k in indexed_keys(backend))

    draft.opens_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert proposals.apply_schedule() == 1  # a bulk UPDATE the services make without loading rows
    db.session.commit()
    assert {r.kind for r in find("tunnel").results} == {"consultation", "section"}


def test_erased_accounts_leave_no_name_or_email_in_the_index(consultation, backend):
    person = make_user(name="Quentin Quagmire", email="quentin.q@example.org")
    say(consultation, person, "Benches along the canal.")
    db.session.delete(person)  # erasure: contributions stay as "Former participant"
    db.session.commit()
    assert find("benches").total == 1
    assert find("quentin").total == 0 and find("quagmire").total == 0 and find("example org").total == 0
    if backend.name == "whoosh":
        with backend.index().searcher() as s:
            stored = " ".join(str(v) for fields in s.all_stored_fields() for v in fields.values())
            terms = {t.decode() for field, t in s.reader().all_terms() if field in ("title", "body")}
        assert "quentin" not in stored.lower() and "example.org" not in stored
        assert not {"quentin", "quagmir", "quagmire"} & terms


@pytest.mark.parametrize(
    "hostile",
    [
        "*a*",
        "*",
        "?",
        "a*",
        "state:hidden",
        "moderation_state:hidden",
        "email:*",
        "author:quentin",
        "[a TO z]",
        "{a TO z}",
        "title:[* TO *]",
        "timetables~5",
        "timetables^100",
        "body:*e*",
        "NOT timetables",
        "(((((timetables)))))",
        'hidden_reason:"personal attack"',
    ],
)
def test_hostile_queries_run_as_plain_words(consultation, citizen, moderator, hostile):
    say(consultation, citizen, "Timetables on paper.")
    _hide(say(consultation, citizen, "Hidden timetables attack."), moderator)
    db.session.commit()
    parsed = parse(hostile)
    assert all(w.isalnum() for w in parsed.words)  # no operator survives
    try:
        page = find(hostile)
    except QueryError as error:
        assert str(error)  # a clear message instead of a costly query
        return
    assert all("Hidden timetables" not in str(r.snippet_html) for r in page.results)
    assert page.total <= 1


def test_the_whoosh_query_is_exact_terms_only(backend):
    if backend.name != "whoosh":
        pytest.skip("inspects the Whoosh query")
    from whoosh.query import And, Or, Phrase, Term

    def leaves(q):
        if isinstance(q, (And, Or)):
            for sub in q.subqueries:
                yield from leaves(sub)
        else:
            yield q

    for raw in ["*a* *b* *c*", "polic* ta?es [a TO z]", 'state:hidden "open data" x~2', "a" * 39 + "*"]:
        try:
            query = backend._query(parse(raw))
        except QueryError:
            continue
        assert all(type(leaf) in (Term, Phrase) for leaf in leaves(query)), raw


def test_long_or_wordy_queries_get_a_clear_message():
    with pytest.raises(QueryError, match="at most"):
        parse("x" * (MAX_QUERY_LENGTH + 1))
    with pytest.raises(QueryError, match="at most"):
        parse(" ".join(f"word{i}" for i in range(20)))


def test_api_answers_with_results_and_pagination(client, consultation, citizen):
    for i in range(25):
        comments.post_comment(consultation, actor=citizen, body=f"Trams on route {i}.")
    db.session.commit()
    response = client.get("/api/v1/search?q=trams&per_page=10&page=3")
    assert response.status_code == 200
    data = response.get_json()
    assert (data["total"], data["page"], len(data["results"])) == (25, 3, 5)
    first = data["results"][0]
    assert first["kind"] == "comment" and "<mark>Trams</mark>" in first["snippet_html"]
    assert first["url"].startswith("http://") and first["consultation"] == "open-data"
    assert set(first) == {"kind", "title_html", "snippet_html", "url", "consultation", "section", "date", "language", "score"}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "q=",
        "q=trams&kind=secret",
        "q=trams&status=hidden",
        "q=trams&page=0",
        "q=trams&page=x",
        "q=trams&page=\u00b2",
        "q=trams&per_page=\u00b2",
        "q=trams&page=99999999999999999999",
        "q=trams&per_page=1000",
        f"q={'x' * 300}",
        "q=*",
    ],
)
def test_api_refuses_bad_parameters_with_json(client, consultation, query):
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]


def test_search_page_is_accessible_and_paginated(client, consultation, citizen):
    for i in range(25):
        comments.post_comment(consultation, actor=citizen, body=f"Ferries at dawn number {i}.")
    db.session.commit()
    html = client.get("/search?q=ferries").get_data(as_text=True)
    assert '<label for="search-q">' in html and 'id="search-q" name="q"' in html
    assert "25 results" in html and "<mark>Ferries</mark>" in html
    assert 'aria-label="Result pages"' in html and 'rel="next"' in html
    assert html.count('<article class="search-result">') == 20
    assert client.get("/search?q=ferries&page=2").get_data(as_text=True).count('<article class="search-result">') == 5
    refused = client.get("/search?q=" + "x" * 300)
    assert refused.status_code == 400 and "at most" in refused.get_data(as_text=True)
    assert client.get("/search").status_code == 200
    assert client.get("/search?q=ferries&page=\u00b2").status_code == 400  # "²" passes str.isdigit()


def test_filters_by_consultation_and_kind(consultation, citizen, organisation, author):
    other = make_consultation(organisation, author=author, state="open", slug="parks", title="Parks policy")
    db.session.commit()
    say(consultation, citizen, "Kiosks selling maps.")
    say(other, citizen, "Kiosks selling ice cream.")
    assert find("kiosks").total == 2
    assert [r.consultation_slug for r in find("kiosks", consultation="parks").results] == ["parks"]
    assert find("kiosks", kind="reply").total == 0


# ---- Whoosh: the folder, concurrent writers, rebuilding ------------------------------------


def test_reindex_command_rebuilds_with_progress(app, consultation, citizen, backend):
    say(consultation, citizen, "Hedgehog tunnels under roads.")
    result = app.test_cli_runner().invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexing" in result.output and "Indexed" in result.output
    assert find("hedgehog").total == 1


# ---- Whoosh: the outbox, and the worker as the index's only writer ------------------------


def whoosh_only(backend) -> None:
    if backend.name != "whoosh":
        pytest.skip("PostgreSQL writes its documents in the committing transaction")


def test_the_outbox_row_commits_or_rolls_back_with_the_change(consultation, citizen, moderator, backend, queued_jobs):
    target = say(consultation, citizen, "Sundials in the square.")
    if backend.name == "postgres":
        assert outbox.count(db.session) == 0 and find("sundials").total == 1
        return
    assert outbox.count(db.session) == 1 and queued_jobs.pending(search=True) == ["apply_search_outbox"]
    assert find("sundials").total == 0, "the request wrote the index; only the worker may"
    _hide(target, moderator)
    db.session.rollback()
    assert outbox.count(db.session) == 1
    say(consultation, citizen, "Sundials need sun.")
    assert outbox.count(db.session) == 2 and queued_jobs.pending(search=True) == ["apply_search_outbox"], "a burst queues one run"
    queued_jobs.run()
    assert outbox.count(db.session) == 0 and find("sundials").total == 2


def test_a_missing_or_outdated_index_is_rebuilt_by_the_worker_not_by_a_request(app, client, consultation, citizen, tmp_path, monkeypatch):
    say(consultation, citizen, "Owls in the belfry.")
    stale = WhooshBackend(tmp_path / "stale")
    monkeypatch.setitem(app.extensions, "consult_search", SearchService(stale))
    assert not stale.is_current()
    assert client.get("/search?q=owls").status_code == 200 and find("owls").total == 0
    assert not stale.folder.exists(), "a request built the index"
    catch_up(app)  # what the worker runs at start, every minute and after commits
    assert stale.is_current() and find("owls").total == 1
    (stale.folder / "consult-index.json").write_text(f'{{"format": {FORMAT - 1}}}')
    catch_up(app)
    assert stale.is_current() and find("owls").total == 1


def test_a_busy_index_keeps_the_change_in_the_outbox_until_the_worker_can_write(consultation, citizen, backend):
    whoosh_only(backend)
    backend.lock_timeout = 0.1
    with backend._folder_lock(timeout=None):  # e.g. a long ``consult reindex``
        first = say(consultation, citizen, "Gondolas on the lake.")  # the job gives up; the commit stands
    assert f"contribution:{first.id}" not in indexed_keys(backend) and outbox.count(db.session) == 1
    say(consultation, citizen, "Pedalos too.")  # the next run applies both
    assert find("gondolas").total == 1 and find("pedalos").total == 1
    assert outbox.count(db.session) == 0


def test_an_unwritable_index_folder_fails_no_request_and_the_index_catches_up(
    app, client, organisation, author, citizen, tmp_path, monkeypatch
):
    site = tmp_path / "site"
    backend = WhooshBackend(site / "index")
    monkeypatch.setitem(app.extensions, "consult_search", SearchService(backend))
    make_consultation(organisation, author=author, state="open", slug="open-data", title="Open data policy")
    db.session.commit()
    catch_up(app)
    assert backend.is_current()
    login(client, citizen)
    # Permission bits do not stop root: a folder under a regular file cannot be opened by anyone.
    site.rename(tmp_path / "site-away")
    site.write_text("not a folder")

    response = client.post("/c/open-data/comments", data={"section_key": "purpose", "body": "Weathervanes on the roofs."})
    assert response.status_code == 302
    body = Contribution.body.contains("Weathervanes")
    assert db.session.scalar(select(func.count()).select_from(Contribution).where(body)) == 1
    assert client.get("/search?q=weathervanes").status_code == 200
    catch_up(app)  # the worker's next run: still unwritable, the row waits
    assert outbox.count(db.session) == 1

    site.unlink()
    (tmp_path / "site-away").rename(site)
    catch_up(app)
    assert find("weathervanes").total == 1 and outbox.count(db.session) == 0


def test_rebuilds_asked_at_once_run_once_and_lose_no_write_made_during_them(app, consultation, citizen, backend, queued_jobs, monkeypatch):
    whoosh_only(backend)
    say(consultation, citizen, "Kingfishers by the weir.")
    queued_jobs.run()
    assert [request_rebuild(app) for _ in range(3)] == [True, False, False]
    assert queued_jobs.pending(search=True) == ["rebuild_search_index"]

    rebuilds = []
    every_document = documents.all_documents
    consultation_id, citizen_id = consultation.id, citizen.id

    def read_then_someone_comments(session):
        rebuilds.append(True)
        yield from every_document(session)
        with app.app_context():  # another request, committed while the rebuild is writing
            from consult.accounts.models import User

            c = db.session.get(Consultation, consultation_id)
            comments.post_comment(c, actor=db.session.get(User, citizen_id), body="Otters under the bridge.")
            db.session.commit()

    monkeypatch.setattr(documents, "all_documents", read_then_someone_comments)
    queued_jobs.run()
    assert rebuilds == [True]
    assert find("kingfishers").total == 1 and find("otters").total == 1
    assert outbox.count(db.session) == 0


KILLED_WRITER = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.orm import Session
from consult import create_app
from consult.accounts.models import User
from consult.comments import services as comments
from consult.core.models import db
from consult.proposals.models import Consultation

database_url, search_dir, instance, consultation_id, user_id = sys.argv[1:]
app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x", "INSTANCE_PATH": instance,
                  "SEARCH_DIR": search_dir, "RATE_LIMITS": False, "JOBS_IMMEDIATE": True})


def killed(session):  # right after the database commit, before anything that follows it
    os.kill(os.getpid(), signal.SIGKILL)


with app.app_context():
    user = db.session.get(User, int(user_id))
    comments.post_comment(db.session.get(Consultation, int(consultation_id)), actor=user, body="Lighthouses on every pier.")
    event.listen(Session, "after_commit", killed, insert=True)
    db.session.commit()
"""


def site_on_a_file(tmp_path, monkeypatch) -> tuple[dict, object]:
    """Settings and an app whose commits are real, to a SQLite file other processes share (not
    the test's rolled-back transaction), with the machine's one job queue and index folder."""
    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    config = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.db'}",
        "SECRET_KEY": "x",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SEARCH_DIR": str(tmp_path / "index"),
        "RATE_LIMITS": False,
    }
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return config, app


def test_a_process_killed_between_the_commit_and_the_index_update_loses_nothing(tmp_path, monkeypatch):
    config, app = site_on_a_file(tmp_path, monkeypatch)
    with app.app_context():
        c = make_consultation(state="open", slug="harbour")
        user = make_user()
        db.session.commit()
        args = [config["DATABASE_URL"], config["SEARCH_DIR"], config["INSTANCE_PATH"], str(c.id), str(user.id)]
        rebuild_now(app)
        assert app.extensions["consult_search"].backend.is_current()
        db.session.remove()

    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with app.app_context():
        assert outbox.count(db.session) == 1, "killed after the commit, before the job"
        assert not app.extensions["consult_search"].backend.document_keys() & {"contribution:1"}
        db.session.remove()

    restarted = create_app(config)  # the worker starts again: its start-up check, then its queue
    huey = queue(restarted).huey
    for hook in list(huey._startup.values()):
        hook()
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
    with restarted.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(Contribution)) == 1, "the commit happened"
        assert search.search("lighthouses").total == 1
        assert outbox.count(db.session) == 0
        db.session.remove()


WRITERS, EACH = 4, 6


def _write_from_another_process(config: dict, consultation_id: int, user_id: int, n: int) -> None:
    from consult import create_app
    from consult.accounts.models import User

    app = create_app(config)
    with app.app_context():
        user = db.session.get(User, user_id)
        for i in range(EACH):
            c = db.session.get(Consultation, consultation_id)
            comments.post_comment(c, actor=user, body=f"Concurrent writer {n} says marmalade number {i}.")
            db.session.commit()


def test_several_processes_writing_at_once_lose_no_update(tmp_path, monkeypatch):
    config, app = site_on_a_file(tmp_path, monkeypatch)
    with app.app_context():
        c = make_consultation(state="open", slug="shared")
        users = [make_user() for _ in range(WRITERS)]
        consultation_id, user_ids = c.id, [u.id for u in users]
        db.session.commit()
        rebuild_now(app)
        db.session.remove()

    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_write_from_another_process, args=(config, consultation_id, uid, n)) for n, uid in enumerate(user_ids)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(120)
        assert p.exitcode == 0

    huey = queue(app).huey  # the worker's turn
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
    with app.test_request_context():
        expected = {
            f"contribution:{i}" for i in db.session.scalars(select(Contribution.id).where(Contribution.consultation_id == consultation_id))
        }
        assert len(expected) == WRITERS * EACH
        backend = app.extensions["consult_search"].backend
        assert expected <= backend.document_keys()
        assert search.search("marmalade", per_page=50).total == WRITERS * EACH
        assert outbox.count(db.session) == 0
        db.session.remove()


def test_reindex_in_the_background_is_a_job_queued_once(app, consultation, citizen, backend, queued_jobs, monkeypatch):
    say(consultation, citizen, "Kingfishers by the weir.")
    queued_jobs.run()
    rebuilt = []
    rebuild = backend.rebuild
    monkeypatch.setattr(backend, "rebuild", lambda session, **kwargs: rebuilt.append(True) or rebuild(session, **kwargs))
    first = app.test_cli_runner().invoke(args=["reindex", "--background"])
    second = app.test_cli_runner().invoke(args=["reindex", "--background"])
    assert first.exit_code == second.exit_code == 0
    assert "The rebuild is queued" in first.output and "A rebuild is queued already" in second.output
    assert queued_jobs.pending(search=True) == ["rebuild_search_index"] and not rebuilt
    assert queued_jobs.run() == 1
    assert rebuilt == [True] and find("kingfishers").total == 1


# ---- Whoosh: searchers kept open, counts estimated beyond the pages shown ------------------


def test_a_searcher_kept_open_sees_the_workers_writes_and_each_update_once(consultation, citizen, backend):
    whoosh_only(backend)
    comment = say(consultation, citizen, "Gondolas over the river.")
    assert paths(find("gondolas")) == [f"/comments/{comment.id}"]  # a searcher is now kept open
    worker = WhooshBackend(backend.folder)  # the job worker: another process, its own index object
    with worker.index().searcher() as searcher:
        stored = searcher.document(key=f"contribution:{comment.id}")
    for n in range(12):  # each update deletes the old copy; a dozen commits merge segments too
        body = f"Cable cars over the river, plan {n}."
        writer = worker.index().writer()
        writer.update_document(**stored | {"body": body, "body_en": body})
        writer.commit(merge=n % 2 == 0)
        page = find("river")
        assert page.total == 1 and paths(page) == [f"/comments/{comment.id}"], n
        assert f"plan {n}" in str(page.results[0].snippet_html)
    assert find("gondolas").total == 0
    worker.rebuild(db.session)  # a rebuild from the database: the text as it was written
    assert find("gondolas").total == 1 and find("cable").total == 0


def test_a_page_of_hits_is_kept_while_the_index_is_unchanged_and_never_shows_what_was_hidden(
    consultation, citizen, moderator, backend, monkeypatch
):
    whoosh_only(backend)
    comment = say(consultation, citizen, "Zeppelins over the harbour.")
    other = say(consultation, make_user(), "More zeppelins, please.")
    searches = []
    real = whoosh_matching.Evaluator.__init__
    monkeypatch.setattr(whoosh_matching.Evaluator, "__init__", lambda self, *a: searches.append(a) or real(self, *a))
    assert find("zeppelins").total == 2 and len(searches) == 1
    assert find("zeppelins").total == 2 and len(searches) == 1  # the same page, from the process's memory
    assert find("zeppelins", page=1, per_page=1).total == 2 and len(searches) == 2  # another page: searched
    _hide(other, moderator)  # the index changes: searched again
    db.session.commit()
    assert paths(find("zeppelins")) == [f"/comments/{comment.id}"] and len(searches) == 3
    backend.forget()  # as a new process: searched again, on a searcher opened afresh
    assert paths(find("zeppelins")) == [f"/comments/{comment.id}"] and len(searches) == 4


def test_past_the_pages_shown_the_count_is_an_estimate(client, consultation, citizen, backend, monkeypatch):
    if backend.name != "postgres":
        pytest.skip("Whoosh counts every match (test_a_count_from_the_postings_is_exact_past_the_pages_shown)")
    for i in range(25):
        comments.post_comment(consultation, actor=citizen, body=f"Funiculars up the hill, number {i}.")
    db.session.commit()
    exact = client.get("/api/v1/search?q=funiculars&per_page=5").get_json()
    assert (exact["total"], exact["total_is_estimate"]) == (25, False)
    monkeypatch.setattr(search, "MAX_PAGE", 2)  # ranked among 2 pages and one more
    about = client.get("/api/v1/search?q=funiculars&per_page=5").get_json()
    assert about["total_is_estimate"] is True and about["total"] >= 10 and len(about["results"]) == 5
    assert find("funiculars", per_page=20).total == 25  # 2 pages of 20 hold them all: exact
    monkeypatch.setattr(search, "MAX_PAGE", 1)
    html = client.get("/search?q=funiculars").get_data(as_text=True)
    assert "About " in html and "results for" in html and html.count('<article class="search-result">') == 20


def test_a_count_from_the_postings_is_exact_past_the_pages_shown(consultation, citizen, moderator, backend, monkeypatch):
    whoosh_only(backend)
    said = [say(consultation, citizen, f"Funiculars up the hill, number {i}.") for i in range(25)]
    say(consultation, citizen, "Funiculars and cable cars.")
    monkeypatch.setattr(search, "MAX_PAGE", 1)  # one page shown: counted all the same
    for contribution in said[:3]:
        _hide(contribution, moderator)  # deleted from their segment, still in its postings
    db.session.commit()
    for query, total in [("funiculars", 23), ("funiculars hill", 22), ("cable funiculars", 1), ('"up the hill"', 22), ('"hill up"', 0)]:
        page = find(query, per_page=5)
        assert (page.total, page.approximate) == (total, False), query


def test_postgres_ranks_a_bounded_candidate_set_and_estimates_past_it(consultation, citizen, backend, monkeypatch):
    if backend.name != "postgres":
        pytest.skip("the PostgreSQL backend's candidate set")
    for i in range(25):
        say(consultation, citizen, f"Funiculars up the hill, number {i}.")
    assert (find("funiculars", per_page=5).total, find("funiculars", per_page=5).approximate) == (25, False)
    monkeypatch.setattr(search, "MAX_PAGE", 2)  # candidates: 2 pages of 5, and one more
    about = find("funiculars", per_page=5)
    assert about.approximate is True and about.total >= 10 and len(about.results) == 5
    assert find("funiculars", per_page=5, page=2).results  # the last page shown still has its results
    assert (find("funiculars", per_page=20).total, find("funiculars", per_page=20).approximate) == (25, False)
    # Each configuration's rows are looked up in that configuration's GIN index (migration 0031).
    db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a table this small is read whole otherwise
    plan = db.session.execute(
        text("EXPLAIN SELECT key FROM consult_search.documents WHERE config = 'english' AND document @@ plainto_tsquery('english', 'hill')")
    ).scalars()
    assert "ix_documents_document_english" in "\n".join(plan)


def test_highlights_mark_the_words_that_reduce_to_a_query_term_in_at_most_two_fragments():
    text = (
        "A first policy. "
        + "Intro words here. " * 30
        + "The council's policies on Policy & the POLICING of <sources>; a sourced plan. İstanbul policy, a.policy. "
        + "filler text " * 40
        + "A last policy about sourcing."
    )  # three fragments: one match, five, two
    marked = str(whoosh_backend.Marker(parse("policy source")).mark(text, "en"))
    assert marked.count(" … ") == 1  # the two best fragments of three
    assert "<mark>policies</mark> on <mark>Policy</mark> &amp; the POLICING of &lt;<mark>sources</mark>&gt;" in marked
    assert "İstanbul <mark>policy</mark>, a.policy." in marked  # positions kept past a letter whose lowercase is longer
    assert "first" not in marked and "<mark>sourcing</mark>." in marked  # the fragment with one match is left out
    assert whoosh_backend.Marker(parse("tram")).mark(text, "en") is None
    assert str(whoosh_backend.Marker(parse("policy")).mark("Policy title", "en")) == "<mark>Policy</mark> title"


def test_prefixes_found_with_str_find_mark_what_a_pattern_per_prefix_marked():
    """``Marker.spans`` looks for a term's prefix with ``str.find`` and takes the word from
    there: the same spans as the pattern compiled per prefix it replaced, on random texts."""
    import random
    import re

    def by_pattern(marker, text, group):
        marker._finder(group)
        terms, lower, starts = marker.terms[group], text.lower(), {}
        for prefix in sorted({t[: max(3, len(t) - 3)] for t in terms}):
            for match in re.finditer(f"{re.escape(prefix)}[\\w*]*(?:\\.?[\\w*]+)*", lower):
                start = match.start()
                inside = start and (
                    whoosh_backend._WORD_CHAR.match(lower, start - 1)
                    or (lower[start - 1] == "." and start > 1 and whoosh_backend._WORD_CHAR.match(lower, start - 2))
                )
                if start not in starts and not inside and (term := whoosh_backend._term(match.group(), group)) in terms:
                    starts[start] = (start, match.end(), term)
        return [starts[start] for start in sorted(starts)]

    rng = random.Random(5)
    pieces = [
        "policy",
        "policies",
        "police",
        "pol",
        "source",
        "sources",
        "resource",
        "e.g",
        "u.s.a",
        "a.policy",
        "x*y",
        "..",
        ".",
        " ",
        "  ",
        ", ",
        "-",
        "_",
    ]
    for group in ("en", whoosh_backend.OTHER):
        for query in ["policy source", "e.g", "u.s.a policies", "resourc", "x*y pol"]:
            marker = whoosh_backend.Marker(parse(query))
            for _ in range(150):
                text = "".join(rng.choice(pieces) + rng.choice(["", " ", ".", ". "]) for _ in range(rng.randint(1, 30)))
                assert marker.spans(text, group) == by_pattern(marker, text, group), (group, query, text)
