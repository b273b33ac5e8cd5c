"""Votes per second under gunicorn, and a check that no vote was lost or duplicated.

Loads the demo into a fresh database (a temporary SQLite file, or the PostgreSQL database given
with --database, whose public schema is DROPPED and recreated), adds one account per client
thread and a few amendments through the app's own services, serves it with gunicorn (sync
workers) on a free loopback port, and measures, in the same run: the bare /healthz baseline, a
GET of an amendment page, and POST /c/<slug>/vote from client threads each signed in as its own
user, voting on amendments and sections in a closed loop. It then reads the database and
counts errors (non-2xx/3xx answers, redirects to sign-in, or exceptions), lost votes (the
client's last successful answer on an item, a value or a withdrawal, is not what is stored),
duplicated votes (more than one row per user and item) and phantom votes (a row where none of
the client's votes on the item succeeded); it exits 1 if any of them is not zero. Standard
library only on the client side. See bench/README-votes.md.

The HTTP client here (``Client``, ``sign_in``, ``start_gunicorn``) is also used by
tests/voting/test_vote_races.py.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import json
import os
import platform
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a script: the repository root, so that `bench` imports
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import (  # noqa: E402
    BIN,
    HOST,
    ROOT,
    Result,
    consult_cli,
    free_port,
    load,
    percentile_ms,
    ratio,
    report,
    reset_postgresql,
    stop,
    wait_until_up,
)

SLUG = "federal-source-code-policy"  # the demo's open consultation
PASSWORD = "bench-password-1"
VALUES = ("support", "oppose", "abstain")
WITHDRAW = "withdraw"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*\bvalue="([^"]+)"')
MESSAGE_RE = re.compile(r'<p class="lead">(.*?)</p>', re.S)


# ---- an HTTP client with a cookie, for a signed-in person ------------------------------------


@dataclass
class Reply:
    status: int
    location: str
    body: str
    started: float = 0.0  # time.perf_counter() when sent and when answered
    ended: float = 0.0

    @property
    def redirect(self) -> bool:
        """Redirected somewhere other than the sign-in page (where a lost session would land)."""
        return self.status in (301, 302, 303, 307, 308) and not self.location.split("?")[0].endswith("/signin")

    @property
    def message(self) -> str:
        """The message of the app's error page ('' if there is none)."""
        found = MESSAGE_RE.search(self.body)
        return unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""


class Client:
    """One browser: its cookies and the page's CSRF token. One connection per request (gunicorn's
    sync workers close it after each answer anyway), so one client may be used from many threads."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.user_id = 0
        self.email = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None, *, keep_cookies: bool = True) -> Reply:
        """Send one request. ``keep_cookies=False`` ignores the cookies the answer sets: a vote
        answers with a redirect and puts a flash message in the session cookie, which a browser
        would clear by following the redirect; we do not follow it, so the cookie would grow
        with every vote until the server refuses the header. The session needs nothing else."""
        headers = {"Host": f"{HOST}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            ended = time.perf_counter()
            if keep_cookies:
                for header in response.headers.get_all("Set-Cookie") or []:
                    for name, morsel in SimpleCookie(header).items():
                        if morsel.value == "" or morsel["max-age"] == "0":
                            self.cookies.pop(name, None)
                        else:
                            self.cookies[name] = morsel.value
            return Reply(response.status, response.headers.get("Location", ""), text, started, ended)
        finally:
            conn.close()

    def get(self, path: str) -> Reply:
        reply = self.request("GET", path)
        found = CSRF_RE.search(reply.body)
        if found:
            self.csrf = unescape(found.group(1))
        return reply

    def post(self, path: str, form: dict[str, str], *, keep_cookies: bool = False) -> Reply:
        return self.request("POST", path, {"csrf_token": self.csrf, **form}, keep_cookies=keep_cookies)

    def vote(self, slug: str, value: str, *, contribution_id: int | None = None, section_key: str | None = None) -> Reply:
        target = {"contribution_id": str(contribution_id)} if contribution_id is not None else {"section_key": section_key or ""}
        return self.post(f"/c/{slug}/vote", {**target, "value": value})


def sign_in(port: int, email: str, password: str) -> Client:
    """Sign in through the form, as a browser does, and leave the client holding a CSRF token
    of the signed-in session (signing in clears the session, and with it the earlier token)."""
    client = Client(port)
    client.get("/signin")
    reply = client.post("/signin", {"email": email, "password": password}, keep_cookies=True)
    if reply.status != 302:
        raise RuntimeError(f"signing in as {email} answered {reply.status}: {reply.message or reply.body[:300]}")
    client.email = email
    client.csrf = ""
    client.get("/")  # shows (and so clears) the welcome flash; the sign-out form carries a token
    if not client.csrf:
        raise RuntimeError(f"no CSRF token on / after signing in as {email}")
    return client


def sign_in_all(port: int, emails: list[str], password: str) -> list[Client]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda email: sign_in(port, email, password), emails))


def start_gunicorn(env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn with sync workers on a free loopback port, in its own process group (so
    ``pages.stop`` ends it and its workers); returns once /healthz answers."""
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
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
    except BaseException:
        stop(server)
        raise
    return server, port


