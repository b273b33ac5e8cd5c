"""consult.comments.w3c against the W3C Web Annotation test suite's MUST assertions.

The validator (tests/w3c_validation.py) is tested first, on the hand-written samples
in /work/shared (when present) and on deliberately broken documents, so a pass means
something; then every document shape the serialiser produces must pass.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from consult.comments.w3c import (
    ANNO_CONTEXT,
    AnnotationRecord,
    annotation,
    annotation_collection,
    annotation_page,
)
from tests.w3c_validation import DATA_DIR, MANIFESTS, Kind, assertions, explain, must_failures

SAMPLES = Path("/work/shared/data/annotation-samples")
BASE = "https://consult.example"
COLLECTION = f"{BASE}/c/housing/v/1/annotations"


@pytest.fixture(autouse=True)
def _transaction() -> None:
    """Overrides conftest's per-test database transaction: these tests need no app and no database."""


def passage(**changes: Any) -> AnnotationRecord:
    """A comment on a quoted passage of section s-objectives of version 1."""
    values: dict[str, Any] = {
        "id": f"{BASE}/comments/42",
        "created": datetime(2024, 5, 2, 10, 15, tzinfo=UTC),
        "modified": datetime(2024, 5, 3, 8, 0, 30, tzinfo=UTC),
        "creator_id": f"{BASE}/people/7",
        "creator_name": "Citizen Seven",
        "body": "This deadline is **too short** for small councils.",
        "reply_to": None,
        "source": f"{BASE}/c/housing/v/1",
        "section_id": "s-objectives",
        "exact": "within 30 days",
        "prefix": "Councils must respond ",
        "suffix": " of receipt of a request.",
        "start": 22,
        "end": 36,
        "source_date": datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
    }
    return AnnotationRecord(**(values | changes))


def reply(**changes: Any) -> AnnotationRecord:
    """A reply to comment 42."""
    values: dict[str, Any] = {
        "id": f"{BASE}/comments/43",
        "created": datetime(2024, 5, 2, 11, 0, tzinfo=UTC),
        "modified": None,
        "creator_id": f"{BASE}/people/9",
        "creator_name": "Nine",
        "body": "Agreed, 30 days is tight.",
        "reply_to": f"{BASE}/comments/42",
    }
    return AnnotationRecord(**(values | changes))


def assert_conforms(document: dict[str, Any], kind: Kind) -> None:
    assert must_failures(document, kind) == [], explain(document, kind)


# --- the validator -------------------------------------------------------------------


def test_manifests_and_assertion_counts() -> None:
    """The copied suite is complete: 54 annotation, 15 page and 10 collection MUSTs."""
    counts = {kind: len(json.loads((DATA_DIR / path).read_text())["assertions"]) for kind, path in MANIFESTS.items()}
    assert counts == {"annotation": 54, "page": 15, "collection": 10}
    assert {kind: len(assertions(kind)) for kind in MANIFESTS} == counts  # type: ignore[arg-type]
    assert (DATA_DIR / "license.md").is_file() and (DATA_DIR / "SOURCE.md").is_file()


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("comment.json", "annotation"),
        ("reply.json", "annotation"),
        ("annotation-page.json", "page"),
        ("annotation-collection.json", "collection"),
    ],
)
def test_shared_samples_pass(name: str, kind: Kind) -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} not available (the samples are not copied into the repository)")
    document = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    assert_conforms(document, kind)
    for item in document.get("items", []):
        assert_conforms({"@context": ANNO_CONTEXT, **item}, "annotation")


Change = Callable[[dict[str, Any]], None]


def _set(key: str, value: Any) -> Change:
    def change(document: dict[str, Any]) -> None:
        document[key] = value

    return change


def _drop(key: str) -> Change:
    def change(document: dict[str, Any]) -> None:
        del document[key]

    return change


def _body_value(value: Any) -> Change:
    def change(document: dict[str, Any]) -> None:
        document["body"]["value"] = value

    return change


def _embedded_partof_to_iri(document: dict[str, Any]) -> None:
    document["partOf"] = document["partOf"]["id"]


