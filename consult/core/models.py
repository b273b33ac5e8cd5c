"""The model base: one metadata with a naming convention, so migrations name constraints stably."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every database (SQLite stores no zone, so we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use consult.core.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def upsert_insert(entity):
    """An INSERT of the session's database dialect, which offers ``on_conflict_do_nothing`` and
    ``on_conflict_do_update`` (PostgreSQL and SQLite): a write that races its twin (one person's
    double click) meets the unique constraint inside the statement instead of failing."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(entity)


# SQLite: writing requests start their transaction with BEGIN IMMEDIATE, so a transaction that
# reads and then writes holds the write lock from its first statement and cannot fail half-way
# with "database is locked" on upgrade. Reading requests use a plain (deferred) BEGIN and, with
# WAL, never wait for writers.
sqlite_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_write_intent", default=True)


@contextlib.contextmanager
def reading_first() -> Iterator[None]:
    """In a writing request, a transaction begun inside this block is a reading one (SQLite: a
    deferred BEGIN, no write lock): for slow work before the writes, such as checking a password.
    End that transaction inside the block (commit), so the writes begin one with the lock."""
    token = sqlite_write_intent.set(False)
    try:
        yield
    finally:
        sqlite_write_intent.reset(token)


@contextlib.contextmanager
def write_apart() -> Iterator[None]:
    """The writes of a request that reads first (its view marked ``routing.writes_last``), in a
    transaction committed when the block ends (rolled back if it raises). On SQLite the reading
    transaction is ended first, keeping the objects it loaded as they were read (whatever the
    writes depend on must be re-read under a lock inside the block), and the block's own begins
    IMMEDIATE: the write lock is held for the block's statements only, not for the request's
    reads (the signed-in user, the page's objects, the checks). PostgreSQL's reads take no lock:
    the block continues the request's transaction, whose locks are those the block takes."""
    session = db.session()
    if session.in_transaction() and session.get_bind().dialect.name == "sqlite":  # elsewhere reading takes no lock
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()  # nothing written yet: ends the reading transaction
        finally:
            session.expire_on_commit = expire
    token = sqlite_write_intent.set(True)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        sqlite_write_intent.reset(token)


def configure_sqlite(engine: Engine, *, busy_timeout: float) -> None:
    """Foreign keys on, WAL, a busy timeout, and transactions that SQLAlchemy controls."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy emit BEGIN itself: pysqlite's own transaction handling does not join
        # SAVEPOINTs to the outer transaction (see SQLAlchemy's SQLite dialect documentation).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_write_intent.get() else "BEGIN")
