"""The open record's formats: record.json (streamed JSON), annotations.jsonld (W3C), the CSV
files, the Markdown of each version and diff, and the README. Each takes rows from ``rows`` and
writes them as they come, holding none of the many whole."""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from consult.comments import w3c
from consult.contributions.models import ContributionKind
from consult.core import links
from consult.core.text import escape_markdown
from consult.proposals.models import Consultation, Version
from consult.proposals.services import diff_versions, draft_as_markdown
from consult.questionnaires import services as questionnaires
from consult.record import rows
from consult.record.rows import Row, rfc3339

FORMAT = "consult-open-policy-record"
FORMAT_VERSION = 1


# ---- record.json -----------------------------------------------------------------------------------


def record_document(c: Consultation, exported_at: datetime, *, page_size: int = rows.PAGE_SIZE) -> Row:
    """record.json: plain values, with generators where rows are many (``write_json`` pulls them)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": rows.rfc3339(exported_at),
        "licence": rows.licence(c),
        "consultation": rows.consultation_row(c),
        "versions": rows.version_rows(c),
        "sections": rows.section_rows(c),
        "section_texts": rows.section_text_rows(c),
        "contributions": rows.contribution_rows(c, page_size=page_size),
        "tallies": {"contributions": rows.contribution_tally_rows(c, page_size=page_size), "sections": rows.section_tally_rows(c)},
        "answers": rows.answer_rows(c, page_size=page_size),
        "citations": rows.citation_rows(c, page_size=page_size),
        "themes": rows.theme_rows(c, page_size=page_size),
        "section_summaries": rows.section_summary_rows(c, page_size=page_size),
        "moderation_log": rows.moderation_log_rows(c, page_size=page_size),
        "staff_log": rows.staff_log_rows(c, page_size=page_size),
        "opinion_map": rows.opinion_map_row(c),
    }


# ---- annotations.jsonld --------------------------------------------------------------------------


def annotation_collection(c: Consultation, *, page_size: int = rows.PAGE_SIZE) -> Row:
    """The consultation's annotations and their replies as one W3C AnnotationCollection whose
    first (and only) page is embedded with every annotation: the API's collection, whole."""
    total = rows.annotation_count(c)
    page_iri = links.url("record.download", slug=c.slug) + "#annotations"
    document = w3c.annotation_collection(
        collection_iri=links.url("api.annotations", slug=c.slug),
        label=f"Annotations on “{c.title}”",
        total=total,
        first_iri=page_iri if total else None,
        last_iri=page_iri if total else None,
    )
    if rows.LICENCE_URLS.get(c.licence):
        document["rights"] = rows.LICENCE_URLS[c.licence]
    if total:
        document["first"] = {
            "id": page_iri,
            "type": "AnnotationPage",
            "startIndex": 0,
            "items": rows.annotation_rows(c, page_size=page_size),
        }
    return document


# ---- Markdown files --------------------------------------------------------------------------------


