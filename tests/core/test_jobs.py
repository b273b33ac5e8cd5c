"""Background jobs: the queue built from the settings, the opinion map, record bundles, theme
suggestions, failures and retries, and the Redis queue.

The suite's app runs jobs immediately (``JOBS_IMMEDIATE``); the ``queued_jobs`` fixture holds
them in a SQLite queue, as with a worker, until the test runs them.
"""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from datetime import datetime, timedelta

import pytest
from huey import RedisHuey, SqliteHuey

from consult.accounts import services as accounts
from consult.comments import services as comments
from consult.core import jobs
from consult.core.models import db
from consult.moderation import services as moderation
from consult.record import export
from consult.voting import services as voting
from consult.voting import statements
from consult.voting.models import OpinionMapCache
from tests.factories import make_consultation, make_user


@pytest.fixture
def consultation(organisation, author):
    consultation = make_consultation(organisation, author=author, state="open", slug="bundled")
    db.session.commit()  # its opening is told now, not among the jobs a test queues and counts
    return consultation


@pytest.fixture
def builds(app, monkeypatch, tmp_path):
    """Counts record bundles written; bundles go to a folder of this test's own."""
    monkeypatch.setitem(app.config, "RECORD_BUNDLE_DIR", str(tmp_path / "bundles"))
    written = []
    write_zip = export.write_zip

    def counting(consultation, file):
        written.append(consultation.slug)
        return write_zip(consultation, file)

    monkeypatch.setattr(export, "write_zip", counting)
    return written


def download(client, slug="bundled"):
    return client.get(f"/c/{slug}/record.zip")


def record_json(response) -> str:
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return archive.read("record.json").decode()


# ---- the queue -----------------------------------------------------------------------------


def test_the_queue_is_sqlite_in_the_instance_folder_unless_redis_is_set(tmp_path):
    from consult import create_app

    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    huey = jobs.queue(app).huey
    assert isinstance(huey, SqliteHuey) and not huey.immediate
    assert (tmp_path / "jobs.db").exists()
    app = create_app(
        {"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "JOBS_URL": "redis://127.0.0.1:6379/15"}
    )
    assert isinstance(jobs.queue(app).huey, RedisHuey)
    with pytest.raises(RuntimeError, match="redis://"):
        create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "JOBS_URL": "amqp://elsewhere"})


def test_a_job_queued_in_a_transaction_that_rolls_back_is_never_queued(consultation, queued_jobs):
    statements.map_votes_changed(consultation)
    db.session.rollback()
    db.session.commit()
    assert queued_jobs.pending() == []
    statements.map_votes_changed(consultation)
    assert queued_jobs.pending() == []  # not before the commit
    db.session.commit()
    assert queued_jobs.pending() == ["recompute_opinion_map"]


# ---- the opinion map -----------------------------------------------------------------------


def test_a_vote_makes_the_map_stale_and_a_job_recomputes_it(consultation, citizen, queued_jobs):
    writer = make_user()
    items = [statements.post_statement(consultation, actor=writer, body=f"Statement {i}.") for i in range(2)]
    statements.compute_map(consultation)
    db.session.commit()
    assert statements.cached_map(consultation).current is True

    voting.cast_vote(consultation, actor=citizen, value="agree", contribution=items[0])
    db.session.commit()
    assert statements.cached_map(consultation).current is False  # stale: the page says it is being updated
    assert queued_jobs.pending() == ["recompute_opinion_map"]  # the vote queued one job; the stale read no second
    assert queued_jobs.run() == 1
    db.session.expire_all()
    assert statements.cached_map(consultation).current is True
    assert db.session.get(OpinionMapCache, consultation.id).vote_count == 1
    assert queued_jobs.pending() == []


# ---- record bundles ------------------------------------------------------------------------


