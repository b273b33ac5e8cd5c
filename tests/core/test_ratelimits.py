"""Posting and voting limits hold across the worker processes of one server by default (a SQLite
file in the instance folder, consult/core/ratelimit.py) and across servers with Redis; the limits
store failing never fails a request; RATE_LIMITS=False exempts.

Two real processes (multiprocessing, spawned), each with its own app on the same instance folder
and database, post as one person at once: exactly the limit gets through between them. With the
former default, memory://, each process counted alone and limit + 5 got through."""

from __future__ import annotations

import logging
import multiprocessing
import queue
import sqlite3
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consult import create_app
from consult.accounts.models import User
from consult.contributions.models import Contribution
from consult.core.models import db
from consult.core.ratelimit import SQLiteStorage, sqlite_uri
from consult.extensions import limiter
from consult.voting import statements
from consult.voting.models import Vote
from tests.conftest import build_schema, redis_or_skip
from tests.factories import login, make_consultation, make_user

TEXT = "## Fees\n\nNo fee may be charged for the first hour of work.\n"
LIMIT = 6  # per hour: a slow machine never sees the window end during a test
SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter per worker, as gunicorn's are
WAIT = 300  # seconds before a hung worker fails the test instead of hanging it (not a timing assertion)


def _config(tmp_path: Path, **extra) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'consult.db'}",
        "SECRET_KEY": "limits",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "consult.test",
        "POSTING_RATE_LIMIT": f"{LIMIT} per hour",
        "VOTING_RATE_LIMIT": f"{LIMIT} per hour",
        **extra,
    }


def _worker(config: dict, user_id: int, requests: list[tuple[str, dict]], barrier, results) -> None:
    """One worker process: its own app, signed in as the person; waits for the other, then posts."""
    try:
        app = create_app(config)
        client = app.test_client()
        with app.app_context():
            login(client, db.session.get(User, user_id))
            db.session.remove()
        barrier.wait(timeout=WAIT)
        results.put([client.post(url, data=data).status_code for url, data in requests])
    except BaseException as error:
        results.put(repr(error))
        raise


def _through_two_workers(config: dict, user_id: int, requests: list[tuple[str, dict]]) -> list[int]:
    """The requests shared out between two worker processes run at once; their status codes."""
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    halves = [requests[0::2], requests[1::2]]
    workers = [SPAWN.Process(target=_worker, args=(config, user_id, half, barrier, results)) for half in halves]
    for worker in workers:
        worker.start()
    codes = [results.get(timeout=WAIT) for _ in workers]
    for worker in workers:
        worker.join(timeout=WAIT)
    assert all(isinstance(c, list) for c in codes), codes
    return [code for worker_codes in codes for code in worker_codes]


@contextmanager
def _own_database(config: dict):
    """An app on the test's own database file, with a session of its own: the suite's fixture
    puts every test in a rolled-back transaction of the suite's app, which the workers would not see."""
    app = create_app(config)
    suite_session, db.session = db.session, db._make_scoped_session({})
    try:
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        db.session = suite_session


def _seed(config: dict, *, statements_count: int = 0) -> tuple[int, list[int]]:
    build_schema(create_app(config))
    with _own_database(config):
        consultation = make_consultation(state="open", slug="fast", text=TEXT)
        writer = make_user(name="Speedy")
        other = make_user(name="Other")
        ids = [statements.post_statement(consultation, actor=other, body=f"Statement {n}.").id for n in range(statements_count)]
        db.session.commit()
        return writer.id, ids


def _count(config: dict, model, *where) -> int:
    with _own_database(config):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _comments(n: int) -> list[tuple[str, dict]]:
    return [("/c/fast/comments", {"section_key": "fees", "body": f"Comment number {i}"}) for i in range(n)]


@pytest.fixture
def restore_limiter():
    """The one Limiter serves every app of this process and keeps some settings from the first
    app that gives them (the key prefix) or from a failure (the fallback): undone for the next test."""
    yield
    limiter._storage_dead, limiter._key_prefix = False, ""


# ---- across the workers of one server, by default ---------------------------------------------


def test_the_default_storage_is_a_file_in_the_instance_folder(tmp_path):
    app = create_app(_config(tmp_path))
    assert app.config["RATELIMIT_STORAGE_URI"] == sqlite_uri(tmp_path / "instance" / "ratelimits.db")
    assert isinstance(limiter.storage, SQLiteStorage)


def test_posting_limits_hold_across_two_worker_processes(tmp_path):
    config = _config(tmp_path)
    user_id, _ = _seed(config)
    codes = _through_two_workers(config, user_id, _comments(LIMIT + 5))
    assert sorted(codes) == [302] * LIMIT + [429] * 5, codes
    assert _count(config, Contribution) == LIMIT


def test_voting_limits_hold_across_two_worker_processes(tmp_path):
    config = _config(tmp_path)
    user_id, ids = _seed(config, statements_count=LIMIT + 5)
    votes = [("/c/fast/vote", {"contribution_id": str(i), "value": "agree"}) for i in ids]
    codes = _through_two_workers(config, user_id, votes)
    assert sorted(codes) == [302] * LIMIT + [429] * 5, codes
    assert _count(config, Vote) == LIMIT


def test_limits_hold_across_two_processes_sharing_redis(tmp_path, restore_limiter):
    """Several servers share Redis: two processes on it count as one."""
    server = redis_or_skip(7)
    prefix = f"consult-test-{uuid.uuid4().hex}"
    config = _config(tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/7", RATELIMIT_KEY_PREFIX=prefix)
    try:
        user_id, _ = _seed(config)
        codes = _through_two_workers(config, user_id, _comments(LIMIT + 5))
        assert sorted(codes) == [302] * LIMIT + [429] * 5, codes
        assert _count(config, Contribution) == LIMIT
        assert any(f"user:{user_id}" in key.decode() for key in server.scan_iter(f"*{prefix}*"))
    finally:
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)


