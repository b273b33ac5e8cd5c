"""The opinion map's own k-means (issue #22) gives scikit-learn's labels and centres, the base
clusters of a large conversation come from a bounded sample, and the votes may come as one
integer array (what ``statements.map_inputs`` reads) as well as tuples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from consult.voting import opinion
from tests.voting.test_opinion_sparse import seeded_votes


@pytest.mark.parametrize(("seed", "n", "k", "weighted"), [(1, 3000, 100, False), (2, 500, 40, False), (3, 100, 4, True), (4, 60, 2, True)])
def test_kmeans_gives_scikit_learns_result(seed, n, k, weighted):
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.normal(centre, 1.0, (n // 3, 2)) for centre in ((0, 0), (5, 1), (2, 6))])
    points = np.concatenate([points, points[:7]])  # duplicates: the start takes distinct points
    weights = rng.integers(1, 40, len(points)).astype(float) if weighted else None
    labels, centres = opinion._kmeans(points, k, weights)
    expected = KMeans(n_clusters=k, init=opinion._first_distinct(points, k), n_init=1, max_iter=300, tol=1e-6).fit(
        points, sample_weight=weights
    )
    np.testing.assert_array_equal(labels, expected.labels_)
    np.testing.assert_allclose(centres, expected.cluster_centers_, rtol=0, atol=1e-9)


def test_an_empty_cluster_takes_the_farthest_point():
    points = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0], [10.1, 0.0], [30.0, 0.0]])
    init = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 50.0]])  # the third start is nobody's nearest
    labels, centres = opinion._kmeans(points, 3, init=init)
    expected = KMeans(n_clusters=3, init=init, n_init=1, max_iter=300, tol=1e-6).fit(points)
    np.testing.assert_array_equal(labels, expected.labels_)
    assert labels.tolist() == [0, 0, 1, 1, 2]  # it moved to the point farthest from its centre
    np.testing.assert_allclose(centres, expected.cluster_centers_, atol=1e-9)


def test_base_clusters_of_many_participants_come_from_a_sample(monkeypatch):
    """Beyond BASE_SAMPLE participants the base clusters are fitted on the first to arrive and
    everyone joins the nearest: the same groups as fitting them on everyone, for less work."""
    votes = seeded_votes(7, 900, 30, 0.8)
    whole = opinion.compute(votes)
    calls = []
    kmeans = opinion._kmeans
    monkeypatch.setattr(opinion, "_kmeans", lambda points, k, *a, **kw: calls.append(len(points)) or kmeans(points, k, *a, **kw))
    monkeypatch.setattr(opinion, "BASE_SAMPLE", 300)
    sampled = opinion.compute(votes)
    assert max(calls) == 300  # no k-means on more than the sample
    assert sampled.k == whole.k
    assert sampled.positions == whole.positions
    both = sorted(whole.group_of)
    assert adjusted_rand_score([whole.group_of[p] for p in both], [sampled.group_of[p] for p in both]) > 0.95


def test_votes_as_an_integer_array_give_the_same_map():
    votes = seeded_votes(8, 200, 25, 0.7)
    assert opinion.compute(np.array(votes, dtype=np.int64), excluded_statements=[6]) == opinion.compute(votes, excluded_statements=[6])
    assert opinion.compute(np.empty((0, 3), dtype=np.int64)).k == 0
    with pytest.raises(ValueError, match="vote value"):
        opinion.compute(np.array([[1, 1, 1], [1, 2, 2]]))
    floats = [(1, s, 0.5) for s in range(3)]  # not integers: the general path refuses the value
    with pytest.raises(ValueError, match="vote value"):
        opinion.compute(floats)
