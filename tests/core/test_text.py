"""Tests for consult.core.text: Markdown rendering, sanitising, plain text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from consult.core.text import plain_text, render_markdown, render_plain

# Kept here (not imported) so the test is an independent statement of the policy.
ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "code", "em", "strong", "b", "i", "u", "s", "del", "ins", "sub", "sup",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "div",
    "span", "abbr", "dl", "dt", "dd", "caption", "section",
}  # fmt: skip
ALLOWED_ATTRS = {
    "href",
    "rel",
    "id",
    "title",
    "colspan",
    "rowspan",
    "scope",
    "start",
    "type",
    "value",
    "aria-label",
}  # the last two: footnotes
SAFE_HREF = re.compile(r"(?i)(https?|mailto):|#p-[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
SAFE_ID = re.compile(r"p-[A-Za-z][A-Za-z0-9_-]{0,63}")
URL_JUNK = re.compile(r"[\x00-\x20\x7f-\xa0\s]+")


class Walker(HTMLParser):
    """Record everything html.parser sees in rendered output."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.other: list[str] = []  # comments, doctypes, processing instructions
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.other.append(f"comment {data!r}")

    def handle_decl(self, decl):
        self.other.append(f"decl {decl!r}")

    def handle_pi(self, data):
        self.other.append(f"pi {data!r}")

    def unknown_decl(self, data):
        self.other.append(f"unknown {data!r}")


def walk(rendered: str) -> Walker:
    walker = Walker()
    walker.feed(rendered)
    walker.close()
    return walker


def elements(rendered: str, tag: str) -> list[dict[str, str | None]]:
    return [dict(attrs) for name, attrs in walk(rendered).elements if name == tag]


def assert_safe(rendered: str) -> None:
    """The structural safety invariants every rendering must satisfy."""
    walker = walk(rendered)
    assert not walker.other, walker.other
    for tag, attrs in walker.elements:
        assert tag in ALLOWED_TAGS, f"disallowed element <{tag}> in {rendered!r}"
        for name, value in attrs:
            value = value or ""
            assert not name.startswith("on"), (tag, name)
            assert name not in ("style", "class"), (tag, name)
            assert name in ALLOWED_ATTRS, (tag, name)
            compact = URL_JUNK.sub("", value).lower()
            assert "<script" not in compact, (tag, name, value)
            assert "javascript:" not in compact, (tag, name, value)
            if name == "href":
                assert tag == "a"
                assert SAFE_HREF.match(compact), (tag, name, value)
            if name == "type":
                assert tag == "ol" and value in {"1", "a", "A", "i", "I"}, (tag, name, value)
            if name == "id":
                assert SAFE_ID.fullmatch(value), (tag, name, value)
    # Nothing html.parser would treat as script/markup-bearing raw text.
    assert "<script" not in rendered.lower()


HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<script>alert(1)",  # unclosed
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)",  # unclosed tag
    '<IMG SRC="javascript:alert(1);">',
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "![pixel](http://tracker.example/p.gif)",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="0" y="20">x</text></a></svg>',
    '<math><a xlink:href="javascript:alert(1)">x</a></math>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "[x][1]\n\n[1]: javascript:alert(1)",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JAVASCRIPT:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    '<a href="jav\tascript:alert(1)">x</a>',
    '<a href="java\x00script:alert(1)">x</a>',
    '<a href=" &#14;  javascript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
    '<a href="jAvAsCrIpT&colon;alert&lpar;1&rpar;">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="//evil.example/phish">x</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<form action="javascript:alert(1)"><input type=submit formaction="javascript:alert(1)"></form>',
    "<input autofocus onfocus=alert(1)>",
    "<style>@import 'http://xss.example/xss.css';</style>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    '<div style="position:fixed;top:0;left:0;width:100%;height:100%">fake login</div>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    '<a href="#" onclick="alert(1)">x</a>',
    '<a href="mailto:a@example.org" onmouseover="alert(1)">x</a>',
    "<!-- <script>alert(1)</script> -->",
    "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    '<a href="http://ok.example" title=\'"><script>alert(1)</script>\'>x</a>',
    '<abbr title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">x</abbr>',
    '<a id="a" onclick="alert(1)" href="#a onclick=alert(1)">x</a>',
    '<div id="x" onmouseover="alert(1)">x</div>',
    '<p class="admin-banner" id="main">Official notice</p>',
    "<details open ontoggle=alert(1)>x</details>",
    "<body onload=alert(1)>",
    "<x onmouseover=alert(1)>hover</x>",
    "<xss onafterscriptexecute=alert(1)>x</xss>",
    "<marquee onstart=alert(1)>x</marquee>",
    '<video><source onerror="alert(1)"></video>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<textarea><script>alert(1)</script></textarea>",
    "<template><script>alert(1)</script></template>",
    '<table background="javascript:alert(1)"><tr><td background="javascript:alert(1)">x</td></tr></table>',
    '<a href="https://ok.example" target="_blank" rel="opener" style="color:red">x</a>',
    "<!DOCTYPE html><html><head><title>x</title></head><body>y</body></html>",
    "<?xml version='1.0'?><x>y</x>",
    "<![CDATA[<script>alert(1)</script>]]>",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_input_is_neutralised(source: str) -> None:
    rendered = render_markdown(source)
    assert isinstance(rendered, Markup)
    assert_safe(rendered)
    # Same input embedded in a larger document is just as safe.
    assert_safe(render_markdown(f"Intro *text*.\n\n{source}\n\nOutro [ok](https://ok.example)."))


