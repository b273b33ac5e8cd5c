"""An event on a consultation with 10,000 followers: the request that causes it, and the
worker's fan-out.

Builds two open consultations with the same text in a fresh database (a temporary SQLite file,
or the PostgreSQL database given with ``--database``, whose public schema is DROPPED and
recreated): one nobody follows, one with ``--followers`` followers (bulk-inserted people and
follows). An author of the organisation, signed in through the app's test client, sends an
update to the followers (``POST /c/SLUG/update``, the real view, service and permission
check) ``--requests`` times on each, alternately: the floor (no followers) and the followed
one, each request's time and SQL statements measured. Jobs are queued, as in production, not
run in the request.

Then the worker's part: the fan-out job of one update on the followed consultation, taken from
the queue and run as ``consult worker`` runs it, its time and SQL statements measured. It
exits 1 if the fan-out did not make one notification per follower, or if the request on the
followed consultation ran more statements than the floor's (the request must not grow with
the followers; the times are printed to compare, not asserted).

    .venv/bin/python bench/notifications.py [--followers 10000] [--requests 20] [--database URL]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy

POLICY = """## Purpose

This policy sets out how the council publishes open data.

## Scope

It applies to every department and to contractors working for them.
"""
PASSWORD = "bench-password-1"


class Statements:
    """Counts the SQL statements sent on an engine while ``counting()`` is open."""

    def __init__(self, engine: sqlalchemy.Engine):
        self.count, self.on = 0, False
        sqlalchemy.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        if self.on:
            self.count += 1

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.count, self.on = 0, True
        try:
            yield
        finally:
            self.on = False


def build(app, followers: int) -> tuple[str, str]:
    """The two consultations (slugs: nobody follows the first), the author and the followers."""
    from sqlalchemy import insert, select

    from consult.accounts.models import Role, User
    from consult.accounts.services import _new_organisation, create_user, grant_role
    from consult.core.models import db, utcnow
    from consult.notifications.models import Follow
    from consult.policies.services import record_agreement
    from consult.proposals import services as proposals
    from consult.proposals.importing import split_markdown
    from consult.proposals.models import Transition

    with app.app_context():
        organisation = _new_organisation(slug="bench", name="Bench Council")
        author = create_user(email="author@bench.example", password=PASSWORD, display_name="Author")
        record_agreement(author)  # as at sign-up: signing in asks no terms step
        grant_role(organisation, author, Role.AUTHOR)
        slugs = []
        for slug in ("quiet", "followed"):
            c = proposals.create_consultation(organisation, actor=author, slug=slug, title=f"A {slug} consultation")
            proposals.save_draft_text(c, split_markdown(POLICY), actor=author)
            proposals.publish_version(c, actor=author)
            proposals.change_state(c, Transition.OPEN, actor=author)
            slugs.append(c.slug)
        followed = c
        now = utcnow()
        db.session.execute(
            insert(User),
            [
                {"email": f"follower{n}@bench.example", "password_hash": "!", "display_name": f"Follower {n}", "created_at": now}
                for n in range(followers)
            ],
        )
        ids = db.session.scalars(select(User.id).where(User.email.like("follower%@bench.example"))).all()
        if ids:
            db.session.execute(
                insert(Follow),
                [
                    {
                        "user_id": i,
                        "consultation_id": followed.id,
                        "target": "consultation",
                        "active": True,
                        "automatic": False,
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
        db.session.commit()
    return slugs[0], slugs[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=10_000, help="followers of the followed consultation (default 10000)")
    parser.add_argument("--requests", type=int, default=20, help="updates sent on each consultation (default 20)")
    parser.add_argument(
        "--database", help="postgresql://... URL; its public schema is DROPPED and recreated (default: a temporary SQLite file)"
    )
    args = parser.parse_args(argv)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from consult import create_app
    from consult.core.jobs import queue
    from consult.core.models import db
    from consult.notifications.models import Event, Notification

    with tempfile.TemporaryDirectory(prefix="consult-bench-") as tmp:
        if args.database:
            sys.path.insert(0, str(Path(__file__).parent))
            from pages import reset_postgresql

            database_url, kind = args.database, f"PostgreSQL {reset_postgresql(args.database)}"
        else:
            database_url, kind = f"sqlite:///{tmp}/bench.db", "SQLite (temporary file)"
        app = create_app(
            {
                "INSTANCE_PATH": tmp,  # its job queue: jobs wait there for the worker, as in production
                "DATABASE_URL": database_url,
                "SECRET_KEY": "bench",
                "WTF_CSRF_ENABLED": False,
                "RATE_LIMITS": False,
                "SESSION_COOKIE_SECURE": False,
            }
        )
        with app.app_context():
            upgrade()
        started = time.perf_counter()
        quiet, followed = build(app, args.followers)
        built = time.perf_counter() - started
        huey = queue(app).huey
        with app.app_context():
            statements = Statements(db.engine)

        client = app.test_client()
        reply = client.post("/signin", data={"email": "author@bench.example", "password": PASSWORD})
        if reply.status_code != 302:
            print(f"ERROR: signing in answered {reply.status_code}", file=sys.stderr)
            return 1

        times: dict[str, list[float]] = {quiet: [], followed: []}
        counts: dict[str, list[int]] = {quiet: [], followed: []}
        for n in range(args.requests):
            for slug in (quiet, followed):
                with statements.counting():
                    started = time.perf_counter()
                    reply = client.post(f"/c/{slug}/update", data={"subject": f"Update {n}", "body": "A hearing on **Monday**."})
                    times[slug].append(time.perf_counter() - started)
                counts[slug].append(statements.count)
                if reply.status_code != 302:
                    print(f"ERROR: POST /c/{slug}/update answered {reply.status_code}", file=sys.stderr)
                    return 1
        huey.flush()  # the fan-outs of those updates are not the worker run measured below

        client.post(f"/c/{followed}/update", data={"subject": "The one fanned out", "body": "Measured."})
        tasks = []
        while (task := huey.dequeue()) is not None:
            tasks.append(task)
        fan_outs = [t for t in tasks if t.name == "fan_out"]
        if len(fan_outs) != 1:
            print(f"ERROR: expected one queued fan-out, found {[t.name for t in tasks]}", file=sys.stderr)
            return 1
        with statements.counting():
            started = time.perf_counter()
            huey.execute(fan_outs[0])
            fanned = time.perf_counter() - started
        queries = statements.count
        with app.app_context():
            event_id = db.session.scalar(select(Event.id).where(Event.data["subject"].as_string() == "The one fanned out"))
            made = db.session.scalar(select(func.count(Notification.id)).where(Notification.event_id == event_id))
            db.engine.dispose()

    print(f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {kind}")
    print(f"followers: {args.followers:,} of the followed consultation (built in {built:.1f} s); requests: {args.requests} on each\n")
    print("the request: an author sends an update (POST /c/SLUG/update), the fan-out queued")
    floor, busy = statistics.median(times[quiet]), statistics.median(times[followed])
    for label, slug, median in (("no followers (the floor)", quiet, floor), (f"{args.followers:,} followers", followed, busy)):
        print(f"  {label + ':':26} median {median * 1000:7.2f} ms, best {min(times[slug]) * 1000:7.2f} ms, {max(counts[slug])} statements")
    print(f"  ratio (median): {busy / floor:.2f}x the floor")
    print("\nthe worker: one fan-out job")
    print(f"  {made:,} notifications in {fanned:.3f} s ({made / max(fanned, 1e-9):,.0f} per second), {queries} statements")

    failed = False
    if made != args.followers:
        print(f"ERROR: {made} notifications for {args.followers} followers", file=sys.stderr)
        failed = True
    if max(counts[followed]) > max(counts[quiet]):
        print("ERROR: the request ran more statements with followers than without", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
