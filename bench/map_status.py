"""The opinion map's page at national scale: what it costs to know whether the stored map is current.

A consultation with ``--participants`` x ``--statements`` votes on statements (5,000 x 500:
2.5 million, written with COPY) on PostgreSQL (``--postgres``, a database used for nothing else:
its public schema is reset) or a temporary SQLite file. It times, ``--runs`` times each (p50 and
max, ms): the COUNT and MAX over the statement votes that every view of the map page and every
poll of its status ran until 2026-12-07 (``votes_fingerprint``), then ``cached_map`` as the page
and the poll call it now, once the map was computed (its change stamps unmoved: no COUNT), and
once another write (a comment) moved the stamps (the votes counted again, once, until the job
records the new stamps).

    .venv/bin/python bench/map_status.py [--postgres URL] [--participants 5000] [--statements 500] [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, runs: int) -> tuple[float, float]:
    ms = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - start) * 1000)
    return statistics.median(ms), max(ms)


def write_votes(url: str, consultation_id: int, version_id: int, participants: int, statements: int) -> None:
    """Participants, statements and every participant's vote on every statement, in bulk."""
    rng = random.Random(1)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    values = ("agree", "disagree", "pass")
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url) as con:
            cur = con.cursor()
            user0 = cur.execute("SELECT coalesce(max(id), 0) FROM users").fetchone()[0] + 1
            item0 = cur.execute("SELECT coalesce(max(id), 0) FROM contributions").fetchone()[0] + 1
            with cur.copy("COPY users (id, email, display_name, password_hash, is_site_admin, created_at, external_id) FROM STDIN") as copy:
                for i in range(participants):
                    copy.write_row((user0 + i, f"p{i}@bench.test", f"P{i}", "", False, now, f"p{i}"))
            columns = "id, consultation_id, kind, author_id, depth, version_id, body, body_html, moderation_state, created_at, hidden_reason, language"
            with cur.copy(f"COPY contributions ({columns}) FROM STDIN") as copy:
                for j in range(statements):
                    copy.write_row(
                        (item0 + j, consultation_id, "statement", user0, 0, version_id, f"S{j}", f"<p>S{j}</p>", "visible", now, "", "en")
                    )
            with cur.copy("COPY votes (user_id, consultation_id, contribution_id, value, created_at, updated_at) FROM STDIN") as copy:
                for i in range(participants):
                    for j in range(statements):
                        copy.write_row((user0 + i, consultation_id, item0 + j, rng.choice(values), now, now))
            cur.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), %s)", (user0 + participants,))
            cur.execute("SELECT setval(pg_get_serial_sequence('contributions', 'id'), %s)", (item0 + statements,))
            con.commit()
            cur.execute("ANALYZE")
        return
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    user0 = con.execute("SELECT coalesce(max(id), 0) FROM users").fetchone()[0] + 1
    item0 = con.execute("SELECT coalesce(max(id), 0) FROM contributions").fetchone()[0] + 1
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.000000")
    con.executemany(
        "INSERT INTO users (id, email, display_name, password_hash, is_site_admin, created_at, external_id) VALUES (?, ?, ?, '', 0, ?, ?)",
        ((user0 + i, f"p{i}@bench.test", f"P{i}", stamp, f"p{i}") for i in range(participants)),
    )
    con.executemany(
        "INSERT INTO contributions (id, consultation_id, kind, author_id, depth, version_id, body, body_html, moderation_state,"
        " created_at, hidden_reason, language, is_meta) VALUES (?, ?, 'statement', ?, 0, ?, ?, ?, 'visible', ?, '', 'en', 0)",
        ((item0 + j, consultation_id, user0, version_id, f"S{j}", f"<p>S{j}</p>", stamp) for j in range(statements)),
    )
    con.executemany(
        "INSERT INTO votes (user_id, consultation_id, contribution_id, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        ((user0 + i, consultation_id, item0 + j, rng.choice(values), stamp, stamp) for i in range(participants) for j in range(statements)),
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="postgresql://... of a database used for nothing else (its public schema is reset)")
    parser.add_argument("--participants", type=int, default=5000)
    parser.add_argument("--statements", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from consult import create_app
    from consult.comments import services as comments
    from consult.core.models import db
    from consult.voting import statements
    from tests.factories import make_consultation, make_organisation, make_user

    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{tmp}/bench.db"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": tmp, "RATE_LIMITS": False, "JOBS_IMMEDIATE": False})
        with app.test_request_context():
            if args.postgres:
                from bench.pages import reset_postgresql

                reset_postgresql(url)
            from flask_migrate import upgrade

            upgrade()
            organisation = make_organisation(slug="bench", name="Bench council")
            author = make_user(role="author", organisation=organisation)
            consultation = make_consultation(organisation, author=author, state="open", slug="map", title="The map")
            db.session.commit()
            cid, vid, author_id = consultation.id, consultation.current_version.id, author.id
            db.session.remove()
            started = time.perf_counter()
            write_votes(url, cid, vid, args.participants, args.statements)
            print(f"{args.participants * args.statements:,} votes written in {time.perf_counter() - started:.0f} s ({url.split(':')[0]})")

            from consult.accounts.models import User
            from consult.proposals.models import Consultation

            consultation, author = db.session.get(Consultation, cid), db.session.get(User, author_id)

            def fresh(fn):
                def run():
                    fn()
                    db.session.rollback()  # each view is a request of its own: nothing kept in the session

                return run

            before = timed(fresh(lambda: statements.votes_fingerprint(consultation)), args.runs)
            started = time.perf_counter()
            statements.compute_map(consultation)
            db.session.commit()
            computed = time.perf_counter() - started
            assert statements.cached_map(consultation).current
            db.session.rollback()
            now = timed(fresh(lambda: statements.cached_map(consultation)), args.runs)
            comments.post_comment(consultation, actor=author, body="A comment: the stamps move, the votes do not.")
            db.session.commit()
            moved = timed(fresh(lambda: statements.cached_map(consultation)), args.runs)
            assert statements.cached_map(consultation).current  # counted: the votes did not change
            db.session.rollback()

    rows = {
        "votes counted (every view until 2026-12-07)": before,
        "cached_map, stamps unmoved (now)": now,
        "cached_map, stamps moved by a comment (until the job records them)": moved,
    }
    print(f"map computed in {computed:.1f} s")
    print(f"{'':<70} {'p50 ms':>8} {'max ms':>8}")
    for name, (p50, worst) in rows.items():
        print(f"{name:<70} {p50:8.2f} {worst:8.2f}")
    if args.json:
        args.json.write_text(json.dumps({name: {"p50_ms": p50, "max_ms": worst} for name, (p50, worst) in rows.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
