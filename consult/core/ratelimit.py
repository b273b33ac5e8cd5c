"""Posting and voting limits counted in a SQLite file every process of one machine shares.

Flask-Limiter's ``memory://`` counts per process: with gunicorn's 2 workers a person got 20 of
25 comments through a limit of 10. This storage keeps the counters in ``instance/ratelimits.db``
(no server to run), so the limits hold across the workers of one server; ``redis://`` stays the
store for several servers. Registered with the ``limits`` library under the ``sqlite://`` scheme
(``sqlite:////absolute/path/ratelimits.db``) by importing this module.

Every change is one statement or one ``BEGIN IMMEDIATE`` transaction, so two workers counting at
once each see the other's hit: a fixed window's counter is one UPSERT that starts a new window
when the old one has expired and returns the count after the hit; a moving window takes its
entries only while the write lock is held, after counting those still in the window.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from urllib.parse import unquote, urlparse

from limits.storage import MovingWindowSupport, Storage

#: Seconds a worker waits for another's write before the hit fails (and the limiter falls back).
BUSY_TIMEOUT = 5.0
#: Expired counters and entries are deleted at most this often, by whichever process counts.
CLEANUP_EVERY = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS counters_expiry ON counters (expires_at);
CREATE TABLE IF NOT EXISTS entries (key TEXT NOT NULL, at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS entries_key ON entries (key, at);
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_at);
"""

# One statement: a new key, a key whose window has expired (a new window starts with this hit),
# or a hit in the current window. RETURNING gives the count this hit made, never another's.
INCREMENT = """
INSERT INTO counters (key, count, expires_at) VALUES (:key, :amount, :expires_at)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN counters.expires_at <= :now THEN excluded.count ELSE counters.count + excluded.count END,
    expires_at = CASE WHEN counters.expires_at <= :now THEN excluded.expires_at ELSE counters.expires_at END
RETURNING count
"""


def sqlite_uri(path: os.PathLike | str) -> str:
    """The storage URI of a counters file (absolute path)."""
    return f"sqlite:///{os.path.abspath(path)}"


class SQLiteStorage(Storage, MovingWindowSupport):
    """Rate-limit counters in one SQLite file (WAL, a busy timeout), shared by every process
    that opens it. Connections are per thread and per process (never carried across a fork)."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        parsed = urlparse(uri or "")
        self.path = unquote(parsed.path)
        if not self.path or self.path == "/":
            raise ValueError(f"{uri!r}: give the counters file, e.g. sqlite:////srv/consult/instance/ratelimits.db")
        self.timeout = float(options.get("timeout", BUSY_TIMEOUT))
        self._local = threading.local()
        self._last_cleanup = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    # ---- connection ------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            return connection
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        # isolation_level=None: autocommit, each statement its own transaction unless BEGIN says otherwise.
        connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        connection.execute("PRAGMA synchronous = NORMAL")  # counters need no fsync per hit
        # Turning a new file to WAL needs it alone and SQLite answers "database is locked" at once
        # (no busy wait) to a second process doing the same: the processes of a server starting
        # together take turns on a lock file for it and the schema.
        with open(f"{self.path}.init-lock", "a") as init_lock:
            fcntl.flock(init_lock, fcntl.LOCK_EX)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.executescript(SCHEMA)
        self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def _cleanup(self, connection: sqlite3.Connection, now: float) -> None:
        if now - self._last_cleanup < CLEANUP_EVERY:
            return
        self._last_cleanup = now
        connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        connection.execute("DELETE FROM entries WHERE expires_at <= ?", (now,))

    # ---- fixed window ----------------------------------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        connection = self._connection()
        now = time.time()
        self._cleanup(connection, now)
        row = connection.execute(INCREMENT, {"key": key, "amount": amount, "expires_at": now + expiry, "now": now}).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._connection().execute("SELECT count FROM counters WHERE key = ? AND expires_at > ?", (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._connection().execute("SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?", (key, time.time())).fetchone()
        return float(row[0]) if row else time.time()

    # ---- moving window ---------------------------------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        connection = self._connection()
        now = time.time()
        connection.execute("BEGIN IMMEDIATE")  # the count and the insert under one write lock
        try:
            (taken,) = connection.execute("SELECT count(*) FROM entries WHERE key = ? AND at > ?", (key, now - expiry)).fetchone()
            if taken + amount > limit:
                connection.execute("ROLLBACK")
                return False
            connection.executemany("INSERT INTO entries (key, at, expires_at) VALUES (?, ?, ?)", [(key, now, now + expiry)] * amount)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        self._cleanup(connection, now)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        oldest, taken = (
            self._connection().execute("SELECT min(at), count(*) FROM entries WHERE key = ? AND at > ?", (key, now - expiry)).fetchone()
        )
        return (float(oldest), int(taken)) if taken else (now, 0)

    # ---- maintenance -----------------------------------------------------------------------

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1 FROM counters LIMIT 1").fetchall()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            removed = connection.execute("DELETE FROM counters").rowcount + connection.execute("DELETE FROM entries").rowcount
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return removed

    def clear(self, key: str) -> None:
        connection = self._connection()
        connection.execute("DELETE FROM counters WHERE key = ?", (key,))
        connection.execute("DELETE FROM entries WHERE key = ?", (key,))
