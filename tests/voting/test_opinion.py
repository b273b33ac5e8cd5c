"""The opinion map (issue #7) on two real Pol.is conversations (tests/data/polis, CC BY 4.0),
compared with Pol.is's own grouping, and on small cases. Speed: bench/opinion_map.py."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from consult.voting import opinion
from consult.voting.opinion import KSmoothing, compute

POLIS = Path(__file__).resolve().parents[1] / "data" / "polis"

# Red-dwarf, the open reimplementation of Pol.is's math, reaches these against Pol.is's group-id.
TARGET_ARI = {"vtaiwan.uberx": 0.83, "scoop-hivemind.biodiversity": 0.95}


def load(name: str):
    """(votes, Pol.is's group per participant, moderated-out statements) of a conversation."""
    votes, polis_group = [], {}
    with (POLIS / name / "participants-votes.csv").open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader)
        assert header[:6] == ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"]
        for row in reader:
            participant = int(row[0])
            if row[1] != "":
                polis_group[participant] = int(row[1])
            votes += [(participant, int(s), int(v)) for s, v in zip(header[6:], row[6:], strict=False) if v != ""]
    with (POLIS / name / "comments.csv").open(newline="", encoding="utf-8") as file:
        moderated_out = [int(row["comment-id"]) for row in csv.DictReader(file) if row["moderated"] == "-1"]
    return votes, polis_group, moderated_out


@pytest.fixture(scope="module", params=sorted(TARGET_ARI))
def conversation(request):
    votes, polis_group, moderated_out = load(request.param)
    return request.param, votes, polis_group, moderated_out, compute(votes, excluded_statements=moderated_out)


def test_groups_agree_with_polis(conversation):
    name, _, polis_group, _, result = conversation
    assert result.k == len(set(polis_group.values())) == len(result.groups)
    both = [p for p in result.group_of if p in polis_group]
    assert len(both) >= 0.95 * len(polis_group)
    ari = adjusted_rand_score([polis_group[p] for p in both], [result.group_of[p] for p in both])
    print(f"{name}: k={result.k}, ARI={ari:.4f} over {len(both)} participants")
    assert ari >= TARGET_ARI[name]


def test_map_is_consistent(conversation):
    _, votes, _, moderated_out, result = conversation
    placed = set(result.positions)
    assert placed == set(result.group_of) == {p for group in result.groups for p in group}
    assert sum(len(g) for g in result.groups) == len(placed)
    assert all(len(g) > 0 for g in result.groups)
    assert all(np.isfinite(xy).all() and len(xy) == 2 for xy in result.positions.values())
    counts = {}
    for participant, _, _ in votes:  # votes on moderated-out statements count too, as in Pol.is
        counts[participant] = counts.get(participant, 0) + 1
    assert placed == {p for p, n in counts.items() if n >= 7}


def test_deterministic(conversation):
    _, votes, _, moderated_out, result = conversation
    assert compute(votes, excluded_statements=moderated_out) == result


def test_the_order_of_votes_and_participants_changes_nothing(conversation):
    """In file order vTaiwan gave 2 groups (ARI 0.93), sorted 4 (ARI 0.37), shuffled anything
    between: the groups depended on which participants came first."""
    name, votes, polis_group, moderated_out, result = conversation
    by_participant: dict[int, list] = {}
    for vote in votes:
        by_participant.setdefault(vote[0], []).append(vote)
    for seed in range(10):
        shuffler = random.Random(seed)
        participants = list(by_participant)
        shuffler.shuffle(participants)  # participants arrive in another order...
        shuffled = [vote for p in participants for vote in by_participant[p]]
        shuffler.shuffle(shuffled)  # ...and so do their votes
        again = compute(shuffled, excluded_statements=moderated_out)
        assert again.k == result.k and again.groups == result.groups and again.group_of == result.group_of, seed
        both = [p for p in again.group_of if p in polis_group]
        assert adjusted_rand_score([polis_group[p] for p in both], [again.group_of[p] for p in both]) >= TARGET_ARI[name]
    assert again == result  # positions and statements too


def test_votes_on_moderated_out_statements_count_towards_the_threshold():
    """Pol.is places whoever cast 7 votes, whatever became of the statements since; Consult left
    out the votes on moderated-out ones, and with them up to 8 % of Pol.is's participants."""
    votes = [(p, s, 1 if (p < 10) == (s < 5) else -1) for p in range(20) for s in range(10)]
    votes += [(20, s, 1) for s in range(4)] + [(20, s, -1) for s in (10, 11, 12)]  # 4 + 3 moderated out
    votes += [(21, s, -1) for s in range(6)]  # 6 votes: not placed
    result = compute(votes, excluded_statements=[10, 11, 12])
    assert 20 in result.positions and 20 in result.group_of
    assert 21 not in result.positions
    assert all(s.statement not in (10, 11, 12) for g in result.representative for s in g)


def three_camps():
    """36 participants in three camps of 12, each agreeing with its own four statements."""
    votes = []
    for p in range(36):
        camp = p % 3
        for s in range(12):
            own = s // 4 == camp
            votes.append((p, s, 0 if s == p % 12 and not own else 1 if own else -1))
    return votes


