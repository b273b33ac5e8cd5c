"""0023_firstfive numbers the amendments already there, per consultation in the order they were
proposed, and starts each consultation's counter after them."""

from __future__ import annotations

import sqlite3

from flask_migrate import upgrade

from consult import create_app
from consult.core.models import db


def test_existing_amendments_are_numbered_in_the_order_they_were_proposed(tmp_path):
    path = tmp_path / "m.db"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade(revision="0022_questions")
        db.engine.dispose()
    # (id, consultation, created): ids out of the order of proposal, two consultations.
    amendments = [(31, 7, "2026-03-02"), (12, 7, "2026-03-03"), (40, 7, "2026-03-01"), (13, 8, "2026-03-05")]
    with sqlite3.connect(path) as connection:  # foreign keys off: the rows alone are enough here
        for consultation_id in (7, 8):  # the new column points at them (its table is rebuilt, checked)
            connection.execute(
                "INSERT INTO consultations (id, organisation_id, slug, title, summary, state, licence, response_threshold,"
                " created_at, updated_at, row_version) VALUES (?, 1, ?, 'T', '', 'open', 'CC-BY-4.0', 0, '2026-01-01', '2026-01-01', 1)",
                (consultation_id, f"c{consultation_id}"),
            )
        for contribution_id, consultation_id, created in amendments:
            connection.execute(
                "INSERT INTO contributions (id, consultation_id, kind, depth, version_id, body, body_html, moderation_state,"
                " created_at, hidden_reason, is_meta) VALUES (?, ?, 'amendment', 0, 1, 'Why.', '', 'visible', ?, '', 0)",
                (contribution_id, consultation_id, f"{created} 10:00:00.000000"),
            )
            connection.execute(
                "INSERT INTO amendments (contribution_id, proposed_text, state, answer) VALUES (?, 'Words.', 'open', '')",
                (contribution_id,),
            )
    with app.app_context():
        upgrade(revision="0023_firstfive")
        db.engine.dispose()
    with sqlite3.connect(path) as connection:
        numbers = dict(connection.execute("SELECT contribution_id, number FROM amendments"))
        counters = dict(connection.execute("SELECT consultation_id, last_number FROM amendment_numbers"))
    assert numbers == {40: 1, 31: 2, 12: 3, 13: 1}
    assert counters == {7: 3, 8: 1}
