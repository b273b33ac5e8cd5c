"""Importing Markdown into sections, on the real Federal Source Code Policy and small cases."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from consult.core.text import render_markdown
from consult.proposals.importing import (
    ImportedSection,
    heading_slug,
    import_markdown_files,
    parse_markdown_document,
    split_markdown,
    strip_numbering,
)
from tests.core.test_text import assert_lists_well_formed, item_texts, outline

POLICY = Path(__file__).resolve().parents[2] / "consult" / "demo_data" / "federal-source-code-policy"
V1 = "v1-draft-2016-04"
V2 = "v2-final-2016-08"
KEY_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Counted independently of the importer: an ATX heading line (the files have no code fences).
HEADING_LINE_RE = re.compile(r"^(#{1,6})(?:[ \t]|$)(.*)$", re.MULTILINE)


def policy_files(version: str) -> list[tuple[str, str]]:
    return sorted((path.name, path.read_text(encoding="utf-8")) for path in (POLICY / version).glob("*.md"))


def heading_levels(files: list[tuple[str, str]], *, notes: bool = True) -> list[int]:
    """The level of every heading line; without ``notes``, of those that are not "Footnotes"."""
    return [
        len(m[1]) for _, text in files for m in HEADING_LINE_RE.finditer(text.replace("\r\n", "\n")) if notes or m[2].strip() != "Footnotes"
    ]


@pytest.fixture(scope="module")
def v1() -> list[ImportedSection]:
    return import_markdown_files(policy_files(V1))


@pytest.fixture(scope="module")
def v2() -> list[ImportedSection]:
    return import_markdown_files(policy_files(V2))


# --- the real policy -------------------------------------------------------------


@pytest.mark.parametrize(("version", "file_count", "heading_count", "notes_count"), [(V1, 10, 21, 8), (V2, 9, 28, 8)])
def test_one_section_per_heading(version: str, file_count: int, heading_count: int, notes_count: int) -> None:
    files = policy_files(version)
    assert len(files) == file_count
    assert not any("```" in text or "~~~" in text for _, text in files)
    assert len(heading_levels(files)) == heading_count  # grep -cE '^#{1,6} ' gives the same
    levels = heading_levels(files, notes=False)
    assert len(levels) == heading_count - notes_count
    sections = import_markdown_files(files)
    # A section per heading, except the "Footnotes" headings: their notes go with the text citing them.
    assert [s.level for s in sections] == levels
    assert not any(s.heading == "Footnotes" for s in sections)
    # Every file starts with its heading right after the front matter: no preamble section.
    assert not any(s.heading == "Preamble" or s.heading.startswith("Federal Source Code Policy") for s in sections)


@pytest.mark.parametrize("version", [V1, V2])
def test_front_matter_never_leaks(version: str) -> None:
    for section in import_markdown_files(policy_files(version)):
        assert "layout: page" not in section.body
        assert "permalink:" not in section.body
        assert not section.body.startswith("---")
        assert section.body == section.body.strip("\n") and not section.body.endswith(" ")
        assert "\r" not in section.body  # 01-index.md of v1 has CRLF line endings


@pytest.mark.parametrize("version", [V1, V2])
def test_keys_unique_and_well_formed(version: str) -> None:
    keys = [s.key for s in import_markdown_files(policy_files(version))]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert KEY_RE.match(key), key
        assert len(key) <= 60


def test_known_keys_v1(v1: list[ImportedSection]) -> None:
    by_key = {s.key: s for s in v1}
    assert by_key["objectives"].heading == "1. Objectives"
    assert by_key["scope-and-applicability"].heading == "2. Scope and Applicability"
    assert by_key["pilot-program"].heading == "5.1 Pilot Program"
    assert by_key["pilot-program"].level == 3
    assert by_key["appendix-a-definitions"].heading == "Appendix A: Definitions"
    assert "appendix-b-software-procurement-analysis" in by_key
    assert by_key["objectives"].body.startswith("This policy will accomplish the following objectives:")
    # No "### Footnotes" section: each note ends the section that cites it.
    assert not [s.key for s in v1 if s.key.endswith("-footnotes") or s.heading == "Footnotes"]
    assert 'id="objectives-fn14"' in by_key["objectives"].body


def test_known_keys_v2(v2: list[ImportedSection]) -> None:
    by_key = {s.key: s for s in v2}
    for key in (
        "objectives",
        "scope-and-applicability",
        "exceptions-to-government-code-reuse",
        "appendix-a-definitions",
        "code-gov",
        "accountability-mechanisms",
    ):
        assert key in by_key
    # Lettered sub-headings lose their letter; the long heading is cut at a word boundary.
    assert by_key["secure-rights-for-government-reuse-and-ensure-delivery-of"].heading == (
        "A. Secure Rights for Government Reuse and Ensure Delivery of Source Code"
    )
    assert "pilot-program-publication-of-custom-developed-code-as-oss" in by_key
    # The notes of a page go to the sections citing them, also below another heading: section 5's
    # notes block follows 5.2, but note 29 is cited in 5.1.
    assert not [s for s in v2 if s.heading == "Footnotes"]
    assert '<li id="oss-fn29" value="29">' in by_key["pilot-program-publication-of-custom-developed-code-as-oss"].body
    assert "oss-fn29" not in by_key["participation-in-the-open-source-community"].body


def test_heading_with_inline_html_is_readable(v2: list[ImportedSection]) -> None:
    first = v2[0]
    assert first.heading == "M-16-21 MEMORANDUM FOR THE HEADS OF DEPARTMENTS AND AGENCIES"
    assert first.key == "m-16-21-memorandum-for-the-heads-of-departments-and-agencies"
    # The <h3> blocks below it are body, not sections (only ATX headings split).
    assert first.body.startswith("<h3> FROM: <br/>Tony Scott")


def _ids_and_links(sections: list[ImportedSection]) -> tuple[list[str], list[str]]:
    text = "\n".join(s.body for s in sections)
    return re.findall(r'\sid="([^"]*)"', text), re.findall(r'href="#([^"]*)"', text)


# The raw pages clash in v1 only: its 01-index.md and 02-introduction.md both number their
# footnotes from 1, while the other pages (and all of v2) continue the numbering.
@pytest.mark.parametrize(
    ("version", "raw_clashes"),
    [(V1, {"fn1", "fn2", "fn3", "fnr1", "fnr2", "fnr3"}), (V2, set())],
)
def test_footnote_ids_unique_and_links_resolve(version: str, raw_clashes: set[str]) -> None:
    files = policy_files(version)
    raw_ids = re.findall(r'\sid="([^"]*)"', "\n".join(text for _, text in files))
    assert {i for i, n in Counter(raw_ids).items() if n > 1} == raw_clashes

    sections = import_markdown_files(files)
    ids, links = _ids_and_links(sections)
    assert len(ids) == len(raw_ids)
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert links and set(links) <= set(ids)
    # Rendered, every note is there once, in a list named "Footnotes", with its own number.
    rendered = "\n".join(str(render_markdown(s.body)) for s in sections)
    notes = re.findall(r'<li id="p-[a-z-]+-fn(\d+)" value="(\d+)">', rendered)
    assert len(notes) == len([i for i in raw_ids if re.fullmatch(r"fn\d+", i)])
    assert all(a == b for a, b in notes)


def test_footnotes_end_the_section_citing_them(v1: list[ImportedSection]) -> None:
    """The "Footnotes" blocks are no sections: each note ends the section citing it (ids prefixed by
    file name, so two pages' "fn1" never meet), its marker and its way back named in words."""
    by_key = {s.key: s for s in v1}
    introduction = by_key["introduction"].body
    assert '<sup id="introduction-fnr1"><a href="#introduction-fn1" aria-label="Footnote 1">1</a></sup>' in introduction
    assert '<li id="introduction-fn1" value="1">' in introduction
    assert '<a href="#introduction-fnr1" aria-label="Back to the text of footnote 1">↩</a></li>' in introduction
    assert 'id="appendixa-fn48"' in by_key["appendix-a-definitions"].body  # "09-Appendixa.md"
    # 01-index.md's notes are cited in its first section.
    first = by_key["introduction-for-public-comment"].body
    assert 'id="index-fn1"' in first and 'id="index-fn2"' in first
    html = str(render_markdown(first))
    assert 'aria-label="Footnote 1"' in html and 'aria-label="Back to the text of footnote 1"' in html
    assert '<section aria-label="Footnotes">' in html


def test_a_notes_block_of_anything_else_stays_a_section() -> None:
    text = '## Page\nText<sup id="fnr1"><a href="#fn1">1</a></sup>\n### Footnotes\nSee the annex.\n'
    assert [s.heading for s in split_markdown(text)] == ["Page", "Footnotes"]


def test_a_document_opening_with_its_title_starts_with_its_first_section() -> None:
    assert [s.heading for s in split_markdown("# Open data policy\n\n## 1. Scope\n\nText\n\n## 2. Terms\n\nMore\n")] == [
        "1. Scope",
        "2. Terms",
    ]
    # Not a title: one of several level-1 headings, or a heading with text under it.
    assert [s.heading for s in split_markdown("# Part A\n\n## One\n\nx\n\n# Part B\n\ny\n")] == ["Part A", "One", "Part B"]
    assert [s.heading for s in split_markdown("# Policy\n\nIntro\n\n## One\n\nx\n")] == ["Policy", "One"]


# The policy's raw HTML, rendered: what a reader and a screen reader get.


@pytest.mark.parametrize("version", [V1, V2])
def test_rendered_policy_has_no_code_blocks_and_well_formed_lists(version: str) -> None:
    sections = import_markdown_files(policy_files(version))
    rendered = [str(render_markdown(section.body)) for section in sections]
    whole = "\n".join(rendered)
    # The policy has no code: indented raw HTML must not turn into a code block.
    assert "<pre" not in whole and "<code" not in whole
    assert "&lt;li" not in whole and "&lt;/li" not in whole and "&lt;ul" not in whole
    for section, html in zip(sections, rendered, strict=True):
        result = assert_lists_well_formed(html)  # every <li> in a list, every list child an <li>
        visible = "".join(item["text"] for item in result.items)
        assert "<li" not in visible and "</li" not in visible, section.key
    # No body line is left where CommonMark would read it as indented code.
    for section in sections:
        assert not re.search(r"^(?: {4,}|[ ]*\t)<", section.body, re.MULTILINE), section.key


def test_considerations_render_as_nested_list_items(v1: list[ImportedSection]) -> None:
    [section] = [s for s in v1 if s.key == "introduction-for-public-comment"]
    result = outline(render_markdown(section.body))
    texts = item_texts(result)
    pilot = next(i for i, t in enumerate(texts) if t.startswith("To what extent is the proposed pilot"))
    by_default = next(i for i, t in enumerate(texts) if '"open source by default" approach' in t)
    percentage = next(i for i, t in enumerate(texts) if t.startswith("Would a different minimum percentage"))
    alternative = texts.index("Is there an alternative approach that OMB should consider?")
    # The three sub-questions are items of a list inside the first question, in order.
    assert pilot < percentage < by_default < alternative
    for index in (percentage, by_default, alternative):
        assert result.items[index]["in_item"] == pilot
        assert result.items[index]["list"] == "ul"
    # Seven top-level questions, all in the same list.
    top = [
        t
        for t, item in zip(texts, result.items, strict=True)
        if item["in_item"] is None and "-fn" not in (item["attrs"].get("id") or "")  # not its footnotes
    ]
    assert len(top) == 7
    assert top[0].startswith("To what extent") and top[-1].startswith("How can the policy achieve")


def test_documentation_sub_list_and_appendix_footnotes(v1: list[ImportedSection]) -> None:
    by_key = {s.key: s for s in v1}
    oss = outline(render_markdown(by_key["membership-in-the-open-source-community"].body))
    texts = item_texts(oss)
    documentation = next(i for i, t in enumerate(texts) if t.startswith("Documentation"))
    readme = [t for t, item in zip(texts, oss.items, strict=True) if item["in_item"] == documentation]
    assert len(readme) == 5
    assert readme[0].startswith("The status of the software") and readme[3] == "License details; and"

    appendix = render_markdown(by_key["appendix-a-definitions"].body)
    assert re.findall(r'<li id="p-appendixa-fn(\d+)" value="\1">', str(appendix)) == ["48", "49", "50", "51"]
    assert_lists_well_formed(appendix)


# --- small documents -------------------------------------------------------------


def test_front_matter_with_crlf_and_bom() -> None:
    text = "\ufeff---\r\nlayout: page\r\ntitle: Hello\r\nredirect_from:\r\n  - /x/\r\n---\r\n\r\n## One\r\n\r\nText\r\nmore\r\n"
    assert parse_markdown_document(text) == [ImportedSection("one", "One", 2, "Text\nmore")]


def test_front_matter_title_names_the_preamble() -> None:
    text = '---\nlayout: page\ntitle: "Draft Policy | Intro"\n---\n\nOpening words.\n\n## 1. First\n\nBody.\n'
    sections = parse_markdown_document(text)
    assert sections[0] == ImportedSection("draft-policy-intro", "Draft Policy | Intro", 1, "Opening words.")
    assert sections[1] == ImportedSection("first", "1. First", 2, "Body.")


def test_text_before_first_heading() -> None:
    sections = split_markdown("Some words first.\n\n# Title\n\nText")
    assert [(s.key, s.heading, s.body) for s in sections] == [
        ("preamble", "Preamble", "Some words first."),
        ("title", "Title", "Text"),
    ]
    # A blank preamble (or just front matter) makes no section.
    assert [s.key for s in split_markdown("\n\n  \n## Only\nx")] == ["only"]
    assert [s.key for s in split_markdown("---\ntitle: T\n---\n\n## Only\nx")] == ["only"]


def test_leading_rule_that_is_not_front_matter_is_kept() -> None:
    text = "---\nThis is prose between two rules.\n---\n\n## Next\n"
    sections = split_markdown(text)
    assert sections[0].heading == "Preamble"
    assert sections[0].body == "---\nThis is prose between two rules.\n---"


def test_headings_in_fenced_code_are_not_split() -> None:
    text = (
        "## Real\n\n```bash\n# a shell comment\n## still code\n```\n\n"
        "~~~~\n# tilde fence\n~~~\n# still inside: the closing fence is too short\n~~~~\n\n"
        "    # indented code, not a heading\n\n## Second\ntext\n"
    )
    sections = split_markdown(text)
    assert [s.heading for s in sections] == ["Real", "Second"]
    assert "# a shell comment" in sections[0].body
    assert "# still inside" in sections[0].body


def test_indented_html_block_tags_are_dedented() -> None:
    text = (
        "## Q\n\n<ul>\n  <li>Top</li>\n\n  <ul>\n\n    <li>Sub one</li>\n\n\t<li id=\"x\">Sub two</li>\n"
        "      </ul>\n\n</ul>\n\n    <div>\n\n        <P>para</P>\n"
    )
    [section] = split_markdown(text)
    assert section.body == (
        "<ul>\n  <li>Top</li>\n\n  <ul>\n\n<li>Sub one</li>\n\n<li id=\"x\">Sub two</li>\n</ul>\n\n</ul>\n\n<div>\n\n<P>para</P>"
    )


def test_other_indented_lines_are_kept() -> None:
    text = (
        "## Code\n\n    plain indented code\n    <link rel=x>\n    <pre>x</pre>\n    <list>\n\n"
        "   <li>three spaces: already HTML</li>\n\n"
        "```html\n    <li>in a fence</li>\n```\n"
    )
    [section] = split_markdown(text)
    assert section.body == text.removeprefix("## Code\n\n").rstrip()


def test_not_headings() -> None:
    sections = split_markdown("#hashtag is not a heading\n####### seven hashes neither\n\\# escaped\n")
    assert len(sections) == 1 and sections[0].key == "preamble"


def test_heading_text_is_readable() -> None:
    sections = split_markdown(
        "## M-16-21<br/>MEMORANDUM FOR THE HEADS &amp; AGENCIES ##\n"
        "### The **new** [rules](https://example.org) `code`\n"
        "#### Spaces   and\ttabs #5 ###\n"
    )
    assert [s.heading for s in sections] == [
        "M-16-21 MEMORANDUM FOR THE HEADS & AGENCIES",
        "The new rules code",
        "Spaces and tabs #5",
    ]
    assert [s.level for s in sections] == [2, 3, 4]


def test_duplicate_headings_get_numbered() -> None:
    keys = [s.key for s in split_markdown("## Notes\na\n## Notes\nb\n## Notes\nc\n")]
    assert keys == ["notes", "notes-2", "notes-3"]


def test_repeated_sub_headings_take_parent_key() -> None:
    text = "## 1. Scope\n### Footnotes\n### Examples\n### Examples\n## 2. Scope\n### Footnotes\n"
    keys = [s.key for s in split_markdown(text)]
    assert keys == ["scope", "scope-footnotes", "scope-examples", "scope-examples-2", "scope-2", "scope-2-footnotes"]


def test_generated_suffix_does_not_steal_a_real_heading() -> None:
    keys = [s.key for s in split_markdown("## Notes\n## Notes\n## Notes 2\n")]
    assert keys == ["notes", "notes-3", "notes-2"]


@pytest.mark.parametrize(
    ("heading", "key"),
    [
        ("1. Objectives", "objectives"),
        ("5.1 Pilot Program", "pilot-program"),
        ("6.  Exceptions to Government Code Reuse", "exceptions-to-government-code-reuse"),
        ("A. Secure Rights", "secure-rights"),
        ("IV. Roman", "roman"),
        ("(b) Lettered", "lettered"),
        ("Appendix A: Definitions", "appendix-a-definitions"),
        ("2016 Annual Report", "2016-annual-report"),
        ("3D Printing", "3d-printing"),
        ("Élan vital à la française, Straße", "elan-vital-a-la-francaise-strasse"),
        ("The Agency’s role — and yours", "the-agencys-role-and-yours"),
        ("Code.gov", "code-gov"),
        ("", "section"),
        ("¿?", "section"),
        ("日本語", "section"),
    ],
)
def test_heading_slug(heading: str, key: str) -> None:
    assert heading_slug(heading) == key


def test_long_keys_cut_at_word_boundary() -> None:
    heading = "A very long heading that goes on and on well past the sixty character limit for keys"
    [section] = split_markdown(f"## {heading}\n")
    assert section.key == "a-very-long-heading-that-goes-on-and-on-well-past-the-sixty"
    assert len(section.key) <= 60
    assert section.heading == heading  # only the key is shortened


def test_strip_numbering_keeps_plain_headings() -> None:
    assert strip_numbering("3. Foo") == "Foo"
    assert strip_numbering("Foo") == "Foo"
    assert strip_numbering("42") == "42"


def test_anchors_rewritten_with_source_name() -> None:
    text = (
        "---\ntitle: T\n---\n## Intro\n"
        'Claim.<sup id="fnr1"><a href="#fn1">1</a></sup> See [note](#fn1), [site](https://x.org/#top).\n'
        "`<a href=\"#fn1\">` stays as written in code.\n"
        '```html\n<li id="fn1">code</li>\n```\n'
        '<li id=\'fn1\'>Note <a href="#fnr1">&#8617;</a></li>\n'
    )
    [section] = parse_markdown_document(text, source_name="v1/02-introduction.md")
    assert '<sup id="introduction-fnr1"><a href="#introduction-fn1">1</a></sup>' in section.body
    assert "[note](#introduction-fn1)" in section.body
    assert "(https://x.org/#top)" in section.body
    assert '`<a href="#fn1">`' in section.body
    assert '<li id="fn1">code</li>' in section.body
    assert "<li id='introduction-fn1'>" in section.body
    assert 'href="#introduction-fnr1"' in section.body


def test_no_anchor_rewriting_without_source_name() -> None:
    text = '## A\n<sup id="fnr1"><a href="#fn1">1</a></sup>\n'
    assert split_markdown(text)[0].body == '<sup id="fnr1"><a href="#fn1">1</a></sup>'
    assert parse_markdown_document(text)[0].body == '<sup id="fnr1"><a href="#fn1">1</a></sup>'


def test_files_with_the_same_name_get_distinct_anchor_prefixes() -> None:
    page = '## Page\n<sup id="fnr1"><a href="#fn1">1</a></sup>\n### Footnotes\n<li id="fn1">x</li>\n'
    sections = import_markdown_files([("a/01-notes.md", page), ("b/01-notes.md", page)])
    ids, links = _ids_and_links(sections)
    assert ids == ["notes-fnr1", "notes-fn1", "notes-2-fnr1", "notes-2-fn1"]
    assert set(links) <= set(ids)
    assert [s.key for s in sections] == ["page", "page-footnotes", "page-2", "page-2-footnotes"]


def test_anchor_prefix_starts_with_a_letter() -> None:
    [section] = parse_markdown_document('## X\n<b id="a">x</b>', source_name="01-3d-printing.md")
    assert 'id="s3d-printing-a"' in section.body


def test_split_markdown_is_import_of_one_unnamed_file() -> None:
    text = "Intro\n## 1. A\nx\n### Notes\n## 2. B\n### Notes\n"
    assert split_markdown(text) == import_markdown_files([("", text)])
    assert [s.key for s in split_markdown(text)] == ["preamble", "a", "a-notes", "b", "b-notes"]


def test_headings_are_read_as_the_renderer_reads_them() -> None:
    text = (
        "## Real\n\n- item\n\n  # a heading inside the item\n\n> # quoted\n\nSetext\n======\n\n"
        "- ```\n  # a shell comment in a fenced list item\n  ```\n\n"
        "</div>\n## After HTML\n<div>\n### Inside an HTML block\ntext\n"
    )
    sections = split_markdown(text)
    assert [(s.heading, s.level) for s in sections] == [("Real", 2), ("After HTML", 2), ("Inside an HTML block", 3)]
    assert "# a heading inside the item" in sections[0].body and "# a shell comment" in sections[0].body
    assert sections[0].body.endswith("</div>") and sections[1].body == "<div>" and sections[2].body == "text"


def test_code_in_a_list_item_keeps_its_anchors_and_indentation() -> None:
    text = '## A\n- ```html\n  <li id="fn1">code</li>\n      <li>deep</li>\n  ```\n<b id="x">x</b>\n'
    [section] = parse_markdown_document(text, source_name="01-notes.md")
    assert '<li id="fn1">code</li>\n      <li>deep</li>' in section.body
    assert '<b id="notes-x">' in section.body


def test_front_matter_closed_by_a_longer_rule_is_not_front_matter() -> None:
    assert split_markdown("---\ntitle: T\n-----\n\n## A\n")[0].heading == "Preamble"
    assert split_markdown("---\ntitle: T\n...\n\n## A\n")[0].heading == "A"