# ---- the bench -------------------------------------------------------------------------------


@dataclass
class Seed:
    slug: str
    amendments: list[int]
    sections: list[str]
    voters: dict[str, int]  # email -> user id


def seed(database_url: str, instance: Path, *, voters: int, amendments: int, sections: int) -> Seed:
    """On the demo: one account per client thread, and amendments on the first sections,
    proposed by the demo's citizens through ``propose_amendment``."""
    from sqlalchemy import select

    from consult import create_app
    from consult.accounts import services as accounts
    from consult.accounts.models import User
    from consult.amendments.services import propose_amendment
    from consult.core.models import db
    from consult.policies.services import record_agreement
    from consult.proposals.models import Consultation

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(instance)})
    with app.app_context():
        c = db.session.scalar(select(Consultation).where(Consultation.slug == SLUG))
        keys = [s.key for s in c.current_version.sections]
        citizens = list(db.session.scalars(select(User).where(User.email.like("citizen%@demo.consult.example"))))
        ids = []
        for n in range(amendments):
            section = c.current_version.section(keys[n % len(keys)])
            amendment = propose_amendment(
                c,
                actor=citizens[n % len(citizens)],
                section_key=section.key,
                rationale=f"Bench amendment {n + 1}: say it plainly.",
                proposed_text=f"{section.body.strip()}\n\nBench amendment {n + 1} adds this sentence.",
            )
            ids.append(amendment.id)
        people = {}
        for n in range(voters):
            email = f"voter{n + 1}@bench.consult.example"
            person = accounts.create_user(email=email, password=PASSWORD, display_name=f"Voter {n + 1}")
            record_agreement(person)  # as at sign-up: they sign in without the terms step
            people[email] = person.id
        db.session.commit()
        db.engine.dispose()
    return Seed(SLUG, ids, keys[:sections], people)


Target = tuple[str, int | str]  # ("amendment", id) or ("section", key)
UNKNOWN = object()  # the client cannot know what an exception left stored


@dataclass
class VoterLog:
    latencies: list[float] = field(default_factory=list)  # votes answered inside the window
    sent: int = 0  # every vote, warm-up included
    errors: int = 0
    statuses: Counter[int | str] = field(default_factory=Counter)
    expected: dict[Target, object] = field(default_factory=dict)  # last successful answer: value or None


def voter(
    client: Client,
    slug: str,
    targets: list[Target],
    rng: random.Random,
    measure_from: float,
    until: float,
    stop_now: threading.Event,
    out: VoterLog,
) -> None:
    """Closed loop: one vote at a time; mostly a value, sometimes a withdrawal."""
    while not stop_now.is_set() and time.perf_counter() < until:
        target = rng.choice(targets)
        value = WITHDRAW if rng.random() < 0.1 else rng.choice(VALUES)
        kind, item = target
        start = time.perf_counter()
        out.sent += 1
        try:
            reply = client.vote(slug, value, **({"contribution_id": item} if kind == "amendment" else {"section_key": item}))
        except (OSError, http.client.HTTPException) as error:
            failed, out.expected[target] = True, UNKNOWN
            out.statuses[type(error).__name__] += 1
        else:
            failed = not (200 <= reply.status < 300 or reply.redirect)
            out.statuses[reply.status if reply.redirect or not 300 <= reply.status < 400 else "to sign-in"] += 1
            if not failed:  # a refused vote changed nothing, so what is expected stays
                out.expected[target] = None if value == WITHDRAW else value
        end = time.perf_counter()
        out.errors += failed
        if measure_from <= start and end <= until:
            out.latencies.append(end - start)


