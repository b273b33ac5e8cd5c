"""How a delivery is signed, and how a receiver checks it (pure functions; a receiver may copy
``verify`` as it is).

The header ``Consult-Signature: t=<unix time>,v1=<hex>`` carries the time of sending and
HMAC-SHA256 of ``"<t>.<body>"`` keyed with the webhook's secret. A receiver recomputes it over
the raw body it got, compares in constant time, and refuses a time older than a few minutes
(so a captured delivery cannot be replayed later)."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Consult-Signature"
TOLERANCE = 300  # seconds


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``Consult-Signature`` header's value for ``body`` sent now (or at ``timestamp``)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str | None, body: bytes, *, tolerance: int = TOLERANCE, now: float | None = None) -> bool:
    """Does ``header`` sign exactly ``body`` with ``secret``, recently enough?"""
    if not header:
        return False
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
