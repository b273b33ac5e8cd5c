"""The open record's read functions: one row serialiser per kind of thing a consultation leaves
behind, each taking the consultation and giving plain dicts (generators where rows are many, read
from one streamed cursor in lists of ``page_size``). ``formats`` writes them as JSON, CSV and
Markdown; the API serialises consultations, versions and sections through them too.

Every contribution passes ``permissions.visible_contributions(None)`` (``public_contributions``):
the record is what an anonymous reader sees, whoever asks. Links come from ``core.links``: the
request's address inside a request, else the site's (``CONSULT_BASE_URL``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from consult.accounts.models import User
from consult.amendments.explanations import ChangeExplanation, explanations
from consult.amendments.models import Amendment, AmendmentSupporter, Citation
from consult.audit.services import public_staff_log
from consult.comments import w3c
from consult.comments.models import Anchor
from consult.comments.services import annotation_record, annotations_query
from consult.contributions.models import Contribution, ContributionKind, ContributionRevision
from consult.core import links
from consult.core.models import db
from consult.groups import drafts as group_drafts
from consult.moderation.models import ContributionTheme, ModerationLogEntry, SectionSummary, SummaryCitation, Theme
from consult.permissions import Action, can, visible_contributions, visible_supporters, visible_versions
from consult.proposals.models import LICENCES, Consultation, Section, Version
from consult.voting.models import STATEMENT_VALUES, SUPPORT_VALUES, OpinionMapCache, Vote, VoteValue
from consult.voting.services import Tally, section_tallies

PAGE_SIZE = 1000
FORMER_PARTICIPANT = "Former participant"

LICENCE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "OGL-UK-3.0": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "PDDL-1.0": "https://opendatacommons.org/licenses/pddl/1-0/",
}

type Row = dict[str, Any]


def licence(c: Consultation) -> Row:
    names = LICENCES
    return {"id": c.licence, "name": names.get(c.licence, c.licence), "url": LICENCE_URLS.get(c.licence)}


def rfc3339(value: datetime | None) -> str | None:
    """RFC 3339 in UTC to the second: ``2016-08-08T12:00:00Z``."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def public_contributions(c: Consultation):
    """The one visibility rule, as an anonymous reader sees this consultation's contributions."""
    return (Contribution.consultation_id == c.id) & visible_contributions(None)


def public_versions(c: Consultation) -> list[Version]:
    """The versions an anonymous reader may read (VIEW_VERSION): the published ones."""
    return [v for v in c.versions if can(None, Action.VIEW_VERSION, v)]


def url_maker(endpoint: str, **values: Any) -> Callable[[int], str]:
    """A function of an id giving ``links.url(endpoint, <name>=id)``, with the link built once
    (it costs more than the rest of a row); the id's argument is the one given as None."""
    marker = "987654321"
    prefix, suffix = links.url(endpoint, **{k: int(marker) if v is None else v for k, v in values.items()}).split(marker)
    return lambda value: f"{prefix}{value}{suffix}"


def consultation_row(c: Consultation, *, time: Callable[[datetime | None], str | None] = rfc3339) -> Row:
    """A consultation (``time`` formats its dates: the record's RFC 3339 to the second by default)."""
    current = c.current_version
    return {
        "id": c.id,
        "slug": c.slug,
        "title": c.title,
        "summary": c.summary,
        "organisation": {"slug": c.organisation.slug, "name": c.organisation.name},
        "state": c.state,
        "opens_at": time(c.opens_at),
        "closes_at": time(c.closes_at),
        "state_changed_at": time(c.state_changed_at),
        "created_at": time(c.created_at),
        "current_version": current.number if current else None,
        "response_threshold": c.response_threshold,
        "moderation_mode": c.moderation_mode,
        "languages": c.languages,
        "url": links.url("proposals.consultation", slug=c.slug),
    }


def _version_url(c: Consultation, version: Version) -> str:
    return links.url("proposals.version", slug=c.slug, number=version.number)


def version_row(c: Consultation, v: Version, *, time: Callable[[datetime | None], str | None] = rfc3339) -> Row:
    return {
        "id": v.id,
        "number": v.number,
        "published_at": time(v.published_at),
        "change_note": v.change_note,
        "url": _version_url(c, v),
        "file": f"versions/{v.number}.md",
        "translations": [{"language": language, "file": translation_file(v, language)} for language in v.languages[1:]],
    }


