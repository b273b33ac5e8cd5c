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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--require-red-dwarf", action="store_true", help="exit 2 when red-dwarf is not installed")
    parser.add_argument("--install-red-dwarf", action="store_true", help=f"create .cache/bench-venv with {RED_DWARF} first")
    parser.add_argument("--red-dwarf-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--dense",
        action="store_true",
        help=f"instead: time compute on a synthetic dense map, {DENSE[0]:,} participants x {DENSE[1]} statements, everyone voting on everything",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if args.red_dwarf_worker:
        red_dwarf_worker()
        return 0
    if args.dense:
        return dense(args)

    sys.path.insert(0, str(ROOT))
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


DENSE = (5_000, 500)  # issue 22's dense map: 2.5 M votes


def dense(args: argparse.Namespace) -> int:
    """compute on DENSE participants x statements, every participant voting on every statement
    (seeded: three camps that agree within themselves 80 % of the time, passes 10 %); prints the
    wall and CPU time of the first run and the best of --runs more."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from consult.voting.opinion import compute

    participants, statements = DENSE
    rng = np.random.default_rng(1)
    camp = rng.integers(0, 3, participants)
    leaning = rng.choice([-1, 1], size=(3, statements))
    values = np.where(rng.random((participants, statements)) < 0.8, leaning[camp], -leaning[camp])
    values[rng.random((participants, statements)) < 0.1] = 0
    votes = [(p, s, int(v)) for p in range(participants) for s, v in enumerate(values[p])]
    del values
    walls, cpus = [], []
    for _ in range(1 + args.runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = compute(votes)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
    groups = len(set(result.group_of.values()))
    best = min(range(1, len(cpus)), key=cpus.__getitem__)
    print(f"dense map: {participants:,} participants x {statements} statements, {len(votes):,} votes; {groups} groups found")
    print(
        f"  first run: {walls[0]:.2f} s wall, {cpus[0]:.2f} s CPU; best of {args.runs} more: {walls[best]:.2f} s wall, {cpus[best]:.2f} s CPU"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "dense": {
                        "participants": participants,
                        "statements": statements,
                        "votes": len(votes),
                        "groups": groups,
                        "first_s": walls[0],
                        "first_cpu_s": cpus[0],
                        "best_s": walls[best],
                        "best_cpu_s": cpus[best],
                    }
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
