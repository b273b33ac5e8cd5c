"""Two ``consult db upgrade`` at once on an empty database both succeed (issue 13: one failed
with a duplicate key). Deploy scripts start several servers that each upgrade on start; the
migrations serialise on a lock (PostgreSQL: an advisory lock; SQLite: a lock file) and the
second finds the schema current."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack

import pytest
from sqlalchemy import create_engine, text

from tests.scratch import KINDS, scratch_database_url

UPGRADERS = 2


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction: the upgrades run in processes of their own."""
    yield


@pytest.mark.parametrize("kind", KINDS)
def test_two_upgrades_at_once_on_an_empty_database_both_succeed(kind, tmp_path):
    with ExitStack() as stack:
        url = scratch_database_url(kind, tmp_path, stack)
        env = os.environ | {
            "CONSULT_DATABASE_URL": url,
            "CONSULT_SECRET_KEY": "upgrade-test",
            "CONSULT_INSTANCE_PATH": str(tmp_path / "instance"),
        }
        upgraders = [
            subprocess.Popen(
                [sys.executable, "-m", "consult", "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(UPGRADERS)
        ]
        outputs = [p.communicate(timeout=300)[0] for p in upgraders]
        for process, output in zip(upgraders, outputs, strict=True):
            assert process.returncode == 0, output[-3000:]
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        finally:
            engine.dispose()
        assert len(versions) == 1
