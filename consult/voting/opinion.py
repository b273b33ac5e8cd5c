"""The opinion map of a conversation (issue #7): who thinks alike, and what each group stands for.

A pure computation, with no Flask and no database: it takes the statement votes and returns an
:class:`OpinionMap`. It follows Pol.is's math (compdemocracy/polis ``math/``, and red-dwarf,
its open Python reimplementation, polis-community/red-dwarf) step by step:

1. **Vote matrix.** One row per participant, one column per statement, the participant's latest
   vote (the last one in the input order wins), missing where they did not vote. Rows and
   columns are then put in a canonical order (participants and statements sorted by id), so
   nothing below depends on the order in which the votes arrived. Statements in
   ``excluded_statements`` (moderated out, and Pol.is's ``is-meta`` statements: "this is a
   question about the conversation itself", which Pol.is moderates out of the maths the same
   way) are left out of the statistics, and, as Pol.is does ("zeroing out"), their column is a
   pass from everyone in the PCA: it separates nobody but still counts in step 3's scaling.
   Without this quirk the groups agree markedly less with Pol.is's.

   Vote values: ``+1`` agree, ``-1`` disagree, ``0`` pass. This is the convention of Pol.is's
   exports (``votes.csv``, ``participants-votes.csv``); Pol.is's own database stores agree as
   -1, which changes no grouping (PCA and k-means are symmetric), only the sign of the axes.

2. **Who is placed.** Participants with at least ``min(7, number of statements)`` votes; when
   fewer than 15 qualify, the 15 most active participants (ties broken by participant id)
   instead, as Pol.is does so that a young conversation has a map. Every vote counts here,
   votes on excluded statements too, as in Pol.is (its ``user-vote-counts`` reads the raw
   matrix): leaving them out left up to 8 % of the participants Pol.is groups off the map.

3. **PCA to two dimensions**, fitted on every participant's row with each missing vote imputed
   by the statement's mean vote. A participant's projection is then multiplied by
   ``sqrt(n_statements / n_votes_of_participant)``: without it, who voted on few statements
   sits near the centre (their missing votes are the average), whatever they think.

4. **Groups.** As Pol.is does, the placed participants are first gathered into at most 100
   *base clusters* (k-means; beyond ``BASE_SAMPLE`` participants, k-means on the first
   ``BASE_SAMPLE`` to arrive, then everyone joins the nearest base cluster, whose centre becomes
   its members' mean: fixed work per computation whatever the number of participants), then the base clusters, weighted by their size, are grouped by
   k-means for k = 2..5, and the k with the best silhouette wins. Pol.is starts each k-means
   from the first distinct points in the order participants arrived (and from the previous
   run's clusters), so its groups depend on that order: on vTaiwan, one arrival order gives 2
   groups close to Pol.is's (adjusted Rand index 0.93), another 4 (0.37). Consult runs this
   pipeline on ``ARRIVAL_ORDERS`` arrival orders drawn with fixed seeds from the canonical
   order, takes the k that wins most often (the smaller on a tie) and, for that k, the
   *consensus* grouping: each run's groups are matched to a reference run's (the one that
   agrees best with the others), and each participant joins the group most runs put them in.
   The result depends only on the set of votes, and it is the grouping Pol.is gives typically
   rather than in one lucky order (``tests/voting/test_opinion.py`` shuffles the votes).

   **k-smoothing.** Pol.is does not let k flicker as votes arrive: the k shown changes only
   when another k has won ``K_SMOOTHING_RUNS`` (4) computations in a row. ``compute`` takes
   the previous :class:`KSmoothing` state and returns the next one in the map; the caller
   stores it (``OpinionMapCache``).

5. **Statistics** (Pol.is's ``repness`` and ``consensus``), for each group ``g`` and statement:
   ``na``/``nd``/``ns`` agree, disagree and all votes in the group; the smoothed rates
   ``pa = (na + 1) / (ns + 2)`` and ``pd``; the one-proportion test ``pat``/``pdt`` (is the rate
   above one half?); ``ra = pa / pa(outside g)`` and ``rd``; the two-proportion test
   ``rat``/``rdt`` (is the rate higher in ``g`` than outside?). A statement represents a group
   when both its tests pass at 90 % (z > 1.2816) for agree, or for disagree; the best five are
   kept, ranked by ``repness * repness_test * p_success * p_test``, with a fallback to the best
   repness test so that every group has at least one. Consensus statements are computed over
   every placed participant: the rate above one half and its one-proportion test significant,
   ranked by ``p_success * p_test``, up to five agreed and five disagreed.

BLAS and OpenMP are limited to one thread during the computation (``threadpool_limits(1)``): it
runs inside a web worker, and two workers must not each start a pool per core.
"""

