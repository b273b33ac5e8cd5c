"""One redline everywhere: the version diff (inline and side by side), an amendment, the list of
amendments and the outcome
draw their changes with the same markup (templates/_redline.html), announce them in words, and
never write brackets into the page (the stylesheet adds them in print and forced colours only)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from consult.amendments import services as amendments
from consult.core.models import db
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from tests.factories import explain_changes, make_consultation

PACKAGE = Path(__file__).resolve().parents[2] / "consult"

TEXT = """## Fees

A fee of 2.5 percent applies to requests over 1,000 pages, see https://example.org/fees.

## Deadlines

Councils must respond within 30 days of receipt of a request.

## Appeals

Appeals go to the commissioner.
"""

NEW_TEXT = """## Fees

A fee of 1.75 percent applies to requests over 1,000 pages, see https://example.org/fees/2016.

## Deadlines

Councils must respond within 20 working days of receipt of a request.

## Complaints

Complaints go to the ombudsman, who answers within 10 days.
"""

MARK = {
    "del": re.compile(
        r'<del><span class="visually-hidden">deleted: </span>([^<]+)<span class="visually-hidden"> \(end of deletion\)</span></del>'
    ),
    "ins": re.compile(
        r'<ins><span class="visually-hidden">inserted: </span>([^<]+)<span class="visually-hidden"> \(end of insertion\)</span></ins>'
    ),
}


class Marks(HTMLParser):
    """Every <del>/<ins> of a page: its source, whether it sits in a .redline, and the page's text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html, self.stack, self.marks, self.text, self.legends = html, [], [], [], 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("del", "ins"):
            start = self.getpos()
            self.marks.append(
                {
                    "tag": tag,
                    "in_redline": any("redline" in c for _, c in self.stack),
                    "in_key": any("redline-key" in c for _, c in self.stack),
                    "legend": any("redline-legend" in c for _, c in self.stack),
                    "start": start,
                }
            )
        self.legends += "redline-legend" in classes
        if tag not in ("br", "img", "input", "meta", "link", "hr", "source", "wbr"):
            self.stack.append((tag, classes))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        self.text.append(data)


def marks_of(html: str) -> Marks:
    parsed = Marks(html)
    sources = re.findall(r"<(?:del|ins)>.*?</(?:del|ins)>", html, re.S)
    assert len(sources) == len(parsed.marks)
    for mark, source in zip(parsed.marks, sources, strict=True):
        mark["source"] = source
    return parsed


@pytest.fixture
def concluded(organisation, author, citizen):
    """A consultation with an amendment on version 1, then version 2 published and concluded."""
    c = make_consultation(organisation, author=author, state="open", slug="access", title="Access to information", text=TEXT)
    amendment = amendments.propose_amendment(
        c, actor=citizen, section_key="deadlines", rationale="Faster.", quote="within 30 days", replacement="within 20 working days"
    )
    proposals.change_state(c, Transition.CLOSE, actor=author)
    proposals.write_markdown(c, NEW_TEXT, actor=author)
    explain_changes(c, author)
    proposals.publish_version(c, actor=author, note="Cheaper and faster.")
    proposals.change_state(c, Transition.CONCLUDE, actor=author)
    db.session.commit()
    return c, amendment


def pages(client, concluded) -> dict[str, str]:
    _, amendment = concluded
    urls = {
        "diff": "/c/access/diff?from=1&to=2",
        "diff side by side": "/c/access/diff?from=1&to=2&view=side-by-side",
        "amendment": f"/c/{amendment.consultation.slug}/amendments/A{amendment.amendment.number}",
        "amendments": "/c/access/amendments",
        "outcome": "/c/access/outcome",
    }
    result = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        result[name] = response.get_data(as_text=True)
    return result


def test_every_redline_page_draws_changes_with_the_one_markup(client, concluded):
    shapes = {}
    for name, html in pages(client, concluded).items():
        parsed = marks_of(html)
        changes = [m for m in parsed.marks if not m["legend"]]
        assert changes, f"{name}: no redline"
        assert parsed.legends == 1, f"{name}: one legend says what the marks mean"
        for mark in changes:
            assert mark["in_redline"], f"{name}: {mark['source']} outside a .redline"
        for mark in parsed.marks:
            if mark["legend"]:  # the legend's samples, drawn alike but not changes (no .redline)
                assert mark["in_key"] and not mark["in_redline"], f"{name}: {mark['source']}"
        for mark in changes:
            assert MARK[mark["source"][1:4]].fullmatch(mark["source"]), f"{name}: {mark['source']}"
        shapes[name] = {MARK[m["source"][1:4]].sub("X", m["source"]) for m in changes}
    # The same two shapes everywhere (the amendment only deletes and inserts words too).
    assert all(shape == {"X"} for shape in shapes.values())
    assert {m["source"][1:4] for name, html in pages(client, concluded).items() for m in marks_of(html).marks} == {"del", "ins"}


def test_no_brackets_in_the_text_of_any_redline_page(client, concluded):
    for name, html in pages(client, concluded).items():
        text = "".join(Marks(html).text)
        for bracket in ("[−", "[+", "[-", "−]", "+]", "[deleted", "[inserted"):
            assert bracket not in text, f"{name}: {bracket!r} in the page's text"


