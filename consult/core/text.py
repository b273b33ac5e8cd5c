"""Text handling: Markdown rendering, HTML sanitising and plain-text extraction.

This is the only module in Consult that imports bleach, markdown-it-py and mdit-py-plugins;
everything else goes through :func:`render_markdown`, :func:`plain_text` and
:func:`render_plain`, so either library can be replaced here alone.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import threading
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Final, TypeGuard

import bleach
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock, heading, html_block
from markupsafe import Markup, escape
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

__all__ = [
    "MarkdownBlock",
    "markdown_blocks",
    "render_markdown",
    "plain_text",
    "render_plain",
    "escape_markdown",
    "section_text",
    "text_content",
    "link_is_allowed",
    "link_fragments_to",
    "MarkdownImage",
    "markdown_images",
    "is_local_image",
]

ALLOWED_TAGS: Final = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
        "pre", "code", "em", "strong", "b", "i", "u", "s", "del", "ins", "sub",
        "sup", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th",
        "td", "div", "span", "abbr", "dl", "dt", "dd", "caption", "img", "section",
    }
)  # fmt: skip
"""Everything else is stripped. ``img`` only with a ``src`` of this site's uploaded files
(:data:`LOCAL_IMAGE`): an image from elsewhere would tell another site who reads."""

LOCAL_IMAGE: Final = re.compile(r"/files/[1-9][0-9]{0,11}/[A-Za-z0-9][A-Za-z0-9._-]{0,119}")
"""The address of an uploaded file (``attachments``: ``/files/ID/NAME``, NAME sanitised), the one
kind of image source the policy text may show."""


def is_local_image(src: str) -> bool:
    """Whether an image's address is one of this site's uploaded files, which the text shows."""
    return LOCAL_IMAGE.fullmatch(src or "") is not None


ALLOWED_SCHEMES: Final = frozenset({"http", "https", "mailto"})
LINK_REL: Final = "nofollow ugc noopener"
ID_PREFIX: Final = "p-"
"""Author ids are namespaced so they never clash with the app's own ids."""

_ID_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_SPAN_RE: Final = re.compile(r"[0-9]{1,3}")
_START_RE: Final = re.compile(r"-?[0-9]{1,9}")
_SCOPES: Final = frozenset({"row", "col", "rowgroup", "colgroup"})
# Characters a browser ignores or that can hide a scheme (whitespace, controls).
_LINK_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_URL_JUNK_RE: Final = re.compile(r"[\x00-\x20\x7f-\xa0\s\u200b-\u200f\u2028\u2029\ufeff]+")
_WS_RE: Final = re.compile(r"\s+")

_md: Final = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).use(footnote_plugin)

# --- footnotes ---------------------------------------------------------------------------------
# Markdown footnotes ("text[^24]" and "[^24]: the note") are drawn as real footnotes: the marker
# links to its note and the note back, each link named in words ("Footnote 24", "Back to the text
# of footnote 24"), the notes a list in a <section> named "Footnotes". A numeric label is shown as
# written (the policy's own numbers), any other by its order. Ids carry a short hash of the source,
# so the notes of two sections on one page never share an id; the sanitiser keeps exactly this
# markup (see _allow_attribute).
FOOTNOTES_LABEL: Final = "Footnotes"
_FOOTNOTE_NAME_RE: Final = re.compile(r"(?:Footnote|Back to the text of footnote) [A-Za-z0-9._-]{1,32}")


def _footnote_number(env, note_id: int) -> str:
    label = str(env.get("footnotes", {}).get("list", {}).get(note_id, {}).get("label") or "")
    return label if label.isdigit() and len(label) <= 9 else str(note_id + 1)


def _footnote_ident(env, note_id: int) -> str:
    return f"fn-{env.get('docId', 'x')}-{_footnote_number(env, note_id)}"


def _render_footnote_ref(self, tokens, idx, options, env) -> str:
    meta = tokens[idx].meta
    number, ident = _footnote_number(env, meta["id"]), _footnote_ident(env, meta["id"])
    ref = f"{ident}-ref" + (f"-{meta['subId']}" if meta.get("subId", 0) > 0 else "")
    return f'<sup><a href="#{ident}" id="{ref}" aria-label="Footnote {number}">{number}</a></sup>'