def test_enough_hostile_inputs() -> None:
    assert len(set(HOSTILE)) >= 35


def test_stripped_tags_keep_their_visible_text() -> None:
    rendered = render_markdown('<p class="admin-banner" id="main">Official notice</p>')
    assert elements(rendered, "p") == [{"id": "p-main"}]
    assert "Official notice" in rendered
    assert "hover" in render_markdown("<x onmouseover=alert(1)>hover</x>")
    assert "fake login" in render_markdown('<div style="position:fixed">fake login</div>')


# --- links -------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "[x](https://example.org/page)",
        "<https://example.org/page>",
        '<a href="http://example.org/" rel="opener">x</a>',
        "[mail](mailto:someone@example.org)",
    ],
)
def test_external_links_get_rel_nofollow_ugc(source: str) -> None:
    (link,) = elements(render_markdown(source), "a")
    rel = (link["rel"] or "").split()
    assert "nofollow" in rel and "ugc" in rel
    assert "opener" not in rel


def test_link_href_is_preserved_including_query_string() -> None:
    (link,) = elements(render_markdown("[x](https://example.org/?a=1&b=2&copy=3)"), "a")
    assert link["href"] == "https://example.org/?a=1&b=2&copy=3"


def test_relative_and_protocol_relative_links_lose_their_href() -> None:
    rendered = render_markdown("[rel](/admin) and [proto](//evil.example) and [q](?x=1)")
    assert [link.get("href") for link in elements(rendered, "a")] == [None, None, None]
    assert "rel" in rendered and "proto" in rendered


def test_fragment_links_and_ids_are_namespaced() -> None:
    rendered = render_markdown('<span id="content">x</span> [see](#content) <a href="#fn&#49;">1</a>')
    assert elements(rendered, "span") == [{"id": "p-content"}]
    assert [link["href"] for link in elements(rendered, "a")] == ["#p-content", "#p-fn1"]
    # In-page links are not external: no rel needed.
    assert all("rel" not in link for link in elements(rendered, "a"))


@pytest.mark.parametrize("bad_id", ["1abc", "-x", "a b", "a:b", "x" * 65, "", "é"])
def test_invalid_ids_and_fragments_are_dropped(bad_id: str) -> None:
    rendered = render_markdown(f'<sup id="{bad_id}">1</sup> <a href="#{bad_id}">x</a>')
    assert elements(rendered, "sup") == [{}]
    assert elements(rendered, "a") == [{}]


def test_table_list_and_abbr_attributes() -> None:
    rendered = render_markdown(
        '<table><caption>C</caption><tr><th scope="col" colspan="2" class="x">H</th></tr>'
        '<tr><td rowspan="3" scope="evil" width="9">1</td></tr></table>\n\n'
        '<ol start="4" type="a"><li>four</li></ol>\n\n<abbr title="Office of Management and Budget">OMB</abbr>'
    )
    assert_safe(rendered)
    assert elements(rendered, "th") == [{"scope": "col", "colspan": "2"}]
    assert elements(rendered, "td") == [{"rowspan": "3"}]
    assert elements(rendered, "ol") == [{"start": "4", "type": "a"}]
    assert elements(render_markdown('<ol type="disc" start="x"><li>x</li></ol>'), "ol") == [{}]
    assert elements(rendered, "abbr") == [{"title": "Office of Management and Budget"}]


def test_markdown_features() -> None:
    rendered = render_markdown(
        "# Title\n\nSome *em* **strong** ~~gone~~ `code`\n\n| a | b |\n|:--|---|\n| 1 | 2 |\n\n> quote\n\n```python\nx = 1\n```\n"
    )
    assert_safe(rendered)
    tags = [tag for tag, _ in walk(rendered).elements]
    for tag in ("h1", "em", "strong", "s", "code", "table", "thead", "tbody", "th", "td", "blockquote", "pre"):
        assert tag in tags
    assert elements(rendered, "th")[0] == {}  # markdown-it's style="text-align" dropped
    assert elements(rendered, "code")[-1] == {}  # class="language-python" dropped


def test_entities_render_as_characters() -> None:
    # Inline text is decoded by the Markdown parser, raw HTML blocks by the sanitiser.
    rendered = render_markdown(
        "Back &#8617; &copy; &amp; &lt;b&gt; <span>&#8617;&nbsp;x</span>\n\n<div>&#8617; &#x21a9; &hookleftarrow; &amp; &lt;b&gt;</div>"
    )
    assert "&#" not in rendered and rendered.count("↩") == 5
    assert "©" in rendered
    assert "&amp;" in rendered and "&lt;b&gt;" in rendered  # still escaped
    assert elements(rendered, "b") == []


def test_empty_input() -> None:
    assert render_markdown("") == Markup("")
    assert plain_text("") == ""
    assert render_plain("") == Markup("")


# --- the real policy ----------------------------------------------------------

# Excerpt of the US Federal Source Code Policy (public domain / CC0).
POLICY = """\
The U.S. Government is committed.<sup id="fnr1"><a href="#fn1">1</a></sup>

### Footnotes

<ul style="list-style-type:none">
<li id="fn1"><sup>1</sup><em>Building on Progress</em>, OMB. <a href="https://www.whitehouse.gov/blog/2015/12/21/building-progress">https://www.whitehouse.gov/blog/2015/12/21/building-progress</a> <a href="#fnr1">&#8617;</a></li>
</ul>

<div class="custom_code">

<h4><span>Considerations Regarding Releasing Custom Code as Open Source Software</span></h4>

<ul>
  <li>To what extent is the proposed pilot an effective means?</li>
</ul>
</div>
"""


