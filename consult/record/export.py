"""The open policy record: what the public could see of a consultation, as files anyone can use
without Consult. The format is described in ``docs/record.md``; ``docs/record.schema.json`` is
the JSON Schema of ``record.json``.

``write_record(consultation, sink)`` writes README.md, record.json, versions/N.md,
diffs/N-M.md, annotations.jsonld and the CSV files into a folder or a zip. Rules:

- every contribution passes ``permissions.visible_contributions(None)``: the record is what an
  anonymous reader sees, whoever asks for it (hidden, pending and deleted contributions, and
  those of blocked authors, are left out, and with them their votes, citations and themes);
- people appear by their public display name only; erased accounts as "Former participant";
  the moderation log without moderators, reporters or blocked people;
- nothing is built whole in memory: rows come from streamed cursors in lists of ``PAGE_SIZE``
  (with one query per list for what hangs off them: anchors, revisions, amendments), JSON and
  CSV are written as they arrive, so an export's memory does not grow with the number of
  contributions (``bench/export.py`` measures it).

Links come from ``url_for``: call inside a request, or inside ``test_request_context`` with the
site's address (``consult export`` does).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from flask import url_for
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased, joinedload, selectinload

from consult.accounts.models import User
from consult.amendments.models import Amendment, AmendmentSupporter, Citation
from consult.comments import w3c
from consult.contributions.models import Contribution, ContributionKind, ContributionRevision
from consult.comments.models import Anchor
from consult.comments.services import annotation_record, annotations_query
from consult.core.models import db, utcnow
from consult.permissions import Action, can, visible_contributions, visible_supporters, visible_versions
from consult.moderation.models import ContributionTheme, ModerationLogEntry, SectionSummary, SummaryCitation, Theme
from consult.proposals.models import LICENCES, Consultation, Version
from consult.proposals.services import diff_versions, draft_as_markdown
from consult.voting.models import STATEMENT_VALUES, SUPPORT_VALUES, Vote, VoteValue
from consult.voting.services import Tally, section_tallies

FORMAT = "consult-open-policy-record"
FORMAT_VERSION = 1
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


# ---- where the files go ----------------------------------------------------------------------

class Sink(Protocol):
    def open(self, name: str) -> Any: ...  # a context manager giving a binary file to write


class FolderSink:
    def __init__(self, root: Path):
        self.root = root

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            yield handle


class ZipSink:
    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16  # rw-r--r-- once unpacked
        with self.archive.open(info, "w", force_zip64=True) as handle:  # zip64: no 2 GiB limit
            yield handle


@contextmanager
def _text_file(sink: Sink, name: str, *, encoding: str = "utf-8") -> Iterator[IO[str]]:
    with sink.open(name) as binary:
        out = io.TextIOWrapper(binary, encoding=encoding, newline="")
        try:
            yield out
        finally:
            out.flush()
            out.detach()  # the sink closes the binary file


def write_folder(consultation: Consultation, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return write_record(consultation, FolderSink(folder))


def write_zip(consultation: Consultation, file: Path | IO[bytes]) -> list[str]:
    with zipfile.ZipFile(file, "w") as archive:
        return write_record(consultation, ZipSink(archive))


def export_to(consultation: Consultation, target: Path, *, as_zip: bool) -> list[str]:
    """Write the record at ``target`` (a new folder, or a zip file), whole or not at all: it is
    written next to it under a temporary name and renamed at the end. Refuses to overwrite."""
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose a new name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        names = write_zip(consultation, partial) if as_zip else write_folder(consultation, partial)
        partial.rename(target)
    except BaseException:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
        raise
    return names


def record_archive(consultation: Consultation) -> tuple[IO[bytes], int]:
    """The record as a zip in an anonymous temporary file (gone once closed), rewound, and its size."""
    archive = tempfile.TemporaryFile()
    try:
        write_zip(consultation, archive)
        size = archive.tell()
        archive.seek(0)
    except BaseException:
        archive.close()
        raise
    return archive, size


def read_from_one_snapshot() -> None:
    """On PostgreSQL, make this transaction REPEATABLE READ and read-only, so that every file of
    the record sees the same data while people keep writing. Call it before the transaction's
    first query. SQLite's read transaction is one snapshot already (WAL). A session joined to an
    outer transaction (the tests') cannot change its isolation level and is left as it is."""
    bind = db.session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})


