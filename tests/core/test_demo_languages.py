"""The bilingual demo (issue 18, point 5): the open round is published in English and in French
when the French translation of the draft is shipped beside it, with comments written in French."""

from __future__ import annotations

import re
import shutil

from sqlalchemy import select

from consult import demo
from consult.accounts.models import User
from consult.comments import services as comments
from consult.core.models import db
from consult.proposals import services as proposals
from consult.proposals.importing import import_markdown_files
from consult.proposals.models import Consultation
from tests.factories import explain_changes

ENGLISH = "v1-draft-2016-04"


def open_round() -> Consultation:
    return db.session.scalar(select(Consultation).where(Consultation.slug == "federal-source-code-policy"))


def person(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def with_a_new_first_sentence(files: list[tuple[str, str]], key: str, sentence: str) -> list[tuple[str, str]]:
    """The files with ``sentence`` put before the text of section ``key`` (its heading names the
    key, or gives it: the English ``## 1. Objectives``)."""
    heading = re.compile(rf"^(##+ [^\n]*\{{#{re.escape(key)}\}}[ \t]*|## 1\. Objectives[ \t]*)$", re.MULTILINE)
    changed = [(name, heading.sub(lambda m: f"{m.group(1)}\n\n{sentence}", text, count=1)) for name, text in files]
    assert changed != files, f"no heading of section {key}"
    return changed


def reanchors_a_french_annotation_on_the_french_text(french_folder: str) -> None:
    """Import the demo, annotate the French text, publish a new version in both languages, and
    find the French annotation re-anchored on the French text."""
    assert demo.load_demo()
    c = open_round()
    assert c.languages == ["en", "fr"] and c.current_version.languages == ["en", "fr"]
    author, citizen = person("author@demo.consult.example"), person("citizen2@demo.consult.example")
    v1 = c.current_version
    french_text = v1.section_in("objectives", "fr").text
    quote = " ".join(french_text.split()[3:10])
    annotation = comments.post_comment(
        c, actor=citizen, body="Pourquoi cette formulation ?", section_key="objectives", quote=quote, text_language="fr"
    )
    assert annotation.language == "fr" and " ".join(annotation.anchor.exact.split()) == quote
    assert quote not in v1.section("objectives").text  # the French words, not the English

    english = with_a_new_first_sentence(demo.demo_policy_files(ENGLISH), "objectives", "This sentence is new in version 2.")
    french = with_a_new_first_sentence(demo.demo_policy_files(french_folder), "objectives", "Cette phrase est nouvelle dans la version 2.")
    proposals.import_markdown(c, english, actor=author)
    proposals.import_markdown(c, french, actor=author, language="fr")
    explain_changes(c, author)
    proposals.publish_version(c, actor=author, note="A sentence before the objectives.")
    db.session.flush()

    v2 = c.current_version
    assert v2.number == 2 and v2.languages == ["en", "fr"]
    placed = comments.anchor_on(annotation, v2)
    new_french = v2.section_in("objectives", "fr").text
    assert new_french.startswith("Cette phrase est nouvelle dans la version 2.")
    assert placed.state == "anchored" and placed.section_key == "objectives"
    assert new_french[placed.start : placed.end] == annotation.anchor.exact == placed.exact and placed.start > annotation.anchor.start
    assert [h.contribution_ids for h in comments.highlights_for(v2, None, language="fr")["objectives"]] == [[annotation.id]]
    assert annotation.id not in {i for h in comments.highlights_for(v2, None).get("objectives", []) for i in h.contribution_ids}


def test_the_bilingual_demo_reanchors_a_french_annotation_on_the_french_text(app):
    """Done when (issue 18): fails until the French translation of the draft is shipped in
    consult/demo_data/federal-source-code-policy/v1-draft-2016-04-fr/ (same file names)."""
    folder = demo.POLICY_DIR / demo.TRANSLATIONS["fr"]
    english_names = sorted(p.name for p in (demo.POLICY_DIR / ENGLISH).glob("*.md"))
    assert folder.is_dir(), f"the French translation of the demo's draft is missing: {folder}"
    assert sorted(p.name for p in folder.glob("*.md")) == english_names
    reanchors_a_french_annotation_on_the_french_text(demo.TRANSLATIONS["fr"])


def pseudo_translation(files: list[tuple[str, str]]) -> str:
    """A stand-in for a translation of the draft: each section of the demo's text as one file,
    its heading marked and naming its key, its text after a French sentence; and the comment
    instructions the demo leaves out, as a translation has them."""
    parts = [
        f"{'#' * s.level} {s.heading} (FR) {{#{s.key}}}\n\nTexte traduit pour l'essai : {s.body}" for s in import_markdown_files(files)
    ]
    left_out = (
        "## Modalités {#instructions-for-public-comment}\n\nÉcrivez-nous.\n\n### Notes\n\n" + '<ul><li id="fn1"><sup>1</sup>Note.</li></ul>'
    )
    return "\n\n".join([*parts, left_out]) + "\n"


def test_the_demo_publishes_the_open_round_in_each_language_shipped(app, client, tmp_path, monkeypatch):
    """The plumbing, whatever the translation: a French folder beside the draft's is imported as
    the text in French, published with it, and commented on in French."""
    data = tmp_path / "policy"
    shutil.copytree(demo.POLICY_DIR, data)
    (data / "pseudo-fr").mkdir()
    (data / "pseudo-fr" / "01-index.md").write_text(pseudo_translation(demo.demo_policy_files(ENGLISH)), encoding="utf-8")
    monkeypatch.setattr(demo, "POLICY_DIR", data)
    monkeypatch.setattr(demo, "TRANSLATIONS", {"fr": "pseudo-fr"})

    reanchors_a_french_annotation_on_the_french_text("pseudo-fr")
    c = open_round()
    french_comments = db.session.scalars(
        select(comments.Contribution).where(comments.Contribution.consultation_id == c.id, comments.Contribution.language == "fr")
    ).all()
    bodies = " ".join(x.body for x in french_comments)
    assert len(french_comments) >= 4 and "Le seuil de 20 %" in bodies and "Merci pour cette traduction." in bodies
    annotation = next(x for x in french_comments if x.body.startswith("Le seuil"))
    assert annotation.anchor.section_key == "pilot-program"
    db.session.commit()
    page = client.get("/c/federal-source-code-policy?text=fr&v=1")
    assert page.status_code == 200
    html = client.get("/c/federal-source-code-policy/v/1?text=fr").get_data(as_text=True)
    assert 'lang="fr"' in html and "Pilot Program (FR)" in html and f'data-annotation="{annotation.id}"' in html
    html = client.get("/c/federal-source-code-policy/v/1").get_data(as_text=True)
    assert f'data-annotation="{annotation.id}"' not in html and "Made on the text in French." in html
