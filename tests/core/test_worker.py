"""`consult worker` as a real process: a consultation opens on its date with no request arriving.

The data is made in this process on a fresh SQLite file (the app's services queue the job for
the opening date in ``instance/jobs.db``), then the worker runs in a subprocess with the same
settings and nothing else touches the site: no web server runs at all.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from consult import create_app
from consult.core.models import db, utcnow
from consult.proposals import services as proposals
from tests.factories import make_consultation

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _transaction():
    """Override tests/conftest.py's autouse fixture with a no-op: the data must be committed to
    the file the worker reads."""
    yield


def test_the_worker_opens_a_consultation_on_its_date_with_no_request(tmp_path):
    env = {
        **os.environ,
        "CONSULT_INSTANCE_PATH": str(tmp_path),
        "CONSULT_DATABASE_URL": f"sqlite:///{tmp_path / 'consult.db'}",
        "CONSULT_SECRET_KEY": "worker-test",
        "CONSULT_JOBS_RETRY_DELAY": "1",
    }
    env.pop("CONSULT_JOBS_URL", None)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": env["CONSULT_DATABASE_URL"], "SECRET_KEY": "worker-test"})
    with app.app_context():
        db.create_all()
        consultation = make_consultation(state="draft", slug="opens-soon")
        opens_at = utcnow() + timedelta(seconds=1.5)
        proposals.update_consultation(
            consultation,
            actor=consultation.created_by,
            title=consultation.title,
            summary="",
            opens_at=opens_at,
            closes_at=consultation.closes_at,
            licence=consultation.licence,
        )
        db.session.commit()
        consultation_id = consultation.id
        db.session.remove()
        db.engine.dispose()

    def state() -> str:
        with sqlite3.connect(tmp_path / "consult.db") as connection:
            return connection.execute("SELECT state FROM consultations WHERE id = ?", (consultation_id,)).fetchone()[0]

    assert state() == "draft"
    worker = subprocess.Popen(
        [sys.executable, "-m", "consult", "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while state() != "open":
            assert worker.poll() is None, worker.communicate()[0]
            assert time.monotonic() < deadline, "not opened within 30 s"
            time.sleep(0.2)
        assert utcnow() >= opens_at  # on its date, not before
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            output = worker.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            worker.kill()
            output = worker.communicate()[0]
    assert "Consult worker:" in output
    assert "open_and_close_by_date" in output  # the job that did it