# ---- the storage itself, raced by two processes ------------------------------------------------


def _hammer(uri: str, kind: str, n: int, barrier, results) -> None:
    storage = SQLiteStorage(uri)
    barrier.wait(timeout=WAIT)
    if kind == "fixed":
        results.put([storage.incr("k", 3600) for _ in range(n)])
    else:
        results.put([storage.acquire_entry("k", 25, 3600) for _ in range(n)])


def _race(uri: str, kind: str, n: int) -> list:
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    workers = [SPAWN.Process(target=_hammer, args=(uri, kind, n, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    out = _results_of(workers, results)
    for worker in workers:
        worker.join(timeout=WAIT)
    return out[0] + out[1]


def _results_of(workers, results) -> list:
    """Each worker's result; a worker that died fails the test at once (its traceback is in the
    captured output) instead of leaving it waiting WAIT seconds."""
    out = []
    while len(out) < len(workers):
        try:
            out.append(results.get(timeout=1))
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead:
                pytest.fail(f"a racing process died (exit code {dead[0]}): see its traceback above")
    return out


def _open_and_count(uris: list[str], barrier, results) -> None:
    counts = []
    for uri in uris:  # a new file each round, all processes released onto it at once
        storage = SQLiteStorage(uri)
        barrier.wait(timeout=WAIT)
        try:
            counts.append(storage.incr("k", 3600))
        except Exception as error:  # noqa: BLE001 - reported to the test
            counts.append(repr(error))
    results.put(counts)


def test_processes_opening_a_new_counters_file_at_once_all_count(tmp_path):
    """A server's workers start together and open the new counters file at once: turning it to
    WAL answered "database is locked" at once (no busy wait) to all but one of them (seen in 4 of
    240 openings by 8 processes before the lock file)."""
    uris = [sqlite_uri(tmp_path / f"ratelimits-{n}.db") for n in range(40)]
    barrier, results = SPAWN.Barrier(8), SPAWN.Queue()
    workers = [SPAWN.Process(target=_open_and_count, args=(uris, barrier, results)) for _ in range(8)]
    for worker in workers:
        worker.start()
    per_process = _results_of(workers, results)
    for worker in workers:
        worker.join(timeout=WAIT)
    for round_counts in zip(*per_process, strict=True):
        assert sorted(round_counts) == list(range(1, 9)), round_counts


def test_a_fixed_window_counts_every_hit_of_two_processes_once(tmp_path):
    uri = sqlite_uri(tmp_path / "ratelimits.db")
    counts = _race(uri, "fixed", 40)
    assert sorted(counts) == list(range(1, 81))  # each hit saw its own count: none lost, none shared
    storage = SQLiteStorage(uri)
    assert storage.get("k") == 80 and storage.get_expiry("k") > 0


def test_a_moving_window_grants_exactly_its_limit_to_two_processes(tmp_path):
    uri = sqlite_uri(tmp_path / "ratelimits.db")
    granted = _race(uri, "moving", 20)
    assert granted.count(True) == 25
    start, taken = SQLiteStorage(uri).get_moving_window("k", 25, 3600)
    assert taken == 25 and start > 0


def test_an_expired_window_starts_again_and_is_cleaned_up(tmp_path, monkeypatch):
    from consult.core import ratelimit

    clock = [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    storage = SQLiteStorage(sqlite_uri(tmp_path / "ratelimits.db"))
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.acquire_entry("m", 1, 60) and not storage.acquire_entry("m", 1, 60)
    clock[0] += 61
    assert storage.get("k") == 0 and storage.get_moving_window("m", 1, 60) == (clock[0], 0)
    assert storage.incr("k", 60) == 1 and storage.acquire_entry("m", 1, 60)
    with sqlite3.connect(storage.path) as connection:
        assert connection.execute("SELECT count(*) FROM counters").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM entries").fetchone() == (1,)
    storage.clear("k")
    assert storage.get("k") == 0 and storage.reset() == 1


# ---- failing open, and switched off --------------------------------------------------------------


def test_a_failing_limits_store_fails_no_request_and_still_limits_per_process(tmp_path, caplog, restore_limiter):
    broken = tmp_path / "a-folder-not-a-file"
    broken.mkdir()
    config = _config(tmp_path, RATELIMIT_STORAGE_URI=sqlite_uri(broken))  # SQLite cannot open a folder
    user_id, _ = _seed(config)
    with _own_database(config) as app, caplog.at_level(logging.WARNING):
        client = app.test_client()
        login(client, db.session.get(User, user_id))
        codes = [client.post(url, data=data).status_code for url, data in _comments(LIMIT + 2)]
    assert codes == [302] * LIMIT + [429] * 2  # counted in memory meanwhile: never a 500
    assert "falling back to in-memory storage" in caplog.text
    assert _count(config, Contribution) == LIMIT


def test_rate_limits_false_exempts_and_counts_nothing(tmp_path):
    config = _config(tmp_path, RATE_LIMITS=False, POSTING_RATE_LIMIT="1 per hour")
    user_id, _ = _seed(config)
    with _own_database(config) as app:
        client = app.test_client()
        login(client, db.session.get(User, user_id))
        codes = [client.post(url, data=data).status_code for url, data in _comments(3)]
    assert codes == [302, 302, 302]
    counters = SQLiteStorage(app.config["RATELIMIT_STORAGE_URI"])._connection()
    assert counters.execute("SELECT count(*) FROM counters").fetchone() == (0,)