def translation_file(v: Version, language: str) -> str:
    """The record's file of a version's text in a language other than the original."""
    return f"versions/{v.number}.{language}.md"


def version_rows(c: Consultation) -> Iterator[Row]:
    for v in public_versions(c):
        yield version_row(c, v)


def section_row(s: Section, *, version: Version, version_url: str) -> Row:
    """A section of a version: its Markdown ``body`` and its ``text`` (the textContent of ``#t-KEY`` on the
    version's page, in which the anchors' offsets count), with its stable ``key``."""
    return {
        "id": s.id,
        "version": version.number,
        "key": s.key,
        "position": s.position,
        "level": s.level,
        "heading": s.heading,
        "change": s.change,
        "body": s.body,
        "text": s.text,
        "url": f"{version_url}#s-{s.key}",
    }


def section_text_rows(c: Consultation) -> Iterator[Row]:
    """Each section of each public version in each language other than the original (the
    sections' own text is the original's): its ``heading``, Markdown ``body`` and ``text`` (in
    which the offsets of the anchors of annotations made in that language count)."""
    for v in public_versions(c):
        for language in v.languages[1:]:
            url = links.url("proposals.version", slug=c.slug, number=v.number, text=language)
            for s in v.sections_in(language):
                yield {
                    "version": v.number,
                    "key": s.key,
                    "language": language,
                    "heading": s.heading,
                    "body": s.body,
                    "text": s.text,
                    "url": f"{url}#s-{s.key}",
                }


def _explained(e: ChangeExplanation | None) -> Row:
    """Why a section changed: the author's ``reason`` (null if none), the ``editorial`` mark, and
    the public contributions the change ``cites`` (ids)."""
    return {"reason": (e.reason or None) if e else None, "editorial": bool(e and e.editorial), "cites": e.citations if e else []}


def section_rows(c: Consultation) -> Iterator[Row]:
    """Each section of each public version, with why it changed; after a version's sections, the
    sections of the version before that it removed (``change`` "removed", no ``id``, ``position``,
    ``body`` or ``text``; ``url`` points at the section in the version it was last in)."""
    previous: Version | None = None
    previous_url = ""
    for v in public_versions(c):
        url = _version_url(c, v)
        why = {e.change.key: e for e in explanations(v)} if previous is not None else {}
        for s in v.sections:
            yield section_row(s, version=v, version_url=url) | _explained(why.get(s.key))
        for key, e in why.items():
            gone = previous.section(key) if previous is not None and e.change.status == "removed" else None
            if gone is None:
                continue
            yield {
                "id": None,
                "version": v.number,
                "key": key,
                "position": None,
                "level": gone.level,
                "heading": gone.heading,
                "change": "removed",
                "body": "",
                "text": "",
                "url": f"{previous_url}#s-{key}",
            } | _explained(e)
        previous, previous_url = v, url


def _partitions(query, page_size: int) -> Iterator[list[Any]]:
    """The rows of ``query`` in lists of ``page_size`` from one streamed cursor (server-side on
    PostgreSQL): one scan for the whole export, whatever the indexes (keyset pages re-scanned
    the consultation's rows for every page on SQLite). The caller runs its queries for a list
    (anchors, revisions...) between two lists."""
    yield from db.session.execute(query.execution_options(yield_per=page_size)).partitions()


def grouped(query) -> dict[Any, list[Any]]:
    """Rows of ``query`` grouped by their first column."""
    grouped: dict[Any, list[Any]] = {}
    for row in db.session.execute(query):
        grouped.setdefault(row[0], []).append(row)
    return grouped


