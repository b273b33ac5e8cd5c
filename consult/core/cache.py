"""A cache for what pages compute again and again from data that rarely changes, shared between
workers when a setting says where.

``CACHE_URL`` chooses the store: None or ``memory://`` an LRU in each process (the default),
``file:///path`` (or a bare path) a directory that every process of one machine shares, and
``redis://host:6379/N`` a Redis that several servers share.

Keys are fingerprints of everything the cached value depends on, so nothing is ever deleted to
invalidate it: a change makes a new key, and the old entry ages out. The changes the database
holds are counted by **change stamps** (the ``cache_stamps`` table): every transaction that
writes rows draws again, in the same transaction, the stamp of each consultation whose rows it wrote
(rows with a ``consultation_id``, and the consultation itself) and the ``site`` stamp for any
other row that a public page may show (people's names, the site's settings, anchors, citations...).
A page's key holds the stamps it depends on (``stamps``): read in one query, committed with the
change itself, so every process and server sees a change as soon as it is committed, whatever
the store. Rows no cached page ever shows (sign-in records, mail, notifications, the search
outbox...) are left out (``UNSHOWN_TABLES``), so signing in or reading notifications does not
empty the cache.

Only fragments the same for every viewer they are served to are cached: never a page carrying a
CSRF token or one person's data (the callers key by the viewer's role class and language).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from flask import current_app
from sqlalchemy import BigInteger, Connection, String, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from consult.core.models import db

#: How long an entry lives at most (seconds): a safety net for changes made outside the
#: application (a restored backup, SQL typed by hand); every change through it makes a new key.
DEFAULT_TTL = 3600
MEMORY_ENTRIES = 2000
DIRECTORY_ENTRIES = 20_000
SITE = "site"

#: Tables whose rows no cached fragment shows: writing them bumps no stamp.
UNSHOWN_TABLES = frozenset(
    {
        "cache_stamps",
        "login_sessions",
        "signin_attempts",
        "outgoing_mail",
        "search_outbox",
        "notifications",
        "notification_settings",
        "notification_preferences",
        "api_idempotency_keys",
        "api_tokens",
        "data_exports",
        "recovery_codes",
        "two_factor",
        "two_factor_failures",
        "identity_links",
        "webhook_deliveries",
        "drafts",
        "policy_agreements",
        # Derived rows, written in the transaction of the change they count (comments, blocks,
        # erasure), whose own rows draw the right stamps; stamping these too would draw the
        # site's (their bulk statements name no one consultation) on every comment posted.
        "thread_counts",
        # The stored opinion map: no cached fragment shows it (its page is drawn for each request),
        # and it records the stamps it is current at (``voting.statements.cached_map``): drawing
        # new ones as it is stored would leave it never current.
        "opinion_maps",
    }
)


class CacheStamp(db.Model):
    """A random number drawn again by every transaction that changes what pages show of one
    scope (``site`` or ``consultation:ID``), in that transaction. Random rather than counted: a
    transaction rolled back, or a database restored, never brings back a number that keyed other
    contents (and writing it reads nothing)."""

    __tablename__ = "cache_stamps"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger, default=0)


def consultation_scope(consultation_id: int) -> str:
    return f"consultation:{consultation_id}"


# --- the stores ---------------------------------------------------------------------------


class Store(Protocol):
    def get(self, key: str) -> Any | None: ...
    def set(self, key: str, value: Any, ttl: int) -> None: ...


class MemoryStore:
    """A bounded LRU in this process (each gunicorn worker has its own)."""

    def __init__(self, entries: int = MEMORY_ENTRIES) -> None:
        self.entries = entries
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return found[1]

    def set(self, key: str, value: Any, ttl: int) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.entries:
                self._data.popitem(last=False)


class DirectoryStore:
    """One file per entry in a directory that the processes of one machine share; written to a
    temporary file and renamed, so a reader never sees half an entry.

    Bounded: every ``sweep_every`` writes of a process, ``sweep`` deletes the expired entries
    (and temporary files a killed worker left) and, past ``entries``, those that expire first,
    so the folder cannot grow without end (a change makes new keys; the old ones are never read
    again)."""

    def __init__(self, path: Path, entries: int = DIRECTORY_ENTRIES, sweep_every: int = 256) -> None:
        self.path = path
        self.entries = entries
        self.sweep_every = sweep_every
        self._writes = 0
        path.mkdir(parents=True, exist_ok=True)

    def _file(self, key: str) -> Path:
        return self.path / hashlib.sha256(key.encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        file = self._file(key)
        try:
            with file.open("rb") as f:
                expires, value = pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError):
            return None
        if expires < time.time():
            file.unlink(missing_ok=True)
            return None
        return value

    def set(self, key: str, value: Any, ttl: int) -> None:
        fd, temporary = tempfile.mkstemp(dir=self.path, prefix=".tmp-")
        try:
            expires = time.time() + ttl
            with os.fdopen(fd, "wb") as f:
                pickle.dump((expires, value), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.utime(temporary, (expires, expires))  # the sweep reads the expiry without opening the file
            os.replace(temporary, self._file(key))
        except OSError:
            Path(temporary).unlink(missing_ok=True)
        self._writes += 1
        if self._writes % self.sweep_every == 0:
            self.sweep()

    def sweep(self) -> None:
        """Delete what has expired, temporary files older than an hour, and past ``entries`` the
        entries that expire first (the oldest), down to nine tenths of it (so the next sweeps have
        room). An entry's modification time is its expiry (``set``)."""
        now = time.time()
        kept: list[tuple[float, str]] = []
        for entry in os.scandir(self.path):
            try:
                if entry.name.startswith(".tmp-"):
                    if entry.stat().st_mtime < now - 3600:
                        os.unlink(entry.path)
                    continue
                expires = entry.stat().st_mtime
                if expires < now:
                    os.unlink(entry.path)
                else:
                    kept.append((expires, entry.path))
            except OSError:
                continue  # another worker's sweep got there first
        if len(kept) > self.entries:
            kept.sort()
            for _expires, file in kept[: len(kept) - self.entries * 9 // 10]:
                Path(file).unlink(missing_ok=True)


class RedisStore:
    """Redis, shared by every server; entries expire by Redis's own TTL. A Redis that does not
    answer makes a miss (the page is computed), never an error."""

    def __init__(self, url: str, prefix: str = "consult:cache:") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix = prefix
        self.errors = redis.exceptions.RedisError

    def get(self, key: str) -> Any | None:
        try:
            raw = self.client.get(self.prefix + key)
        except self.errors:
            return None
        return None if raw is None else pickle.loads(raw)

    def set(self, key: str, value: Any, ttl: int) -> None:
        try:
            self.client.set(self.prefix + key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), ex=ttl)
        except self.errors:
            pass


