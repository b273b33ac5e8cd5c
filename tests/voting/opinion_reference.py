"""The opinion map as ``consult.voting.opinion`` computed it before issue #22 (a dense matrix with
NaN for missing votes, a full SVD): kept unchanged as the reference that ``test_opinion_sparse.py``
compares the sparse computation with. Not used by the app."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

AGREE, DISAGREE, PASS = 1, -1, 0

MIN_VOTES = 7  # votes a participant needs to be placed on the map
MIN_PARTICIPANTS = 15  # when fewer qualify, the most active ones are placed instead
BASE_CLUSTERS = 100
MIN_GROUPS, MAX_GROUPS = 2, 5
PICK_MAX = 5  # representative statements per group, consensus statements per direction
ARRIVAL_ORDERS = 40  # Pol.is pipelines whose consensus gives the groups (step 4)
K_SMOOTHING_RUNS = 4  # Pol.is's group-k-buffer: wins in a row before the k shown changes
Z_90 = 1.2815515655446004  # one-tailed 90 % critical value of the standard normal


@dataclass(frozen=True)
class StatementStats:
    """Pol.is's statistics of one statement, in a group (representative) or over everyone
    (consensus). ``direction`` is ``"agree"`` or ``"disagree"``: the fields below are for it."""

    statement: Hashable
    direction: str
    n_success: int  # votes in that direction
    n_trials: int  # all votes (agree, disagree, pass)
    p_success: float  # (n_success + 1) / (n_trials + 2)
    p_test: float  # one-proportion z: is p_success above one half?
    repness: float | None = None  # p_success / the same rate outside the group
    repness_test: float | None = None  # two-proportion z: higher in the group than outside?


@dataclass(frozen=True)
class KSmoothing:
    """Pol.is's ``group-k-smoother`` state, kept from one computation to the next: the k that won
    the last computation, how many computations in a row it has won, and the k shown."""

    last_k: int
    last_k_count: int
    smoothed_k: int

    def after(self, best_k: int) -> KSmoothing:
        """The state once a computation's own best k is ``best_k``."""
        count = self.last_k_count + 1 if best_k == self.last_k else 1
        return KSmoothing(best_k, count, best_k if count >= K_SMOOTHING_RUNS else self.smoothed_k)


@dataclass(frozen=True)
class OpinionMap:
    k: int  # number of groups (0 when nobody could be placed)
    groups: list[list[Hashable]]  # participant ids, per group
    positions: dict[Hashable, tuple[float, float]]  # placed participant -> (x, y)
    representative: list[list[StatementStats]]  # per group, in the order of ``groups``
    consensus: list[StatementStats]  # agreed ones first, then disagreed ones
    group_of: dict[Hashable, int] = field(default_factory=dict)  # placed participant -> group
    smoothing: KSmoothing | None = None  # to pass to the next computation (None: no k was chosen)


def _empty(positions=None, smoothing=None) -> OpinionMap:
    return OpinionMap(0, [], positions or {}, [], [], smoothing=smoothing)


def _canonical(ids: list[Hashable]) -> list[int]:
    """Indices that sort ``ids`` (ints by value, anything else by type name then value)."""
    return sorted(range(len(ids)), key=lambda i: (type(ids[i]).__name__, ids[i]))


def vote_matrix(votes):
    """(participant ids, statement ids, matrix with NaN for no vote): the latest vote wins;
    participants and statements in canonical order (sorted by id)."""
    participants: dict[Hashable, int] = {}
    statements: dict[Hashable, int] = {}
    latest: dict[tuple[int, int], float] = {}
    for participant, statement, value in votes:
        if value not in (AGREE, DISAGREE, PASS):
            raise ValueError(f"vote value must be +1, -1 or 0, not {value!r}")
        row = participants.setdefault(participant, len(participants))
        col = statements.setdefault(statement, len(statements))
        latest[row, col] = float(value)
    matrix = np.full((len(participants), len(statements)), np.nan)
    if latest:
        rows, cols = zip(*latest, strict=True)
        matrix[list(rows), list(cols)] = list(latest.values())
    row_order, col_order = _canonical(list(participants)), _canonical(list(statements))
    people, items = list(participants), list(statements)
    return [people[i] for i in row_order], [items[j] for j in col_order], matrix[np.ix_(row_order, col_order)]


