"""One offset space: every annotation of the demo resolves, as a Web Annotation client would
resolve it, on the served page and in the open record's section text.

A client fetches the W3C collection, fetches each annotation's ``source`` page, takes the
``textContent`` of the element the FragmentSelector names, slices it at the
TextPositionSelector and compares with the TextQuoteSelector (exact, prefix and suffix). The
record's sections ship the same text, so the record's anchors slice it the same way."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest

from consult.comments import services
from consult.core.models import db
from consult.proposals.models import Consultation
from consult.record import export

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _ElementText(HTMLParser):
    """The textContent of the element with a given id, as a browser's DOM has it (no CSS, no script)."""

    def __init__(self, element_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.element_id = element_id
        self.depth = 0  # open elements inside the wanted one, itself included
        self.found = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.element_id:
            self.depth, self.found = 1, self.found + 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def element_text(page: str, element_id: str) -> str:
    parser = _ElementText(element_id)
    parser.feed(page)
    parser.close()
    assert parser.found == 1, f"{parser.found} elements with id {element_id!r}"
    return "".join(parser.parts)


def assert_resolves(text: str, *, start: int, end: int, exact: str, prefix: str = "", suffix: str = "", where: str) -> None:
    assert text[start:end] == exact, where
    assert text[max(0, start - len(prefix)) : start] == prefix, where
    assert text[end : end + len(suffix)] == suffix, where


def collection_items(client, slug: str) -> list[dict[str, Any]]:
    collection = client.get(f"/api/v1/consultations/{slug}/annotations").get_json()
    items, next_page = [], collection.get("first")
    while next_page:
        page = client.get(urlsplit(next_page).path + "?" + urlsplit(next_page).query).get_json()
        items += page["items"]
        next_page = page.get("next")
    assert len(items) == collection["total"]
    return items


@pytest.fixture
def demo(app):
    from consult.demo import load_demo

    load_demo()
    db.session.commit()
    return list(db.session.scalars(db.select(Consultation).order_by(Consultation.id)))


def test_every_demo_annotation_resolves_on_the_served_page(client, demo):
    pages: dict[str, str] = {}
    resolved = 0
    for consultation in demo:
        for item in collection_items(client, consultation.slug):
            target = item["target"]
            if isinstance(target, str):  # a reply: its target is an annotation of the collection
                continue
            fragment = target["selector"]
            assert fragment["type"] == "FragmentSelector"
            quote, position = fragment["refinedBy"]
            address = urlsplit(target["source"])  # the page of the text it was made on (?text=fr: the French one)
            source = address.path + (f"?{address.query}" if address.query else "")
            if source not in pages:
                response = client.get(source)
                assert response.status_code == 200, source
                pages[source] = response.get_data(as_text=True)
            text = element_text(pages[source], fragment["value"])
            assert_resolves(
                text,
                start=position["start"],
                end=position["end"],
                exact=quote["exact"],
                prefix=quote.get("prefix", ""),
                suffix=quote.get("suffix", ""),
                where=item["id"],
            )
            resolved += 1
    assert resolved >= 6  # the demo's annotations, all of them


def test_every_demo_anchor_resolves_in_the_records_section_text(app, demo, tmp_path):
    resolved = 0
    for consultation in demo:
        if not consultation.published_versions:
            continue
        with app.test_request_context():
            export.write_folder(consultation, tmp_path / consultation.slug)
        record = export_json(tmp_path / consultation.slug / "record.json")
        original = record["consultation"]["languages"][0]
        texts = {(s["version"], s["key"], original): s["text"] for s in record["sections"]}
        texts |= {(s["version"], s["key"], s["language"]): s["text"] for s in record["section_texts"]}
        for contribution in record["contributions"]:
            for anchor in contribution["anchors"]:
                if anchor["state"] == "orphaned":
                    continue
                # An annotation's anchors count in the text of its language (the original's unless translated).
                language = (
                    contribution["language"] if (anchor["version"], anchor["section_key"], contribution["language"]) in texts else original
                )
                assert_resolves(
                    texts[(anchor["version"], anchor["section_key"], language)],
                    start=anchor["start"],
                    end=anchor["end"],
                    exact=anchor["exact"],
                    prefix=anchor["prefix"],
                    suffix=anchor["suffix"],
                    where=f"{consultation.slug} #{contribution['id']} v{anchor['version']}",
                )
                resolved += 1
        # The same text as the database's, in which the W3C export's offsets count.
        for version in consultation.published_versions:
            for section in version.sections:
                assert texts[(version.number, section.key, original)] == services.anchor_text(section)
    assert resolved >= 6


def export_json(path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text(encoding="utf-8"))
