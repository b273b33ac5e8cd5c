"""Migrations: one head, and the migrated schema equals the models (on the test database)."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from consult import MIGRATIONS_DIR, create_app
from consult.core.models import db
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL


def test_there_is_one_head():
    config = Config(str(Path(MIGRATIONS_DIR) / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def diff_after_upgrade(app) -> list:
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, db.metadata)


@pytest.mark.skipif(not ON_POSTGRES, reason="the PostgreSQL run checks the migrated schema on PostgreSQL")
def test_migrated_schema_equals_models_on_postgres(app):
    # the session's schema was built by the migrations (see conftest.build_schema)
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_migrated_schema_equals_models_on_sqlite(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    assert diff_after_upgrade(app) == []


def test_migrations_downgrade_to_nothing_and_up_again(tmp_path):
    from flask_migrate import downgrade

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade()
        downgrade(revision="base")
    assert diff_after_upgrade(app) == []


assert TEST_DATABASE_URL is not None


def test_section_text_becomes_the_textcontent_of_its_html(tmp_path):
    """0011_anchors: sections.text was a normalised plain text, not the text anchors count in."""
    import sqlite3

    config = Config(str(Path(MIGRATIONS_DIR) / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    before = ScriptDirectory.from_config(config).get_revision("0011_anchors").down_revision
    path = tmp_path / "m.db"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    html = "<p>One  <em>two</em>\nthree &amp; four.</p>\n<ul>\n<li>five</li>\n</ul>"
    with app.app_context():
        upgrade(revision=before)
        db.engine.dispose()
    with sqlite3.connect(path) as connection:  # foreign keys off: a section alone is enough here
        connection.execute(
            "INSERT INTO sections (id, version_id, key, position, level, heading, body, text, html, change)"
            " VALUES (1, 1, 'k', 0, 2, 'K', 'One  *two*\nthree & four.\n\n- five', 'One two three & four.\n\nfive', ?, 'added')",
            (html,),
        )
    with app.app_context():
        upgrade(revision="0011_anchors")
        db.engine.dispose()
    with sqlite3.connect(path) as connection:
        (text,) = connection.execute("SELECT text FROM sections WHERE id = 1").fetchone()
    assert text == "One  two\nthree & four.\n\nfive\n"