def test_numbers_and_addresses_change_whole_on_the_diff_page(client, concluded):
    html = pages(client, concluded)["diff"]
    deleted = [m.group(1) for m in MARK["del"].finditer(html)]
    inserted = [m.group(1) for m in MARK["ins"].finditer(html)]
    assert "2.5" in deleted and "1.75" in inserted  # not "2" + ".5"
    assert "https://example.org/fees" in deleted and "https://example.org/fees/2016" in inserted
    assert "1,000" not in deleted + inserted  # unchanged, so not marked at all


def test_side_by_side_shows_the_old_text_with_deletions_and_the_new_with_insertions(client, concluded):
    html = pages(client, concluded)["diff side by side"]
    sides = re.findall(r'<div class="redline-side redline-side-(old|new)">(.*?)</div>\s*(?=<div class="redline-side|</div>)', html, re.S)
    assert sides, "a side-by-side layout"
    old = "".join(body for side, body in sides if side == "old")
    new = "".join(body for side, body in sides if side == "new")
    assert "<del>" in old and "<ins>" not in old and "<ins>" in new and "<del>" not in new
    assert "Version 1" in old and "Version 2" in new
    assert "Not in version 1." in new or "Not in version 1." in old  # the added section, said in words
    assert "Not in version 2." in html  # the removed one
    assert "within " in old and "20 working" in new


def test_the_views_switch_by_links_that_keep_the_versions(client, concluded):
    inline = pages(client, concluded)["diff"]
    assert 'href="/c/access/diff?view=side-by-side&amp;from=1&amp;to=2"' in inline
    assert re.search(r'href="/c/access/diff\?from=1&amp;to=2" aria-current="page">Inline', inline)
    sides = client.get("/c/access/diff?from=1&to=2&view=side-by-side").get_data(as_text=True)
    assert re.search(r'href="/c/access/diff\?view=side-by-side&amp;from=1&amp;to=2" aria-current="page">Side by side', sides)
    assert '<input type="hidden" name="view" value="side-by-side">' in sides  # "Compare" keeps the view


def test_an_unknown_view_is_refused_with_a_message(client, concluded):
    response = client.get("/c/access/diff?from=1&to=2&view=sideways")
    assert response.status_code == 400
    assert "side by side (view=side-by-side)" in response.get_data(as_text=True)


def test_only_the_redline_partial_writes_del_and_ins():
    templates = PACKAGE / "templates"
    writers = sorted(
        str(p.relative_to(templates)) for p in templates.rglob("*.html") if re.search(r"<(del|ins)\b", p.read_text(encoding="utf-8"))
    )
    assert writers == ["_redline.html"]
    users = sorted(
        str(p.relative_to(templates))
        for p in templates.rglob("*.html")
        if "_ops" in p.read_text(encoding="utf-8") or "redline(" in p.read_text(encoding="utf-8")
    )
    for name in users:
        if name != "_redline.html":
            assert 'from "_redline.html" import' in (templates / name).read_text(encoding="utf-8"), name


def _rules(css: str) -> list[tuple[str, str, str]]:
    """(the @media prelude or "", selector, declarations) of each rule of a stylesheet."""
    found: list[tuple[str, str, str]] = []

    def walk(text: str, media: str) -> None:
        position = 0
        while (opening := text.find("{", position)) >= 0:
            depth, end = 1, opening + 1
            while depth:
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            prelude, body = text[position:opening].strip(), text[opening + 1 : end - 1]
            if prelude.startswith("@media"):
                walk(body, prelude)
            else:
                found.append((media, prelude, body))
            position = end

    walk(re.sub(r"/\*.*?\*/", "", css, flags=re.S), "")
    return found


def test_brackets_come_only_from_print_and_forced_colours_styles():
    css = {name: (PACKAGE / "static" / "css" / name).read_text(encoding="utf-8") for name in ("consult.css", "redline.css")}
    bracketed = [
        (media, selector) for text in css.values() for media, selector, body in _rules(text) if re.search(r"content:[^;]*[\[\]]", body)
    ]
    assert {media for media, _ in bracketed} == {"@media print, (forced-colors: active)"}
    assert {":is(.redline, .redline-key) del::before", ":is(.redline, .redline-key) ins::before"} <= {selector for _, selector in bracketed}


def test_spacing_at_the_ends_of_a_change_is_drawn_outside_its_mark(app):
    from consult.proposals.textdiff import DiffOp

    with app.test_request_context():
        marks = app.jinja_env.get_template("_redline.html").module.marks
        ops = [
            DiffOp("equal", "One."),
            DiffOp("delete", "\n\nTwo. "),
            DiffOp("insert", " Three.\n"),
            DiffOp("equal", "End"),
            DiffOp("insert", "\n"),
        ]
        html = str(marks(ops))
        assert html == (
            'One.\n\n<del><span class="visually-hidden">deleted: </span>Two.<span class="visually-hidden"> (end of deletion)</span></del> '
            ' <ins><span class="visually-hidden">inserted: </span>Three.<span class="visually-hidden"> (end of insertion)</span></ins>\nEnd\n'
        )
        assert (
            str(marks(ops, "old"))
            == 'One.\n\n<del><span class="visually-hidden">deleted: </span>Two.<span class="visually-hidden"> (end of deletion)</span></del> End'
        )