def store_for(url: str | None, instance_path: str) -> Store:
    """The store ``CACHE_URL`` names (see the module's docstring)."""
    if not url or url.startswith("memory:"):
        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url)
    path = urlparse(url).path if url.startswith("file:") else url
    return DirectoryStore(Path(path if os.path.isabs(path) else os.path.join(instance_path, path)))


def store() -> Store:
    return current_app.extensions["consult_cache"]


# --- keys and values ----------------------------------------------------------------------


def stamps(*scopes: str) -> tuple[int, ...]:
    """The change stamps of ``scopes``, in one query (0 for a scope never changed)."""
    rows = db.session.execute(select(CacheStamp.scope, CacheStamp.stamp).where(CacheStamp.scope.in_(scopes))).all()
    found = {scope: stamp for scope, stamp in rows}
    return tuple(found.get(scope, 0) for scope in scopes)


_PAGE_STAMPS = "consult_page_stamps"  # in the session's info: {scope: stamp} read in its transaction
_EXPECTED = "consult_expected_scopes"  # in the session's info: scopes its transaction is likely to ask for


def expect_scopes(*scopes: str) -> None:
    """Say that the current transaction (a page's) is likely to ask for the stamps of ``scopes``
    (a page about a consultation, once it is loaded): the first ``page_stamps`` reads them with its own."""
    db.session.info.setdefault(_EXPECTED, set()).update(scopes)