def test_policy_keeps_its_meaning() -> None:
    rendered = render_markdown(POLICY)
    assert_safe(rendered)
    assert '<sup id="p-fnr1"><a href="#p-fn1">1</a></sup>' in rendered
    assert '<li id="p-fn1">' in rendered
    assert "style" not in rendered
    assert "&#8617;" not in rendered
    assert '<a href="#p-fnr1">↩</a>' in rendered
    assert "custom_code" not in rendered and "class" not in rendered
    assert elements(rendered, "div") == [{}]
    assert "<h4><span>Considerations Regarding Releasing Custom Code as Open Source Software</span></h4>" in rendered
    assert "To what extent is the proposed pilot an effective means?" in rendered
    external = [a for a in elements(rendered, "a") if not (a["href"] or "").startswith("#")]
    assert [a["href"] for a in external] == ["https://www.whitehouse.gov/blog/2015/12/21/building-progress"]
    assert "nofollow" in (external[0]["rel"] or "")


def test_policy_plain_text() -> None:
    assert plain_text(POLICY) == (
        "The U.S. Government is committed.1\n\n"
        "Footnotes\n\n"
        "1Building on Progress, OMB. "
        "https://www.whitehouse.gov/blog/2015/12/21/building-progress ↩\n\n"
        "Considerations Regarding Releasing Custom Code as Open Source Software\n\n"
        "To what extent is the proposed pilot an effective means?"
    )


# --- list structure (axe rules "list" and "listitem") ----------------------------


class Outline(HTMLParser):
    """Where every element and every piece of visible text sits, as a screen reader's tree has it."""

    VOID = {"br", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack = ["#root"]
        self.placed: list[tuple[str, str]] = []  # (tag, parent tag)
        self.loose_in_list: list[str] = []  # visible text directly inside a ul/ol
        self.items: list[dict] = []  # every <li>: its own text, attributes, enclosing <li>
        self._open_items: list[int] = []

    def handle_starttag(self, tag, attrs):
        self.placed.append((tag, self.stack[-1]))
        if tag == "li":
            parent_item = self._open_items[-1] if self._open_items else None
            self.items.append({"text": "", "attrs": dict(attrs), "in_item": parent_item, "list": self.stack[-1]})
            self._open_items.append(len(self.items) - 1)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.placed.append((tag, self.stack[-1]))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()
        if tag == "li":
            self._open_items.pop()

    def handle_data(self, data):
        if self.stack[-1] in ("ul", "ol") and data.strip(" \t\n\r\f"):
            self.loose_in_list.append(data)
        if self._open_items:
            self.items[self._open_items[-1]]["text"] += data


def outline(rendered: str) -> Outline:
    result = Outline()
    result.feed(str(rendered))
    result.close()
    assert result.stack == ["#root"], "unclosed elements"
    return result


def assert_lists_well_formed(rendered: str) -> Outline:
    """Every <li> in a ul/ol, and a ul/ol holds nothing but <li>s (and whitespace)."""
    result = outline(rendered)
    for tag, parent in result.placed:
        if tag == "li":
            assert parent in ("ul", "ol"), f"<li> inside <{parent}>"
        if parent in ("ul", "ol"):
            assert tag == "li", f"<{tag}> directly inside <{parent}>"
    assert result.loose_in_list == [], f"text directly inside a list: {result.loose_in_list}"
    return result


def item_texts(result: Outline) -> list[str]:
    return [" ".join(item["text"].split()) for item in result.items]


# The three shapes of the draft Federal Source Code Policy, shortened.
NESTED_UL_AFTER_ITEM = """\
<ul>
  <li>Is the pilot effective?</li>

  <ul>

<li>Would a different percentage be better?</li>

<li>Would "open source by default" be better?</li>

<li>Is there an alternative approach?</li>
  </ul>

  <li>What are the advantages?</li>

</ul>
"""  # 01-index.md, after import (see test_importing)

NESTED_OL_AFTER_ITEM = """\
<ol>
<li>Code Contributions – anticipate contributions.</li>

<li>Documentation – a README that includes:</li>

  <ol type="i">
    <li>The status of the software;</li>
    <li>License details; and</li>
  </ol>
</ol>
"""  # 07-oss.md

STRAY_FOOTNOTE_ITEMS = """\
Text.<sup id="fnr48"><a href="#fn48">48</a></sup>

### Footnotes
<li id="fn48"><sup>48</sup> *See* <a href="http://www.copyright.gov/circs/circ14.pdf">circ14</a> <a href="#fnr48">&#8617;</a></li>
<li id="fn49"><sup>49</sup> A valid open source license. <a href="#fnr49">&#8617;</a></li>
"""  # 09-Appendixa.md


def test_nested_list_after_an_item_moves_into_that_item() -> None:
    rendered = render_markdown(NESTED_UL_AFTER_ITEM)
    assert_safe(rendered)
    result = assert_lists_well_formed(rendered)
    assert item_texts(result) == [
        "Is the pilot effective?",  # its own text; the sub-questions are in their own items
        "Would a different percentage be better?",
        'Would "open source by default" be better?',
        "Is there an alternative approach?",
        "What are the advantages?",
    ]
    # The sub-questions belong to the first question; the outer list still has two items.
    assert [item["in_item"] for item in result.items] == [None, 0, 0, 0, None]
    assert [item["list"] for item in result.items] == ["ul"] * 5
    assert plain_text(NESTED_UL_AFTER_ITEM) == "\n".join(item_texts(result))


def test_nested_ordered_list_after_an_item_moves_into_that_item() -> None:
    rendered = render_markdown(NESTED_OL_AFTER_ITEM)
    result = assert_lists_well_formed(rendered)
    assert item_texts(result) == [
        "Code Contributions – anticipate contributions.",
        "Documentation – a README that includes:",
        "The status of the software;",
        "License details; and",
    ]
    assert [item["in_item"] for item in result.items] == [None, None, 1, 1]
    assert [item["list"] for item in result.items] == ["ol"] * 4  # still numbered lists


def test_stray_footnote_items_are_wrapped_in_one_list() -> None:
    rendered = render_markdown(STRAY_FOOTNOTE_ITEMS)
    assert_safe(rendered)
    result = assert_lists_well_formed(rendered)
    assert elements(rendered, "ul") == [{}]
    assert [item["attrs"] for item in result.items] == [{"id": "p-fn48"}, {"id": "p-fn49"}]
    assert item_texts(result) == [
        "48 *See* circ14 ↩",  # inside a raw HTML block Markdown is not parsed: as published
        "49 A valid open source license. ↩",
    ]
    # The heading is not pulled into the list, and the links still work.
    assert ("h3", "#root") in result.placed
    assert [a["href"] for a in elements(rendered, "a") if a["href"].startswith("#")] == [
        "#p-fn48", "#p-fnr48", "#p-fnr49",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "texts", "in_item"),
    [
        # Text and other elements directly in a list each become an item, in order.
        ("<ul>loose<li>a</li><p>para</p><li>b</li> tail</ul>", ["loose", "a", "para", "b", "tail"], [None] * 5),
        # A nested list with no item before it gets an item of its own (no text of its own).
        ("<ol><ol><li>x</li></ol><li>y</li></ol>", ["", "x", "y"], [None, 0, None]),
        # Two nested lists after one item both go into it; loose text takes the next list.
        (
            "<ul><li>a</li><ul><li>b</li></ul><ul><li>c</li></ul>text<ul><li>d</li></ul></ul>",
            ["a", "b", "c", "text", "d"],
            [None, 0, 0, None, 3],
        ),
        # A disallowed wrapper stripped by the sanitiser leaves nothing out of place.
        ("<ul><li>a<article><li>b</li></article></li></ul>", ["a", "b"], None),
        ("<ul><li>a</li><blockquote><li>quoted</li></blockquote></ul>", ["a", "", "quoted"], None),
    ],
)
def test_list_structure_is_repaired(source: str, texts: list[str], in_item: list | None) -> None:
    rendered = render_markdown(source)
    assert_safe(rendered)
    result = assert_lists_well_formed(rendered)
    assert item_texts(result) == texts
    if in_item is not None:
        assert [item["in_item"] for item in result.items] == in_item
    # All the text is still there, in its order.
    assert re.sub(r"\s", "", "".join(walk(rendered).text)) == "".join(texts)


