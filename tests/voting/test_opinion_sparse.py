"""The sparse opinion map (issue #22) gives the map the dense computation gave
(``opinion_reference.py``, the code before it): the same groups, representative and consensus
statements, and positions within 1e-6 once each axis's sign is aligned."""

from __future__ import annotations

import numpy as np
import pytest

from consult.voting import opinion
from tests.voting import opinion_reference


def seeded_votes(seed: int, participants: int, statements: int, density: float):
    """Three camps with their own leanings plus noise; some votes cast twice (the latest wins)."""
    rng = np.random.default_rng(seed)
    camp = rng.integers(0, 3, participants)
    leaning = rng.normal(0.0, 1.0, (3, statements))
    votes = []
    for p in rng.permutation(participants):
        for s in np.flatnonzero(rng.random(statements) < density):
            x = leaning[camp[p], s] + rng.normal()
            votes.append((int(p) * 7 + 3, int(s) * 5 + 1, 1 if x > 0.5 else -1 if x < -0.5 else 0))
    for i in rng.choice(len(votes), len(votes) // 20, replace=False):  # a change of mind
        p, s, _ = votes[i]
        votes.append((p, s, int(rng.integers(-1, 2))))
    return votes


def assert_same(new, old):
    assert new.k == old.k
    assert (new.smoothing is None) == (old.smoothing is None)
    if new.smoothing is not None:  # two classes, one per module: compare the fields
        assert (new.smoothing.last_k, new.smoothing.last_k_count, new.smoothing.smoothed_k) == (
            old.smoothing.last_k,
            old.smoothing.last_k_count,
            old.smoothing.smoothed_k,
        )
    assert new.groups == old.groups and new.group_of == old.group_of
    assert new.positions.keys() == old.positions.keys()
    a = np.array([new.positions[p] for p in old.positions])
    b = np.array([old.positions[p] for p in old.positions])
    signs = np.where((a * b).sum(axis=0) < 0, -1.0, 1.0)
    np.testing.assert_allclose(a * signs, b, rtol=0, atol=1e-6)

    def stats(items):
        return [(s.statement, s.direction, s.n_success, s.n_trials) for s in items]

    assert [stats(g) for g in new.representative] == [stats(g) for g in old.representative]
    assert stats(new.consensus) == stats(old.consensus)
    for got, expected in zip(
        [s for g in new.representative for s in g] + new.consensus, [s for g in old.representative for s in g] + old.consensus, strict=True
    ):
        assert got.p_test == pytest.approx(expected.p_test) and got.repness_test == pytest.approx(expected.repness_test)


@pytest.mark.parametrize(
    ("seed", "participants", "statements", "density"),
    [(1, 300, 40, 1.0), (2, 400, 60, 0.3), (3, 250, 120, 0.05), (4, 12, 9, 0.8)],
)
def test_sparse_equals_dense(seed, participants, statements, density):
    votes = seeded_votes(seed, participants, statements, density)
    excluded = [1, 6, 11 + 5 * 5]  # moderated out: zeroed in the PCA, left out of the statistics
    previous = opinion.KSmoothing(2, 3, 2)
    assert_same(opinion.compute(votes, excluded_statements=excluded), opinion_reference.compute(votes, excluded_statements=excluded))
    old_state = opinion_reference.KSmoothing(2, 3, 2)
    new, old = opinion.compute(votes, smoothing=previous), opinion_reference.compute(votes, smoothing=old_state)
    assert (new.k, new.smoothing.smoothed_k) == (old.k, old.smoothing.smoothed_k)


def test_many_statements_take_the_iterative_decomposition(monkeypatch):
    """Beyond GRAM_MAX_STATEMENTS the axes come from svds on the implicitly centred matrix."""
    votes = seeded_votes(5, 300, 50, 0.4)
    monkeypatch.setattr(opinion, "GRAM_MAX_STATEMENTS", 10)
    assert_same(opinion.compute(votes, excluded_statements=[6]), opinion_reference.compute(votes, excluded_statements=[6]))


def test_any_hashable_ids_and_values():
    """Ids that are not integers, and values given as floats, take the general path: same map."""
    votes = [(f"p{p}", ("s", s % 4, s), float(v)) for p, s, v in seeded_votes(6, 60, 12, 0.9)]
    assert_same(opinion.compute(votes), opinion_reference.compute(votes))
    with pytest.raises(ValueError, match="vote value"):
        opinion.compute([(1, 1, 1), (1, 2, 2)])
    with pytest.raises(ValueError, match="vote value"):
        opinion.compute([("a", 1, 1), ("a", 2, 0.5)])
