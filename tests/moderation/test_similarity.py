"""Suggested groups and near-duplicates, on the real Scoop HiveMind biodiversity statements
(tests/data/polis, CC BY 4.0) and small cases. Their speed is measured by bench/similarity.py."""

from __future__ import annotations

import csv
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_info

from consult.moderation import similarity
from consult.moderation.similarity import Group, near_duplicates, suggest_groups

ROOT = Path(__file__).resolve().parents[2]
BIODIVERSITY = Path(__file__).resolve().parents[1] / "data" / "polis" / "scoop-hivemind.biodiversity" / "comments.csv"


def load_statements() -> list[tuple[int, str]]:
    with BIODIVERSITY.open(newline="", encoding="utf-8") as file:
        return [(int(row["comment-id"]), row["comment-body"]) for row in csv.DictReader(file)]


@pytest.fixture(scope="module")
def statements() -> list[tuple[int, str]]:
    return load_statements()


@pytest.fixture(scope="module")
def all_groups(statements) -> list[Group]:
    return suggest_groups(statements, max_groups=len(statements))


def group_with(groups: list[Group], term: str) -> Group:
    """The one group one of whose terms contains ``term``."""
    found = [group for group in groups if any(term in t for t in group.terms)]
    assert len(found) == 1, (term, [(g.size, g.terms) for g in found])
    return found[0]


# A form letter to the Minister, sent 40 times: each copy signed by someone else, and either
# two of its sentences swapped or one of them replaced by the sender's own.
LETTER = [
    "I am writing to ask you to end the aerial drops of 1080 poison over our native forests.",
    "Poison dropped from the air cannot tell a possum from a kea, a deer or a farm dog.",
    "It washes into the streams and rivers that our towns and marae drink from.",
    "Trapping, fencing and ground-based control work, and they create local jobs in the regions.",
    "They also keep the bush safe for families, trampers and hunters.",
    "Other countries manage their pests without spreading poison from helicopters.",
    "Please move the money spent on aerial drops to these methods.",
    "And please report every year on how many native birds they protect.",
]
OWN_SENTENCES = [
    "My family has walked these hills for four generations.",
    "Last summer I found a dead kea beside the track near my house.",
    "I volunteer on a trapping line every weekend with my children.",
    "Our farm borders the conservation estate and we see the drops every few years.",
    "I have hunted in this bush since I was a teenager.",
]
FIRST_NAMES = ["Aroha", "James", "Mere", "Sarah", "Tom", "Priya", "Hemi", "Lucy"]
LAST_NAMES = ["Ngata", "Wilson", "Walker", "Chen", "O'Brien", "Patel", "Brown", "Tipene"]


def form_letters(count: int, *, first_id: int, seed: int = 0) -> list[tuple[int, str]]:
    rng = random.Random(seed)
    letters = []
    for n in range(count):
        sentences = list(LETTER)
        k = rng.randrange(len(sentences) - 1)
        if n % 2:
            sentences[k] = rng.choice(OWN_SENTENCES)
        else:
            sentences[k], sentences[k + 1] = sentences[k + 1], sentences[k]
        signature = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        letters.append((first_id + n, f"Dear Minister,\n\n{' '.join(sentences)}\n\nYours sincerely,\n{signature}"))
    return letters


# --- suggest_groups on the real statements -------------------------------------------------


def test_default_suggestions_are_the_twelve_largest_groups(statements):
    groups = suggest_groups(statements)

    assert len(groups) == 12
    assert [g.size for g in groups] == sorted((g.size for g in groups), reverse=True)
    assert all(g.size == len(g.ids) >= 3 for g in groups)
    grouped = [i for g in groups for i in g.ids]
    assert len(grouped) == len(set(grouped)), "a statement is in one group at most"
    assert set(grouped) < {i for i, _ in statements}, "statements that fit no group are left out"
    assert all(1 <= len(g.terms) <= 5 for g in groups)