# ---- the record --------------------------------------------------------------------------------

def write_record(consultation: Consultation, sink: Sink) -> list[str]:
    """Write every file of the record; returns their names in the order written."""
    exported_at = utcnow()
    versions = public_versions(consultation)
    names: list[str] = []

    def text_file(name: str, **kwargs: Any):
        names.append(name)
        return _text_file(sink, name, **kwargs)

    with text_file("README.md") as out:
        out.write(readme(consultation, versions, exported_at))
    with text_file("record.json") as out:
        write_json(out, record_document(consultation, exported_at))
    for version in versions:
        with text_file(f"versions/{version.number}.md") as out:
            out.write(draft_as_markdown(version))
    for old, new in itertools.pairwise(versions):
        with text_file(f"diffs/{old.number}-{new.number}.md") as out:
            out.write(diff_markdown(consultation, old, new))
    with text_file("annotations.jsonld") as out:
        write_json(out, annotation_collection(consultation))
    for name, columns, rows in csv_tables(consultation):
        # A byte-order mark, so that spreadsheets read the file as UTF-8.
        with text_file(name, encoding="utf-8-sig") as out:
            write_csv(out, columns, rows)
    return names


def record_document(c: Consultation, exported_at: datetime) -> Row:
    """record.json: plain values, with generators where rows are many (``write_json`` pulls them)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": _time(exported_at),
        "licence": licence(c),
        "consultation": consultation_row(c),
        "versions": version_rows(c),
        "sections": section_rows(c),
        "contributions": contribution_rows(c),
        "tallies": {"contributions": contribution_tally_rows(c), "sections": section_tally_rows(c)},
        "answers": answer_rows(c),
        "citations": citation_rows(c),
        "themes": theme_rows(c),
        "section_summaries": section_summary_rows(c),
        "moderation_log": moderation_log_rows(c),
    }


def licence(c: Consultation) -> Row:
    names = LICENCES
    return {"id": c.licence, "name": names.get(c.licence, c.licence), "url": LICENCE_URLS.get(c.licence)}


def _time(value: datetime | None) -> str | None:
    """RFC 3339 in UTC to the second: ``2016-08-08T12:00:00Z``."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def _public(c: Consultation):
    """The one visibility rule, as an anonymous reader sees this consultation's contributions."""
    return (Contribution.consultation_id == c.id) & visible_contributions(None)


def public_versions(c: Consultation) -> list[Version]:
    """The versions an anonymous reader may read (VIEW_VERSION): the published ones."""
    return [v for v in c.versions if can(None, Action.VIEW_VERSION, v)]


def _url_maker(endpoint: str, **values: Any) -> Callable[[int], str]:
    """A function of an id giving ``url_for(endpoint, <name>=id)``, with ``url_for`` called once
    (it costs more than the rest of a row); the id's argument is the one given as None."""
    marker = "987654321"
    prefix, suffix = url_for(endpoint, **{k: int(marker) if v is None else v for k, v in values.items()}, _external=True).split(marker)
    return lambda value: f"{prefix}{value}{suffix}"


def consultation_row(c: Consultation) -> Row:
    current = c.current_version
    return {
        "id": c.id,
        "slug": c.slug,
        "title": c.title,
        "summary": c.summary,
        "organisation": {"slug": c.organisation.slug, "name": c.organisation.name},
        "state": c.state,
        "opens_at": _time(c.opens_at),
        "closes_at": _time(c.closes_at),
        "state_changed_at": _time(c.state_changed_at),
        "created_at": _time(c.created_at),
        "current_version": current.number if current else None,
        "response_threshold": c.response_threshold,
        "moderation_mode": c.moderation_mode,
        "url": url_for("proposals.consultation", slug=c.slug, _external=True),
    }


def _version_url(c: Consultation, version: Version) -> str:
    return url_for("proposals.version", slug=c.slug, number=version.number, _external=True)


def version_rows(c: Consultation) -> Iterator[Row]:
    for v in public_versions(c):
        yield {
            "id": v.id,
            "number": v.number,
            "published_at": _time(v.published_at),
            "change_note": v.change_note,
            "url": _version_url(c, v),
            "file": f"versions/{v.number}.md",
        }