def contribution_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    """Every public contribution, oldest first, with its placements on each version (annotations),
    earlier texts (edits) and, for amendments, the proposal and its co-supporters."""
    query = (
        select(
            Contribution.id,
            Contribution.kind,
            Contribution.author_id,
            User.display_name,
            Version.number,
            Contribution.section_key,
            Contribution.parent_id,
            Contribution.thread_id,
            Contribution.depth,
            Contribution.created_at,
            Contribution.edited_at,
            Contribution.body,
            Contribution.language,
        )
        .join(Version, Version.id == Contribution.version_id)
        .outerjoin(User, User.id == Contribution.author_id)
        .where(public_contributions(c))
        .order_by(Contribution.id)
    )
    incorporated = aliased(Version)
    comment_url = url_maker("comments.show", contribution_id=None)
    amendment_url = url_maker("amendments.show", contribution_id=None)
    for rows in _partitions(query, page_size):
        ids = [r.id for r in rows]
        anchors = grouped(
            select(
                Anchor.contribution_id,
                Version.number,
                Anchor.state,
                Anchor.section_key,
                Anchor.start,
                Anchor.end,
                Anchor.exact,
                Anchor.prefix,
                Anchor.suffix,
            )
            .join(Version, Version.id == Anchor.version_id)
            .where(Anchor.contribution_id.in_(ids), visible_versions(None))
            .order_by(Anchor.contribution_id, Version.number)
        )
        revisions = grouped(
            select(
                ContributionRevision.contribution_id,
                ContributionRevision.body,
                ContributionRevision.written_at,
                ContributionRevision.replaced_at,
            )
            .where(ContributionRevision.contribution_id.in_(ids))
            .order_by(ContributionRevision.contribution_id, ContributionRevision.id)
        )
        amendments = {
            row.contribution_id: row
            for row in db.session.execute(
                select(
                    Amendment.contribution_id,
                    Amendment.number,
                    Amendment.proposed_text,
                    Amendment.state,
                    Amendment.withdrawn_at,
                    incorporated.number.label("incorporated"),
                )
                .outerjoin(incorporated, incorporated.id == Amendment.incorporated_version_id)
                .where(Amendment.contribution_id.in_(ids))
            )
        }
        supporters = co_supporters(c, list(amendments))
        by_groups = group_credits(ids)  # issue 20 (drafts)
        for r in rows:
            amendment = amendments.get(r.id)
            yield {
                "id": r.id,
                "kind": r.kind,
                "url": (amendment_url if r.kind == ContributionKind.AMENDMENT else comment_url)(r.id),
                "author": {"id": r.author_id, "name": r.display_name if r.author_id else FORMER_PARTICIPANT},
                "version": r.number,
                "section_key": r.section_key,
                "parent_id": r.parent_id,
                "thread_id": r.thread_id,
                "depth": r.depth,
                "created_at": rfc3339(r.created_at),
                "edited_at": rfc3339(r.edited_at),
                "body": r.body,
                "language": r.language,
                "anchors": [
                    {
                        "version": a.number,
                        "state": a.state,
                        "section_key": a.section_key,
                        "start": a.start,
                        "end": a.end,
                        "exact": a.exact,
                        "prefix": a.prefix,
                        "suffix": a.suffix,
                    }
                    for a in anchors.get(r.id, [])
                ],
                "revisions": [
                    {"body": rev.body, "written_at": rfc3339(rev.written_at), "replaced_at": rfc3339(rev.replaced_at)}
                    for rev in revisions.get(r.id, [])
                ],
                "amendment": {
                    "number": amendment.number,
                    "proposed_text": amendment.proposed_text,
                    "state": amendment.state,
                    "withdrawn_at": rfc3339(amendment.withdrawn_at),
                    "incorporated_in_version": amendment.incorporated,
                    "co_supporters": supporters.get(r.id, []),
                }
                if amendment is not None
                else None,
                "group": by_groups.get(r.id),
            }


# issue 20 (drafts): a contribution a group submitted, as the pages show it
def group_credits(contribution_ids: list[int]) -> dict[int, Row]:
    """The group that submitted each of these contributions (a visible group's), how many people
    signed it (each person once, whatever group they signed through) and the groups that adopted
    it as their position."""
    return {
        cid: {
            "name": credit.group.name,
            "slug": credit.group.slug,
            "signatures": credit.signatures,
            "adopted_by": [g.name for g in credit.adopted_by],
        }
        for cid, credit in group_drafts.credits(contribution_ids).items()
    }


def co_supporters(c: Consultation, amendment_ids: list[int]) -> dict[int, list[str]]:
    """The display names of each amendment's co-supporters, in the order they joined, as the public
    may see them (``permissions.visible_supporters``: people the organisation blocked left out)."""
    if not amendment_ids:
        return {}
    rows = grouped(
        select(AmendmentSupporter.amendment_id, User.display_name)
        .join(User, User.id == AmendmentSupporter.user_id)
        .where(AmendmentSupporter.amendment_id.in_(amendment_ids), visible_supporters(None))
        .order_by(AmendmentSupporter.amendment_id, AmendmentSupporter.created_at, AmendmentSupporter.id)
    )
    return {amendment_id: [row.display_name for row in group] for amendment_id, group in rows.items()}