def readme(c: Consultation, versions: list[Version], exported_at: datetime) -> str:
    lic = rows.licence(c)
    counts = rows.contribution_counts(c)
    numbers = ", ".join(
        f"{counts.get(kind, 0):,} {one if counts.get(kind, 0) == 1 else many}"
        for kind, one, many in (
            (ContributionKind.COMMENT, "comment", "comments"),
            (ContributionKind.REPLY, "reply", "replies"),
            (ContributionKind.AMENDMENT, "amendment", "amendments"),
            (ContributionKind.STATEMENT, "statement", "statements"),
        )
    )
    published = "\n".join(f"- version {v.number}, published {rfc3339(v.published_at)}" for v in versions) or "- none yet"
    diffs = ", ".join(f"`diffs/{a.number}-{b.number}.md`" for a, b in itertools.pairwise(versions)) or "none (one version)"
    title, organisation = escape_markdown(c.title, inline=True), escape_markdown(c.organisation.name, inline=True)
    translations = (
        "\n| `versions/N.LANG.md`, `diffs/N-M.LANG.md`, `section_texts.csv` | the text in its other languages "
        f"({', '.join(f'`{code}`' for code in c.languages[1:])}; the original is in `{c.original_language}`), and what changed in it |"
        if c.is_multilingual
        else ""
    )
    return f"""# Open policy record: {title}

{organisation} consulted the public on “{title}” with Consult:
{links.url("proposals.consultation", slug=c.slug)}

This is the record of that consultation as anyone could read it on {rfc3339(exported_at)}
(state: {c.state}). It holds {numbers}.

Versions of the text:
{published}

## Licence

The policy text, the contributions and this record are published under **{escape_markdown(lic["name"], inline=True)}**
(`{lic["id"]}`){f": {lic['url']}" if lic["url"] else "."}

## Files

| file | what it holds |
| --- | --- |
| `record.json` | everything, with stable ids: the consultation, versions, sections, contributions, vote tallies, the organisation's answers to amendments, citations (which contributions each change of the text came from), themes, summaries, the public moderation log, the staff log (what the organisation's authors, admins and moderators did, and when) and the opinion map (format `{FORMAT}` version {FORMAT_VERSION}) |
| `versions/N.md` | the text of version N, in Markdown |
| `diffs/N-M.md` | what changed from version N to version M, word by word ({diffs}) |{translations}
| `annotations.jsonld` | annotations on passages of the text and their replies, as a W3C Web Annotation collection |
| `contributions.csv`, `amendments.csv`, `tallies.csv`, `sections.csv`, `citations.csv`, `themes.csv`, `moderation_log.csv`, `opinion_map.csv` | the same data as tables, for spreadsheets (UTF-8 without a byte-order mark: see the data dictionary for opening them in Excel) |
| `attachments/`, `attachments.csv` | the files the organisation attached (documents, spreadsheets, the images of the text), and for each its name, type, size and SHA-256 |
| [`DATA-DICTIONARY.md`](DATA-DICTIONARY.md) | what every field of `record.json` and every CSV column means, and every value it can take |
| [`schema/record.schema.json`](schema/record.schema.json) | the JSON Schema (draft 2020-12) of `record.json`, for checking it with a program |

In the CSV files, text that begins with `=`, `+`, `-`, `@` or a tab starts with an apostrophe,
so that spreadsheets do not run it as a formula; `record.json` has the exact text.

## What is left out

People appear only by the public name they chose; participants who erased their account appear
as “{rows.FORMER_PARTICIPANT}”. Contributions hidden by the moderators, deleted by their authors,
awaiting moderation or written by blocked participants are left out, and with them their votes;
a reply may therefore answer a contribution that is not in the record. Votes are given as
totals only. The moderation log says what was done, when and why, not who reported or moderated;
the staff log names the authors and admins who acted, never the moderators.
"""


def version_markdown(version: Version) -> str:
    """versions/N.md: the text as the editor shows it (it imports back)."""
    return draft_as_markdown(version)


def translation_markdown(version: Version, language: str) -> str:
    """versions/N.LANG.md: the text in a language other than the original, each heading naming
    its section's key (``{#key}``), so it imports back as that language's text."""
    return (
        "\n\n".join(
            f"{'#' * s.level} {escape_markdown(s.heading, inline=True)} {{#{s.key}}}\n\n{s.body}".rstrip()
            for s in version.sections_in(language)
        )
        + "\n"
    )


CRITIC_MARKUP = {"equal": "{}", "delete": "{{--{}--}}", "insert": "{{++{}++}}"}


def _redline(ops, *, line_start: bool = True) -> str:
    """The ops in CriticMarkup, their words escaped (they are the text as readers see it)."""
    out: list[str] = []
    for op in ops:
        out.append(CRITIC_MARKUP[op.kind].format(escape_markdown(op.text, line_start=line_start)))
        line_start = op.text.endswith("\n")
    return "".join(out)


def diff_markdown(c: Consultation, old: Version, new: Version, language: str | None = None) -> str:
    """The changes from ``old`` to ``new`` section by section, in CriticMarkup, with the public
    contributions each changed section cites: of their texts in ``language`` (by default the
    original's)."""
    comment_url = rows.url_maker("comments.show", contribution_id=None)
    amendment_url = rows.url_maker("amendments.show", contribution_id=None)
    cited = rows.cited_by_section(c, new)
    lines = [
        f"# {escape_markdown(c.title, inline=True)}: changes from version {old.number} to version {new.number}",
        "",
        f"Version {old.number} was published {rfc3339(old.published_at)}, version {new.number} {rfc3339(new.published_at)}.",
        "Removed words are marked {--like this--}, added words {++like this++} (CriticMarkup), in the text as readers see it.",
    ]
    if new.change_note:
        lines += ["", f"Note of version {new.number}: {escape_markdown(new.change_note)}"]
    if language is not None and language != c.original_language:
        lines += ["", f"The text in the language `{language}`; `diffs/{old.number}-{new.number}.md` compares the original."]
    for d in diff_versions(old, new, language=language):
        section = d.new or d.old
        lines += ["", f"## {escape_markdown(section.heading, inline=True)}", "", f"Section `{d.key}`: {d.status}."]
        if d.old is not None and d.new is not None and any(op.kind != "equal" for op in d.heading_ops):
            lines += ["", f"Heading: {_redline(d.heading_ops, line_start=False)}"]
        if d.status != "kept":
            lines += ["", _redline(d.text_ops)]
        sources = cited.get(d.key, []) if d.new is not None else []
        if sources:
            lines += [
                "",
                "Cites: "
                + ", ".join(
                    f"[#{row.contribution_id}]({(amendment_url if row.kind == ContributionKind.AMENDMENT else comment_url)(row.contribution_id)})"
                    for row in sources
                ),
            ]
    return "\n".join(lines) + "\n"


