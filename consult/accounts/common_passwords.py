"""Passwords found in lists of leaked passwords, refused on sign-up, reset and change.

The list ships with the package (``data/common-passwords.txt.gz``, ~20,000 entries; its
README says where it comes from and under what licence) and is read once per process.
A password is compared lowercased, trimmed and with its inner spaces removed, so
"Password 123" counts as "password123".
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

LIST_PATH = Path(__file__).parent / "data" / "common-passwords.txt.gz"


@functools.cache
def _common() -> frozenset[str]:
    with gzip.open(LIST_PATH, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def is_common(password: str) -> bool:
    lowered = password.strip().lower()
    return lowered in _common() or "".join(lowered.split()) in _common()