def _tally(tally: Tally, values: Iterable[VoteValue]) -> Row:
    return {**tally.as_dict(values), "total": tally.total}


def contribution_tally_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    """Votes on public contributions, counted per value (contributions without votes have no row)."""
    rows = db.session.execute(
        select(Vote.contribution_id, Contribution.kind, Vote.value, func.count())
        .join(Contribution, Contribution.id == Vote.contribution_id)
        .where(public_contributions(c))
        .group_by(Vote.contribution_id, Contribution.kind, Vote.value)
        .order_by(Vote.contribution_id)
        .execution_options(yield_per=page_size)
    )
    for contribution_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        group = list(group)
        values = STATEMENT_VALUES if group[0][1] == ContributionKind.STATEMENT else SUPPORT_VALUES
        yield {"contribution_id": contribution_id, **_tally(Tally.of({row[2]: row[3] for row in group}), values)}


def section_tally_rows(c: Consultation) -> Iterator[Row]:
    for key, tally in sorted(section_tallies(c).items()):
        yield {"section_key": key, **_tally(tally, SUPPORT_VALUES)}


def answer_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    """The organisation's answers to public amendments."""
    rows = db.session.execute(
        select(Amendment.contribution_id, Amendment.decision, Amendment.answer, Amendment.answered_at)
        .join(Contribution, Contribution.id == Amendment.contribution_id)
        .where(public_contributions(c), Amendment.decision.is_not(None))
        .order_by(Amendment.contribution_id)
        .execution_options(yield_per=page_size)
    )
    for r in rows:
        yield {"amendment_id": r.contribution_id, "decision": r.decision, "reason": r.answer, "answered_at": rfc3339(r.answered_at)}


def citation_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    """Changes of published versions traced to the public contributions behind them."""
    rows = db.session.execute(
        select(Citation.id, Version.number, Citation.section_key, Citation.contribution_id, Citation.created_at)
        .join(Version, Version.id == Citation.version_id)
        .join(Contribution, Contribution.id == Citation.contribution_id)
        .where(visible_versions(None), public_contributions(c))
        .order_by(Citation.id)
        .execution_options(yield_per=page_size)
    )
    for r in rows:
        yield {
            "id": r.id,
            "version": r.number,
            "section_key": r.section_key,
            "contribution_id": r.contribution_id,
            "created_at": rfc3339(r.created_at),
        }


def _ids(query, page_size: int) -> Iterator[int]:
    for (value,) in db.session.execute(query.execution_options(yield_per=page_size)):
        yield value


def _cited(c: Consultation, where, page_size: int) -> Iterator[int]:
    """Public contributions a summary cites (``[#123]``)."""
    return _ids(
        select(SummaryCitation.contribution_id)
        .join(Contribution, Contribution.id == SummaryCitation.contribution_id)
        .where(where, public_contributions(c))
        .order_by(SummaryCitation.contribution_id),
        page_size,
    )


def outcome_published(c: Consultation) -> bool:
    """Themes and summaries are in the record when the public may read them (VIEW_THEMES)."""
    return can(None, Action.VIEW_THEMES, c)


def theme_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    if not outcome_published(c):
        return
    themes = db.session.execute(
        select(Theme.id, Theme.name, Theme.summary, Theme.created_at, Theme.updated_at)
        .where(Theme.consultation_id == c.id)
        .order_by(Theme.id)
    ).all()
    for t in themes:
        yield {
            "id": t.id,
            "name": t.name,
            "summary": t.summary,
            "created_at": rfc3339(t.created_at),
            "updated_at": rfc3339(t.updated_at),
            "contribution_ids": _ids(
                select(ContributionTheme.contribution_id)
                .join(Contribution, Contribution.id == ContributionTheme.contribution_id)
                .where(ContributionTheme.theme_id == t.id, public_contributions(c))
                .order_by(ContributionTheme.contribution_id),
                page_size,
            ),
            "cites": _cited(c, SummaryCitation.theme_id == t.id, page_size),
        }