def placed_rows(matrix: np.ndarray) -> np.ndarray:
    """Indices of the participants placed on the map (see step 2)."""
    n_votes = np.count_nonzero(~np.isnan(matrix), axis=1)
    threshold = min(MIN_VOTES, matrix.shape[1])
    rows = np.flatnonzero(n_votes >= threshold)
    if len(rows) < MIN_PARTICIPANTS:
        order = np.argsort(-n_votes, kind="stable")
        rows = np.sort(order[n_votes[order] > 0][:MIN_PARTICIPANTS])
    return rows


def project(matrix: np.ndarray) -> np.ndarray:
    """Pol.is's sparsity-aware PCA projection of every row to two dimensions."""
    voted = ~np.isnan(matrix)
    n_votes = voted.sum(axis=1)
    counts = voted.sum(axis=0)
    means = np.divide(np.nansum(matrix, axis=0), counts, out=np.zeros(matrix.shape[1]), where=counts > 0)
    centred = np.where(voted, matrix - means, 0.0)  # missing vote imputed by the mean
    centred -= centred.mean(axis=0)  # exact centring (the imputed matrix's column means)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = np.zeros((2, matrix.shape[1]))
    n = min(2, vt.shape[0])
    components[:n] = vt[:n]
    # Fix each axis's sign (SVD's is arbitrary): its largest loading is positive.
    for axis in components:
        if axis.any() and axis[np.argmax(np.abs(axis))] < 0:
            axis *= -1
    scale = np.sqrt(matrix.shape[1] / np.maximum(n_votes, 1))
    return (centred @ components.T) * scale[:, None]


def _first_distinct(points: np.ndarray, k: int) -> np.ndarray:
    """Pol.is's k-means start: the first k distinct points, in their order."""
    _, first = np.unique(points, axis=0, return_index=True)
    return points[np.sort(first)[:k]]


def _kmeans(points, k, weights=None):
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, init=_first_distinct(points, k), n_init=1, max_iter=300, tol=1e-6)
    model.fit(points, sample_weight=weights)
    return model.labels_, model.cluster_centers_


def _silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient (scikit-learn's ``silhouette_score``, 0 for a point alone in its
    group), computed directly: the points are at most ``BASE_CLUSTERS`` base clusters."""
    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))
    k = int(labels.max()) + 1
    members = np.eye(k)[labels]  # points x groups
    sizes = members.sum(axis=0)
    sums = distances @ members  # each point's summed distance to each group
    own = sizes[labels] - 1
    a = np.divide(sums[np.arange(len(points)), labels], own, out=np.zeros(len(points)), where=own > 0)
    others = np.where(members.astype(bool), np.inf, sums / sizes)
    b = others.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(own > 0, (b - a) / np.maximum(a, b), 0.0)
    return float(np.nan_to_num(s).mean())


def _one_arrival_order(points: np.ndarray, order: np.ndarray) -> tuple[dict[int, np.ndarray], int]:
    """Pol.is's grouping when participants arrive in ``order``: {k: labels of every point} for
    the k tried, and the k with the best silhouette."""
    arrived = points[order]
    n_base = min(BASE_CLUSTERS, len(np.unique(points, axis=0)))
    arrived_labels, base_centres = _kmeans(arrived, n_base)
    base_labels = np.empty(len(points), dtype=int)
    base_labels[order] = arrived_labels
    used = np.unique(base_labels)
    base_centres = base_centres[used]
    base_labels = np.searchsorted(used, base_labels)
    sizes = np.bincount(base_labels).astype(float)
    distinct_base = len(np.unique(base_centres, axis=0))
    tried, best = {}, None
    for k in range(MIN_GROUPS, min(MAX_GROUPS, distinct_base - 1) + 1):
        labels, _ = _kmeans(base_centres, k, sizes)
        if len(np.unique(labels)) < 2:
            continue
        tried[k] = labels[base_labels]
        score = _silhouette(base_centres, labels)
        if best is None or score > best[0] + 1e-12:
            best = (score, k)
    if best is None:  # two or three distinct base clusters: each is a group
        group_of_base = np.unique(base_centres, axis=0, return_inverse=True)[1].ravel()
        k = int(group_of_base.max()) + 1
        return {k: group_of_base[base_labels]}, k
    return tried, best[1]


def _aligned(labels: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """``labels`` renamed so that each group has the name of the reference group it overlaps most."""
    from scipy.optimize import linear_sum_assignment

    overlap = np.zeros((k, k))
    np.add.at(overlap, (labels, reference), 1)
    rows, cols = linear_sum_assignment(-overlap)
    rename = np.empty(k, dtype=int)
    rename[rows] = cols
    return rename[labels]


def _adjusted_rand(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """The adjusted Rand index of two groupings into groups 0..k-1 (scikit-learn's, without its
    input checks, which cost most of the time here)."""
    table = np.bincount(a * k + b, minlength=k * k).reshape(k, k).astype(float)

    def pairs(x):
        return float((x * (x - 1) / 2).sum())

    both, rows, cols, total = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0)), pairs(np.array([len(a)]))
    expected = rows * cols / total if total else 0.0
    most = (rows + cols) / 2
    return 1.0 if most == expected else (both - expected) / (most - expected)


def _consensus_groups(runs: list[np.ndarray], k: int) -> np.ndarray:
    """One grouping from several: each participant joins the group most runs put them in, once
    the runs' group names are matched to the run that agrees best with the others."""
    agreement = np.zeros(len(runs))
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            a = _adjusted_rand(runs[i], runs[j], k)
            agreement[i] += a
            agreement[j] += a
    reference = runs[int(np.argmax(agreement))]
    everyone = np.arange(len(reference))
    for _ in range(5):  # a vote or two settles it; the bound only guards against a cycle
        tally = np.zeros((len(reference), k))
        for labels in runs:
            tally[everyone, _aligned(labels, reference, k)] += 1
        voted = np.argmax(tally, axis=1)  # a tie goes to the lower group name
        if len(np.unique(voted)) < k or np.array_equal(voted, reference):
            break
        reference = voted
    return reference


