"""Slugs: the short lowercase ASCII names in URLs (consultations, organisations) and in section
keys. One rule for making them and one for checking a typed one."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

#: A typed slug: lowercase letters and digits in words joined by single hyphens.
SLUG_RE: Final = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")

_TRANSLITERATION: Final = str.maketrans(
    {
        "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
        "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L",
        "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i",
    }
)  # fmt: skip
_APOSTROPHES: Final = frozenset("'’ʼ‘`")


def slugify(text: str, max_length: int) -> str:
    """Lowercase ASCII words joined by "-", cut at a word boundary to ``max_length``.

    Accents are transliterated (NFKD, plus ß/æ/ø/... by hand), apostrophes
    vanish ("agency's" -> "agencys"), other punctuation separates words and
    other non-ASCII letters are dropped. May return "" (no letters or digits).
    """
    chars: list[str] = []
    for char in unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION)):
        if char in _APOSTROPHES or unicodedata.combining(char):
            continue
        if char.isascii():
            chars.append(char.lower() if char.isalnum() else " ")
        elif not char.isalnum():
            chars.append(" ")  # non-ASCII punctuation / space separates words
        # other non-ASCII letters and digits are dropped
    slug = "-".join("".join(chars).split())
    return truncate_slug(slug, max_length)


def truncate_slug(slug: str, limit: int) -> str:
    """The longest run of whole words of ``slug`` within ``limit`` characters.

    A first word longer than the limit is cut hard.
    """
    if len(slug) <= limit:
        return slug
    cut = slug.rfind("-", 0, limit + 1)
    return slug[:cut] if cut > 0 else slug[:limit]


def is_slug(value: str) -> bool:
    return SLUG_RE.match(value) is not None
