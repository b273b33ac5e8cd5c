"""The integrity checks of bench/load.py and bench/crash.py must see a lost, a duplicated and a
phantom write: the benches are only as good as these. A scratch SQLite file with the app's tables
and what the wrk threads' logs would hold, as the benches read them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.load import Checks, check_posts, check_supports, check_votes, read_logs
from consult.core.models import db


@pytest.fixture
def scratch(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/scratch.db"
    engine = create_engine(url)
    db.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("PRAGMA foreign_keys=OFF"))  # only the rows the checks read
        for cid, body in (
            (1, "Bench comment benchmark1x1: ok"),
            (2, "Bench comment benchmark1x3: twice"),
            (3, "Bench comment benchmark1x3: twice"),
        ):
            conn.execute(
                text(
                    "INSERT INTO contributions (id, consultation_id, kind, depth, version_id, body, body_html, moderation_state, "
                    "created_at, hidden_reason) VALUES (:id, 1, 'comment', 0, 1, :body, '', 'visible', '2026-01-01', '')"
                ),
                {"id": cid, "body": body},
            )
        conn.execute(
            text(
                "INSERT INTO votes (user_id, consultation_id, section_key, value, created_at, updated_at) VALUES (7, 1, 'scope', 'oppose', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO votes (user_id, consultation_id, section_key, value, created_at, updated_at) VALUES (7, 1, 'intro', 'support', '2026-01-01', '2026-01-01')"
            )
        )
    engine.dispose()
    return url


def write_log(folder: Path, lines: list[str]) -> Path:
    folder.mkdir()
    (folder / "thread-1.log").write_text("".join(line.replace(" | ", "\t") + "\n" for line in lines))
    return folder


def test_the_checks_find_lost_duplicated_and_phantom_writes(scratch, tmp_path):
    writes = read_logs(
        write_log(
            tmp_path / "acks",
            [
                "S | 1 | comment | benchmark1x1 | scope",
                "R | 1 | 302 | /c/x/s/scope#comment-1",
                "S | 2 | comment | benchmark1x2 | scope",  # acknowledged, not stored: lost
                "R | 2 | 302 | /c/x/s/scope#comment-9",
                "S | 3 | comment | benchmark1x3 | scope",  # no answer, stored twice: duplicated
                "S | 4 | vote section | sscope | support",  # acknowledged, but 'oppose' is stored: lost
                "R | 4 | 302 | /c/x#s-scope",
                "S | 5 | vote section | sintro | support",  # refused: the stored row is a phantom
                "R | 5 | 400 | ",
                "S | 6 | support | 11",  # acknowledged co-support, not stored: lost
                "R | 6 | 302 | /amendments/11",
                "S | 7 | support | 12",  # redirected to sign in: not acknowledged
                "R | 7 | 302 | /signin?next=/amendments/12",
            ],
        )
    )
    assert [(w.seq, w.acked) for w in writes] == [(1, True), (2, True), (3, False), (4, True), (5, False), (6, True), (7, False)]

    checks = Checks()
    visible = check_posts(scratch, writes, checks)
    check_votes(scratch, writes, {1: 7}, checks)
    check_supports(scratch, writes, {1: 7}, checks)

    assert sorted(visible) == [(1, "benchmark1x1"), (2, "benchmark1x3"), (3, "benchmark1x3")]
    assert checks.counts["lost (acknowledged, not stored)"] == 1
    assert checks.counts["duplicated (stored more than once)"] == 1
    assert checks.counts["posts_unanswered_stored"] == 1
    assert (checks.counts["votes_lost"], checks.counts["votes_phantom"], checks.counts["votes_duplicated"]) == (1, 1, 0)
    assert (checks.counts["supports_acked"], checks.counts["supports_lost"]) == (1, 1)
    assert len(checks.problems) == 4  # posts lost, posts duplicated, votes, co-supports


def test_the_checks_pass_when_everything_acknowledged_is_stored_once(scratch, tmp_path):
    writes = read_logs(
        write_log(
            tmp_path / "acks",
            [
                "S | 1 | comment | benchmark1x1 | scope",
                "R | 1 | 302 | /c/x/s/scope#comment-1",
                "S | 2 | vote section | sscope | oppose",
                "R | 2 | 302 | /c/x#s-scope",
                "S | 3 | vote section | sintro | support",
                "R | 3 | 302 | /c/x#s-intro",
            ],
        )
    )
    checks = Checks()
    check_posts(scratch, writes, checks)
    check_votes(scratch, writes, {1: 7}, checks)
    # benchmark1x3 was stored twice though never sent (the scratch database has it): that alone is flagged
    assert checks.problems == [
        "posts duplicated (stored more than once): 1, e.g. ['benchmark1x3']",
        "posts stored but never sent: 1, e.g. ['benchmark1x3']",
    ]
    assert (checks.counts["votes_lost"], checks.counts["votes_phantom"]) == (0, 0)
