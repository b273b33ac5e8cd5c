"""Word documents written from Markdown with python-docx, as an author's Word draft would be: each
section's heading in Word's own "Heading N" style, its text rendered by Consult and written as
Word paragraphs with bold, italic, superscript and links, lists in the "List Bullet" and "List
Number" styles (nested ones in "List Bullet 2"…), tables as Word tables, quotations in "Quote".
Headings inside a section's text (which Markdown does not cut at) are bold paragraphs."""

from __future__ import annotations

import io
from html.parser import HTMLParser

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from consult.core.text import render_markdown
from consult.proposals.importing import import_markdown_files

_VOID = {"br", "img", "hr", "input"}
_BLOCK = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "div", "hr", "dl"}


class _Node:
    def __init__(self, tag, attrs):
        self.tag, self.attrs, self.children = tag, dict(attrs), []


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = _Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, attrs)
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def _tree(html: str) -> _Node:
    parser = _Tree()
    parser.feed(html)
    parser.close()
    return parser.root


def _text(node) -> str:
    return node if isinstance(node, str) else "".join(_text(c) for c in node.children)


def _hyperlink(paragraph, url: str, text: str) -> None:
    r_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    element = OxmlElement("w:t")
    element.text = text
    element.set(qn("xml:space"), "preserve")
    run.append(element)
    link.append(run)
    paragraph._p.append(link)


def _inline(paragraph, node, fmt: frozenset = frozenset()) -> None:
    if isinstance(node, str):
        text = node.replace("\n", " ")  # soft line breaks of the Markdown are spaces in Word
        if text:
            run = paragraph.add_run(text)
            run.bold = "b" in fmt or None
            run.italic = "i" in fmt or None
            run.font.superscript = "sup" in fmt or None
            run.font.subscript = "sub" in fmt or None
            run.font.strike = "s" in fmt or None
        return
    tag = node.tag
    if tag == "br":
        paragraph.add_run().add_break()
        return
    if tag == "a" and node.attrs.get("href", "").startswith(("http://", "https://", "mailto:")):
        _hyperlink(paragraph, node.attrs["href"], " ".join(_text(node).split()))
        return
    extra = {"strong": "b", "b": "b", "em": "i", "i": "i", "sup": "sup", "sub": "sub", "s": "s", "del": "s"}.get(tag)
    for child in node.children:
        _inline(paragraph, child, fmt | {extra} if extra else fmt)


class _Writer:
    def __init__(self, document):
        self.document = document

    def blocks(self, node, *, style=None, level=0) -> None:
        loose = []
        for child in node.children:
            if isinstance(child, _Node) and child.tag in _BLOCK:
                self._flush(loose, style)
                self.block(child, style=style, level=level)
            else:
                loose.append(child)
        self._flush(loose, style)

    def _flush(self, loose, style) -> None:
        if any(_text(n).strip() for n in loose) or any(isinstance(n, _Node) and n.tag == "br" for n in loose):
            paragraph = self.document.add_paragraph(style=style)
            for n in loose:
                _inline(paragraph, n)
        loose.clear()

    def block(self, node, *, style=None, level=0) -> None:
        tag = node.tag
        if tag in {"p", "pre"}:
            paragraph = self.document.add_paragraph(style=style)
            for child in node.children:
                _inline(paragraph, child)
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            paragraph = self.document.add_paragraph(style=style)
            for child in node.children:
                _inline(paragraph, child, frozenset({"b"}))
        elif tag in ("ul", "ol"):
            base = "List Bullet" if tag == "ul" else "List Number"
            list_style = base if level == 0 else f"{base} {min(level + 1, 3)}"
            for item in node.children:
                if isinstance(item, _Node):
                    self.blocks(item, style=list_style, level=level + 1)
        elif tag == "table":
            rows = [r for r in _descendants(node, "tr")]
            cells = [[c for c in r.children if isinstance(c, _Node) and c.tag in ("td", "th")] for r in rows]
            width = max(len(r) for r in cells)
            table = self.document.add_table(rows=len(rows), cols=width)
            table.style = "Table Grid"
            for row, row_cells in zip(table.rows, cells, strict=True):
                for cell, source in zip(row.cells, row_cells, strict=False):
                    paragraph = cell.paragraphs[0]
                    for child in source.children:
                        _inline(paragraph, child)
        elif tag == "blockquote":
            self.blocks(node, style="Quote", level=level)
        elif tag in ("div", "dl"):
            self.blocks(node, style=style, level=level)


def _descendants(node, tag):
    for child in node.children:
        if isinstance(child, _Node):
            if child.tag == tag:
                yield child
            else:
                yield from _descendants(child, tag)


def markdown_files_to_docx(files: list[tuple[str, str]], *, image: bytes | None = None) -> bytes:
    """A .docx of the Markdown files (name, text) read as one document, as the importer cuts it."""
    document = Document()
    for section in import_markdown_files(files):
        document.add_heading(section.heading, level=section.level)
        _Writer(document).blocks(_tree(str(render_markdown(section.body))))
    if image is not None:
        document.add_paragraph().add_run().add_picture(io.BytesIO(image))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
