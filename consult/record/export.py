"""The open policy record: what the public could see of a consultation, as files anyone can use
without Consult. The format is described in ``docs/record.md``; the record carries its own
description, copied from ``bundled/``: the JSON Schema of ``record.json``
(``schema/record.schema.json``) and ``DATA-DICTIONARY.md`` (every field, value and CSV column).

``write_record(consultation, sink)`` is the one entry point: it writes README.md, record.json,
versions/N.md, diffs/N-M.md, annotations.jsonld, the CSV files and the bundled files into a sink (``sinks``: a
folder or a zip); ``write_folder``, ``write_zip``, ``export_to`` (``consult export``) and
``record_archive`` (``/c/SLUG/record.zip``) wrap it. The work is split three ways:

- ``rows``: the read functions, one row serialiser per kind of thing. Every contribution passes
  ``permissions.visible_contributions(None)``: the record is what an anonymous reader sees,
  whoever asks for it (hidden, pending and deleted contributions, and those of blocked authors,
  are left out, and with them their votes, citations and themes); people appear by their public
  display name only, erased accounts as "Former participant"; the moderation log without
  moderators, reporters or blocked people;
- ``formats``: JSON, JSON-LD, CSV and Markdown, written as rows arrive;
- ``sinks``: where the files go.

Nothing is built whole in memory: rows come from streamed cursors in lists of ``PAGE_SIZE``
(with one query per list for what hangs off them: anchors, revisions, amendments), so an
export's memory does not grow with the number of contributions (``bench/export.py``).

Links come from ``core.links``: the request's address inside a request (the download), else the
site's address ``CONSULT_BASE_URL`` (``consult export``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import Engine

from consult.attachments.services import open_file, public_attachments
from consult.core.models import db, utcnow
from consult.proposals.models import Consultation
from consult.record.formats import (
    FORMAT,
    FORMAT_VERSION,
    annotation_collection,
    csv_tables,
    diff_markdown,
    readme,
    record_document,
    translation_markdown,
    version_markdown,
    write_csv,
    write_json,
)
from consult.record.rows import PAGE_SIZE, public_versions, translation_file
from consult.record.sinks import FolderSink, Sink, ZipSink, text_file

BUNDLED = Path(__file__).resolve().parent / "bundled"
"""Files copied into every record as they are: its schema and data dictionary."""
BUNDLED_FILES = ("schema/record.schema.json", "DATA-DICTIONARY.md")


def write_record(consultation: Consultation, sink: Sink) -> list[str]:
    """Write every file of the record; returns their names in the order written."""
    exported_at = utcnow()
    page_size = PAGE_SIZE  # read here, so that a test may make pages small
    versions = public_versions(consultation)
    names: list[str] = []

    def open_text(name: str, **kwargs: Any):
        names.append(name)
        return text_file(sink, name, **kwargs)

    with open_text("README.md") as out:
        out.write(readme(consultation, versions, exported_at))
    with open_text("record.json") as out:
        write_json(out, record_document(consultation, exported_at, page_size=page_size))
    for version in versions:
        with open_text(f"versions/{version.number}.md") as out:
            out.write(version_markdown(version))
        for language in version.languages[1:]:  # the text in its other languages
            with open_text(translation_file(version, language)) as out:
                out.write(translation_markdown(version, language))
    for old, new in itertools.pairwise(versions):
        with open_text(f"diffs/{old.number}-{new.number}.md") as out:
            out.write(diff_markdown(consultation, old, new))
        for language in [code for code in new.languages[1:] if code in old.languages]:
            with open_text(f"diffs/{old.number}-{new.number}.{language}.md") as out:
                out.write(diff_markdown(consultation, old, new, language))
    with open_text("annotations.jsonld") as out:
        write_json(out, annotation_collection(consultation, page_size=page_size))
    for name, columns, rows in csv_tables(consultation, page_size=page_size):
        # Plain UTF-8, no byte-order mark: a BOM becomes part of the first column's name in the
        # programs researchers use (Python, pandas, R); DATA-DICTIONARY.md says how to open the
        # files as UTF-8 in Excel.
        with open_text(name) as out:
            write_csv(out, columns, rows)
    names.extend(write_attachments(consultation, sink))
    for name in BUNDLED_FILES:
        names.append(name)
        with sink.open(name) as out:
            out.write((BUNDLED / name).read_bytes())
    return names


ATTACHMENT_COLUMNS = ["id", "file", "name", "description", "kind", "content_type", "size", "sha256", "version", "uploaded_at"]


def write_attachments(consultation: Consultation, sink: Sink) -> list[str]:
    """The files attached to the consultation that anyone may see, under ``attachments/`` (as
    ``ID-NAME``), and ``attachments.csv``: each one's name, type, size and SHA-256, so a reader
    can check the files. Streamed from the storage, one at a time."""
    files = public_attachments(consultation)
    names: list[str] = []
    rows = []
    for attachment in files:
        name = f"attachments/{attachment.id}-{attachment.name}"
        with sink.open(name) as out, open_file(attachment) as stream:
            shutil.copyfileobj(stream, out, 64 * 1024)
        names.append(name)
        rows.append(
            {
                "id": attachment.id,
                "file": name,
                "name": attachment.name,
                "description": attachment.description,
                "kind": attachment.kind,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
                "version": attachment.version.number if attachment.version else "",
                "uploaded_at": attachment.uploaded_at.isoformat(),
            }
        )
    names.append("attachments.csv")
    with text_file(sink, "attachments.csv") as out:
        write_csv(out, ATTACHMENT_COLUMNS, rows)
    return names


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
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller, who closes it)
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


__all__ = [
    "BUNDLED",
    "FORMAT",
    "FORMAT_VERSION",
    "PAGE_SIZE",
    "export_to",
    "read_from_one_snapshot",
    "record_archive",
    "write_folder",
    "write_json",
    "write_record",
    "write_zip",
]