def page_stamps(*scopes: str) -> tuple[int, ...]:
    """``stamps`` for what a page shows, read at most once per transaction and scope: the first
    call reads the site's, the scopes asked for and those expected (``expect_scopes``) in one
    query; later calls read only scopes not read yet. Forgotten when the transaction ends (a
    commit draws new stamps for its writes; a request ends its transaction when it ends)."""
    info = db.session.info
    known = info.setdefault(_PAGE_STAMPS, {})
    missing = [scope for scope in scopes if scope not in known]
    if missing:
        wanted = sorted({*missing, *info.get(_EXPECTED, ()), SITE} - known.keys())
        known.update(zip(wanted, stamps(*wanted), strict=True))
    return tuple(known[scope] for scope in scopes)


def _forget_page_stamps(session: Session, *_args) -> None:
    session.info.pop(_PAGE_STAMPS, None)
    session.info.pop(_EXPECTED, None)


def fingerprint(*parts: Any) -> str:
    """A short key for ``parts`` (their ``repr``: pass plain values, not ORM objects)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:40]


def cached(name: str, parts: Iterable[Any], build: Callable[[], Any], *, ttl: int | None = None) -> Any:
    """The value stored under ``name`` and the fingerprint of ``parts``, else ``build()``'s,
    stored. ``parts`` must name everything the value depends on."""
    if writes_pending():
        return build()  # this transaction's own writes, not committed: never stored for others
    key = f"{name}:{current_app.extensions['consult_cache_code']}:{fingerprint(*parts)}"
    cache = store()
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, ttl or current_app.config.get("CACHE_TTL") or DEFAULT_TTL)
    return value


def public_fragment(name: str, consultation_id: int, address: str, parts: Iterable[Any], build: Callable[[], Any]) -> Any:
    """A fragment of a page about one consultation as everyone not signed in sees it, keyed by
    ``parts`` (what the caller's page shows it from), the page's ``address`` (its absolute URL
    without the query: the links in it are absolute), the interface's language, and the change
    stamps of the consultation and the site."""
    from consult.core import i18n

    page = (address, i18n.current_language(), page_stamps(SITE, consultation_scope(consultation_id)))
    return cached(name, (consultation_id, *parts, *page), build)


# --- the stamps, bumped by the writing transaction ---------------------------------------

_SCOPES = "consult_cache_scopes"
_SHARED = "consult_cache_shared"  # where a session's notes are also kept for other sessions


def _shared_notes(session: Session) -> dict | None:
    """Sessions bound to one ``Connection`` (a test's session and its client's requests) see each
    other's writes before they commit: their notes are kept on it too, by session. Sessions
    bound to an engine each have their own connection and transaction: nothing is shared."""
    bind = session.bind
    return bind.info.setdefault(_SCOPES, {}) if isinstance(bind, Connection) else None


def writes_pending() -> bool:
    """Whether the current transaction holds writes whose stamps are not drawn yet (they are
    drawn as it commits): the stamps read now do not tell them."""
    session = db.session()
    if session.info.get(_SCOPES) or session.new or session.dirty or session.deleted:
        return True
    shared = _shared_notes(session)
    return bool(shared) and any(shared.values())


def _noted(session: Session) -> set[str]:
    """The session's set of scopes to draw (kept for the sessions sharing its connection too)."""
    scopes = session.info.get(_SCOPES)
    if scopes is None:
        scopes = session.info[_SCOPES] = set()
        if (shared := _shared_notes(session)) is not None:
            shared[id(session)] = scopes
            session.info[_SHARED] = shared
    return scopes


def _scope_of(obj: Any) -> str | None:
    table = getattr(obj, "__tablename__", None)
    if table is None or table in UNSHOWN_TABLES:
        return None
    if table == "consultations":
        return consultation_scope(obj.id) if obj.id is not None else SITE
    consultation_id = getattr(obj, "consultation_id", None)
    return consultation_scope(consultation_id) if isinstance(consultation_id, int) else SITE


def _note_flush(session: Session, _context) -> None:
    scopes = _noted(session)
    for obj in (*session.new, *session.deleted):
        if (scope := _scope_of(obj)) is not None:
            scopes.add(scope)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False) and (scope := _scope_of(obj)) is not None:
            scopes.add(scope)


#: The execution option by which a bulk write names the scope it changes (``consultation_scope``
#: or ``SITE``) when its parameters do not say it (an INSERT ... SELECT, a DELETE by key): else
#: the statement is compiled to look for a ``consultation_id``, which costs a write on a hot path
#: (a vote) more than the write itself, and a statement that hides it counts for the whole site.
SCOPE_OPTION = "consult_cache_scope"


