"""Two requests with the same Idempotency-Key at the same moment, on two gunicorn workers: one
comment is written, and both answers are the same comment (the database's unique key on
(token, key) settles it: the second request's write is rolled back and it replays the first)."""

from __future__ import annotations

import http.client
import json
import threading

import pytest
from sqlalchemy import create_engine, text

from tests.api.live import live_api, scratch_postgresql
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.server
ROUNDS = 5


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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """SQLite serialises the two writes; on PostgreSQL they run at once and the unique key decides."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'consult.db'}"
        return
    if not TEST_DATABASE_URL.startswith(("postgres://", "postgresql")):
        pytest.skip("set CONSULT_TEST_DATABASE_URL=postgresql://... to race on PostgreSQL too")
    with scratch_postgresql(TEST_DATABASE_URL) as url:
        yield url


def _counts(database_url: str) -> tuple[list[int], int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            counts = [
                connection.execute(text("SELECT count(*) FROM contributions WHERE body = :b"), {"b": f"Once only ({n})."}).scalar_one()
                for n in range(ROUNDS)
            ]
            keys = connection.execute(text("SELECT count(*) FROM api_idempotency_keys WHERE key LIKE 'race-%'")).scalar_one()
    finally:
        engine.dispose()
    return counts, keys


def test_the_same_key_sent_twice_at_once_writes_one_comment(tmp_path, database_url):
    with live_api(tmp_path, workers=2, database_url=database_url) as api:
        slug = api.known["slugs"][0]
        path = f"/api/v1/consultations/{slug}/comments"
        for attempt in range(ROUNDS):  # several rounds: the two must overlap at least once
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
        counts, keys = _counts(database_url)
    assert counts == [1] * ROUNDS and keys == ROUNDS
    assert "Traceback" not in api.log.read_text(errors="replace")
