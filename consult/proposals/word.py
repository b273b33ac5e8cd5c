"""Word documents (.docx) read as Markdown, so they become sections exactly as Markdown does.

The way: mammoth turns the document into clean HTML (it maps Word's "Heading 1" to "Heading 6"
styles to ``<h1>``-``<h6>``, keeps lists, tables, links, footnotes and images, and drops the
formatting), and :func:`html_to_markdown` writes that HTML as the Markdown an author would
have typed: ``#`` headings, ``-``/``1.`` lists, pipe tables, ``[links](…)``, ``**bold**``.
The Markdown then goes through the one importer (``importing.split_markdown``) and the one
renderer and sanitiser (``core.text``), so a Word heading gets the key a Markdown heading
gets, the text reads the same, and citizens propose amendments on Markdown they can read.
(mammoth's own Markdown writer was not used: it drops tables and is deprecated.)

What Markdown cannot say is written as the HTML the sanitiser keeps: footnote references
(``<sup><a href="#footnote-1" id="footnote-ref-1">[1]</a></sup>``) and the notes themselves (a
list at the end), superscript and subscript, and a table with merged cells or several
paragraphs in a cell.

What is not carried over is said in :attr:`WordText.notes`: mammoth's messages (styles it did
not recognise, …) and what reading the package's XML finds: tracked changes (imported as if
accepted: inserted text kept, deleted text left out), comments (left out), text boxes (their
text placed where they are anchored), charts, equations and embedded objects (left out),
images that could not be stored.

Pure: bytes in, Markdown and notes out. Images are handed to a ``store_image`` callback that
returns the address to show them from (or None: shown as their description). This is the only
module that imports mammoth.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import IO, Final

import mammoth
from flask_babel import gettext as _
from flask_babel import ngettext

from consult.core.text import escape_markdown

__all__ = ["WordImage", "WordText", "html_to_markdown", "read_word_document"]


@dataclass(frozen=True)
class WordImage:
    data: bytes
    content_type: str
    description: str
    number: int  # 1, 2, … in the order of the document


@dataclass
class WordText:
    markdown: str
    notes: list[str] = field(default_factory=list)


StoreImage = Callable[[WordImage], str | None]


class NotWordDocument(ValueError):
    """The bytes are not a .docx document mammoth can read."""


# --- reading the package ---------------------------------------------------------------------

_PACKAGE_CHECKS: Final = (
    # (part, pattern, what to tell the author with the count)
    ("word/document.xml", rb"<w:ins\b", lambda n: ngettext(
        "%(num)d tracked insertion: imported as if accepted. Accept or reject the changes in Word first if that is not what you mean.",
        "%(num)d tracked insertions: imported as if accepted. Accept or reject the changes in Word first if that is not what you mean.", n)),
    ("word/document.xml", rb"<w:del\b", lambda n: ngettext(
        "%(num)d tracked deletion: the deleted text is left out, as if accepted.",
        "%(num)d tracked deletions: the deleted text is left out, as if accepted.", n)),
    ("word/document.xml", rb"<w:moveFrom\b", lambda n: ngettext(
        "%(num)d tracked move: imported as if accepted.", "%(num)d tracked moves: imported as if accepted.", n)),
    ("word/comments.xml", rb"<w:comment\b", lambda n: ngettext(
        "%(num)d comment in the margin: left out (they are not part of the text).",
        "%(num)d comments in the margin: left out (they are not part of the text).", n)),
    ("word/document.xml", rb"<w:txbxContent\b", lambda n: ngettext(
        "%(num)d text box: their text is placed where each box is anchored, check that it reads in order.",
        "%(num)d text boxes: their text is placed where each box is anchored, check that it reads in order.", n)),
    ("word/document.xml", rb"<c:chart\b", lambda n: ngettext(
        "%(num)d chart: left out; attach the chart as an image or a spreadsheet.",
        "%(num)d charts: left out; attach the chart as an image or a spreadsheet.", n)),
    ("word/document.xml", rb"<m:oMath\b", lambda n: ngettext(
        "%(num)d equation: left out; write them out in words or attach them.",
        "%(num)d equations: left out; write them out in words or attach them.", n)),
    ("word/document.xml", rb"<w:object\b", lambda n: ngettext(
        "%(num)d embedded object: left out; attach them as files.",
        "%(num)d embedded objects: left out; attach them as files.", n)),
)  # fmt: skip


def package_notes(data: bytes) -> list[str]:
    """What the document holds that its text will not, from the package's XML itself."""
    notes: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = set(package.namelist())
        parts = {name: package.read(name) for name in {check[0] for check in _PACKAGE_CHECKS} if name in names}
    for part, pattern, note in _PACKAGE_CHECKS:
        count = len(re.findall(pattern, parts.get(part, b"")))
        if count:
            notes.append(note(count))
    return notes