def section_summary_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    if not outcome_published(c):
        return
    summaries = db.session.execute(
        select(SectionSummary.id, SectionSummary.section_key, SectionSummary.summary, SectionSummary.updated_at)
        .where(SectionSummary.consultation_id == c.id)
        .order_by(SectionSummary.id)
    ).all()
    for s in summaries:
        yield {
            "id": s.id,
            "section_key": s.section_key,
            "summary": s.summary,
            "updated_at": rfc3339(s.updated_at),
            "cites": _cited(c, SummaryCitation.section_summary_id == s.id, page_size),
        }


def moderation_log_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    """The public moderation log: what was done, when, under which rule and why; never who acted,
    who reported, or whom a block concerns."""
    rows = db.session.execute(
        select(
            ModerationLogEntry.id,
            ModerationLogEntry.created_at,
            ModerationLogEntry.action,
            ModerationLogEntry.rule,
            ModerationLogEntry.reason,
            ModerationLogEntry.contribution_id,
        )
        .where(ModerationLogEntry.consultation_id == c.id)
        .order_by(ModerationLogEntry.id)
        .execution_options(yield_per=page_size)
    )
    for r in rows:
        yield {
            "id": r.id,
            "created_at": rfc3339(r.created_at),
            "action": r.action,
            "rule": r.rule,
            "reason": r.reason,
            "contribution_id": r.contribution_id,
        }


def staff_log_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    """What the organisation's staff did in this consultation and when; by whom only for authors
    and admins (``audit.services.public_staff_log`` holds the rule)."""
    for row in public_staff_log(c.id, yield_per=page_size):
        yield {**row, "occurred_at": rfc3339(row["occurred_at"])}


def amendment_table_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    """One row per public amendment: its answer, vote counts and number of co-supporters."""
    incorporated = aliased(Version)

    def votes(value: VoteValue):
        return (
            select(func.count(Vote.id))
            .where(Vote.contribution_id == Contribution.id, Vote.value == value)
            .correlate(Contribution)
            .scalar_subquery()
        )

    co_supporters = (
        select(func.count(AmendmentSupporter.id))
        .where(AmendmentSupporter.amendment_id == Contribution.id, visible_supporters(None))
        .correlate(Contribution)
        .scalar_subquery()
    )
    query = (
        select(
            Contribution.id,
            Version.number,
            Contribution.section_key,
            Contribution.author_id,
            User.display_name,
            Contribution.created_at,
            Contribution.body,
            Amendment.proposed_text,
            Amendment.state,
            Amendment.decision,
            Amendment.answer,
            Amendment.answered_at,
            Amendment.number.label("amendment_number"),
            incorporated.number.label("incorporated"),
            co_supporters.label("co_supporters"),
            votes(VoteValue.SUPPORT).label("support"),
            votes(VoteValue.OPPOSE).label("oppose"),
            votes(VoteValue.ABSTAIN).label("abstain"),
        )
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .join(Version, Version.id == Contribution.version_id)
        .outerjoin(incorporated, incorporated.id == Amendment.incorporated_version_id)
        .outerjoin(User, User.id == Contribution.author_id)
        .where(public_contributions(c))
        .order_by(Contribution.id)
    )
    url = url_maker("amendments.show", contribution_id=None)
    for rows in _partitions(query, page_size):
        for r in rows:
            yield {
                "id": r.id,
                "number": r.amendment_number,
                "version": r.number,
                "section_key": r.section_key,
                "author": r.display_name if r.author_id else FORMER_PARTICIPANT,
                "created_at": rfc3339(r.created_at),
                "state": r.state,
                "decision": r.decision,
                "answer": r.answer if r.decision else None,
                "answered_at": rfc3339(r.answered_at),
                "incorporated_in_version": r.incorporated,
                "co_supporters": r.co_supporters,
                "support": r.support,
                "oppose": r.oppose,
                "abstain": r.abstain,
                "rationale": r.body,
                "proposed_text": r.proposed_text,
                "url": url(r.id),
            }


def theme_membership_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    if not outcome_published(c):
        return
    rows = db.session.execute(
        select(Theme.id, Theme.name, ContributionTheme.contribution_id)
        .join(ContributionTheme, ContributionTheme.theme_id == Theme.id)
        .join(Contribution, and_(Contribution.id == ContributionTheme.contribution_id, public_contributions(c)))
        .where(Theme.consultation_id == c.id)
        .order_by(Theme.id, ContributionTheme.contribution_id)
        .execution_options(yield_per=page_size)
    )
    for r in rows:
        yield {"theme_id": r[0], "theme": r[1], "contribution_id": r[2]}


