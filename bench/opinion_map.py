"""Speed of the opinion map (issue #7) on two real Pol.is conversations, and how well its groups
agree with Pol.is's own (tests/data/polis, CC BY 4.0): vTaiwan uberx (1,921 participants, 197
statements) and Scoop HiveMind biodiversity (536 participants, 314 statements).

For each it prints the groups found and Pol.is's count, the adjusted Rand index against Pol.is's
``group-id`` over the participants both group, and the time of ``compute`` (first run and best
of ``--runs`` more; BLAS/OpenMP limited to one thread inside ``compute``, as in a web worker).

    .venv/bin/python bench/opinion_map.py [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consult.voting.opinion import compute  # noqa: E402
from tests.test_opinion import TARGET_ARI, load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for name in sorted(TARGET_ARI):
        votes, polis_group, moderated_out = load(name)
        times = []
        for _ in range(1 + args.runs):
            start = time.perf_counter()
            result = compute(votes, excluded_statements=moderated_out)
            times.append(time.perf_counter() - start)
        both = [p for p in result.group_of if p in polis_group]
        ari = adjusted_rand_score([polis_group[p] for p in both], [result.group_of[p] for p in both])
        print(
            f"{name}: {len(votes)} votes, {len(result.positions)} placed; groups {result.k} "
            f"(Pol.is {len(set(polis_group.values()))}); ARI {ari:.4f} over {len(both)} "
            f"(target {TARGET_ARI[name]}); first {times[0] * 1000:.0f} ms, "
            f"best of {args.runs} {min(times[1:]) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
