"""The moderators' themes page (``/c/SLUG/themes``) of a consultation with 1,200 contributions.

Builds two open consultations with the same text in a fresh database (a temporary SQLite file,
or the PostgreSQL database given with ``--database``, whose public schema is DROPPED and
recreated): the floor, with no contributions, and one with ``--contributions`` comments (real
statements of the Scoop HiveMind biodiversity conversation, tests/data/polis, CC BY 4.0,
through the app's own ``post_comment``), a third of them tagged with one of three themes. A
moderator signs in through the app's test client.

The suggested groups are computed by a job (``moderation.suggestions``): the first view queues
it, the script runs it as ``consult worker`` would, then times ``--requests`` views of each
page, alternately, as the moderator sees them (suggestions cached). It prints the medians, the
ratio to the floor and the target (200 ms at 1,200 contributions); it exits 1 if a view
failed, if the suggestions were not shown from the cache, or if the median is above the target
(printed, not a test: tests never assert on time).

    .venv/bin/python bench/themes.py [--contributions 1200] [--requests 30] [--database URL]
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATEMENTS = ROOT / "tests" / "data" / "polis" / "scoop-hivemind.biodiversity" / "comments.csv"
POLICY = """## Purpose

This policy sets out how the council protects biodiversity.

## Scope

It applies to every park, reserve and waterway the council manages.
"""
PASSWORD = "bench-password-1"
TARGET_MS = 200.0


def load_statements() -> list[str]:
    with STATEMENTS.open(newline="", encoding="utf-8") as file:
        return [row["comment-body"] for row in csv.DictReader(file) if row["comment-body"].strip()]


def build(app, contributions: int) -> tuple[str, str]:
    """The two consultations (slugs: the floor first), a moderator, the contributions and themes."""
    from consult.accounts.models import Role
    from consult.accounts.services import _new_organisation, create_user, grant_role
    from consult.comments.services import post_comment
    from consult.core.models import db
    from consult.moderation import services as moderation
    from consult.proposals import services as proposals
    from consult.proposals.importing import split_markdown
    from consult.proposals.models import Transition

    rng = random.Random(17)
    statements = load_statements()
    with app.app_context():
        organisation = _new_organisation(slug="bench", name="Bench Council")
        author = create_user(email="author@bench.example", password=PASSWORD, display_name="Author")
        grant_role(organisation, author, Role.AUTHOR)
        moderator = create_user(email="moderator@bench.example", password=PASSWORD, display_name="Moderator")
        grant_role(organisation, moderator, Role.MODERATOR)
        made = []
        for slug in ("floor", "busy"):
            c = proposals.create_consultation(organisation, actor=author, slug=slug, title=f"The {slug} consultation")
            proposals.save_draft_text(c, split_markdown(POLICY), actor=author)
            proposals.publish_version(c, actor=author)
            proposals.change_state(c, Transition.OPEN, actor=author)
            made.append(c)
        floor, busy = made
        people = [create_user(email=f"person{n}@bench.example", password=PASSWORD, display_name=f"Person {n}") for n in range(40)]
        written = [
            post_comment(busy, actor=rng.choice(people), body=rng.choice(statements), section_key=rng.choice([None, "purpose", "scope"]))
            for _ in range(contributions)
        ]
        themes = [moderation.create_theme(c, actor=moderator, name=name) for c in (busy,) for name in ("Rivers", "Trees", "Birds")]
        for n, theme in enumerate(themes):
            moderation.tag(theme, written[n::9], actor=moderator)
        db.session.commit()
        return floor.slug, busy.slug


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contributions", type=int, default=1200, help="comments on the busy consultation (default 1200)")
    parser.add_argument("--requests", type=int, default=30, help="timed views of each page (default 30)")
    parser.add_argument(
        "--database", help="postgresql://... URL; its public schema is DROPPED and recreated (default: a temporary SQLite file)"
    )
    args = parser.parse_args(argv)

    from flask_migrate import upgrade

    from consult import create_app
    from consult.core.jobs import queue
    from consult.core.models import db

    with tempfile.TemporaryDirectory(prefix="consult-bench-") as tmp:
        if args.database:
            sys.path.insert(0, str(Path(__file__).parent))
            from pages import reset_postgresql

            database_url, kind = args.database, f"PostgreSQL {reset_postgresql(args.database)}"
        else:
            database_url, kind = f"sqlite:///{tmp}/bench.db", "SQLite (temporary file)"
        app = create_app(
            {
                "INSTANCE_PATH": tmp,  # the job queue and the suggestions' files, as in production
                "DATABASE_URL": database_url,
                "SECRET_KEY": "bench",
                "WTF_CSRF_ENABLED": False,
                "RATE_LIMITS": False,
                "SESSION_COOKIE_SECURE": False,
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # 42 accounts to make: the page is measured, not hashing
            }
        )
        with app.app_context():
            upgrade()
        started = time.perf_counter()
        floor, busy = build(app, args.contributions)
        built = time.perf_counter() - started

        client = app.test_client()
        reply = client.post("/signin", data={"email": "moderator@bench.example", "password": PASSWORD})
        if reply.status_code != 302:
            print(f"ERROR: signing in answered {reply.status_code}", file=sys.stderr)
            return 1
        huey = queue(app).huey
        for slug in (floor, busy):  # the first view queues the suggestions; the worker computes them
            client.get(f"/c/{slug}/themes")
        started = time.perf_counter()
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
        computed = time.perf_counter() - started

        times: dict[str, list[float]] = {floor: [], busy: []}
        shown = True
        for _ in range(args.requests):
            for slug in (floor, busy):
                started = time.perf_counter()
                reply = client.get(f"/c/{slug}/themes")
                times[slug].append(time.perf_counter() - started)
                if reply.status_code != 200:
                    print(f"ERROR: GET /c/{slug}/themes answered {reply.status_code}", file=sys.stderr)
                    return 1
                if slug == busy:
                    shown = shown and "Make this group a theme" in reply.get_data(as_text=True)
        with app.app_context():
            db.engine.dispose()

    print(f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {kind}")
    print(f"contributions: {args.contributions:,} on the busy consultation (built in {built:.1f} s); requests: {args.requests} on each")
    print(f"suggestions: computed once by the job in {computed:.2f} s, then read from the cache by every view\n")
    print("GET /c/SLUG/themes, a moderator (first page of 50 contributions to tag, themes, suggested groups)")
    low, high = statistics.median(times[floor]), statistics.median(times[busy])
    for label, slug, median in (("no contributions (floor)", floor, low), (f"{args.contributions:,} contributions", busy, high)):
        ordered = sorted(times[slug])
        p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
        print(f"  {label + ':':28} median {median * 1000:7.1f} ms, p90 {p90 * 1000:7.1f} ms, best {ordered[0] * 1000:7.1f} ms")
    print(f"  ratio (median): {high / low:.2f}x the floor; target: {TARGET_MS:.0f} ms at 1,200 contributions")

    failed = False
    if not shown:
        print("ERROR: the suggested groups were not shown from the cache", file=sys.stderr)
        failed = True
    if high * 1000 > TARGET_MS:
        print(f"ERROR: the median, {high * 1000:.1f} ms, is above the target of {TARGET_MS:.0f} ms", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
