"""Schemathesis against the live app: every operation of the API's OpenAPI description, with a
token, must answer without a server error and as its description says (status codes, media
types, headers, bodies). The app runs under gunicorn on a fresh SQLite file with the demo.

The token is the demo site admin's, with every scope, so the writes run through their services
(and change the demo as they go). Examples per operation are limited to keep the run near a
minute on CI; ``CONSULT_SCHEMATHESIS_EXAMPLES`` raises them for a longer hunt, and
``CONSULT_SCHEMATHESIS_SEED`` changes what is tried.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.live import live_api

pytestmark = pytest.mark.server

BIN = Path(sys.executable).parent
EXAMPLES = os.environ.get("CONSULT_SCHEMATHESIS_EXAMPLES", "8")
SEED = os.environ.get("CONSULT_SCHEMATHESIS_SEED", "19")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture(autouse=True)
def _transaction():
    """Not tests/conftest.py's: that one binds the global ``db.session`` to the unit tests'
    database, and the demo must be written to the served one."""
    yield


def _config(known: dict[str, list]) -> str:
    """schemathesis.toml: the demo's identifiers, drawn most of the time."""
    lines = []
    for name, values in known.items():
        lines.append(f"[dictionaries.{name}]")
        lines.append("values = [" + ", ".join(json.dumps(v) for v in values) + "]")
    lines += [
        "[parameters]",
        '"path.slug" = { dictionary = "slugs", probability = 0.9 }',
        '"path.contribution_id" = { dictionary = "contributions", probability = 0.9 }',
        '"body.section_key" = { dictionary = "sections", probability = 0.8 }',
        '"body.contribution_id" = { dictionary = "contributions", probability = 0.8 }',
    ]
    return "\n".join(lines) + "\n"


def test_schemathesis_finds_no_failure(tmp_path):
    with live_api(tmp_path) as api:
        (tmp_path / "schemathesis.toml").write_text(_config(api.known))
        result = subprocess.run(
            [
                str(BIN / "st"),
                "run",
                f"{api.url}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {api.secret}",
                "--checks",
                CHECKS,
                "--max-examples",
                EXAMPLES,
                "--phases",
                "examples,coverage,fuzzing",
                "--workers",
                "2",
                "--seed",
                SEED,
                "--no-color",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
    log = api.log.read_text(errors="replace")
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:] + "\n--- server log ---\n" + log[-4000:]
    assert "Traceback" not in log, log[-6000:]