def _render_footnote_block_open(self, tokens, idx, options, env) -> str:
    return f'<section aria-label="{FOOTNOTES_LABEL}">\n<ol>\n'


def _render_footnote_block_close(self, tokens, idx, options, env) -> str:
    return "</ol>\n</section>\n"


def _render_footnote_open(self, tokens, idx, options, env) -> str:
    note_id = tokens[idx].meta["id"]
    number = _footnote_number(env, note_id)
    value = f' value="{number}"' if number.isdigit() else ""
    return f'<li id="{_footnote_ident(env, note_id)}"{value}>'


def _render_footnote_anchor(self, tokens, idx, options, env) -> str:
    meta = tokens[idx].meta
    number, ident = _footnote_number(env, meta["id"]), _footnote_ident(env, meta["id"])
    ref = f"{ident}-ref" + (f"-{meta['subId']}" if meta.get("subId", 0) > 0 else "")
    return f' <a href="#{ref}" aria-label="Back to the text of footnote {number}">\u21a9\ufe0e</a>'


for _rule, _render in (
    ("footnote_ref", _render_footnote_ref),
    ("footnote_block_open", _render_footnote_block_open),
    ("footnote_block_close", _render_footnote_block_close),
    ("footnote_open", _render_footnote_open),
    ("footnote_anchor", _render_footnote_anchor),
):
    _md.add_render_rule(_rule, _render)


def _image_as_its_description(self, tokens, idx, options, env) -> str:
    """An uploaded file's image (:func:`is_local_image`) is shown; any other image is shown as its
    description (its alt text), never as an image (see ``markdown_images``, which names those
    to the author)."""
    description = self.renderInlineAsText(tokens[idx].children or [], options, env)
    src = str(tokens[idx].attrGet("src") or "")
    if is_local_image(src):
        return f'<img src="{html.escape(src)}" alt="{html.escape(" ".join(description.split()))}">'
    return html.escape(description, quote=False)


_md.add_render_rule("image", _image_as_its_description)

