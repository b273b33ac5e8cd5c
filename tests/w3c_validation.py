"""Check JSON documents against the W3C Web Annotation test suite's MUST assertions.

The schemas are the unmodified upstream files in ``tests/data/web-annotation-tests``
(see SOURCE.md there). Each manifest lists assertion schemas (JSON Schema draft-04)
that a conforming document must all be valid against; they ``$ref`` the shared
``definitions/*.json`` by bare file name, so those are registered under that name.

Use from any test::

    from tests.w3c_validation import must_failures
    assert must_failures(document, "annotation") == []

Only for tests: the application itself never validates at runtime.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

__all__ = ["DATA_DIR", "MANIFESTS", "Assertion", "Kind", "assertions", "explain", "must_failures"]

DATA_DIR: Final = Path(__file__).parent / "data" / "web-annotation-tests"

type Kind = Literal["annotation", "page", "collection"]

MANIFESTS: Final[Mapping[str, str]] = {
    "annotation": "annotations/annotationMusts.test",
    "page": "collections/pages/pageMusts.test",
    "collection": "collections/collectionMusts.test",
}
"""Manifest of MUST assertions for each kind of document, relative to DATA_DIR."""

ANNO_CONTEXT: Final = "http://www.w3.org/ns/anno.jsonld"


@dataclass(frozen=True)
class Assertion:
    """One assertion schema of a manifest, ready to validate with."""

    path: str
    """Upstream path relative to DATA_DIR, e.g. ``annotations/3.1-targetKeyFound.json``."""
    title: str
    error_message: str
    validator: Draft4Validator


def _load(relative: str) -> Any:
    return json.loads((DATA_DIR / relative).read_text(encoding="utf-8"))


@functools.cache
def _registry() -> Registry:
    """Every definitions/*.json, registered under its bare file name (its relative ``id``)."""
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text(encoding="utf-8")), DRAFT4))
        for path in sorted((DATA_DIR / "definitions").glob("*.json"))
    ]
    if len(resources) != 7:
        raise RuntimeError(f"expected the 7 upstream definition files in {DATA_DIR}, found {len(resources)}")
    return Registry().with_resources(resources)


def _format_checker() -> FormatChecker:
    """Draft 4's format checker, refusing to run when uri/date-time would not really be checked.

    Without the ``jsonschema[format-nongpl]`` extras those formats silently pass,
    and ``"id": "not a uri"`` would be accepted.
    """
    checker = Draft4Validator.FORMAT_CHECKER
    if checker.conforms("not a uri", "uri") or checker.conforms("2024-05-02 10:15", "date-time"):
        raise RuntimeError('uri/date-time formats are not checked: install "jsonschema[format-nongpl]"')
    return checker


@functools.cache
def assertions(kind: Kind) -> tuple[Assertion, ...]:
    """The MUST assertions of one manifest, in manifest order (loaded by path: some ids clash)."""
    manifest = _load(MANIFESTS[kind])
    registry = _registry()
    checker = _format_checker()
    loaded = []
    for path in manifest["assertions"]:
        schema = _load(path)
        if schema.get("assertionType") != "must" or schema.get("expectedResult") != "valid":
            raise RuntimeError(f"{path}: expected a MUST assertion expecting valid documents")
        Draft4Validator.check_schema(schema)
        validator = Draft4Validator(schema, registry=registry, format_checker=checker)
        loaded.append(Assertion(path, schema.get("title", path), schema.get("errorMessage", ""), validator))
    return tuple(loaded)


def _failed(document: Any, kind: Kind) -> list[tuple[str, Assertion]]:
    """(where, assertion) for every failed assertion, page items included."""
    failed = [("", a) for a in assertions(kind) if not a.validator.is_valid(document)]
    if kind == "page" and isinstance(document, dict) and isinstance(document.get("items"), list):
        for index, item in enumerate(document["items"]):
            if isinstance(item, dict):
                standalone = {"@context": ANNO_CONTEXT, **item}
                failed += [(f"items[{index}]: ", a) for a in assertions("annotation") if not a.validator.is_valid(standalone)]
    return failed


def must_failures(document: Any, kind: Kind) -> list[str]:
    """Paths of the failed MUST assertions; an empty list means the document conforms.

    For a page, every embedded item is also checked against the annotation MUSTs,
    given the page's ``@context`` (items leave it out); those failures are
    prefixed with ``items[i]: ``.
    """
    return [where + assertion.path for where, assertion in _failed(document, kind)]


def explain(document: Any, kind: Kind) -> str:
    """Human-readable report of the failures: path, upstream error message, first schema error."""
    lines = []
    for where, assertion in _failed(document, kind):
        errors = list(assertion.validator.iter_errors(document if not where else _item(document, where)))
        detail = errors[0].message if errors else ""
        lines.append(f"{where}{assertion.path}: {assertion.error_message} [{detail[:200]}]")
    return "\n".join(lines)


def _item(page: dict[str, Any], where: str) -> dict[str, Any]:
    index = int(where.removeprefix("items[").split("]", 1)[0])
    return {"@context": ANNO_CONTEXT, **page["items"][index]}