def test_stray_items_make_separate_lists() -> None:
    # Runs of stray items become separate lists around other content.
    rendered = render_markdown("<div><li>a</li> <li>b</li><p>mid</p><li>c</li></div>")
    assert [tag for tag, _ in walk(rendered).elements] == ["div", "ul", "li", "li", "p", "ul", "li"]
    assert_lists_well_formed(rendered)
    assert re.sub(r"\s", "", "".join(walk(rendered).text)) == "abmidc"


def test_markdown_lists_are_left_as_they_are() -> None:
    source = "- one\n- two\n  - nested\n\n1. x\n"
    assert render_markdown(source) == Markup(
        "<ul>\n<li>one</li>\n<li>two\n<ul>\n<li>nested</li>\n</ul>\n</li>\n</ul>\n<ol>\n<li>x</li>\n</ol>\n"
    )


def test_deeply_nested_raw_html_does_not_break_the_repair() -> None:
    # The tree pass is iterative: nesting beyond Python's recursion limit is fine.
    depth = 3000
    rendered = render_markdown("<div>" * depth + "<li>deep</li>" + "</div>" * depth)
    result = assert_lists_well_formed(rendered)
    assert item_texts(result) == ["deep"]


# --- plain_text ---------------------------------------------------------------


def test_plain_text_paragraphs_and_emphasis() -> None:
    source = "First *para*\nwraps   here.\n\nSecond **para** with `code` and [a link](https://x.example).\n"
    assert plain_text(source) == "First para wraps here.\n\nSecond para with code and a link."


def test_plain_text_blocks_lists_and_tables() -> None:
    source = (
        "# Heading\n\nIntro.\n\n- one\n- two\n  - nested\n\n1. loose\n\n2. list\n\n"
        "> quoted\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nline<br>break\n\n---\n\nEnd"
    )
    assert plain_text(source) == ("Heading\n\nIntro.\n\none\ntwo\nnested\n\nloose\nlist\n\nquoted\n\na b\n1 2\n\nline\nbreak\n\nEnd")


