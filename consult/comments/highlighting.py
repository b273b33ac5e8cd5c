"""Annotations drawn into a section's sanitised HTML: ``<mark>`` elements around the quoted
words and a counted link per range, computed on the server so highlights work without
JavaScript. Offsets are :func:`consult.core.text.text_content` code points, what the browser
script counts too, and drawing adds no text: the links' words are in ``aria-label`` and their
visible count in CSS generated content, so the page's textContent stays the section's text and a
Web Annotation client finds the quotes where the export says they are."""

from __future__ import annotations

import html
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from flask_babel import ngettext
from markupsafe import Markup

from consult.core import links
from consult.core.text import HTML_SPACE, link_is_allowed

if TYPE_CHECKING:
    from consult.comments.services import Highlighted
    from consult.proposals.models import Section, SectionText, Version

_VOID_TAGS: Final = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
# Elements that may not contain text or <mark>: their text nodes are inter-element whitespace
# (a browser would move anything else out of a table), and are never wrapped.
_NO_TEXT_PARENTS: Final = frozenset({"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "colgroup"})


@dataclass(frozen=True)
class Highlight:
    """One range to highlight, in :func:`text_content` offsets (code points, end exclusive).

    ``href`` is where the annotation link goes (the range's comments), ``label``
    the link's accessible name and ``count`` the number it shows; ``id`` goes
    in ``data-annotation`` (the range's index in the sequence when None).
    ``discussion``, when given, is the address of the range's discussion without the page
    around it: the link then carries it in ``data-discussion``, with the range's id in
    ``data-annotation``, for the margin panel (``margin.js``) to open in place.
    """

    start: int
    end: int
    href: str
    label: str
    count: int = 1
    id: str | None = None
    discussion: str | None = None


def _close_element(stack: list[Any], tag: str, name: Any = lambda entry: entry) -> bool:
    """Pop ``stack`` down to and including the innermost open ``tag``; False if it is not open.

    Stray end tags are left to the browser: sanitised HTML is balanced anyway.
    """
    for depth in range(len(stack) - 1, -1, -1):
        if name(stack[depth]) == tag:
            del stack[depth:]
            return True
    return False


def _attribute_value(value: str) -> str:
    return html.escape(value, quote=True)


def _text(value: str) -> str:
    return html.escape(value, quote=False)


# A token is ("tag", markup, inside_a_after_it) or ("text", data, offset, markable, inside_a).
_Token = tuple[Any, ...]


class _Tokenizer(HTMLParser):
    """Sanitised HTML as a flat list of re-serialised tags and text nodes with their offsets.

    Attributes are re-escaped from their parsed values (so they come out as
    they went in); comments, doctypes and processing instructions, which
    sanitised HTML never has, are dropped.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[_Token] = []
        self.length = 0
        self._open: list[str] = []
        self._links = 0  # open <a> elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        markup = "".join(f" {name}" if value is None else f' {name}="{_attribute_value(value)}"' for name, value in attrs)
        if tag not in _VOID_TAGS:
            self._open.append(tag)
            self._links += tag == "a"
        self.tokens.append(("tag", f"<{tag}{markup}>", self._links > 0))

    # `<br/>` and friends: the slash means nothing in HTML, so a start tag it is.
    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if _close_element(self._open, tag):
            self._links = self._open.count("a")
        self.tokens.append(("tag", f"</{tag}>", self._links > 0))

    def handle_data(self, data: str) -> None:
        markable = not (self._open and self._open[-1] in _NO_TEXT_PARENTS)
        self.tokens.append(("text", data, self.length, markable, self._links > 0))
        self.length += len(data)


def _pieces(offset: int, data: str, boundaries: list[int], covers: list[tuple[int, ...]]) -> Iterator[tuple[int, int, tuple[int, ...]]]:
    """Split a text node at ``offset`` at the boundaries: (start, end, covering ranges) per piece."""
    end = offset + len(data)
    segment = bisect_right(boundaries, offset) - 1  # -1: before the first boundary
    position = offset
    while position < end:
        following = boundaries[segment + 1] if segment + 1 < len(boundaries) else end
        piece_end = min(following, end)
        yield position, piece_end, covers[segment] if 0 <= segment < len(covers) else ()
        position, segment = piece_end, segment + 1


def _check_href(href: str) -> str:
    if not link_is_allowed(href):
        raise ValueError(f"annotation link with a disallowed URL: {href!r}")
    return href


def highlight(rendered_html: str, marks: Sequence[Highlight]) -> Markup:
    """Sanitised HTML with each range of ``marks`` wrapped in ``<mark>`` elements, plus a link per range.

    Offsets are in ``text_content(rendered_html)``. Ranges are clamped to the text;
    empty ones (after clamping) and non-numeric ones are ignored, never an error. Without any range
    left the input comes back unchanged.

    All range starts and ends cut the text into segments; each text-node piece
    of a covered segment becomes one
    ``<mark class="annotation" data-annotation="ID ID…">`` listing the ranges that
    cover it (in ``marks`` order; ID is ``Highlight.id``, else the index in ``marks``),
    with class ``annotation overlap`` when there are several. Marks therefore
    only ever hold text: the element structure is unchanged, a range over
    ``<em>``, list items or paragraphs is just several marks. Whitespace text
    directly inside ul/ol/dl/table/thead/tbody/tfoot/tr/colgroup, where no mark
    may go, is left unmarked.

    Each range gets, after its last marked piece that has visible (non-HTML-space)
    text (its last piece if it has none)::

        <a class="annotation-link" href="HREF" aria-label="LABEL" data-count="COUNT"></a>

    or right after the enclosing ``<a>`` when that piece is inside a link (no
    nested links). Links ending at the same place follow in ``marks`` order.
    They hold no text (the stylesheet shows ``data-count``; screen readers say the
    label), so ``text_content(highlight(h, m)) == text_content(h)``: offsets and quotes
    resolve on the served page as in the section's text.

    Text is re-escaped and attributes are re-escaped from their parsed values;
    ``href``, ``label`` and ids are escaped. A ``href`` whose scheme is not
    http, https or mailto (``javascript:`` …) raises ValueError: callers build
    them with ``url_for``. The input must be sanitised HTML (from
    :func:`render_markdown`); it is not sanitised again.
    """
    source = str(rendered_html)
    tokenizer = _Tokenizer()
    tokenizer.feed(source)
    tokenizer.close()
    length = tokenizer.length

    kept: list[tuple[int, int, int]] = []  # (start, end, index in marks)
    for index, mark in enumerate(marks):
        try:
            start, end = max(0, int(mark.start)), min(length, int(mark.end))
        except (TypeError, ValueError):
            continue  # not an offset at all: ignored like an out-of-range one
        if start < end:
            kept.append((start, end, index))
    if not kept:
        return Markup(source)

    # Elementary segments [boundaries[k], boundaries[k + 1]) and the ranges (positions in kept) covering each.
    boundaries = sorted({offset for start, end, _ in kept for offset in (start, end)})
    starting: dict[int, list[int]] = {}
    ending: dict[int, list[int]] = {}
    for position, (start, end, _) in enumerate(kept):
        starting.setdefault(start, []).append(position)
        ending.setdefault(end, []).append(position)
    active: set[int] = set()
    covers: list[tuple[int, ...]] = []
    for boundary in boundaries[:-1]:
        active.difference_update(ending.get(boundary, ()))
        active.update(starting.get(boundary, ()))
        covers.append(tuple(sorted(active)))

    # Where each range's link goes: after the piece (token number, piece end).
    last_piece: dict[int, tuple[int, int]] = {}
    last_visible: dict[int, tuple[int, int]] = {}
    for number, token in enumerate(tokenizer.tokens):
        if token[0] != "text" or not token[3]:
            continue
        _, data, offset, _, _ = token
        for piece_start, piece_end, cover in _pieces(offset, data, boundaries, covers):
            if not cover:
                continue
            visible = bool(data[piece_start - offset : piece_end - offset].strip(HTML_SPACE))
            for position in cover:
                last_piece[position] = (number, piece_end)
                if visible:
                    last_visible[position] = (number, piece_end)
    links_after: dict[tuple[int, int], list[str]] = {}
    for position in range(len(kept)):
        place = last_visible.get(position) or last_piece.get(position)
        if place is not None:
            mark = marks[kept[position][2]]
            margin = ""
            if mark.discussion is not None:
                name = kept[position][2] if mark.id is None else mark.id
                margin = (
                    f' data-annotation="{_attribute_value(str(name))}" data-discussion="{_attribute_value(_check_href(mark.discussion))}"'
                )
            links_after.setdefault(place, []).append(
                f'<a class="annotation-link" href="{_attribute_value(_check_href(str(mark.href)))}"'
                f' aria-label="{_attribute_value(str(mark.label))}" data-count="{int(mark.count)}"{margin}></a>'
            )

    names = [_attribute_value(str(index if marks[index].id is None else marks[index].id)) for _, _, index in kept]
    open_tags: dict[tuple[int, ...], str] = {}
    out: list[str] = []
    pending: list[str] = []  # links waiting for the enclosing <a> to close
    for number, token in enumerate(tokenizer.tokens):
        if token[0] == "tag":
            out.append(token[1])
            if pending and not token[2]:
                out.extend(pending)
                pending.clear()
            continue
        _, data, offset, markable, inside_link = token
        if not markable:
            out.append(_text(data))
            continue
        for piece_start, piece_end, cover in _pieces(offset, data, boundaries, covers):
            piece = _text(data[piece_start - offset : piece_end - offset])
            if cover:
                tag = open_tags.get(cover)
                if tag is None:
                    kind = "annotation overlap" if len(cover) > 1 else "annotation"
                    tag = open_tags[cover] = f'<mark class="{kind}" data-annotation="{" ".join(names[p] for p in cover)}">'
                out.append(f"{tag}{piece}</mark>")
                links = links_after.get((number, piece_end))
                if links:
                    (pending if inside_link else out).extend(links)
            else:
                out.append(piece)
    out.extend(pending)  # an <a> never closed
    return Markup("".join(out))


# ---- a version's sections with their annotations drawn ----------------------------------------


#: A section with more distinct annotated ranges than this has its overlapping ranges drawn merged:
#: one mark and one link per annotated passage, whatever the number of annotations (a page stays
#: bounded however long the thread grows; the text bounds the number of passages).
MAX_RANGES = 50


def passages(highlights: Sequence[Highlighted], text: str) -> list[Highlighted]:
    """``highlights`` with the overlapping ranges merged: one per annotated passage of ``text`` (the
    section's :func:`anchor_text`), in text order, with every annotation of the ranges it merged."""
    spans: list[tuple[Highlighted, list]] = []  # the first range of each passage, and [end, states, ids]
    for h in sorted(highlights, key=lambda h: (h.start, h.end)):
        if spans and h.start < spans[-1][1][0]:
            span = spans[-1][1]
            span[0] = max(span[0], h.end)
            span[1].add(h.state)
            span[2].extend(h.contribution_ids)
        else:
            spans.append((h, [h.end, {h.state}, list(h.contribution_ids)]))
    return [
        replace(first, end=end, exact=text[first.start : end], state=states.pop() if len(states) == 1 else "anchored", contribution_ids=ids)
        if end != first.end or len(ids) != len(first.contribution_ids)
        else first
        for first, (end, states, ids) in spans
    ]


def highlighted_sections(
    version: Version,
    highlights: Mapping[str, Sequence[Highlighted]],
    *,
    only: Section | SectionText | None = None,
    language: str | None = None,
) -> dict[str, str]:
    """Each section's HTML (or just ``only``'s) with ``highlights`` (``comments.services.highlights_for``
    of the same version, as the reader may see them) drawn as <mark>s linking to their threads
    (and, for the margin panel, to their discussion on the current version's section); the
    sections of the text in ``language`` (by default the original's). Above :data:`MAX_RANGES`
    ranges in a section, a passage's link leads to the discussion of every annotation on its words
    (``?from=START&to=END``) and, without scripts, to its newest annotation's thread.

    The addresses are built from one pattern per page, not one ``url_for`` per mark."""
    show = links.path("comments.show", contribution_id=0).removesuffix("0")
    consultation = version.consultation
    text = None if language is None or language == consultation.original_language else language
    result = {}
    for section in [only] if only else version.sections_in(language):
        ranges = highlights.get(section.key, [])
        if not ranges:
            result[section.key] = section.html
            continue
        discussion = links.path("comments.section_discussion", slug=consultation.slug, key=section.key)
        merged = len(ranges) > MAX_RANGES
        marks = []
        for h in passages(ranges, section.text) if merged else ranges:
            if merged:
                first = max(h.contribution_ids)
                query = [("from", h.start), ("to", h.end), *([("text", text)] if text else [])]
            else:
                first = h.contribution_ids[0]
                query = [("annotation", i) for i in h.contribution_ids]
            marks.append(
                Highlight(
                    start=h.start,
                    end=h.end,
                    href=f"{show}{first}",
                    label=mark_label(h),
                    count=len(h.contribution_ids),
                    id=str(first),
                    discussion=f"{discussion}?{urlencode(query)}",
                )
            )
        result[section.key] = _highlighted(section.html, tuple(marks))
    return result


@lru_cache(maxsize=256)
def _highlighted(section_html: str, marks: tuple[Highlight, ...]) -> str:
    """Drawing the marks parses the section's HTML: most requests ask for the same sections
    with the same marks (a published text does not change), so each worker keeps the last few."""
    return str(highlight(section_html, marks))


def mark_label(h: Highlighted) -> str:
    """What a screen reader says for a highlighted range: how many comments, on which words."""
    n = len(h.contribution_ids)
    quote = h.exact if len(h.exact) <= 60 else h.exact[:59] + "…"
    if h.state == "changed":
        return ngettext(
            "%(num)d comment on “%(quote)s” (the wording has changed since)",
            "%(num)d comments on “%(quote)s” (the wording has changed since)",
            n,
            quote=quote,
        )
    if h.state == "moved":
        return ngettext(
            "%(num)d comment on “%(quote)s” (moved here from another section)",
            "%(num)d comments on “%(quote)s” (moved here from another section)",
            n,
            quote=quote,
        )
    return ngettext("%(num)d comment on “%(quote)s”", "%(num)d comments on “%(quote)s”", n, quote=quote)