def section_rows(c: Consultation) -> Iterator[Row]:
    for v in public_versions(c):
        url = _version_url(c, v)
        for s in v.sections:
            yield {
                "id": s.id,
                "version": v.number,
                "key": s.key,
                "position": s.position,
                "level": s.level,
                "heading": s.heading,
                "change": s.change,
                "body": s.body,
                "text": s.text,
                "url": f"{url}#s-{s.key}",
            }


def _partitions(query) -> Iterator[list[Any]]:
    """The rows of ``query`` in lists of PAGE_SIZE from one streamed cursor (server-side on
    PostgreSQL): one scan for the whole export, whatever the indexes (keyset pages re-scanned
    the consultation's rows for every page on SQLite). The caller runs its queries for a list
    (anchors, revisions...) between two lists."""
    yield from db.session.execute(query.execution_options(yield_per=PAGE_SIZE)).partitions()


def _grouped(query) -> dict[Any, list[Any]]:
    """Rows of ``query`` grouped by their first column."""
    grouped: dict[Any, list[Any]] = {}
    for row in db.session.execute(query):
        grouped.setdefault(row[0], []).append(row)
    return grouped


def contribution_rows(c: Consultation) -> Iterator[Row]:
    """Every public contribution, oldest first, with its placements on each version (annotations),
    earlier texts (edits) and, for amendments, the proposal and its co-supporters."""
    query = (
        select(
            Contribution.id, Contribution.kind, Contribution.author_id, User.display_name, Version.number,
            Contribution.section_key, Contribution.parent_id, Contribution.thread_id, Contribution.depth,
            Contribution.created_at, Contribution.edited_at, Contribution.body,
        )
        .join(Version, Version.id == Contribution.version_id)
        .outerjoin(User, User.id == Contribution.author_id)
        .where(_public(c))
        .order_by(Contribution.id)
    )
    incorporated = aliased(Version)
    comment_url = _url_maker("comments.show", contribution_id=None)
    amendment_url = _url_maker("amendments.show", contribution_id=None)
    for rows in _partitions(query):
        ids = [r.id for r in rows]
        anchors = _grouped(
            select(Anchor.contribution_id, Version.number, Anchor.state, Anchor.section_key, Anchor.start, Anchor.end,
                   Anchor.exact, Anchor.prefix, Anchor.suffix)
            .join(Version, Version.id == Anchor.version_id)
            .where(Anchor.contribution_id.in_(ids), visible_versions(None))
            .order_by(Anchor.contribution_id, Version.number)
        )
        revisions = _grouped(
            select(ContributionRevision.contribution_id, ContributionRevision.body, ContributionRevision.written_at,
                   ContributionRevision.replaced_at)
            .where(ContributionRevision.contribution_id.in_(ids))
            .order_by(ContributionRevision.contribution_id, ContributionRevision.id)
        )
        amendments = {
            row.contribution_id: row
            for row in db.session.execute(
                select(Amendment.contribution_id, Amendment.proposed_text, Amendment.state, Amendment.withdrawn_at,
                       incorporated.number.label("incorporated"))
                .outerjoin(incorporated, incorporated.id == Amendment.incorporated_version_id)
                .where(Amendment.contribution_id.in_(ids))
            )
        }
        supporters = _grouped(
            select(AmendmentSupporter.amendment_id, User.display_name)
            .join(User, User.id == AmendmentSupporter.user_id)
            .where(AmendmentSupporter.amendment_id.in_(list(amendments)), visible_supporters(None))
            .order_by(AmendmentSupporter.amendment_id, AmendmentSupporter.created_at, AmendmentSupporter.id)
        ) if amendments else {}
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
                "created_at": _time(r.created_at),
                "edited_at": _time(r.edited_at),
                "body": r.body,
                "anchors": [
                    {"version": a.number, "state": a.state, "section_key": a.section_key, "start": a.start, "end": a.end,
                     "exact": a.exact, "prefix": a.prefix, "suffix": a.suffix}
                    for a in anchors.get(r.id, [])
                ],
                "revisions": [
                    {"body": rev.body, "written_at": _time(rev.written_at), "replaced_at": _time(rev.replaced_at)}
                    for rev in revisions.get(r.id, [])
                ],
                "amendment": {
                    "proposed_text": amendment.proposed_text,
                    "state": amendment.state,
                    "withdrawn_at": _time(amendment.withdrawn_at),
                    "incorporated_in_version": amendment.incorporated,
                    "co_supporters": [s.display_name for s in supporters.get(r.id, [])],
                } if amendment is not None else None,
            }


