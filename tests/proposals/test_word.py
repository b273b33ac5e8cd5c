"""Word documents: a .docx becomes the sections its Markdown would (keys, headings, text), and
the author hears what was not carried over."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from consult.core.text import plain_text
from consult.proposals import word
from consult.proposals.importing import import_markdown_files, split_markdown
from tests.proposals.docx_fixture import markdown_files_to_docx

POLICY = Path("/work/shared/data/policies/federal-source-code-policy")
DEMO_POLICY = Path(__file__).resolve().parents[2] / "consult" / "demo_data" / "federal-source-code-policy"


def policy_folder(version: str) -> Path:
    for root in (DEMO_POLICY, POLICY):
        found = sorted(root.glob(f"{version}*"))
        if found:
            return found[0]
    pytest.fail(f"no {version} folder of the Federal Source Code Policy")


def markdown_files(version: str) -> list[tuple[str, str]]:
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(policy_folder(version).glob("*.md"))]


def words(markdown: str) -> str:
    return " ".join(plain_text(markdown).split())


# The policy has no table; a page of its history is added to both sides, so a Word table is read too.
HISTORY = (
    "99-history.md",
    "## History of this policy\n\n| Version | Published |\n| --- | --- |\n| Draft for comment | March 2016 |\n| **M-16-21** | August 8, 2016 |\n",
)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_word_document_of_the_policy_gives_the_sections_of_its_markdown(version):
    files = [*markdown_files(version), HISTORY]
    expected = import_markdown_files(files)
    docx = markdown_files_to_docx(files)
    document_xml = zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode()
    assert "<w:tbl>" in document_xml and 'w:val="ListBullet"' in document_xml and 'w:val="Heading2"' in document_xml
    converted = word.read_word_document(io.BytesIO(docx), store_image=lambda image: None)
    got = split_markdown(converted.markdown)
    assert len(expected) > 10  # the policy's sections, its notes no longer sections of their own
    assert [(s.key, s.heading, s.level) for s in got] == [(s.key, s.heading, s.level) for s in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert words(mine.body) == words(theirs.body), mine.key
    assert "| Draft for comment | March 2016 |" in got[-1].body  # the Word table, as a Markdown table
    assert converted.notes == []


def test_lists_tables_links_and_emphasis_are_written_as_markdown():
    files = [
        (
            "",
            "## Rules\n\nRead *this* and **that**, see [the code](https://code.gov).\n\n- one\n- two\n\n1. first\n2. second\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n",
        )
    ]
    markdown = word.read_word_document(io.BytesIO(markdown_files_to_docx(files)), store_image=lambda image: None).markdown
    assert "## Rules" in markdown
    assert "*this*" in markdown and "**that**" in markdown and "[the code](https://code.gov)" in markdown
    assert "- one\n- two" in markdown and "1. first\n2. second" in markdown
    assert "| a | b |\n| --- | --- |\n| 1 | 2 |" in markdown


def test_footnotes_keep_their_links():
    html = (
        '<h2>Scope</h2><p>Text<sup><a href="#footnote-1" id="footnote-ref-1">[1]</a></sup>.</p>'
        '<ol><li id="footnote-1"><p>The note. <a href="#footnote-ref-1">↑</a></p></li></ol>'
    )
    [section] = split_markdown(word.html_to_markdown(html))
    assert '<sup><a href="#footnote-1" id="footnote-ref-1">[1]</a></sup>' in section.body
    assert '<li id="footnote-1">' in section.body
    from consult.core.text import render_markdown

    rendered = str(render_markdown(section.body))
    assert 'href="#p-footnote-1"' in rendered and 'id="p-footnote-1"' in rendered


def _with_part(docx: bytes, name: str, content: str, *, replace: tuple[str, str] | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if replace and item.filename == "word/document.xml":
                data = data.decode().replace(*replace, 1).encode()
            target.writestr(item, data)
        if name:
            target.writestr(name, content)
    return out.getvalue()


def test_tracked_changes_comments_and_text_boxes_are_reported():
    docx = markdown_files_to_docx([("", "## Scope\n\nKept words.\n")])
    tracked = (
        '<w:ins w:id="1" w:author="A" w:date="2026-01-01T00:00:00Z"><w:r><w:t>Inserted</w:t></w:r></w:ins>'
        '<w:del w:id="2" w:author="A" w:date="2026-01-01T00:00:00Z"><w:r><w:delText>Deleted</w:delText></w:r></w:del>'
    )
    docx = _with_part(docx, "word/comments.xml", '<w:comments xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:comment w:id="0"/></w:comments>',
                      replace=("<w:t>Kept words.</w:t></w:r>", "<w:t>Kept words.</w:t></w:r>" + tracked))  # fmt: skip
    converted = word.read_word_document(io.BytesIO(docx), store_image=lambda image: None)
    notes = " ".join(converted.notes)
    assert "1 tracked insertion: imported as if accepted" in notes
    assert "1 tracked deletion: the deleted text is left out" in notes
    assert "1 comment in the margin: left out" in notes
    assert "Inserted" in converted.markdown and "Deleted" not in converted.markdown


def test_what_is_not_a_word_document_is_refused():
    for data in (b"not a zip", _zip_with("content.xml", "<office:document/>")):
        with pytest.raises(word.NotWordDocument):
            word.read_word_document(io.BytesIO(data), store_image=lambda image: None)


def _zip_with(name: str, content: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr(name, content)
    return out.getvalue()


def test_the_editor_converts_a_word_document_keeps_its_image_and_saves_it_as_the_draft(client, draft_consultation, author):
    from sqlalchemy import select

    from consult.attachments.models import Attachment
    from consult.core.models import db
    from tests.attachments.conftest import png_bytes
    from tests.factories import login

    login(client, author)
    docx = markdown_files_to_docx([("", "## Purpose\n\nWhy we do this.\n\n## Scope\n\n- agencies\n- vendors\n")], image=png_bytes())
    answer = client.post(
        f"/c/{draft_consultation.slug}/text",
        data={"word-document": (io.BytesIO(docx), "Draft policy.docx")},
        content_type="multipart/form-data",
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "The Word document is converted" in page
    [image] = db.session.scalars(select(Attachment).where(Attachment.consultation_id == draft_consultation.id)).all()
    assert image.kind == "image" and image.name == "image-1.png"
    assert f"![]({image.path})" in page  # in the form, for the author to save
    assert '<h3 id="preview-1">Purpose</h3>' in page and '<h3 id="preview-2">Scope</h3>' in page
    assert f'<img src="{image.path}"' in page  # the preview shows it
    saved = client.post(f"/c/{draft_consultation.slug}/text", data={"write-source": split_source(page)})
    assert saved.status_code == 302
    assert [s.key for s in draft_consultation.draft_version.sections] == ["purpose", "scope"]
    assert client.get(image.path).status_code == 200


def split_source(page: str) -> str:
    import html
    import re

    return html.unescape(re.search(r'<textarea[^>]*name="write-source"[^>]*>\n?(.*?)</textarea>', page, re.DOTALL).group(1))


@pytest.mark.parametrize(
    "filename, data, message",
    [
        ("policy.odt", b"PK\x03\x04", "save it as .docx"),
        ("policy.docx", b"<html>not a document</html>", "is not a Word document Consult can read"),
    ],
)
def test_an_odt_or_a_broken_document_is_refused_with_what_to_do(client, draft_consultation, author, filename, data, message):
    from tests.factories import login

    login(client, author)
    answer = client.post(
        f"/c/{draft_consultation.slug}/text", data={"word-document": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )
    assert answer.status_code == 400 and message in answer.get_data(as_text=True)