def test_plain_text_keeps_raw_html_text() -> None:
    source = "<div>Raw <b>bold</b> block</div>\n\n<ul><li>item A</li><li>item B</li></ul>\n\nafter"
    assert plain_text(source) == "Raw bold block\n\nitem A\nitem B\n\nafter"


def test_plain_text_decodes_entities_and_strips() -> None:
    assert plain_text("  \n\n&copy; 2024 &amp; &#8617; &lt;tag&gt;\n\n  ") == "© 2024 & ↩ <tag>"


def test_plain_text_is_deterministic() -> None:
    source = POLICY + "\n\nMore *text* here.\n\n- a\n- b\n"
    first = plain_text(source)
    assert all(plain_text(source) == first for _ in range(3))
    assert plain_text(str(source)) == first
    assert isinstance(first, str) and not isinstance(first, Markup)


def test_plain_text_drops_markup_of_hostile_input() -> None:
    text = plain_text('<img src=x onerror=alert(1)>Hello <a href="javascript:alert(1)">there</a>')
    assert text == "Hello there"


# --- render_plain ---------------------------------------------------------------


def test_render_plain_escapes_script() -> None:
    rendered = render_plain("<script>alert('x')</script> & more")
    assert isinstance(rendered, Markup)
    assert "<script" not in rendered
    assert "&lt;script&gt;" in rendered and "&amp; more" in rendered
    assert_safe(rendered)
    # Plain text is never trusted, even if a caller hands over a Markup object.
    assert "<script" not in render_plain(Markup("<script>alert(1)</script>"))


def test_render_plain_paragraphs_and_line_breaks() -> None:
    assert render_plain("one\ntwo\n\n\nthree\r\n") == Markup("<p>one<br>\ntwo</p>\n<p>three</p>")


def test_render_plain_round_trips_plain_text() -> None:
    rendered = render_plain(plain_text(POLICY))
    assert walk(rendered).elements[0][0] == "p"
    assert "Considerations Regarding" in rendered


# --- highlight ------------------------------------------------------------------

import random  # noqa: E402

from consult.comments.highlighting import Highlight, highlight  # noqa: E402
from consult.core.text import text_content  # noqa: E402