def test_k_smoothing_holds_the_number_of_groups_steady():
    """Pol.is changes the k it shows only once another k has won four computations in a row."""
    votes = three_camps()
    first = compute(votes)
    assert first.k == 3 and first.smoothing == KSmoothing(3, 1, 3)  # the first map takes its own best k
    state = KSmoothing(last_k=2, last_k_count=9, smoothed_k=2)  # a map of two groups so far
    shown = []
    for _ in range(5):
        result = compute(votes, smoothing=state)
        shown.append(result.k)
        assert len(result.groups) == result.k == result.smoothing.smoothed_k
        state = result.smoothing
    assert shown == [2, 2, 2, 3, 3]
    assert state == KSmoothing(3, 5, 3)
    # One computation that prefers another k changes nothing shown and restarts the count.
    assert KSmoothing(3, 5, 3).after(2) == KSmoothing(2, 1, 3)
    assert KSmoothing(2, 1, 3).after(3) == KSmoothing(3, 1, 3)


def test_representative_statements(conversation):
    _, votes, _, moderated_out, result = conversation
    excluded = set(moderated_out)
    assert len(result.representative) == result.k
    for g, statements in enumerate(result.representative):
        assert 1 <= len(statements) <= 5
        for s in statements:
            assert s.statement not in excluded
            assert s.direction in ("agree", "disagree")
            # Significant at 90 %: the group leans that way, and more than everyone else does.
            assert s.p_test > opinion.Z_90 and s.repness_test > opinion.Z_90
            assert s.p_success > 0.5 and s.repness > 1
            inside = [v for p, st, v in votes if st == s.statement and result.group_of.get(p) == g]
            wanted = 1 if s.direction == "agree" else -1
            assert s.n_trials == len(inside) and s.n_success == inside.count(wanted)
    # Groups are told apart by different statements.
    firsts = [tuple((s.statement, s.direction) for s in group) for group in result.representative]
    assert len(set(firsts)) == result.k


def test_consensus_statements(conversation):
    _, votes, _, moderated_out, result = conversation
    agreed = [s for s in result.consensus if s.direction == "agree"]
    assert agreed and len(agreed) <= 5
    assert all(s.statement not in set(moderated_out) for s in result.consensus)
    for s in agreed:
        assert s.p_success > 0.5 and s.p_test > opinion.Z_90
        # A consensus statement is agreed in every group, not carried by one of them.
        for group in result.groups:
            members = set(group)
            inside = [v for p, st, v in votes if st == s.statement and p in members]
            assert inside.count(1) / len(inside) > 0.5
    ranks = [s.p_success * s.p_test for s in agreed]
    assert ranks == sorted(ranks, reverse=True)


def test_latest_vote_wins_and_exclusions():
    base = [(p, s, 1 if (p < 10) == (s < 5) else -1) for p in range(20) for s in range(10)]
    changed = compute([*base, *[(p, s, -1) for p in range(20) for s in range(10, 12)], (0, 0, -1), (0, 0, 1)],
                      excluded_statements=[10, 11])  # fmt: skip
    plain = compute(base)
    assert changed.k == plain.k == 2
    assert (
        sorted(map(sorted, changed.groups))
        == sorted(map(sorted, plain.groups))
        == [
            list(range(10)),
            list(range(10, 20)),
        ]
    )
    assert all(s.statement not in (10, 11) for g in changed.representative for s in g)
    with pytest.raises(ValueError):
        compute([(1, 1, 2)])


def test_no_votes():
    result = compute([])
    assert (result.k, result.groups, result.positions, result.representative, result.consensus) == (0, [], {}, [], [])
    assert compute([(1, 1, 1)], excluded_statements=[1]).k == 0


def test_fewer_than_15_qualifying_participants():
    # Three participants reach seven votes; the 15 most active are placed instead.
    votes = [(p, s, 1 if p % 2 else -1) for p in range(20) for s in range(7 if p < 3 else 2 + p % 3)]
    result = compute(votes)
    counts = {p: 7 if p < 3 else 2 + p % 3 for p in range(20)}
    assert len(result.positions) == 15
    assert min(counts[p] for p in result.positions) >= max(counts[p] for p in counts if p not in result.positions)
    assert result.k >= 1 and sum(map(len, result.groups)) == 15


def test_everyone_votes_alike():
    votes = [(p, s, 1) for p in range(30) for s in range(10)]
    result = compute(votes)
    assert result.k == 1 and sorted(result.groups[0]) == list(range(30))
    assert len(set(result.positions.values())) == 1
    assert len(result.consensus) == 5  # Pol.is keeps five per direction
    assert all(s.direction == "agree" and s.p_success > 0.9 for s in result.consensus)


def test_one_thread():
    from threadpoolctl import threadpool_info

    seen = []
    original = opinion.project

    def spy(matrix):
        seen.extend(pool["num_threads"] for pool in threadpool_info())
        return original(matrix)

    opinion.project = spy
    try:
        compute([(p, s, 1 if (p + s) % 3 else -1) for p in range(20) for s in range(8)])
    finally:
        opinion.project = original
    assert seen and set(seen) == {1}