def _first_item(change: Change) -> Change:
    def change_item(document: dict[str, Any]) -> None:
        change(document["items"][0])

    return change_item


def _valid_page() -> dict[str, Any]:
    return annotation_page(
        [passage(), reply()],
        page_iri=f"{COLLECTION}?page=0",
        collection_iri=COLLECTION,
        collection_label="Comments",
        total=2,
        start_index=0,
        next_iri=None,
        prev_iri=None,
    )


def _valid_collection() -> dict[str, Any]:
    return annotation_collection(
        collection_iri=COLLECTION,
        label="Comments",
        total=2,
        first_iri=f"{COLLECTION}?page=0",
        last_iri=f"{COLLECTION}?page=0",
    )


BROKEN: dict[str, tuple[Kind, Change, str]] = {
    "https @context": ("annotation", _set("@context", "https://www.w3.org/ns/anno.jsonld"), "3.1-annotationContext"),
    "no @context": ("annotation", _drop("@context"), "3.1-annotationContextValidated"),
    "missing target": ("annotation", _drop("target"), "3.1-targetKeyFound"),
    "body value not a string": ("annotation", _body_value(42), "3.2-bodyObjectsRecognized"),
    "id not a uri": ("annotation", _set("id", "not a uri"), "3.1-annotationIdValidated"),
    "created not a date-time": ("annotation", _set("created", "2024-05-02 10:15"), "3.3.1-annotationCreatedValidated"),
    "wrong type": ("annotation", _set("type", "Comment"), "3.1-annotationTypeValidated"),
    "page partOf a bare string": ("page", _embedded_partof_to_iri, "5.2-pageTotalValidated"),
    "page without items": ("page", _drop("items"), "5.2-pageItemsValidated"),
    "page negative startIndex": ("page", _set("startIndex", -1), "5.2-pageStartIndexValidated"),
    "page item without target": ("page", _first_item(_drop("target")), "items[0]: annotations/3.1-targetKeyFound"),
    "collection total > 0 without first": ("collection", _drop("first"), "5.1-collectionFirstValidated"),
    "collection wrong type": ("collection", _set("type", "OrderedCollection"), "5.1-collectionTypeValidated"),
    "collection total negative": ("collection", _set("total", -1), "5.1-collectionTotalValidated"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_documents_fail(case: str) -> None:
    """Each deliberate defect fails, and fails the assertion about that defect."""
    kind, change, expected = BROKEN[case]
    valid = {"annotation": lambda: annotation(passage()), "page": _valid_page, "collection": _valid_collection}
    document = valid[kind]()
    assert must_failures(document, kind) == []
    broken = copy.deepcopy(document)
    change(broken)
    failures = must_failures(broken, kind)
    assert any(expected in failure for failure in failures), failures


def test_partof_as_bare_iri_fails_seven_page_assertions() -> None:
    page = _valid_page()
    _embedded_partof_to_iri(page)
    assert len(must_failures(page, "page")) == 7


def test_schemas_accept_array_contexts_and_types() -> None:
    """What the suite leaves open: @context arrays containing anno.jsonld, typed arrays.

    The serialiser still uses the single strings (see the module docstring); this
    records that the Protocol's LDP-container form would conform too.
    """
    ldp = [ANNO_CONTEXT, "http://www.w3.org/ns/ldp.jsonld"]
    assert_conforms(_valid_page() | {"@context": ldp}, "page")
    container = {"@context": ldp, "type": ["BasicContainer", "AnnotationCollection"]}
    assert_conforms(_valid_collection() | container, "collection")
    assert_conforms(annotation(passage()) | {"@context": [ANNO_CONTEXT]}, "annotation")
    assert must_failures(annotation(passage()) | {"@context": ["http://www.w3.org/ns/ldp.jsonld"]}, "annotation")


# --- the serialiser ------------------------------------------------------------------


def test_passage_annotation_shape_and_musts() -> None:
    document = annotation(passage())
    assert document == {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": f"{BASE}/comments/42",
        "type": "Annotation",
        "motivation": "commenting",
        "created": "2024-05-02T10:15:00Z",
        "modified": "2024-05-03T08:00:30Z",
        "creator": {"id": f"{BASE}/people/7", "type": "Person", "nickname": "Citizen Seven"},
        "body": {
            "type": "TextualBody",
            "value": "This deadline is **too short** for small councils.",
            "format": "text/markdown",
        },
        "target": {
            "source": f"{BASE}/c/housing/v/1",
            "selector": {
                "type": "FragmentSelector",
                "conformsTo": "http://tools.ietf.org/rfc/rfc3236",
                "value": "s-objectives",
                "refinedBy": [
                    {
                        "type": "TextQuoteSelector",
                        "exact": "within 30 days",
                        "prefix": "Councils must respond ",
                        "suffix": " of receipt of a request.",
                    },
                    {"type": "TextPositionSelector", "start": 22, "end": 36},
                ],
            },
            "state": {"type": "TimeState", "sourceDate": "2024-05-01T09:00:00Z"},
        },
    }
    assert len(assertions("annotation")) == 54
    assert_conforms(document, "annotation")


def test_reply_shape_and_musts() -> None:
    document = annotation(reply())
    assert document["motivation"] == "replying"
    assert document["target"] == f"{BASE}/comments/42"
    assert "modified" not in document
    assert document["body"] == {"type": "TextualBody", "value": "Agreed, 30 days is tight.", "format": "text/markdown"}
    assert_conforms(document, "annotation")


def test_empty_values_are_left_out() -> None:
    document = annotation(passage(prefix="", suffix=None, modified=None, creator_name="", source_date=None))
    quote = document["target"]["selector"]["refinedBy"][0]
    assert quote == {"type": "TextQuoteSelector", "exact": "within 30 days"}
    assert "modified" not in document
    assert document["creator"] == {"id": f"{BASE}/people/7", "type": "Person"}
    assert "state" not in document["target"]
    assert "language" not in document["body"]
    assert all(value not in (None, "", [], {}) for value in _walk(document))
    assert_conforms(document, "annotation")


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield item
            yield from _walk(item)


@pytest.mark.parametrize(
    "changes",
    [
        {"section_id": None},
        {"section_id": None, "start": None, "end": None},
        {"section_id": None, "exact": None, "start": None, "end": None},
        {"exact": None, "start": None, "end": None},
        {"body": ""},
    ],
    ids=["no section", "quote only", "whole version", "section only", "empty body"],
)
def test_partial_passage_data_still_conforms(changes: dict[str, Any]) -> None:
    assert_conforms(annotation(passage(**changes)), "annotation")


def test_timestamps_are_utc_with_z() -> None:
    paris = timezone(timedelta(hours=2))
    document = annotation(passage(created=datetime(2024, 5, 2, 12, 15, 0, 123456, tzinfo=paris)))
    assert document["created"] == "2024-05-02T10:15:00Z"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"created": datetime(2024, 5, 2, 10, 15)}, "naive"),
        ({"reply_to": f"{BASE}/comments/1"}, "both a reply"),
        ({"source": None}, "no target"),
        ({"start": 5, "end": 2}, "bad text position"),
        ({"start": -1}, "bad text position"),
        ({"end": None}, "both start and end"),
    ],
)
def test_invalid_records_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        annotation(passage(**changes))