NO_TEXT_PARENTS = {"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "colgroup"}
ANNOTATION_LINK = re.compile(r'<a class="annotation-link" href="[^"]*" aria-label="[^"]*" data-count="\d+"></a>')


class Marked(HTMLParser):
    """Highlighted output, checked as it is read: balanced, marks holding only text, no nested links."""

    VOID = {"br", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.by_id: dict[str, str] = {}  # annotation id -> its marked text, concatenated
        self.marks: list[dict] = []
        self.links: list[dict] = []  # annotation links: attributes, text, enclosing tags

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        assert not any(name == "mark" for name, _ in self.stack), f"<{tag}> inside a <mark>"
        if tag == "mark":
            parent = self.stack[-1][0] if self.stack else "#root"
            assert parent not in NO_TEXT_PARENTS, f"<mark> directly inside <{parent}>"
            self.marks.append(attributes)
        if tag == "a":
            assert not any(name == "a" for name, _ in self.stack), "nested <a>"
            if attributes.get("class") == "annotation-link":
                self.links.append({"attrs": attributes, "text": "", "in": [name for name, _ in self.stack]})
        if tag not in self.VOID:
            self.stack.append((tag, attributes))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1][0] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "mark":
            for name in self.stack[-1][1]["data-annotation"].split():
                self.by_id[name] = self.by_id.get(name, "") + data
        if any(attrs.get("class") == "annotation-link" for _, attrs in self.stack):
            self.links[-1]["text"] += data


def marked(rendered: str) -> Marked:
    result = Marked()
    result.feed(str(rendered))
    result.close()
    assert result.stack == [], "unclosed elements"
    return result


class Structural(HTMLParser):
    """Offsets of the text directly inside elements that cannot hold a <mark> (ul, table, ...)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.position = 0
        self.skipped: set[int] = set()

    def handle_starttag(self, tag, attrs):
        if tag not in ("br", "hr"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack.pop() == tag

    def handle_data(self, data):
        if self.stack and self.stack[-1] in NO_TEXT_PARENTS:
            assert not data.strip(" \t\n\r\f")
            self.skipped.update(range(self.position, self.position + len(data)))
        self.position += len(data)


def markable_text(rendered: str, start: int, end: int) -> str:
    """text_content(rendered)[start:end] less the whitespace where no mark may go."""
    structural = Structural()
    structural.feed(str(rendered))
    structural.close()
    text = text_content(rendered)
    return "".join(text[i] for i in range(start, end) if i not in structural.skipped)


def without_annotations(rendered: str) -> str:
    return re.sub(r"<mark [^>]*>|</mark>", "", ANNOTATION_LINK.sub("", str(rendered)))


def assert_highlighted(rendered: str, marks: list[Highlight]) -> Marked:
    """The invariants of every highlighting: same document, same anchor text, marks exactly the ranges."""
    output = highlight(rendered, marks)
    assert isinstance(output, Markup)
    result = marked(output)
    text = text_content(rendered)
    # Drawing adds no text: a client slicing the page's textContent at an anchor's offsets finds its words.
    assert text_content(output) == text
    assert all(link["text"] == "" and link["attrs"]["aria-label"] for link in result.links)
    assert without_annotations(output) == rendered  # nothing else changed, byte for byte
    kept = [(index, mark) for index, mark in enumerate(marks) if max(0, mark.start) < min(len(text), mark.end)]
    assert len(result.links) == len(kept)
    for index, mark in kept:
        name = mark.id if mark.id is not None else str(index)
        start, end = max(0, mark.start), min(len(text), mark.end)
        assert result.by_id.get(name, "") == markable_text(rendered, start, end), (mark, text[start:end])
    return result


def test_highlight_single_range_in_a_paragraph() -> None:
    rendered = render_markdown("Agencies must release code within 30 days.")
    text = text_content(rendered)
    start = text.index("within 30 days")
    output = highlight(rendered, [Highlight(start, start + 14, "/comments/12", "3 comments on “within 30 days”", 3)])
    assert output == Markup(
        '<p>Agencies must release code <mark class="annotation" data-annotation="0">within 30 days</mark>'
        '<a class="annotation-link" href="/comments/12" aria-label="3 comments on “within 30 days”" data-count="3"></a>.</p>\n'
    )
    assert_highlighted(rendered, [Highlight(start, start + 14, "/comments/12", "x", 3)])


def test_highlight_across_emphasis_uses_the_given_id() -> None:
    rendered = render_markdown("Release *custom* code now.")
    text = text_content(rendered)
    start, end = text.index("ase"), text.index("de") + 2
    output = highlight(rendered, [Highlight(start, end, "/c/1", "Comments", 2, id="a7")])
    assert output == Markup(
        '<p>Rele<mark class="annotation" data-annotation="a7">ase </mark>'
        '<em><mark class="annotation" data-annotation="a7">custom</mark></em>'
        '<mark class="annotation" data-annotation="a7"> code</mark>'
        '<a class="annotation-link" href="/c/1" aria-label="Comments" data-count="2"></a> now.</p>\n'
    )
    result = assert_highlighted(rendered, [Highlight(start, end, "/c/1", "Comments", 2, id="a7")])
    assert result.by_id == {"a7": "ase custom code"}


def test_highlight_across_paragraphs_and_list_items() -> None:
    rendered = render_markdown("First para *ends* here.\n\nSecond para.\n\n- item one\n- item **two**\n  - nested\n\nLast.")
    text = text_content(rendered)
    ranges = [
        Highlight(text.index("ends"), text.index("Second") + 6, "/c/0", "a"),
        Highlight(text.index("one"), text.index("nes") + 3, "/c/1", "b"),
        Highlight(text.index("para."), text.index("Last") + 2, "/c/2", "c"),
    ]
    result = assert_highlighted(rendered, ranges)
    assert result.by_id["0"] == "ends here.\nSecond"
    assert result.by_id["1"] == "oneitem two\nnes"  # the newline between the <li>s, directly in <ul>, is not
    # Every mark holds only text and sits where phrasing content may (checked by Marked).
    assert len(result.marks) > 10
    assert [link["attrs"]["href"] for link in result.links] == ["/c/0", "/c/1", "/c/2"]
    # Links follow the last visible character of their range, not trailing whitespace.
    output = str(highlight(rendered, [Highlight(text.index("Second"), text.index("item"), "/c/9", "z")]))
    assert 'para.</mark><a class="annotation-link" href="/c/9"' in output


def test_highlight_keeps_the_policy_anchor_text() -> None:
    rendered = render_markdown(POLICY)
    text = text_content(rendered)
    rng = random.Random(7)
    ranges = []
    for number in range(30):
        start = rng.randrange(len(text))
        ranges.append(Highlight(start, start + rng.randrange(1, 120), f"/c/{number}", f"label {number}", number))
    assert_highlighted(rendered, ranges)
    whole = highlight(rendered, [Highlight(0, len(text), "/c/all", "all")])
    assert text_content(whole) == text
    assert 'id="p-fn1"' in whole and 'rel="nofollow ugc noopener"' in whole


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_highlight_random_ranges_on_a_real_policy_section(seed: int) -> None:
    from consult.demo import policy_files
    from consult.proposals.importing import import_markdown_files

    sections = import_markdown_files(policy_files("v1-draft-2016-04"))
    section = max(sections, key=lambda s: len(s.body))  # lists, footnotes, links, raw HTML
    rendered = render_markdown(section.body)
    text = text_content(rendered)
    assert len(text) > 2000
    rng = random.Random(seed)
    ranges = []
    for number in range(20):
        start = rng.randrange(len(text))
        ranges.append(
            Highlight(start, start + rng.randrange(1, 400), f"/comments/{number}", f"Comments {number}", number + 1, id=f"a{number}")
        )
    result = assert_highlighted(rendered, ranges)
    assert {link["attrs"]["href"] for link in result.links} == {f"/comments/{n}" for n in range(20)}
    for link in result.links:
        assert "a" not in link["in"]


def test_highlight_every_real_section_with_one_range_over_everything() -> None:
    from consult.demo import policy_files
    from consult.proposals.importing import import_markdown_files

    for section in import_markdown_files(policy_files("v1-draft-2016-04")):
        rendered = render_markdown(section.body)
        length = len(text_content(rendered))
        if length:
            assert_highlighted(rendered, [Highlight(0, length, "/c", "all"), Highlight(length // 3, length // 2, "/d", "part")])


def test_overlapping_ranges_are_split_into_segments() -> None:
    rendered = render_markdown("abcdefghij")
    ranges = [Highlight(1, 6, "/c/a", "A", id="a"), Highlight(3, 9, "/c/b", "B", id="b"), Highlight(4, 5, "/c/c", "C", id="c")]
    output = highlight(rendered, ranges)
    link = '<a class="annotation-link" href="/c/{0}" aria-label="{1}" data-count="1"></a>'
    assert output == Markup(
        "<p>a"
        '<mark class="annotation" data-annotation="a">bc</mark>'
        '<mark class="annotation overlap" data-annotation="a b">d</mark>'
        '<mark class="annotation overlap" data-annotation="a b c">e</mark>' + link.format("c", "C") +
        '<mark class="annotation overlap" data-annotation="a b">f</mark>' + link.format("a", "A") +
        '<mark class="annotation" data-annotation="b">ghi</mark>' + link.format("b", "B") +
        "j</p>\n"
    )  # fmt: skip
    result = assert_highlighted(rendered, ranges)
    assert result.by_id == {"a": "bcdef", "b": "defghi", "c": "e"}
    # The same range twice: both ids on every mark, two links.
    twice = highlight(rendered, [Highlight(2, 4, "/x", "X"), Highlight(2, 4, "/y", "Y")])
    assert '<mark class="annotation overlap" data-annotation="0 1">cd</mark>' in twice
    assert twice.count("annotation-link") == 2


def test_out_of_range_and_empty_ranges_are_ignored() -> None:
    rendered = render_markdown("Short *text*.")
    text = text_content(rendered)
    ignored = [
        Highlight(5, 5, "/e", "empty"),
        Highlight(8, 3, "/r", "reversed"),
        Highlight(len(text), len(text) + 10, "/p", "past the end"),
        Highlight(-10, 0, "/b", "before the start"),
        Highlight(None, 3, "/n", "none"),  # type: ignore[arg-type]
    ]
    assert highlight(rendered, ignored) == rendered
    assert highlight(rendered, []) == rendered
    clamped = highlight(rendered, [*ignored, Highlight(-5, 3, "/c", "C"), Highlight(7, 10_000, "/d", "D")])
    result = marked(clamped)
    assert result.by_id == {"5": "Sho", "6": text[7:]}
    assert [link["attrs"]["href"] for link in result.links] == ["/c", "/d"]
    assert text_content(clamped) == text


def test_hostile_href_label_and_id_are_escaped() -> None:
    rendered = render_markdown("Some &lt;b&gt; text & more.")
    text = text_content(rendered)
    hostile = '"><script>alert(1)</script>'
    output = highlight(rendered, [Highlight(0, len(text) - 1, '/c/1" onmouseover="alert(1)', hostile, id=hostile)])
    assert "<script" not in output
    assert 'aria-label="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in output
    assert 'href="/c/1&quot; onmouseover=&quot;alert(1)"' in output
    assert "&lt;b&gt;" in output and "&amp; more" in output and "<b>" not in output
    result = marked(output)
    (link,) = result.links
    assert link["attrs"]["href"] == '/c/1" onmouseover="alert(1)'
    assert "onmouseover" not in link["attrs"]
    assert link["attrs"]["aria-label"] == hostile and link["text"] == ""
    assert result.marks[0]["data-annotation"] == hostile
    assert result.by_id[hostile.split(maxsplit=1)[0]] == text[:-1]
    assert text_content(output) == text
    assert_safe(without_annotations(output))


@pytest.mark.parametrize("href", ["javascript:alert(1)", " JaVa\tScRiPt:alert(1)", "data:text/html,x", "jav&#x09;ascript:x"])
def test_script_hrefs_are_refused(href: str) -> None:
    with pytest.raises(ValueError):
        highlight(render_markdown("text"), [Highlight(0, 2, href, "x")])
    for fine in ("/comments/1", "#c1", "?page=2", "https://example.org/c", "mailto:a@example.org"):
        assert "annotation-link" in highlight(render_markdown("text"), [Highlight(0, 2, fine, "x")])


def test_range_ending_inside_a_link_puts_the_annotation_link_after_it() -> None:
    rendered = render_markdown("See [the full policy](https://example.org/p?a=1&b=2) for details.")
    text = text_content(rendered)
    start, end = text.index("See"), text.index("full") + 4
    output = highlight(rendered, [Highlight(start, end, "/c/5", "Comments", 5)])
    assert output == Markup(
        '<p><mark class="annotation" data-annotation="0">See </mark>'
        '<a href="https://example.org/p?a=1&amp;b=2" rel="nofollow ugc noopener">'
        '<mark class="annotation" data-annotation="0">the full</mark> policy</a>'
        '<a class="annotation-link" href="/c/5" aria-label="Comments" data-count="5"></a> for details.</p>\n'
    )
    # Inside a footnote reference (<sup><a>…</a></sup>) too.
    footnote = render_markdown(POLICY)
    offset = text_content(footnote).index("committed.1") + len("committed.1")
    result = assert_highlighted(footnote, [Highlight(0, offset, "/c/6", "C")])
    assert result.links[0]["in"] == ["p", "sup"]
    assert '<a href="#p-fn1"><mark class="annotation" data-annotation="0">1</mark></a><a class="annotation-link"' in highlight(
        footnote, [Highlight(0, offset, "/c/6", "C")]
    )


def test_fragment_links_to_other_sections_go_to_the_whole_page():
    from consult.core.text import link_fragments_to

    section = '<p>Text<sup id="p-fnr2"><a href="#p-fn2">2</a></sup> and <a href="#p-local">here</a>.</p><p id="p-local">Local.</p>'
    out = str(link_fragments_to(section, "/c/policy"))
    assert '<a href="/c/policy#p-fn2">2</a>' in out  # the footnote is in another section
    assert '<a href="#p-local">here</a>' in out  # this one is on the page
    assert str(link_fragments_to('<a href="#x">x</a>', '/c/a"b')) == '<a href="/c/a&quot;b#x">x</a>'


# ---- plain text into Markdown files (the open record's README, versions and diffs) -------------


def _commonmark(source: str) -> str:
    """Any CommonMark reader (with GitHub's tables and strikethrough), raw HTML allowed: what a
    reader of the record's Markdown files may use, not Consult's sanitising pipeline."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(source)


class _Shown(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.add(tag)
        if tag == "br":
            self.text.append(" ")

    def handle_endtag(self, tag) -> None:
        self.text.append(" ")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _shown(rendered: str) -> tuple[set[str], str]:
    parser = _Shown()
    parser.feed(rendered)
    parser.close()
    return parser.tags, " ".join("".join(parser.text).split())


HOSTILE_TEXT = [
    "<script>alert(1)</script>",
    "*not bold* and _not italic_ and **not strong**",
    "[x](javascript:alert(1))",
    "![img](http://tracker.example/pixel.png)",
    "<http://example.org> and <javascript:alert(1)>",
    "`code` and ``more``",
    "&lt;b&gt; &amp; &copy; &#42;",
    "a | b | c\n--- | --- | ---",
    "~~struck~~",
    "# not a heading",
    "Section C#  #",
    "- not a list\n+ nor this\n* nor this",
    "1. not ordered\n2) nor this",
    "5.1 Pilot Program",
    "Title\n===",
    "Title\n---",
    "> not a quote",
    "    not code\n\n    nor this",
    "{++not inserted++} {--not deleted--}",
    "back\\slash\\",
    "trailing backslash\\\nnext line",
    "<!-- not a comment -->",
    "<div>not a block</div>",
    "Dana's \"quoted\" (bracketed) text: 100% ok!",
]


def _fuzz(count: int = 1500) -> list[str]:
    import random

    rng = random.Random(14)  # fixed: the same strings every run
    alphabet = "ab 1.-+=*_`[]()<>!&#|~{}\\:;\n\t"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16))) for _ in range(count)]


