"""Search: index 100,000 realistic contributions, then time queries, Whoosh against SQLite FTS5.

The contributions are comments and replies (one in five a reply) spread over 20 open
consultations made with the app's own services; their text is drawn (seeded) from a
vocabulary of 20,000 words with a Zipf-Mandelbrot distribution (the 200 commonest are real
English and policy words, the rest invented; the commonest is in about one contribution in
seven), two words in five being stop words, 15 to 90 words each, as people write. They are written with one Core INSERT per batch (no ORM events),
then indexed as ``consult reindex`` does.

It prints, for each engine: the time to build the index from the database, its size on disk,
and p50/p99 latency of ``--queries`` one-word, two-word and three-word queries (a page of 20 ranked
results with highlighted snippets and the total count), and of two-word phrases taken from
the texts (``"tree bench"``), each engine having first answered as many other queries of each
kind, untimed (a process that has served searches; Whoosh's per-process memory is dropped
before each run). For Whoosh the query goes through
``consult.search.services.search`` (parsing, filters, the check of the page against the
database: what the web page and the API pay); the backend alone is timed too. The SQLite FTS5
baseline is an external-content-free FTS5 table (porter stemming) with ``bm25`` ranking,
``snippet()`` and ``count(*)``: what the same page would cost there. With ``--postgres URL``
(a database used for nothing else: its schema is rebuilt) the PostgreSQL backend is timed too.
Hostile queries (``*a*``, ``state:hidden``…) are timed as well.

    .venv/bin/python bench/search.py [--contributions 100000] [--queries 300] [--seed 1] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMON = [
    "council",
    "policy",
    "data",
    "open",
    "public",
    "transport",
    "housing",
    "school",
    "park",
    "road",
    "bus",
    "tram",
    "bike",
    "cycle",
    "lane",
    "street",
    "safety",
    "noise",
    "air",
    "water",
    "energy",
    "climate",
    "budget",
    "tax",
    "fee",
    "service",
    "library",
    "health",
    "care",
    "child",
    "family",
    "older",
    "people",
    "disabled",
    "access",
    "ramp",
    "toilet",
    "bench",
    "tree",
    "green",
    "space",
    "planning",
    "permission",
    "building",
    "height",
    "density",
    "rent",
    "owner",
    "tenant",
    "landlord",
    "parking",
    "car",
    "speed",
    "limit",
    "crossing",
    "pavement",
    "light",
    "night",
    "police",
    "crime",
    "waste",
    "recycling",
    "bin",
    "collection",
    "street",
    "cleaning",
    "graffiti",
    "dog",
    "playground",
    "sport",
    "pool",
    "leisure",
    "centre",
    "market",
    "shop",
    "business",
    "job",
    "employment",
    "training",
    "college",
    "university",
    "student",
    "youth",
    "club",
    "art",
    "culture",
    "museum",
    "festival",
    "event",
    "consultation",
    "proposal",
    "section",
    "amendment",
    "comment",
    "support",
    "oppose",
    "agree",
    "disagree",
    "change",
    "improve",
    "reduce",
    "increase",
    "protect",
    "fund",
    "invest",
    "cost",
    "money",
    "time",
    "week",
    "month",
    "year",
    "plan",
    "strategy",
    "report",
    "review",
    "evidence",
    "survey",
    "resident",
    "community",
    "neighbourhood",
    "village",
    "town",
    "city",
    "district",
    "ward",
    "councillor",
    "officer",
    "department",
    "contractor",
    "procurement",
    "software",
    "source",
    "code",
    "licence",
    "privacy",
    "personal",
    "information",
    "publish",
    "online",
    "website",
    "form",
    "paper",
    "letter",
    "phone",
    "email",
    "meeting",
    "hall",
    "vote",
    "election",
    "transparent",
    "accountable",
    "fair",
    "equal",
    "inclusive",
    "sustainable",
    "affordable",
    "reliable",
    "frequent",
    "quiet",
    "clean",
    "safe",
    "friendly",
    "local",
    "national",
    "regional",
    "rural",
    "urban",
    "coastal",
    "river",
    "canal",
    "harbour",
    "bridge",
    "tunnel",
    "ferry",
    "station",
    "stop",
    "route",
    "timetable",
    "ticket",
    "fare",
    "discount",
    "pass",
    "card",
    "app",
    "digital",
    "broadband",
    "internet",
    "signal",
]


STOP = [
    "the",
    "and",
    "of",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "on",
    "be",
    "as",
    "with",
    "are",
    "this",
    "by",
    "not",
    "or",
    "we",
    "our",
    "should",
    "all",
    "have",
    "from",
    "at",
]


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    words = list(dict.fromkeys(COMMON))
    syllables = ["ka", "lo", "mi", "ter", "shan", "bel", "dor", "ven", "ril", "tos", "pra", "gle", "mun", "fie", "zor"]
    while len(words) < size:
        w = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if w not in words:
            words.append(w)
    return words


def texts(rng: random.Random, words: list[str], n: int) -> list[str]:
    # Zipf-Mandelbrot (1 / (rank + 30)): the commonest content word is about 0.5 % of the
    # content words, as "council" is in a council's consultation; two words in five are stop words.
    weights = [1 / (i + 30) for i in range(len(words))]
    out = []
    for _ in range(n):
        length = rng.randint(15, 90)
        body = [rng.choice(STOP) if rng.random() < 0.4 else w for w in rng.choices(words, weights=weights, k=length)]
        body[0] = body[0].capitalize()
        out.append(" ".join(body) + ".")
    return out


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn, queries: list[str], warm: list[str] = ()) -> tuple[float, float]:
    """p50 and p99 of ``fn`` over ``queries``, after ``warm`` (other queries of the same kind,
    not timed: a process that has served some searches, as a server's has)."""
    for q in [*warm, queries[0]]:
        fn(q)
    ms = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        ms.append((time.perf_counter() - start) * 1000)
    return percentile(ms, 50), percentile(ms, 99)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_database(app, n: int, rng: random.Random, words: list[str]) -> list[str]:

    from consult.contributions.models import Contribution
    from consult.core.models import db, utcnow
    from tests.factories import make_consultation, make_organisation, make_user

    organisation = make_organisation(slug="bench", name="Bench council")
    author = make_user(role="author", organisation=organisation)
    consultations = [
        make_consultation(organisation, author=author, state="open", slug=f"c{i}", title=f"Consultation {i} on {words[i * 7]}")
        for i in range(20)
    ]
    people = [make_user() for _ in range(200)]
    db.session.commit()
    versions = {c.id: c.current_version.id for c in consultations}
    consultation_ids = list(versions)
    people_ids = [p.id for p in people]
    db.session.close()  # release SQLite's write lock before the Core writes
    bodies = texts(rng, words, n)
    now = utcnow()
    table = Contribution.__table__
    with db.engine.begin() as connection:  # Core, no ORM events: the index is built afterwards
        roots: list[tuple[int, int]] = []
        next_id = 1
        batch = []
        for i, body in enumerate(bodies):
            cid = consultation_ids[i % len(consultation_ids)]
            reply = bool(roots) and rng.random() < 0.2
            parent = rng.choice(roots) if reply else None
            if reply:
                cid = parent[1]
            row = {
                "id": next_id,
                "consultation_id": cid,
                "kind": "reply" if reply else "comment",
                "author_id": rng.choice(people_ids),
                "parent_id": parent[0] if reply else None,
                "thread_id": parent[0] if reply else None,
                "depth": 1 if reply else 0,
                "version_id": versions[cid],
                "section_key": None,
                "body": body,
                "body_html": f"<p>{body}</p>",
                "moderation_state": "visible",
                "created_at": now - timedelta(seconds=n - i),
                "hidden_reason": "",
            }
            if not reply:
                roots.append((next_id, cid))
            batch.append(row)
            next_id += 1
            if len(batch) == 5000:
                connection.execute(table.insert(), batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
    return bodies


def phrases(rng: random.Random, bodies: list[str], n: int) -> list[str]:
    """Two neighbouring words of a text that are not stop words, quoted: each finds its text at least."""
    stop = set(STOP)
    out = []
    while len(out) < n:
        words = [w.strip(".").lower() for w in rng.choice(bodies).split()]
        pairs = [(a, b) for a, b in zip(words, words[1:], strict=False) if a not in stop and b not in stop and a != b]
        if pairs:
            first, second = rng.choice(pairs)
            out.append(f'"{first} {second}"')
    return out


def fts5_baseline(bodies: list[str], folder: Path, kinds: dict[str, list[str]], warm: dict[str, list[str]]) -> dict:
    path = folder / "fts5.db"
    con = sqlite3.connect(path)
    start = time.perf_counter()
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    con.executemany("INSERT INTO docs (title, body) VALUES ('', ?)", ((b,) for b in bodies))
    con.commit()
    build = time.perf_counter() - start

    def query(q: str):
        match = q if q.startswith('"') else " AND ".join(f'"{w}"' for w in q.split())
        con.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (match,)).fetchone()
        con.execute(
            "SELECT rowid, snippet(docs, 1, '<mark>', '</mark>', ' … ', 20) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 20",
            (match,),
        ).fetchall()

    result = {"build": build, "size": path.stat().st_size, **{kind: timed(query, queries, warm[kind]) for kind, queries in kinds.items()}}
    con.close()
    return result


def fts5_from_documents(docs, path: Path) -> float:
    """Seconds to build an FTS5 table from the app's own stream of documents (``docs``, read
    from the database as ``consult reindex`` reads them), with every field the Whoosh index
    keeps: the same work as the Whoosh build but for the engine. ``bench/all`` judges the Whoosh
    build against it; ``fts5_baseline`` times FTS5 fed the texts already in memory."""
    con = sqlite3.connect(path)
    start = time.perf_counter()
    con.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(key UNINDEXED, kind UNINDEXED, consultation UNINDEXED, section UNINDEXED, "
        "state UNINDEXED, thread UNINDEXED, ref UNINDEXED, date UNINDEXED, language UNINDEXED, title, body, "
        "tokenize='porter unicode61')"
    )
    con.executemany(
        "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                d.key,
                d.kind,
                d.consultation_id,
                d.section_key,
                d.state,
                d.thread_id,
                d.ref_id,
                d.date.isoformat(),
                d.language,
                d.title,
                d.body,
            )
            for d in docs
        ),
    )
    con.commit()
    took = time.perf_counter() - start
    con.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contributions", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=None, help="postgresql://… of a database used for nothing else (its schema is rebuilt)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    from consult import create_app
    from consult.core.models import db, sqlite_write_intent
    from consult.search import documents, services
    from consult.search.query import QueryError, parse

    rng = random.Random(args.seed)
    words = vocabulary(rng)
    # Query words: common and rare words alike, as people type them.
    pool = words[:1000]
    one = [rng.choice(pool) for _ in range(args.queries)]
    three = [" ".join(rng.sample(pool[:300], 3)) for _ in range(args.queries)]
    two = [" ".join(rng.sample(pool[:300], 2)) for _ in range(args.queries)]
    kinds = {"1 word": one, "2 words": two, "3 words": three}  # and "phrase", once the texts are written
    # Each engine first answers as many other queries of each kind, untimed (see ``timed``).
    other = random.Random(args.seed + 10)
    warm = {
        "1 word": [other.choice(pool) for _ in range(args.queries)],
        "2 words": [" ".join(other.sample(pool[:300], 2)) for _ in range(args.queries)],
        "3 words": [" ".join(other.sample(pool[:300], 3)) for _ in range(args.queries)],
    }
    hostile = ["*a*", "*", "state:hidden", "a* b* c* d* e*", "[a TO z]", "email:*@*", "x" * 199, '"' * 150]

    print(
        f"Python {platform.python_version()} on {platform.machine()}, {args.contributions:,} contributions, {args.queries} queries of each kind"
    )
    engines = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        targets = [("whoosh", f"sqlite:///{folder / 'bench.db'}", {})]
        if args.postgres:
            targets.append(("postgres", args.postgres, {"SEARCH_BACKEND": "postgres"}))
        bodies = None
        for name, url, extra in targets:
            app = create_app(
                {
                    "TESTING": True,
                    "DATABASE_URL": url,
                    "SECRET_KEY": "bench",
                    "INSTANCE_PATH": str(folder / name),
                    "SEARCH_DIR": str(folder / f"{name}-index"),
                    "RATE_LIMITS": False,
                    "SERVER_NAME": "bench.test",
                    **extra,
                }
            )
            with app.test_request_context():
                if name == "postgres":
                    from flask_migrate import upgrade
                    from sqlalchemy import text

                    with db.engine.begin() as connection:
                        connection.execute(text("DROP SCHEMA public CASCADE"))
                        connection.execute(text("CREATE SCHEMA public"))
                    upgrade()
                else:
                    db.create_all()
                rng_db = random.Random(args.seed + 1)
                bodies = build_database(app, args.contributions, rng_db, words)
                if name == "whoosh":
                    fts5_documents_build = fts5_from_documents(documents.all_documents(db.session), folder / "fts5-documents.db")
                    db.session.rollback()
                backend = services.backend()
                token = sqlite_write_intent.set(name == "postgres")
                start = time.perf_counter()
                count = backend.rebuild(db.session)
                db.session.commit()
                build = time.perf_counter() - start
                sqlite_write_intent.reset(token)
                size = backend.size_bytes(db.session) if name == "postgres" else folder_size(folder / f"{name}-index")

                def measured(fn, queries, kind, backend=backend):
                    """Timed as a process that has answered only the warm-up queries: what it
                    kept from the last run (open searchers, arrays, pages of hits) is dropped."""
                    if hasattr(backend, "forget"):
                        backend.forget()
                    return timed(fn, queries, warm[kind])

                def page(q: str, services=services):
                    services.search(q)

                def raw(q: str, backend=backend):
                    backend.search(
                        db.session,
                        parse(q),
                        consultation_ids=None,  # any public consultation, as the search page asks it
                        kinds=None,
                        page=1,
                        per_page=20,
                        restrict_consultations=False,
                    )

                hostile_ms = []
                for q in hostile:
                    start = time.perf_counter()
                    try:
                        services.search(q)
                    except QueryError:
                        pass
                    hostile_ms.append((time.perf_counter() - start) * 1000)
                if "phrase" not in kinds:
                    kinds["phrase"] = phrases(random.Random(args.seed + 2), bodies, args.queries)
                    warm["phrase"] = phrases(random.Random(args.seed + 12), bodies, args.queries)
                engines.append(
                    (f"{name} (search page)", build, size, count, {k: measured(page, qs, k) for k, qs in kinds.items()}, max(hostile_ms))
                )
                engines.append((f"{name} (backend alone)", None, None, None, {k: measured(raw, qs, k) for k, qs in kinds.items()}, None))
                db.session.remove()
        base = fts5_baseline(bodies, folder, kinds, warm)
        engines.append(("sqlite fts5 (baseline)", base["build"], base["size"], len(bodies), {k: base[k] for k in kinds}, None))

    def cell(v, fmt):
        return format(v, fmt) if v is not None else format("-", ">" + fmt.split(".")[0].rstrip("df"))

    header = "".join(f" {k + ' p50':>12} {'p99':>7}" for k in kinds)
    print(f"{'engine':<26} {'index s':>8} {'size MB':>8} {'docs':>8}{header} {'hostile max':>11}")
    for label, build, size, count, times, worst in engines:
        cells = "".join(f" {p50:12.1f} {p99:7.1f}" for p50, p99 in times.values())
        print(f"{label:<26} {cell(build, '8.1f')} {cell(size and size / 1e6, '8.1f')} {cell(count, '8d')}{cells} {cell(worst, '11.1f')}")
    baseline = engines[-1][4]
    for label, _build, _size, _count, times, _worst in engines[:-1]:
        ratios = ", ".join(f"{k} {times[k][0] / max(baseline[k][0], 1e-9):.1f}x" for k in kinds)
        print(f"p50 against FTS5, {label}: {ratios}")
    print(f"sqlite fts5 built from the app's documents (read from the database, every field): {fts5_documents_build:.1f} s")
    print("latencies in ms; 'search page' includes parsing, filters and checking the page against the database")
    if args.json:
        rows = {
            label: {
                "build_s": build,
                "size_bytes": size,
                "docs": count,
                "ms": {kind: {"p50": p50, "p99": p99} for kind, (p50, p99) in times.items()},
                "hostile_max_ms": worst,
            }
            for label, build, size, count, times, worst in engines
        }
        summary = {
            "contributions": args.contributions,
            "queries": args.queries,
            "engines": rows,
            "fts5_from_documents_s": fts5_documents_build,
        }
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