# ---- CSV files -------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _flat_contribution(row: Row) -> Row:
    own = next((a for a in row["anchors"] if a["version"] == row["version"]), None)
    return {**row, "author_id": row["author"]["id"], "author": row["author"]["name"], "quote": own["exact"] if own else None}


def write_csv(out: IO[str], columns: list[str], items: Iterable[Row]) -> None:
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in items:
        writer.writerow([_cell(row.get(column)) for column in columns])


def csv_tables(c: Consultation, *, page_size: int = rows.PAGE_SIZE) -> Iterator[tuple[str, list[str], Iterator[Row]]]:
    """(file name, columns, rows) of each CSV file; rows are made only when written."""
    yield (
        "contributions.csv",
        [
            "id",
            "kind",
            "version",
            "section_key",
            "parent_id",
            "thread_id",
            "depth",
            "author_id",
            "author",
            "created_at",
            "edited_at",
            "language",
            "quote",
            "body",
            "url",
        ],
        (_flat_contribution(row) for row in rows.contribution_rows(c, page_size=page_size)),
    )
    yield (
        "amendments.csv",
        [
            "id",
            "number",
            "version",
            "section_key",
            "author",
            "created_at",
            "state",
            "decision",
            "answer",
            "answered_at",
            "incorporated_in_version",
            "co_supporters",
            "support",
            "oppose",
            "abstain",
            "rationale",
            "proposed_text",
            "url",
        ],
        rows.amendment_table_rows(c, page_size=page_size),
    )
    yield (
        "tallies.csv",
        ["contribution_id", "section_key", "support", "oppose", "abstain", "agree", "disagree", "pass", "total"],
        itertools.chain(rows.contribution_tally_rows(c, page_size=page_size), rows.section_tally_rows(c)),
    )
    yield ("sections.csv", ["version", "key", "position", "level", "heading", "change", "reason", "editorial", "url"], rows.section_rows(c))
    if c.is_multilingual:  # the text in its other languages
        yield ("section_texts.csv", ["version", "key", "language", "heading", "url"], rows.section_text_rows(c))
    yield ("citations.csv", ["id", "version", "section_key", "contribution_id", "created_at"], rows.citation_rows(c, page_size=page_size))
    yield ("themes.csv", ["theme_id", "theme", "contribution_id"], rows.theme_membership_rows(c, page_size=page_size))
    yield (
        "moderation_log.csv",
        ["id", "created_at", "action", "rule", "reason", "contribution_id"],
        rows.moderation_log_rows(c, page_size=page_size),
    )
    yield (
        "opinion_map.csv",
        ["kind", "group", "participants", "statement_id", "direction", *rows.OPINION_STATS, "statement"],
        rows.opinion_map_table_rows(c),
    )
    # The questionnaire (issue 21): its counts, and every answer under the respondent's random pseudonym.
    yield ("questionnaire_results.csv", QUESTIONNAIRE_RESULT_COLUMNS, iter(questionnaires.result_rows(c)))
    yield (
        "questionnaire_responses.csv",
        QUESTIONNAIRE_RESPONSE_COLUMNS,
        ({**row, "updated_at": rfc3339(row["updated_at"])} for row in questionnaires.response_rows(c)),
    )


QUESTIONNAIRE_RESULT_COLUMNS = [
    "questionnaire_version",
    "question_key",
    "question_kind",
    "question",
    "respondents",
    "answered",
    "option_id",
    "option",
    "count",
    "percent",
    "mean_rank",
]
QUESTIONNAIRE_RESPONSE_COLUMNS = [
    "questionnaire_version",
    "respondent",
    "updated_at",
    "question_key",
    "option_ids",
    "options",
    "contribution_id",
]


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