from __future__ import annotations

import array
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
from threadpoolctl import threadpool_limits

AGREE, DISAGREE, PASS = 1, -1, 0

MIN_VOTES = 7  # votes a participant needs to be placed on the map
MIN_PARTICIPANTS = 15  # when fewer qualify, the most active ones are placed instead
BASE_CLUSTERS = 100
BASE_SAMPLE = 1000  # participants the base clusters are computed from (the others join the nearest)
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


@dataclass(frozen=True)
class VoteArrays:
    """The latest vote of each participant on each statement, sparse: three aligned arrays, one
    entry per vote, in (participant, statement) order. A pass is a vote of value 0, so an entry's
    presence, not its value, says that someone voted. No participants x statements array is made."""

    participants: list[Hashable]  # row i is participants[i] (canonical order, step 1)
    statements: list[Hashable]  # column j is statements[j]
    rows: np.ndarray  # participant index of each vote
    cols: np.ndarray  # statement index of each vote
    values: np.ndarray  # +1, -1 or 0, as floats
    zeroed: int = 0  # further statements whose column is a pass from everyone (moderated out, step 1)

    def only(self, kept: np.ndarray) -> VoteArrays:
        """The votes on the statements where ``kept`` is true; the others become ``zeroed``."""
        on_kept = kept[self.cols]
        column = np.cumsum(kept) - 1
        return VoteArrays(
            self.participants,
            [s for s, k in zip(self.statements, kept, strict=True) if k],
            self.rows[on_kept],
            column[self.cols[on_kept]],
            self.values[on_kept],
            self.zeroed + int(len(kept) - kept.sum()),
        )


def _ranked(ids: list[Hashable]) -> tuple[list[Hashable], np.ndarray]:
    """(the distinct ids in canonical order, each id's index in that list), for any hashable ids."""
    first: dict[Hashable, int] = {}
    index = np.fromiter((first.setdefault(i, len(first)) for i in ids), dtype=np.intp, count=len(ids))
    seen = list(first)
    order = _canonical(seen)
    rank = np.empty(len(seen), dtype=np.intp)
    rank[order] = np.arange(len(seen))
    return [seen[i] for i in order], rank[index]


