"""Searching: the public's query, its filters, and results checked against the database.

The index only ever holds what the public may read, and is kept fresh after each commit; the
page of results shown is checked once more against the one visibility rule anyway (one query
for the page), so even an index that missed an update cannot show what was hidden since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from consult.contributions.models import Contribution
from consult.core import links
from consult.core.i18n import LANGUAGES
from consult.core.models import db
from consult.moderation.models import Theme
from consult.permissions import visible_consultations, visible_contributions, visible_versions
from consult.proposals.models import Consultation, ConsultationState, Section, Version
from consult.search.documents import CONTRIBUTION_KINDS, KINDS
from consult.search.query import ParsedQuery, QueryError, parse

MAX_PER_PAGE = 50
MAX_PAGE = 100  # deeper pages cost more and nobody reads them: refine the query instead
STATUSES = ("open", "closed", "concluded")  # closed: no longer open (concluded too); concluded: the outcome is published

KIND_LABELS = {
    "consultation": _l("Consultation"),
    "section": _l("Section of the text"),
    "comment": _l("Comment"),
    "reply": _l("Reply"),
    "amendment": _l("Amendment"),
    "statement": _l("Statement"),
    "theme": _l("Theme summary"),
    "answer": _l("Answer to the questionnaire"),
}


def searchable_consultations() -> list[tuple[str, str]]:
    """(slug, title) of the consultations the public can see, by title: the search form's filter.
    Kept until the session's transaction ends: asked for first, it also serves the check of the
    page's hits (``_checked``), which then reads no consultation itself."""
    rows = db.session.execute(
        select(Consultation.id, Consultation.slug, Consultation.title).where(visible_consultations(None)).order_by(Consultation.title)
    ).all()
    db.session.info[_SEARCHABLE] = {row.id: row for row in rows}
    return [(row.slug, row.title) for row in rows]


_SEARCHABLE = "consult_searchable_consultations"


def _forget_searchable(session: Session, *_args) -> None:
    session.info.pop(_SEARCHABLE, None)