def test_the_record_is_built_once_and_served_again_without_rebuilding(client, consultation, citizen, builds):
    comments.post_comment(consultation, actor=citizen, body="Publish the bus timetables as open data.")
    db.session.commit()
    first, second = download(client), download(client)
    assert first.status_code == second.status_code == 200
    assert first.data == second.data and "Publish the bus timetables" in record_json(first)
    assert first.headers["Content-Disposition"] == "attachment; filename=bundled-record.zip"
    assert int(first.headers["Content-Length"]) == len(first.data)
    assert builds == ["bundled"]  # built once, served twice


def test_the_record_is_rebuilt_after_a_comment_a_hide_and_a_new_display_name(client, consultation, citizen, moderator, builds):
    comment = comments.post_comment(consultation, actor=citizen, body="Publish the bus timetables as open data.")
    db.session.commit()
    assert "Publish the bus timetables" in record_json(download(client))
    assert len(builds) == 1

    comments.post_comment(consultation, actor=citizen, body="And the tram timetables.")
    db.session.commit()
    assert "And the tram timetables" in record_json(download(client))
    assert len(builds) == 2

    moderation.act([comment], actor=moderator, action="hide", reason="Off topic.")
    db.session.commit()
    assert "Publish the bus timetables" not in record_json(download(client))
    assert len(builds) == 3

    accounts.update_profile(citizen, display_name="Casey Commuter")
    db.session.commit()
    response = download(client)
    assert "Casey Commuter" in record_json(response) and "Casey Citizen" not in record_json(response)
    assert len(builds) == 4
    download(client)
    assert len(builds) == 4
    assert len(os.listdir(client.application.config["RECORD_BUNDLE_DIR"])) == 1  # older bundles removed


def test_a_record_being_prepared_says_so_queues_one_build_and_is_served_when_built(client, consultation, builds, queued_jobs):
    pages = [download(client) for _ in range(3)]
    for page in pages:
        assert page.status_code == 202 and page.headers["Retry-After"] == "10"
        html = page.get_data(as_text=True)
        assert "being prepared" in html and 'href="/c/bundled/record.zip"' in html
    assert queued_jobs.pending() == ["build_record_bundle"]  # one build for three requests
    assert builds == []
    queued_jobs.run()
    assert download(client).status_code == 200 and builds == ["bundled"]


def test_a_failing_build_is_retried_and_the_page_says_being_prepared_not_500(
    client, consultation, builds, queued_jobs, monkeypatch, caplog
):
    attempts = []

    def broken(consultation, file):
        attempts.append(1)
        raise OSError("disk full")

    monkeypatch.setattr(export, "write_zip", broken)
    assert download(client).status_code == 202
    queued_jobs.run()  # the first attempt fails
    assert attempts == [1]
    assert "build_record_bundle" in caplog.text and "failed" in caplog.text
    retries = queued_jobs.huey.scheduled()
    assert [task.name for task in retries] == ["build_record_bundle"] and retries[0].retries == 2  # two more tries left
    again = download(client)
    assert again.status_code == 202 and "being prepared" in again.get_data(as_text=True)
    assert queued_jobs.pending() == []  # the retry is the one build: no second one queued

    monkeypatch.setattr(export, "write_zip", lambda consultation, file: (builds.append("fixed"), EXPORT_WRITE_ZIP(consultation, file))[1])
    for task in queued_jobs.huey.read_schedule(datetime.now() + timedelta(days=1)):
        task.eta = None  # the retry's time has come
        queued_jobs.huey.execute(task)
    assert download(client).status_code == 200 and builds == ["fixed"]


EXPORT_WRITE_ZIP = export.write_zip


def test_the_record_of_a_draft_or_missing_consultation_is_a_404_and_builds_nothing(client, draft_consultation, builds):
    assert download(client, "secret-draft").status_code == 404
    assert download(client, "nothing-here").status_code == 404
    assert builds == []


# ---- the Redis queue -----------------------------------------------------------------------