def _ranked_ints(ids: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The same for integer ids (the database's keys): sorted, without a sort when they are compact."""
    low, high = int(ids.min()), int(ids.max())
    if high - low <= 4 * len(ids):
        present = np.zeros(high - low + 1, dtype=bool)
        present[ids - low] = True
        rank = np.cumsum(present) - 1
        return (np.flatnonzero(present) + low).tolist(), rank[ids - low]
    distinct, index = np.unique(ids, return_inverse=True)
    return distinct.tolist(), index.ravel()


def _integer_table(votes) -> np.ndarray | None:
    """The votes as an (n, 3) int64 array when every id and value is an integer (the database's
    votes: ``statements.map_inputs`` reads them straight into one), else None. A list of
    tuples is read in C by ``array.array``, which refuses floats and strings (they take the
    general path) and is twice as fast as ``np.array`` on a list of tuples."""
    if isinstance(votes, np.ndarray):
        integer = votes.ndim == 2 and votes.shape[1] == 3 and len(votes) > 0 and np.issubdtype(votes.dtype, np.integer)
        return votes.astype(np.int64, copy=False) if integer else None
    if not votes or set(map(len, votes)) != {3}:
        return None
    try:
        flat = array.array("q", chain.from_iterable(votes))
    except (TypeError, OverflowError):
        return None
    return np.frombuffer(flat, dtype=np.int64).reshape(-1, 3)


def vote_arrays(votes) -> VoteArrays:
    """The votes ``(participant, statement, value)`` as :class:`VoteArrays`: the latest vote on
    each (participant, statement) wins; participants and statements sorted by id (step 1)."""
    if isinstance(votes, np.ndarray):
        votes = votes if _integer_table(votes) is not None else votes.tolist()
    elif not isinstance(votes, list):
        votes = list(votes)
    table = _integer_table(votes)
    if table is not None:
        wrong = (table[:, 2] < DISAGREE) | (table[:, 2] > AGREE)
        if wrong.any():
            raise ValueError(f"vote value must be +1, -1 or 0, not {int(table[np.argmax(wrong), 2])!r}")
        participants, rows = _ranked_ints(table[:, 0])
        statements, cols = _ranked_ints(table[:, 1])
        values = table[:, 2].astype(float)
    else:  # any other ids (strings, tuples...) or values: one pass in Python
        people, items, cast = [], [], []
        for participant, statement, value in votes:
            if value not in (AGREE, DISAGREE, PASS):
                raise ValueError(f"vote value must be +1, -1 or 0, not {value!r}")
            people.append(participant)
            items.append(statement)
            cast.append(float(value))
        participants, rows = _ranked(people)
        statements, cols = _ranked(items)
        values = np.array(cast, dtype=float)
    # The latest vote on each cell: the last of its run once sorted by cell (a stable sort keeps
    # the input order within a run).
    cell = rows.astype(np.int64) * max(len(statements), 1) + cols
    order = np.argsort(cell, kind="stable")
    cell = cell[order]
    last = np.ones(len(cell), dtype=bool)
    last[:-1] = cell[1:] != cell[:-1]
    latest = order[last]
    return VoteArrays(participants, statements, rows[latest], cols[latest], values[latest])


def placed_rows(n_votes: np.ndarray, n_statements: int) -> np.ndarray:
    """Indices of the participants placed on the map (see step 2), from each one's vote count."""
    threshold = min(MIN_VOTES, n_statements)
    rows = np.flatnonzero(n_votes >= threshold)
    if len(rows) < MIN_PARTICIPANTS:
        order = np.argsort(-n_votes, kind="stable")
        rows = np.sort(order[n_votes[order] > 0][:MIN_PARTICIPANTS])
    return rows


GRAM_MAX_STATEMENTS = 2000  # up to this many statements, the PCA is an eigendecomposition of their covariance
GRAM_BLOCK = 1024  # participants per dense block of the covariance, when the votes are dense enough


def _covariance(z, centre: np.ndarray) -> np.ndarray:
    """``C^T C`` of the centred matrix ``C = z - centre`` (statements x statements), without making
    C: from the sparse product when few people vote on each statement, else by blocks of rows."""
    n_rows, n_cols = z.shape
    per_row = np.diff(z.indptr).astype(float)
    if (per_row**2).sum() * 32 < n_rows * n_cols * n_cols:  # sparse: work grows with votes per row squared
        gram = (z.T @ z).toarray()
        gram -= n_rows * np.outer(centre, centre)
        return gram
    gram = np.zeros((n_cols, n_cols))
    for start in range(0, n_rows, GRAM_BLOCK):
        block = z[start : start + GRAM_BLOCK].toarray() - centre
        gram += block.T @ block
    return gram


def _top_axes(z, centre: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` right singular vectors of ``C = z - centre`` (rows of the result)."""
    n_cols = z.shape[1]
    if n_cols <= GRAM_MAX_STATEMENTS:
        from scipy.linalg import eigh

        _, vectors = eigh(_covariance(z, centre), subset_by_index=[n_cols - n, n_cols - 1])
        return vectors[:, ::-1].T
    from scipy.sparse.linalg import LinearOperator, svds

    ones = np.ones(z.shape[0])
    centred = LinearOperator(
        z.shape,
        matvec=lambda x: z @ x - centre @ x,
        rmatvec=lambda y: z.T @ y - centre * y.sum(),
        matmat=lambda x: z @ x - np.outer(ones, centre @ x),
        rmatmat=lambda y: z.T @ y - np.outer(centre, y.sum(axis=0)),
        dtype=float,
    )
    _, values, vt = svds(centred, k=n, v0=np.full(min(z.shape), 1.0 / np.sqrt(min(z.shape))), tol=0)
    return vt[np.argsort(-values)]


def project(votes: VoteArrays) -> np.ndarray:
    """Pol.is's sparsity-aware PCA projection of every participant to two dimensions.

    The imputed, centred matrix ``C`` (each vote minus its statement's mean, 0 where no vote,
    then minus the column means) is ``z - centre`` with ``z`` sparse: its axes come from the
    eigenvectors of ``C^T C`` (statements x statements) and the projection is ``z V - centre V``,
    so no participants x statements array is made. Zeroed statements are all-zero columns of C:
    they move no axis but count in the scaling."""
    from scipy.sparse import csr_matrix

    n_rows, n_cols = len(votes.participants), len(votes.statements)
    n_votes = np.bincount(votes.rows, minlength=n_rows) + votes.zeroed
    counts = np.bincount(votes.cols, minlength=n_cols)
    sums = np.bincount(votes.cols, weights=votes.values, minlength=n_cols)
    means = np.divide(sums, counts, out=np.zeros(n_cols), where=counts > 0)
    z = csr_matrix((votes.values - means[votes.cols], (votes.rows, votes.cols)), shape=(n_rows, n_cols))
    centre = np.asarray(z.sum(axis=0)).ravel() / max(n_rows, 1)  # exact centring (zero but for rounding)
    components = np.zeros((2, n_cols))
    n = min(2, n_rows, n_cols)
    if n:
        components[:n] = _top_axes(z, centre, n)
    # Fix each axis's sign (the decomposition's is arbitrary): its largest loading is positive.
    for axis in components:
        if axis.any() and axis[np.argmax(np.abs(axis))] < 0:
            axis *= -1
    scale = np.sqrt((n_cols + votes.zeroed) / np.maximum(n_votes, 1))
    return (z @ components.T - centre @ components.T) * scale[:, None]


def _first_distinct(points: np.ndarray, k: int) -> np.ndarray:
    """Pol.is's k-means start: the first k distinct points, in their order."""
    _, first = np.unique(points, axis=0, return_index=True)
    return points[np.sort(first)[:k]]


def _squared(rows: np.ndarray) -> np.ndarray:
    """Each row's squared norm (a sum per column: numpy reduces a short last axis slowly)."""
    return sum(rows[:, a] ** 2 for a in range(rows.shape[1]))


def _nearest_two(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point: its nearest centre, the distance to it and the distance to the next nearest."""
    d2 = x @ (-2 * centres.T)
    d2 += _squared(centres)
    nearest = d2.argmin(axis=1)
    every = np.arange(len(x))
    first = d2[every, nearest]
    d2[every, nearest] = np.inf
    norms = _squared(x)  # left out above: the same for every centre
    return nearest, np.sqrt(np.maximum(first + norms, 0)), np.sqrt(np.maximum(d2.min(axis=1) + norms, 0))


def _kmeans(
    points: np.ndarray, k: int, weights: np.ndarray | None = None, init: np.ndarray | None = None, max_iter: int = 300, tol: float = 1e-6
):
    """Lloyd's k-means from ``init`` (default: the first k distinct points), with the stopping rules
    of scikit-learn's ``KMeans(init=init, n_init=1, tol=tol, algorithm="lloyd")``, whose labels and
    centres it gives: stop when no label changes, or when the centres moved less than ``tol`` times
    the data's mean variance (squared, in all); an empty cluster takes the point farthest from its
    centre. Hamerly's bounds skip the points whose centre cannot have changed (the distance to
    their centre, and a lower bound on the distance to any other, moved by at most how far the
    centres moved): late iterations, where few centres move, then cost next to nothing. Returns
    (labels, centres)."""
    mean = points.mean(axis=0)
    x = points - mean  # as scikit-learn does, for the precision of the distances
    centres = (_first_distinct(points, k) if init is None else np.asarray(init, dtype=float)) - mean
    k = len(centres)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    threshold = float(np.var(points, axis=0).mean()) * tol
    labels, upper, lower = _nearest_two(x, centres)
    previous = None
    strict = False
    for _ in range(max_iter):
        # M-step: the weighted means; an empty cluster takes the farthest point (scikit-learn's rule).
        weight = np.bincount(labels, weights=w, minlength=k)
        sums = np.stack([np.bincount(labels, weights=w * x[:, a], minlength=k) for a in range(x.shape[1])], axis=1)
        empty = np.flatnonzero(weight == 0)
        if len(empty):
            far = _squared(x - centres[labels])
            if far.max() > 0:
                for cluster, point in zip(empty, np.argpartition(far, -len(empty))[: -len(empty) - 1 : -1], strict=True):
                    sums[labels[point]] -= x[point] * w[point]
                    weight[labels[point]] -= w[point]
                    sums[cluster], weight[cluster] = x[point] * w[point], w[point]
        moved = np.divide(sums, weight[:, None], out=np.zeros_like(sums), where=weight[:, None] > 0)
        shift = np.sqrt(_squared(moved - centres))
        centres = moved
        if previous is not None and np.array_equal(labels, previous):
            strict = True
            break
        if (shift**2).sum() <= threshold:
            break
        previous = labels.copy()
        # E-step, with Hamerly's bounds moved by the shifts: only points whose bounds overlap are measured.
        labels, upper, lower = _reassign(x, centres, labels, upper + shift[labels], lower - _other_shift(shift, labels))
    if not strict:  # the labels of the final centres
        labels, _, _ = _nearest_two(x, centres)
    return labels, centres + mean


def _other_shift(shift: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """For each point, the farthest any centre but its own moved (what its lower bound loses)."""
    if len(shift) == 1:
        return np.zeros(len(labels))
    top = int(np.argmax(shift))
    return np.where(labels == top, np.partition(shift, -2)[-2], shift[top])


def _reassign(x, centres, labels, upper, lower):
    """Hamerly's E-step: the nearest centre of each point, measured only where the bounds allow a change."""
    if len(x) * len(centres) <= 4096:  # few points (the groups of the base clusters): measure them all
        return _nearest_two(x, centres)
    if len(centres) > 1:
        gaps = np.sqrt(sum(np.subtract.outer(centres[:, a], centres[:, a]) ** 2 for a in range(centres.shape[1])))
        np.fill_diagonal(gaps, np.inf)
        bound = np.maximum(gaps.min(axis=1)[labels] / 2, lower)
    else:
        bound = np.full(len(x), np.inf)
    check = np.flatnonzero(upper > bound)
    if len(check):
        upper[check] = np.sqrt(_squared(x[check] - centres[labels[check]]))
        check = check[upper[check] > bound[check]]
    if len(check):
        labels, upper, lower = labels.copy(), upper.copy(), lower.copy()
        labels[check], upper[check], lower[check] = _nearest_two(x[check], centres)
    return labels, upper, lower


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


def _one_arrival_order(points: np.ndarray, order: np.ndarray, kind: np.ndarray) -> tuple[dict[int, np.ndarray], int]:
    """Pol.is's grouping when participants arrive in ``order``: {k: labels of every point} for
    the k tried, and the k with the best silhouette. ``kind`` numbers the distinct points (equal
    points, equal numbers), found once for every order."""
    arrived = points[order]
    sample = arrived[:BASE_SAMPLE]  # the first to arrive: a different sample in each order
    _, first = np.unique(kind[order[:BASE_SAMPLE]], return_index=True)  # Pol.is's start: the first distinct points
    n_base = min(BASE_CLUSTERS, len(first))
    arrived_labels, base_centres = _kmeans(sample, n_base, init=sample[np.sort(first)[:n_base]])
    if len(arrived) > len(sample):  # everyone joins the nearest base cluster, whose centre is then its members' mean
        arrived_labels, _, _ = _nearest_two(arrived - base_centres.mean(axis=0), base_centres - base_centres.mean(axis=0))
        members = np.bincount(arrived_labels, minlength=n_base)[:, None]
        sums = np.stack([np.bincount(arrived_labels, weights=arrived[:, a], minlength=n_base) for a in range(arrived.shape[1])], axis=1)
        base_centres = np.divide(sums, members, out=base_centres.copy(), where=members > 0)
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
    distinct, kind = np.unique(points, axis=0, return_inverse=True)
    kind = kind.ravel()
    if len(distinct) < MIN_GROUPS:
        return np.zeros(len(points), dtype=int), smoothing
    rng = np.random.default_rng(0)  # fixed: the arrival orders are the same for every call
    orders = [np.arange(len(points)) if i == 0 else rng.permutation(len(points)) for i in range(ARRIVAL_ORDERS)]
    runs = [_one_arrival_order(points, order, kind) for order in orders]
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


def _counts(votes: VoteArrays, group_of_row: np.ndarray, k: int) -> np.ndarray:
    """Agree, disagree and all votes per group and statement, shape (3, k, statements), from the
    sparse votes; participants in group -1 are not counted."""
    group = group_of_row[votes.rows]
    counted = group >= 0
    cell = group[counted] * len(votes.statements) + votes.cols[counted]
    values = votes.values[counted]
    size = k * len(votes.statements)
    return np.stack(
        [
            np.bincount(cell[values == AGREE], minlength=size),
            np.bincount(cell[values == DISAGREE], minlength=size),
            np.bincount(cell, minlength=size),
        ]
    ).reshape(3, k, len(votes.statements))


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


def representative(inside: np.ndarray, outside: np.ndarray, statements) -> list[StatementStats]:
    """A group's representative statements, from the counts (agree, disagree, all) of its
    members' votes per statement and of the other placed participants'."""
    na, nd, ns = inside
    oa, od, os_ = outside
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


def consensus(counts: np.ndarray, statements) -> list[StatementStats]:
    """The consensus statements, from the counts (agree, disagree, all) of every vote per statement."""
    na, nd, ns = counts
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
    every = vote_arrays(votes)
    participants = every.participants
    excluded = set(excluded_statements)
    kept = np.array([s not in excluded for s in every.statements], dtype=bool)
    if not participants or not kept.any():
        return _empty(smoothing=smoothing)
    # Pol.is "zeroes out" a moderated statement: its column becomes a pass from everyone. It then
    # separates nobody, but still counts in the sparsity scaling (a participant's votes and the
    # statements); without this quirk the map, hence the groups, differ from Pol.is's.
    votes = every.only(kept)
    statements = votes.statements
    with threadpool_limits(1):
        points = project(votes)
        rows = placed_rows(np.bincount(every.rows, minlength=len(participants)), len(every.statements))
        positions = {participants[i]: (float(points[i, 0]), float(points[i, 1])) for i in rows}
        if len(rows) < MIN_GROUPS:
            return _empty(positions, smoothing)
        labels, smoothing = cluster(points[rows], smoothing)
        agreed = consensus(
            _counts(votes, np.zeros(len(participants), dtype=int), 1)[:, 0], statements
        )  # over everyone who voted, as Pol.is does
        k = int(labels.max()) + 1
        if k < MIN_GROUPS:  # everyone votes alike: one group, nothing to contrast it with
            return OpinionMap(1, [[participants[i] for i in rows]], positions, [[]], agreed,
                              {participants[i]: 0 for i in rows}, smoothing)  # fmt: skip
        group_of_row = np.full(len(participants), -1)
        group_of_row[rows] = labels
        counts = _counts(votes, group_of_row, k)
        placed = counts.sum(axis=1)
        groups = [[participants[i] for i in rows[labels == g]] for g in range(k)]
        return OpinionMap(
            k=k,
            groups=groups,
            positions=positions,
            representative=[representative(counts[:, g], placed - counts[:, g], statements) for g in range(k)],
            consensus=agreed,
            group_of={participants[i]: int(g) for i, g in zip(rows, labels, strict=True)},
            smoothing=smoothing,
        )
