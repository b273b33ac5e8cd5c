"""Time and peak memory of `consult export` for a consultation with 100,000 contributions, against
a baseline of 10,000 in the same run, to show that the export's memory does not grow with size.

Builds a fresh database (a temporary SQLite file, or the PostgreSQL database given with
--database, whose public schema is DROPPED and recreated) with `consult db upgrade`, then
bulk-inserts two consultations on the demo's policy text (the 2016 draft and the final policy,
both published): `bench-baseline` with --baseline contributions and `bench-large` with --count,
the same mix of comments, replies, annotations (anchored on both versions), amendments (open,
answered, withdrawn, incorporated and cited), statements, votes, co-supporters, edits, themes,
summaries and moderation (hidden, deleted, pending, blocked and erased authors). Each export runs
`consult export` in a child process of its own, twice: once plain, for the time and ru_maxrss
(the process's peak resident memory, which also counts Python, the app and the libraries), once
under tracemalloc, for the peak of Python allocations during the export alone (slower, so its
time is not reported). See bench/README-export.md.

Then the public download, `/c/bench-large/record.zip`, through the app over HTTP (the Flask test
client, in a child process with jobs run immediately, so the first request builds the bundle
the way the worker would): the first download (fingerprint, build, send) and the second (the
fingerprint, then the stored file), timed separately.

    .venv/bin/python bench/export.py [--count 100000] [--baseline 10000] [--zip] [--database URL] [--download-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root, so that `bench` imports
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import ROOT, SENTENCES, consult_cli, reset_postgresql  # noqa: E402

FORBIDDEN_DATABASES = ("test", "consult_dev")  # the test suite's and the developers' own
CHUNK = 5_000
PASSWORD_HASH = "scrypt:32768:8:1$bench$" + "0" * 64  # nobody signs in; a well-formed placeholder


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="contributions of the large consultation")
    parser.add_argument("--baseline", type=int, default=10_000, help="contributions of the baseline consultation")
    parser.add_argument("--zip", action="store_true", help="export zip files (consult export --zip) instead of folders")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database", help="postgresql://... URL; its public schema is DROPPED and recreated (default: a temporary SQLite file)"
    )
    parser.add_argument("--download-only", action="store_true", help="skip the `consult export` runs; time only record.zip")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--download", nargs=2, metavar=("SLUG", "INSTANCE"), help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=3, metavar=("SLUG", "OUT", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.database:
        if not args.database.startswith(("postgresql://", "postgres://")):
            parser.error("--database takes a postgresql:// URL (SQLite is the default)")
        if args.database.rstrip("/").rsplit("/", 1)[-1].split("?")[0] in FORBIDDEN_DATABASES:
            parser.error(f"not the databases {' or '.join(FORBIDDEN_DATABASES)}: use a scratch one, e.g. consult_bench")
    if not 1 <= args.baseline <= args.count:
        parser.error("--baseline must be from 1 to --count")
    return args


# ---- the data ------------------------------------------------------------------------------------


def build(database_url: str, plan: dict[str, int], seed: int) -> dict[str, dict[str, int]]:
    """Create the people once, then each consultation of ``plan`` (slug -> contributions)."""
    from consult import create_app
    from consult.core.models import db

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"})
    made = {}
    with app.app_context():
        people = Population.create(max(plan.values()) // 20, seed)
        for slug, count in plan.items():
            made[slug] = BenchConsultation(slug, count, people, random.Random(f"{seed}-{slug}")).create()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # Statistics, as autovacuum would have them a minute later: right after a bulk insert
            # the planner believes the consultation has 257 contributions and nests loops.
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        db.engine.dispose()
    return made


def insert(model, rows: list[dict]) -> None:
    from sqlalchemy import insert as sql_insert

    from consult.core.models import db

    for start in range(0, len(rows), CHUNK):
        db.session.execute(sql_insert(model), rows[start : start + CHUNK])


class Population:
    """An organisation, its author and moderator, and ``size`` citizens, 1% of them blocked."""

    def __init__(self, organisation, author, citizens: list[int], blocked: list[int]):
        self.organisation, self.author, self.citizens, self.blocked = organisation, author, citizens, blocked

    @classmethod
    def create(cls, size: int, seed: int) -> Population:
        from consult.accounts.models import Role, User
        from consult.accounts.services import _new_organisation, grant_role
        from consult.core.models import db, utcnow
        from consult.moderation.models import Block

        organisation = _new_organisation(slug="bench", name="Bench Council")
        author = User(email="author@bench.consult.example", password_hash=PASSWORD_HASH, display_name="Bench Author", confirmed_at=utcnow())
        db.session.add(author)
        db.session.flush()
        grant_role(organisation, author, Role.AUTHOR)
        insert(
            User,
            [
                {
                    "email": f"citizen{n}@bench.consult.example",
                    "password_hash": PASSWORD_HASH,
                    "display_name": f"Citizen {n}",
                    "confirmed_at": utcnow(),
                }
                for n in range(size)
            ],
        )
        citizens = list(db.session.scalars(db.select(User.id).where(User.email.like("citizen%@bench.consult.example")).order_by(User.id)))
        blocked = random.Random(seed).sample(citizens, max(1, size // 100))
        insert(Block, [{"organisation_id": organisation.id, "user_id": u, "reason": "Spam."} for u in blocked])
        return cls(organisation, author, citizens, blocked)


class BenchConsultation:
    """One consultation with ``count`` contributions in a realistic mix (see MIX)."""

    MIX = (("comment", 0.45), ("reply", 0.25), ("annotation", 0.20), ("amendment", 0.08), ("statement", 0.02))

    def __init__(self, slug: str, count: int, people: Population, rng: random.Random):
        self.slug, self.count, self.people, self.rng = slug, count, people, rng

    def create(self) -> dict[str, int]:
        from sqlalchemy import func, select

        from consult.amendments import explanations
        from consult.amendments.models import Amendment, AmendmentNumbering, AmendmentSupporter, Citation
        from consult.comments.models import Anchor
        from consult.comments.services import anchor_text
        from consult.contributions.models import Contribution, ContributionRevision
        from consult.core.models import db, utcnow
        from consult.demo import policy_files
        from consult.moderation.models import ContributionTheme, ModerationLogEntry, SectionSummary, SummaryCitation, Theme
        from consult.proposals import services as proposals
        from consult.proposals.models import Transition
        from consult.voting.models import Vote

        rng, author = self.rng, self.people.author
        now = utcnow()
        c = proposals.create_consultation(
            self.people.organisation,
            actor=author,
            slug=self.slug,
            title=f"Bench consultation {self.slug}",
            summary="A consultation with many contributions.",
            opens_at=now - timedelta(days=60),
            closes_at=now + timedelta(days=30),
        )
        proposals.import_markdown(c, policy_files("v1-draft-2016-04"), actor=author)
        proposals.publish_version(c, actor=author)
        proposals.change_state(c, Transition.OPEN, actor=author)
        proposals.import_markdown(c, policy_files("v2-final-2016-08"), actor=author)
        for change in explanations.unexplained(c.draft_version):  # publishing needs a word on each change
            explanations.explain_change(c.draft_version, change.key, actor=author, reason="Rewritten for the final policy.")
        proposals.publish_version(c, actor=author, note="Final policy.")
        v1, v2 = c.published_versions
        texts = {v.id: {s.key: anchor_text(s) for s in v.sections} for v in (v1, v2)}
        bodies = {v.id: {s.key: s.body for s in v.sections} for v in (v1, v2)}
        spans = {key: [m.span() for m in re.finditer(r"\S+", t)] for key, t in texts[v1.id].items()}
        quotable = [key for key, words in spans.items() if len(words) >= 12]

        next_id = (db.session.scalar(select(func.max(Contribution.id))) or 0) + 1
        kinds = [k for k, _ in self.MIX]
        weights = [w for _, w in self.MIX]
        opened = (now - timedelta(days=59)).timestamp()
        rows, anchors, amendments, revisions, log = [], [], [], [], []
        threads: list[dict] = []  # roots and replies that can be answered
        for n in range(self.count):
            kind = rng.choices(kinds, weights)[0]
            who = rng.choice(self.people.citizens)
            row = {
                "id": next_id + n,
                "consultation_id": c.id,
                "kind": "comment" if kind == "annotation" else kind,
                "author_id": None if rng.random() < 0.01 else who,
                "version_id": v1.id,
                "section_key": None,
                "parent_id": None,
                "thread_id": None,
                "depth": 0,
                "body": " ".join(rng.sample(SENTENCES, rng.randint(1, 5))),
                "body_html": "",
                "moderation_state": "visible",
                "hidden_reason": "",
                "hidden_at": None,
                "edited_at": None,
                "deleted_at": None,
                "created_at": datetime.fromtimestamp(opened + n * (50 * 86400 / self.count), UTC),
            }
            row["body_html"] = f"<p>{row['body']}</p>"
            if kind == "reply" and threads:
                parent = rng.choice(threads)
                row.update(
                    parent_id=parent["id"],
                    thread_id=parent["thread_id"] or parent["id"],
                    depth=parent["depth"] + 1,
                    section_key=parent["section_key"],
                )
            elif kind == "reply":
                row["kind"] = "comment"
            elif kind == "annotation":
                row["section_key"] = key = rng.choice(quotable)
                words = spans[key]
                length = rng.randint(3, 12)
                first = rng.randrange(len(words) - length + 1)
                start, end = words[first][0], words[first + length - 1][1]
                text = texts[v1.id][key]
                quote = text[start:end]
                anchors.append(
                    {
                        "contribution_id": row["id"],
                        "version_id": v1.id,
                        "state": "anchored",
                        "section_key": key,
                        "start": start,
                        "end": end,
                        "exact": quote,
                        "prefix": text[max(0, start - 32) : start],
                        "suffix": text[end : end + 32],
                        "score": 100.0,
                    }
                )
                later = texts[v2.id].get(key, "")
                at = later.find(quote)
                anchors.append(
                    {
                        "contribution_id": row["id"],
                        "version_id": v2.id,
                        "state": "anchored" if at >= 0 else "orphaned",
                        "section_key": key if at >= 0 else None,
                        "start": at if at >= 0 else None,
                        "end": at + len(quote) if at >= 0 else None,
                        "exact": quote,
                        "prefix": "",
                        "suffix": "",
                        "score": 100.0 if at >= 0 else 0.0,
                    }
                )
            elif kind in ("comment", "amendment"):
                row["section_key"] = rng.choice(list(bodies[v1.id])) if kind == "amendment" or rng.random() < 0.75 else None
            if kind == "amendment":
                amendments.append(self._amendment(row["id"], bodies[v1.id][row["section_key"]], now, v2.id))
                amendments[-1].update(consultation_id=c.id, number=len(amendments))  # A1, A2... as take_number gives them
            if row["kind"] in ("comment", "reply") and row["depth"] < 3:
                threads.append(row)
            fate = rng.random()
            if fate < 0.01:
                row.update(moderation_state="hidden", hidden_reason="Off topic.", hidden_at=now)
                log.append(
                    {
                        "organisation_id": c.organisation_id,
                        "consultation_id": c.id,
                        "contribution_id": row["id"],
                        "subject_id": None,
                        "moderator_id": author.id,
                        "action": "hide",
                        "rule": "off_topic",
                        "reason": "Off topic.",
                    }
                )
            elif fate < 0.015:
                row.update(deleted_at=now, body="", body_html="")
            elif fate < 0.018:
                row["moderation_state"] = "pending"
                log.append(
                    {
                        "organisation_id": c.organisation_id,
                        "consultation_id": c.id,
                        "contribution_id": row["id"],
                        "subject_id": None,
                        "moderator_id": None,
                        "action": "hold",
                        "rule": "pre-moderation",
                        "reason": "Waiting for a moderator.",
                    }
                )
            elif fate < 0.038:
                row["edited_at"] = row["created_at"] + timedelta(minutes=5)
                revisions.append(
                    {
                        "contribution_id": row["id"],
                        "body": "An earlier text.",
                        "written_at": row["created_at"],
                        "replaced_at": row["edited_at"],
                    }
                )
            rows.append(row)
        log += [
            {
                "organisation_id": c.organisation_id,
                "consultation_id": c.id,
                "contribution_id": None,
                "subject_id": u,
                "moderator_id": author.id,
                "action": "block",
                "rule": "",
                "reason": "Spam.",
            }
            for u in self.people.blocked
        ]

        insert(Contribution, rows)
        insert(Anchor, anchors)
        insert(Amendment, amendments)
        if amendments:
            insert(AmendmentNumbering, [{"consultation_id": c.id, "last_number": len(amendments)}])
        insert(ContributionRevision, revisions)
        insert(ModerationLogEntry, log)
        amendment_ids = [a["contribution_id"] for a in amendments]
        statement_ids = [r["id"] for r in rows if r["kind"] == "statement"]
        votes = self._votes(c.id, amendment_ids, statement_ids, list(bodies[v1.id]))
        insert(Vote, votes)
        supporters = [
            {"amendment_id": a, "user_id": u}
            for a in amendment_ids
            if rng.random() < 0.2
            for u in rng.sample(self.people.citizens, rng.randint(1, 3))
        ]
        insert(AmendmentSupporter, supporters)
        insert(
            Citation,
            [
                {
                    "version_id": v2.id,
                    "section_key": rows[a["contribution_id"] - next_id]["section_key"],
                    "contribution_id": a["contribution_id"],
                }
                for a in amendments
                if a["state"] == "incorporated"
            ],
        )

        ids = [r["id"] for r in rows]
        for t in range(10):
            theme = Theme(consultation=c, name=f"Theme {t}", summary=f"Summary citing [#{rng.choice(ids)}].")
            db.session.add(theme)
            db.session.flush()
            insert(ContributionTheme, [{"theme_id": theme.id, "contribution_id": i} for i in rng.sample(ids, len(ids) // 50)])
            insert(SummaryCitation, [{"theme_id": theme.id, "contribution_id": i} for i in rng.sample(ids, 3)])
        for key in list(bodies[v1.id])[:5]:
            summary = SectionSummary(consultation_id=c.id, section_key=key, summary="What was said.")
            db.session.add(summary)
            db.session.flush()
            insert(SummaryCitation, [{"section_summary_id": summary.id, "contribution_id": i} for i in rng.sample(ids, 3)])
        db.session.flush()
        counted = {k: sum(1 for r in rows if r["kind"] == k) for k in ("comment", "reply", "amendment", "statement")}
        return {
            **counted,
            "annotations": len(anchors) // 2,
            "votes": len(votes),
            "hidden/deleted/pending": sum(1 for r in rows if r["moderation_state"] != "visible" or r.get("deleted_at")),
        }

    def _amendment(self, contribution_id: int, base: str, now: datetime, next_version_id: int) -> dict:
        rng = self.rng
        row = {
            "contribution_id": contribution_id,
            "proposed_text": base + "\n\n" + rng.choice(SENTENCES),
            "state": "open",
            "decision": None,
            "answer": "",
            "answered_at": None,
            "answered_by_id": None,
            "withdrawn_at": None,
            "incorporated_version_id": None,
        }
        fate = rng.random()
        if fate < 0.05:
            row.update(state="withdrawn", withdrawn_at=now)
        elif fate < 0.40:
            decision = rng.choice(["accepted", "accepted_in_part", "not_accepted", "out_of_scope"])
            row.update(
                state="answered",
                decision=decision,
                answer="Thank you for this amendment.",
                answered_at=now,
                answered_by_id=self.people.author.id,
            )
            if decision == "accepted" and rng.random() < 0.3:
                row.update(state="incorporated", incorporated_version_id=next_version_id)  # and cited there
        return row

    def _votes(self, consultation_id: int, amendments: list[int], statements: list[int], keys: list[str]) -> list[dict]:
        rng, citizens = self.rng, self.people.citizens
        votes = []
        for item in amendments:
            votes += [
                {
                    "user_id": u,
                    "consultation_id": consultation_id,
                    "contribution_id": item,
                    "section_key": None,
                    "value": rng.choice(("support", "support", "oppose", "abstain")),
                }
                for u in rng.sample(citizens, rng.randint(0, 16))
            ]
        for item in statements:
            votes += [
                {
                    "user_id": u,
                    "consultation_id": consultation_id,
                    "contribution_id": item,
                    "section_key": None,
                    "value": rng.choice(("agree", "disagree", "pass")),
                }
                for u in rng.sample(citizens, rng.randint(0, 30))
            ]
        for u in rng.sample(citizens, len(citizens) // 5):
            votes += [
                {
                    "user_id": u,
                    "consultation_id": consultation_id,
                    "contribution_id": None,
                    "section_key": key,
                    "value": rng.choice(("support", "oppose", "abstain")),
                }
                for key in rng.sample(keys, rng.randint(1, 3))
            ]
        now = datetime.now(UTC)
        return [{**vote, "created_at": now, "updated_at": now} for vote in votes]


# ---- measuring -------------------------------------------------------------------------------------


def child(args: argparse.Namespace) -> int:
    """Run `consult export` in this process and print its time and memory as JSON."""
    import tracemalloc

    import consult.record.export  # noqa: F401  (imported before measuring: not the export's memory)
    from consult import create_app

    slug, out, mode = args.child
    app = create_app({"DATABASE_URL": args.database_url, "SECRET_KEY": "bench"})
    runner = app.test_cli_runner()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if mode == "tracemalloc":
        tracemalloc.start()
    started = time.perf_counter()
    result = runner.invoke(
        args=["export", slug, out, "--base-url", "https://consult.example", *(["--zip"] if args.zip else [])], catch_exceptions=False
    )
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if mode == "tracemalloc" else None
    if result.exit_code != 0:
        print(result.output, file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "seconds": seconds,
                "tracemalloc_peak": peak,
                "rss_before_kb": rss_before,
                "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )
    return 0


def download(args: argparse.Namespace) -> int:
    """GET record.zip twice through the app and print both times as JSON."""
    import hashlib

    from consult import create_app

    slug, instance = args.download
    app = create_app(
        {
            "DATABASE_URL": args.database_url,
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": instance,
            "JOBS_IMMEDIATE": True,
            "RATE_LIMITS": False,
            "SESSION_COOKIE_SECURE": False,
        }
    )
    client = app.test_client()
    times, cpu, digests, sizes = [], [], [], []
    for _ in range(2):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(f"/c/{slug}/record.zip")
        body = response.get_data()  # the whole file, as a client receives it
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        if response.status_code != 200:
            print(f"{response.status_code}: {response.get_data(as_text=True)[:500]}", file=sys.stderr)
            return 1
        digests.append(hashlib.sha256(body).hexdigest())
        sizes.append(len(body))
    bundles = list(Path(instance, "bundles").glob("*.zip"))
    print(
        json.dumps(
            {
                "first": times[0],
                "second": times[1],
                "first_cpu": cpu[0],
                "second_cpu": cpu[1],
                "same": digests[0] == digests[1],
                "bytes": sizes[1],
                "bundles": len(bundles),
            }
        )
    )
    return 0


def run_self(*args: str) -> str:
    """This script in a child process; returns the last line it printed."""
    done = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def measure(database_url: str, slug: str, out: Path, mode: str, as_zip: bool) -> dict:
    result = json.loads(run_self("--child", slug, str(out), mode, "--database-url", database_url, *(["--zip"] if as_zip else [])))
    files = [out] if out.is_file() else [p for p in out.rglob("*") if p.is_file()]
    result["bytes"] = sum(p.stat().st_size for p in files)
    result["record_json_bytes"] = (out / "record.json").stat().st_size if out.is_dir() else None
    shutil.rmtree(out) if out.is_dir() else out.unlink()
    return result


def mb(n: float) -> str:
    return f"{n / 2**20:,.1f}"


def main() -> int:
    args = parse_args()
    if args.child:
        return child(args)
    if args.download:
        return download(args)
    plan = {"bench-baseline": args.baseline, "bench-large": args.count}
    if args.build:
        print(json.dumps(build(args.database_url, plan, args.seed)))
        return 0
    load_before = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="consult-bench-export-") as tmp:
        if args.database:
            database_url = args.database
            kind = f"PostgreSQL {reset_postgresql(database_url)} (public schema reset)"
        else:
            database_url, kind = f"sqlite:///{tmp}/bench.db", f"SQLite {sqlite3.sqlite_version} (temporary file)"
        env = os.environ | {"CONSULT_DATABASE_URL": database_url, "CONSULT_SECRET_KEY": "bench"}
        consult_cli(env, "db", "upgrade")
        started = time.perf_counter()
        # In a process of its own, like each export: Linux keeps a parent's peak RSS in the
        # ru_maxrss of the children it starts, and building holds every row in memory.
        made = json.loads(
            run_self(
                "--build",
                "--count",
                str(args.count),
                "--baseline",
                str(args.baseline),
                "--seed",
                str(args.seed),
                "--database-url",
                database_url,
            )
        )
        built = time.perf_counter() - started
        print(f"python:        {platform.python_version()}")
        print(f"database:      {kind}")
        print(f"cpus:          {os.cpu_count()}")
        print(f"load average:  {load_before} (1/5/15 min, before the run)")
        print(f"format:        {'zip (--zip)' if args.zip else 'folder'}")
        for slug, counts in made.items():
            print(f"{slug + ":":<16}{plan[slug]:,} contributions: " + ", ".join(f"{n:,} {k}" for k, n in counts.items()))
        print(f"built in:      {built:.1f} s (bulk inserts)")
        print()
        results = {}
        for slug in plan if not args.download_only else ():
            out = Path(tmp, slug + (".zip" if args.zip else ""))
            plain = measure(database_url, slug, out, "plain", args.zip)
            traced = measure(database_url, slug, out, "tracemalloc", args.zip)
            results[slug] = (plain, traced)
        fetched = json.loads(run_self("--download", "bench-large", str(Path(tmp, "instance")), "--database-url", database_url))

    if results:
        print_exports(args, plan, results)
    print(f"record.zip of bench-large over HTTP (Flask test client; {mb(fetched['bytes'])} MB):       wall      CPU")
    print(f"  first download  (fingerprint, build the bundle, send it): {fetched['first']:8.2f} s {fetched['first_cpu']:7.2f} s")
    print(
        f"  second download (fingerprint, send the stored file):      {fetched['second']:8.2f} s {fetched['second_cpu']:7.2f} s"
        f"{'' if fetched['same'] else '  (NOT the same bytes!)'}"
    )
    print(
        f"  (load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} after: on a loaded machine wall time is several times the CPU time)"
    )
    if args.json:
        exports = {slug: {"plain": plain, "tracemalloc": traced} for slug, (plain, traced) in results.items()}
        args.json.write_text(json.dumps({"plan": plan, "database": kind, "exports": exports, "download": fetched}, indent=2) + "\n")
    return 0 if fetched["same"] and fetched["bundles"] == 1 else 1


def print_exports(args: argparse.Namespace, plan: dict[str, int], results: dict) -> None:
    header = f"{'export':<16}{'contributions':>14}{'seconds':>9}{'contrib/s':>11}{'output MB':>11}{'tracemalloc peak MB':>21}{'ru_maxrss MB':>14}{'(before export)':>17}"
    print(header)
    print("-" * len(header))
    for slug, (plain, traced) in results.items():
        print(
            f"{slug:<16}{plan[slug]:>14,}{plain['seconds']:>9.2f}{plan[slug] / plain['seconds']:>11,.0f}{mb(plain['bytes']):>11}"
            f"{mb(traced['tracemalloc_peak']):>21}{mb(plain['maxrss_kb'] * 1024):>14}{mb(plain['rss_before_kb'] * 1024):>17}"
        )
    (small, small_traced), (large, large_traced) = results.values()
    growth = lambda r: (r["maxrss_kb"] - r["rss_before_kb"]) * 1024  # noqa: E731
    print()
    print(
        f"{args.count / args.baseline:g}x the contributions: {large['seconds'] / small['seconds']:.1f}x the time, "
        f"{large_traced['tracemalloc_peak'] / small_traced['tracemalloc_peak']:.2f}x the tracemalloc peak, "
        f"ru_maxrss {mb(small['maxrss_kb'] * 1024)} -> {mb(large['maxrss_kb'] * 1024)} MB "
        f"(grew {mb(growth(small))} -> {mb(growth(large))} MB during the export)"
    )
    print()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted")
