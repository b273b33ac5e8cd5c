"""The site's settings are kept by the process while the site's change stamp stays (issue 22):
a page about a consultation reads its change stamps and the site's in one query and the settings
not at all; a change saved anywhere (another worker, another server: the stamp is in the
database) is shown at the next request; one made outside the application, after the cache's
time-to-live; and a request's own change as it stands."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from consult.core import cache
from consult.core.models import db
from consult.site import views as site_views
from consult.site.models import SETTINGS_ID, SiteSettings
from tests.conftest import login
from tests.factories import make_consultation, make_organisation, make_user
from tests.site.test_settings import save_site


@pytest.fixture
def statements():
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


def reading(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if s.startswith("SELECT") and f"FROM {table}" in s]


def write_by_hand(name: str) -> None:
    """The settings row written with SQL on the connection, past the session's events: no stamp
    is drawn (a restored backup, SQL typed by hand)."""
    connection = db.session.connection()
    connection.execute(text("DELETE FROM site_settings"))
    connection.execute(
        text(
            "INSERT INTO site_settings (id, site_name, footer_links, registration, logo_alt, updated_at, row_version) "
            "VALUES (:id, :name, '[]', 'open', '', CURRENT_TIMESTAMP, 1)"
        ),
        {"id": SETTINGS_ID, "name": name},
    )
    db.session.commit()


@pytest.fixture
def consultation():
    c = make_consultation(make_organisation(), state="open", slug="kept", title="Kept settings", text="## Fees\n\nNo fee.\n")
    db.session.commit()
    return c


def test_a_consultations_page_reads_the_stamps_once_and_the_settings_not_at_all(client, consultation, statements):
    client.get("/c/kept")  # the process keeps the settings; the fragments are cached
    statements.clear()
    for path in ("/c/kept", "/c/kept/s/fees"):
        for language in (None, "fr"):  # with no Accept-Language the site's default language is asked for
            db.session.commit()  # a request's own transaction, as in a worker (the tests' session outlives requests)
            statements.clear()
            response = client.get(path, headers={"Accept-Language": language} if language else {})
            assert response.status_code == 200
            assert reading(statements, "site_settings") == [], (path, language)
            assert len(reading(statements, "cache_stamps")) == 1, (path, language)


def test_a_saved_change_is_shown_at_the_next_request(app, client, consultation):
    visitor = app.test_client()
    assert "<title>Kept settings · Consult</title>" in visitor.get("/c/kept").get_data(as_text=True)
    login(client, make_user(name="Sam Site-Admin", site_admin=True))
    assert save_site(client, site_name="Council consultations").status_code == 302
    assert "Kept settings · Council consultations" in visitor.get("/c/kept").get_data(as_text=True)
    assert "Council consultations" in visitor.get("/search").get_data(as_text=True)  # a page about no consultation


def test_another_servers_change_is_seen_by_its_stamp(app, client, consultation):
    """A process that did not make the change learns of it from the stamp alone."""
    client.get("/c/kept")
    write_by_hand("Changed elsewhere")
    assert "Changed elsewhere" not in client.get("/c/kept").get_data(as_text=True)  # kept: nothing said it changed
    db.session.execute(
        cache._draw_stamp(db.engine.dialect.name), {"scope": cache.SITE, "stamp": 123456789}
    )  # what another server's save draws with its change
    db.session.commit()
    assert "Kept settings · Changed elsewhere" in client.get("/c/kept").get_data(as_text=True)


def test_a_change_made_outside_the_application_is_shown_after_the_ttl(app, client, consultation, monkeypatch):
    client.get("/c/kept")
    write_by_hand("Restored from a backup")
    assert "Restored from a backup" not in client.get("/c/kept").get_data(as_text=True)
    later = site_views.time.monotonic() + cache.DEFAULT_TTL + 1
    monkeypatch.setattr(site_views.time, "monotonic", lambda: later)
    assert "Restored from a backup" in client.get("/c/kept").get_data(as_text=True)


def test_the_kept_copy_is_not_the_sessions_row(app, client, consultation):
    login(client, make_user(name="Sam Site-Admin", site_admin=True))
    assert save_site(client, footer_links="Contact us | https://council.example/contact").status_code == 302
    with app.test_request_context("/"):
        shown = site_views.settings_for_display()
        stored = db.session.get(SiteSettings, SETTINGS_ID)
        assert shown is not stored and shown not in db.session
        assert shown.footer_links == stored.footer_links and shown.footer_links is not stored.footer_links
        assert shown.site_name == stored.site_name


def test_the_requests_stamps_are_read_again_after_it_commits(app, consultation):
    with app.test_request_context("/c/kept"):
        scope = cache.consultation_scope(consultation.id)
        before = cache.page_stamps(cache.SITE, scope)
        assert cache.page_stamps(scope) == before[1:]
        consultation.title = "Renamed"
        db.session.commit()  # draws the consultation's stamp anew
        after = cache.page_stamps(cache.SITE, scope)
        assert after[1] != before[1] and after == cache.stamps(cache.SITE, scope)
