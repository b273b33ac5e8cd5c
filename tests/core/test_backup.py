"""`consult backup DIR` and `consult restore DIR` (issue 13, operations).

Each site here is a real one on a SQLite file in its own instance folder (built by the
migrations, with a generated ``instance/secret_key``); the conftest's in-memory database and its
rolled-back transaction are not used. A restored site is a new app on the restored instance
folder, as after a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from consult import backup as backup_module
from consult import create_app
from consult.accounts.models import User
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.models import db
from consult.proposals.models import Consultation
from consult.search import services as search
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.factories import make_consultation, make_user

WORD = "zebrafinch"


@pytest.fixture(autouse=True)
def _transaction():
    """Override tests/conftest.py's rolled-back transaction: these sites commit to their own files."""
    yield


def make_site(instance: Path, database_url: str | None = None):
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url or f"sqlite:///{instance / 'consult.db'}",
            "JOBS_IMMEDIATE": True,
            "RATE_LIMITS": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
            "BASE_URL": "http://consult.test",
        }
    )


def populate(app, posts: int = 3) -> tuple[int, int]:
    """Migrate, then a public consultation with ``posts`` comments; returns (consultation id, citizen id)."""
    with app.app_context():
        upgrade()
        consultation = make_consultation(state="open", slug="parks", title="Parks policy")
        citizen = make_user(name="Casey Citizen")
        db.session.commit()
        for n in range(posts):
            comments.post_comment(consultation, actor=citizen, body=f"Seed post {n} about the {WORD}")
            db.session.commit()
        ids = consultation.id, citizen.id
        db.session.remove()
        db.engine.dispose()
    return ids


def backed_up(tmp_path: Path, posts: int) -> Path:
    """A site in tmp_path/source with ``posts`` comments, backed up into tmp_path/backup."""
    source = make_site(tmp_path / "source")
    populate(source, posts=posts)
    result = cli(source, "backup", tmp_path / "backup")
    assert result.exit_code == 0, result.output
    return tmp_path / "backup"


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def post_ids(app) -> set[int]:
    with app.app_context():
        ids = set(db.session.scalars(select(Contribution.id)))
        db.session.remove()
        db.engine.dispose()
    return ids


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


class Writer(threading.Thread):
    """Posts comments through the services, one commit each, and records each id once its commit
    has returned (acknowledged), until stopped."""

    def __init__(self, app, consultation_id: int, citizen_id: int):
        super().__init__(daemon=True)
        self.app, self.consultation_id, self.citizen_id = app, consultation_id, citizen_id
        self.acknowledged: list[int] = []
        self.condition = threading.Condition()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        try:
            with self.app.app_context():
                consultation = db.session.get(Consultation, self.consultation_id)
                citizen = db.session.get(User, self.citizen_id)
                n = 0
                while not self.stop.is_set():
                    n += 1
                    contribution = comments.post_comment(consultation, actor=citizen, body=f"Live post {n} on the {WORD}")
                    db.session.commit()
                    with self.condition:
                        self.acknowledged.append(contribution.id)
                        self.condition.notify_all()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            with self.condition:
                self.stop.set()
                self.condition.notify_all()

    def wait_for(self, count: int) -> list[int]:
        with self.condition:
            self.condition.wait_for(lambda: len(self.acknowledged) >= count or self.stop.is_set())
            assert self.error is None, self.error
            return list(self.acknowledged)


