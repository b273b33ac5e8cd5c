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

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
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


def _seed(database_url: str, instance: Path) -> tuple[str, dict[str, list]]:
    """The demo, and a token of its site admin with every scope: its secret, and the demo's
    consultations, contributions and section keys, for schemathesis to use most of the time
    (random ones only reach the 404s)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from consult import create_app
    from consult.accounts.models import User
    from consult.contributions.models import Contribution
    from consult.core.models import db
    from consult.demo import load_demo
    from consult.proposals.models import Consultation, Section
    from consult.tokens import services as tokens

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "schemathesis", "INSTANCE_PATH": str(instance)})
    try:
        with app.app_context():
            upgrade()
            load_demo()
            admin = db.session.scalar(select(User).where(User.is_site_admin.is_(True)))
            _token, secret = tokens.create_token(
                actor=admin, name="schemathesis", scopes=["read", "contribute", "moderate", "publish"], lifetime_days=7
            )
            db.session.commit()
            known = {
                "slugs": list(db.session.scalars(select(Consultation.slug).order_by(Consultation.id))),
                "contributions": list(db.session.scalars(select(Contribution.id).order_by(Contribution.id))),
                "sections": sorted(set(db.session.scalars(select(Section.key)))),
            }
            return secret, known
    finally:
        with app.app_context():
            db.engine.dispose()


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
    sys.path.insert(0, str(ROOT))
    from bench.pages import stop
    from bench.votes import start_gunicorn

    database_url = f"sqlite:///{tmp_path / 'consult.db'}"
    secret, known = _seed(database_url, tmp_path / "instance")
    (tmp_path / "schemathesis.toml").write_text(_config(known))
    env = os.environ | {
        "CONSULT_DATABASE_URL": database_url,
        "CONSULT_SECRET_KEY": "schemathesis",
        "CONSULT_SESSION_COOKIE_SECURE": "false",
        "CONSULT_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONSULT_RATE_LIMITS": "false",  # thousands of requests in a minute, from one token
    }
    server, port = start_gunicorn(env, 2, tmp_path / "gunicorn.log")
    try:
        result = subprocess.run(
            [
                str(BIN / "st"),
                "run",
                f"http://127.0.0.1:{port}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {secret}",
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
    finally:
        stop(server)
    log = (tmp_path / "gunicorn.log").read_text(errors="replace")
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:] + "\n--- server log ---\n" + log[-4000:]
    assert "Traceback" not in log, log[-6000:]
    print(result.stdout[-6000:])