@pytest.mark.parametrize("value", HOSTILE_TEXT)
def test_escaped_markdown_renders_as_the_literal_text(value: str) -> None:
    from consult.core.text import escape_markdown

    tags, text = _shown(_commonmark(escape_markdown(value)))
    assert tags <= {"p", "br"}, (value, _commonmark(escape_markdown(value)))
    assert text == " ".join(value.split())

    tags, text = _shown(_commonmark("## " + escape_markdown(value, inline=True)))
    assert tags == {"h2"}, value
    assert text == " ".join(value.split())


def test_escaped_markdown_renders_literally_for_any_punctuation() -> None:
    from consult.core.text import escape_markdown

    for value in _fuzz():
        if not value.strip():
            continue
        tags, text = _shown(_commonmark(escape_markdown(value)))
        assert tags <= {"p", "br"} and text == " ".join(value.split()), (value, escape_markdown(value))
        tags, text = _shown(_commonmark("## " + escape_markdown(value, inline=True)))
        assert tags == {"h2"} and text == " ".join(value.split()), (value, escape_markdown(value, inline=True))


def test_escaped_markdown_keeps_ordinary_text_readable() -> None:
    from consult.core.text import escape_markdown

    assert escape_markdown("5.1 Pilot Program: Dana's (draft) plan, 100% done!") == "5.1 Pilot Program: Dana's (draft) plan, 100% done!"
    assert escape_markdown(" and more", line_start=False) == " and more"