def test_a_backup_under_writes_restores_every_acknowledged_post_searchable(tmp_path, monkeypatch):
    site = make_site(tmp_path / "site")
    consultation_id, citizen_id = populate(site)
    writer = Writer(site, consultation_id, citizen_id)
    writer.start()
    real_backup = backup_module._backup_sqlite
    started_with: list[int] = []

    def backup_while_writing(source, destination):
        # The backup has started: what is acknowledged now must be in it. The writer goes on
        # committing (into the WAL) while SQLite copies the pages.
        started_with.extend(writer.wait_for(len(writer.acknowledged) + 5))
        real_backup(source, destination)
        writer.wait_for(len(writer.acknowledged) + 5)  # still writing after the snapshot

    monkeypatch.setattr(backup_module, "_backup_sqlite", backup_while_writing)
    writer.wait_for(10)
    try:
        result = cli(site, "backup", tmp_path / "backup")
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None, writer.error
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert {"consult.db", "instance/secret_key"} <= set(manifest["files"])
    assert manifest["alembic_revision"] and manifest["app_version"] and manifest["created_at"]
    assert integrity(tmp_path / "backup" / "consult.db") == "ok"

    restored = make_site(tmp_path / "restored")
    result = cli(restored, "restore", tmp_path / "backup")
    assert result.exit_code == 0, result.output

    after_restart = make_site(tmp_path / "restored")  # the site as it starts on the restored folder
    assert after_restart.config["SECRET_KEY"] == site.config["SECRET_KEY"]  # sessions and links stay valid
    assert integrity(tmp_path / "restored" / "consult.db") == "ok"
    present = post_ids(after_restart)
    acknowledged = set(writer.acknowledged)
    assert set(started_with) <= present  # every post acknowledged before the backup started
    assert present - acknowledged <= set(post_ids_seeded(after_restart))  # and nothing half-written
    with after_restart.app_context():
        posts = db.session.scalar(select(func.count()).select_from(Contribution))
        found = search.search(WORD, per_page=1)
        assert found.total == posts  # every restored post is searchable
        db.session.remove()
    client = after_restart.test_client()
    page = client.get("/c/parks")
    assert page.status_code == 200 and "Parks policy" in page.text
    hits = client.get(f"/api/v1/search?q={WORD}&per_page=1").get_json()
    assert hits["total"] == len(present)


def populate_more(app) -> None:
    with app.app_context():
        consultation = db.session.scalar(select(Consultation))
        comments.post_comment(consultation, actor=consultation.created_by, body="Written after the backup")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def post_ids_seeded(app) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(select(Contribution.id).where(Contribution.body.like("Seed post%"))))
        db.session.remove()
    return ids


def test_restore_refuses_a_database_with_data_unless_forced(tmp_path):
    backed_up(tmp_path, posts=2)
    target = make_site(tmp_path / "target")
    populate(target, posts=5)
    before = post_ids(target)

    refused = cli(target, "restore", tmp_path / "backup")
    assert refused.exit_code != 0 and "--force" in refused.output
    assert post_ids(target) == before  # untouched

    forced = cli(target, "restore", tmp_path / "backup", "--force")
    assert forced.exit_code == 0, forced.output
    assert post_ids(make_site(tmp_path / "target")) == post_ids(make_site(tmp_path / "source"))


def test_restore_into_a_freshly_migrated_empty_database_needs_no_force(tmp_path):
    backed_up(tmp_path, posts=2)
    target = make_site(tmp_path / "target")
    with target.app_context():
        upgrade()  # `consult db upgrade` first, as a new server would
        db.engine.dispose()
    result = cli(target, "restore", tmp_path / "backup")
    assert result.exit_code == 0, result.output
    assert len(post_ids(make_site(tmp_path / "target"))) == 2


def test_an_old_write_ahead_log_beside_the_target_is_not_applied_to_the_restored_file(tmp_path):
    backed_up(tmp_path, posts=2)
    target = make_site(tmp_path / "target")
    populate(target, posts=1)
    path = tmp_path / "target" / "consult.db"
    # A process that still has the old database open keeps committed pages in consult.db-wal
    # (not checkpointed into the file), and its -shm index of them.
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA wal_autocheckpoint = 0")
    old.execute("UPDATE consultations SET title = 'Old title from the WAL'")
    try:
        result = cli(target, "restore", tmp_path / "backup", "--force")
        assert result.exit_code == 0, result.output
        assert integrity(path) == "ok"
        with sqlite3.connect(path) as check:
            assert check.execute("SELECT title FROM consultations").fetchall() == [("Parks policy",)]
    finally:
        old.close()


def test_backup_refuses_a_folder_with_files_and_restore_a_damaged_backup(tmp_path):
    site = make_site(tmp_path / "site")
    populate(site, posts=1)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    refused = cli(site, "backup", tmp_path / "used")
    assert refused.exit_code != 0 and "not an empty folder" in refused.output
    assert os.listdir(tmp_path / "used") == ["keep.txt"]

    assert cli(site, "backup", tmp_path / "backup").exit_code == 0
    with open(tmp_path / "backup" / "consult.db", "r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00damage\x00")
    target = make_site(tmp_path / "target")
    result = cli(target, "restore", tmp_path / "backup")
    assert result.exit_code != 0 and "checksum" in result.output


