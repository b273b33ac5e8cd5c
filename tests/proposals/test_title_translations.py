"""A consultation's title and summary in the other languages of its text: set on the details
form, shown to the readers of that language (with ``lang`` when it differs from the interface),
the original everywhere else; refused for a language the text is not in."""

from __future__ import annotations

import re

import pytest

from consult.audit.models import StaffAction, StaffOperation
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.proposals import services as proposals
from tests.factories import login
from tests.proposals.test_languages import bilingual


def _details(c, **translations):
    return dict(
        title=c.title,
        summary=c.summary,
        opens_at=c.opens_at,
        closes_at=c.closes_at,
        licence=c.licence,
        translations=translations,
    )


def test_the_details_form_sets_the_french_title_and_readers_of_french_see_it(client, organisation, author):
    c = bilingual(organisation, author)
    db.session.commit()
    login(client, author)
    form = client.get(f"/c/{c.slug}/edit").get_data(as_text=True)
    assert 'name="title_fr"' in form and 'lang="fr"' in form and "In Français" in form
    token = re.search(r'name="row_version"[^>]*value="(\d+)"', form) or re.search(r'value="(\d+)"[^>]*name="row_version"', form)
    response = client.post(
        f"/c/{c.slug}/edit",
        data={
            "title": c.title,
            "summary": c.summary,
            "licence": c.licence,
            "response_threshold": "10",
            "row_version": token.group(1),
            "title_fr": "Données ouvertes du conseil",
            "summary_fr": "Ce que le conseil publie.",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert c.translations == {"fr": {"title": "Données ouvertes du conseil", "summary": "Ce que le conseil publie."}}
    logged = db.session.query(StaffAction).filter_by(operation=StaffOperation.EDIT_CONSULTATION).all()
    assert any("translations" in (entry.detail or {}).get("fields", []) for entry in logged)

    french = client.get(f"/c/{c.slug}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "<h1>Données ouvertes du conseil</h1>" in french and "Ce que le conseil publie." in french
    english = client.get(f"/c/{c.slug}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"<h1>{c.title}</h1>" in english and "Données ouvertes" not in english
    # Spanish readers get the original, marked as written in English.
    spanish = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert re.search(r'<h3 class="card-title" lang="en" dir="ltr"><a [^>]*>' + re.escape(c.title) + "</a>", spanish)


def test_a_language_the_text_is_not_in_or_words_too_long_are_refused(organisation, author):
    c = bilingual(organisation, author)
    with pytest.raises(RuleViolation):
        proposals.update_consultation(c, actor=author, **_details(c, de={"title": "Offene Daten"}))
    with pytest.raises(RuleViolation):
        proposals.update_consultation(c, actor=author, **_details(c, fr={"title": "x" * 201}))
    proposals.update_consultation(c, actor=author, **_details(c, fr={"title": "  ", "summary": ""}))
    assert c.translations == {}  # nothing but blanks: nothing kept, the original shows


def test_the_demo_s_open_round_has_its_french_title(app):
    from consult.proposals.models import Consultation

    c = db.session.query(Consultation).filter_by(slug="federal-source-code-policy").one_or_none()
    if c is None:
        from consult.demo import load_demo

        load_demo()
        c = db.session.query(Consultation).filter_by(slug="federal-source-code-policy").one()
    assert c.title_in("fr") == "Politique fédérale relative au code source" and c.title_in("es") == "Federal Source Code Policy"
