"""kill -9 the server and the job worker during writes, three times, then check what survived.

Usage (from the repository root, with the virtualenv's Python):

    .venv/bin/python bench/crash.py                                 # SQLite, 8 writers, 3 kills
    .venv/bin/python bench/crash.py --writers 16 --kills 3 --interval 8
    .venv/bin/python bench/crash.py --database postgresql://root@127.0.0.1:5432/c_bench2   # schema DROPPED

It builds a fresh site as bench/load.py does (`consult db upgrade`, `consult demo`, one
account per writer), starts `gunicorn --workers 4` and `consult worker`, signs the writers in,
and lets them write from Python threads (integrity, not speed, is measured here): comments
and annotations with a unique marker word, and votes on amendments and sections, each writer
one request at a time, logging what it sent and what it was told. Every --interval seconds
(randomised ±50 %) it sends SIGKILL to gunicorn's whole process group (arbiter and workers)
and to the worker, restarts both on the same port, and lets the writers go on. After the last
kill and one more interval it stops the writers and checks:

- the database: `PRAGMA integrity_check` (SQLite) or amcheck's `bt_index_check` on every
  B-tree index (PostgreSQL, when the extension can be created; otherwise a read of every table);
- every acknowledged comment and annotation stored exactly once (an annotation with its
  anchor), none stored twice; the last acknowledged vote per person and item stored, once;
- /api/v1/search, on the restarted server, finding every visible bench post by its marker
  (the missing ones asked again for up to --search-wait seconds).

It exits 1 if anything acknowledged is lost, duplicated or unsearchable, or the database is
damaged. A write whose connection was cut by a kill has no answer: it may or may not be stored,
but never twice. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root, so that `bench` imports
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import (  # noqa: E402
    PASSWORD,
    PREFIX,
    SENTENCES,
    SLUG,
    Checks,
    Write,
    check_posts,
    check_search,
    check_tallies,
    check_votes,
    db_rows,
    first_traceback,
    fresh_site,
    seed,
    start_server,
    start_worker,
)
from bench.pages import BIN, free_port, stop  # noqa: E402
from bench.votes import Client, sign_in_all  # noqa: E402

VOTES = ("support", "oppose", "abstain", "support", "oppose", "abstain", "withdraw")


def kill9(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process's whole group (gunicorn's arbiter and its workers), and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


class Writer(threading.Thread):
    """One signed-in person writing one request at a time until told to stop."""

    def __init__(self, number: int, client: Client, sections: list[str], quotes: list[dict[str, str]], amendments: list[int], rng):
        super().__init__(daemon=True)
        self.number, self.client, self.rng = number, client, rng
        self.sections, self.quotes, self.amendments = sections, quotes, amendments
        self.writes: list[Write] = []
        self.refused_connections = 0  # the server was down: nothing was sent
        self.stop_now = threading.Event()

    def next_write(self, seq: int) -> tuple[str, list[str], str, dict[str, str]]:
        kind = self.rng.choice(("comment", "comment", "annotation", "vote amendment", "vote section"))
        if kind in ("comment", "annotation"):
            marker = f"{PREFIX}{self.number}x{seq}"
            body = f"Crash {kind} {marker}: {self.rng.choice(SENTENCES)}"
            if kind == "comment":
                key = self.rng.choice(self.sections)
                return kind, [marker, key], f"/c/{SLUG}/comments", {"section_key": key, "body": body}
            q = self.rng.choice(self.quotes)
            form = {"section_key": q["section"], "quote": q["quote"], "body": body}
            return kind, [marker, q["section"]], f"/c/{SLUG}/comments", form
        value = self.rng.choice(VOTES)
        if kind == "vote amendment":
            item = self.rng.choice(self.amendments)
            return kind, [f"c{item}", value], f"/c/{SLUG}/vote", {"contribution_id": str(item), "value": value}
        key = self.rng.choice(self.sections)
        return kind, [f"s{key}", value], f"/c/{SLUG}/vote", {"section_key": key, "value": value}

    def run(self) -> None:
        seq = 0
        while not self.stop_now.is_set():
            seq += 1
            kind, what, path, form = self.next_write(seq)
            write = Write(self.number, seq, kind, what)
            self.writes.append(write)
            try:
                reply = self.client.post(path, form)
            except ConnectionRefusedError:
                self.writes.pop()  # nothing reached a server: not a write
                self.refused_connections += 1
                seq -= 1
                time.sleep(0.05)  # the server is down: try again soon
                continue
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)  # the server is down: no answer, try the next write soon
                continue
            write.status, write.location = reply.status, reply.location


def database_integrity(database_url: str) -> tuple[bool, str]:
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        return rows == ["ok"], f"PRAGMA integrity_check: {', '.join(rows[:5])}"
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        except psycopg.Error as error:
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            for table in tables:
                conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            return True, f"amcheck unavailable ({error.__class__.__name__}); read all {len(tables)} tables"
        indexes = [
            r[0]
            for r in conn.execute(
                "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE a.amname = 'btree' AND n.nspname = 'public'"
            )
        ]
        bad = []
        for index in indexes:
            try:
                conn.execute("SELECT bt_index_check(%s::regclass, true)", (index,))
            except psycopg.Error as error:
                bad.append(f"{index}: {error}")
        return not bad, f"amcheck bt_index_check(heapallindexed) on {len(indexes)} indexes: " + ("; ".join(bad) or "ok")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="postgresql://... URL; its public schema is DROPPED (default: a temporary SQLite file)")
    parser.add_argument("--writers", type=int, default=8, help="writer threads, each signed in as its own person")
    parser.add_argument("--kills", type=int, default=3, help="times to kill -9 the server and the worker")
    parser.add_argument("--interval", type=float, default=6.0, help="mean seconds of writes between kills")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--search-wait", type=float, default=120.0, help="seconds to wait for search to find every post")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database) and print its path")
    args = parser.parse_args()
    if args.database and not args.database.startswith(("postgresql://", "postgres://")):
        parser.error("--database takes a postgresql:// URL (SQLite is the default)")
    if min(args.writers, args.workers) < 1 or args.kills < 0 or args.interval <= 0:
        parser.error("--writers and --workers must be >= 1, --kills >= 0, --interval > 0")
    return args


def main() -> int:
    args = parse_args()
    if not (BIN / "gunicorn").exists():
        sys.exit(f"no gunicorn beside {sys.executable}; run this with the virtualenv's python (make install)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rng = random.Random(args.seed)
    load_before = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    tmp = Path(tempfile.mkdtemp(prefix="consult-bench-crash-"))
    server = worker = None
    writers: list[Writer] = []
    try:
        database_url, kind, instance, env = fresh_site(tmp, args.database)
        plan = seed(env, args.writers, email_prefix="crash")
        server_log, worker_log = tmp / "gunicorn.log", tmp / "worker.log"
        port = free_port()
        worker = start_worker(env, worker_log)
        server = start_server(env, port, args.workers, server_log)
        clients = sign_in_all(port, list(plan.users), PASSWORD)
        users = {n: plan.users[c.email] for n, c in enumerate(clients, start=1)}
        writers = [
            Writer(n, c, plan.sections, plan.quotes, plan.amendments, random.Random(args.seed * 1000 + n))
            for n, c in enumerate(clients, start=1)
        ]
        for w in writers:
            w.start()
        rounds = []
        for n in range(1, args.kills + 1):
            time.sleep(rng.uniform(0.5, 1.5) * args.interval)
            before = sum(len(w.writes) for w in writers)
            kill9(server)
            kill9(worker)
            killed_at = time.monotonic()
            worker = start_worker(env, worker_log)
            server = start_server(env, port, args.workers, server_log)
            rounds.append(f"kill {n}: after {before} writes sent; server and worker back in {time.monotonic() - killed_at:.1f} s")
        time.sleep(args.interval)
        for w in writers:
            w.stop_now.set()
        for w in writers:
            w.join(timeout=90)
        writes = sorted((x for w in writers for x in w.writes), key=lambda x: (x.thread, x.seq))

        checks = Checks()
        intact, integrity = database_integrity(database_url)
        if not intact:
            checks.fail(f"database damaged: {integrity}")
        visible = check_posts(database_url, writes, checks)
        check_votes(database_url, writes, users, checks)
        check_tallies(database_url, port, plan.amendments, checks)
        check_search(port, visible, args.search_wait, checks, writes)
        answered = [x for x in writes if x.status is not None]
        statuses: dict[int, int] = {}
        for x in answered:
            statuses[x.status] = statuses.get(x.status, 0) + 1
        stored = db_rows(database_url, "SELECT count(*) FROM contributions WHERE body LIKE :like", like=f"%{PREFIX}%")[0][0]
    finally:
        for w in writers:
            w.stop_now.set()
        for process in (server, worker):
            if process is not None:
                stop(process)

    print(f"{'date:':<14} {datetime.now(UTC):%Y-%m-%d %H:%M UTC}")
    print(f"{'server:':<14} gunicorn, {args.workers} sync workers, and `consult worker`; both kill -9'd {args.kills} times")
    print(f"{'writers:':<14} {args.writers} Python threads, one request at a time; ~{args.interval:g} s between kills")
    print(f"{'database:':<14} {kind}")
    print(f"{'load average:':<14} {load_before} (1/5/15 min, before the run)")
    print()
    for line in rounds:
        print(line)
    print()
    print(f"writes sent:   {len(writes)}; answered {len(answered)} (" + ", ".join(f"{s} x{n}" for s, n in sorted(statuses.items())) + ")")
    print(
        f"no answer:     {len(writes) - len(answered)} (cut by a kill); {sum(w.refused_connections for w in writers)} connections refused while the server was down"
    )
    print(f"posts stored:  {stored}")
    print(f"integrity:     {integrity}")
    for key, value in checks.counts.items():
        print(f"  {key:<45} {value}")
    errors_5xx = sum(n for s, n in statuses.items() if s >= 500)
    refused = sum(n for s, n in statuses.items() if 400 <= s < 500)
    if errors_5xx:
        checks.fail(f"{errors_5xx} answer(s) of class 5xx (a server that answers must not fail)")
    if refused:
        checks.fail(f"{refused} answer(s) of class 4xx (a bench bug, or the app refusing what it should take)")
    code = 0
    if checks.problems:
        trace = first_traceback(tmp / "gunicorn.log", tmp / "worker.log")
        if trace:
            print(f"\n{trace}", file=sys.stderr)
        print("\nFAILED:\n  " + "\n  ".join(checks.problems), file=sys.stderr)
        code = 1
    else:
        print("\nOK: database intact; nothing acknowledged lost, duplicated or unsearchable")
    if args.keep:
        print(f"\nkept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; gunicorn and the worker stopped")
