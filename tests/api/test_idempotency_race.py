"""Two requests with the same Idempotency-Key at the same moment, on two gunicorn workers: one
comment is written, and both answers are the same comment (the database's unique key on
(token, key) settles it: the second request's write is rolled back and it replays the first)."""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading

import pytest

from tests.api.live import live_api

pytestmark = pytest.mark.server


@pytest.fixture(autouse=True)
def _transaction():
    """Not tests/conftest.py's: the demo must be written to the served database."""
    yield


def _post(port: int, path: str, body: dict, headers: dict, out: list, start: threading.Barrier) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start.wait()
    connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    out.append((response.status, json.loads(response.read()), response.getheader("Idempotent-Replayed")))
    connection.close()


def test_the_same_key_sent_twice_at_once_writes_one_comment(tmp_path):
    with live_api(tmp_path, workers=2) as api:
        slug = api.known["slugs"][0]
        path = f"/api/v1/consultations/{slug}/comments"
        for attempt in range(5):  # several rounds: the two must overlap at least once
            answers: list = []
            start = threading.Barrier(2)
            headers = {"Authorization": f"Bearer {api.secret}", "Idempotency-Key": f"race-{attempt}"}
            threads = [
                threading.Thread(target=_post, args=(api.port, path, {"body": f"Once only ({attempt})."}, headers, answers, start))
                for _ in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert [status for status, _body, _replayed in answers] == [201, 201], answers
            assert answers[0][1]["id"] == answers[1][1]["id"]
            assert sorted(str(replayed) for _status, _body, replayed in answers) == ["None", "true"]  # one wrote, one replayed
    with sqlite3.connect(tmp_path / "consult.db") as connection:
        counts = [
            connection.execute("SELECT count(*) FROM contributions WHERE body = ?", (f"Once only ({n}).",)).fetchone()[0] for n in range(5)
        ]
        keys = connection.execute("SELECT count(*) FROM api_idempotency_keys WHERE key LIKE 'race-%'").fetchone()[0]
    assert counts == [1] * 5 and keys == 5
    assert "Traceback" not in api.log.read_text(errors="replace")
