"""A consultation's text in several languages (issue 18, point 3): a translation imported per
language and matched with the original by section key, a section missing in a language reported
and publishing refused, readers shown their language with a switch to the others, annotations and
amendments made on one language's text and re-anchored on it, diffs per language, and the open
record carrying every language."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from consult.amendments import services as amendments
from consult.amendments.models import Decision
from consult.comments import services as comments
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.proposals import services as proposals
from consult.proposals.importing import import_markdown_files, split_markdown
from consult.proposals.models import Consultation, Transition
from consult.record import export
from tests.factories import explain_changes, login

EN = """## Purpose

This policy sets out how the council publishes open data.

## Scope

It applies to every department and to contractors working for them.

### Exceptions

Personal data is never published.
"""

FR = """## Objet {#purpose}

Cette politique définit la manière dont le conseil publie les données ouvertes.

## Champ d'application {#scope}

Elle s'applique à chaque service et aux prestataires qui travaillent pour eux.

### Exceptions {#exceptions}

Les données personnelles ne sont jamais publiées.
"""

EN_2 = EN.replace("It applies to every department", "From 2027 it applies to every department")
FR_2 = FR.replace("Elle s'applique à chaque service", "À partir de 2027, elle s'applique à chaque service")


def bilingual(organisation, author, *, publish: bool = True) -> Consultation:
    """An open consultation written in English and translated into French."""
    now = utcnow()
    c = proposals.create_consultation(
        organisation, actor=author, title="Open data", opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30)
    )
    proposals.import_markdown(c, [("policy.md", EN)], actor=author)
    proposals.import_markdown(c, [("politique.md", FR)], actor=author, language="fr")
    if publish:
        proposals.publish_version(c, actor=author)
        proposals.change_state(c, Transition.OPEN, actor=author)
    db.session.flush()
    return c


def publish_second_version(c: Consultation, author, *, en: str = EN_2, fr: str = FR_2) -> None:
    """Version 2 in both languages: the original imported, then its translation."""
    proposals.import_markdown(c, [("policy.md", en)], actor=author)
    proposals.import_markdown(c, [("politique.md", fr)], actor=author, language="fr")
    explain_changes(c, author)
    proposals.publish_version(c, actor=author, note="From 2027.")
    db.session.flush()


def annotate_in_french(c: Consultation, who, quote: str = "chaque service"):
    return comments.post_comment(c, actor=who, body="Lesquels ?", section_key="scope", quote=quote, text_language="fr")


# ---- importing -------------------------------------------------------------------------------


def test_a_heading_names_its_key_at_its_end():
    sections = split_markdown(
        "## Objectifs {#objectives}\n\nTexte.\n\n## Portée {#Pilot_Program}\n\nPlus.\n\n"
        "## Objectives\n\nThe heading's own slug is another heading's key.\n\n## Use {#x} here\n\nNot a key.\n"
    )
    assert [(s.key, s.heading) for s in sections] == [
        ("objectives", "Objectifs"),
        ("pilot-program", "Portée"),
        ("objectives-2", "Objectives"),  # the key a heading names comes first
        ("use-x-here", "Use {#x} here"),  # only at the end of the heading
    ]


def test_a_translations_notes_are_folded_into_its_sections_like_the_originals():
    sections = split_markdown(
        '## Introduction {#introduction}\n\nUn texte<sup id="r1"><a href="#n1">1</a></sup>.\n\n'
        '### Notes de bas de page {#introduction-footnotes}\n\n<ul><li id="n1"><sup>1</sup>Une note.</li></ul>\n'
    )
    assert [s.key for s in sections] == ["introduction"]
    assert "Une note." in sections[0].body


def test_a_translation_is_matched_with_the_original_by_key(organisation, author):
    c = bilingual(organisation, author)
    version = c.current_version
    assert c.languages == ["en", "fr"] and version.languages == ["en", "fr"]
    assert [s.key for s in version.sections] == ["purpose", "scope", "exceptions"]  # one set of sections
    french = version.section_in("scope", "fr")
    assert french.heading == "Champ d'application" and french.key == "scope" and french.level == 2
    assert french.text.strip() == "Elle s'applique à chaque service et aux prestataires qui travaillent pour eux."
    assert version.section("scope").heading == "Scope"  # the original is the sections' own text
    assert version.labels("fr")["exceptions"] == "Exceptions" and version.labels()["scope"] == "Scope"


def test_the_first_text_imported_says_the_original_language(organisation, author):
    c = proposals.create_consultation(organisation, actor=author, title="Données")
    proposals.import_markdown(c, [("politique.md", FR)], actor=author, language="fr")
    assert c.languages == ["fr"] and [s.heading for s in c.draft_version.sections] == ["Objet", "Champ d'application", "Exceptions"]


def test_a_section_the_original_does_not_have_is_refused_with_the_list(organisation, author):
    c = bilingual(organisation, author, publish=False)
    extra = FR + "\n## Annexe {#annex}\n\nUne annexe.\n\n## Définitions\n\nDes mots.\n"
    with pytest.raises(RuleViolation) as refused:
        proposals.import_markdown(c, [("politique.md", extra)], actor=author, language="fr")
    assert "“Annexe” {#annex}" in refused.value.message and "“Définitions” {#definitions}" in refused.value.message
    assert c.draft_version.section("scope").translation("fr").heading == "Champ d'application"  # what was there stays


def test_a_section_missing_in_a_language_is_reported_and_publishing_refused(app, client, organisation, author):
    c = bilingual(organisation, author, publish=False)
    partial = FR.split("### Exceptions", maxsplit=1)[0]
    proposals.import_markdown(c, [("politique.md", partial)], actor=author, language="fr")
    draft = c.draft_version
    assert proposals.missing_translations(draft) == {"fr": ["Exceptions"]}
    with pytest.raises(RuleViolation) as refused:
        proposals.publish_version(c, actor=author)
    assert refused.value.message.startswith("The text in French lacks these sections: Exceptions.")
    assert draft.published_at is None

    db.session.commit()
    login(client, author)
    for page in (f"/c/{c.slug}", f"/c/{c.slug}/text"):  # reported before publishing, where the author works
        html = client.get(page).get_data(as_text=True)
        assert "1 section is missing from the text in French<" in html and "<li>Exceptions</li>" in html
        assert f'action="/c/{c.slug}/text/languages/fr/remove"' in html and "Remove the text in French" in html
    response = client.post(f"/c/{c.slug}/publish", data={"note": ""})
    assert response.status_code == 400 and "Exceptions" in response.get_data(as_text=True)

    proposals.import_markdown(c, [("politique.md", FR)], actor=author, language="fr")
    assert proposals.missing_translations(c.draft_version) == {}
    assert proposals.publish_version(c, actor=author).number == 1


def test_saving_the_original_again_keeps_the_translation_of_each_section_it_still_has(organisation, author):
    c = bilingual(organisation, author, publish=False)
    proposals.import_markdown(c, [("policy.md", EN + "\n## Review\n\nEvery two years.\n")], actor=author)
    draft = c.draft_version
    assert draft.section("scope").translation("fr").heading == "Champ d'application"
    assert proposals.missing_translations(draft) == {"fr": ["Review"]}


def test_a_translation_can_be_taken_off_the_draft_until_a_version_has_it(client, organisation, author):
    c = bilingual(organisation, author, publish=False)
    db.session.commit()
    login(client, author)
    response = client.post(f"/c/{c.slug}/text/languages/fr/remove")
    assert response.status_code == 302
    assert c.languages == ["en"] and c.draft_version.section("scope").translations == []
    proposals.import_markdown(c, [("politique.md", FR)], actor=author, language="fr")
    proposals.publish_version(c, actor=author)
    with pytest.raises(RuleViolation):
        proposals.remove_language(c, "fr", actor=author)


def test_the_import_form_takes_the_language_of_the_files(client, organisation, author):
    c = bilingual(organisation, author, publish=False)
    db.session.commit()
    login(client, author)
    page = client.get(f"/c/{c.slug}/text").get_data(as_text=True)
    assert '<option selected value="en">English</option>' in page or 'value="en" selected' in page
    upload = {"import-files": (io.BytesIO(FR_2.encode()), "politique.md"), "import-language": "fr"}
    response = client.post(f"/c/{c.slug}/text", data=upload, content_type="multipart/form-data")
    assert response.status_code == 302 and "text=fr" in response.headers["Location"]
    assert c.draft_version.section("scope").translation("fr").body.startswith("À partir de 2027")
    assert c.draft_version.section("scope").body.startswith("It applies")  # the original is untouched


# ---- annotations, amendments and re-anchoring -------------------------------------------------


def test_a_french_annotation_is_reanchored_on_the_french_text(organisation, author, citizen):
    """Done when: annotate the French text, publish a new version in both languages, and the
    French annotation is re-anchored on the French text (an English one on the English text)."""
    c = bilingual(organisation, author)
    french = annotate_in_french(c, citizen)
    english = comments.post_comment(c, actor=citizen, body="Which?", section_key="scope", quote="every department")
    v1 = c.current_version
    assert french.language == "fr" and english.language == "en"
    assert (french.anchor.start, french.anchor.exact) == (v1.section_in("scope", "fr").text.index("chaque service"), "chaque service")

    publish_second_version(c, author)
    v2 = c.current_version
    assert v2.number == 2 and v2.languages == ["en", "fr"]
    placed = comments.anchor_on(french, v2)
    french_text = v2.section_in("scope", "fr").text
    assert placed.state == "anchored" and placed.section_key == "scope"
    assert placed.start == french_text.index("chaque service") != french.anchor.start  # moved by the new words before it
    assert french_text[placed.start : placed.end] == "chaque service" == placed.exact
    english_placed = comments.anchor_on(english, v2)
    assert english_placed.state == "anchored" and v2.section("scope").text[english_placed.start : english_placed.end] == "every department"
    # Drawn on the text of its language only; listed on the other's.
    assert [h.contribution_ids for h in comments.highlights_for(v2, None, language="fr")["scope"]] == [[french.id]]
    assert [h.contribution_ids for h in comments.highlights_for(v2, None)["scope"]] == [[english.id]]
    assert comments.annotations_on_other_texts(v2, None, language="en") == {"scope": [french]}


def test_a_french_annotation_whose_words_go_is_orphaned_on_the_french_text(organisation, author, citizen):
    c = bilingual(organisation, author)
    french = annotate_in_french(c, citizen, quote="prestataires qui travaillent pour eux")
    publish_second_version(c, author, fr=FR.replace("et aux prestataires qui travaillent pour eux", "sans exception"))
    assert comments.anchor_on(french, c.current_version).state == "orphaned"
    assert [contribution for _, contribution in comments.orphaned_on(c.current_version, None, language="fr")] == [french]
    assert comments.orphaned_on(c.current_version, None) == []


def test_quoting_words_of_the_other_language_is_refused(organisation, author, citizen):
    c = bilingual(organisation, author)
    with pytest.raises(RuleViolation):
        comments.post_comment(c, actor=citizen, body="?", section_key="scope", quote="every department", text_language="fr")


def test_an_amendment_is_made_on_one_languages_text(client, organisation, author, citizen):
    c = bilingual(organisation, author)
    db.session.commit()
    login(client, citizen)
    form = client.get(f"/c/{c.slug}/s/scope/amend?text=fr").get_data(as_text=True)
    assert "Elle s&#39;applique à chaque service" in form and "Champ d&#39;application" in form
    amendment = amendments.propose_amendment(
        c,
        actor=citizen,
        section_key="scope",
        rationale="Plus clair.",
        quote="chaque service",
        replacement="chaque service public",
        text_language="fr",
    )
    assert amendment.language == "fr" and amendment.amendment.proposed_text.startswith("Elle s'applique à chaque service public")
    inserted = [op.text for op in amendments.redline(amendment) if op.kind == "insert"]
    assert inserted and "public" in " ".join(inserted)  # against the French text, not the English
    db.session.commit()
    page = client.get(f"/c/{c.slug}/amendments/A{amendment.amendment.number}").get_data(as_text=True)
    assert "Made on the text in French." in page and "Champ d&#39;application" in page
    proposals.change_state(c, Transition.CLOSE, actor=author)
    amendments.answer_amendment(amendment.amendment, actor=author, decision=Decision.ACCEPTED, reason="Oui.")
    report = amendments.start_next_version(c, actor=author)
    assert report.applied == [] and [c for c, _why in report.by_hand] == [amendment]
    assert report.by_hand[0][1] == "made on the text in French: write it into that text yourself"


# ---- reading ---------------------------------------------------------------------------------


def reader_tag(html: str) -> str:
    return re.search(r'<div class="reader"[^>]*>', html).group(0)


def text_lang(html: str) -> str:
    """The ``lang`` and ``dir`` the first section's words carry ("" when in the interface's language)."""
    tag = re.search(r'<div class="section-body"[^>]*>', html).group(0)
    found = re.search(r' lang="[^"]+" dir="[^"]+"', tag)
    return found.group(0) if found else ""


def test_the_page_shows_the_readers_language_with_a_switch_to_the_others(app, client, organisation, author, citizen):
    c = bilingual(organisation, author)
    french = annotate_in_french(c, citizen)
    db.session.commit()

    english = client.get(f"/c/{c.slug}").get_data(as_text=True)
    assert reader_tag(english) == '<div class="reader">' and text_lang(english) == ""  # the interface's language: nothing to say
    assert "Champ d&#39;application" not in english and ">Scope<" in english
    assert f'href="/c/{c.slug}?text=fr" lang="fr" hreflang="fr" dir="ltr">Français</a>' in english
    assert 'lang="en" hreflang="en" dir="ltr" aria-current="true">English</a>' in english
    # The French annotation is not drawn on the English words; it is listed, with its language.
    assert f'data-annotation="{french.id}"' not in english
    assert "Made on the text in French." in english and "chaque service" in english

    shown = client.get(f"/c/{c.slug}?text=fr").get_data(as_text=True)
    assert reader_tag(shown) == '<div class="reader" data-text-language="fr">' and text_lang(shown) == ' lang="fr" dir="ltr"'
    assert "Champ d&#39;application" in shown and f'data-annotation="{french.id}"' in shown
    assert f"/c/{c.slug}/s/scope?text=fr" in shown  # the section's page shows the same text

    in_french = client.get(f"/c/{c.slug}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Champ d&#39;application" in in_french  # the interface's language, when the text has it
    assert reader_tag(in_french) == '<div class="reader" data-text-language="fr">' and text_lang(in_french) == ""
    original = client.get(f"/c/{c.slug}?text=en", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert text_lang(original) == ' lang="en" dir="ltr"' and ">Scope<" in original
    assert '<span lang="en" dir="ltr">Scope</span>' in original  # the heading's words, not its tags

    unknown = client.get(f"/c/{c.slug}?text=de").get_data(as_text=True)
    assert ">Scope<" in unknown  # a language the text is not in: the original


def test_a_text_in_one_language_has_no_switch(client, organisation, author):
    c = bilingual(organisation, author, publish=False)
    proposals.remove_language(c, "fr", actor=author)
    proposals.publish_version(c, actor=author)
    proposals.change_state(c, Transition.OPEN, actor=author)
    db.session.commit()
    html = client.get(f"/c/{c.slug}?text=fr").get_data(as_text=True)
    assert "text-languages" not in html and reader_tag(html) == '<div class="reader">'


def test_the_section_page_shows_the_chosen_text_and_annotates_it(client, organisation, author, citizen):
    c = bilingual(organisation, author)
    db.session.commit()
    html = client.get(f"/c/{c.slug}/s/scope?text=fr").get_data(as_text=True)
    assert "chaque service" in html and '<div class="policy-text" lang="fr" dir="ltr">' in html
    login(client, citizen)
    html = client.get(f"/c/{c.slug}/s/scope?text=fr&quote=chaque+service").get_data(as_text=True)
    assert 'name="text_language" type="hidden" value="fr"' in html
    response = client.post(
        f"/c/{c.slug}/comments",
        data={"section_key": "scope", "quote": "chaque service", "text_language": "fr", "body": "Lesquels ?"},
    )
    assert response.status_code == 302
    posted = db.session.scalars(db.select(comments.Contribution).where(comments.Contribution.body == "Lesquels ?")).one()
    assert posted.language == "fr" and posted.anchor.exact == "chaque service"


def test_the_diff_compares_the_texts_in_one_language(client, organisation, author):
    c = bilingual(organisation, author)
    publish_second_version(c, author)
    db.session.commit()
    french = {d.key: d for d in proposals.diff_versions(c.version(1), c.version(2), language="fr")}
    assert french["scope"].status == "changed" and any("2027" in op.text for op in french["scope"].text_ops if op.kind == "insert")
    assert french["scope"].label == "Champ d'application"

    html = client.get(f"/c/{c.slug}/diff?text=fr").get_data(as_text=True)
    assert '<div class="diff-texts" lang="fr" dir="ltr">' in html and "partir de" in html and "From 2027 it" not in html
    assert 'name="text" value="fr"' in html  # comparing other versions keeps the language
    html = client.get(f"/c/{c.slug}/diff").get_data(as_text=True)
    assert '<div class="diff-texts">' in html and "From 2027 it" in html and "partir de" not in html


# ---- the open record -------------------------------------------------------------------------


def test_the_record_carries_every_language(app, tmp_path, organisation, author, citizen):
    from tests.record.test_record import schema_errors

    c = bilingual(organisation, author)
    french = annotate_in_french(c, citizen)
    publish_second_version(c, author)
    with app.test_request_context(base_url="http://consult.test"):
        files = export.write_folder(c, tmp_path / "record")
    assert {"versions/1.fr.md", "versions/2.fr.md", "diffs/1-2.fr.md", "section_texts.csv"} <= set(files)
    doc = json.loads((tmp_path / "record" / "record.json").read_text(encoding="utf-8"))
    assert schema_errors(doc) == []
    assert doc["consultation"]["languages"] == ["en", "fr"]
    assert doc["versions"][0]["translations"] == [{"language": "fr", "file": "versions/1.fr.md"}]
    texts = {(row["version"], row["key"]): row for row in doc["section_texts"]}
    assert len(texts) == 6 and texts[(2, "scope")]["heading"] == "Champ d'application" and texts[(2, "scope")]["language"] == "fr"
    assert texts[(2, "scope")]["url"] == f"http://consult.test/c/{c.slug}/v/2?text=fr#s-scope"
    row = next(r for r in doc["contributions"] if r["id"] == french.id)
    assert row["language"] == "fr"
    placed = next(a for a in row["anchors"] if a["version"] == 2)
    assert texts[(2, "scope")]["text"][placed["start"] : placed["end"]] == "chaque service"
    # The text in French imports back as it was.
    again = import_markdown_files([("2.fr.md", (tmp_path / "record" / "versions" / "2.fr.md").read_text(encoding="utf-8"))])
    assert [(s.key, s.heading, s.body) for s in again] == [(s.key, s.heading, s.body) for s in c.version(2).sections_in("fr")]
    assert "{--Elle--}{++À partir de 2027, elle++}" in (tmp_path / "record" / "diffs" / "1-2.fr.md").read_text(encoding="utf-8")
    annotations = json.loads((tmp_path / "record" / "annotations.jsonld").read_text(encoding="utf-8"))
    target = next(a for a in annotations["first"]["items"] if a["id"].endswith(f"/comments/{french.id}"))["target"]
    assert target["source"] == f"http://consult.test/c/{c.slug}/v/1?text=fr"


def test_a_published_versions_section_is_read_alone_with_its_translation(organisation, author):
    consultation_id = bilingual(organisation, author).id
    db.session.commit()
    db.session.expunge_all()  # as a new request finds it: nothing loaded
    version = db.session.scalar(select(Consultation).where(Consultation.id == consultation_id)).current_version
    scope = version.section("scope")
    assert scope.heading == "Scope" and scope.in_language("fr").heading == "Champ d'application"
    assert version.section("nowhere") is None
    assert version.languages == ["en", "fr"]
    assert "sections" not in version.__dict__  # one section read, not every section's text
    assert version.section("scope") is scope and [s.key for s in version.sections] == ["purpose", "scope", "exceptions"]