def cluster(points: np.ndarray, smoothing: KSmoothing | None = None) -> tuple[np.ndarray, KSmoothing | None]:
    """Group labels 0..k-1 for the points (k = 0 .. 5; -1 never appears) and the next k-smoothing
    state (None when the points left no choice of k)."""
    distinct = len(np.unique(points, axis=0))
    if distinct < MIN_GROUPS:
        return np.zeros(len(points), dtype=int), smoothing
    rng = np.random.default_rng(0)  # fixed: the arrival orders are the same for every call
    runs = [_one_arrival_order(points, np.arange(len(points)) if i == 0 else rng.permutation(len(points))) for i in range(ARRIVAL_ORDERS)]
    wins: dict[int, int] = {}
    for _, best_k in runs:
        wins[best_k] = wins.get(best_k, 0) + 1
    best_k = max(wins, key=lambda k: (wins[k], -k))
    smoothing = smoothing.after(best_k) if smoothing is not None else KSmoothing(best_k, 1, best_k)
    k = smoothing.smoothed_k
    candidates = [tried[k] for tried, _ in runs if k in tried]
    if not candidates:  # the k shown can no longer be formed (too few distinct points): take this one's
        k, smoothing = best_k, KSmoothing(best_k, smoothing.last_k_count, best_k)
        candidates = [tried[k] for tried, _ in runs if k in tried]
    labels = _consensus_groups(candidates, k)
    # Number groups by first appearance (in the canonical order), so the numbering is stable too.
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    renumber = np.empty(int(labels.max()) + 1, dtype=int)
    renumber[np.unique(labels)[order]] = np.arange(len(order))
    return renumber[labels], smoothing


def _counts(matrix: np.ndarray):
    return (
        np.count_nonzero(matrix == AGREE, axis=0),
        np.count_nonzero(matrix == DISAGREE, axis=0),
        np.count_nonzero(~np.isnan(matrix), axis=0),
    )


def _p(n_success, n):
    return (n_success + 1) / (n + 2)


def one_prop_test(n_success, n):
    """Pol.is's one-proportion z-test (with one added to each count)."""
    n_success, n = np.asarray(n_success) + 1.0, np.asarray(n) + 1.0
    return 2 * np.sqrt(n) * (n_success / n - 0.5)


def two_prop_test(succ_in, succ_out, n_in, n_out):
    """Pol.is's two-proportion z-test (with one added to each count)."""
    succ_in, succ_out = np.asarray(succ_in) + 1.0, np.asarray(succ_out) + 1.0
    n_in, n_out = np.asarray(n_in) + 1.0, np.asarray(n_out) + 1.0
    pooled = (succ_in + succ_out) / (n_in + n_out)
    denominator = np.sqrt(pooled * (1 - pooled) * (1 / n_in + 1 / n_out))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (succ_in / n_in - succ_out / n_out) / denominator
    return np.where(denominator > 0, z, 0.0)


