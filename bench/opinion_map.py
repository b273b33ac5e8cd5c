"""Speed of the opinion map (issue #7) on two real Pol.is conversations, and how well its groups
agree with Pol.is's own (tests/data/polis, CC BY 4.0): vTaiwan uberx (1,921 participants, 197
statements) and Scoop HiveMind biodiversity (536 participants, 314 statements), beside
red-dwarf (polis-community/red-dwarf, the open Python reimplementation of Pol.is's math).

For each conversation it prints, for Consult's ``compute`` and for red-dwarf's standard Pol.is
pipeline (``reddwarf.implementations.polis.run_pipeline``, PCA + k-means, k = 2..5 by
silhouette, same votes and same moderated-out statements): the groups found and Pol.is's count,
the adjusted Rand index against Pol.is's ``group-id`` over the participants that Pol.is, Consult
and red-dwarf all place (the same set for both engines), the time (first run and best of
``--runs`` more) and the ratio Consult / red-dwarf of the best times. Both run with BLAS/OpenMP
limited to one thread (Consult inside ``compute``, as in a web worker; red-dwarf under
``threadpool_limits(1)`` with ``OMP_NUM_THREADS=1`` etc. in its environment).

red-dwarf is not a dependency of Consult (it pulls pandas, pydantic, requests...): it lives in a
separate venv, .cache/bench-venv, and runs in a subprocess of this script. Install it with

    .venv/bin/python bench/opinion_map.py --install-red-dwarf

(or by hand: the command printed when it is missing). Run:

    .venv/bin/python bench/opinion_map.py [--runs 5] [--require-red-dwarf]

Without red-dwarf it prints Consult's lines only, and the install command; it exits non-zero
then only with ``--require-red-dwarf``.

At national scale (issue #22): ``--participants 5000 --statements 500 --density 1`` times
``compute`` instead on a seeded synthetic conversation of that size (three camps, each leaning
its own way on every statement, plus noise; each participant votes on each statement with
probability ``--density``), and prints the CPU seconds of one computation (best of ``--runs``)
and of each step: building the vote matrix, the PCA projection and the grouping, and of
``compute`` on the same votes as one int64 array (what ``statements.map_inputs`` reads from the
database; the row of bench/all keeps the tuples). No red-dwarf.

    .venv/bin/python bench/opinion_map.py --participants 5000 --statements 500 --density 1 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".cache" / "bench-venv"
RED_DWARF = "red-dwarf==0.4.0"
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


def install_command() -> str:
    return f"{sys.executable} -m venv {BENCH_VENV} && {BENCH_VENV / 'bin' / 'pip'} install '{RED_DWARF}'"


def red_dwarf_python() -> str | None:
    """An interpreter that can import reddwarf: this one, else the bench venv's, else None."""
    candidates = [sys.executable, str(BENCH_VENV / "bin" / "python")]
    for python in candidates:
        if not Path(python).exists():
            continue
        probe = subprocess.run([python, "-c", "import reddwarf.implementations.polis"], capture_output=True)
        if probe.returncode == 0:
            return python
    return None


def red_dwarf_worker() -> None:
    """Runs in the red-dwarf interpreter: reads {votes, moderated_out, runs} as JSON on stdin,
    writes {group_of, times, version} as JSON on stdout. Imports nothing from Consult."""
    from importlib.metadata import version

    from reddwarf.implementations.polis import run_pipeline
    from threadpoolctl import threadpool_limits

    job = json.load(sys.stdin)
    # red-dwarf's input format, built outside the timing as Consult's tuples are.
    votes = [{"participant_id": p, "statement_id": s, "vote": v} for p, s, v in job["votes"]]
    times = []
    with threadpool_limits(1):
        for _ in range(1 + job["runs"]):
            start = time.perf_counter()
            result = run_pipeline(votes=votes, mod_out_statement_ids=job["moderated_out"])
            times.append(time.perf_counter() - start)
    clusters = result.participants_df["cluster_id"].dropna()
    json.dump(
        {
            "group_of": {str(p): int(g) for p, g in clusters.items()},
            "times": times,
            "version": version("red-dwarf"),
        },
        sys.stdout,
    )


