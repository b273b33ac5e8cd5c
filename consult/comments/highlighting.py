"""Annotations drawn on a section's HTML: each highlighted range a ``<mark>`` linking to its
comments (the drawing itself is ``text.highlight``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from flask import current_app

from consult.core import text

if TYPE_CHECKING:
    from consult.comments.services import Highlighted
    from consult.proposals.models import Section, Version

STATE_NOTES = {"changed": " (the wording has changed since)", "moved": " (moved here from another section)"}


def highlighted_sections(version: Version, highlights: Mapping[str, Sequence[Highlighted]], *, only: Section | None = None) -> dict[str, str]:
    """Each section's HTML (or just ``only``'s) with ``highlights`` (``comments.services.highlights_for``
    of the same version, as the reader may see them) drawn as <mark>s linking to their threads."""
    links = current_app.url_map.bind("")  # paths only, with or without a request
    result = {}
    for section in [only] if only else version.sections:
        marks = tuple(
            text.Highlight(
                start=h.start,
                end=h.end,
                href=links.build("comments.show", {"contribution_id": h.contribution_ids[0]}),
                label=mark_label(h),
                count=len(h.contribution_ids),
                id=str(h.contribution_ids[0]),
            )
            for h in highlights.get(section.key, [])
        )
        result[section.key] = _highlighted(section.html, marks) if marks else section.html
    return result


@lru_cache(maxsize=256)
def _highlighted(html: str, marks: tuple[text.Highlight, ...]) -> str:
    """Drawing the marks parses the section's HTML: most requests ask for the same sections
    with the same marks (a published text does not change), so each worker keeps the last few."""
    return str(text.highlight(html, marks))


def mark_label(h: Highlighted) -> str:
    """What a screen reader says for a highlighted range: how many comments, on which words."""
    n = len(h.contribution_ids)
    quote = h.exact if len(h.exact) <= 60 else h.exact[:59] + "…"
    return f"{n} comment{'s' if n != 1 else ''} on “{quote}”{STATE_NOTES.get(h.state, '')}"