def _tally(tally: Tally, values: Iterable[VoteValue]) -> Row:
    return {**tally.as_dict(values), "total": tally.total}


def contribution_tally_rows(c: Consultation) -> Iterator[Row]:
    """Votes on public contributions, counted per value (contributions without votes have no row)."""
    rows = db.session.execute(
        select(Vote.contribution_id, Contribution.kind, Vote.value, func.count())
        .join(Contribution, Contribution.id == Vote.contribution_id)
        .where(_public(c))
        .group_by(Vote.contribution_id, Contribution.kind, Vote.value)
        .order_by(Vote.contribution_id)
        .execution_options(yield_per=PAGE_SIZE)
    )
    for contribution_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        group = list(group)
        values = STATEMENT_VALUES if group[0][1] == ContributionKind.STATEMENT else SUPPORT_VALUES
        yield {"contribution_id": contribution_id, **_tally(Tally.of({row[2]: row[3] for row in group}), values)}


def section_tally_rows(c: Consultation) -> Iterator[Row]:
    for key, tally in sorted(section_tallies(c).items()):
        yield {"section_key": key, **_tally(tally, SUPPORT_VALUES)}


def answer_rows(c: Consultation) -> Iterator[Row]:
    """The organisation's answers to public amendments."""
    rows = db.session.execute(
        select(Amendment.contribution_id, Amendment.decision, Amendment.answer, Amendment.answered_at)
        .join(Contribution, Contribution.id == Amendment.contribution_id)
        .where(_public(c), Amendment.decision.is_not(None))
        .order_by(Amendment.contribution_id)
        .execution_options(yield_per=PAGE_SIZE)
    )
    for r in rows:
        yield {"amendment_id": r.contribution_id, "decision": r.decision, "reason": r.answer, "answered_at": _time(r.answered_at)}


def citation_rows(c: Consultation) -> Iterator[Row]:
    """Changes of published versions traced to the public contributions behind them."""
    rows = db.session.execute(
        select(Citation.id, Version.number, Citation.section_key, Citation.contribution_id, Citation.created_at)
        .join(Version, Version.id == Citation.version_id)
        .join(Contribution, Contribution.id == Citation.contribution_id)
        .where(visible_versions(None), _public(c))
        .order_by(Citation.id)
        .execution_options(yield_per=PAGE_SIZE)
    )
    for r in rows:
        yield {"id": r.id, "version": r.number, "section_key": r.section_key, "contribution_id": r.contribution_id,
               "created_at": _time(r.created_at)}


def _ids(query) -> Iterator[int]:
    for (value,) in db.session.execute(query.execution_options(yield_per=PAGE_SIZE)):
        yield value


def _cited(c: Consultation, where) -> Iterator[int]:
    """Public contributions a summary cites (``[#123]``)."""
    return _ids(
        select(SummaryCitation.contribution_id)
        .join(Contribution, Contribution.id == SummaryCitation.contribution_id)
        .where(where, _public(c))
        .order_by(SummaryCitation.contribution_id)
    )


def _outcome_published(c: Consultation) -> bool:
    """Themes and summaries are in the record when the public may read them (VIEW_THEMES)."""
    return can(None, Action.VIEW_THEMES, c)


def theme_rows(c: Consultation) -> Iterator[Row]:
    if not _outcome_published(c):
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
            "created_at": _time(t.created_at),
            "updated_at": _time(t.updated_at),
            "contribution_ids": _ids(
                select(ContributionTheme.contribution_id)
                .join(Contribution, Contribution.id == ContributionTheme.contribution_id)
                .where(ContributionTheme.theme_id == t.id, _public(c))
                .order_by(ContributionTheme.contribution_id)
            ),
            "cites": _cited(c, SummaryCitation.theme_id == t.id),
        }


def section_summary_rows(c: Consultation) -> Iterator[Row]:
    if not _outcome_published(c):
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
            "updated_at": _time(s.updated_at),
            "cites": _cited(c, SummaryCitation.section_summary_id == s.id),
        }


