"""Fixtures of the sign-in with identity providers: a real OpenID provider (tests/oidc/provider.py)
configured as the app's provider "local" for one test."""

from __future__ import annotations

import pytest

from consult.accounts import oidc
from tests.oidc.provider import running_provider

CALLBACK = "http://consult.test/signin/oidc/local/callback"  # the test client's address (SERVER_NAME)


@pytest.fixture(scope="session")
def _provider_process():
    with running_provider([CALLBACK]) as provider:
        yield provider


@pytest.fixture
def provider(app, _provider_process, monkeypatch):
    """The running provider, configured as the app's only one (named "local")."""
    monkeypatch.setitem(app.config, "OIDC_PROVIDERS", [_provider_process.settings()])
    oidc.clear_cache()
    yield _provider_process
    oidc.clear_cache()