def test_annotation_without_context() -> None:
    assert "@context" not in annotation(passage(), with_context=False)


def test_page_with_three_items() -> None:
    records = [passage(), reply(), passage(id=f"{BASE}/comments/44", start=0, end=8, exact="Councils", prefix=None)]
    page = annotation_page(
        records,
        page_iri=f"{COLLECTION}?page=1",
        collection_iri=COLLECTION,
        collection_label="Comments on the housing policy",
        total=23,
        start_index=10,
        next_iri=f"{COLLECTION}?page=2",
        prev_iri=f"{COLLECTION}?page=0",
    )
    assert {key: page[key] for key in page if key != "items"} == {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": f"{COLLECTION}?page=1",
        "type": "AnnotationPage",
        "partOf": {"id": COLLECTION, "label": "Comments on the housing policy", "total": 23},
        "startIndex": 10,
        "next": f"{COLLECTION}?page=2",
        "prev": f"{COLLECTION}?page=0",
    }
    assert [item["motivation"] for item in page["items"]] == ["commenting", "replying", "commenting"]
    assert all("@context" not in item for item in page["items"])
    assert must_failures(page, "page") == [], explain(page, "page")
    for item in page["items"]:
        assert_conforms({"@context": ANNO_CONTEXT, **item}, "annotation")
        assert {"@context": ANNO_CONTEXT, **item} in [annotation(record) for record in records]