def test_a_job_goes_through_redis(app, consultation, citizen):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is not reachable at 127.0.0.1:6379 (CI needs it)")
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    name = f"consult-test-{uuid.uuid4().hex[:8]}"  # a queue of this test's own
    huey = RedisHuey(name, url="redis://127.0.0.1:6379/0", results=False, utc=True)
    queue = jobs.JobQueue(app, huey)
    try:
        writer = make_user()
        item = statements.post_statement(consultation, actor=writer, body="Through Redis.")
        voting.cast_vote(consultation, actor=citizen, value="agree", contribution=item)
        db.session.commit()
        db.session.delete(db.session.get(OpinionMapCache, consultation.id))  # computed by the suite's immediate queue
        db.session.commit()
        assert queue.enqueue(statements.recompute_opinion_map, consultation.id, once=f"map:{consultation.id}")
        assert not queue.enqueue(statements.recompute_opinion_map, consultation.id, once=f"map:{consultation.id}")  # once
        assert huey.pending_count() == 1
        assert db.session.get(OpinionMapCache, consultation.id) is None
        task = huey.dequeue()
        huey.execute(task)
        db.session.expire_all()
        assert db.session.get(OpinionMapCache, consultation.id).vote_count == 1
        assert not queue.pending(f"map:{consultation.id}")  # done: the key is free again
    finally:
        huey.flush()


# ---- theme suggestions ---------------------------------------------------------------------

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


def suggested(client) -> str:
    """The suggestions panel of the themes page."""
    html = client.get("/c/bundled/themes").get_data(as_text=True)
    return html.split('id="suggest-heading"')[1].split("</section>")[0]


def test_theme_suggestions_are_computed_by_a_job_once_per_change(
    client, consultation, moderator, citizen, queued_jobs, monkeypatch, app, tmp_path
):
    from consult.moderation import similarity

    monkeypatch.setitem(app.config, "SUGGESTIONS_DIR", str(tmp_path / "suggestions"))
    computed = []
    suggest_groups = similarity.suggest_groups
    monkeypatch.setattr(similarity, "suggest_groups", lambda items, **kw: computed.append(len(items)) or suggest_groups(items, **kw))
    for body in BIKE + BUS + TREES:
        comments.post_comment(consultation, actor=citizen, body=body)
    db.session.commit()
    from tests.conftest import login

    login(client, moderator)
    for _ in range(2):
        panel = suggested(client)
        assert "Suggested groups are being prepared" in panel and "bike" not in panel
    assert queued_jobs.pending() == ["compute_theme_suggestions"] and computed == []  # one job for two views, none on the request
    queued_jobs.run()
    panel = suggested(client)
    assert "being prepared" not in panel and "bike" in panel
    client.get("/c/bundled/themes")
    assert computed == [11] and queued_jobs.pending() == []  # served from the cache

    comments.post_comment(consultation, actor=citizen, body="Plant trees along the high street too.")
    db.session.commit()
    assert "being prepared" in suggested(client)
    queued_jobs.run()
    assert "bike" in suggested(client)
    assert computed == [11, 12]
    assert len(os.listdir(tmp_path / "suggestions")) == 1  # the older result removed


def test_a_queue_that_is_down_leaves_the_page_being_prepared_not_500(app, client, consultation, builds, monkeypatch):
    huey = jobs.queue(app).huey
    enqueue = huey.enqueue

    def down(task):
        raise ConnectionError("the queue is down")

    monkeypatch.setattr(huey, "enqueue", down)
    first = download(client)
    assert first.status_code == 202 and "being prepared" in first.get_data(as_text=True)
    assert builds == []
    monkeypatch.setattr(huey, "enqueue", enqueue)  # back up
    assert download(client).status_code == 200  # the failed try left no key behind: the next request queued the build
    assert builds == ["bundled"]


def test_a_drafts_record_is_a_404_even_for_its_author(client, draft_consultation, author, builds):
    from tests.conftest import login

    login(client, author)
    assert download(client, "secret-draft").status_code == 404
    assert builds == []


def _edit(c, people):
    comments.edit_comment(people["comment"], actor=people["citizen"], body="Publish the bus timetables, and the fares.")


def _vote(c, people):
    voting.cast_vote(c, actor=people["other"], value="support", contribution=people["amendment"])


