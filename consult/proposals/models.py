"""Consultations and their versioned policy text."""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, select, true
from sqlalchemy.orm import Mapped, lazyload, mapped_column, object_session, relationship

from consult.accounts.models import Organisation, User
from consult.core.i18n import current_language
from consult.core.models import UTCDateTime, db, utcnow
from consult.proposals.importing import is_notes_heading

#: The licences a consultation's contributions and record may be published under (SPDX ids).
LICENCES: dict[str, str] = {
    "CC-BY-4.0": "Creative Commons Attribution 4.0",
    "CC0-1.0": "CC0 1.0 (public domain dedication)",
    "CC-BY-SA-4.0": "Creative Commons Attribution-ShareAlike 4.0",
    "OGL-UK-3.0": "Open Government Licence v3.0",
    "PDDL-1.0": "Open Data Commons Public Domain Dedication",
}


class ConsultationState(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    CONCLUDED = "concluded"


class Transition(enum.StrEnum):
    OPEN = "open"
    CLOSE = "close"
    REOPEN = "reopen"
    CONCLUDE = "conclude"


#: The one table of allowed state changes: transition -> (from, to).
TRANSITIONS: dict[Transition, tuple[ConsultationState, ConsultationState]] = {
    Transition.OPEN: (ConsultationState.DRAFT, ConsultationState.OPEN),
    Transition.CLOSE: (ConsultationState.OPEN, ConsultationState.CLOSED),
    Transition.REOPEN: (ConsultationState.CLOSED, ConsultationState.OPEN),
    Transition.CONCLUDE: (ConsultationState.CLOSED, ConsultationState.CONCLUDED),
}

#: States in which the public sees the consultation.
PUBLIC_STATES = frozenset({ConsultationState.OPEN, ConsultationState.CLOSED, ConsultationState.CONCLUDED})
#: States in which participants may contribute.
OPEN_STATES = frozenset({ConsultationState.OPEN})


class ParticipationMode(enum.StrEnum):
    """The ways of taking part an organisation can turn on or off for a consultation."""

    COMMENTS = "comments"
    ANNOTATIONS = "annotations"
    AMENDMENTS = "amendments"
    STATEMENTS = "statements"
    QUESTIONNAIRE = "questionnaire"


PARTICIPATION_LABELS: dict[ParticipationMode, LazyString] = {
    ParticipationMode.COMMENTS: _l("Comments on the consultation and its sections, and replies"),
    ParticipationMode.ANNOTATIONS: _l("Comments on selected words of the text (needs comments)"),
    ParticipationMode.AMENDMENTS: _l("Amendments: proposed new wording, with support"),
    ParticipationMode.STATEMENTS: _l("Statements to agree or disagree with, and the opinion map"),
    ParticipationMode.QUESTIONNAIRE: _l("The questionnaire"),
}


class SectionChange(enum.StrEnum):
    """How a section of a version relates to the previous version."""

    KEPT = "kept"
    CHANGED = "changed"
    ADDED = "added"


class Consultation(db.Model):
    """A policy put to the public by an organisation. Nothing of it is public before ``open``."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(default="")
    state: Mapped[str] = mapped_column(String(20), default=ConsultationState.DRAFT)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    licence: Mapped[str] = mapped_column(String(100), default="CC-BY-4.0")
    response_threshold: Mapped[int] = mapped_column(default=10)
    #: "post": contributions appear at once; "pre": a new participant's first contribution waits for a moderator
    moderation_mode: Mapped[str] = mapped_column(String(10), default="post", server_default="post")
    # The ways of taking part that are on (ParticipationMode): all of them unless the organisation
    # turns some off; what was said before a mode is turned off stays readable.
    allows_comments: Mapped[bool] = mapped_column(default=True, server_default=true())
    allows_annotations: Mapped[bool] = mapped_column(default=True, server_default=true())
    allows_amendments: Mapped[bool] = mapped_column(default=True, server_default=true())
    allows_statements: Mapped[bool] = mapped_column(default=True, server_default=true())
    allows_questionnaire: Mapped[bool] = mapped_column(default=True, server_default=true())
    #: The languages its text is published in, as codes separated by spaces ("en fr"): the first is
    #: the language it was written in, whose text is the sections' own; the others are
    #: translations (``SectionText``). Read it as ``languages``.
    language_codes: Mapped[str] = mapped_column("languages", String(100), default="en", server_default="en")
    #: The title and summary in the other languages of its text: {"fr": {"title": …, "summary": …}};
    #: ``title`` and ``summary`` are the original's. Pages show ``display_title``/``display_summary``.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict, server_default="{}")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Two authors editing at once: the second save fails cleanly instead of overwriting.
    row_version: Mapped[int] = mapped_column(default=1)

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()
    versions: Mapped[list[Version]] = relationship(
        back_populates="consultation",
        order_by="Version.number",
        cascade="all, delete-orphan",
    )

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'open', 'closed', 'concluded')", name="state_known"),
        CheckConstraint("opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at", name="dates_ordered"),
        CheckConstraint("response_threshold >= 0", name="threshold_non_negative"),
        CheckConstraint("moderation_mode IN ('post', 'pre')", name="moderation_mode_known"),
        # A comment on selected words is a comment: no annotations without comments.
        CheckConstraint("allows_comments OR NOT allows_annotations", name="annotations_need_comments"),
        CheckConstraint("languages <> ''", name="languages_given"),
        Index("ix_consultations_state_org", "state", "organisation_id"),
    )

    @property
    def languages(self) -> list[str]:
        """The languages of its text, the original first ("en", then "fr"...)."""
        return self.language_codes.split()

    @property
    def original_language(self) -> str:
        """The language its text was written in: the sections' own text is in it."""
        return self.languages[0]

    @property
    def is_multilingual(self) -> bool:
        return len(self.languages) > 1

    def text_language(self, language: str | None) -> str:
        """The language of its text that ``language`` names: itself when the consultation is
        published in it, else the original. What a contribution made in ``language`` was made on."""
        return language if language in self.languages else self.original_language

    def title_in(self, language: str | None) -> str:
        """The title in ``language`` when it has one there, else the original title."""
        return (self.translations or {}).get(language or "", {}).get("title") or self.title

    def summary_in(self, language: str | None) -> str:
        return (self.translations or {}).get(language or "", {}).get("summary") or self.summary

    @property
    def display_language(self) -> str:
        """The language its title and summary are shown in to the reader: the interface's when
        it has them in it, else the original."""
        language = current_language()
        return language if (self.translations or {}).get(language, {}).get("title") else self.original_language

    @property
    def display_title(self) -> str:
        return self.title_in(self.display_language)

    @property
    def display_summary(self) -> str:
        return self.summary_in(self.display_language)

    @property
    def published_versions(self) -> list[Version]:
        return [v for v in self.versions if v.published_at is not None]

    @property
    def current_version(self) -> Version | None:
        published = self.published_versions
        return published[-1] if published else None

    @property
    def draft_version(self) -> Version | None:
        return next((v for v in self.versions if v.published_at is None), None)

    # Named states for templates and views, so none of them compares state strings itself.
    @property
    def is_draft(self) -> bool:
        return self.state == ConsultationState.DRAFT

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def has_closed(self) -> bool:
        """Closed, or concluded after closing."""
        return self.state in (ConsultationState.CLOSED, ConsultationState.CONCLUDED)

    @property
    def is_concluded(self) -> bool:
        return self.state == ConsultationState.CONCLUDED

    def accepts_contributions(self, now: datetime) -> bool:
        """Open, and its closing date (if any) not yet passed, even before the schedule ran."""
        return self.state in OPEN_STATES and (self.closes_at is None or self.closes_at > now)

    def allows(self, mode: ParticipationMode | str) -> bool:
        """Whether this way of taking part is turned on (whatever the state)."""
        return bool(getattr(self, f"allows_{ParticipationMode(mode).value}"))

    def version(self, number: int) -> Version | None:
        return next((v for v in self.versions if v.number == number), None)

    def __repr__(self) -> str:
        return f"<Consultation {self.slug} {self.state}>"


class Version(db.Model):
    """One text of the policy. Editable while unpublished, frozen once ``published_at`` is set."""

    __tablename__ = "versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    number: Mapped[int]
    change_note: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    consultation: Mapped[Consultation] = relationship(back_populates="versions")
    sections: Mapped[list[Section]] = relationship(back_populates="version", order_by="Section.position", cascade="all, delete-orphan")
    #: the author's corrections of how this version's sections match the version before it
    pairings: Mapped[list[SectionPairing]] = relationship(cascade="all, delete-orphan", order_by="SectionPairing.id")

    __table_args__ = (
        UniqueConstraint("consultation_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def _frozen(self) -> dict | None:
        """What this object has answered already about a published version, which nothing changes
        (kept on the object: as long as the session that loaded it); None for a draft."""
        if self.published_at is None or object_session(self) is None:
            return None
        return self.__dict__.setdefault("_consult_frozen", {})

    def section(self, key: str) -> Section | None:
        if "sections" not in self.__dict__ and (frozen := self._frozen()) is not None:
            # The one section alone (not every section's text), its translations read only if a
            # page asks for them; a page asks several times (its own loader, its previews, oEmbed).
            if ("section", key) not in frozen:
                query = select(Section).where(Section.version_id == self.id, Section.key == key).options(lazyload(Section.translations))
                frozen["section", key] = object_session(self).scalar(query)
            return frozen["section", key]
        return next((s for s in self.sections if s.key == key), None)

    @property
    def languages(self) -> list[str]:
        """The languages this version has a text in: the original, then each language of the
        consultation that has a translation of one of its sections (all of them, once published:
        ``publish_version`` refuses a language with a section missing)."""
        consultation = self.consultation
        if not consultation.is_multilingual:
            return [consultation.original_language]
        frozen = self._frozen()
        if frozen is not None and "translated" in frozen:
            translated = frozen["translated"]
        elif "sections" in self.__dict__:  # loaded already: no query
            translated = {t.language for s in self.sections for t in s.translations}
        else:  # the languages alone, not every section's text in each
            session = object_session(self)
            translated = set(
                session.scalars(
                    select(SectionTranslation.language)
                    .join(Section, SectionTranslation.section_id == Section.id)
                    .where(Section.version_id == self.id)
                    .distinct()
                )
            )
        if frozen is not None:
            frozen["translated"] = translated
        return [consultation.original_language] + [code for code in consultation.languages[1:] if code in translated]

    def sections_in(self, language: str | None) -> list[Section | SectionText]:
        """The sections as the text in ``language`` has them (their own, in the original
        language): a translated section where there is one, the original section where not (a
        draft's translation under way)."""
        if language is None or language == self.consultation.original_language:
            return list(self.sections)
        return [s.in_language(language) for s in self.sections]

    def section_in(self, key: str, language: str | None) -> Section | SectionText | None:
        section = self.section(key)
        return section.in_language(language) if section is not None and language else section

    def labels(self, language: str | None = None) -> dict[str, str]:
        """Each section's heading by key, with the heading it sits under where the heading alone
        says little because several sections share it (the policy's many "Footnotes")."""
        sections = self.sections_in(language)
        counts = Counter(s.heading for s in sections)
        labels: dict[str, str] = {}
        above: list[Section | SectionText] = []
        for s in sections:
            while above and above[-1].level >= s.level:
                above.pop()
            labels[s.key] = f"{s.heading} ({above[-1].heading})" if counts[s.heading] > 1 and above else s.heading
            above.append(s)
        return labels

    def __repr__(self) -> str:
        return f"<Version {self.consultation_id}#{self.number}>"


class Section(db.Model):
    """A heading and its text. ``key`` names the same section across versions."""

    __tablename__ = "sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    position: Mapped[int]
    level: Mapped[int] = mapped_column(default=2)
    heading: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(default="")  # Markdown, as written
    text: Mapped[str] = mapped_column(default="")  # core.text.section_text(body): the textContent of html; anchors count in it
    html: Mapped[str] = mapped_column(default="")  # sanitised rendering, made once when saved
    change: Mapped[str] = mapped_column(String(10), default=SectionChange.ADDED)

    version: Mapped[Version] = relationship(back_populates="sections")
    #: its text in the consultation's other languages
    translations: Mapped[list[SectionTranslation]] = relationship(
        back_populates="section", cascade="all, delete-orphan", order_by="SectionTranslation.language", lazy="selectin"
    )

    @property
    def language(self) -> str:
        return self.version.consultation.original_language

    def translation(self, language: str) -> SectionTranslation | None:
        return next((t for t in self.translations if t.language == language), None)

    def in_language(self, language: str) -> Section | SectionText:
        """This section as the text in ``language`` has it: itself in the original language, its
        translation in another, itself again where it has no translation yet."""
        translation = self.translation(language) if language != self.language else None
        return SectionText(self, translation) if translation is not None else self

    @property
    def is_notes(self) -> bool:
        """A block of notes ("Footnotes") that an import cut off as a section of its own: the
        notes of the section before it, shown with that section and never discussed or voted on
        apart from it."""
        return is_notes_heading(self.heading)

    @property
    def is_heading_only(self) -> bool:
        """A heading with no text under it (a title, or a heading over its subsections): there is
        nothing in it to comment on, amend or vote on."""
        return not self.text.strip()

    @property
    def takes_part(self) -> bool:
        """Whether people comment on, amend and vote on this section by itself."""
        return not (self.is_notes or self.is_heading_only)

    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        UniqueConstraint("version_id", "position"),
        CheckConstraint("level BETWEEN 1 AND 6", name="level_range"),
        CheckConstraint("change IN ('kept', 'changed', 'added')", name="change_known"),
    )

    def __repr__(self) -> str:
        return f"<Section {self.key}>"


class SectionTranslation(db.Model):
    """A section's heading and text in another language than the consultation's original: the
    same section (its key, place, level and change), the translation's words. A translation is
    imported whole, one Markdown file per language, matched with the original by key."""

    __tablename__ = "section_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))
    heading: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(default="")  # Markdown, as written
    text: Mapped[str] = mapped_column(default="")  # as Section.text: what anchors on this text count in
    html: Mapped[str] = mapped_column(default="")

    section: Mapped[Section] = relationship(back_populates="translations")

    __table_args__ = (UniqueConstraint("section_id", "language"), CheckConstraint("language <> ''", name="language_given"))

    def __repr__(self) -> str:
        return f"<SectionTranslation {self.section_id} {self.language}>"


@dataclass(frozen=True)
class SectionText:
    """A section read in one of its translations: the translation's heading and words, the
    section's key, place, level, change and everything else (whether it is notes, whether people
    take part in it: decided once, on the original). Pages and services read it as a Section."""

    section: Section
    translation: SectionTranslation

    @property
    def language(self) -> str:
        return self.translation.language

    @property
    def heading(self) -> str:
        return self.translation.heading

    @property
    def body(self) -> str:
        return self.translation.body

    @property
    def text(self) -> str:
        return self.translation.text

    @property
    def html(self) -> str:
        return self.translation.html

    def __getattr__(self, name: str):
        return getattr(self.section, name)


class SectionPairing(db.Model):
    """The author's correction of how a section of a draft matches the version before it (the
    automatic matching is ``textdiff.match_sections``): the draft's section whose heading gives
    ``draft_key`` (its key as imported, ``importing.section_keys``) replaces the previous version's
    section ``old_key``, or, with ``old_key`` None, is a new section. Kept with the draft, so it
    holds when the text is saved again; it decides the section's key, which the diff, the
    re-anchoring of annotations and the record follow."""

    __tablename__ = "section_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    draft_key: Mapped[str] = mapped_column(String(80))
    old_key: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (UniqueConstraint("version_id", "draft_key"),)
