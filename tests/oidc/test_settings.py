"""OIDC_PROVIDERS: read as JSON from CONSULT_OIDC_PROVIDERS; a provider that could not work or
would be unsafe stops the app from starting."""

from __future__ import annotations

import json

import pytest

from consult import create_app
from consult.config import check_oidc_providers

GOOD = {"name": "gov-id", "issuer": "https://id.example.gov", "client_id": "consult", "client_secret": "s", "label": "Sign in with GOV ID"}


def test_providers_come_from_the_environment_as_json(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSULT_OIDC_PROVIDERS", json.dumps([GOOD]))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    assert app.config["OIDC_PROVIDERS"] == [GOOD]


@pytest.mark.parametrize(
    "entries",
    [
        {"name": "gov-id"},
        ["gov-id"],
        [{**GOOD, "name": "Gov ID"}],
        [GOOD, GOOD],
        [{**GOOD, "issuer": "http://id.example.gov"}],
        [{**GOOD, "issuer": "id.example.gov"}],
        [{**GOOD, "issuer": "https://id.example.gov/?x=1"}],
        [{**GOOD, "client_id": ""}],
    ],
)
def test_a_provider_that_could_not_work_stops_the_start(entries):
    with pytest.raises(RuntimeError, match="OIDC_PROVIDERS"):
        check_oidc_providers(entries)


def test_plain_http_is_allowed_on_this_machine_only():
    check_oidc_providers([{**GOOD, "issuer": "http://127.0.0.1:9000"}, {**GOOD, "name": "other", "issuer": "http://localhost:9000/realm"}])
