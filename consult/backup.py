"""Backing a site up into a folder and restoring it from one (`consult backup DIR`, `consult restore DIR`).

A backup folder holds what cannot be made again:

- the database: SQLite through its online backup API (``sqlite3.Connection.backup``: one
  consistent snapshot taken under a read transaction, whatever is being written meanwhile, WAL
  included; a plain copy of a live file misses what still sits in the ``-wal`` file), or
  PostgreSQL through ``pg_dump -Fc``;
- the instance files that matter: ``secret_key`` (sessions, signed links and tokens are signed
  with it) and ``uploads/`` if the site has one;
- ``manifest.json``: when, which Consult, which migration, and a SHA-256 of every file.

Not backed up, on purpose: the search index (derived from the database; a restored index would
not match the restored rows, so restore rebuilds it), ``jobs.db`` (a queue of work about the
database as it was: the worker's periodic jobs redo what matters), ``bundles/`` and
``suggestions/`` (caches the worker rebuilds from the database) and ``outbox/`` (mail already
"sent", holding live reset and confirmation links).

Restore refuses a database holding rows unless forced, checks the checksums, puts the SQLite file
in place atomically (a temporary file renamed over the old one, the old one's ``-wal``/``-shm``
removed first so none of it is applied to the new file), restores the secret key, migrates up
a backup from an older Consult, rebuilds the search index synchronously and drops the caches.
Stop the web server and the worker before restoring.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from consult.core.models import db, sqlite_write_intent

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "consult.db"
PG_FILE = "consult.pgdump"
INSTANCE = "instance"
INSTANCE_FILES = ("secret_key",)
INSTANCE_FOLDERS = ("uploads",)
NOT_BACKED_UP = {
    "search-index": "derived from the database; restore rebuilds it from the restored rows",
    "jobs.db": "the job queue, about the database as it was; the worker's periodic jobs redo what matters",
    "bundles": "record.zip cache, rebuilt by the worker on demand",
    "suggestions": "theme suggestions cache, recomputed by the worker",
    "outbox": "mail already written out (with live reset and confirmation links)",
    "ratelimits.db": "posting and voting limit counters (a day's at most); they start afresh",
}
PG_DUMP_HELP = "pg_dump -Fc --no-owner --no-privileges --file DIR/consult.pgdump \"$CONSULT_DATABASE_URL\""
PG_RESTORE_HELP = (
    "pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction "
    '--dbname "$CONSULT_DATABASE_URL" DIR/consult.pgdump && consult db upgrade && consult reindex'
)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class RestoreReport:
    database: str
    revision_before: str | None
    revision_after: str | None
    documents_indexed: int | None
    notes: list[str] = field(default_factory=list)


# ---- backup ------------------------------------------------------------------------------


def backup(app: Flask, target: Path) -> dict:
    """Write a backup of the site into ``target`` (a new or empty folder); returns the manifest.
    Built in a temporary folder beside it and renamed into place: a half-done backup never
    looks like a finished one."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty folder: choose a new one.")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))  # mode 0700: it holds the secret key
    try:
        url = db.engine.url
        created_at = datetime.now(UTC)
        if url.get_backend_name() == "sqlite":
            _backup_sqlite(_sqlite_path(url), work / SQLITE_FILE)
            revision = _sqlite_revision(work / SQLITE_FILE)
            kind, dump = "sqlite", SQLITE_FILE
        elif url.get_backend_name() == "postgresql":
            revision = _current_revision()
            _pg_dump(url, work / PG_FILE)
            kind, dump = "postgresql", PG_FILE
        else:
            raise BackupError(f"No backup for a {url.get_backend_name()} database.")
        notes = _copy_instance_files(app, work)
        manifest = {
            "format": FORMAT,
            "created_at": created_at.isoformat(),
            "app_version": _app_version(),
            "database": kind,
            "database_file": dump,
            "alembic_revision": revision,
            "files": {name: _file_entry(work / name) for name in _files_under(work)},
            "not_backed_up": NOT_BACKED_UP,
            "notes": notes,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _fsync_tree(work)
        if target.exists():
            target.rmdir()  # empty, checked above
        os.rename(work, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _sqlite_path(url: URL) -> Path:
    if url.database in (None, "", ":memory:"):
        raise BackupError("The database is in memory: there is nothing on disk to back up.")
    return Path(url.database)


def _backup_sqlite(source: Path, destination: Path) -> None:
    """SQLite's online backup: every page in one step, under one read transaction, so the copy
    is the database as of one commit (in WAL mode readers never block writers, nor wait for them)."""
    if not source.exists():
        raise BackupError(f"No database at {source}.")
    src = sqlite3.connect(source, timeout=60)  # only reads
    dst = sqlite3.connect(destination)
    try:
        src.backup(dst)  # pages=-1: all at once, one snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"The backup copy fails SQLite's integrity check: {check}")
    finally:
        dst.close()
        src.close()


def _sqlite_revision(path: Path) -> str | None:
    connection = sqlite3.connect(path)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # a database made by create_all, not by the migrations
        return None
    finally:
        connection.close()
    return row[0] if row else None


def _current_revision() -> str | None:
    with db.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _copy_instance_files(app: Flask, work: Path) -> list[str]:
    instance = Path(app.instance_path)
    notes = []
    for name in INSTANCE_FILES:
        if (instance / name).is_file():
            (work / INSTANCE).mkdir(mode=0o700, exist_ok=True)
            shutil.copy2(instance / name, work / INSTANCE / name)
            os.chmod(work / INSTANCE / name, 0o600)
        elif name == "secret_key":
            notes.append("No instance/secret_key: the key comes from CONSULT_SECRET_KEY; keep it with this backup.")
    for name in INSTANCE_FOLDERS:
        if (instance / name).is_dir():
            shutil.copytree(instance / name, work / INSTANCE / name)
    return notes


def _app_version() -> str:
    try:
        return metadata.version("consult")
    except metadata.PackageNotFoundError:
        return "unknown"


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def _file_entry(path: Path) -> dict:
    return {"sha256": _sha256(path), "bytes": path.stat().st_size}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- PostgreSQL ----------------------------------------------------------------------------


def _pg_tool(name: str, documented: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed (Debian: apt-get install postgresql-client, of the server's major version or newer). "
            f"The command to run by hand: {documented}"
        )
    return path


def _conninfo(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password (which goes in PGPASSWORD, never on a
    command line that `ps` shows)."""

    def quoted(value: object) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    parts = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    parts.update({k: v for k, v in url.query.items() if isinstance(v, str)})
    conninfo = " ".join(f"{k}={quoted(v)}" for k, v in parts.items() if v not in (None, ""))
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _pg_dump(url: URL, destination: Path) -> None:
    pg_dump = _pg_tool("pg_dump", PG_DUMP_HELP)
    conninfo, env = _conninfo(url)
    _run([pg_dump, "-Fc", "--no-owner", "--no-privileges", "--file", str(destination), "--dbname", conninfo], env, "pg_dump")


def _pg_restore(url: URL, dump: Path) -> None:
    pg_restore = _pg_tool("pg_restore", PG_RESTORE_HELP)
    conninfo, env = _conninfo(url)
    args = [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    _run([*args, "--dbname", conninfo, str(dump)], env, "pg_restore")


# ---- restore -------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict:
    """The backup's manifest, after checking every file against its checksum."""
    path = Path(source) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} is not a Consult backup: no {MANIFEST}.") from None
    except ValueError as error:
        raise BackupError(f"{path} is not valid JSON: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: backup format {manifest.get('format')!r}, this Consult reads format {FORMAT}.")
    for name, entry in manifest["files"].items():
        file = Path(source) / name
        if not file.is_file() or _sha256(file) != entry["sha256"]:
            raise BackupError(f"{file} is missing or does not match its checksum in the manifest: the backup is damaged.")
    return manifest


def database_has_rows() -> bool:
    """Any row in any table but Alembic's: a database freshly made by `consult db upgrade` is empty."""
    token = sqlite_write_intent.set(False)
    try:
        with db.engine.connect() as connection:
            names = [n for n in inspect(connection).get_table_names() if n != "alembic_version"]
            preparer = connection.dialect.identifier_preparer
            for name in names:
                if connection.execute(text(f"SELECT 1 FROM {preparer.quote(name)} LIMIT 1")).first() is not None:
                    return True
        return False
    finally:
        sqlite_write_intent.reset(token)
        db.engine.dispose()


def restore(app: Flask, source: Path, *, force: bool = False) -> RestoreReport:
    """Restore the backup in ``source`` over this site's database and instance folder. Run it in
    an app context, with the web server and the worker stopped."""
    source = Path(source)
    manifest = read_manifest(source)
    url = db.engine.url
    kind = "sqlite" if url.get_backend_name() == "sqlite" else url.get_backend_name()
    if manifest["database"] != kind:
        raise BackupError(f"This backup is of a {manifest['database']} database; the site's database is {kind}.")
    revision = manifest.get("alembic_revision")
    script = _migrations()
    if revision is not None:
        try:
            script.get_revision(revision)
        except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
            raise BackupError(
                f"The backup's migration {revision!r} is unknown to this Consult (a newer version made it): restore with that version."
            ) from None
    if database_has_rows() and not force:
        raise BackupError("The database is not empty: restoring would replace everything in it. Add --force to do so.")

    db.session.remove()
    db.engine.dispose()  # no pooled connection may keep the old file or old rows
    if kind == "sqlite":
        _put_sqlite_file(source / manifest["database_file"], _sqlite_path(url))
    else:
        _pg_restore(url, source / manifest["database_file"])
    db.engine.dispose()

    notes = _restore_instance_files(app, source)
    report = RestoreReport(database=kind, revision_before=revision, revision_after=revision, documents_indexed=None, notes=notes)
    if revision is not None:
        from flask_migrate import upgrade

        upgrade()
        report.revision_after = _current_revision()
    else:
        report.notes.append("The backup names no migration (made without `consult db upgrade`): not migrated.")
    _drop_derived(app)
    report.documents_indexed = _rebuild_search(app)
    return report


def _migrations():
    from alembic.script import ScriptDirectory

    from consult.extensions import migrate

    config = migrate.get_config()
    return ScriptDirectory.from_config(config)


def _put_sqlite_file(backup_file: Path, target: Path) -> None:
    """Copy beside the target, flush it to disk, remove the old file's WAL and shared memory
    (SQLite would apply an old ``-wal`` to the new file: corruption), then rename over."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.restore-", dir=target.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        shutil.copyfile(backup_file, temporary)
        connection = sqlite3.connect(temporary)
        try:
            check = connection.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"The backup's database fails SQLite's integrity check: {check}")
        finally:
            connection.close()
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, target)
        _fsync_dir(target.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _restore_instance_files(app: Flask, source: Path) -> list[str]:
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    notes = []
    for name in INSTANCE_FILES:
        saved = source / INSTANCE / name
        if not saved.is_file():
            continue
        current = instance / name
        key_from_file = current.is_file() and app.config.get("SECRET_KEY") == current.read_text().strip()
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.restore-", dir=instance)  # 0600 from the first byte
        with os.fdopen(fd, "wb") as handle:
            handle.write(saved.read_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, instance / name)
        if name == "secret_key" and not key_from_file and app.config.get("SECRET_KEY") != saved.read_text().strip():
            notes.append("CONSULT_SECRET_KEY is set and differs from the restored instance/secret_key: the setting wins.")
    for name in INSTANCE_FOLDERS:
        saved = source / INSTANCE / name
        if not saved.is_dir():
            continue
        incoming = instance / f".{name}.restore"
        shutil.rmtree(incoming, ignore_errors=True)
        shutil.copytree(saved, incoming)
        if (instance / name).exists():
            old = instance / f".{name}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(instance / name, old)
            os.replace(incoming, instance / name)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(incoming, instance / name)
    return notes


def _drop_derived(app: Flask) -> None:
    """Caches built from the old database: record bundles, theme suggestions, queued jobs."""
    from consult.core.jobs import queue
    from consult.moderation.suggestions import suggestions_dir
    from consult.record.bundles import bundle_dir

    for folder in (bundle_dir(app), suggestions_dir(app)):
        shutil.rmtree(folder, ignore_errors=True)
    queue(app).huey.flush()  # jobs (and their once-keys) about rows that may not exist any more


def _rebuild_search(app: Flask) -> int:
    """The search index from the restored rows, now (what `consult reindex` does)."""
    from consult.search.documents import count_documents
    from consult.search.indexing import rebuild_now

    token = sqlite_write_intent.set(False)  # a reader of the database
    try:
        try:
            rebuild_now(app)  # also clears the restored database's search outbox: the rebuild covers it
        except Exception as error:
            raise BackupError("The database is restored but the search index could not be rebuilt: run `consult reindex`.") from error
        backend = app.extensions["consult_search"].backend
        if not backend.is_current():
            raise BackupError("The database is restored but the search index could not be rebuilt: run `consult reindex`.")
        return count_documents(db.session)
    finally:
        db.session.remove()
        sqlite_write_intent.reset(token)