def run_red_dwarf(python: str, votes, moderated_out, runs: int) -> dict:
    env = {**os.environ, **ONE_THREAD}
    job = json.dumps({"votes": votes, "moderated_out": moderated_out, "runs": runs})
    done = subprocess.run(
        [python, str(Path(__file__).resolve()), "--red-dwarf-worker"],
        input=job,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    out = json.loads(done.stdout)
    out["group_of"] = {int(p): g for p, g in out["group_of"].items()}
    return out


def synthetic(participants: int, statements: int, density: float, seed: int = 0) -> list[tuple[int, int, int]]:
    """Votes of a seeded synthetic conversation: three camps of random leanings, plus noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    camp = rng.integers(0, 3, participants)
    leaning = rng.normal(0.0, 1.0, (3, statements))
    voted = rng.random((participants, statements)) < density
    opinion = leaning[camp] + rng.normal(0.0, 1.0, (participants, statements))
    value = np.where(opinion > 0.5, 1, np.where(opinion < -0.5, -1, 0))
    rows, cols = np.nonzero(voted)
    return list(zip(rows.tolist(), cols.tolist(), value[rows, cols].tolist(), strict=True))


def cpu_seconds(function, *args, **kwargs):
    """(result, CPU seconds of this process) of one call."""
    start = time.process_time()
    result = function(*args, **kwargs)
    return result, time.process_time() - start


def at_scale(participants: int, statements: int, density: float, runs: int, json_path: Path | None = None) -> int:
    import numpy as np
    import sklearn.cluster  # noqa: F401 - imported once per worker, not per computation
    from threadpoolctl import threadpool_limits

    from consult.voting import opinion

    start = time.perf_counter()
    votes = synthetic(participants, statements, density)
    print(
        f"synthetic conversation: {participants:,} participants x {statements:,} statements, density {density:g}: "
        f"{len(votes):,} votes (built in {time.perf_counter() - start:.1f} s)"
    )
    print(
        f"  {'run':<5} {'compute s':>9} {'votes s':>9} {'project s':>9} {'cluster s':>9} {'k':>3} {'array s':>9}"
        "   (CPU seconds, one BLAS thread; array: compute on the int64 array statements.map_inputs reads)"
    )
    table = np.array(votes, dtype=np.int64)
    totals, from_array = [], []
    for run in range(1, runs + 1):
        result, total = cpu_seconds(opinion.compute, votes)
        again, array_s = cpu_seconds(opinion.compute, table)
        assert again.group_of == result.group_of
        from_array.append(array_s)
        arrays, matrix_s = cpu_seconds(opinion.vote_arrays, votes)
        with threadpool_limits(1):
            points, project_s = cpu_seconds(opinion.project, arrays)
            rows = opinion.placed_rows(np.bincount(arrays.rows, minlength=len(arrays.participants)), len(arrays.statements))
            _, cluster_s = cpu_seconds(opinion.cluster, points[rows])
        totals.append(total)
        print(f"  {run:<5} {total:>9.3f} {matrix_s:>9.3f} {project_s:>9.3f} {cluster_s:>9.3f} {result.k:>3} {array_s:>9.3f}")
    print(f"  best compute: {min(totals):.3f} s CPU (from the int64 array: {min(from_array):.3f} s)")
    if json_path:
        scale = {"participants": participants, "statements": statements, "density": density, "votes": len(votes)}
        json_path.write_text(
            json.dumps(
                {"at_scale": {**scale, "compute_cpu_s": totals, "best_cpu_s": min(totals), "best_array_cpu_s": min(from_array)}}, indent=2
            )
            + "\n"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--require-red-dwarf", action="store_true", help="exit 2 when red-dwarf is not installed")
    parser.add_argument("--install-red-dwarf", action="store_true", help=f"create .cache/bench-venv with {RED_DWARF} first")
    parser.add_argument("--red-dwarf-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--participants", type=int, help="time a synthetic conversation of this many participants instead")
    parser.add_argument("--statements", type=int, default=500, help="its statements (with --participants; default 500)")
    parser.add_argument("--density", type=float, default=1.0, help="share of the statements each participant votes on (default 1)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if args.red_dwarf_worker:
        red_dwarf_worker()
        return 0

    sys.path.insert(0, str(ROOT))
    if args.participants:
        return at_scale(args.participants, args.statements, args.density, args.runs, args.json)
    from sklearn.metrics import adjusted_rand_score

    from consult.voting.opinion import compute
    from tests.voting.test_opinion import TARGET_ARI, load

    python = red_dwarf_python()
    if python is None and args.install_red_dwarf:
        print(f"installing red-dwarf: {install_command()}", flush=True)
        subprocess.run(install_command(), shell=True, check=True)
        python = red_dwarf_python()
    if python is None:
        print(
            f"red-dwarf is not installed; to compare with it, run:\n  {install_command()}\n"
            f"(or: {sys.executable} {Path(__file__).relative_to(ROOT)} --install-red-dwarf)\n"
        )
        if args.require_red_dwarf:
            return 2

    report: dict[str, dict] = {}
    for name in sorted(TARGET_ARI):
        votes, polis_group, moderated_out = load(name)
        times = []
        for _ in range(1 + args.runs):
            start = time.perf_counter()
            result = compute(votes, excluded_statements=moderated_out)
            times.append(time.perf_counter() - start)
        engines = {"Consult": (result.group_of, times)}
        version = ""
        if python is not None:
            red = run_red_dwarf(python, votes, moderated_out, args.runs)
            engines["red-dwarf"] = (red["group_of"], red["times"])
            version = f" {red['version']}"
        # Compare over the same participants for every engine: placed by all and grouped by Pol.is.
        common = set(polis_group).intersection(*(group_of for group_of, _ in engines.values()))
        common = sorted(common)
        truth = [polis_group[p] for p in common]
        print(
            f"{name}: {len(votes)} votes, {len(polis_group)} participants grouped by Pol.is "
            f"into {len(set(polis_group.values()))}; ARI over the {len(common)} that Pol.is and "
            f"{' and '.join(engines)} all place; target ARI {TARGET_ARI[name]}"
        )
        print(f"  {'engine':<16} {'placed':>6} {'groups':>6} {'ARI':>7} {'first ms':>9} {'best ms':>8}")
        for engine, (group_of, engine_times) in engines.items():
            ari = adjusted_rand_score(truth, [group_of[p] for p in common])
            label = engine + (version if engine == "red-dwarf" else "")
            report.setdefault(name, {})[label] = {
                "placed": len(group_of),
                "groups": len(set(group_of.values())),
                "ari": ari,
                "first_ms": engine_times[0] * 1000,
                "best_ms": min(engine_times[1:]) * 1000,
            }
            print(
                f"  {label:<16} {len(group_of):>6} {len(set(group_of.values())):>6} {ari:>7.4f} "
                f"{engine_times[0] * 1000:>9.0f} {min(engine_times[1:]) * 1000:>8.0f}"
            )
        if "red-dwarf" in engines:
            consult_best = min(engines["Consult"][1][1:])
            red_best = min(engines["red-dwarf"][1][1:])
            agree = adjusted_rand_score([engines["Consult"][0][p] for p in common], [engines["red-dwarf"][0][p] for p in common])
            print(f"  best of {args.runs}, Consult / red-dwarf: {consult_best / red_best:.2f}; ARI Consult vs red-dwarf {agree:.4f}")
        print()
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "conversations": report}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
