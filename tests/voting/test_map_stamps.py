"""Whether the stored opinion map is current, known from two change stamps while they have not
moved, without counting the votes (issue #22: a COUNT and a MAX over 2.5 million votes on every
view and status poll); counted again once they moved, and never current when it is not."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from consult.comments import services as comments
from consult.core.models import db
from consult.voting import services as voting
from consult.voting import statements
from consult.voting.models import OpinionMapCache
from tests.factories import make_consultation, make_user
from tests.voting.test_opinion_pages import two_camps


@pytest.fixture
def consultation(organisation, author):
    return make_consultation(organisation, author=author, state="open", slug="buses", title="Night buses")


@pytest.fixture
def statements_run():
    """The SQL statements run while it is in use (a list, emptied by the test when it likes)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()).lower())

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def counted_votes(seen: list[str]) -> bool:
    return any("count(" in s and "votes" in s for s in seen)


def mapped(consultation, queued_jobs):
    """Two camps of voters and their map, computed and committed; the votes' own jobs dropped."""
    items, voters = two_camps(consultation)
    db.session.commit()
    statements.compute_map(consultation)
    db.session.commit()
    queued_jobs.huey.flush()
    return items, voters


def stored(consultation) -> OpinionMapCache:
    db.session.expire_all()
    return db.session.get(OpinionMapCache, consultation.id)


def test_a_current_map_is_known_from_its_stamps_without_counting_the_votes(client, consultation, queued_jobs, statements_run):
    mapped(consultation, queued_jobs)
    assert stored(consultation).consultation_stamp is not None

    statements_run.clear()
    for _ in range(2):
        html = client.get("/c/buses/opinion-map").get_data(as_text=True)
        assert "Group 1" in html and "updated in a moment" not in html
        status = client.get("/c/buses/opinion-map/status").get_json()
        assert status == {"current": True, "updating": False, "failed": False}
    assert not counted_votes(statements_run)
    assert queued_jobs.pending() == []


def test_a_committed_vote_moves_the_stamps_and_the_map_is_stale_until_recomputed(client, consultation, citizen, queued_jobs):
    items, _ = mapped(consultation, queued_jobs)
    seen = stored(consultation).vote_count

    voting.cast_vote(consultation, actor=citizen, value="agree", contribution=items[1])
    db.session.commit()
    queued_jobs.huey.flush()  # the vote's own job: the page must find the map stale by itself
    html = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert "updated in a moment" in html and "Group 1" in html
    assert queued_jobs.pending() == ["recompute_opinion_map"]
    assert queued_jobs.run() == 1
    cache = stored(consultation)
    assert cache.vote_count == seen + 1
    assert (cache.site_stamp, cache.consultation_stamp) == statements.map_stamps(consultation)
    assert client.get("/c/buses/opinion-map/status").get_json()["current"] is True


def test_another_write_counts_the_votes_once_and_the_job_only_records_the_stamps(
    client, consultation, citizen, queued_jobs, statements_run
):
    mapped(consultation, queued_jobs)
    before = stored(consultation)
    computed_at, old_stamps = before.computed_at, (before.site_stamp, before.consultation_stamp)

    comments.post_comment(consultation, actor=citizen, body="Nothing to do with the statements.")
    db.session.commit()
    queued_jobs.huey.flush()  # the comment's own jobs
    assert statements.map_stamps(consultation) != old_stamps

    statements_run.clear()
    html = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert "updated in a moment" not in html  # the votes did not change: still current
    assert counted_votes(statements_run)
    assert queued_jobs.pending() == ["recompute_opinion_map"]  # to record the new stamps
    assert queued_jobs.run() == 1
    after = stored(consultation)
    assert after.computed_at == computed_at  # not recomputed
    assert (after.site_stamp, after.consultation_stamp) == statements.map_stamps(consultation)

    statements_run.clear()
    assert "updated in a moment" not in client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert not counted_votes(statements_run)
    assert queued_jobs.pending() == []


def test_a_vote_not_yet_committed_is_not_hidden_by_unmoved_stamps(client, consultation, citizen, queued_jobs):
    items, _ = mapped(consultation, queued_jobs)
    voting.cast_vote(consultation, actor=citizen, value="agree", contribution=items[1])  # in this transaction
    cached = statements.cached_map(consultation)
    assert not cached.current and cached.updating


def test_a_failed_computation_leaves_no_stamps_to_trust(consultation, queued_jobs, monkeypatch):
    items, _ = mapped(consultation, queued_jobs)
    voting.cast_vote(consultation, actor=make_user(), value="disagree", contribution=items[2])
    db.session.commit()

    def broken(_inputs):
        raise FloatingPointError("no")

    monkeypatch.setattr(statements, "computed_map", broken)
    queued_jobs.huey.flush()
    statements.recompute_opinion_map(consultation.id)  # as the worker runs it
    db.session.commit()
    cache = stored(consultation)
    assert cache.failed_at is not None and cache.site_stamp is None and cache.consultation_stamp is None
    cached = statements.cached_map(consultation)
    assert not cached.current and cached.failed_at is not None
