"""Comments as W3C Web Annotations (JSON-LD): single annotations, pages and collections.

Pure functions from plain values to JSON-ready dicts: no Flask, no database. The
caller builds :class:`AnnotationRecord` values (absolute IRIs, aware datetimes) and
serialises the result with ``json.dumps``.

Shapes follow the Web Annotation Data Model and the Protocol's paging
(https://www.w3.org/TR/annotation-model/, https://www.w3.org/TR/annotation-protocol/)
and pass the MUST assertions of the W3C test suite (w3c/web-annotation-tests; see
``tests/comments/test_w3c.py``):

- an annotation on a passage targets the policy version with a FragmentSelector
  (the section's id) refined by a TextQuoteSelector and a TextPositionSelector,
  plus a TimeState saying which publication the offsets refer to;
- the FragmentSelector names the element of the served page whose textContent is exactly
  the section's text (``t-KEY``), in which the text selectors' offsets and quotes resolve;
- a reply has motivation ``replying`` and the parent annotation's IRI as its target (a
  deleted parent stays as a tombstone: no creator, the site's words as body, the section as target);
- a page embeds its collection in ``partOf`` (id, label, total) and its annotations
  in ``items`` without their own ``@context``;
- the collection is a plain ``AnnotationCollection`` (not an LDP container) that
  links to its first and last pages when it has any annotations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = [
    "ANNO_CONTEXT",
    "HTML_FRAGMENT_SPEC",
    "MARKDOWN",
    "AnnotationRecord",
    "annotation",
    "annotation_collection",
    "annotation_page",
]

ANNO_CONTEXT: Final = "http://www.w3.org/ns/anno.jsonld"
"""The Web Annotation JSON-LD context; every top-level document carries exactly this string."""

HTML_FRAGMENT_SPEC: Final = "http://tools.ietf.org/rfc/rfc3236"
"""`conformsTo` of a FragmentSelector whose value is an HTML element id (model §4.2.1)."""

MARKDOWN: Final = "text/markdown"
"""Comment bodies are stored and published as their Markdown source."""

type JSONObject = dict[str, Any]


@dataclass(frozen=True)
class AnnotationRecord:
    """What the serialiser needs to know about one comment; IRIs are absolute.

    A reply sets ``reply_to`` and leaves the passage fields None. An annotation on a
    passage sets ``source`` and, as far as known, ``section_id``, the quote
    (``exact``, ``prefix``, ``suffix``), the code-point offsets ``start``/``end``
    (end exclusive, counted in the section's text) and ``source_date``.
    """

    id: str
    """The annotation's IRI, e.g. ``https://consult.example/comments/42``."""
    created: datetime
    """Aware datetime (any zone; published in UTC)."""
    modified: datetime | None
    creator_id: str | None
    """IRI of the person, e.g. ``https://consult.example/people/7``; None for a tombstone (no creator)."""
    creator_name: str
    """Public display name, published as ``nickname``; never an email address."""
    body: str
    """The comment's Markdown source."""
    reply_to: str | None = None
    """IRI of the annotation this one replies to."""
    source: str | None = None
    """IRI of the policy version annotated, e.g. ``https://consult.example/c/slug/v/1``."""
    section_id: str | None = None
    """Fragment id of the element holding the section's text on that page, e.g. ``t-objectives``."""
    exact: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    start: int | None = None
    end: int | None = None
    source_date: datetime | None = None
    """When that version was published (``TimeState.sourceDate``)."""


def _timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second: ``2024-05-02T10:15:00Z``.

    Naive datetimes are refused rather than guessed at (the model's xsd:dateTime
    values need a zone, and Consult's columns are all aware UTC).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: Web Annotation timestamps need a time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _creator(record: AnnotationRecord) -> JSONObject:
    """A Person with the IRI and the public nickname (left out when blank)."""
    creator: JSONObject = {"id": record.creator_id, "type": "Person"}
    if record.creator_name:
        creator["nickname"] = record.creator_name
    return creator


def _selectors(record: AnnotationRecord) -> list[JSONObject]:
    """The TextQuoteSelector and TextPositionSelector the record has data for.

    Empty prefix/suffix are left out; offsets are published exactly as given (code
    points), after checking they can be valid (non-negative, start <= end).
    """
    selectors: list[JSONObject] = []
    if record.exact:
        quote: JSONObject = {"type": "TextQuoteSelector", "exact": record.exact}
        if record.prefix:
            quote["prefix"] = record.prefix
        if record.suffix:
            quote["suffix"] = record.suffix
        selectors.append(quote)
    if record.start is not None and record.end is not None:
        if not 0 <= record.start <= record.end:
            raise ValueError(f"bad text position {record.start}..{record.end} in {record.id}")
        selectors.append({"type": "TextPositionSelector", "start": record.start, "end": record.end})
    elif (record.start is None) != (record.end is None):
        raise ValueError(f"text position of {record.id} needs both start and end")
    return selectors


def _passage_target(record: AnnotationRecord, source: str) -> JSONObject:
    """SpecificResource on the policy version: section FragmentSelector refined by the text selectors.

    Without a section id the text selectors become the selector themselves (one, or
    an array of equivalent ones); without any selector the target is the whole
    version. The TimeState is added whenever the publication date is known.
    """
    target: JSONObject = {"source": source}
    text_selectors = _selectors(record)
    if record.section_id:
        selector: JSONObject = {
            "type": "FragmentSelector",
            "conformsTo": HTML_FRAGMENT_SPEC,
            "value": record.section_id,
        }
        if text_selectors:
            selector["refinedBy"] = text_selectors
        target["selector"] = selector
    elif len(text_selectors) == 1:
        target["selector"] = text_selectors[0]
    elif text_selectors:
        target["selector"] = text_selectors
    if record.source_date is not None:
        target["state"] = {"type": "TimeState", "sourceDate": _timestamp(record.source_date)}
    return target


def annotation(record: AnnotationRecord, *, with_context: bool = True) -> JSONObject:
    """One comment as a Web Annotation.

    Rules:
    - ``@context`` is :data:`ANNO_CONTEXT`, only when ``with_context`` (items of a
      page leave it out: the page's context applies);
    - motivation ``replying`` with the parent's IRI as the target when
      ``reply_to`` is set, else ``commenting`` with a passage target; a record
      with both or neither is a ValueError;
    - the body is a TextualBody with the Markdown source (format
      ``text/markdown``, no language); an empty comment has no body at all;
    - ``created``/``modified`` are UTC with ``Z``; keys whose value is None or
      empty are left out.
    """
    target: str | JSONObject
    if record.reply_to and record.source:
        raise ValueError(f"{record.id} is both a reply and an annotation on a passage")
    elif record.reply_to:
        target = record.reply_to
    elif record.source:
        target = _passage_target(record, record.source)
    else:
        raise ValueError(f"{record.id} has no target: set reply_to or source")
    doc: JSONObject = {"@context": ANNO_CONTEXT} if with_context else {}
    doc["id"] = record.id
    doc["type"] = "Annotation"
    doc["motivation"] = "replying" if record.reply_to else "commenting"
    doc["created"] = _timestamp(record.created)
    if record.modified is not None:
        doc["modified"] = _timestamp(record.modified)
    if record.creator_id:
        doc["creator"] = _creator(record)
    if record.body:
        doc["body"] = {"type": "TextualBody", "value": record.body, "format": MARKDOWN}
    doc["target"] = target
    return doc


def annotation_page(
    records: Iterable[AnnotationRecord],
    *,
    page_iri: str,
    collection_iri: str,
    collection_label: str,
    total: int,
    start_index: int,
    next_iri: str | None,
    prev_iri: str | None,
) -> JSONObject:
    """One page of a collection, annotations embedded (Protocol §4.2, PreferContainedDescriptions).

    Rules:
    - ``@context`` is the single :data:`ANNO_CONTEXT` string, as in the Protocol's
      page examples (the LDP context is only needed for ``BasicContainer``, which
      pages never use);
    - ``partOf`` embeds the collection (id, label when non-empty, total), as the
      test suite's page assertions require, so a client learns the total from any page;
    - ``startIndex`` is the 0-based position of the first item in the collection;
    - ``next``/``prev`` only when there is such a page; ``items`` may be empty;
    - items are :func:`annotation` without their own ``@context``.
    """
    if total < 0 or start_index < 0:
        raise ValueError(f"total ({total}) and start_index ({start_index}) must be non-negative")
    part_of: JSONObject = {"id": collection_iri}
    if collection_label:
        part_of["label"] = collection_label
    part_of["total"] = total
    page: JSONObject = {
        "@context": ANNO_CONTEXT,
        "id": page_iri,
        "type": "AnnotationPage",
        "partOf": part_of,
        "startIndex": start_index,
    }
    if next_iri:
        page["next"] = next_iri
    if prev_iri:
        page["prev"] = prev_iri
    page["items"] = [annotation(record, with_context=False) for record in records]
    return page


def annotation_collection(
    *,
    collection_iri: str,
    label: str,
    total: int,
    first_iri: str | None,
    last_iri: str | None,
    created: datetime | None = None,
    modified: datetime | None = None,
) -> JSONObject:
    """The collection itself: an AnnotationCollection that points at its first and last pages.

    Rules:
    - ``@context`` is the single :data:`ANNO_CONTEXT` string and ``type`` the single
      string ``AnnotationCollection`` (model §5.1); Consult's collections are
      read-only, not LDP containers, so no ``BasicContainer`` type or LDP context;
    - ``total`` is always there; ``first`` and ``last`` only when total > 0 (the
      model requires ``first`` then, so it is a ValueError to leave it out, and
      an empty collection has no pages to point to);
    - ``label``, ``created`` and ``modified`` when given (timestamps UTC with ``Z``).
    """
    if total < 0:
        raise ValueError(f"total ({total}) must be non-negative")
    if total > 0 and not first_iri:
        raise ValueError("a collection with annotations needs first_iri")
    doc: JSONObject = {
        "@context": ANNO_CONTEXT,
        "id": collection_iri,
        "type": "AnnotationCollection",
    }
    if label:
        doc["label"] = label
    if created is not None:
        doc["created"] = _timestamp(created)
    if modified is not None:
        doc["modified"] = _timestamp(modified)
    doc["total"] = total
    if total > 0:
        doc["first"] = first_iri
        if last_iri:
            doc["last"] = last_iri
    return doc