_IMG_TAG: Final = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_IMG_ATTR: Final = re.compile(r"""\b(alt|title|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


@dataclass(frozen=True)
class MarkdownImage:
    """An image in a Markdown text: what it shows (its alt text, or its title), where it is
    (``src``) and on which line (1-based)."""

    description: str
    src: str
    line: int


def markdown_images(source: str) -> list[MarkdownImage]:
    """Every image of a Markdown text, Markdown's ``![alt](src)`` and raw ``<img>`` tags alike,
    in order. Consult shows only images uploaded to it (:func:`is_local_image`; others would
    tell another site who reads): any other Markdown image is shown as its description, a raw
    ``<img>`` is removed, and the author is told of each through this list (``importing.images_not_kept``)."""
    found: list[MarkdownImage] = []
    for token in _md.parse(str(source)):
        line = (token.map[0] + 1) if token.map else 0
        if token.type == "html_block":
            found.extend(_img_tags(token.content, line))
        for child in token.children or []:
            if child.type == "image":
                alt = _md.renderer.renderInlineAsText(child.children or [], _md.options, {})
                found.append(MarkdownImage(" ".join(alt.split()), str(child.attrGet("src") or ""), line))
            elif child.type == "html_inline":
                found.extend(_img_tags(child.content, line))
    return found


def _img_tags(markup: str, line: int) -> Iterator[MarkdownImage]:
    for tag in _IMG_TAG.findall(markup):
        attrs = {m.group(1).lower(): html.unescape(next(g for g in m.groups()[1:] if g is not None)) for m in _IMG_ATTR.finditer(tag)}
        yield MarkdownImage(" ".join((attrs.get("alt") or attrs.get("title") or "").split()), attrs.get("src", ""), line)


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    """Attribute allowlist: valid ids anywhere, a few per-tag attributes, nothing else.

    `style`, `class`, `on*` and everything unlisted are dropped. Values are
    still entity-encoded at this point, so an id written with entities fails.
    """
    if name == "id":
        return _ID_RE.fullmatch(value) is not None
    match tag, name:
        case ("a", "href"):
            return True  # checked again, and rewritten, by _safe_href
        case ("abbr", "title"):
            return "<" not in html.unescape(value)  # no markup-looking tooltips
        case ("th" | "td", "colspan" | "rowspan"):
            return _SPAN_RE.fullmatch(value) is not None
        case ("th" | "td", "scope"):
            return value in _SCOPES
        case ("ol", "start"):
            return _START_RE.fullmatch(value) is not None
        case ("ol", "type"):
            return value in _LIST_TYPES  # "i." or "a." numbering is part of the meaning
        case ("img", "src"):
            return is_local_image(html.unescape(value))
        case ("img", "alt"):
            return True
        case ("li", "value"):
            return _START_RE.fullmatch(value) is not None  # a footnote keeps its number
        case ("a", "aria-label"):
            return _FOOTNOTE_NAME_RE.fullmatch(value) is not None  # footnote links, named in words
        case ("section", "aria-label"):
            return value == FOOTNOTES_LABEL
    return False


def _safe_href(raw: str) -> str | None:
    """Return the href to keep, or None to drop it.

    Only http/https/mailto URLs and `#fragment` links whose fragment is a valid
    id survive; fragments are rewritten to the namespaced id (`#x` -> `#p-x`).
    The check runs on the entity-decoded value with whitespace and control
    characters removed, so `jav&#x09;ascript:` and friends are caught.
    """
    value = html.unescape(raw).strip()
    if value.startswith("#"):
        fragment = value[1:]
        return f"#{ID_PREFIX}{fragment}" if _ID_RE.fullmatch(fragment) else None
    scheme, colon, _ = _URL_JUNK_RE.sub("", value).partition(":")
    if colon and scheme.lower() in ALLOWED_SCHEMES:
        return raw  # still entity-encoded; the serializer keeps it that way
    return None  # other schemes, relative and protocol-relative URLs


class _PostSanitizeFilter:
    """html5lib token filter run after bleach's sanitiser.

    Namespaces ids, rewrites/validates hrefs, adds rel to external links and
    turns entity tokens into plain characters (so `&#8617;` comes out as "↩";
    the serializer re-escapes `<`, `>` and `&`).
    """

    def __init__(self, source: Iterator[dict[str, Any]]) -> None:
        self.source = source

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in self.source:
            kind = token["type"]
            if kind == "Entity":
                yield {"type": "Characters", "data": html.unescape(f"&{token['name']};")}
                continue
            if kind in ("StartTag", "EmptyTag"):
                attrs: dict[tuple[str | None, str], str] = token["data"]
                if token["name"] == "img" and (None, "src") not in attrs:
                    continue  # an image from elsewhere: its src was refused, nothing is left to show
                if (None, "id") in attrs:
                    attrs[(None, "id")] = ID_PREFIX + attrs[(None, "id")]
                if token["name"] == "a" and (None, "href") in attrs:
                    href = _safe_href(attrs.pop((None, "href")))
                    if href is not None:
                        attrs[(None, "href")] = href
                        if not href.startswith("#"):
                            attrs[(None, "rel")] = LINK_REL
            yield token


_HTML_NS: Final = "http://www.w3.org/1999/xhtml"
_LISTS: Final = frozenset({"ul", "ol"})
_LIST_TYPES: Final = frozenset({"1", "a", "A", "i", "I"})
HTML_SPACE: Final = " \t\n\r\f"  # not str.strip()'s set: a no-break space is visible


class _Element:
    """An element of the token tree built by :class:`_ListRepairFilter`."""

    __slots__ = ("name", "start", "children", "end")

    def __init__(self, start: dict[str, Any] | None, end: dict[str, Any] | None = None) -> None:
        self.start, self.end = start, end
        self.name: str | None = start["name"] if start else None  # None: the fragment root
        self.children: list[_Element | dict[str, Any]] = []

    @classmethod
    def new(cls, name: str) -> _Element:
        return cls(
            {"type": "StartTag", "name": name, "namespace": _HTML_NS, "data": {}},
            {"type": "EndTag", "name": name, "namespace": _HTML_NS},
        )


def _is_blank(node: _Element | dict[str, Any]) -> bool:
    return isinstance(node, dict) and node["type"] in ("Characters", "SpaceCharacters") and not node["data"].strip(HTML_SPACE)


def _named(node: _Element | dict[str, Any] | None, names: frozenset[str] | str) -> TypeGuard[_Element]:
    return isinstance(node, _Element) and node.name is not None and node.name in names


def _repair_list(children: list[_Element | dict[str, Any]]) -> list[_Element | dict[str, Any]]:
    """Children of a ul/ol made all <li> (whitespace text aside).

    A nested ul/ol moves into the preceding <li> (``<ul><li>a</li><ul>..</ul>``,
    as the draft policy writes it); other content, and a nested list with no
    <li> before it, is wrapped in a new <li>, runs of it in the same one.
    """
    out: list[_Element | dict[str, Any]] = []
    created: set[int] = set()  # ids of the <li>s made here: they take in what follows
    for child in children:
        if _is_blank(child) or _named(child, "li"):
            out.append(child)
            continue
        last = len(out)
        while last and _is_blank(out[last - 1]):
            last -= 1
        previous = out[last - 1] if last else None
        if _named(previous, "li") and (id(previous) in created or _named(child, _LISTS)):
            target = previous
        else:
            target = _Element.new("li")
            created.add(id(target))
            out.append(target)
            last = len(out)
        target.children.extend(out[last:])  # whitespace between the <li> and the child
        del out[last:]
        target.children.append(child)
    return out


def _wrap_stray_items(children: list[_Element | dict[str, Any]]) -> list[_Element | dict[str, Any]]:
    """Children of a non-list element, each run of <li> siblings wrapped in one <ul>.

    Whitespace between the items goes into the list; footnote lists in the
    policies are unnumbered (each note carries its own number), hence <ul>.
    """
    out: list[_Element | dict[str, Any]] = []
    run: _Element | None = None  # the <ul> being filled
    pending: list[_Element | dict[str, Any]] = []  # whitespace after the run's last <li>
    for child in children:
        if _named(child, "li"):
            if run is None:
                run = _Element.new("ul")
                out.append(run)
            run.children.extend(pending)
            run.children.append(child)
            pending = []
        elif run is not None and _is_blank(child):
            pending.append(child)
        else:
            out.extend(pending)
            out.append(child)
            run, pending = None, []
    out.extend(pending)
    return out


class _ListRepairFilter:
    """html5lib token filter run last: every <li> in a list, every list child an <li>.

    Raw HTML in the policies nests lists as ``</li><ul>`` and leaves footnote
    <li>s without a list; screen readers then misreport the lists (axe rules
    "list" and "listitem"). The (sanitised, balanced) token stream is built
    into a tree, each element's children are repaired as its end tag arrives,
    and the tree is replayed. Both passes are iterative: raw HTML can nest
    deeper than Python's recursion limit.
    """

    def __init__(self, source: Iterator[dict[str, Any]]) -> None:
        self.source = source

    @staticmethod
    def _repair(element: _Element) -> None:
        if element.name in _LISTS:
            element.children = _repair_list(element.children)
        elif any(_named(child, "li") for child in element.children):
            element.children = _wrap_stray_items(element.children)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        root = _Element(None)
        stack = [root]
        for token in self.source:
            if token["type"] == "StartTag":
                element = _Element(token)
                stack[-1].children.append(element)
                stack.append(element)
            elif token["type"] == "EndTag" and len(stack) > 1:
                element = stack.pop()
                element.end = token
                self._repair(element)
            else:
                stack[-1].children.append(token)
        while stack:  # the root, and unclosed elements (not expected from a tree walker)
            self._repair(stack.pop())

        pending: list[tuple[Iterator[_Element | dict[str, Any]], dict[str, Any] | None]]
        pending = [(iter(root.children), None)]
        while pending:
            children, end = pending[-1]
            for node in children:
                if isinstance(node, _Element):
                    yield node.start  # type: ignore[misc]
                    pending.append((iter(node.children), node.end))
                    break
                yield node
            else:
                pending.pop()
                if end is not None:
                    yield end


# bleach.Cleaner is not thread-safe (its parser keeps state): one per thread.
_local = threading.local()


def _cleaner() -> bleach.Cleaner:
    cleaner: bleach.Cleaner | None = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = _local.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=_allow_attribute,
            protocols=ALLOWED_SCHEMES,
            strip=True,
            strip_comments=True,
            filters=[_PostSanitizeFilter, _ListRepairFilter],
        )
    return cleaner


def _sanitize(fragment: str) -> str:
    """Clean an HTML fragment against the allowlist (see module constants)."""
    return _cleaner().clean(fragment)


def render_markdown(source: str) -> Markup:
    """Render Markdown (CommonMark + tables + strikethrough, raw HTML allowed) to safe HTML.

    Raw HTML is parsed, then everything is sanitised: disallowed tags are
    stripped (their text kept, escaped), disallowed attributes dropped.
    Lists are then made well formed (see :class:`_ListRepairFilter`).
    Results are cached (LRU) since a cold render of 10 KB costs milliseconds.
    """
    return _render_cached(str(source))  # str(): never let a Markup subclass in


@functools.lru_cache(maxsize=512)
def _render_cached(source: str) -> Markup:
    doc_id = hashlib.blake2b(source.encode(), digest_size=3).hexdigest()  # footnote ids, unique per text
    return Markup(_sanitize(_md.render(source, {"docId": doc_id})))


# --- the block structure of a document ------------------------------------------


def _html_block_ended_by_headings(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """CommonMark's HTML block, except that at the top of the document an ATX heading line ends it.

    CommonMark keeps "# Title" after a "</div>" line as raw HTML up to the
    next blank line; an author splitting a document at its headings means a
    heading there (see :func:`markdown_blocks`). The heading lines are found
    once per document, so the block is cut without looking ahead.
    """
    if silent or state.level != 0:  # inside a list or a block quote, the block is left as it is
        return html_block(state, start_line, end_line, silent)
    lines = state.env.get("_heading_lines")
    if lines is None:
        lines = state.env["_heading_lines"] = [line for line in range(state.lineMax) if heading(state, line, state.lineMax, True)]
    index = bisect_right(lines, start_line)
    if index < len(lines):
        end_line = min(end_line, lines[index])
    return html_block(state, start_line, end_line, silent)


@functools.cache
def _block_parser(*, front_matter: bool, headings_end_html: bool) -> MarkdownIt:
    # Block structure only: inline parsing (most of the cost) is left out.
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).disable(["inline", "text_join"])
    if front_matter:
        md.use(front_matter_plugin)
    if headings_end_html:
        md.block.ruler.at("html_block", _html_block_ended_by_headings, {"alt": ["paragraph", "reference", "blockquote"]})
    return md


@dataclass(frozen=True)
class MarkdownBlock:
    """A block of a Markdown document as :func:`render_markdown` reads it.

    ``kind`` is markdown-it's token type without ``_open``: "heading",
    "paragraph", "fence", "code_block" (indented code), "html_block", "hr",
    "bullet_list", "list_item", "blockquote", "table", "front_matter"...
    Lines count from 0 in the source as given; ``end`` is the line after the
    block's last. ``depth`` is 0 for a block at the top of the document, more
    inside lists and block quotes. ``markup`` is "#" to "######" for an ATX
    heading ("=" or "-" for a setext one), the fence for a fence. ``content``
    is a heading's Markdown source (closing hashes removed), a fence's or
    front matter's text, else "".
    """

    kind: str
    start: int
    end: int
    depth: int
    markup: str
    content: str


def markdown_blocks(source: str, *, front_matter: bool = False, headings_end_html: bool = False) -> list[MarkdownBlock]:
    """The blocks of ``source`` in document order, containers before what they contain.

    With ``front_matter``, a leading ``---`` ... ``---`` (or ``...``) block is
    read as front matter (mdit-py-plugins' front_matter plugin), not as a
    thematic break and a paragraph. With ``headings_end_html``, an ATX
    heading line ends an HTML block at the top of the document instead of
    being part of it (the reading of a document cut at its headings, each
    part rendered on its own).
    """
    parser = _block_parser(front_matter=front_matter, headings_end_html=headings_end_html)
    tokens = parser.parse(str(source))
    blocks: list[MarkdownBlock] = []
    for index, token in enumerate(tokens):
        if token.map is None or token.type == "inline" or token.nesting < 0:
            continue
        content = token.content
        if token.type == "heading_open":
            content = tokens[index + 1].content
        blocks.append(MarkdownBlock(token.type.removesuffix("_open"), token.map[0], token.map[1], token.level, token.markup, content))
    return blocks


# --- plain text --------------------------------------------------------------

_BLOCK_TAGS: Final = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "div", "hr",
     "ul", "ol", "dl", "table"}
)  # fmt: skip
_LINE_TAGS: Final = frozenset({"li", "dt", "dd", "tr", "caption", "br"})
_LIST_TAGS: Final = frozenset({"ul", "ol", "dl", "table"})


class _TextExtractor(HTMLParser):
    """Collect text as blocks of lines.

    Block elements end a block; list items, table rows, dt/dd and <br> end a
    line; table cells are separated by a space. Inside a list or table every break is a line break, so a (nested)
    list stays one block with one item per line.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[list[str]] = []
        self._lines: list[str] = []
        self._parts: list[str] = []
        self._list_depth = 0

    def _end_line(self) -> None:
        line = _WS_RE.sub(" ", "".join(self._parts)).strip()
        self._parts = []
        if line:
            self._lines.append(line)

    def _end_block(self) -> None:
        self._end_line()
        if self._lines:
            self.blocks.append(self._lines)
            self._lines = []

    def _break(self, tag: str) -> None:
        if tag in _BLOCK_TAGS and self._list_depth == 0:
            self._end_block()
        elif tag in _BLOCK_TAGS or tag in _LINE_TAGS:
            self._end_line()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._break(tag)
        if tag in _LIST_TAGS:
            self._list_depth += 1
        elif tag in ("td", "th"):
            self._parts.append(" ")  # cells of a row: one line, space-separated

    def handle_endtag(self, tag: str) -> None:
        if tag in _LIST_TAGS and self._list_depth > 0:
            self._list_depth -= 1
        self._break(tag)

    def handle_data(self, data: str) -> None:
        self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._end_block()


def plain_text(source: str) -> str:
    """The text a reader sees in a Markdown source, deterministically.

    Blocks are separated by "\\n\\n", list items/table rows/<br> by "\\n";
    whitespace inside a line collapses to one space; entities are decoded;
    the result is stripped. Derived from the sanitised HTML, so raw HTML
    blocks contribute their text and nothing hidden leaks in.
    """
    return _plain_cached(str(source))


@functools.lru_cache(maxsize=512)
def _plain_cached(source: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(str(render_markdown(source)))
    extractor.close()
    return "\n\n".join("\n".join(lines) for lines in extractor.blocks)


def render_plain(text: str) -> Markup:
    """Escape plain text; blank-line-separated blocks become <p>, single newlines <br>."""
    normalized = str(text).replace("\r\n", "\n").replace("\r", "\n")  # str(): Markup would skip escaping
    paragraphs: list[str] = []
    for block in re.split(r"\n[ \t]*\n", normalized):
        lines = [escape(line.strip()) for line in block.strip().split("\n")]
        if any(lines):
            paragraphs.append("<p>" + "<br>\n".join(lines) + "</p>")
    return Markup("\n".join(paragraphs))


# Characters that are Markdown anywhere in a line (CommonMark escapes any ASCII punctuation with a
# backslash, so escaping one that needed none changes nothing): emphasis, code, links and images,
# raw HTML and autolinks, entities, tables, strikethrough, CriticMarkup's braces, ATX headings.
_MARKDOWN_ANYWHERE: Final = re.compile(r"[\\`*_\[\]<>&|~{}#]")
# ... and those that are Markdown only at the start of a line: bullets and setext underlines, and
# the dot or parenthesis after an ordered list's number ("1. ", not "5.1 Pilot").
_MARKDOWN_LINE_START: Final = re.compile(r"^(?:([-+=])|(\d{1,9})([.)])(?=[ \t]|$))", re.MULTILINE)
_LEADING_SPACE: Final = re.compile(r"^[ \t]+", re.MULTILINE)


def _escape_line_start(match: re.Match[str]) -> str:
    bullet, number, delimiter = match.groups()
    return "\\" + bullet if bullet else f"{number}\\{delimiter}"


def escape_markdown(value: str, *, inline: bool = False, line_start: bool = True) -> str:
    """Plain text written into a Markdown file so that it renders as exactly that text: a title,
    a heading, a name or a note like ``<script>``, ``*not bold*`` or ``[x](javascript:…)`` comes
    out literally, never as HTML, emphasis or a link. ``inline``: on one line (a heading, a table
    cell), whitespace collapsed. Spaces that begin a line are dropped (four of them would make a
    code block; rendered, they show nothing), except at the very start when ``line_start`` is
    false: the text continues a line (a piece of a redline)."""
    text = " ".join(value.split()) if inline else value.replace("\r\n", "\n").replace("\r", "\n")
    if line_start:
        text = _LEADING_SPACE.sub("", text)
    else:
        first, newline, rest = text.partition("\n")
        text = first + newline + _LEADING_SPACE.sub("", rest)
    text = _MARKDOWN_ANYWHERE.sub(lambda m: "\\" + m.group(0), text)
    return _MARKDOWN_LINE_START.sub(_escape_line_start, text)


class _TextContent(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_content(rendered_html: str) -> str:
    """The DOM ``textContent`` of sanitised HTML: every text node, in order, as it is.

    Annotations count their offsets in Unicode code points of this string (what a browser's
    ``textContent`` of the section body gives, and what the W3C TextPositionSelector means),
    so it must stay byte-for-byte what the browser sees; never normalise it.
    """
    parser = _TextContent()
    parser.feed(str(rendered_html))
    parser.close()
    return "".join(parser.parts)


def section_text(source: str) -> str:
    """The text of a section whose Markdown body is ``source``: :func:`text_content` of its
    :func:`render_markdown` HTML, exactly as a browser's ``textContent`` has it (not normalised).

    The one offset space of annotations: stored as ``Section.text``, shipped as the record's
    section ``text``, the ``textContent`` of the reading page's ``#t-KEY`` element, and what
    ``TextPositionSelector`` offsets and ``TextQuoteSelector`` quotes are taken from.
    """
    return text_content(render_markdown(source))


_FRAGMENT_HREF_RE: Final = re.compile(r'href="#([^"]*)"')
_ID_ATTR_RE: Final = re.compile(r'\sid="([^"]*)"')


def link_fragments_to(rendered_html: str, page_url: str) -> Markup:
    """Sanitised HTML shown apart from the page it belongs to (one section of a policy): each
    ``href="#id"`` whose target is not in it (a footnote in another section) goes to ``page_url#id``."""
    here = set(_ID_ATTR_RE.findall(rendered_html))
    target = html.escape(page_url, quote=True)

    def retarget(match: re.Match[str]) -> str:
        return match.group(0) if match.group(1) in here else f'href="{target}#{match.group(1)}"'

    return Markup(_FRAGMENT_HREF_RE.sub(retarget, rendered_html))


def link_is_allowed(href: str) -> bool:
    """Whether a link's scheme (as a browser reads it, ignoring junk that can hide one) is one
    the sanitiser keeps; a relative link has none and is allowed."""
    scheme = _LINK_SCHEME_RE.match(_URL_JUNK_RE.sub("", html.unescape(href)))
    return scheme is None or scheme.group(1).lower() in ALLOWED_SCHEMES