def _change_vote(c, people):
    voting.cast_vote(c, actor=people["citizen"], value="oppose", contribution=people["amendment"])


def _co_support(c, people):
    from consult.amendments import services as amendments

    amendments.co_support(people["open amendment"].amendment, actor=people["other"])


def _answer_again(c, people):
    from consult.amendments import services as amendments

    amendments.answer_amendment(people["amendment"].amendment, actor=people["author"], decision="not_accepted", reason="Out of budget.")


def _theme(c, people):
    theme = moderation.create_theme(c, actor=people["moderator"], name="Timetables")
    moderation.tag(theme, [people["comment"]], actor=people["moderator"])


def _block(c, people):
    moderation.block(c.organisation, people["citizen"], actor=people["moderator"], reason="Spam.", consultation=c)


@pytest.mark.parametrize("change", [_edit, _vote, _change_vote, _co_support, _answer_again, _theme, _block])
def test_every_change_the_record_shows_rebuilds_it(client, consultation, citizen, author, moderator, builds, change):
    from consult.amendments import services as amendments

    section = consultation.current_version.sections[0]
    people = {"citizen": citizen, "author": author, "moderator": moderator, "other": make_user(name="Olive Other")}
    people["comment"] = comments.post_comment(consultation, actor=citizen, body="Publish the bus timetables.")
    people["amendment"] = amendments.propose_amendment(
        consultation, actor=citizen, section_key=section.key, rationale="Clearer.", proposed_text=section.body + "\n\nAnd the fares."
    )
    people["open amendment"] = amendments.propose_amendment(
        consultation, actor=citizen, section_key=section.key, rationale="Shorter.", proposed_text=section.body + "\n\nIn brief."
    )
    voting.cast_vote(consultation, actor=citizen, value="support", contribution=people["amendment"])
    amendments.answer_amendment(people["amendment"].amendment, actor=author, decision="accepted", reason="Good idea.")
    db.session.commit()
    before = record_json(download(client))
    assert download(client).status_code == 200 and len(builds) == 1

    change(consultation, people)
    db.session.commit()
    after = record_json(download(client))
    assert len(builds) == 2
    if change is not _theme:  # themes are published with the outcome: rebuilt, the same until then
        assert after.split('"exported_at"')[1][30:] != before.split('"exported_at"')[1][30:]


# ---- once= while queued or while running ---------------------------------------------------

_seen_while_running: list[bool] = []


@jobs.job(retries=0, writes=False)
def _holds_its_key_while_running() -> None:
    _seen_while_running.append(jobs.enqueue(_holds_its_key_while_running, once="held"))


@jobs.job(retries=0, writes=False, coalesce=True)
def _frees_its_key_when_it_starts() -> None:
    _seen_while_running.append(jobs.enqueue(_frees_its_key_when_it_starts, once="coalesced"))


@pytest.mark.parametrize(
    ("func", "key", "queued_during_the_run"),
    [(_holds_its_key_while_running, "held", False), (_frees_its_key_when_it_starts, "coalesced", True)],
)
def test_a_coalescing_job_can_be_queued_again_while_it_runs(app, tmp_path, monkeypatch, func, key, queued_during_the_run):
    """The search outbox's job catches up with whatever is there when it runs: a change
    committed during a run must queue the next run (not wait for the minute's check), and a
    worker killed mid-run must leave no key that blocks the queue for JOBS_ONCE_TIMEOUT."""
    huey = SqliteHuey("coalesce", filename=str(tmp_path / "jobs.db"), results=False, utc=True)
    queue = jobs.JobQueue(app, huey)
    monkeypatch.setitem(app.extensions, "consult_jobs", queue)
    _seen_while_running.clear()
    assert queue.enqueue(func, once=key)
    assert not queue.enqueue(func, once=key)  # queued once, whatever the kind
    huey.execute(huey.dequeue())
    assert _seen_while_running == [queued_during_the_run]
    assert huey.pending_count() == (1 if queued_during_the_run else 0)