def test_markdown_footnotes_are_real_footnotes_named_in_words() -> None:
    """An author's "[^1]" footnotes: the marker links to its note and the note back, both named in
    words, in a list named "Footnotes"; a numeric label keeps its number; the ids carry the text's
    hash, so two sections' notes never share an id on one page."""
    source = "Rules apply.[^24] Also here.[^why]\n\n[^24]: See *the annex*.\n[^why]: Because.\n"
    html = str(render_markdown(source))
    assert_safe(render_markdown(source))
    [ident] = set(re.findall(r'id="(p-fn-[0-9a-f]{6})-24"', html))
    assert f'<sup><a id="{ident}-24-ref" aria-label="Footnote 24" href="#{ident}-24">24</a></sup>' in html
    assert f'<a id="{ident}-2-ref" aria-label="Footnote 2" href="#{ident}-2">2</a>' in html  # by its order
    assert '<section aria-label="Footnotes">' in html
    assert (
        f'<li id="{ident}-24" value="24"><p>See <em>the annex</em>. <a aria-label="Back to the text of footnote 24" href="#{ident}-24-ref">'
        in html
    )
    other = str(render_markdown("Other.[^24]\n\n[^24]: Else.\n"))
    assert ident not in other
    # The sanitiser keeps only these names: an author's own aria-label, or a Footnotes section
    # named otherwise, is dropped.
    crafted = str(render_markdown('<a href="#x" aria-label="Click here">x</a><section aria-label="Menu">y</section>'))
    assert "aria-label" not in crafted