def test_groups_are_the_themes_of_the_consultation(statements, all_groups):
    text = dict(statements)

    # The statements Polis seeds about who is voting group by what they ask.
    assert set(group_with(all_groups, "descent").ids) == {11, 12, 13, 14, 15}  # "I am of ... descent"
    assert {6, 7, 8, 9, 10} <= set(group_with(all_groups, "live").ids)  # "I live in a ... city"

    # 1080 poison, the consultation's most argued pest control method.
    poison = group_with(all_groups, "aerial 1080")
    assert all(re.search(r"1080|poison", text[i], re.I) for i in poison.ids)
    pests = group_with(all_groups, "pest control")
    assert sum("pest control" in text[i].lower() for i in pests.ids) >= 4

    # Game animals as food, cats, dogs, funding: each its own group.
    assert {116, 139, 140} <= set(group_with(all_groups, "food source").ids)  # deer, pigs, trout to eat
    assert {245, 253} <= set(group_with(all_groups, "cats").ids)
    assert {179, 306} <= set(group_with(all_groups, "dogs").ids)  # the two statements about dogs
    funding = group_with(all_groups, "funding")
    assert sum("funding" in text[i].lower() for i in funding.ids) >= 2

    # Terms are readable words: no stop words alone, plurals shown as written.
    terms = [t for g in all_groups for t in g.terms]
    assert not set(terms) & {"the", "and", "we", "need", "should", "don", "t"}
    assert "species" in " ".join(terms) and "specy" not in " ".join(terms)


def test_most_central_member_comes_first(statements):
    # Three statements on keeping cats in and one that only mentions cats: it comes last.
    items = [
        (1, "Keep cats indoors at night to protect native birds."),
        (2, "Cats should be kept indoors at night to protect our native birds."),
        (3, "Cat owners should keep their cats indoors at night, for the birds."),
        (4, "Cats are lovely pets and should stay indoors."),
        *statements,
    ]
    cats = group_with(suggest_groups(items, max_groups=len(items)), "indoors")
    assert set(cats.ids) >= {1, 2, 3, 4}
    assert cats.ids.index(4) > max(cats.ids.index(1), cats.ids.index(2), cats.ids.index(3))


def test_suggestions_are_deterministic(statements):
    first = suggest_groups(statements)
    assert suggest_groups(statements) == first