def _note_statement(state) -> None:
    """An INSERT, UPDATE or DELETE statement run through the session (bulk writes, upserts)."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if (declared := state.execution_options.get(SCOPE_OPTION)) is not None:
        _noted(state.session).add(declared)
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or name in UNSHOWN_TABLES:
        return
    scopes = _noted(state.session)
    if isinstance(state.parameters, list | tuple) and state.parameters:  # many rows: each one's consultation
        ids = {row.get("consultation_id") if isinstance(row, dict) else None for row in state.parameters}
    else:
        params = state.parameters if isinstance(state.parameters, dict) else {}
        consultation_id = params.get("consultation_id")
        if consultation_id is None:
            try:
                consultation_id = state.statement.compile().params.get("consultation_id")
            except Exception:  # noqa: BLE001 - any statement the compiler cannot show alone: the site's stamp
                consultation_id = None
        ids = {consultation_id}
    if name == "consultations" or not all(isinstance(i, int) for i in ids):
        scopes.add(SITE)
    else:
        scopes.update(consultation_scope(i) for i in ids)


def _bump_stamps(session: Session) -> None:
    """Before the commit: the pending rows flushed, each scope they touch counted once more, in
    the same transaction."""
    if session._is_clean() is False:  # noqa: SLF001 - flush now, so this flush's scopes are counted
        session.flush()
    scopes = session.info.get(_SCOPES)
    _forget(session)
    if not scopes:
        return
    draw = _draw_stamp(session.get_bind().dialect.name)
    for scope in sorted(scopes):  # one order, so two transactions cannot deadlock on them
        session.execute(draw, {"scope": scope, "stamp": secrets.randbits(62)})
    _forget(session)  # the upserts' own notes


@functools.cache
def _draw_stamp(dialect: str):
    """The upsert of one scope's stamp, built once per database (every writing transaction runs
    it); on the table, so that its values bound at execution make one statement, not a bulk insert."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CacheStamp.__table__)
    return insert.on_conflict_do_update(index_elements=["scope"], set_={"stamp": insert.excluded.stamp})


def _forget(session: Session, *_args) -> None:
    session.info.pop(_SCOPES, None)
    shared = session.info.pop(_SHARED, None)
    if shared is not None:
        shared.pop(id(session), None)


def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None:  # also a session closed without a commit or a rollback
        _forget(session)
        _forget_page_stamps(session)


# On every Session of the process: each transaction that writes counts its scopes and bumps them.
event.listen(Session, "after_flush", _note_flush)
event.listen(Session, "do_orm_execute", _note_statement)
event.listen(Session, "before_commit", _bump_stamps)
event.listen(Session, "after_rollback", _forget)
# and after the commit: a note made after the stamps were drawn (another before_commit listener's
# writes) must not outlive its transaction and keep the next one's reads from the cache
event.listen(Session, "after_commit", _forget)
event.listen(Session, "after_transaction_end", _transaction_ended)
# A page's stamps are read again once its transaction ends: a commit drew new ones for its writes.
for _event in ("after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(Session, _event, _forget_page_stamps)


def code_fingerprint(root: Path) -> str:
    """What the code that renders cached values looks like: a digest of the names and contents of
    the package's files (templates, translations, Python). A shared store (a directory, Redis)
    outlives a deploy: with this in every key, new templates or translations are never served the
    old code's fragments, and the old entries age out. Contents, not modification times: the
    servers of one release, installed at different times, must share their keys."""
    seen = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".html", ".mo", ".txt", ".json"} and "__pycache__" not in path.parts:
            seen.update(f"{path.relative_to(root)}\n".encode())
            seen.update(hashlib.sha256(path.read_bytes()).digest())
    return seen.hexdigest()[:12]


@functools.cache
def _package_fingerprint() -> str:
    """The package's own fingerprint, computed once per process (the code a process runs does
    not change under it; a reloader starts a new process). Every app a process makes (the test
    suite makes thousands) shares it."""
    return code_fingerprint(Path(__file__).resolve().parent.parent)


def init_app(app) -> None:
    app.extensions["consult_cache"] = store_for(app.config.get("CACHE_URL"), app.instance_path)
    app.extensions["consult_cache_code"] = _package_fingerprint()
