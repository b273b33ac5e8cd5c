"""What the search index holds: the documents the public may read, built from the database.

Every document comes through the one visibility rule (``visible_consultations(None)`` and
``visible_contributions(None)``), so nothing hidden, pending, deleted, blocked or in a draft is
ever written to an index. Authors are left out entirely: an index never holds an email or
anyone's identity. Both backends (Whoosh, PostgreSQL) take the same ``Document``s and ``Plan``s.

Every document says the language it is written in, so each backend reduces its words to stems
the way that language inflects them: a contribution in the language its author wrote it in,
the consultation's own texts (title, summary, sections, theme summaries) in ``TEXT_LANGUAGE``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consult.contributions.models import Contribution
from consult.core import text
from consult.moderation.models import Theme
from consult.permissions import visible_consultations, visible_contributions, visible_themes, visible_versions
from consult.proposals.models import Consultation, Section, Version

#: Kinds a document can be, in the order the filter offers them.
KINDS = ("consultation", "section", "comment", "reply", "amendment", "statement", "theme", "answer")
CONTRIBUTION_KINDS = frozenset({"comment", "reply", "amendment", "statement", "answer"})  # answer: a questionnaire's free text

#: The language of the consultation's own texts: English for now. The hook for texts in several
#: languages (a version's ``section_texts``): ``_head_documents`` would yield one section document
#: per language it has, keyed ``section:<consultation>:<key>:<language>`` for all but this one.
TEXT_LANGUAGE = "en"

_SPACE = re.compile(r"\s+")


def language_code(value: str | None) -> str:
    """The bare language of a code as a document carries it ("fr" for "fr-CA" or "FR")."""
    return (value or TEXT_LANGUAGE).replace("_", "-").split("-")[0].lower() or TEXT_LANGUAGE


@dataclass(frozen=True)
class Document:
    key: str  # "consultation:3", "section:3:scope", "contribution:12", "theme:5"
    kind: str
    consultation_id: int
    section_key: str | None
    state: str  # the consultation's state when indexed (kept current on consultation documents)
    date: datetime
    title: str
    body: str
    ref_id: int | None = None  # the contribution's or theme's id
    thread_id: int | None = None  # a reply's thread root, so deleting a root drops its thread
    language: str = TEXT_LANGUAGE  # the language title and body are written in ("en", "fr"…)


@dataclass
class Changes:
    """What one unit of work touched, by id; resolved against the database after it commits."""

    contributions: set[int] = field(default_factory=set)
    removed_contributions: set[int] = field(default_factory=set)
    consultations: set[int] = field(default_factory=set)
    themes: set[int] = field(default_factory=set)
    blocks: set[tuple[int, int]] = field(default_factory=set)  # (organisation_id, user_id)
    everything: bool = False  # a change we could not attribute: rebuild

    def __bool__(self) -> bool:
        return bool(self.contributions or self.removed_contributions or self.consultations or self.themes or self.blocks or self.everything)

    def merge(self, other: Changes) -> None:
        self.contributions |= other.contributions
        self.removed_contributions |= other.removed_contributions
        self.consultations |= other.consultations
        self.themes |= other.themes
        self.blocks |= other.blocks
        self.everything = self.everything or other.everything

    def to_json(self) -> dict:
        return {
            "contributions": sorted(self.contributions),
            "removed_contributions": sorted(self.removed_contributions),
            "consultations": sorted(self.consultations),
            "themes": sorted(self.themes),
            "blocks": sorted([list(b) for b in self.blocks]),
            "everything": self.everything,
        }

    @classmethod
    def from_json(cls, data: dict) -> Changes:
        return cls(
            set(data.get("contributions", ())),
            set(data.get("removed_contributions", ())),
            set(data.get("consultations", ())),
            set(data.get("themes", ())),
            {tuple(b) for b in data.get("blocks", ())},
            bool(data.get("everything")),
        )


@dataclass
class Plan:
    """What to do to an index: drop first, then write."""

    drop_consultations: set[int] = field(default_factory=set)  # every document of these
    drop_kinds: set[tuple[int, str]] = field(default_factory=set)  # (consultation, kind): e.g. its sections
    drop_threads: set[int] = field(default_factory=set)  # replies in these threads
    delete_keys: set[str] = field(default_factory=set)
    upserts: list[Document] = field(default_factory=list)


def _plain(value: str) -> str:
    return _SPACE.sub(" ", value).strip()


def _html_text(html: str) -> str:
    return _plain(text.text_content(html)) if html else ""


def public_consultation_ids(session: Session) -> set[int]:
    return set(session.scalars(select(Consultation.id).where(visible_consultations(None))))


def _head_documents(session: Session, consultation: Consultation) -> Iterator[Document]:
    """The consultation itself and the sections of its current version."""
    yield Document(
        key=f"consultation:{consultation.id}",
        kind="consultation",
        consultation_id=consultation.id,
        section_key=None,
        state=consultation.state,
        date=consultation.state_changed_at or consultation.created_at,
        title=consultation.title,
        body=_plain(consultation.summary or ""),
        ref_id=consultation.id,
    )
    current = session.scalar(
        select(Version).where(Version.consultation_id == consultation.id, visible_versions(None)).order_by(Version.number.desc()).limit(1)
    )
    if current is None:
        return
    for s in session.scalars(select(Section).where(Section.version_id == current.id).order_by(Section.position)):
        yield Document(
            key=f"section:{consultation.id}:{s.key}",
            kind="section",
            consultation_id=consultation.id,
            section_key=s.key,
            state=consultation.state,
            date=current.published_at,
            title=s.heading,
            body=_plain(s.text),
            ref_id=current.number,
        )


def _contribution_documents(session: Session, where, states: dict[int, str]) -> Iterator[Document]:
    query = (
        select(
            Contribution.id,
            Contribution.kind,
            Contribution.consultation_id,
            Contribution.section_key,
            Contribution.body_html,
            Contribution.created_at,
            Contribution.thread_id,
            Contribution.language,
        )
        .where(visible_contributions(None), where)
        .order_by(Contribution.id)
        .execution_options(yield_per=2000)
    )
    for cid, kind, consultation_id, section_key, body_html, created_at, thread_id, language in session.execute(query):
        if consultation_id not in states:
            continue
        yield Document(
            key=f"contribution:{cid}",
            kind=kind,
            consultation_id=consultation_id,
            section_key=section_key,
            state=states[consultation_id],
            date=created_at,
            title="",
            body=_html_text(body_html),
            ref_id=cid,
            thread_id=thread_id,
            language=language_code(language),
        )


def _theme_documents(session: Session, where, states: dict[int, str]) -> Iterator[Document]:
    """Theme summaries as the public reads them (``visible_themes``: once concluded)."""
    for theme in session.scalars(select(Theme).where(where, visible_themes(None)).order_by(Theme.id)):
        if theme.consultation_id not in states:
            continue
        yield Document(
            key=f"theme:{theme.id}",
            kind="theme",
            consultation_id=theme.consultation_id,
            section_key=None,
            state=states[theme.consultation_id],
            date=theme.updated_at,
            title=theme.name,
            body=_html_text(theme.summary_html) or _plain(theme.summary),
            ref_id=theme.id,
        )


def _public_states(session: Session, ids: Iterable[int] | None = None) -> dict[int, str]:
    query = select(Consultation.id, Consultation.state).where(visible_consultations(None))
    if ids is not None:
        query = query.where(Consultation.id.in_(list(ids)))
    return dict(session.execute(query).all())


def consultation_documents(session: Session, consultation: Consultation) -> Iterator[Document]:
    """Every public document of one public consultation."""
    states = {consultation.id: consultation.state}
    yield from _head_documents(session, consultation)
    yield from _theme_documents(session, Theme.consultation_id == consultation.id, states)
    yield from _contribution_documents(session, Contribution.consultation_id == consultation.id, states)


def all_documents(session: Session) -> Iterator[Document]:
    """Every public document, consultation by consultation (for ``consult reindex``)."""
    for consultation in session.scalars(select(Consultation).where(visible_consultations(None)).order_by(Consultation.id)):
        yield from consultation_documents(session, consultation)


def count_documents(session: Session) -> int:
    """About how many documents ``all_documents`` yields (for a progress bar)."""
    from sqlalchemy import func

    ids = public_consultation_ids(session)
    if not ids:
        return 0
    contributions = session.scalar(
        select(func.count()).select_from(Contribution).where(visible_contributions(None), Contribution.consultation_id.in_(ids))
    )
    return contributions + 20 * len(ids)


def plan(session: Session, changes: Changes, *, indexed: Callable[[int], bool]) -> Plan:
    """Turn what a unit of work touched into index operations, reading the committed state.

    ``indexed(consultation_id)`` says whether the index holds that consultation's own document:
    a public consultation missing from it has just become public (or was never indexed), so all
    of its documents are written; one that is no longer public loses every document."""
    result = Plan()
    contribution_ids = set(changes.contributions)
    for organisation_id, user_id in changes.blocks:
        # A block (or its lifting) changes the visibility of everything the person wrote in the
        # organisation's consultations, without touching those rows.
        contribution_ids |= set(
            session.scalars(
                select(Contribution.id)
                .join(Consultation, Consultation.id == Contribution.consultation_id)
                .where(Contribution.author_id == user_id, Consultation.organisation_id == organisation_id)
            )
        )

    states = _public_states(session, changes.consultations) if changes.consultations else {}
    full: set[int] = set()  # consultations written in full
    themes_done: set[int] = set()
    for cid in changes.consultations:
        if cid not in states:
            result.drop_consultations.add(cid)
            continue
        consultation = session.get(Consultation, cid)
        if not indexed(cid):
            result.drop_consultations.add(cid)
            result.upserts.extend(consultation_documents(session, consultation))
            full.add(cid)
        else:
            # Still public: its own document, its sections (a version may have been published)
            # and its themes (published on conclusion); its contributions are unchanged.
            result.drop_kinds |= {(cid, "section"), (cid, "theme")}
            result.upserts.extend(_head_documents(session, consultation))
            result.upserts.extend(_theme_documents(session, Theme.consultation_id == cid, states))
            themes_done.add(cid)

    for cid in changes.removed_contributions:
        result.delete_keys.add(f"contribution:{cid}")
        result.drop_threads.add(cid)
    contribution_ids -= changes.removed_contributions
    if contribution_ids:
        rows = dict(
            session.execute(select(Contribution.id, Contribution.consultation_id).where(Contribution.id.in_(contribution_ids))).all()
        )
        contribution_ids = {i for i in contribution_ids if rows.get(i) not in full}
        gone = contribution_ids - rows.keys()
        for cid in gone:  # deleted by a cascade or a bulk DELETE
            result.delete_keys.add(f"contribution:{cid}")
            result.drop_threads.add(cid)
        live = contribution_ids - gone
        if live:
            parent_states = _public_states(session, {rows[i] for i in live})
            found = list(_contribution_documents(session, Contribution.id.in_(live), parent_states))
            result.upserts.extend(found)
            result.delete_keys |= {f"contribution:{i}" for i in live} - {d.key for d in found}

    if changes.themes:
        theme_rows = dict(session.execute(select(Theme.id, Theme.consultation_id).where(Theme.id.in_(changes.themes))).all())
        live_themes = {i for i in changes.themes if theme_rows.get(i) not in full | themes_done}
        found = list(_theme_documents(session, Theme.id.in_(live_themes), _public_states(session, set(theme_rows.values()))))
        result.upserts.extend(found)
        result.delete_keys |= {f"theme:{i}" for i in live_themes} - {d.key for d in found}
    result.delete_keys -= {d.key for d in result.upserts}
    return result
