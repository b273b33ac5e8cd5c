"""bench/notifications.py runs at a tiny size and checks what it measures: one notification per
follower from one fan-out job, and a request that runs no more statements with followers than
without."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_bench_runs_at_a_tiny_size():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "notifications.py"), "--followers", "25", "--requests", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "25 followers:" in done.stdout
    assert "25 notifications in" in done.stdout
    assert "no followers (the floor):" in done.stdout
