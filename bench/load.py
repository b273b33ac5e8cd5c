"""Mixed load with wrk against gunicorn (4 workers) and the job worker, then an integrity check.

Usage (from the repository root, with the virtualenv's Python; needs /usr/bin/wrk):

    .venv/bin/python bench/load.py                                  # SQLite, 8 clients x 10 s
    .venv/bin/python bench/load.py --clients 64 --duration 60       # the issue's run
    .venv/bin/python bench/load.py --clients 64 --duration 60 \\
        --database postgresql://root@127.0.0.1:5432/c_bench          # its public schema is DROPPED

It builds a fresh instance folder and database (`consult db upgrade`, `consult demo`), adds one
account per client (cheap password hashing: CONSULT_PASSWORD_HASH_METHOD=pbkdf2:sha256:1,
posting limits off: CONSULT_RATE_LIMITS=false), starts `gunicorn --workers 4` and `consult
worker` beside it, signs every client in through the sign-in form (session cookie and CSRF
token), writes them into a Lua table, and runs wrk with `-t N -c N`: each wrk thread has one
connection and one signed-in person, so responses answer its requests in order
(bench/lua/load.lua). Each thread picks from a weighted mix: reading the consultation, a
section, an amendment, search; posting a comment or an annotation whose text holds a unique
marker word; voting on amendments, statements and sections; co-supporting an amendment. Every
write is logged when sent and when answered. When wrk stops, gunicorn is stopped gracefully (the
requests wrk left in flight finish; the database holds still), and the database's tables are
checked; then gunicorn is started again (same instance, same worker) for the public routes:

- every acknowledged comment and annotation (302 not to /signin) is stored exactly once, an
  annotation with its anchor; no marker stored twice, none stored although refused;
- per person and item, the vote stored is the last one acknowledged; one row per person and
  item; every acknowledged co-support is stored, once;
- each open amendment's tally in /api/v1/amendments/<id> equals its rows in `votes`;
- /api/v1/search finds every visible bench post by its marker (retrying the missing ones for
  up to --search-wait seconds, while the job worker drains its queue).

It prints requests/s, latency p50/p90/p99 (wrk's own), answers by kind and status, and the
checks; it exits 1 on any 5xx, 4xx, unanswered request, lost, duplicated or unsearchable
write, or tally mismatch. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

if __package__ in (None, ""):  # run as a script: the repository root, so that `bench` imports
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import BIN, HOST, ROOT, consult_cli, free_port, reset_postgresql, stop, wait_until_up  # noqa: E402
from bench.votes import Client, sign_in_all  # noqa: E402

SLUG = "federal-source-code-policy"  # the demo's open consultation
PASSWORD = "bench-password-1"
LUA = Path(__file__).resolve().parent / "lua" / "load.lua"
PREFIX = "benchmark"  # markers are PREFIX<thread>x<seq>: one word for every analyser
MARKER_RE = re.compile(rf"\b({PREFIX}\d+x\d+)\b")
WRITES = ("comment", "annotation", "vote amendment", "vote statement", "vote section", "support")
MIX = [  # kind, weight
    ("read consultation", 8),
    ("read section", 14),
    ("read amendment", 10),
    ("search", 8),
    ("comment", 16),
    ("annotation", 10),
    ("vote amendment", 12),
    ("vote statement", 8),
    ("vote section", 8),
    ("support", 6),
]
SEARCHES = ["source code", "agencies", "open source", "licence", "inventory", "federal", "reuse", "metric"]
SENTENCES = [
    "This definition is too narrow.",
    "Please say whether configuration files count as source code.",
    "Agencies will read this differently unless it gives an example.",
    "Small agencies need guidance here, not only a definition.",
    "I support this wording as it stands.",
]
STATEMENTS = [
    "Agencies should publish all new custom code as open source by default.",
    "The inventory of custom code should be public.",
    "A pilot programme is too small a step.",
    "Agencies need more staff to manage open source projects.",
]
ACKED = (200, 201, 302, 303)
UNKNOWN = object()


def bench_env(database_url: str, instance: Path) -> dict[str, str]:
    return os.environ | {
        "CONSULT_DATABASE_URL": database_url,
        "CONSULT_SECRET_KEY": "bench",
        "CONSULT_SESSION_COOKIE_SECURE": "false",
        "CONSULT_INSTANCE_PATH": str(instance),
        "CONSULT_RATE_LIMITS": "false",  # measures the writes, not the limits
        "CONSULT_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",  # signing 64 people in must not take minutes
        "CONSULT_BASE_URL": "http://127.0.0.1",
    }


def fresh_site(tmp: Path, database: str | None) -> tuple[str, str, Path, dict[str, str]]:
    """A fresh database and instance folder with the demo; returns (url, description, instance, env)."""
    instance = tmp / "instance"
    if database:
        url, kind = database, f"PostgreSQL {reset_postgresql(database)} (public schema reset)"
    else:
        url, kind = f"sqlite:///{tmp}/bench.db", f"SQLite {sqlite3.sqlite_version} (temporary file)"
    env = bench_env(url, instance)
    consult_cli(env, "db", "upgrade")
    consult_cli(env, "demo", "--quiet")
    return url, kind, instance, env


@dataclass
class Plan:
    users: dict[str, int]  # email -> id
    sections: list[str]
    quotes: list[dict[str, str]]  # section, quote: the demo's annotations' words
    amendments: list[int]  # open amendments of the open consultation


def seed(env: dict[str, str], count: int, email_prefix: str = "load") -> Plan:
    """One account per client through the app's own service, and what to read and vote on."""
    from sqlalchemy import select

    from consult import create_app
    from consult.accounts import services as accounts
    from consult.core.models import db
    from consult.policies.services import record_agreement
    from consult.proposals.models import Consultation

    app = create_app(
        {
            "DATABASE_URL": env["CONSULT_DATABASE_URL"],
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": env["CONSULT_INSTANCE_PATH"],
            "PASSWORD_HASH_METHOD": env["CONSULT_PASSWORD_HASH_METHOD"],
        }
    )
    with app.app_context():
        users = {}
        for n in range(1, count + 1):
            email = f"{email_prefix}{n}@bench.consult.example"
            person = accounts.create_user(email=email, password=PASSWORD, display_name=f"Load {n}")
            record_agreement(person)  # as at sign-up: they sign in without the terms step
            users[email] = person.id
        db.session.commit()
        c = db.session.scalar(select(Consultation).where(Consultation.slug == SLUG))
        version_id = c.current_version.id
        sections = [s.key for s in c.current_version.sections]
        rows = db.session.execute(
            db.text(
                "SELECT a.section_key, a.exact FROM anchors a JOIN contributions k ON k.id = a.contribution_id "
                "WHERE a.version_id = :v AND a.state = 'anchored' AND k.consultation_id = :c AND a.exact IS NOT NULL"
            ),
            {"v": version_id, "c": c.id},
        ).all()
        quotes = [{"section": key, "quote": exact} for key, exact in rows if exact and len(exact) < 300]
        amendments = list(
            db.session.scalars(
                db.text(
                    "SELECT k.id FROM contributions k JOIN amendments a ON a.contribution_id = k.id "
                    "WHERE k.consultation_id = :c AND a.state = 'open' AND k.moderation_state = 'visible' "
                    "AND k.deleted_at IS NULL ORDER BY k.id"
                ),
                {"c": c.id},
            )
        )
        db.engine.dispose()
    if not (sections and quotes and amendments):
        sys.exit(f"the demo has no sections ({len(sections)}), annotations ({len(quotes)}) or open amendments ({len(amendments)})")
    return Plan(users, sections, quotes, amendments)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`consult worker` in its own process group (stop() ends it)."""
    with open(log, "ab") as log_file:
        return subprocess.Popen(
            [str(BIN / "consult"), "worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_server(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """gunicorn with sync workers on ``port``, in its own process group (``stop`` and a kill -9 of
    the group end it with its workers); returns once /healthz answers. No control socket: its
    default path is shared by every gunicorn of the machine's user."""
    command = [
        str(BIN / "gunicorn"),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--no-control-socket",
        "consult:create_app()",
    ]
    with open(log, "ab") as log_file:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_up(server, port, log, timeout=60.0)
    except BaseException:
        stop(server)
        raise
    return server


