"""What the consultation's page shows, for one reader and one version."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from consult.accounts.models import User
from consult.amendments import explanations
from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.comments.highlighting import highlighted_sections
from consult.core.models import utcnow
from consult.moderation import services as moderation
from consult.permissions import Action, can
from consult.proposals import services as proposals
from consult.proposals.models import Consultation, Section, Version
from consult.voting import services as voting


def version_to_read(consultation: Consultation, viewer: User | None, number: int | None = None) -> Version | None:
    """The version the page shows: the one numbered ``number`` when the viewer may read it
    (``Action.VIEW_VERSION``; None otherwise: a 404); without a number the current one, or,
    before the first is published, the draft for those who may read it (None for the others:
    the page says there is no text yet)."""
    if number is not None:
        version = consultation.version(number)
        return version if version is not None and can(viewer, Action.VIEW_VERSION, version) else None
    draft = consultation.draft_version
    if consultation.current_version is None and draft is not None and can(viewer, Action.VIEW_VERSION, draft):
        return draft
    return consultation.current_version


@dataclass
class ReadingPage:
    """Everything the page shows beside the consultation itself; the names are the template's."""

    consultation: Consultation
    version: Version | None
    section_html: dict[str, str] = field(default_factory=dict)
    counts: dict[str | None, int] = field(default_factory=dict)
    orphaned: list = field(default_factory=list)
    is_current: bool = False
    amendment_counts: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    section_tallies: dict[str, voting.Tally] = field(default_factory=dict)
    my_votes: dict[int | str, str] = field(default_factory=dict)
    empty_tally: voting.Tally = field(default_factory=voting.Tally)
    citations: dict = field(default_factory=dict)
    citable: dict = field(default_factory=dict)
    #: a version after the first: the author's reason per section key (removed sections' too)
    reasons: dict = field(default_factory=dict)
    #: each changed, added and removed section and what explains it (``amendments.explanations``)
    changes: list = field(default_factory=list)
    #: a draft, to its editors: the previous version's sections it may be matched with, and the
    #: author's corrections so far (draft key -> old key or None)
    previous_sections: list = field(default_factory=list)
    pairings: dict = field(default_factory=dict)
    now: datetime = field(default_factory=utcnow)
    #: participation so far, over what the public can see (people, comments, amendments...)
    figures: moderation.Figures | None = None
    #: the sections as the page shows them, each with the notes blocks that follow it
    shown: list[ShownSection] = field(default_factory=list)
    #: the organisation's open calls to action. There is no calls feature yet: when there is,
    #: it fills this list (objects with ``title``, ``url`` and ``closes_at``); nothing else does.
    calls_to_action: list = field(default_factory=list)

    @property
    def days_left(self) -> int | None:
        """Whole days, rounded up, until an open consultation closes (None: not open, or no date)."""
        c = self.consultation
        if not c.is_open or c.closes_at is None or c.closes_at <= self.now:
            return None
        return math.ceil((c.closes_at - self.now) / timedelta(days=1))

    def context(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"days_left": self.days_left}


#: A section whose text is longer than this (characters of its text) is shown folded on the
#: consultation's page: its first words, and the whole text a click away (a <details>).
FOLD_ABOVE = 600
TEASER_LENGTH = 220


@dataclass
class ShownSection:
    """One section as the page shows it: the notes blocks an import cut off after it are shown
    with it, and a long text is folded behind its first words."""

    section: Section
    notes: list[Section] = field(default_factory=list)

    @property
    def folded(self) -> bool:
        return len(self.section.text) + sum(len(n.text) for n in self.notes) > FOLD_ABOVE

    @property
    def teaser(self) -> str:
        """The first words of the text, cut at a word, for a folded section."""
        text = " ".join(self.section.text.split())
        if len(text) <= TEASER_LENGTH:
            return text
        return text[:TEASER_LENGTH].rsplit(" ", 1)[0] + "…"

    @property
    def words(self) -> int:
        return len(self.section.text.split()) + sum(len(n.text.split()) for n in self.notes)


def shown_sections(version: Version) -> list[ShownSection]:
    """The version's sections for the page: a notes block ("Footnotes") goes with the section
    before it; one at the very start stays a section of its own."""
    shown: list[ShownSection] = []
    for s in version.sections:
        if s.is_notes and shown:
            shown[-1].notes.append(s)
        else:
            shown.append(ShownSection(s))
    return shown


def reading_page(consultation: Consultation, version: Version | None, *, viewer: User | None) -> ReadingPage:
    """The page of ``version`` as ``viewer`` may see it. A published version shows its
    annotations, comment and amendment counts; the current one the votes on its sections; a
    version after the first the contributions its changes cite; and a draft after the first,
    to those who edit it, what each section's change could cite."""
    page = ReadingPage(consultation, version)
    if version is None:
        return page
    c = consultation
    page.is_current = version == c.current_version
    page.shown = shown_sections(version)
    if not c.is_draft:
        page.figures = moderation.figures(c)
    if version.is_published:
        page.section_html = highlighted_sections(version, comments.highlights_for(version, viewer))
        page.counts = comments.section_counts(c, viewer)
        page.orphaned = comments.orphaned_on(version, viewer)
        page.amendment_counts = amendments.amendment_counts(c, viewer)
        page.waiting = amendments.unanswered_above_threshold(c)
    else:
        page.section_html = {s.key: s.html for s in version.sections}
    if page.is_current:
        page.section_tallies = voting.section_tallies(c)
        page.my_votes = voting.my_votes(viewer, c)
    if version.number > 1:
        page.citations = amendments.citations_of(version)
        page.reasons = explanations.reasons_of(version)
        page.changes = explanations.explanations(version)
        if not version.is_published and can(viewer, Action.EDIT_TEXT, c):
            page.citable = amendments.citable_by_section(c)
            previous = c.current_version
            if previous is not None:
                labels = previous.labels()
                page.previous_sections = [(s.key, labels[s.key]) for s in previous.sections]
            page.pairings = proposals.pairing_choices(version)
    return page
