"""Throughput and latency of the demo's pages against the bare /healthz baseline.

Loads the demo into a fresh database through the app's CLI, adds 1,000 comments to one section,
serves it with gunicorn on a free loopback port, drives a closed-loop load at each target from
threads in this process, and prints a table and the page-to-baseline ratios; exits 1 if any
request failed. The load generator is standard library only; the app itself (in this
virtualenv) writes the 1,000 comments. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import json
import math
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtualenv's bin/, which holds consult and gunicorn
HOST = "127.0.0.1"
SLUG = "federal-source-code-policy"
LONG_SECTION = "appendix-a-definitions"  # no comments in the demo; the bench adds LONG_THREAD
LONG_THREAD = 1_000  # comments on it: 800 comments and 200 replies
TARGETS = {
    "baseline": "/healthz",
    "consultation page": f"/c/{SLUG}",
    "section, 1 comment": f"/c/{SLUG}/s/implementation",
    "section, 1,000 comments": f"/c/{SLUG}/s/{LONG_SECTION}",
    "same, last page": f"/c/{SLUG}/s/{LONG_SECTION}?page=40",
    "diff, draft to final": f"/c/{SLUG}-2016/diff",  # the concluded round: the whole policy compared
    "outcome page": f"/c/{SLUG}-2016/outcome",
}
SENTENCES = [
    "This definition is too narrow.",
    "Please say whether **configuration files** count as source code.",
    "Agencies will read this differently unless it gives an example.",
    "Does *custom-developed* include code written under a grant?",
    "The definition should name the licence terms, not only the code.",
    "Could the final text link to the OSI's list of approved licences?",
    "I support this wording as it stands.",
    "Who decides when a project counts as *open source*?",
    "Small agencies need guidance here, not only a definition.",
    "Please keep documentation in scope: code without it is hard to reuse.",
]


@dataclass
class Result:
    target: str
    path: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", help="postgresql://... URL; its public schema is DROPPED and recreated (default: a temporary SQLite file)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads, one connection each")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per target first")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if args.database and not args.database.startswith(("postgresql://", "postgres://")):
        parser.error("--database takes a postgresql:// URL (SQLite is the default)")
    if min(args.workers, args.concurrency) < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--workers and --concurrency must be >= 1, --duration > 0, --warmup >= 0")
    return args


def reset_postgresql(url: str) -> str:
    """Drop and recreate the public schema; returns the server's version."""
    import psycopg  # the app's own driver; only needed for this opt-in path

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
            version = conn.info.server_version
    except psycopg.Error as error:
        sys.exit(f"cannot reset the public schema of {url}: {error}")
    return f"{version // 10000}.{version % 10000}"


def add_long_thread(database_url: str, section: str = LONG_SECTION, count: int = LONG_THREAD, annotate_every: int = 0) -> int:
    """Write ``count`` comments on ``section`` through the app's own service, as people would
    (Markdown bodies of one to five sentences; every fifth one a reply); returns the section's count.
    With ``annotate_every`` N, every Nth comment that is not a reply quotes three to six words of
    the section (an annotation, drawn as a highlight on the section's pages)."""
    import random

    from consult import create_app
    from consult.accounts.models import User
    from consult.comments import services
    from consult.core.models import db
    from consult.proposals.models import Consultation

    rng = random.Random(count)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"})
    with app.app_context():
        consultation = db.session.scalar(db.select(Consultation).where(Consultation.slug == SLUG))
        people = list(db.session.scalars(db.select(User).order_by(User.id)))
        posted = []
        words = services.anchor_text(consultation.current_version.section(section)).split()
        if annotate_every and len(words) < 7:
            raise ValueError(f"{section} has no text to quote")
        for n in range(count):
            body = " ".join(rng.sample(SENTENCES, rng.randint(1, 5)))
            parent = rng.choice(posted) if n % 5 == 4 else None
            quote = None
            if annotate_every and parent is None and len(posted) % annotate_every == 0:
                at, size = rng.randrange(max(1, len(words) - 6)), rng.randint(3, 6)
                quote = " ".join(words[at : at + size])
            comment = services.post_comment(
                consultation, actor=rng.choice(people), body=body, section_key=None if parent else section, parent=parent, quote=quote
            )
            if parent is None:
                posted.append(comment)
        db.session.commit()
        written = services.section_counts(consultation, None).get(section, 0)
        db.engine.dispose()
    return written