def check(database_url: str, instance: Path, slug: str, clients: list[Client], logs: list[VoterLog]) -> dict[str, int]:
    """Compare what the clients saw with what is stored."""
    from sqlalchemy import func, select

    from consult import create_app
    from consult.core.models import db
    from consult.proposals.models import Consultation
    from consult.voting.models import Vote

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(instance)})
    with app.app_context():
        consultation_id = db.session.scalar(select(Consultation.id).where(Consultation.slug == slug))
        duplicated = db.session.execute(
            select(func.count()).select_from(
                select(Vote.user_id)
                .group_by(Vote.user_id, Vote.consultation_id, Vote.contribution_id, Vote.section_key)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        stored: dict[tuple[int, Target], str] = {}
        for user_id, contribution_id, section_key, value in db.session.execute(
            select(Vote.user_id, Vote.contribution_id, Vote.section_key, Vote.value).where(Vote.consultation_id == consultation_id)
        ):
            target = ("amendment", contribution_id) if contribution_id is not None else ("section", section_key)
            stored[(user_id, target)] = value
        db.engine.dispose()
    lost = phantom = unknown = checked = 0
    for client, log in zip(clients, logs, strict=True):
        mine = {target: value for (user_id, target), value in stored.items() if user_id == client.user_id}
        for target in log.expected.keys() | mine.keys():
            expected = log.expected.get(target)
            if expected is UNKNOWN:
                unknown += 1
                continue
            checked += 1
            if target not in log.expected:
                phantom += 1  # stored, though no vote of this client on it succeeded
            elif mine.get(target) != expected:
                lost += 1  # a value not stored as last seen, or a withdrawal that did not take
    return {
        "duplicated": duplicated,
        "lost": lost,
        "phantom": phantom,
        "checked": checked,
        "unknown": unknown,
        "rows": sum(1 for (user_id, _target) in stored if user_id in {c.user_id for c in clients}),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", help="postgresql://... URL; its public schema is DROPPED and recreated (default: a temporary SQLite file)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads, each signed in as its own user")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per target first")
    parser.add_argument("--amendments", type=int, default=8, help="amendments to vote on")
    parser.add_argument("--sections", type=int, default=8, help="sections to vote on (at most the demo's 21)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the clients' choices")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if args.database and not args.database.startswith(("postgresql://", "postgres://")):
        parser.error("--database takes a postgresql:// URL (SQLite is the default)")
    if min(args.workers, args.concurrency) < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--workers and --concurrency must be >= 1, --duration > 0, --warmup >= 0")
    if args.amendments < 0 or args.sections < 0 or args.amendments + args.sections == 0:
        parser.error("vote on at least one amendment or section")
    return args


def main() -> int:
    args = parse_args()
    if not (BIN / "gunicorn").exists():
        sys.exit(f"no gunicorn beside {sys.executable}; run this with the virtualenv's python")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks on kill, too
    stop_now = threading.Event()
    load_before = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="consult-bench-votes-") as tmp:
        instance = Path(tmp, "instance")
        if args.database:
            database_url = args.database
            kind = f"PostgreSQL {reset_postgresql(database_url)} (public schema reset)"
        else:
            database_url, kind = f"sqlite:///{tmp}/bench.db", f"SQLite {sqlite3.sqlite_version} (temporary file)"
        env = os.environ | {
            "CONSULT_DATABASE_URL": database_url,
            "CONSULT_SECRET_KEY": "bench",
            "CONSULT_SESSION_COOKIE_SECURE": "false",
            "CONSULT_INSTANCE_PATH": str(instance),
            "CONSULT_RATE_LIMITS": "false",
        }  # measures the votes, not the limits
        consult_cli(env, "db", "upgrade")
        consult_cli(env, "demo", "--quiet")
        data = seed(database_url, instance, voters=args.concurrency, amendments=args.amendments, sections=args.sections)
        targets: list[Target] = [("amendment", i) for i in data.amendments] + [("section", k) for k in data.sections]

        server, port = start_gunicorn(env, args.workers, Path(tmp, "gunicorn.log"))
        try:
            clients = sign_in_all(port, list(data.voters), PASSWORD)
            for client in clients:
                client.user_id = data.voters[client.email]
            amendment_page = f"/amendments/{data.amendments[0]}" if data.amendments else f"/c/{SLUG}"
            results = [
                load(port, "baseline", "/healthz", args, stop_now),
                load(port, "amendment page (GET)", amendment_page, args, stop_now),
            ]

            measure_from = time.perf_counter() + args.warmup
            until = measure_from + args.duration
            logs = [VoterLog() for _ in clients]
            threads = [
                threading.Thread(
                    target=voter,
                    daemon=True,
                    args=(client, SLUG, targets, random.Random(args.seed * 1000 + n), measure_from, until, stop_now, log),
                )
                for n, (client, log) in enumerate(zip(clients, logs, strict=True))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            stop_now.set()
            stop(server)
        counts = check(database_url, instance, SLUG, clients, logs)
        server_log = Path(tmp, "gunicorn.log").read_text(errors="replace")

    lat = sorted(x for log in logs for x in log.latencies)
    errors = sum(log.errors for log in logs)
    results.append(
        Result(
            target="vote (POST)",
            path=f"/c/{SLUG}/vote",
            requests=len(lat),
            errors=errors,
            seconds=args.duration,
            rps=len(lat) / args.duration,
            p50_ms=percentile_ms(lat, 50),
            p90_ms=percentile_ms(lat, 90),
            p99_ms=percentile_ms(lat, 99),
        )
    )
    setup: dict[str, object] = {
        "workers": f"{args.workers} (gunicorn sync)",
        "concurrency": f"{args.concurrency} client threads, closed loop; voters each signed in as their own user",
        "duration": f"{args.duration:g} s measured after {args.warmup:g} s warm-up, per target",
        "database": kind,
        "python": platform.python_version(),
        "gunicorn": importlib.metadata.version("gunicorn"),
        "cpus": os.cpu_count(),
        "load average": f"{load_before} (1/5/15 min, before the run)",
        "vote targets": f"{len(data.amendments)} amendments and {len(data.sections)} sections; "
        f"values support/oppose/abstain, 1 in 10 a withdrawal",
    }
    base, *others = results
    ratios = {
        r.target: {"rps": ratio(r.rps, base.rps), "p50": ratio(r.p50_ms, base.p50_ms), "p99": ratio(r.p99_ms, base.p99_ms)} for r in others
    }
    report(setup, results, ratios)
    statuses: Counter[int | str] = sum((log.statuses for log in logs), Counter())
    sent = sum(log.sent for log in logs)
    print()
    print(
        f"votes sent:     {sent} in all, warm-up included; answers: " + ", ".join(f"{k} x{v}" for k, v in sorted(statuses.items(), key=str))
    )
    print(
        f"checked:        {counts['checked']} (user, item) pairs against the database "
        f"({counts['rows']} vote rows stored; {counts['unknown']} left unknown by an exception)"
    )
    print(f"errors:         {errors} (non-2xx/3xx answers, redirects to sign-in, or exceptions)")
    print(f"lost votes:     {counts['lost']} (the last answer a client saw succeed is not what is stored)")
    print(f"duplicated:     {counts['duplicated']} (user and item with more than one row)")
    print(f"phantom:        {counts['phantom']} (stored, though no vote of that client on that item succeeded)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "setup": setup,
                    "results": [asdict(r) for r in results],
                    "ratios": ratios,
                    "integrity": {"errors": errors, **counts},
                    "sent": sent,
                },
                indent=2,
            )
            + "\n"
        )
    bad = errors + counts["lost"] + counts["duplicated"] + counts["phantom"]
    if errors and "Traceback" in server_log:
        first = server_log.index("Traceback")
        print(f"\nthe server's log from its first traceback:\n{server_log[max(0, first - 300) : first + 6000]}", file=sys.stderr)
    if bad:
        print(
            f"\nFAILED: {errors} error(s), {counts['lost']} lost, {counts['duplicated']} duplicated, {counts['phantom']} phantom",
            file=sys.stderr,
        )
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; gunicorn stopped")