def test_suggestions_are_the_same_in_another_process(statements):
    # Another interpreter, with another string hash seed, gives the same groups.
    script = (
        "import json, sys; from tests.moderation.test_similarity import load_statements;"
        "from consult.moderation.similarity import suggest_groups, near_duplicates;"
        "items = load_statements();"
        "json.dump([[g.ids, g.terms] for g in suggest_groups(items)] + [near_duplicates(items)], sys.stdout)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    here = [[g.ids, g.terms] for g in suggest_groups(statements)] + [near_duplicates(statements)]
    assert json.loads(out.stdout) == here


def test_above_the_sample_size_texts_join_the_groups_of_the_sample(statements):
    # 8 copies of every statement, each with one word changed: more distinct texts than the
    # clustering takes, so it clusters a sample and the other texts join its groups.
    rng = random.Random(5)
    words = [text.split() for _, text in statements]
    items = []
    for statement_id, text in statements:
        for copy in range(8):
            changed = text.split()
            changed[rng.randrange(len(changed))] = rng.choice(rng.choice(words))
            items.append((statement_id * 100 + copy, " ".join(changed)))
    rng.shuffle(items)
    assert len({text for _, text in items}) > similarity.SAMPLE

    group_of = {i: n for n, group in enumerate(suggest_groups(items, max_groups=len(items))) for i in group.ids}
    together = [max(Counter(group_of.get(statement_id * 100 + copy) for copy in range(8)).values()) for statement_id, _ in statements]
    assert sum(count == 8 for count in together) >= 0.95 * len(statements)  # all 8 copies in one group
    assert min(together) >= 4


def test_copies_of_a_statement_count_towards_one_group(statements):
    copies = [
        (9001, "We need a plan to deal with cats in New Zealand."),
        (9002, "we need a plan to deal with  cats in New Zealand."),
        (9003, "We need a plan to deal with cats in New Zealand."),
    ]
    groups = suggest_groups(statements + copies, max_groups=len(statements))
    holding = [g for g in groups if {9001, 9002, 9003} & set(g.ids)]
    assert len(holding) == 1 and {9001, 9002, 9003, 305} <= set(holding[0].ids)  # 305 says the same


def test_markdown_is_read_as_text():
    about_kea = [
        (1, "**Kea** are dying near [the DOC hut](https://www.doc.govt.nz/parks/kea-hut) from _1080_ drops."),
        (2, "Kea keep dying from 1080 drops: see <https://example.org/kea-report.pdf>."),
        (3, "## Kea\n\n> dead kea found after the 1080 drops\n\n![a dead kea](https://img.example.org/kea.jpg)"),
        (4, "```\nkea 1080 drops\n```\nMore kea dying from <b>1080</b> drops, www.example.org/kea"),
    ]
    others = [
        (10 + i, text)
        for i, text in enumerate(["Cycle lanes on every arterial road", "Longer library opening hours", "Free buses for students"])
    ]
    groups = suggest_groups(about_kea + others)
    assert len(groups) == 1 and set(groups[0].ids) == {1, 2, 3, 4}
    assert set(groups[0].terms) >= {"kea", "1080 drops"}
    assert not {"https", "www", "doc", "org", "example", "pdf", "jpg", "b"} & set(" ".join(groups[0].terms).split())


def test_chinese_text_is_cut_into_pairs_of_characters():
    # Chinese has no spaces: each run of characters is read as overlapping pairs (計程車 -> 計程, 程車).
    taxis = [(1, "計程車司機都應該有職業駕照"), (2, "我每天都搭計程車上班"), (3, "計程車的服務品質參差不齊")]
    insurance = [(4, "司機都應該投保乘客責任險"), (5, "乘客責任險可以保障乘客的權益"), (6, "沒有投保責任險的車不能載客")]
    groups = suggest_groups(taxis + insurance + [(7, "Uber 是一個媒合平台")])

    assert sorted(sorted(g.ids) for g in groups) == [[1, 2, 3], [4, 5, 6]]
    assert {"計程", "程車"} <= set(next(g for g in groups if 1 in g.ids).terms)
    assert "責任" in next(g for g in groups if 4 in g.ids).terms

    near = [
        (1, "我覺得Uber提供了更便利及更高品質的乘車環境"),
        (2, "我覺得Uber提供了更便利及更高品質的乘車環境。"),
        (3, "我覺得計程車的服務比較好"),
    ]
    assert near_duplicates(near) == [[1, 2]]


@pytest.mark.parametrize("function", [suggest_groups, near_duplicates])
def test_no_input_or_one_item(function):
    assert function([]) == []
    assert function([(1, "Only one contribution about 1080 poison.")]) == []


def test_one_item_is_a_group_of_one_when_asked():
    assert suggest_groups([(7, "Ban 1080 poison")], min_size=1) == [Group(ids=[7], terms=["1080 poison", "ban 1080"])]
    assert suggest_groups([(7, "Ban 1080 poison")], max_groups=0) == []


def test_identical_contributions_are_one_group():
    items = [(i, "Ban aerial 1080 drops now!") for i in (5, 3, 9, 1)]
    [group] = suggest_groups(items)
    assert group.ids == [1, 3, 5, 9] and group.size == 4
    assert set(group.terms) == {"ban aerial", "aerial 1080", "1080 drops"}
    assert near_duplicates(items) == [[1, 3, 5, 9]]


def test_texts_without_words_are_left_out():
    empty = [(1, ""), (2, "   "), (3, "!!!"), (4, "?!")]
    assert suggest_groups(empty, min_size=1) == []
    assert near_duplicates(empty) == []
    only_stop_words = [(1, "We should do it"), (2, "we should do it!"), (3, "WE SHOULD DO IT")]
    assert suggest_groups(only_stop_words) == []
    assert near_duplicates(only_stop_words) == [[1, 2, 3]]  # still copies of one another


def test_fewer_items_than_groups():
    items = [(1, "Ban 1080"), (2, "Ban 1080 poison"), (3, "1080 poison should be banned"), (4, "More cycle lanes")]
    groups = suggest_groups(items, max_groups=12)
    assert [sorted(g.ids) for g in groups] == [[1, 2, 3]]


@pytest.mark.parametrize(("function", "inside"), [(suggest_groups, "normalize"), (near_duplicates, "connected_components")])
def test_computation_runs_on_one_thread(monkeypatch, statements, function, inside):
    # The web worker shares two cores: BLAS and OpenMP get one thread while these run.
    seen = []
    original = getattr(similarity, inside)

    def spy(*args, **kwargs):
        seen.extend(pool["num_threads"] for pool in threadpool_info())
        return original(*args, **kwargs)

    monkeypatch.setattr(similarity, inside, spy)
    function(statements + form_letters(4, first_id=10_000))
    assert seen and set(seen) == {1}


# --- near_duplicates ---------------------------------------------------------------------


def test_real_statements_flag_only_the_near_identical_pairs(statements):
    # 49/53: one letter lost ("o protect" / "To protect"); 197/205: "it, and it it dies" /
    # "it. If it dies". The next most similar pairs are 6/8 (0.82: "NZ" added to
    # "I live in a medium-sized city") and 216/243 (0.82: "versus" for "or", "Rather that" cut),
    # then 257/290 (0.80) and 7/9 (0.79, "NZ" added to "I live in a large city").
    assert near_duplicates(statements) == [[49, 53], [197, 205]]
    assert near_duplicates(statements, threshold=0.8) == [[6, 8], [49, 53], [197, 205], [216, 243]]


def test_a_form_letter_campaign_is_one_group(statements):
    letters = form_letters(40, first_id=10_000)
    items = statements + letters
    random.Random(7).shuffle(items)

    groups = near_duplicates(items)

    assert groups[0] == [i for i, _ in letters]
    assert groups[1:] == [[49, 53], [197, 205]], "the letters add no other group and join no statement"
    assert all(g == sorted(g) for g in groups)
    # Themes see the campaign too: its letters are the largest group.
    assert {i for i, _ in letters} <= set(suggest_groups(items)[0].ids)


def brute_force(items: list[tuple[int, str]], threshold: float) -> list[list[int]]:
    """The definition, pair by pair: cosine of the shingle vectors >= threshold, connected."""
    texts = [text for _, text in items]
    vectors = TfidfVectorizer(analyzer=similarity._shingles, sublinear_tf=True, use_idf=False).fit_transform(texts)
    linked = (vectors @ vectors.T).toarray() >= threshold - 1e-9
    labels = connected_components(linked, directed=False)[1]
    has_words = vectors.getnnz(axis=1) > 0
    groups: dict[int, list[int]] = {}
    for (item_id, _), label, words in zip(items, labels, has_words, strict=True):
        if words:
            groups.setdefault(label, []).append(item_id)
    return sorted((sorted(g) for g in groups.values() if len(g) >= 2), key=lambda g: (-len(g), g[0]))


@pytest.mark.parametrize("threshold", [0.3, 0.6, 0.85, 0.95, 1.0])
def test_near_duplicates_compare_as_if_every_pair_was_compared(statements, threshold):
    # Perturbed copies of the statements, some cut down to a few words (whose pairs share no
    # three-word run), and the campaign: the pruned search finds what comparing all pairs finds.
    rng = random.Random(3)
    words = [text.split() for _, text in statements]
    items = []
    for n in range(600):
        copy = list(rng.choice(words))
        for _ in range(rng.randint(0, 3)):
            copy[rng.randrange(len(copy))] = rng.choice(rng.choice(words))
        if rng.random() < 0.2:
            copy = copy[: rng.randint(1, 4)]
        items.append((n, " ".join(copy)))
    items += form_letters(40, first_id=1000)
    expected = brute_force(items, threshold)
    assert near_duplicates(items, threshold=threshold) == expected
    assert expected, "the case has near-duplicates to find"


def test_threshold_one_flags_texts_with_the_same_words_only():
    items = [(1, "Ban 1080!"), (2, "ban 1080"), (3, "Ban 1080 now"), (4, "BAN   1080...")]
    assert near_duplicates(items, threshold=1.0) == [[1, 2, 4]]