def consult_cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([str(BIN / "consult"), *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"consult {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def fetch(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_up(server: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if fetch(port, "/healthz", timeout=1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"/healthz did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group (arbiter and workers), then SIGKILL if it lingers."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(server.pid, sig)
            server.wait(timeout=grace)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def client(port: int, path: str, measure_from: float, until: float, stop_now: threading.Event, out: Samples) -> None:
    """Closed loop: one request at a time on one connection; keeps requests that end in the window."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10.0)
    while not stop_now.is_set() and time.perf_counter() < until:
        start = time.perf_counter()
        failed = False
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            failed = response.status != 200
        except (OSError, http.client.HTTPException):
            failed = True
            conn.close()  # the next request() opens a fresh connection
        end = time.perf_counter()
        if measure_from <= start and end <= until:
            out.latencies.append(end - start)
            out.errors += failed
    conn.close()


def percentile_ms(ordered: list[float], p: int) -> float:
    """Nearest-rank percentile of sorted latencies, in milliseconds."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000 if ordered else float("nan")


def load(port: int, name: str, path: str, args: argparse.Namespace, stop_now: threading.Event) -> Result:
    measure_from = time.perf_counter() + args.warmup
    until = measure_from + args.duration
    samples = [Samples() for _ in range(args.concurrency)]
    threads = [threading.Thread(target=client, args=(port, path, measure_from, until, stop_now, s), daemon=True) for s in samples]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lat = sorted(x for s in samples for x in s.latencies)
    return Result(
        target=name,
        path=path,
        requests=len(lat),
        errors=sum(s.errors for s in samples),
        seconds=args.duration,
        rps=len(lat) / args.duration,
        p50_ms=percentile_ms(lat, 50),
        p90_ms=percentile_ms(lat, 90),
        p99_ms=percentile_ms(lat, 99),
    )


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def report(setup: dict[str, object], results: list[Result], ratios: dict[str, dict[str, float]]) -> None:
    for key, value in setup.items():
        print(f"{key + ':':<14} {value}")
    print()
    header = f"{'target':<78} {'requests':>9} {'errors':>7} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}"
    print(header)
    print("-" * len(header))
    for r in results:
        label = f"{r.target} {r.path}"
        print(f"{label:<78} {r.requests:>9} {r.errors:>7} {r.rps:>9.1f} {r.p50_ms:>8.2f} {r.p90_ms:>8.2f} {r.p99_ms:>8.2f}")
    print()
    for name, r in ratios.items():
        print(f"{name + ':':<25} {r['rps']:.2f}x the baseline's throughput, p50 {r['p50']:.1f}x, p99 {r['p99']:.1f}x")


def main() -> int:
    args = parse_args()
    if not (BIN / "gunicorn").exists():
        sys.exit(f"no gunicorn beside {sys.executable}; run this with the virtualenv's python")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks on kill, too
    stop_now = threading.Event()
    load_before = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())  # others' work skews the numbers
    with tempfile.TemporaryDirectory(prefix="consult-bench-") as tmp:
        if args.database:
            database_url = args.database
            kind = f"PostgreSQL {reset_postgresql(database_url)} (public schema reset)"
        else:
            database_url, kind = f"sqlite:///{tmp}/bench.db", f"SQLite {sqlite3.sqlite_version} (temporary file)"
        env = os.environ | {"CONSULT_DATABASE_URL": database_url, "CONSULT_SECRET_KEY": "bench", "CONSULT_SESSION_COOKIE_SECURE": "false"}
        consult_cli(env, "db", "upgrade")
        consult_cli(env, "demo", "--quiet")
        started = time.perf_counter()
        comments = add_long_thread(database_url)
        seeded = f"{comments} comments on {LONG_SECTION} in {time.perf_counter() - started:.1f} s"

        port, log = free_port(), Path(tmp, "gunicorn.log")
        command = [
            str(BIN / "gunicorn"),
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--no-control-socket",  # gunicorn 27's control socket is one path per user: two servers at once share it
            "consult:create_app()",
        ]
        with open(log, "wb") as log_file:
            server = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            wait_until_up(server, port, log)
            sizes = {}
            for name, path in TARGETS.items():
                status, body = fetch(port, path)
                if status != 200:
                    sys.exit(f"{path} answered {status}; is the demo loaded?")
                sizes[name] = len(body)
            setup: dict[str, object] = {
                "workers": f"{args.workers} (gunicorn sync)",
                "concurrency": f"{args.concurrency} client threads, closed loop",
                "duration": f"{args.duration:g} s measured after {args.warmup:g} s warm-up, per target",
                "database": kind,
                "python": platform.python_version(),
                "gunicorn": importlib.metadata.version("gunicorn"),
                "cpus": os.cpu_count(),
                "load average": f"{load_before} (1/5/15 min, before the run)",
                "long thread": seeded,
                "page sizes": ", ".join(f"{name} {size:,} B" for name, size in sizes.items() if name != "baseline"),
            }
            results = [load(port, name, path, args, stop_now) for name, path in TARGETS.items()]
        finally:
            stop_now.set()
            stop(server)

    base, *pages = results
    ratios = {
        page.target: {"rps": ratio(page.rps, base.rps), "p50": ratio(page.p50_ms, base.p50_ms), "p99": ratio(page.p99_ms, base.p99_ms)}
        for page in pages
    }
    report(setup, results, ratios)
    if args.json:
        args.json.write_text(json.dumps({"setup": setup, "results": [asdict(r) for r in results], "ratios": ratios}, indent=2) + "\n")
    errors = sum(r.errors for r in results)
    if errors:
        print(f"\n{errors} request(s) failed", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; gunicorn stopped")
