"""Times are shown in the site's ``TIME_ZONE`` with the zone's abbreviation, through one filter;
``<time datetime>`` keeps UTC; an unknown zone stops the start."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import render_template_string

from consult import create_app
from consult.comments import services as comments
from consult.core.models import db
from consult.moderation import services
from tests.factories import login, make_consultation, make_user


@pytest.fixture
def paris(app, monkeypatch):
    monkeypatch.setitem(app.config, "TIME_ZONE", "Europe/Paris")


def test_the_filter_shows_the_site_zone_and_its_abbreviation(app, paris):
    winter, summer = datetime(2026, 1, 15, 23, 30, tzinfo=UTC), datetime(2026, 7, 1, 9, 5, tzinfo=UTC)
    with app.test_request_context():
        assert render_template_string("{{ t|datetime }}", t=winter) == "16 January 2026, 00:30 CET"
        assert render_template_string("{{ t|datetime }}", t=summer) == "1 July 2026, 11:05 CEST"
        assert render_template_string("{{ t|date }}", t=winter) == "16 January 2026"  # already the next day in Paris


def test_utc_by_default(app):
    with app.test_request_context():
        assert render_template_string("{{ t|datetime }}", t=datetime(2026, 1, 15, 23, 30, tzinfo=UTC)) == "15 January 2026, 23:30 UTC"


def test_pages_show_times_in_the_zone_and_keep_utc_in_the_markup(client, paris, organisation):
    moderator = make_user(role="moderator", organisation=organisation)
    c = make_consultation(organisation, state="open")
    comment = comments.post_comment(c, actor=make_user(), body="A comment waiting for a moderator.")
    comment.created_at = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    services.report(comment, actor=make_user(), reason="spam", detail="")
    db.session.commit()
    login(client, moderator)
    html = client.get(f"/o/{organisation.slug}/moderation").get_data(as_text=True)
    assert "16 January 2026, 00:30 CET" in html
    assert 'datetime="2026-01-15T23:30:00+00:00"' in html
    assert "23:30 UTC" not in html


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd", 3])
def test_an_unknown_zone_stops_the_start(tmp_path, zone):
    with pytest.raises(RuntimeError, match="TIME_ZONE"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "TIME_ZONE": zone})


def test_a_known_zone_starts(tmp_path):
    app = create_app(
        {"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "TIME_ZONE": "America/New_York"}
    )
    assert app.config["TIME_ZONE"] == "America/New_York"
