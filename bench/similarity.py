"""Speed of suggesting groups and flagging near-duplicates on 1,000 and 10,000 contributions.

The contributions are made from the 316 real statements of the Scoop HiveMind biodiversity
conversation (tests/data/polis, CC BY 4.0): each is a random statement (seeded) with zero to
three of its words replaced by words of other statements; three in ten get another statement
appended, one in ten is cut to its first one to four words, and one in ten gets Markdown (bold
and a link). A last scenario makes half of 10,000 contributions one form letter, each copy
signed by someone else with one word changed: the worst case for ``near_duplicates``, whose
5,000 copies are all near-duplicates of one another.

For each scenario it times, in the same process and on the same texts, the baseline (the
TF-IDF vectorisation alone, scikit-learn's ``TfidfVectorizer()`` with its default word analyzer:
the least any TF-IDF method pays), ``near_duplicates``' own vectorisation alone (word shingles
through its Python analyzer), ``suggest_groups`` and ``near_duplicates``: the first run of each
function and the best of ``--runs`` more. Both functions limit BLAS/OpenMP to one thread, as in a web worker;
the baseline runs under the same limit.

    .venv/bin/python bench/similarity.py [--sizes 1000 10000] [--runs 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consult.moderation.similarity import _shingles, near_duplicates, suggest_groups  # noqa: E402
from tests.test_similarity import form_letters  # noqa: E402

STATEMENTS = ROOT / "tests" / "data" / "polis" / "scoop-hivemind.biodiversity" / "comments.csv"


def load_statements() -> list[str]:
    with STATEMENTS.open(newline="", encoding="utf-8") as file:
        return [row["comment-body"] for row in csv.DictReader(file)]


def perturbed(statements: list[str], count: int, seed: int) -> list[tuple[int, str]]:
    """``count`` contributions made from random statements, each changed a little (see the docstring)."""
    rng = random.Random(seed)
    words = [statement.split() for statement in statements]
    items = []
    for n in range(count):
        copy = list(rng.choice(words))
        for _ in range(rng.randint(0, 3)):
            copy[rng.randrange(len(copy))] = rng.choice(rng.choice(words))
        if rng.random() < 0.3:
            copy += rng.choice(words)
        if rng.random() < 0.1:
            copy = copy[: rng.randint(1, 4)]
        text = " ".join(copy)
        if rng.random() < 0.1:
            text = f"**{copy[0]}** {' '.join(copy[1:])} [source](https://example.org/{n})"
        items.append((n, text))
    return items


def with_campaign(statements: list[str], count: int, seed: int) -> list[tuple[int, str]]:
    """Half form letters (one word changed and a signature of their own), half perturbed statements."""
    rng = random.Random(seed)
    letters = []
    for item_id, letter in form_letters(count // 2, first_id=count, seed=seed):
        words = letter.split(" ")
        words[rng.randrange(len(words) - 2)] = rng.choice(["our", "the", "those", "these"])
        letters.append((item_id, " ".join(words) + f" (supporter {item_id})"))
    items = perturbed(statements, count - len(letters), seed) + letters
    rng.shuffle(items)
    return items


def timed(run: Callable[[], object], runs: int) -> tuple[float, float, object]:
    """(first run's seconds, best of ``runs`` more, result of the last run)."""
    started = time.perf_counter()
    result = run()
    first = time.perf_counter() - started
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return first, best, result


def baseline(items: list[tuple[int, str]]) -> object:
    with threadpool_limits(limits=1):
        return TfidfVectorizer().fit_transform([text for _, text in items])


def shingle_vectors(items: list[tuple[int, str]]) -> object:
    """The vectorisation ``near_duplicates`` starts with, alone: what is left is its pair search."""
    with threadpool_limits(limits=1):
        vectorizer = TfidfVectorizer(analyzer=_shingles, sublinear_tf=True, use_idf=False)
        return vectorizer.fit_transform([text for _, text in items])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the first (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    statements = load_statements()
    scenarios = [(f"{n:,} perturbed statements", perturbed(statements, n, args.seed)) for n in args.sizes]
    largest = max(args.sizes)
    scenarios.append((f"{largest:,}, half one form letter", with_campaign(statements, largest, args.seed)))

    print(f"python:        {platform.python_version()}")
    print(f"numpy:         {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")
    print(f"cpus:          {os.cpu_count()} (BLAS/OpenMP limited to 1 thread in every timed call)")
    print(f"load average:  {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min, before the run)")
    print(f"runs:          first run, then best of {args.runs}; seed {args.seed}")
    print(f"source:        {len(statements)} statements, {STATEMENTS.relative_to(ROOT)}")
    print()
    header = (
        f"{'scenario':<34}{'baseline ms':>12}{'shingles ms':>12}{'suggest_groups ms':>26}"
        f"{'near_duplicates ms':>27}{'groups':>8}{'grouped':>9}{'dup groups':>12}{'in dups':>9}{'largest':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, items in scenarios:
        _, base, _ = timed(lambda items=items: baseline(items), args.runs)
        _, shingles, _ = timed(lambda items=items: shingle_vectors(items), args.runs)
        groups_first, groups_best, groups = timed(lambda items=items: suggest_groups(items), args.runs)
        dups_first, dups_best, dups = timed(lambda items=items: near_duplicates(items), args.runs)
        suggest = f"{groups_best * 1000:,.0f} ({groups_first * 1000:,.0f} first) {groups_best / base:.1f}x"
        near = f"{dups_best * 1000:,.0f} ({dups_first * 1000:,.0f} first) {dups_best / base:.1f}x"
        print(
            f"{name:<34}{base * 1000:>12,.0f}{shingles * 1000:>12,.0f}{suggest:>26}{near:>27}"
            f"{len(groups):>8}{sum(g.size for g in groups):>9,}{len(dups):>12,}"
            f"{sum(len(d) for d in dups):>9,}{max((len(d) for d in dups), default=0):>9,}"
        )
    print()
    print("ms: best of the timed runs (first run in brackets), and its ratio to the baseline;")
    print("shingles: near_duplicates' own vectorisation alone (its Python analyzer), best of the runs.")
    print("groups, grouped: groups suggested (at most 12) and contributions in them;")
    print("dup groups, in dups, largest: near-duplicate groups, contributions in them, the largest group.")


if __name__ == "__main__":
    main()