def read_word_document(stream: IO[bytes], *, store_image: StoreImage) -> WordText:
    """The Markdown of a .docx document, and what was not carried over (see the module's docstring)."""
    data = stream.read()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            if "word/document.xml" not in package.namelist():
                raise NotWordDocument("no word/document.xml")
        notes = package_notes(data)
    except zipfile.BadZipFile as error:
        raise NotWordDocument(str(error)) from None
    images_dropped: list[str] = []
    count = 0

    def convert_image(image) -> dict[str, str]:
        nonlocal count
        count += 1
        with image.open() as image_bytes:
            found = WordImage(image_bytes.read(), image.content_type or "", " ".join((image.alt_text or "").split()), count)
        address = store_image(found)
        if address is None:
            images_dropped.append(
                _("image %(number)s (“%(description)s”)", number=count, description=found.description)
                if found.description
                else _("image %(number)s", number=count)
            )
            return {"src": "", "data-dropped": "1"}
        return {"src": address}

    try:
        result = mammoth.convert_to_html(io.BytesIO(data), convert_image=mammoth.images.img_element(convert_image))
    except Exception as error:  # noqa: BLE001 (a damaged package fails in many ways inside mammoth)
        raise NotWordDocument(str(error)) from None
    seen: set[str] = set()
    for message in result.messages:
        text = _("Word: %(message)s", message=message.message)
        if text not in seen:
            seen.add(text)
            notes.append(text)
    if images_dropped:
        notes.append(
            ngettext(
                "%(num)d image could not be kept (not a PNG, JPEG, GIF or WebP image, or too large): %(images)s. "
                "Their descriptions are shown instead.",
                "%(num)d images could not be kept (not a PNG, JPEG, GIF or WebP image, or too large): %(images)s. "
                "Their descriptions are shown instead.",
                len(images_dropped),
                images=", ".join(images_dropped),
            )
        )
    return WordText(html_to_markdown(result.value), notes)


# --- HTML to Markdown ------------------------------------------------------------------------

_VOID: Final = frozenset({"br", "img", "hr"})
_BLOCKS: Final = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "hr"})
_RAW_INLINE: Final = frozenset({"sup", "sub"})


class _Node:
    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Node | str] = []


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _html(node: _Node | str) -> str:
    """A node written back as HTML (escaped), for what Markdown cannot say."""
    if isinstance(node, str):
        return node.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    attrs = "".join(f' {k}="{v.replace("&", "&amp;").replace(chr(34), "&quot;")}"' for k, v in node.attrs.items() if k != "data-dropped")
    if node.tag in _VOID:
        return f"<{node.tag}{attrs}>"
    return f"<{node.tag}{attrs}>{''.join(_html(c) for c in node.children)}</{node.tag}>"


_SPACE: Final = re.compile(r"\s+")