def moderation_log_rows(c: Consultation) -> Iterator[Row]:
    """The public moderation log: what was done, when, under which rule and why; never who acted,
    who reported, or whom a block concerns."""
    rows = db.session.execute(
        select(ModerationLogEntry.id, ModerationLogEntry.created_at, ModerationLogEntry.action, ModerationLogEntry.rule,
               ModerationLogEntry.reason, ModerationLogEntry.contribution_id)
        .where(ModerationLogEntry.consultation_id == c.id)
        .order_by(ModerationLogEntry.id)
        .execution_options(yield_per=PAGE_SIZE)
    )
    for r in rows:
        yield {"id": r.id, "created_at": _time(r.created_at), "action": r.action, "rule": r.rule, "reason": r.reason,
               "contribution_id": r.contribution_id}


# ---- annotations.jsonld --------------------------------------------------------------------------

def annotation_collection(c: Consultation) -> Row:
    """The consultation's annotations and their replies as one W3C AnnotationCollection whose
    first (and only) page is embedded with every annotation: the API's collection, whole."""
    query = annotations_query(c, None)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page_iri = url_for("record.download", slug=c.slug, _external=True) + "#annotations"
    document = w3c.annotation_collection(
        collection_iri=url_for("api.annotations", slug=c.slug, _external=True),
        label=f"Annotations on “{c.title}”",
        total=total,
        first_iri=page_iri if total else None,
        last_iri=page_iri if total else None,
    )
    if LICENCE_URLS.get(c.licence):
        document["rights"] = LICENCE_URLS[c.licence]
    if total:
        document["first"] = {"id": page_iri, "type": "AnnotationPage", "startIndex": 0, "items": _annotations(query)}
    return document


def _annotations(query) -> Iterator[Row]:
    options = (selectinload(Contribution.anchors), joinedload(Contribution.author), joinedload(Contribution.version))
    pages = db.session.scalars(query.options(*options).execution_options(yield_per=PAGE_SIZE)).partitions()
    for page in pages:  # the ORM objects of a page go once the next one is read
        for contribution in page:
            yield w3c.annotation(annotation_record(contribution), with_context=False)


# ---- Markdown files --------------------------------------------------------------------------------

def readme(c: Consultation, versions: list[Version], exported_at: datetime) -> str:
    lic = licence(c)
    counts = dict(db.session.execute(select(Contribution.kind, func.count()).where(_public(c)).group_by(Contribution.kind)).all())
    numbers = ", ".join(f"{counts.get(kind, 0):,} {one if counts.get(kind, 0) == 1 else many}" for kind, one, many in (
        (ContributionKind.COMMENT, "comment", "comments"), (ContributionKind.REPLY, "reply", "replies"),
        (ContributionKind.AMENDMENT, "amendment", "amendments"), (ContributionKind.STATEMENT, "statement", "statements"),
    ))
    published = "\n".join(f"- version {v.number}, published {_time(v.published_at)}" for v in versions) or "- none yet"
    diffs = ", ".join(f"`diffs/{a.number}-{b.number}.md`" for a, b in itertools.pairwise(versions)) or "none (one version)"
    return f"""# Open policy record: {c.title}

{c.organisation.name} consulted the public on “{c.title}” with Consult:
{url_for("proposals.consultation", slug=c.slug, _external=True)}

This is the record of that consultation as anyone could read it on {_time(exported_at)}
(state: {c.state}). It holds {numbers}.

Versions of the text:
{published}

## Licence

The policy text, the contributions and this record are published under **{lic["name"]}**
(`{lic["id"]}`){f": {lic['url']}" if lic["url"] else "."}

## Files

| file | what it holds |
| --- | --- |
| `record.json` | everything, with stable ids: the consultation, versions, sections, contributions, vote tallies, the organisation's answers to amendments, citations (which contributions each change of the text came from), themes, summaries and the public moderation log (format `{FORMAT}` version {FORMAT_VERSION}) |
| `versions/N.md` | the text of version N, in Markdown |
| `diffs/N-M.md` | what changed from version N to version M, word by word ({diffs}) |
| `annotations.jsonld` | annotations on passages of the text and their replies, as a W3C Web Annotation collection |
| `contributions.csv`, `amendments.csv`, `tallies.csv`, `sections.csv`, `citations.csv`, `themes.csv`, `moderation_log.csv` | the same data as tables, for spreadsheets (UTF-8) |

In the CSV files, text that begins with `=`, `+`, `-`, `@` or a tab starts with an apostrophe,
so that spreadsheets do not run it as a formula; `record.json` has the exact text.

## What is left out

People appear only by the public name they chose; participants who erased their account appear
as “{FORMER_PARTICIPANT}”. Contributions hidden by the moderators, deleted by their authors,
awaiting moderation or written by blocked participants are left out, and with them their votes;
a reply may therefore answer a contribution that is not in the record. Votes are given as
totals only. The moderation log says what was done, when and why, not who reported or moderated.
"""