def test_last_and_empty_pages() -> None:
    last = annotation_page(
        [reply()],
        page_iri=f"{COLLECTION}?page=2",
        collection_iri=COLLECTION,
        collection_label="",
        total=21,
        start_index=20,
        next_iri=None,
        prev_iri=f"{COLLECTION}?page=1",
    )
    assert "next" not in last and "label" not in last["partOf"]
    assert_conforms(last, "page")
    empty = annotation_page(
        [], page_iri=f"{COLLECTION}?page=0", collection_iri=COLLECTION, collection_label="Comments",
        total=0, start_index=0, next_iri=None, prev_iri=None,
    )  # fmt: skip
    assert empty["items"] == [] and "next" not in empty and "prev" not in empty
    assert_conforms(empty, "page")


def test_collection() -> None:
    collection = annotation_collection(
        collection_iri=COLLECTION,
        label="Comments on the housing policy",
        total=23,
        first_iri=f"{COLLECTION}?page=0",
        last_iri=f"{COLLECTION}?page=2",
        created=datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
        modified=datetime(2024, 5, 3, 8, 0, tzinfo=UTC),
    )
    assert collection == {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": COLLECTION,
        "type": "AnnotationCollection",
        "label": "Comments on the housing policy",
        "created": "2024-05-01T09:00:00Z",
        "modified": "2024-05-03T08:00:00Z",
        "total": 23,
        "first": f"{COLLECTION}?page=0",
        "last": f"{COLLECTION}?page=2",
    }
    assert_conforms(collection, "collection")


def test_empty_collection_has_no_pages() -> None:
    collection = annotation_collection(
        collection_iri=COLLECTION, label="Comments", total=0, first_iri=f"{COLLECTION}?page=0", last_iri=None
    )
    assert collection["total"] == 0
    assert "first" not in collection and "last" not in collection
    assert_conforms(collection, "collection")


def test_collection_with_annotations_needs_first() -> None:
    with pytest.raises(ValueError, match="first_iri"):
        annotation_collection(collection_iri=COLLECTION, label="Comments", total=3, first_iri=None, last_iri=None)


def test_unicode_quote_keeps_code_point_offsets() -> None:
    """Offsets are code points as given (not UTF-16 units, bytes or graphemes), through JSON and back."""
    emoji, judge = "\U0001f642", "\U0001f469\U0001f3fd\u200d\u2696\ufe0f"  # judge: 5 code points, 1 grapheme
    section_text = f"Le d\u00e9lai de 30 jours {emoji} est trop court pour les \u00e9lus {judge} conce\u0301rne\u0301s."
    exact = f"trop court pour les \u00e9lus {judge} conce\u0301rne\u0301s"  # decomposed accents: 2 code points each
    start, end = 27, 69
    assert section_text[start:end] == exact and len(exact) == 42
    assert len(exact.encode("utf-16-le")) // 2 == 44  # what a JavaScript .length would count
    document = annotation(passage(exact=exact, prefix=section_text[:start], suffix=section_text[end:], start=start, end=end))
    refined = document["target"]["selector"]["refinedBy"]
    assert refined == [
        {"type": "TextQuoteSelector", "exact": exact, "prefix": section_text[:start], "suffix": "."},
        {"type": "TextPositionSelector", "start": 27, "end": 69},
    ]
    for encoded in (json.dumps(document), json.dumps(document, ensure_ascii=False).encode().decode("utf-8")):
        decoded = json.loads(encoded)["target"]["selector"]["refinedBy"]
        assert decoded[0]["exact"] == exact  # no normalisation on the way
        assert section_text[decoded[1]["start"] : decoded[1]["end"]] == exact
    assert_conforms(document, "annotation")