class _Writer:
    def __init__(self, targets: set[str]):
        self.targets = targets  # ids some link points at: their bookmarks are kept

    # inline ------------------------------------------------------------------

    def inline(self, nodes: list[_Node | str]) -> str:
        return "".join(self._inline(node) for node in nodes)

    def _inline(self, node: _Node | str) -> str:
        if isinstance(node, str):
            return escape_markdown(_SPACE.sub(" ", node), line_start=False)
        tag = node.tag
        if tag == "br":
            return "\\\n"
        if tag == "img":
            description = escape_markdown(" ".join(node.attrs.get("alt", "").split()), inline=True)
            src = node.attrs.get("src", "")
            return f"![{description}]({src})" if src else description
        if tag in ("strong", "b"):
            return self._wrap("**", node)
        if tag in ("em", "i"):
            return self._wrap("*", node)
        if tag == "s":
            return self._wrap("~~", node)
        if tag in _RAW_INLINE:
            return f"<{tag}>{self.inline(node.children)}</{tag}>"
        if tag == "a":
            return self._link(node)
        return self.inline(node.children)

    def _wrap(self, marker: str, node: _Node) -> str:
        text = self.inline(node.children)
        stripped = text.strip(" ")
        if not stripped or stripped.endswith("\\\n"):
            return text
        lead, trail = text[: len(text) - len(text.lstrip(" "))], text[len(text.rstrip(" ")) :]
        return f"{lead}{marker}{stripped}{marker}{trail}"

    def _link(self, node: _Node) -> str:
        href = node.attrs.get("href", "")
        anchor_id = node.attrs.get("id", "")
        if anchor_id.startswith(("footnote-ref-", "endnote-ref-")) or href.startswith(("#footnote-", "#endnote-")):
            return _html(node)  # footnote references and back links: ids Markdown cannot write
        text = self.inline(node.children)
        if not href:
            bookmark = f'<a id="{anchor_id}"></a>' if anchor_id in self.targets else ""
            return bookmark + text
        if not text.strip():
            return ""
        target = href
        if re.search(r"[\s()<>]", href):
            target = "<" + href.replace("<", "%3C").replace(">", "%3E") + ">"
        return f"[{text}]({target})"

    # blocks ------------------------------------------------------------------

    def blocks(self, nodes: list[_Node | str]) -> list[str]:
        """Markdown blocks (each a string, maybe several lines) of a list of nodes."""
        out: list[str] = []
        loose: list[_Node | str] = []  # inline content between blocks

        def flush() -> None:
            text = self.inline(loose).strip()
            if text:
                out.append(text)
            loose.clear()

        for node in nodes:
            if isinstance(node, _Node) and node.tag in _BLOCKS:
                flush()
                block = self.block(node)
                if block.strip():
                    out.append(block)
            else:
                loose.append(node)
        flush()
        return out

    def block(self, node: _Node) -> str:
        tag = node.tag
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = " ".join(self.inline(node.children).replace("\\\n", " ").split())
            return f"{'#' * int(tag[1])} {text}" if text else ""
        if tag == "p":
            return "\n".join(line.strip() for line in self.inline(node.children).strip().split("\n"))
        if tag in ("ul", "ol"):
            if any(isinstance(c, _Node) and c.attrs.get("id", "").startswith(("footnote-", "endnote-")) for c in node.children):
                return _html(node)  # the notes, with the ids their references link to
            return self._list(node)
        if tag == "table":
            return self._table(node)
        if tag == "blockquote":
            return "\n".join(f"> {line}" if line else ">" for line in "\n\n".join(self.blocks(node.children)).split("\n"))
        if tag == "hr":
            return "---"
        return self.inline(node.children)

    def _list(self, node: _Node) -> str:
        items = [c for c in node.children if isinstance(c, _Node) and c.tag == "li"]
        lines: list[str] = []
        start = int(node.attrs.get("start", "1") or 1) if node.attrs.get("start", "1").isdigit() else 1
        for number, item in enumerate(items, start=start):
            marker = f"{number}. " if node.tag == "ol" else "- "
            body = "\n\n".join(self.blocks(item.children)) or ""
            indent = " " * len(marker)
            first, *rest = body.split("\n") if body else [""]
            lines.append(marker + first)
            lines.extend(indent + line if line else "" for line in rest)
        # "tight": items on consecutive lines, unless one holds several blocks
        return "\n".join(lines)

    def _table(self, node: _Node) -> str:
        rows = [row for row in _descendants(node, "tr")]
        cells = [[c for c in row.children if isinstance(c, _Node) and c.tag in ("td", "th")] for row in rows]
        simple = (
            bool(cells)
            and all(not cell.attrs.get("colspan") and not cell.attrs.get("rowspan") for row in cells for cell in row)
            and all(len(self.blocks(cell.children)) <= 1 for row in cells for cell in row)
            and len({len(row) for row in cells}) == 1
        )
        if not simple:
            return _html(node)
        texts = [[" ".join(self._cell(cell).split()) for cell in row] for row in cells]
        lines = ["| " + " | ".join(texts[0]) + " |", "|" + "|".join(" --- " for _ in texts[0]) + "|"]
        lines.extend("| " + " | ".join(row) + " |" for row in texts[1:])
        return "\n".join(lines)

    def _cell(self, cell: _Node) -> str:
        blocks = self.blocks(cell.children)
        return (blocks[0] if blocks else "").replace("\\\n", " ").replace("|", "\\|")


def _descendants(node: _Node, tag: str):
    for child in node.children:
        if isinstance(child, _Node):
            if child.tag == tag:
                yield child
            elif child.tag != "table":  # a nested table's rows are its own
                yield from _descendants(child, tag)


def html_to_markdown(fragment: str) -> str:
    """Markdown for mammoth's HTML (see the module's docstring): blocks separated by blank lines."""
    builder = _TreeBuilder()
    builder.feed(fragment)
    builder.close()
    targets = set(re.findall(r'href="#([^"]+)"', fragment))
    return "\n\n".join(_Writer(targets).blocks(builder.root.children)) + "\n"
