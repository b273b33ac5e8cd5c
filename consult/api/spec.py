"""The API's OpenAPI 3.1 description, generated from the views and their pydantic models.

spectree (a locked dependency) reads each decorated view's route, docstring and models; it also
checks request bodies and queries against the models before the view runs (``write`` and the
new reads), turning a failure into a problem-details answer with one entry per field. The views
that were there before it keep their own checks and messages (``validate=False``: documented,
not checked by spectree). ``document()`` adds what spectree does not write: the bearer scheme,
the problem-details media type of errors, the JSON-LD of annotations and the Idempotency-Key
header of writes. spectree's own documentation pages load Swagger UI from a CDN and are not
used; ``consult/api/openapi.py`` serves the description and a page of our own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError
from spectree import Response, SpecTree

from consult.api.problems import problem_type
from consult.api.schemas import ProblemDetails, SearchQuery, SearchResults
from consult.core.problems import Problem

TITLE = "Consult API"
VERSION = "1"
DESCRIPTION = (
    "Read consultations, their versions, contributions, tallies, the opinion map and, once "
    "published, themes and summaries; with an API token, take part (comment, annotate, reply, "
    "propose amendments, vote, report) and, for an organisation's staff, publish versions, answer "
    "amendments, change a consultation's state and moderate, through the same rules as the site. "
    "Errors are RFC 9457 problem details. Lists of contributions are paged by an opaque cursor."
)
READ_ERRORS = (400, 401, 403, 404, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 415, 422, 429)
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": str(
        _l(
            "Any text of 1 to 255 visible characters. Sent again with the same token and body, the first "
            "answer is given again and nothing is written twice; with another body, a 422 problem."
        )
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}


def _refuse_invalid(req, resp, error, instance, model_adapter) -> None:  # noqa: ARG001 - spectree's hook signature
    """spectree found the query or the body invalid: a problem with an entry per field."""
    if error is None:
        return
    errors = (
        [{"field": ".".join(str(part) for part in e["loc"]), "message": e["msg"]} for e in error.errors(include_url=False)]
        if isinstance(error, ValidationError)
        else [{"field": "", "message": str(error)}]
    )
    raise Problem(
        resp.status_code,
        title=_("Invalid input"),
        detail=_("Some of what was sent is not valid: see “errors”, one entry per field."),
        type=problem_type("validation"),
        errors=errors,
    )


spec = SpecTree(
    "flask",
    mode="strict",
    annotations=False,
    title=TITLE,
    version=VERSION,
    description=DESCRIPTION,
    before=_refuse_invalid,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)


def operation(
    *,
    tags: tuple[str, ...],
    ok: dict[int, type[BaseModel] | None],
    query: type[BaseModel] | None = None,
    json: type[BaseModel] | None = None,
    errors: tuple[int, ...] = READ_ERRORS,
    token: str | None = None,
    validate: bool = True,
) -> Callable:
    """Describe a view (and, with ``validate``, check its query or body): ``ok`` its answers by
    status, ``errors`` the problems it may answer with, ``token`` the scope it needs (None: a
    read, with or without a token)."""
    codes: dict[str, Any] = {f"HTTP_{status}": model for status, model in ok.items()}
    codes |= {f"HTTP_{status}": ProblemDetails for status in errors}
    security = [{"bearer": [token]}] if token else [{}, {"bearer": ["read"]}]

    def decorate(view: Callable) -> Callable:
        return spec.validate(
            query=query,
            json=json,
            resp=Response(**codes),
            tags=tags,
            security=security,
            operation_id=view.__name__,
            skip_validation=not validate,
            validation_error_status=422 if json is not None else 400,
        )(view)

    return decorate


_document: dict[str, Any] | None = None


def document() -> dict[str, Any]:
    """The OpenAPI document (needs an app context: spectree reads the app's routes)."""
    global _document  # noqa: PLW0603 - built once per process: the routes do not change
    if _document is None:
        _document = _complete(copy.deepcopy(spec.spec))
    return _document


def _search(doc: dict[str, Any]) -> None:
    """Search's JSON (``consult/search/views.py``: a view the API's package may not import, views
    being independent of each other), described here from its models."""
    for model in (SearchResults, ProblemDetails):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        doc["components"]["schemas"].update(schema.pop("$defs", {}))
        doc["components"]["schemas"].setdefault(model.__name__, schema)
    query = SearchQuery.model_json_schema()
    required = set(query.get("required", []))
    problem = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}
    doc["paths"]["/api/v1/search"] = {
        "get": {
            "summary": str(_l("Search the public consultations and what was said in them.")),
            "description": str(_l("Ranked results, in the reader's language first; only what anyone may read.")),
            "operationId": "search",
            "tags": ["Search"],
            "parameters": [
                {"name": name, "in": "query", "required": name in required, "schema": prop, "description": prop.get("description", "")}
                for name, prop in query["properties"].items()
            ],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchResults"}}}},
                **{str(status): {"description": HTTPStatus(status).phrase} | problem for status in READ_ERRORS},
            },
            "security": [{}, {"bearer": ["read"]}],
        }
    }


def _complete(doc: dict[str, Any]) -> dict[str, Any]:
    _search(doc)
    doc["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token made on your account's page (or an organisation's), sent as `Authorization: Bearer cst_…`.",
        }
    }
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for status, answer in op.get("responses", {}).items():
                content = answer.get("content") or {}
                if int(status) >= 400:
                    schema = next(iter(content.values()), {}).get("schema", {"$ref": "#/components/schemas/ProblemDetails"})
                    answer["content"] = {"application/problem+json": {"schema": schema}}
                elif path.endswith("/annotations") and method == "get" and "application/json" in content:
                    answer["content"] = {"application/ld+json": content["application/json"]}
            if method == "post":
                op.setdefault("parameters", []).append(dict(IDEMPOTENCY_HEADER))
            if any(p.get("in") == "query" for p in op.get("parameters", [])):
                op["responses"]["414"] = {
                    "description": "URI Too Long: the web server's limit on a request line (gunicorn's: 4,094 bytes)."
                }
            if "401" in op.get("responses", {}):
                op["responses"]["401"]["headers"] = {
                    "WWW-Authenticate": {
                        "description": "`Bearer realm=\"Consult\"`, with the error (RFC 6750).",
                        "schema": {"type": "string"},
                    }
                }
    return doc