CRITIC_MARKUP = {"equal": "{}", "delete": "{{--{}--}}", "insert": "{{++{}++}}"}


def _redline(ops) -> str:
    return "".join(CRITIC_MARKUP[op.kind].format(op.text) for op in ops)


def diff_markdown(c: Consultation, old: Version, new: Version) -> str:
    """The changes from ``old`` to ``new`` section by section, in CriticMarkup, with the public
    contributions each changed section cites."""
    comment_url = _url_maker("comments.show", contribution_id=None)
    amendment_url = _url_maker("amendments.show", contribution_id=None)
    cited = _grouped(
        select(Citation.section_key, Citation.contribution_id, Contribution.kind)
        .join(Contribution, Contribution.id == Citation.contribution_id)
        .where(Citation.version_id == new.id, _public(c))
        .order_by(Citation.section_key, Citation.contribution_id)
    )
    lines = [
        f"# {c.title}: changes from version {old.number} to version {new.number}",
        "",
        f"Version {old.number} was published {_time(old.published_at)}, version {new.number} {_time(new.published_at)}.",
        "Removed words are marked {--like this--}, added words {++like this++} (CriticMarkup), in the text as readers see it.",
    ]
    if new.change_note:
        lines += ["", f"Note of version {new.number}: {new.change_note}"]
    for d in diff_versions(old, new):
        section = d.new or d.old
        lines += ["", f"## {section.heading}", "", f"Section `{d.key}`: {d.status}."]
        if d.old is not None and d.new is not None and any(op.kind != "equal" for op in d.heading_ops):
            lines += ["", f"Heading: {_redline(d.heading_ops)}"]
        if d.status != "kept":
            lines += ["", _redline(d.text_ops)]
        sources = cited.get(d.key, []) if d.new is not None else []
        if sources:
            lines += ["", "Cites: " + ", ".join(
                f"[#{row.contribution_id}]({(amendment_url if row.kind == ContributionKind.AMENDMENT else comment_url)(row.contribution_id)})"
                for row in sources
            )]
    return "\n".join(lines) + "\n"


# ---- CSV files -------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def write_csv(out: IO[str], columns: list[str], rows: Iterable[Row]) -> None:
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])


def csv_tables(c: Consultation) -> Iterator[tuple[str, list[str], Iterator[Row]]]:
    """(file name, columns, rows) of each CSV file; rows are made only when written."""
    yield ("contributions.csv",
           ["id", "kind", "version", "section_key", "parent_id", "thread_id", "depth", "author_id", "author",
            "created_at", "edited_at", "quote", "body", "url"],
           (_flat_contribution(row) for row in contribution_rows(c)))
    yield ("amendments.csv",
           ["id", "version", "section_key", "author", "created_at", "state", "decision", "answer", "answered_at",
            "incorporated_in_version", "co_supporters", "support", "oppose", "abstain", "rationale", "proposed_text", "url"],
           amendment_table_rows(c))
    yield ("tallies.csv",
           ["contribution_id", "section_key", "support", "oppose", "abstain", "agree", "disagree", "pass", "total"],
           itertools.chain(contribution_tally_rows(c), section_tally_rows(c)))
    yield ("sections.csv", ["version", "key", "position", "level", "heading", "change", "url"], section_rows(c))
    yield ("citations.csv", ["id", "version", "section_key", "contribution_id", "created_at"], citation_rows(c))
    yield ("themes.csv", ["theme_id", "theme", "contribution_id"], theme_membership_rows(c))
    yield ("moderation_log.csv", ["id", "created_at", "action", "rule", "reason", "contribution_id"], moderation_log_rows(c))


def _flat_contribution(row: Row) -> Row:
    own = next((a for a in row["anchors"] if a["version"] == row["version"]), None)
    return {**row, "author_id": row["author"]["id"], "author": row["author"]["name"], "quote": own["exact"] if own else None}


