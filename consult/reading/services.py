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
from consult.core import i18n
from consult.core.models import utcnow
from consult.moderation import services as moderation
from consult.permissions import Action, can
from consult.proposals import services as proposals
from consult.proposals.models import Consultation, Section, SectionText, Version
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


def text_language(version: Version | None, *, asked: str | None, interface: str) -> str | None:
    """The language the page shows ``version``'s text in: the one the reader ``asked`` for (the
    page's language switch) when the version has its text in it, else the interface's when it
    has, else the original (None without a version)."""
    if version is None:
        return None
    languages = version.languages
    for language in (asked, interface):
        if language in languages:
            return language
    return languages[0]


@dataclass(frozen=True)
class TextLanguages:
    """The page's text language and its switch: ``shown`` the language of the text on the page,
    ``choices`` the version's languages (the original first), ``interface`` the page's."""

    shown: str
    choices: list[str]
    original: str
    interface: str

    @property
    def differs(self) -> bool:
        """The text is not in the interface's language: its container says which it is."""
        return self.shown != self.interface

    @property
    def direction(self) -> str:
        return i18n.text_direction(self.shown)

    @property
    def param(self) -> str | None:
        """What links to the section pages carry as ``?text=`` (None for the original)."""
        return self.shown if self.shown != self.original else None


def text_languages(version: Version, shown: str) -> TextLanguages:
    return TextLanguages(shown, version.languages, version.consultation.original_language, i18n.current_language())


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
    #: the language of the text shown and the others it can be read in (None without a version)
    texts: TextLanguages | None = None
    #: annotations made on the text in another language, per section key: listed, not drawn
    elsewhere: dict = field(default_factory=dict)
    #: a draft, to its editors: the sections each translation still lacks (``missing_translations``)
    missing: dict = field(default_factory=dict)

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

    section: Section | SectionText
    notes: list[Section | SectionText] = field(default_factory=list)

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


def shown_sections(version: Version, language: str | None = None) -> list[ShownSection]:
    """The version's sections for the page, in its text in ``language`` (by default the
    original): a notes block ("Footnotes") goes with the section before it; one at the very
    start stays a section of its own."""
    shown: list[ShownSection] = []
    for s in version.sections_in(language):
        if s.is_notes and shown:
            shown[-1].notes.append(s)
        else:
            shown.append(ShownSection(s))
    return shown


def reading_page(consultation: Consultation, version: Version | None, *, viewer: User | None, language: str | None = None) -> ReadingPage:
    """The page of ``version`` as ``viewer`` may see it, its text in ``language`` (see
    ``text_language``; by default the original). A published version shows its annotations (those
    made on the text in this language drawn, the others listed), comment and amendment counts; the
    current one the votes on its sections; a version after the first the contributions its
    changes cite; and a draft after the first, to those who edit it, what each section's change
    could cite."""
    page = ReadingPage(consultation, version)
    if version is None:
        return page
    c = consultation
    language = language if language in version.languages else c.original_language
    page.texts = text_languages(version, language)
    page.is_current = version == c.current_version
    page.shown = shown_sections(version, language)
    if not c.is_draft:
        page.figures = moderation.figures(c)
    if version.is_published:
        stamp = comments.counts.counts_for(c, None, None).stamp  # what the workers kept of the annotations is current
        marks = comments.highlights_for(version, viewer, language=language, stamp=stamp)
        page.section_html = highlighted_sections(version, marks, language=language)
        page.counts = comments.section_counts(c, viewer)
        page.orphaned = comments.orphaned_on(version, viewer, language=language)
        page.elsewhere = comments.annotations_on_other_texts(version, viewer, language=language, stamp=stamp)
        page.amendment_counts = amendments.amendment_counts(c, viewer)
        page.waiting = amendments.unanswered_above_threshold(c)
    else:
        page.section_html = {s.key: s.html for s in version.sections_in(language)}
    if not version.is_published and can(viewer, Action.EDIT_TEXT, c):
        page.missing = proposals.missing_translations(version)
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
