"""Computing the opinion map holds no write lock (SQLite): a job's transaction takes the lock
at its first statement, and the maths can take seconds on a busy machine, which every vote of
the consultation waited for (a browser test's vote timed out behind it)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from consult.core.models import db
from consult.voting.models import OpinionMapCache
from tests.factories import make_consultation, make_organisation, make_user
from tests.voting.file_app import sqlite_file_app


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction here: this module's app has its own SQLite file."""
    yield


def test_the_map_is_computed_while_others_may_write(tmp_path, monkeypatch):
    from consult.voting import opinion, statements
    from consult.voting.services import cast_vote

    database = tmp_path / "consult.db"
    app = sqlite_file_app(tmp_path, JOBS_IMMEDIATE=False)
    with app.app_context():
        db.create_all()
        council = make_organisation(slug="council", name="Riverside Council")
        c = make_consultation(council, author=make_user(role="author", organisation=council), slug="buses")
        writer = make_user(name="Wendy Writer")
        items = [statements.post_statement(c, actor=writer, body=f"Statement {i}.") for i in range(8)]
        for i in range(16):
            person = make_user(name=f"Voter {i}")
            for j, s in enumerate(items):
                cast_vote(c, actor=person, value="agree" if j == 0 or j % 2 == i % 2 else "disagree", contribution=s)
        db.session.commit()
        consultation_id = c.id

    real_compute, others_wrote = opinion.compute, []

    def compute_while_another_writes(*args, **kwargs):
        with closing(sqlite3.connect(database, isolation_level=None, timeout=0)) as other:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the job held the lock
            other.execute("UPDATE users SET display_name = display_name")
            other.execute("COMMIT")
            others_wrote.append(True)
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(opinion, "compute", compute_while_another_writes)
    try:
        with app.app_context():
            statements.recompute_opinion_map(consultation_id)  # as the worker runs it: a writing transaction
            db.session.commit()
            assert others_wrote == [True]
            cache = db.session.get(OpinionMapCache, consultation_id)
            assert cache is not None and cache.vote_count == 16 * 8 and json_k(cache) == 2
            assert statements.cached_map(db.session.get(type(c), consultation_id)).current
    finally:
        with app.app_context():
            db.engine.dispose()


def json_k(cache) -> int:
    import json

    return json.loads(cache.result)["k"]
