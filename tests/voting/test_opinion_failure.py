"""A failing opinion-map computation (issue 13: the page said "being updated… reload" and
"not enough votes yet" forever and logged an ERROR on every view). The last good map stays,
shown to everyone "as of" its date; moderators see the failure; views queue nothing more until
the votes change."""

from __future__ import annotations

import logging

import pytest

from consult.core.models import db
from consult.core.templating import format_datetime
from consult.voting import services as voting
from consult.voting import statements
from consult.voting.models import OpinionMapCache
from tests.factories import login, make_consultation, make_user
from tests.voting.test_opinion_pages import two_camps


@pytest.fixture
def consultation(organisation, author):
    consultation = make_consultation(organisation, author=author, state="open", slug="buses", title="Night buses")
    db.session.commit()  # its opening is told now, not among the jobs a test queues and counts
    return consultation


@pytest.fixture
def failing_computation(monkeypatch):
    def boom(*_args, **_kwargs):
        raise FloatingPointError("the maths gave up")

    monkeypatch.setattr("consult.voting.opinion.compute", boom)


def _views(client, caplog) -> str:
    """The map page, seen three times; no view logs an error."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        pages = [client.get("/c/buses/opinion-map") for _ in range(3)]
    assert all(p.status_code == 200 for p in pages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    return pages[-1].get_data(as_text=True)


def test_a_failed_update_keeps_the_last_good_map_as_of_its_date(client, consultation, citizen, moderator, queued_jobs, caplog, monkeypatch):
    items, _ = two_camps(consultation)
    statements.compute_map(consultation)
    computed_at = db.session.get(OpinionMapCache, consultation.id).computed_at

    def boom(*_args, **_kwargs):
        raise FloatingPointError("the maths gave up")

    monkeypatch.setattr("consult.voting.opinion.compute", boom)
    voting.cast_vote(consultation, actor=citizen, value="agree", contribution=items[1])
    db.session.commit()  # the vote queues the update
    assert queued_jobs.run() == 1  # it fails: recorded, not raised

    cache = db.session.get(OpinionMapCache, consultation.id)
    assert cache.failure == "FloatingPointError" and cache.failed_at is not None
    assert cache.computed_at == computed_at  # the last good map is kept

    html = _views(client, caplog)  # as seen by anyone
    assert "Group 1" in html and "Group 2" in html
    assert f"as of {format_datetime(computed_at)}" in html
    assert "being updated" not in html and "not enough votes" not in html
    assert "failed" not in html and "FloatingPointError" not in html  # the failure is for moderators
    assert queued_jobs.pending() == []  # the same failing computation is not queued again per view

    login(client, moderator)
    html = _views(client, caplog)
    assert "Group 1" in html and f"as of {format_datetime(computed_at)}" in html
    assert "failed at" in html and "FloatingPointError" in html
    assert queued_jobs.pending() == []

    monkeypatch.undo()  # the next vote tries again, and succeeds
    voting.cast_vote(consultation, actor=make_user(), value="disagree", contribution=items[2])
    db.session.commit()
    assert queued_jobs.run() == 1
    db.session.expire_all()
    cache = db.session.get(OpinionMapCache, consultation.id)
    assert cache.failed_at is None and cache.failure is None and cache.computed_at > computed_at
    html = client.get("/c/buses/opinion-map").get_data(as_text=True)
    assert "failed at" not in html and "as of" not in html and "being updated" not in html


def test_a_failure_before_any_map_says_so_instead_of_not_enough_votes(
    client, consultation, moderator, queued_jobs, caplog, failing_computation
):
    two_camps(consultation)
    db.session.commit()
    assert queued_jobs.run() == 1

    html = _views(client, caplog)
    assert "cannot be drawn just now" in html
    assert "not enough votes" not in html and "being updated" not in html and "FloatingPointError" not in html
    assert queued_jobs.pending() == []

    login(client, moderator)
    html = _views(client, caplog)
    assert "failed at" in html and "FloatingPointError" in html
