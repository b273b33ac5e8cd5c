"""Tokens for the API's tests."""

from __future__ import annotations

from consult.core.models import db
from consult.tokens import services as tokens


def make_token(user, *scopes: str, organisation=None, days: int = 30) -> str:
    """A token of ``user`` (or of ``organisation``, made by ``user``) with ``scopes``: its secret."""
    _token, secret = tokens.create_token(
        actor=user,
        name="Test script",
        scopes=list(scopes) or ["read", "contribute"],
        lifetime_days=days,
        organisation=organisation,
    )
    db.session.commit()
    return secret


def bearer(secret: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **{name.replace("_", "-"): value for name, value in headers.items()}}
