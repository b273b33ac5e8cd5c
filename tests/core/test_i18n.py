"""The interface's languages: which one a request gets, the switcher, ``lang``/``dir``, dates and
numbers through Babel, and the guard rails on the catalogues (every string marked, every
catalogue complete, placeholders kept, compiled files up to date)."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import refresh

from consult.core import i18n
from consult.core.models import db
from consult.site import services as site
from tests import i18n_scan
from tests.factories import login, make_user

TRANSLATIONS = Path(__file__).resolve().parents[2] / "consult" / "translations"
LANGUAGES = ("en", "fr", "es", "ar")


def html_attributes(html: str) -> dict[str, str]:
    tag = re.search(r"<html([^>]*)>", html).group(1)
    return dict(re.findall(r'(\w+)="([^"]*)"', tag))


# --- which language a request gets ------------------------------------------------------------


def test_english_without_any_preference(client):
    attributes = html_attributes(client.get("/").get_data(as_text=True))
    assert attributes == {"lang": "en", "dir": "ltr"}


def test_the_browser_language_is_followed(client):
    html = client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert html_attributes(html) == {"lang": "fr", "dir": "ltr"}
    html = client.get("/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert html_attributes(html) == {"lang": "ar", "dir": "rtl"}


def test_a_language_we_do_not_have_falls_back_to_the_site_default(client, app):
    admin = make_user(site_admin=True)
    site.update_site(
        actor=admin,
        site_name="Consult",
        accent_colour=None,
        footer_links=[],
        registration="open",
        report_threshold=None,
        time_zone_name=None,
        default_language="es",
    )
    db.session.commit()
    assert html_attributes(client.get("/", headers={"Accept-Language": "de, ja"}).get_data(as_text=True))["lang"] == "es"
    assert html_attributes(client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True))["lang"] == "fr"


def test_the_switcher_works_without_script_and_is_remembered(client):
    response = client.post("/language", data={"language": "ar", "next": "/search?q=x"})
    assert response.status_code == 302 and response.headers["Location"] == "/search?q=x"
    # The choice beats the browser's header from now on.
    assert html_attributes(client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True))["lang"] == "ar"


def test_the_switcher_refuses_a_language_we_do_not_have_and_a_foreign_next(client):
    assert client.post("/language", data={"language": "xx"}).status_code == 400
    response = client.post("/language", data={"language": "fr", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_a_signed_in_person_s_choice_is_kept_on_their_account(client):
    person = make_user()
    db.session.commit()
    login(client, person)
    client.post("/language", data={"language": "es"})
    assert person.language == "es"
    client.delete_cookie(i18n.COOKIE)
    assert html_attributes(client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True))["lang"] == "es"


def test_a_visitor_s_page_sets_no_cookie(client):
    """The switcher is on every page without a CSRF token: reading a page leaves no session."""
    response = client.get("/")
    assert "Set-Cookie" not in response.headers


def test_every_page_is_marked_as_varying_by_language(client):
    assert "Accept-Language" in client.get("/").headers["Vary"]


def test_the_switcher_names_each_language_in_itself(client):
    html = client.get("/").get_data(as_text=True)
    assert '<button type="submit" name="language" value="ar" lang="ar" dir="rtl"' in html
    assert 'value="en" lang="en" dir="ltr" class="link-button" aria-current="true">English</button>' in html


# --- dates and numbers --------------------------------------------------------------------------


def test_dates_and_numbers_follow_the_language(app, monkeypatch):
    monkeypatch.setitem(app.config, "TIME_ZONE", "Europe/Paris")
    winter = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        refresh()
        assert render_template_string("{{ t|datetime }}", t=winter) == "16 janvier 2026, 00:30 CET"
        assert render_template_string("{{ 1234567|number }} {{ 0.25|percent }}", t=winter) == "1\u202f234\u202f567 25\u00a0%"
    with app.test_request_context(headers={"Accept-Language": "es"}):
        refresh()  # a request would: the test's app context is shared
        assert render_template_string("{{ t|date }}", t=winter) == "16 de enero de 2026"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        assert render_template_string("{{ t|datetime }}", t=winter) == "16 January 2026, 00:30 CET"
        assert render_template_string("{{ 1234567|number }} {{ 0.255|percent(1) }}") == "1,234,567 25.5%"


# --- guard rails on the strings and the catalogues ---------------------------------------------


def test_every_user_facing_string_is_marked_for_translation():
    unmarked = i18n_scan.scan()
    assert not unmarked, f"{len(unmarked)} strings are not marked for translation (python -m tests.i18n_scan lists them):\n" + "\n".join(
        map(str, unmarked[:60])
    )


def test_the_scanner_finds_what_it_should(tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    templates.mkdir()
    page = templates / "page.html"
    page.write_text(
        '<p>Hello {{ name }}</p>\n<img alt="A map" src="x">\n{{ macro(label="Send it") }}\n'
        '<p>{{ _("Marked") }}</p>\n{% trans %}Also marked{% endtrans %}\n<p class="a b">{{ x }}</p>\n'
    )
    code = tmp_path / "views.py"
    code.write_text('flash("Saved.")\nflash(_("Saved."))\nraise RuleViolation(f"No {x}")\nname = StringField(_l("Name"))\n')
    monkeypatch.setattr(i18n_scan, "ROOT", tmp_path)
    found = [(u.line, u.text) for u in i18n_scan.scan_template(page)]
    assert found == [(1, "Hello …"), (2, "alt=A map"), (3, "Send it")]
    found = [(u.line, u.text) for u in i18n_scan.scan_python(code)]
    assert found == [(1, "Saved."), (3, "f-string: No {…}")]


def _catalogue(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


def _template():
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        return read_po(f)


PLACEHOLDERS = re.compile(r"%\((\w+)\)[sd]|%[sd]|\{\w*\}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_is_complete(language):
    catalogue, template = _catalogue(language), _template()
    missing, fuzzy = [], []
    for message in template:
        if not message.id:
            continue
        translated = catalogue.get(message.id, message.context)
        strings = translated.string if translated is not None else None
        if translated is None or not strings or (isinstance(strings, tuple | list) and not all(strings)):
            missing.append(message.id)
        elif translated.fuzzy:
            fuzzy.append(message.id)
    assert not missing, f"{language}: {len(missing)} strings not translated (make catalogues, then translate): {missing[:20]}"
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy translations: {fuzzy[:20]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_between_languages(language):
    wrong = []
    for message in _catalogue(language):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        expected = sorted(set(PLACEHOLDERS.findall(" ".join(ids))))
        for string in strings:
            if string and sorted(set(PLACEHOLDERS.findall(string))) != expected:
                # Plural forms may leave out the count when the sentence says "one" in words.
                if isinstance(message.id, tuple) and set(PLACEHOLDERS.findall(string)) <= set(expected):
                    continue
                wrong.append((message.id, string))
    assert not wrong, f"{language}: placeholders differ from the English: {wrong[:10]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogues_are_up_to_date(language):
    folder = TRANSLATIONS / language / "LC_MESSAGES"

    def frozen(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    with (folder / "messages.mo").open("rb") as f:
        compiled = {(frozen(m.id), m.context): frozen(m.string) for m in read_mo(f) if m.id}
    written = {(frozen(m.id), m.context): frozen(m.string) for m in _catalogue(language) if m.id and m.string and not m.fuzzy}
    assert compiled == written, f"{language}: the .mo file is older than the .po: run make catalogues"


def test_the_template_holds_every_marked_string(tmp_path):
    """messages.pot is extracted from the code as it is: run make catalogues after marking."""
    spec = importlib.util.spec_from_file_location("catalogues", TRANSLATIONS.parents[1] / "scripts" / "catalogues.py")
    catalogues = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(catalogues)
    fresh = {(m.id, m.context) for m in catalogues.extract(tmp_path / "messages.pot") if m.id}
    kept = {(m.id, m.context) for m in _template() if m.id}
    assert fresh == kept, (
        f"messages.pot is out of date (make catalogues): new {sorted(fresh - kept)[:10]}, gone {sorted(kept - fresh)[:10]}"
    )


def test_content_in_another_language_says_so(client, organisation, author):
    from consult.comments import services as comments
    from tests.factories import make_consultation

    c = make_consultation(organisation, author=author, state="open", slug="langs")
    for body, language in (
        ("Je suis d'accord avec cette section.", "fr"),
        ("أوافق على هذا القسم.", "ar"),
        ("I agree with this section.", "en"),
    ):
        comments.post_comment(c, actor=make_user(), body=body, section_key="purpose").language = language
    db.session.commit()
    html = client.get("/c/langs/s/purpose").get_data(as_text=True)
    bodies = re.findall(r'<div class="comment-body"([^>]*)>', html)
    assert sorted(bodies) == sorted(['', ' lang="fr" dir="ltr"', ' lang="ar" dir="rtl"'])
    html = client.get("/c/langs/s/purpose", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert sorted(re.findall(r'<div class="comment-body"([^>]*)>', html)) == sorted(['', ' lang="en" dir="ltr"', ' lang="ar" dir="rtl"'])