def representative(matrix, labels, statements, group) -> list[StatementStats]:
    inside, outside = matrix[labels == group], matrix[labels != group]
    na, nd, ns = _counts(inside)
    oa, od, os_ = _counts(outside)
    stats = {}
    for direction, n_in, n_out in (("agree", na, oa), ("disagree", nd, od)):
        p = _p(n_in, ns)
        stats[direction] = dict(n=n_in, p=p, pt=one_prop_test(n_in, ns), r=p / _p(n_out, os_), rt=two_prop_test(n_in, n_out, ns, os_))

    def make(j, direction):
        s = stats[direction]
        return StatementStats(
            statements[j], direction, int(s["n"][j]), int(ns[j]), float(s["p"][j]), float(s["pt"][j]),
            float(s["r"][j]), float(s["rt"][j]),
        )  # fmt: skip

    chosen = []
    for j in range(len(statements)):
        for direction in ("agree", "disagree"):
            s = stats[direction]
            if s["pt"][j] > Z_90 and s["rt"][j] > Z_90:
                chosen.append(make(j, direction))
                break
    if not chosen:  # Pol.is's fallback: the statement with the best repness test
        if not len(statements) or not ns.any():
            return []
        best = np.maximum(stats["agree"]["rt"], stats["disagree"]["rt"])
        best[ns == 0] = -np.inf
        j = int(np.argmax(best))
        direction = "agree" if stats["agree"]["rt"][j] >= stats["disagree"]["rt"][j] else "disagree"
        return [make(j, direction)]
    chosen.sort(key=lambda s: -(s.repness * s.repness_test * s.p_success * s.p_test))
    chosen = chosen[:PICK_MAX]
    chosen.sort(key=lambda s: s.direction)  # agrees before disagrees, as Pol.is shows them
    return chosen


def consensus(matrix, statements) -> list[StatementStats]:
    na, nd, ns = _counts(matrix)
    result = []
    for direction, n in (("agree", na), ("disagree", nd)):
        p, pt = _p(n, ns), one_prop_test(n, ns)
        candidates = [j for j in range(len(statements)) if p[j] > 0.5 and pt[j] > Z_90]
        candidates.sort(key=lambda j: -p[j] * pt[j])
        result += [
            StatementStats(statements[j], direction, int(n[j]), int(ns[j]), float(p[j]), float(pt[j])) for j in candidates[:PICK_MAX]
        ]
    return result


def compute(
    votes: Iterable[tuple[Hashable, Hashable, int]],
    *,
    excluded_statements: Iterable[Hashable] = (),
    smoothing: KSmoothing | None = None,
) -> OpinionMap:
    """The opinion map of these votes: ``(participant id, statement id, value)`` with value +1
    agree, -1 disagree, 0 pass, in the order cast (a later vote replaces an earlier one; apart
    from that, the order does not matter). Statements in ``excluded_statements`` (moderated out,
    meta) are left out of the maps's statistics, but votes on them count towards the
    participant threshold. ``smoothing`` is the previous computation's ``OpinionMap.smoothing``
    (None for the first): it holds k steady (step 4)."""
    participants, statements, raw = vote_matrix(votes)
    excluded = set(excluded_statements)
    kept = np.array([s not in excluded for s in statements], dtype=bool)
    if not participants or not kept.any():
        return _empty(smoothing=smoothing)
    # Pol.is "zeroes out" a moderated statement: its column becomes a pass from everyone. It then
    # separates nobody, but still counts in the sparsity scaling (a participant's votes and the
    # statements); without this quirk the map, hence the groups, differ from Pol.is's.
    zeroed = np.where(kept, raw, 0.0)
    matrix = raw[:, kept]
    statements = [s for s, k in zip(statements, kept, strict=True) if k]
    with threadpool_limits(1):
        points = project(zeroed)
        rows = placed_rows(raw)
        positions = {participants[i]: (float(points[i, 0]), float(points[i, 1])) for i in rows}
        if len(rows) < MIN_GROUPS:
            return _empty(positions, smoothing)
        labels, smoothing = cluster(points[rows], smoothing)
        placed = matrix[rows]
        agreed = consensus(matrix, statements)  # over everyone who voted, as Pol.is does
        k = int(labels.max()) + 1
        if k < MIN_GROUPS:  # everyone votes alike: one group, nothing to contrast it with
            return OpinionMap(1, [[participants[i] for i in rows]], positions, [[]], agreed,
                              {participants[i]: 0 for i in rows}, smoothing)  # fmt: skip
        groups = [[participants[i] for i in rows[labels == g]] for g in range(k)]
        return OpinionMap(
            k=k,
            groups=groups,
            positions=positions,
            representative=[representative(placed, labels, statements, g) for g in range(k)],
            consensus=agreed,
            group_of={participants[i]: int(g) for i, g in zip(rows, labels, strict=True)},
            smoothing=smoothing,
        )