def amendment_table_rows(c: Consultation) -> Iterator[Row]:
    """One row per public amendment: its answer, vote counts and number of co-supporters."""
    incorporated = aliased(Version)

    def votes(value: VoteValue):
        return (select(func.count(Vote.id)).where(Vote.contribution_id == Contribution.id, Vote.value == value)
                .correlate(Contribution).scalar_subquery())

    co_supporters = (
        select(func.count(AmendmentSupporter.id))
        .where(AmendmentSupporter.amendment_id == Contribution.id, visible_supporters(None))
        .correlate(Contribution).scalar_subquery()
    )
    query = (
        select(
            Contribution.id, Version.number, Contribution.section_key, Contribution.author_id, User.display_name,
            Contribution.created_at, Contribution.body, Amendment.proposed_text, Amendment.state, Amendment.decision,
            Amendment.answer, Amendment.answered_at, incorporated.number.label("incorporated"),
            co_supporters.label("co_supporters"), votes(VoteValue.SUPPORT).label("support"),
            votes(VoteValue.OPPOSE).label("oppose"), votes(VoteValue.ABSTAIN).label("abstain"),
        )
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .join(Version, Version.id == Contribution.version_id)
        .outerjoin(incorporated, incorporated.id == Amendment.incorporated_version_id)
        .outerjoin(User, User.id == Contribution.author_id)
        .where(_public(c))
        .order_by(Contribution.id)
    )
    url = _url_maker("amendments.show", contribution_id=None)
    for rows in _partitions(query):
        for r in rows:
            yield {
                "id": r.id, "version": r.number, "section_key": r.section_key,
                "author": r.display_name if r.author_id else FORMER_PARTICIPANT, "created_at": _time(r.created_at),
                "state": r.state, "decision": r.decision, "answer": r.answer if r.decision else None,
                "answered_at": _time(r.answered_at), "incorporated_in_version": r.incorporated,
                "co_supporters": r.co_supporters, "support": r.support, "oppose": r.oppose, "abstain": r.abstain,
                "rationale": r.body, "proposed_text": r.proposed_text, "url": url(r.id),
            }


def theme_membership_rows(c: Consultation) -> Iterator[Row]:
    if not _outcome_published(c):
        return
    rows = db.session.execute(
        select(Theme.id, Theme.name, ContributionTheme.contribution_id)
        .join(ContributionTheme, ContributionTheme.theme_id == Theme.id)
        .join(Contribution, and_(Contribution.id == ContributionTheme.contribution_id, _public(c)))
        .where(Theme.consultation_id == c.id)
        .order_by(Theme.id, ContributionTheme.contribution_id)
        .execution_options(yield_per=PAGE_SIZE)
    )
    for r in rows:
        yield {"theme_id": r[0], "theme": r[1], "contribution_id": r[2]}


# ---- streaming JSON ----------------------------------------------------------------------------------

def write_json(out: IO[str], value: Any, depth: int = 0) -> None:
    """Write ``value`` as JSON, pulling iterators as it goes: an iterator becomes an array written
    item by item (never held whole); dicts of the first two levels, or holding an iterator, are
    spread over lines; anything else is one ``json.dumps``. An array of objects has one object
    per line, so the file also reads (and diffs) line by line."""
    indent = "\n" + "  " * (depth + 1)
    if isinstance(value, dict) and (depth < 2 or any(isinstance(v, Iterator) for v in value.values())):
        if not value:
            out.write("{}")
            return
        out.write("{")
        for i, (key, item) in enumerate(value.items()):
            out.write(("," if i else "") + indent + json.dumps(key) + ": ")
            write_json(out, item, depth + 1)
        out.write("\n" + "  " * depth + "}")
    elif isinstance(value, Iterator):
        first = next(value, _END)
        if first is _END:
            out.write("[]")
            return
        spread = isinstance(first, dict)
        out.write("[")
        for i, item in enumerate(itertools.chain((first,), value)):
            out.write(("," if i else "") + (indent if spread else (" " if i else "")))
            write_json(out, item, depth + 1)
        out.write(("\n" + "  " * depth if spread else "") + "]")
    else:
        out.write(json.dumps(value, ensure_ascii=False))


_END = object()


__all__ = [
    "FORMAT", "FORMAT_VERSION", "export_to", "read_from_one_snapshot", "record_archive", "write_folder", "write_json",
    "write_record", "write_zip",
]
