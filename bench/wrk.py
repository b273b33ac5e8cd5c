"""A harness around wrk: one run, its numbers parsed, and the server's CPU it cost.

``ensure_wrk`` installs wrk from Debian's packages when it is missing (the bench's own set-up).
``run`` drives one wrk run (a Lua script whose ``done()`` prints one ``WRKJSON {...}`` line:
``bench/lua/report.lua`` for GETs, ``bench/lua/votes.lua`` for votes) and reads, before and after
it, the CPU time of the server's processes from /proc (utime + stime of each gunicorn worker,
with cutime + cstime: what their children used); ``alternate`` runs floor and target in turn
(floor, target, floor, target...) and keeps the median of each. Standard library only.
See bench/README.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
TICKS = os.sysconf("SC_CLK_TCK")


class WrkError(RuntimeError):
    """wrk could not be installed, did not run, or printed no WRKJSON line."""


def ensure_wrk() -> str:
    """The path of wrk, installed with apt-get (as root, or through sudo) when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run([*prefix, "apt-get", "install", "-y", "wrk"], env=env, capture_output=True, text=True)
    if done.returncode != 0:  # an old package list: refresh it once
        subprocess.run([*prefix, "apt-get", "update"], env=env, capture_output=True, text=True)
        done = subprocess.run([*prefix, "apt-get", "install", "-y", "wrk"], env=env, capture_output=True, text=True)
    found = shutil.which("wrk")
    if not found:
        raise WrkError(
            f"wrk is missing and `apt-get install -y wrk` failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return found


# ---- the server's CPU ----------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on; comm may hold spaces


def workers(arbiter: int) -> list[int]:
    """The arbiter's children: gunicorn's workers."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[1]) == arbiter:  # field 4, ppid
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime + cutime + cstime (fields 14-17 of /proc/PID/stat) of each process, in seconds."""
    out = {}
    for pid in pids:
        fields = _stat(pid)
        if fields:
            out[pid] = sum(int(v) for v in fields[11:15]) / TICKS
    return out


# ---- one run -------------------------------------------------------------------------------------


@dataclass
class Run:
    requests: int
    seconds: float
    bytes: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    failed: int  # socket errors: connect, read, write, timeout
    cpu_s: float  # the workers' CPU seconds during the run
    cpu_ms_per_request: float

    @property
    def kb_per_response(self) -> float:
        return self.bytes / self.requests / 1000 if self.requests else float("nan")


def parse(output: str) -> dict:
    for line in output.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON ") :])
    raise WrkError(f"no WRKJSON line in wrk's output:\n{output[-3000:]}")


def run(
    url: str,
    *,
    seconds: float,
    connections: int = 8,
    threads: int = 2,
    script: Path = LUA / "report.lua",
    script_args: tuple[str, ...] = (),
    arbiter: int | None = None,
    timeout: str = "30s",
    settle: str | None = None,
    warm_up: bool = False,
) -> Run:
    """One wrk run against url; with ``arbiter`` (gunicorn's pid), the CPU its workers used.
    With ``settle`` (a cheap URL of the same server), the server's backlog is drained first. A run
    that no answer came back from is an error, unless it is a ``warm_up`` (unmeasured)."""
    if settle:
        drain(settle, connections)
    command = [
        ensure_wrk(),
        "-t",
        str(min(threads, connections)),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        timeout,
        "-s",
        str(script),
        url,
    ]
    if script_args:
        command += ["--", *script_args]
    pids = workers(arbiter) if arbiter else []
    before = cpu_seconds(pids)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    after = cpu_seconds(pids)
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    data = parse(done.stdout)
    if not data["requests"] and not warm_up:
        raise WrkError(f"no request was answered in {seconds} s of {url}: is the duration too short?")
    # A worker that died during the run takes its CPU with it: only those alive at both ends count.
    cpu = sum(after[pid] - before[pid] for pid in before if pid in after)
    requests, duration = data["requests"], data["duration_us"] / 1e6
    errors = data["errors"]
    return Run(
        requests=requests,
        seconds=duration,
        bytes=data["bytes"],
        rps=requests / duration if duration else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non2xx=data["non2xx"],
        failed=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        cpu_s=cpu,
        cpu_ms_per_request=cpu / requests * 1000 if requests else float("nan"),
    )


def drain(url: str, connections: int) -> None:
    """Wait until ``connections`` GETs of url, sent at once, are answered. The requests of a
    slow target that wrk sent just before it stopped are still queued in the server when the
    next run starts (sync workers answer them even though wrk has gone): without this, they
    would be served during the next run and counted against it (a floor of 0 requests/s)."""

    def get(_: int) -> None:
        with urllib.request.urlopen(url, timeout=300) as answer:
            answer.read()

    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(get, range(connections)))


def median(runs: list[Run]) -> Run:
    """Each figure's median over the runs (so the fields may come from different runs); the
    counts of errors are summed, so that one failed request anywhere shows."""

    def med(name: str) -> float:
        return statistics.median(getattr(r, name) for r in runs)

    return Run(
        requests=int(med("requests")),
        seconds=med("seconds"),
        bytes=int(med("bytes")),
        rps=med("rps"),
        p50_ms=med("p50_ms"),
        p95_ms=med("p95_ms"),
        p99_ms=med("p99_ms"),
        max_ms=max(r.max_ms for r in runs),
        non2xx=sum(r.non2xx for r in runs),
        failed=sum(r.failed for r in runs),
        cpu_s=med("cpu_s"),
        cpu_ms_per_request=med("cpu_ms_per_request"),
    )


@dataclass
class Paired:
    """A target measured in turn with the floor: the median of each, and every run."""

    floor: Run
    target: Run
    floor_runs: list[Run]
    target_runs: list[Run]

    @property
    def ratio(self) -> float:
        return self.target.rps / self.floor.rps if self.floor.rps else float("nan")

    def as_dict(self) -> dict:
        return {
            "floor": asdict(self.floor),
            "target": asdict(self.target),
            "ratio": self.ratio,
            "floor_runs": [asdict(r) for r in self.floor_runs],
            "target_runs": [asdict(r) for r in self.target_runs],
        }


def alternate(base: str, path: str, *, floor: str = "/healthz", rounds: int = 3, **options) -> Paired:
    """floor, target, floor, target... ``rounds`` times each, the same wrk options for both
    (except the target's script and its arguments, which the floor does not use)."""
    script = options.pop("script", LUA / "report.lua")
    script_args = options.pop("script_args", ())
    options.setdefault("settle", base + floor)
    floors, targets = [], []
    for _ in range(rounds):
        floors.append(run(base + floor, **options))
        targets.append(run(base + path, script=script, script_args=script_args, **options))
    return Paired(median(floors), median(targets), floors, targets)
