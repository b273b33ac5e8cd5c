"""Turn Markdown documents into the sections of a proposal version.

A version of a policy is a list of sections; a section is one ATX heading
(``#`` to ``######``) and the Markdown under it up to the next heading. The
rules, in the order they are applied to each document:

1. Decoding: a leading BOM is dropped and CRLF / CR line endings become LF.
2. Front matter: a Jekyll-style block (a ``---`` line, YAML-ish lines, a
   ``---`` or ``...`` line) at the very top is removed. Its ``title:`` names
   the text before the first heading, if there is any. A block whose lines do
   not look like YAML is left alone: it is a thematic break, not front matter.
   (The block is found by mdit-py-plugins' front_matter plugin; a block it
   closes early, at a ``----`` or an indented ``---`` line, is left alone too.)
3. Anchors (only when the document has a source name): every ``id="X"`` and
   ``href="#X"`` in raw HTML tags, and every Markdown link to ``#X``, becomes
   ``{prefix}-X``, the prefix being the slug of the file name. Pages may each
   number their footnotes from ``fn1`` (the draft policy's first two pages
   do); prefixed, ids stay unique and links working once the pages form one
   version. Code (fenced blocks, also inside lists and block quotes, and
   code spans) is left as written.
4. Indented HTML: a line indented by 4 or more columns (a tab counts as
   reaching the next multiple of 4) that starts with an HTML block tag
   (``<li``, ``</ul>``, ``<div``, ``<h3``, ...; see :data:`_INDENTED_BLOCK_TAG`)
   and is outside fenced code is dedented. After a blank line CommonMark reads
   such a line as an indented code block, and readers would see escaped
   ``<li>`` markup in a box (the draft policy's 01-index.md and the final
   policy's footnotes indent list items this way). Only documents go through
   this, never comments.
5. Splitting: each ATX heading at the top of the document, as the renderer
   reads it, starts a section, whatever its level. Lines that only look like
   one do not: in fenced or indented code, inside a list item or a block
   quote. One exception to the renderer's reading: an ATX heading line ends
   an HTML block ("</div>" then "## Next" splits, although CommonMark would
   keep "## Next" as raw HTML up to the next blank line), since each section
   is rendered on its own. Setext headings (underlined with ``===``/``---``)
   do not split. Text before the first heading becomes a section of its own
   (see :data:`PREAMBLE_HEADING`) unless it is blank.
6. Notes: a heading named "Footnotes" (or "Notes", "Endnotes") starts no
   section. Its notes, raw-HTML list items ``<li id="fnN">...</li>`` as the
   federal policy writes them, become footnotes at the end of the section
   that cites each, a note nobody cites going to the section before the
   heading: the markup the renderer draws for Markdown footnotes
   (``core.text``: a list named "Footnotes", each note with its number and
   a link back to its marker, each link named in words), written as HTML
   because markers stand in raw HTML blocks too, where ``[^N]`` would stay
   text. A notes block holding anything else is left a section of its own.
7. Title: a document that opens with its only level-1 heading, with no text
   under it before the next heading ("# Policy" then "## 1. Scope"), opens
   with its title, which the consultation's own title already says: it
   starts no section (there would be nothing in it to discuss).
8. Keys: see :func:`heading_slug` and :func:`import_markdown_files`. A heading
   may name its key itself, Pandoc and kramdown style, at its end:
   ``## Objectifs {#objectives}`` is the section "Objectifs" with the key
   "objectives" (see :func:`explicit_key`): a translation's sections keep the
   keys of the original's, whatever their headings' slugs.

Pure Python: no Flask, no database. The block structure (headings, fences,
front matter, with their lines) comes from :func:`consult.core.text.markdown_blocks`
and heading text goes through :func:`consult.core.text.plain_text`: the
importer reads a document the way the renderer does, and ``core.text`` stays
the one place that knows Markdown.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from flask_babel import gettext as _

from consult.core.slugs import slugify, truncate_slug
from consult.core.text import MarkdownBlock, is_local_image, markdown_blocks, markdown_images, plain_text

__all__ = [
    "MAX_KEY_LENGTH",
    "NOTES_HEADINGS",
    "PREAMBLE_HEADING",
    "PREAMBLE_LEVEL",
    "ImportedSection",
    "heading_slug",
    "import_markdown_files",
    "parse_markdown_document",
    "slugify",
    "split_markdown",
    "strip_numbering",
]

MAX_KEY_LENGTH: Final = 60
"""Keys are cut at a word boundary to at most this many characters."""

PREAMBLE_HEADING: Final = "Preamble"
"""Heading of the text before the first heading when the front matter has no title."""

PREAMBLE_LEVEL: Final = 1
"""Level given to the preamble section (it has no heading line; levels are 1 to 6)."""

FALLBACK_KEY: Final = "section"
"""Key of a section whose heading has no letters or digits at all."""

NOTES_HEADINGS: Final = frozenset(
    {
        "footnotes",
        "notes",
        "endnotes",
        # the same in the other languages a text may be imported in (a translation's notes)
        "notes de bas de page",
        "notas",
        "notas al pie",
        "notas al pie de página",
        "حواشي",
        "الحواشي",
    }
)
"""Headings (compared case-insensitively) of a block of notes: not a section (rule 6)."""

_ID_PREFIX_MAX: Final = 30
"""Anchor prefixes are kept short: the renderer only keeps ids of up to 64 characters."""


@dataclass(frozen=True)
class ImportedSection:
    """One section of an imported document.

    ``body`` is the Markdown under the heading up to the next heading, without
    the heading line; leading blank lines and trailing whitespace are removed
    (the indentation of the first line is kept, it may be an indented code
    block; indented HTML block tags are dedented, see rule 4). ``heading`` is readable text, never Markup.
    """

    key: str
    heading: str
    level: int
    body: str


# --- slugs and keys ------------------------------------------------------------

# Letters that NFKD does not decompose into ASCII.
_NUMBERING: Final = re.compile(
    r"""^[ \t]*
    (?: \d+(?:\.\d+)+\.?                 # 5.1  5.1.2  5.1.
      | \d+[.):]                         # 1.  1)  1:
      | [A-Za-z](?:\.\d+)+\.?            # A.1  B.2.3
      | [A-Za-z][.)]                     # A.  b)
      | (?:[IVXLC]+|[ivxlc]+)[.)]        # IV.  iv)
      | \((?:\d+|[A-Za-z]|[ivxlc]+)\)    # (1)  (a)  (iv)
    )
    (?:[ \t]+[-–—:])?                    # 1. - Title
    [ \t]+(?=\S)
    """,
    re.VERBOSE,
)


def strip_numbering(heading: str) -> str:
    """Remove hand-written numbering from the start of a heading.

    "1. Objectives" -> "Objectives", "5.1 Pilot Program" -> "Pilot Program",
    "A. Secure Rights" -> "Secure Rights", "IV) Scope", "(a) Scope" likewise.
    A bare number without a dot is kept ("2016 Annual Report"), as are
    "Appendix A: ..." and a heading that is nothing but a number.
    """
    return _NUMBERING.sub("", heading, count=1).strip()


def heading_slug(heading: str) -> str:
    """The key a heading gets on its own: slug of the heading without numbering.

    "1. Objectives" -> "objectives", "Appendix A: Definitions" ->
    "appendix-a-definitions"; "section" if nothing is left.
    """
    return slugify(strip_numbering(heading), MAX_KEY_LENGTH) or FALLBACK_KEY


_EXPLICIT_KEY: Final = re.compile(r"(?:^|[ \t]+)\{#([A-Za-z0-9][A-Za-z0-9_.:-]*)\}[ \t]*$")
"""``{#key}`` at the end of a heading's text (Pandoc's and kramdown's header identifier)."""


def explicit_key(heading_markdown: str) -> tuple[str, str | None]:
    """A heading's text without its ``{#key}``, and the key it names (None if it names none).

    "Objectifs {#objectives}" -> ("Objectifs", "objectives"). The key is made a key like any
    other (lowercase words joined by hyphens, at most :data:`MAX_KEY_LENGTH` characters):
    "{#Pilot_Program}" names "pilot-program".
    """
    match = _EXPLICIT_KEY.search(heading_markdown)
    if match is None:
        return heading_markdown, None
    return heading_markdown[: match.start()], slugify(match.group(1), MAX_KEY_LENGTH) or None


def _join_key(parent: str, child: str) -> str:
    """``parent-child`` within the length limit, shortening the parent part."""
    budget = MAX_KEY_LENGTH - len(child) - 1
    if budget <= 0:
        return child
    return f"{truncate_slug(parent, budget)}-{child}"


def _with_suffix(key: str, number: int) -> str:
    suffix = f"-{number}"
    return truncate_slug(key, MAX_KEY_LENGTH - len(suffix)) + suffix


# --- reading a document --------------------------------------------------------

_YAML_LINE: Final = re.compile(r"^(?:[A-Za-z0-9_][\w .-]*:(?:[ \t].*)?|[ \t]+.*|-(?:[ \t].*)?|#.*|)$")
_FRONT_MATTER_TITLE: Final = re.compile(r"^title:[ \t]*(.*?)[ \t]*$")
_INDENTED_BLOCK_TAG: Final = re.compile(
    r"""^(?P<indent>[ \t]+)
    (?=</?(?:li|ul|ol|div|p|h[1-6]|table|thead|tbody|tr|td|th|dl|dt|dd|blockquote)
       (?:[\s/>]|$))     # "<li>", "<li id=...>", "</ul>"; not "<link" or "<pre"
    """,
    re.VERBOSE | re.IGNORECASE,
)


def _fence_flags(blocks: Sequence[MarkdownBlock], line_count: int) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (fence lines included).

    Fences anywhere count, also in list items and block quotes; an unclosed
    fence runs to the end of the document (or of its container).
    """
    flags = [False] * line_count
    for block in blocks:
        if block.kind == "fence":
            flags[block.start : block.end] = [True] * (block.end - block.start)
    return flags


def _dedent_html_blocks(lines: list[str], fenced: list[bool]) -> list[str]:
    """Dedent lines that would otherwise become indented code (rule 4); fenced code is kept."""
    out: list[str] = []
    for line, in_code in zip(lines, fenced, strict=True):
        match = None if in_code else _INDENTED_BLOCK_TAG.match(line)
        if match and len(match["indent"].expandtabs(4)) >= 4:
            line = line[match.end() :]
        out.append(line)
    return out


def _split_front_matter(lines: list[str]) -> tuple[str, list[str]]:
    """Remove a leading front-matter block; return (title or "", remaining lines)."""
    if not lines or lines[0].rstrip() != "---":
        return "", lines
    end = next((number for number in range(1, len(lines)) if lines[number].rstrip() in ("---", "...")), None)
    if end is None:
        return "", lines
    # The plugin also closes the block at "----" or an indented "---"; such a block is not front matter here.
    first = markdown_blocks("\n".join(lines[: end + 1]), front_matter=True)[0]
    if first.kind != "front_matter" or first.end != end + 1:
        return "", lines
    block = lines[1:end]
    if not all(_YAML_LINE.match(line) for line in block):
        return "", lines
    title = ""
    for line in block:
        if match := _FRONT_MATTER_TITLE.match(line):
            title = _unquote_yaml(match.group(1))
    return _readable(title), lines[first.end :]


def _unquote_yaml(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def _readable(heading_markdown: str) -> str:
    """What a reader sees of a heading: tags removed, <br> as a space, entities decoded.

    The content is rendered as a heading by the app's own Markdown pipeline
    (:func:`consult.core.text.plain_text`), so emphasis, links and code spans
    read as text ("**New** [rules](x)" -> "New rules") and "1. Foo" stays a
    heading, not a list. Whitespace is collapsed.
    """
    if not heading_markdown.strip():
        return ""
    return " ".join(plain_text(f"# {heading_markdown}").split())


def _atx_headings(blocks: Sequence[MarkdownBlock]) -> dict[int, MarkdownBlock]:
    """The ATX headings at the top of the document, by line (rule 5)."""
    return {block.start: block for block in blocks if block.kind == "heading" and block.depth == 0 and block.markup.startswith("#")}


# --- anchors -------------------------------------------------------------------

_HTML_TAG: Final = re.compile(r"<[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?>")
_ID_ATTRIBUTE: Final = re.compile(r"""(\sid\s*=\s*)(["'])([^"'<>]+)\2""", re.IGNORECASE)
_HREF_FRAGMENT: Final = re.compile(r"""(\shref\s*=\s*)(["'])#([^"'<>]+)\2""", re.IGNORECASE)
_MARKDOWN_LINK_FRAGMENT: Final = re.compile(r"(\]\([ \t]*<?)#(?=[^\s)>])")
_MARKDOWN_REFERENCE_FRAGMENT: Final = re.compile(r"^( {0,3}\[[^\]]+\]:[ \t]*<?)#(?=\S)", re.MULTILINE)
_CODE_SPAN: Final = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)


def _anchor_prefix(source_name: str) -> str:
    """Slug of the file name's stem without a leading number; starts with a letter.

    "02-introduction.md" -> "introduction", "v1/09-Appendixa.md" -> "appendixa".
    """
    stem = re.split(r"[\\/]", source_name)[-1]
    if "." in stem.lstrip("."):
        stem = stem.rsplit(".", 1)[0]
    prefix = slugify(re.sub(r"^\d+(?=[\W_]|$)[\W_]*", "", stem), _ID_PREFIX_MAX)
    prefix = prefix or slugify(stem, _ID_PREFIX_MAX) or "part"
    return prefix if prefix[0].isalpha() else f"s{prefix}"


def _prefix_anchors_in_tag(tag: str, prefix: str) -> str:
    tag = _ID_ATTRIBUTE.sub(lambda m: f"{m[1]}{m[2]}{prefix}-{m[3]}{m[2]}", tag)
    return _HREF_FRAGMENT.sub(lambda m: f"{m[1]}{m[2]}#{prefix}-{m[3]}{m[2]}", tag)


def _prefix_anchors_in_prose(text: str, prefix: str) -> str:
    text = _HTML_TAG.sub(lambda m: _prefix_anchors_in_tag(m[0], prefix), text)
    text = _MARKDOWN_LINK_FRAGMENT.sub(lambda m: f"{m[1]}#{prefix}-", text)
    return _MARKDOWN_REFERENCE_FRAGMENT.sub(lambda m: f"{m[1]}#{prefix}-", text)


def _prefix_anchors(lines: list[str], fenced: list[bool], prefix: str) -> list[str]:
    """Rewrite ids and same-page links to ``{prefix}-X``; code is left untouched."""
    out: list[str] = []
    for in_code, chunk in _chunks(lines, fenced):
        if in_code:
            out.extend(chunk)
            continue
        text = "\n".join(chunk)
        pieces: list[str] = []
        position = 0
        for span in _CODE_SPAN.finditer(text):
            pieces.append(_prefix_anchors_in_prose(text[position : span.start()], prefix))
            pieces.append(span[0])
            position = span.end()
        pieces.append(_prefix_anchors_in_prose(text[position:], prefix))
        out.extend("".join(pieces).split("\n"))
    return out


def _chunks(lines: list[str], flags: list[bool]) -> Iterator[tuple[bool, list[str]]]:
    """Consecutive runs of lines, each flagged as fenced code or not."""
    start = 0
    for index in range(1, len(lines) + 1):
        if index == len(lines) or flags[index] != flags[start]:
            yield flags[start], lines[start:index]
            start = index


# --- sections ------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    """A section before keys are assigned."""

    heading: str
    level: int
    body: str
    key: str | None = None  # named by the heading itself ({#key})

    @property
    def slug(self) -> str:
        return self.key or heading_slug(self.heading)


def _body(lines: list[str]) -> str:
    text = "\n".join(lines).rstrip()
    return re.sub(r"^(?:[ \t]*\n)+", "", text)


# --- notes ---------------------------------------------------------------------

_NOTE_ITEM: Final = re.compile(r"""<li\s+id=(["'])([^"'<>]+)\1\s*>(.*?)</li>""", re.IGNORECASE | re.DOTALL)
_NOTE_NUMBER: Final = re.compile(r"^\s*<sup>\s*([0-9]{1,9})\s*</sup>\s*", re.IGNORECASE)
_NOTE_BACKLINK: Final = re.compile(r"""\s*<a\s+href=(["'])#[^"'<>]+\1\s*>\s*(?:&#8617;|&#x21a9;|↩)\ufe0e?\s*</a>\s*$""", re.IGNORECASE)
_NOTES_LIST: Final = re.compile(r"^\s*(?:<ul[^>]*>|</ul>|<ol[^>]*>|</ol>)?\s*$", re.IGNORECASE)
_NOTE_MARKER: Final = re.compile(
    r"""<sup(?:\s+id=(["'])(?P<ref>[^"'<>]*)\1)?\s*>\s*<a\s+href=(["'])\#([^"'<>]+)\3\s*>\s*[0-9]{1,9}\s*</a>\s*</sup>""",
    re.IGNORECASE,
)


def is_notes_heading(heading: str) -> bool:
    """Whether a heading names a block of notes (rule 6)."""
    return " ".join(heading.split()).casefold() in NOTES_HEADINGS


def _parse_notes(body: str) -> dict[str, tuple[str, str]] | None:
    """A notes block's notes, by id: (number, the note as one line of Markdown); None if the
    block holds anything but a list of notes (then it stays a section)."""
    notes: dict[str, tuple[str, str]] = {}
    rest = _NOTE_ITEM.sub("\n", body)
    if not all(_NOTES_LIST.match(line) for line in rest.split("\n")):
        return None
    for match in _NOTE_ITEM.finditer(body):
        note = match.group(3)
        number = _NOTE_NUMBER.match(note)
        if number is None:
            return None
        note = _NOTE_BACKLINK.sub("", note[number.end() :])
        notes[match.group(2)] = (number.group(1), " ".join(note.split()))
    return notes or None


def _fold_notes(drafts: list[_Draft]) -> list[_Draft]:
    """One document's notes blocks made the footnotes of the sections that cite them (rule 6)."""
    notes: dict[str, tuple[str, str]] = {}
    homes: dict[str, int] = {}  # note id -> index (in ``kept``) of the section before its block
    kept: list[_Draft] = []
    for draft in drafts:
        parsed = _parse_notes(draft.body) if is_notes_heading(draft.heading) and kept else None
        if parsed is None:
            kept.append(draft)
            continue
        notes.update(parsed)
        homes.update(dict.fromkeys(parsed, len(kept) - 1))
    if not notes:
        return drafts
    cited: list[dict[str, str | None]] = [{} for _ in kept]  # per section: note id -> its marker's id
    placed: set[str] = set()

    def marker(index: int, match: re.Match[str]) -> str:
        target = match.group(4)
        if target not in notes:
            return match.group(0)
        number = notes[target][0]
        ref = match.group("ref") or f"{target}-ref"
        if target not in placed:
            placed.add(target)
            cited[index][target] = ref
        return f'<sup id="{ref}"><a href="#{target}" aria-label="Footnote {number}">{number}</a></sup>'

    bodies = [_NOTE_MARKER.sub(lambda m, i=i: marker(i, m), draft.body) for i, draft in enumerate(kept)]
    for target in notes:
        if target not in placed:
            cited[homes[target]][target] = None
    return [
        _Draft(d.heading, d.level, "\n\n".join(filter(None, [body, _notes_html(notes_of, notes)])), d.key)
        for d, body, notes_of in zip(kept, bodies, cited, strict=True)
    ]


def _notes_html(cited: dict[str, str | None], notes: dict[str, tuple[str, str]]) -> str:
    """A section's notes as the renderer draws Markdown footnotes (``core.text``): a list named
    "Footnotes", each note keeping its number and linking back to its marker."""
    if not cited:
        return ""
    items = []
    for target, ref in cited.items():
        number, text = notes[target]
        back = f' <a href="#{ref}" aria-label="Back to the text of footnote {number}">\u21a9</a>' if ref else ""
        items.append(f'<li id="{target}" value="{number}">{text}{back}</li>')
    return '<section aria-label="Footnotes">\n<ol>\n' + "\n".join(items) + "\n</ol>\n</section>"


def _drafts(text: str, anchor_prefix: str | None) -> list[_Draft]:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    title, lines = _split_front_matter(text.split("\n"))
    # Rewriting anchors and dedenting keep every line where it is, so one
    # reading of the fences serves both; dedenting can turn indented code
    # into HTML, so headings are read after it.
    fenced = _fence_flags(markdown_blocks("\n".join(lines)), len(lines))
    if anchor_prefix:
        lines = _prefix_anchors(lines, fenced, anchor_prefix)
    lines = _dedent_html_blocks(lines, fenced)
    headings = _atx_headings(markdown_blocks("\n".join(lines), headings_end_html=True))

    drafts: list[_Draft] = []
    heading, level, body_lines, key = title or PREAMBLE_HEADING, PREAMBLE_LEVEL, [], None
    is_preamble = True
    for number, line in enumerate(lines):
        found = headings.get(number)
        if found is None:
            body_lines.append(line)
            continue
        body = _body(body_lines)
        if not is_preamble or body:
            drafts.append(_Draft(heading, level, body, key))
        content, key = explicit_key(found.content)
        level, heading, body_lines, is_preamble = len(found.markup), _readable(content), [], False
    body = _body(body_lines)
    if not is_preamble or body:
        drafts.append(_Draft(heading, level, body, key))
    return _fold_notes(_without_title(drafts))


def _without_title(drafts: list[_Draft]) -> list[_Draft]:
    """The sections without the document's title heading (rule 7)."""
    first = drafts[0] if drafts else None
    if first is None or len(drafts) < 2 or first.level != 1 or first.body or any(d.level == 1 for d in drafts[1:]):
        return drafts
    return drafts[1:]


def _assign_keys(drafts: list[_Draft]) -> list[ImportedSection]:
    """Give every section a key, unique in the document.

    - key = :func:`heading_slug` of the heading;
    - a slug that occurs more than once in the document ("Footnotes" on every
      page) is prefixed with the key of the section's parent, the closest
      preceding section of a lower level: "introduction-footnotes"; the parent
      part is shortened at a word boundary to keep within 60 characters;
    - a key that still repeats gets "-2", "-3", ... (the first keeps it plain);
    - a key the heading names (``{#key}``) is kept as it is, and comes before the others: a
      section whose slug is another heading's named key gets "-2".
    """
    slug_counts = Counter(draft.slug for draft in drafts)
    natural = set(slug_counts)
    named = {draft.key for draft in drafts if draft.key}
    used: set[str] = set()
    ancestors: list[tuple[int, str]] = []  # (level, key), levels strictly increasing
    sections: list[ImportedSection] = []
    for draft in drafts:
        while ancestors and ancestors[-1][0] >= draft.level:
            ancestors.pop()
        candidate = draft.slug
        if draft.key is None and slug_counts[candidate] > 1 and ancestors:
            candidate = _join_key(ancestors[-1][1], candidate)
        key = candidate
        if key in used or (draft.key is None and key in named):
            number = 2
            # "foo-2" is left to a heading that really is "Foo 2".
            while (key := _with_suffix(candidate, number)) in used or key in natural:
                number += 1
        used.add(key)
        ancestors.append((draft.level, key))
        sections.append(ImportedSection(key, draft.heading, draft.level, draft.body))
    return sections


def section_keys(headings: Sequence[tuple[str, int]]) -> list[str]:
    """The keys a document's sections get from their (heading, level) alone, as on import."""
    return [s.key for s in _assign_keys([_Draft(heading, level, "") for heading, level in headings])]


def unique_key(key: str, taken: Collection[str]) -> str:
    """``key``, or ``key-2``, ``key-3``... the first not in ``taken``."""
    number = 1
    candidate = key
    while candidate in taken:
        number += 1
        candidate = _with_suffix(key, number)
    return candidate


def parse_markdown_document(text: str, *, source_name: str = "") -> list[ImportedSection]:
    """Split one Markdown document into sections (see the module docstring for the rules).

    With ``source_name`` (a file name such as "02-introduction.md"), ids and
    same-page links are prefixed with "introduction-". Keys are unique within
    this document.
    """
    prefix = _anchor_prefix(source_name) if source_name else None
    return _assign_keys(_drafts(text, prefix))


def import_markdown_files(files: list[tuple[str, str]]) -> list[ImportedSection]:
    """Sections of several Markdown files read as one document, in the given order.

    ``files`` are (file name, text) pairs; callers sort them. Each file is
    parsed like :func:`parse_markdown_document` (its own front matter, its own
    anchor prefix; two files with the same prefix get "-2", ...). An empty
    file name means no anchor rewriting. Keys are unique across all files.
    """
    drafts: list[_Draft] = []
    prefixes: set[str] = set()
    for name, text in files:
        prefix = None
        if name:
            base = prefix = _anchor_prefix(name)
            number = 1
            while prefix in prefixes:
                number += 1
                prefix = f"{base}-{number}"
            prefixes.add(prefix)
        drafts.extend(_drafts(text, prefix))
    return _assign_keys(drafts)


def split_markdown(text: str) -> list[ImportedSection]:
    """Sections of a text written in the browser: ``import_markdown_files([("", text)])``.

    Same rules; a front-matter block is removed if present but not required,
    and anchors are not rewritten.
    """
    return import_markdown_files([("", text)])


def images_not_kept(files: list[tuple[str, str]]) -> list[str]:
    """Each image of the files (name, Markdown) that is not shown, named for the author, in order:
    Consult shows only images uploaded to it as attachments (``core.text.markdown_images``), and an author must hear which ones are not kept rather
    than find them missing. A Markdown image is shown as its description; a raw ``<img>`` tag
    is removed."""
    named = []
    for name, source in files:
        for image in markdown_images(source):
            if is_local_image(image.src):
                continue  # an uploaded file: shown
            what = _("“%(description)s”", description=image.description) if image.description else _("an image without a description")
            where = _("line %(line)s of %(file)s", line=image.line, file=name) if name else _("line %(line)s", line=image.line)
            named.append(_("%(image)s (%(address)s, %(where)s)", image=what, address=image.src or _("no address"), where=where))
    return named
