"""``Idempotency-Key`` on the API's POSTs: a client that sends a write again (its connection
dropped before the answer came) gets the first answer again, and nothing is written twice.

The key is remembered with the token and a fingerprint of the request (method, path and body),
in the transaction of the write itself; the database's unique key on (token, key) settles two
requests sent at once: the second one's insert fails, its write is rolled back, and it answers
with the first one's response. Only successful answers are remembered: a refused request wrote
nothing, and may be corrected and sent again with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from flask import Response, current_app, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from consult.api.problems import problem_type
from consult.core.models import db
from consult.core.problems import Problem
from consult.tokens import services as tokens
from consult.tokens.models import ApiToken, IdempotentRequest

HEADER = "Idempotency-Key"
KEY = re.compile(r"[\x21-\x7e]{1,255}")


def fingerprint() -> str:
    """The request's method, path and body (a JSON body in a canonical form: the same object
    with other spacing or key order is the same request)."""
    body = request.get_json(silent=True)
    text = (
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if body is not None else request.get_data(as_text=True)
    )
    return hashlib.sha256(f"{request.method} {request.path}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()


def _replay(earlier: IdempotentRequest, digest: str) -> Response:
    if earlier.request_hash != digest:
        raise Problem(
            422,
            title=_("Idempotency key already used"),
            detail=_("This Idempotency-Key was sent before with another request: use a new key for a new request."),
            type=problem_type("idempotency-key-reused"),
        )
    response = current_app.response_class(earlier.body, status=earlier.status, mimetype="application/json")
    if earlier.location:
        response.headers["Location"] = earlier.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def once(token: ApiToken, write: Callable[[], Response]) -> Response:
    """Run ``write`` (which changes the database and returns the answer) and commit, at most once
    per idempotency key."""
    key = request.headers.get(HEADER)
    if key is None:
        response = write()
        db.session.commit()
        return response
    if not KEY.fullmatch(key):
        raise Problem(
            400,
            title=_("Invalid idempotency key"),
            detail=_("An Idempotency-Key is 1 to 255 visible ASCII characters."),
            type=problem_type("invalid-idempotency-key"),
        )
    digest = fingerprint()
    if (earlier := tokens.remembered_request(token, key)) is not None:
        return _replay(earlier, digest)
    response = write()
    if 200 <= response.status_code < 300:
        try:
            tokens.remember_request(
                token,
                key,
                request_hash=digest,
                status=response.status_code,
                body=response.get_data(as_text=True),
                location=response.headers.get("Location"),
            )
        except IntegrityError:
            db.session.rollback()  # the same key at the same moment: that request's write stands, not this one's
            earlier = tokens.remembered_request(token, key)
            if earlier is None:
                raise
            return _replay(earlier, digest)
    db.session.commit()
    return response