def test_uploads_are_backed_up_and_caches_are_not(tmp_path):
    site = make_site(tmp_path / "site")
    populate(site, posts=1)
    for folder, name in (("uploads", "plan.pdf"), ("bundles", "1.zip"), ("suggestions", "1.json"), ("outbox", "1.eml")):
        (tmp_path / "site" / folder).mkdir(exist_ok=True)
        (tmp_path / "site" / folder / name).write_text(folder)
    assert cli(site, "backup", tmp_path / "backup").exit_code == 0
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert set(manifest["files"]) == {"consult.db", "instance/secret_key", "instance/uploads/plan.pdf"}

    target = make_site(tmp_path / "target")
    (tmp_path / "target" / "bundles").mkdir()
    (tmp_path / "target" / "bundles" / "9.zip").write_text("a bundle of the old database")
    assert cli(target, "restore", tmp_path / "backup").exit_code == 0
    assert (tmp_path / "target" / "uploads" / "plan.pdf").read_text() == "uploads"
    assert not (tmp_path / "target" / "bundles").exists()


@pytest.mark.skipif(not ON_POSTGRES, reason="the PostgreSQL run tests pg_dump and pg_restore")
@pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("pg_restore")), reason="pg_dump/pg_restore not installed")
def test_postgres_backup_and_restore_through_pg_dump_and_pg_restore(tmp_path, monkeypatch):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from consult.config import normalise_database_url

    url = make_url(normalise_database_url(TEST_DATABASE_URL))
    scratch_name = f"{url.database}_scratch"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": scratch_name}):
            connection.execute(text(f'CREATE DATABASE "{scratch_name}"'))
    admin.dispose()
    scratch_url = url.set(database=scratch_name).render_as_string(hide_password=False)

    def wipe():
        engine = create_engine(scratch_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()

    wipe()
    site = make_site(tmp_path / "site", scratch_url)
    populate(site, posts=4)
    counted = len(post_ids(site))
    with monkeypatch.context() as without_tools:
        without_tools.setattr(backup_module.shutil, "which", lambda name: None)
        missing = cli(site, "backup", tmp_path / "never")
    assert missing.exit_code != 0 and "pg_dump -Fc" in missing.output and not (tmp_path / "never").exists()
    result = cli(site, "backup", tmp_path / "backup")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "backup" / "consult.pgdump").stat().st_size > 0

    refused = cli(site, "restore", tmp_path / "backup")
    assert refused.exit_code != 0 and "--force" in refused.output
    populate_more(site)
    forced = cli(site, "restore", tmp_path / "backup", "--force")  # pg_restore --clean over the live schema
    assert forced.exit_code == 0, forced.output
    assert len(post_ids(site)) == counted

    wipe()  # the database lost: an empty one in its place
    restored = make_site(tmp_path / "restored", scratch_url)
    result = cli(restored, "restore", tmp_path / "backup")
    assert result.exit_code == 0, result.output
    again = make_site(tmp_path / "restored", scratch_url)
    assert len(post_ids(again)) == counted == 4
    with again.app_context():
        assert search.search(WORD, per_page=1).total == counted
        db.session.remove()
        db.engine.dispose()


def test_a_backup_from_an_older_consult_is_migrated_up_on_restore(tmp_path):
    old = make_site(tmp_path / "old")
    with old.app_context():
        upgrade(revision="0006_opinion")  # the schema of an earlier release
        db.engine.dispose()
    assert cli(old, "backup", tmp_path / "backup").exit_code == 0
    assert json.loads((tmp_path / "backup" / "manifest.json").read_text())["alembic_revision"] == "0006_opinion"

    target = make_site(tmp_path / "target")
    result = cli(target, "restore", tmp_path / "backup")
    assert result.exit_code == 0, result.output
    with target.app_context():
        head = backup_module._migrations().get_current_head()
    assert head != "0006_opinion" and f"0006_opinion -> {head}" in result.output
    with sqlite3.connect(tmp_path / "target" / "consult.db") as check:
        assert check.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