def contribution_counts(c: Consultation) -> dict[str, int]:
    """How many public contributions of each kind."""
    return dict(
        db.session.execute(select(Contribution.kind, func.count()).where(public_contributions(c)).group_by(Contribution.kind)).all()
    )


def cited_by_section(c: Consultation, version: Version) -> dict[str, list[Any]]:
    """The public contributions each section of ``version`` cites: section key -> rows of
    (section_key, contribution_id, kind), by contribution id."""
    return grouped(
        select(Citation.section_key, Citation.contribution_id, Contribution.kind)
        .join(Contribution, Contribution.id == Citation.contribution_id)
        .where(Citation.version_id == version.id, public_contributions(c))
        .order_by(Citation.section_key, Citation.contribution_id)
    )


def annotation_count(c: Consultation) -> int:
    """How many annotations and replies in their threads the public sees (the API's total)."""
    return db.session.scalar(select(func.count()).select_from(annotations_query(c, None).subquery())) or 0


def annotation_rows(c: Consultation, *, page_size: int = PAGE_SIZE) -> Iterator[Row]:
    """Each public annotation and reply as a W3C Web Annotation, as the API serialises them."""
    options = (selectinload(Contribution.anchors), joinedload(Contribution.author), joinedload(Contribution.version))
    pages = db.session.scalars(annotations_query(c, None).options(*options).execution_options(yield_per=page_size)).partitions()
    for page in pages:  # the ORM objects of a page go once the next one is read
        for contribution in page:
            yield w3c.annotation(annotation_record(contribution), with_context=False)


OPINION_STATS = ("n_success", "n_trials", "p_success", "p_test", "repness", "repness_test")


def opinion_map_row(c: Consultation) -> Row | None:
    """The stored opinion map as its page shows it (``voting.statements.shown_map``): the groups
    by number and size (never who is in them), each group's representative statements and the
    consensus (agreed, then rejected by most), with Pol.is's statistics; statements the public cannot see are left out. None when
    no map with a group was computed. The map is the one last computed, as of ``computed_at``."""
    cache = db.session.get(OpinionMapCache, c.id)
    data = json.loads(cache.result or "{}") if cache is not None and cache.vote_count >= 0 else {}
    if data.get("k", 0) < 1:
        return None
    groups = data.get("groups", [])
    consensus = data.get("consensus", {})
    quoted = {s["statement"] for g in groups for s in g.get("representative", [])}
    quoted |= {s["statement"] for items in consensus.values() for s in items}
    public = set(db.session.scalars(select(Contribution.id).where(Contribution.id.in_(quoted), public_contributions(c))))

    def stats(items: list[dict]) -> list[Row]:
        return [
            {"statement_id": s["statement"], "direction": s["direction"], **{k: s.get(k) for k in OPINION_STATS}}
            for s in items
            if s["statement"] in public
        ]

    return {
        "computed_at": rfc3339(cache.computed_at),
        "groups": [
            {"group": number, "participants": len(g.get("participants", [])), "representative": stats(g.get("representative", []))}
            for number, g in enumerate(groups, start=1)
        ],
        "consensus": stats([*consensus.get("agree", []), *consensus.get("disagree", [])]),
    }


def opinion_map_table_rows(c: Consultation) -> Iterator[Row]:
    """opinion_map.csv: a row per group (its size), then one per representative statement of a
    group, then one per consensus statement, each with the statement's text."""
    shown = opinion_map_row(c)
    if shown is None:
        return
    ids = {s["statement_id"] for g in shown["groups"] for s in g["representative"]}
    ids |= {s["statement_id"] for s in shown["consensus"]}
    bodies = dict(db.session.execute(select(Contribution.id, Contribution.body).where(Contribution.id.in_(ids))).all()) if ids else {}
    for g in shown["groups"]:
        yield {"kind": "group", "group": g["group"], "participants": g["participants"]}
    for g in shown["groups"]:
        for s in g["representative"]:
            yield {"kind": "representative", "group": g["group"], **s, "statement": bodies.get(s["statement_id"])}
    for s in shown["consensus"]:
        yield {"kind": "consensus", **s, "statement": bodies.get(s["statement_id"])}