for _event in ("after_flush", "after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(Session, _event, _forget_searchable)


@dataclass
class RawHit:
    key: str
    kind: str
    consultation_id: int
    section_key: str | None
    ref_id: int | None
    date: datetime
    title_html: Markup
    snippet_html: Markup
    score: float
    language: str = "en"  # the language the document is written in


@dataclass
class RawPage:
    hits: list[RawHit]
    total: int
    approximate: bool = False  # ``total`` is an estimate (many matches, not all counted)


@dataclass
class Result:
    kind: str
    kind_label: str
    title_html: Markup
    snippet_html: Markup
    url: str
    consultation_slug: str
    consultation_title: str
    section_key: str | None
    section_heading: str | None
    date: datetime
    score: float
    language: str  # what the text is written in (its ``lang``)


@dataclass
class SearchPage:
    """What a search found: one page of results, the total and what pagination needs."""

    query: str
    results: list[Result]
    total: int
    page: int
    per_page: int
    approximate: bool = False  # ``total`` is an estimate: "about 2,300 results"

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, max(1, -(-self.total // self.per_page)))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def iter_pages(self, left_edge: int = 2, left_current: int = 2, right_current: int = 4, right_edge: int = 2):
        last = 0
        for number in range(1, self.pages + 1):
            if number <= left_edge or self.page - left_current - 1 < number < self.page + right_current or number > self.pages - right_edge:
                if last + 1 != number:
                    yield None
                yield number
                last = number


def exact_up_to(per_page: int) -> int:
    """Backends count exactly up to as many matches as the pages shown hold (beyond, the page
    numbers stop anyway), and estimate beyond."""
    return MAX_PAGE * per_page


def about(estimate: float, at_least: int) -> int:
    """An estimated count to two significant figures ("about 2,300 results"), at least ``at_least``."""
    return max(at_least, int(round(estimate, 2 - len(str(int(estimate))))))


def backend():
    return current_app.extensions["consult_search"].backend


def check_filters(
    *, consultation: str | None, kind: str | None, status: str | None, page: int, per_page: int, language: str | None = None
) -> None:
    if kind is not None and kind not in KINDS:
        raise QueryError(_("'kind' must be one of %(kinds)s.", kinds=", ".join(KINDS)))
    if language is not None and language not in LANGUAGES:
        raise QueryError(_("'language' must be one of %(codes)s.", codes=", ".join(LANGUAGES)))
    if status is not None and status not in STATUSES:
        raise QueryError(_("'status' must be open, closed or concluded."))
    if not 1 <= page <= MAX_PAGE:
        raise QueryError(_("'page' must be a whole number from 1 to %(max)s.", max=MAX_PAGE))
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise QueryError(_("'per_page' must be a whole number from 1 to %(max)s.", max=MAX_PER_PAGE))


def _allowed_consultations(slug: str | None, status: str | None) -> set[int]:
    """Public consultations only (whatever the searcher may see elsewhere: search is public)."""
    query = select(Consultation.id).where(visible_consultations(None))
    if slug:
        query = query.where(Consultation.slug == slug)
    if status == "open":
        query = query.where(Consultation.state == ConsultationState.OPEN)
    elif status == "closed":
        query = query.where(Consultation.state.in_([ConsultationState.CLOSED, ConsultationState.CONCLUDED]))
    elif status == "concluded":
        query = query.where(Consultation.state == ConsultationState.CONCLUDED)
    return set(db.session.scalars(query))


def search(
    raw_query: str,
    *,
    consultation: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 20,
    language: str | None = None,
    reader: str | None = None,
) -> SearchPage:
    """Ranked public results for a query in the restricted language (see ``query.parse``).
    Raises ``QueryError`` with a message for a query or a filter we will not run.

    Each document is matched with the words reduced to stems as its own language inflects them;
    ``language`` keeps only documents written in it. Results in ``reader``'s language (the
    interface's, given by the caller) come first, each group by relevance."""
    check_filters(consultation=consultation, kind=kind, status=status, page=page, per_page=per_page, language=language)
    parsed: ParsedQuery = parse(raw_query)
    if not parsed:
        raise QueryError(_("Type a word to search for."))
    # Unfiltered, any public consultation: the index holds nothing else, and the page is checked.
    allowed = _allowed_consultations(consultation, status) if consultation or status else None
    raw = backend().search(
        db.session,
        parsed,
        consultation_ids=allowed,
        kinds=(kind,) if kind else None,
        page=page,
        per_page=per_page,
        restrict_consultations=allowed is not None,
        language=language,
        reader=reader,
    )
    results, dropped = _checked(raw.hits)
    return SearchPage(raw_query, results, max(0, raw.total - dropped), page, per_page, raw.approximate)


def _checked(hits: list[RawHit]) -> tuple[list[Result], int]:
    """Keep the hits the public may still read (the index may lag by a commit), with their links."""
    if not hits:
        return [], 0
    consultations = db.session.info.get(_SEARCHABLE)  # the search form's list, when the page read it first
    if consultations is None:
        consultations = {
            c.id: c
            for c in db.session.execute(
                select(Consultation.id, Consultation.slug, Consultation.title).where(
                    Consultation.id.in_({h.consultation_id for h in hits}), visible_consultations(None)
                )
            )
        }
    contribution_ids = {h.ref_id for h in hits if h.kind in CONTRIBUTION_KINDS}
    visible = (
        set(db.session.scalars(select(Contribution.id).where(Contribution.id.in_(contribution_ids), visible_contributions(None))))
        if contribution_ids
        else set()
    )
    theme_ids = {h.ref_id for h in hits if h.kind == "theme"}
    themes = set(db.session.scalars(select(Theme.id).where(Theme.id.in_(theme_ids)))) if theme_ids else set()
    headings = _current_headings({(h.consultation_id, h.section_key) for h in hits if h.section_key and h.consultation_id in consultations})
    results = []
    for h in hits:
        c = consultations.get(h.consultation_id)
        if c is None or (h.kind in CONTRIBUTION_KINDS and h.ref_id not in visible) or (h.kind == "theme" and h.ref_id not in themes):
            continue
        heading = headings.get((c.id, h.section_key)) if h.section_key else None
        if h.kind == "section" and heading is None:
            continue  # no longer in the current version
        results.append(
            Result(
                kind=h.kind,
                kind_label=str(KIND_LABELS[h.kind]),
                title_html=h.title_html or Markup(""),
                snippet_html=h.snippet_html,
                url=_url(h, c),
                consultation_slug=c.slug,
                consultation_title=c.title,
                section_key=h.section_key,
                section_heading=heading,
                date=h.date,
                score=h.score,
                language=h.language,
            )
        )
    return results, len(hits) - len(results)


def _current_headings(wanted: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The headings of the ``wanted`` (consultation, section key) in each one's latest version
    the public may read, in one query (the latest version's number, per consultation, joined)."""
    if not wanted:
        return {}
    latest = (
        select(Version.consultation_id, func.max(Version.number).label("number"))
        .where(Version.consultation_id.in_({cid for cid, _key in wanted}), visible_versions(None))
        .group_by(Version.consultation_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Version.consultation_id, Section.key, Section.heading)
        .join(Section, Section.version_id == Version.id)
        .join(latest, (latest.c.consultation_id == Version.consultation_id) & (latest.c.number == Version.number))
        .where(Section.key.in_({key for _cid, key in wanted}))
    )
    return {(cid, key): heading for cid, key, heading in rows}


def _url(hit: RawHit, c) -> str:
    if hit.kind == "consultation":
        return links.path("proposals.consultation", slug=c.slug)
    if hit.kind == "section":
        return links.path("comments.section", slug=c.slug, key=hit.section_key)
    if hit.kind == "amendment":
        return links.path("amendments.show", contribution_id=hit.ref_id)
    if hit.kind in CONTRIBUTION_KINDS:
        return links.path("comments.show", contribution_id=hit.ref_id)
    return links.path("outcome.show", slug=c.slug) + f"#theme-{hit.ref_id}"