def post_statements(clients: list[Client]) -> list[int]:
    """A few statements, posted through the form by the first clients; the visible ones' ids."""
    ids = []
    for client, body in zip(clients, STATEMENTS, strict=False):
        reply = client.post(f"/c/{SLUG}/statements", {"body": body})
        found = re.search(r"#statement-(\d+)", reply.location)
        if reply.status != 302 or not found:
            sys.exit(f"posting a statement answered {reply.status} {reply.location}: {reply.message or reply.body[:300]}")
        ids.append(int(found.group(1)))
    return ids


def warm_up(port: int, workers: int, plan: Plan) -> None:
    """Each page of the mix a few times per worker before wrk starts (first requests pay for
    imports, templates and caches, which a 10 s run would otherwise measure)."""
    paths = [f"/c/{SLUG}", f"/c/{SLUG}/s/{plan.sections[0]}", f"/amendments/{plan.amendments[0]}", f"/search?q={quote(SEARCHES[0])}"]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda path: get(port, path), paths * workers * 2))


def lua_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid Lua string literal for these (\" \\ \n \uXXXX aside)


def write_lua_plan(path: Path, *, clients: list[Client], plan: Plan, statements: list[int], outdir: Path, seed: int) -> None:
    mix = [(kind, weight) for kind, weight in MIX if kind != "vote statement" or statements]
    lines = ["return {"]
    lines.append(f"  slug = {lua_string(SLUG)}, prefix = {lua_string(PREFIX)}, seed = {seed}, outdir = {lua_string(str(outdir))},")
    lines.append("  sections = {" + ", ".join(lua_string(k) for k in plan.sections) + "},")
    lines.append(
        "  quotes = {"
        + ", ".join(f"{{section = {lua_string(q['section'])}, quote = {lua_string(q['quote'])}}}" for q in plan.quotes)
        + "},"
    )
    lines.append("  amendments = {" + ", ".join(map(str, plan.amendments)) + "},")
    lines.append("  statements = {" + ", ".join(map(str, statements or [0])) + "},")
    lines.append("  searches = {" + ", ".join(map(lua_string, SEARCHES)) + "},")
    lines.append("  sentences = {" + ", ".join(map(lua_string, SENTENCES)) + "},")
    lines.append("  mix = {" + ", ".join(f"{{{lua_string(k)}, {w}}}" for k, w in mix) + "},")
    lines.append("  users = {")
    for client in clients:
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        lines.append(f"    {{cookie = {lua_string(cookie)}, csrf = {lua_string(client.csrf)}}},")
    lines.append("  },")
    lines.append("}")
    if any("\\u" in line for line in lines):
        sys.exit("a value of the Lua plan needs an escape Lua does not know")
    path.write_text("\n".join(lines) + "\n")


# ---- what the clients sent and were told ------------------------------------------------------


@dataclass
class Write:
    thread: int
    seq: int
    kind: str
    what: list[str]
    status: int | None = None  # None: no answer (connection reset, or the run ended first)
    location: str = ""

    @property
    def acked(self) -> bool:
        return self.status in ACKED and "/signin" not in self.location

    @property
    def refused(self) -> bool:  # a definite "no": 4xx, or a redirect to signing in
        return self.status is not None and (400 <= self.status < 500 or (self.status in ACKED and not self.acked))


def read_logs(outdir: Path) -> list[Write]:
    writes: dict[tuple[int, int], Write] = {}
    for path in sorted(outdir.glob("thread-*.log")):
        thread = int(path.stem.split("-")[1])
        for line in path.read_text().splitlines():
            tag, seq, *rest = line.split("\t")
            if tag == "S":
                writes[(thread, int(seq))] = Write(thread, int(seq), rest[0], rest[1:])
            elif tag == "R":
                w = writes[(thread, int(seq))]
                w.status, w.location = int(rest[0]), rest[1] if len(rest) > 1 else ""
    return sorted(writes.values(), key=lambda w: (w.thread, w.seq))


# ---- the checks -----------------------------------------------------------------------------


@dataclass
class Checks:
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.problems.append(message)


def db_rows(database_url: str, sql: str, **params) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def check_posts(database_url: str, writes: list[Write], checks: Checks) -> list[tuple[int, str]]:
    """Acknowledged posts stored once (annotations anchored); returns the visible posts (id, marker)."""
    posts = [w for w in writes if w.kind in ("comment", "annotation")]
    rows = db_rows(
        database_url,
        "SELECT k.id, k.body, k.moderation_state, k.deleted_at, "
        "(SELECT count(*) FROM anchors a WHERE a.contribution_id = k.id) FROM contributions k WHERE k.body LIKE :like",
        like=f"%{PREFIX}%",
    )
    stored: dict[str, list[tuple[int, bool, int]]] = defaultdict(list)
    for cid, body, state, deleted_at, anchors in rows:
        for marker in set(MARKER_RE.findall(body)):
            stored[marker].append((cid, state == "visible" and deleted_at is None, anchors))
    sent = {w.what[0]: w for w in posts}
    acked = [w for w in posts if w.acked]
    lost = [w.what[0] for w in acked if not stored.get(w.what[0])]
    duplicated = [m for m, found in stored.items() if len(found) > 1]
    unanchored = [w.what[0] for w in acked if w.kind == "annotation" and any(a == 0 for _c, _v, a in stored.get(w.what[0], []))]
    refused_stored = [w.what[0] for w in posts if w.refused and stored.get(w.what[0])]
    unknown_stored = sum(1 for w in posts if w.status is None and stored.get(w.what[0]))
    failed_stored = [w.what[0] for w in posts if w.status is not None and w.status >= 500 and stored.get(w.what[0])]
    phantom = [m for m in stored if m not in sent]
    checks.counts.update(
        posts_sent=len(posts),
        posts_acked=len(acked),
        posts_unanswered=sum(1 for w in posts if w.status is None),
        posts_unanswered_stored=unknown_stored,
        posts_5xx_stored=len(failed_stored),
        posts_stored=sum(len(v) for v in stored.values()),
    )
    for name, items in (
        ("lost (acknowledged, not stored)", lost),
        ("duplicated (stored more than once)", duplicated),
        ("acknowledged annotations without an anchor", unanchored),
        ("stored although refused (4xx)", refused_stored),
        ("stored but never sent", phantom),
    ):
        checks.counts[name] = len(items)
        if items:
            checks.fail(f"posts {name}: {len(items)}, e.g. {items[:5]}")
    return [(cid, marker) for marker, found in stored.items() for cid, visible, _a in found if visible]


def check_votes(database_url: str, writes: list[Write], users: dict[int, int], checks: Checks) -> None:
    """Per person and item: the last acknowledged vote is stored, and one row each."""
    expected: dict[tuple[int, str], object] = {}
    for w in writes:  # in each thread's order
        if not w.kind.startswith("vote "):
            continue
        target, value = w.what[0], w.what[1]
        key = (users[w.thread], target)
        if w.acked:
            expected[key] = None if value == "withdraw" else value
        elif not w.refused:  # no answer, or a 5xx: what is stored is not known
            expected[key] = UNKNOWN
    rows = db_rows(database_url, "SELECT user_id, contribution_id, section_key, value FROM votes")
    stored: dict[tuple[int, str], list[str]] = defaultdict(list)
    for user_id, contribution_id, section_key, value in rows:
        stored[(user_id, f"c{contribution_id}" if contribution_id is not None else f"s{section_key}")].append(value)
    bench_users = set(users.values())
    lost = phantom = unknown = checked = 0
    for key in expected.keys() | {k for k in stored if k[0] in bench_users}:
        want = expected.get(key)
        if want is UNKNOWN:
            unknown += 1
            continue
        checked += 1
        have = stored.get(key, [])
        if key not in expected and have:
            phantom += 1
        elif (have[-1] if have else None) != want:
            lost += 1
    duplicated = sum(1 for values in stored.values() if len(values) > 1)
    checks.counts.update(
        votes_sent=sum(1 for w in writes if w.kind.startswith("vote ")),
        votes_acked=sum(1 for w in writes if w.kind.startswith("vote ") and w.acked),
        vote_pairs_checked=checked,
        vote_pairs_unknown=unknown,
        votes_lost=lost,
        votes_duplicated=duplicated,
        votes_phantom=phantom,
    )
    if lost or duplicated or phantom:
        checks.fail(f"votes: {lost} lost, {duplicated} duplicated, {phantom} phantom")


def check_tallies(database_url: str, port: int, amendments: list[int], checks: Checks) -> None:
    """Each amendment's tally in the public API equals its rows in the votes table."""
    per_item: dict[int, Counter[str]] = defaultdict(Counter)
    for contribution_id, value in db_rows(database_url, "SELECT contribution_id, value FROM votes WHERE contribution_id IS NOT NULL"):
        per_item[contribution_id][value] += 1
    mismatched = []
    for cid in amendments:
        status, body = get(port, f"/api/v1/amendments/{cid}")
        tally = json.loads(body)["tally"] if status == 200 else status
        if tally != {v: per_item[cid][v] for v in ("support", "oppose", "abstain")}:
            mismatched.append((cid, tally, dict(per_item[cid])))
    checks.counts["tallies_checked"] = len(amendments)
    checks.counts["tallies_mismatched"] = len(mismatched)
    if mismatched:
        checks.fail(f"amendment tallies differ from their rows: {mismatched[:3]}")


def check_supports(database_url: str, writes: list[Write], users: dict[int, int], checks: Checks) -> None:
    rows = db_rows(database_url, "SELECT amendment_id, user_id FROM amendment_supporters")
    counts = Counter(rows)
    acked = {(int(w.what[0]), users[w.thread]) for w in writes if w.kind == "support" and w.acked}
    lost = [pair for pair in acked if counts[pair] == 0]
    duplicated = [pair for pair, n in counts.items() if n > 1]
    checks.counts.update(supports_acked=len(acked), supports_lost=len(lost), supports_duplicated=len(duplicated))
    if lost or duplicated:
        checks.fail(f"co-supports: {len(lost)} lost, {len(duplicated)} duplicated")


def get(port: int, path: str, timeout: float = 60.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": f"{HOST}:{port}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def found_by_search(port: int, post: tuple[int, str]) -> bool:
    cid, marker = post
    try:
        status, body = get(port, f"/api/v1/search?q={quote(marker)}")
    except (OSError, http.client.HTTPException):
        return False
    if status != 200:
        return False
    return any(re.search(rf"/comments/{cid}(?:\D|$)", r["url"]) for r in json.loads(body)["results"])


def check_search(port: int, visible: list[tuple[int, str]], wait: float, checks: Checks, writes: list[Write]) -> None:
    """Every visible bench post found by its marker through /api/v1/search; the missing ones are
    asked again until none is missing or ``wait`` seconds have passed (the worker may lag)."""
    started = time.monotonic()
    missing = visible
    with ThreadPoolExecutor(max_workers=4) as pool:
        while True:
            missing = [p for p, ok in zip(missing, pool.map(lambda p: found_by_search(port, p), missing), strict=True) if not ok]
            if not missing or time.monotonic() - started > wait:
                break
            time.sleep(2.0)
    checks.counts.update(search_checked=len(visible), search_missing=len(missing), search_seconds=round(time.monotonic() - started))
    if missing:
        told = {w.what[0]: w.status for w in writes if w.kind in ("comment", "annotation")}
        answers = Counter("no answer" if told.get(m) is None else str(told[m]) for _cid, m in missing)
        checks.fail(
            f"search: {len(missing)} of {len(visible)} visible posts not found after {wait:.0f} s "
            f"(what their writers were told: {dict(answers)}), e.g. {missing[:5]}"
        )


# ---- running wrk ------------------------------------------------------------------------------


def run_wrk(port: int, clients: int, duration: float, plan_path: Path) -> tuple[dict[str, float], Counter[tuple[str, int]], str]:
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("wrk is not installed (apt-get install wrk)")
    command = [
        wrk,
        "-t",
        str(clients),
        "-c",
        str(clients),
        "-d",
        f"{duration:g}s",
        "--timeout",
        "60s",
        "-s",
        str(LUA),
        f"http://{HOST}:{port}",
        "--",
        str(plan_path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 180)
    if done.returncode != 0:
        sys.exit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    summary: dict[str, float] = {}
    statuses: Counter[tuple[str, int]] = Counter()
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if parts[0] == "WRK":
            summary[parts[1]] = float(parts[2])
        elif parts[0] == "STATUS":
            statuses[(parts[1], int(parts[2]))] += int(parts[3])
    if "requests" not in summary:
        sys.exit(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    return summary, statuses, done.stdout


def first_traceback(*logs: Path) -> str:
    for log in logs:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "Traceback" in text:
            first = text.index("Traceback")
            return f"{log.name}, from its first traceback:\n{text[max(0, first - 300) : first + 5000]}"
    return ""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="postgresql://... URL; its public schema is DROPPED (default: a temporary SQLite file)")
    parser.add_argument("--clients", type=int, default=8, help="wrk threads = connections = signed-in people")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--search-wait", type=float, default=120.0, help="seconds to wait for search to find every post")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database) and print its path")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if args.database and not args.database.startswith(("postgresql://", "postgres://")):
        parser.error("--database takes a postgresql:// URL (SQLite is the default)")
    if min(args.clients, args.workers) < 1 or args.duration <= 0:
        parser.error("--clients and --workers must be >= 1, --duration > 0")
    return args


def main() -> int:
    args = parse_args()
    if not (BIN / "gunicorn").exists():
        sys.exit(f"no gunicorn beside {sys.executable}; run this with the virtualenv's python (make install)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks on kill, too
    load_before = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    tmp = Path(tempfile.mkdtemp(prefix="consult-bench-load-"))
    try:
        database_url, kind, instance, env = fresh_site(tmp, args.database)
        plan = seed(env, args.clients)
        server_log, worker_log = tmp / "gunicorn.log", tmp / "worker.log"
        port = free_port()
        worker = start_worker(env, worker_log)
        server = start_server(env, port, args.workers, server_log)
        try:
            clients = sign_in_all(port, list(plan.users), PASSWORD)
            statements = post_statements(clients)
            warm_up(port, args.workers, plan)
            outdir = tmp / "acks"
            outdir.mkdir()
            write_lua_plan(tmp / "plan.lua", clients=clients, plan=plan, statements=statements, outdir=outdir, seed=args.seed)
            summary, statuses, _ = run_wrk(port, args.clients, args.duration, tmp / "plan.lua")
            # wrk leaves requests in flight and queued when it stops: a graceful stop lets the
            # workers finish them (and drops the queued ones), so the database holds still
            stop(server)
            writes = read_logs(outdir)
            users = {n: plan.users[client.email] for n, client in enumerate(clients, start=1)}
            checks = Checks()
            visible = check_posts(database_url, writes, checks)
            check_votes(database_url, writes, users, checks)
            check_supports(database_url, writes, users, checks)
            server = start_server(env, port, args.workers, server_log)  # for what the public sees
            check_tallies(database_url, port, plan.amendments, checks)
            check_search(port, visible, args.search_wait, checks, writes)
        finally:
            stop(server)
            stop(worker)
        report_and_exit = report(args, kind, load_before, summary, statuses, writes, checks, server_log, worker_log)
    finally:
        if args.keep:
            print(f"\nkept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return report_and_exit


def report(args, kind, load_before, summary, statuses, writes, checks, server_log, worker_log) -> int:
    seconds = summary["duration_us"] / 1e6
    by_status: Counter[int] = Counter()
    for (_kind, status), n in statuses.items():
        by_status[status] += n
    unanswered = sum(1 for w in writes if w.status is None)
    socket_errors = {k[6:]: int(v) for k, v in summary.items() if k.startswith("error_") and k != "error_status" and v}
    setup = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "server": f"gunicorn {importlib.metadata.version('gunicorn')}, {args.workers} sync workers, and `consult worker`",
        "load": f"wrk, {args.clients} threads x 1 connection, each signed in as its own person; {args.duration:g} s",
        "database": kind,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load average": f"{load_before} (1/5/15 min, before the run); {'{:.2f} {:.2f} {:.2f}'.format(*os.getloadavg())} after",
    }
    for key, value in setup.items():
        print(f"{key + ':':<14} {value}")
    print()
    print(f"requests:      {int(summary['requests'])} in {seconds:.1f} s = {summary['requests'] / seconds:.1f} req/s")
    print(
        "latency (wrk): p50 {:.1f} ms, p90 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms".format(
            summary["latency_p50_us"] / 1000,
            summary["latency_p90_us"] / 1000,
            summary["latency_p99_us"] / 1000,
            summary["latency_max_us"] / 1000,
        )
    )
    print("by status:     " + ", ".join(f"{s} x{n}" for s, n in sorted(by_status.items())))
    print(f"no answer:     {unanswered} write(s) sent without an answer; socket errors {socket_errors or 'none'}")
    print()
    print(f"{'kind':<20} " + " ".join(f"{s:>6}" for s in sorted(by_status)))
    for k, _w in MIX:
        row = [statuses.get((k, s), 0) for s in sorted(by_status)]
        if any(row):
            print(f"{k:<20} " + " ".join(f"{n:>6}" for n in row))
    print()
    print("integrity:")
    for key, value in checks.counts.items():
        print(f"  {key:<45} {value}")
    errors_5xx = sum(n for s, n in by_status.items() if s >= 500)
    errors_4xx = sum(n for s, n in by_status.items() if 400 <= s < 500)
    if errors_5xx:
        checks.fail(f"{errors_5xx} answer(s) of class 5xx")
    if errors_4xx:
        checks.fail(f"{errors_4xx} answer(s) of class 4xx (a bench bug, or the app refusing what it should take)")
    if socket_errors.get("timeout") or socket_errors.get("read") or socket_errors.get("connect"):
        checks.fail(f"socket errors: {socket_errors}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"setup": setup, "wrk": summary, "by_status": by_status, "checks": checks.counts, "problems": checks.problems}, indent=2
            )
            + "\n"
        )
    if checks.problems:
        trace = first_traceback(server_log, worker_log)
        if trace:
            print(f"\n{trace}", file=sys.stderr)
        print("\nFAILED:\n  " + "\n  ".join(checks.problems), file=sys.stderr)
        return 1
    print("\nOK: no 5xx, nothing lost, duplicated or unsearchable")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; gunicorn and the worker stopped")
