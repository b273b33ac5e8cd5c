"""The array evaluator finds, scores and orders what Whoosh's own searcher does."""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.query import And, ConstantScoreQuery, Or, Phrase, Term

from consult.search import whoosh_matching
from consult.search.whoosh_backend import schema

WORDS = [
    "river",
    "bridge",
    "tram",
    "lane",
    "park",
    "bench",
    "tree",
    "noise",
    "school",
    "budget",
    "harbour",
    "ferry",
    "market",
    "light",
    "night",
]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    """Three segments (the last two unmerged), some documents deleted, others updated."""
    rng = random.Random(7)
    folder = tmp_path_factory.mktemp("index")
    index = whoosh_index.create_in(str(folder), schema())
    for batch in range(3):
        writer = index.writer()
        for n in range(120):
            key = f"comment:{batch * 120 + n}"
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40)))
            title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 3)))
            writer.add_document(
                key=key,
                kind=rng.choice(["comment", "reply"]),
                consultation=str(n % 4),
                language="en",
                body=body,
                body_en=body,
                title_en=title,
            )
        if batch:
            for n in range(0, 120, 7):
                writer.delete_by_term("key", f"comment:{(batch - 1) * 120 + n}")
            writer.update_document(
                key="comment:5", kind="comment", consultation="1", language="en", body="river river bridge", body_en="river river bridge"
            )
        writer.commit(merge=False)
    with index.searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) == 3 and searcher.reader().has_deletions()
        yield searcher


def either(word: str):
    return Or([Term("title_en", word), Term("body_en", word)])


QUERIES = [
    Term("body_en", "river"),
    either("harbour"),
    And([either("tram"), either("bench")]),
    And([either("tram"), either("bench"), either("night")]),
    Or([And([either("lane"), either("park")]), either("ferri")]),
    Phrase("body_en", ["river", "bridg"]),
    Phrase("body_en", ["river", "bridg"], slop=2),
    Phrase("body_en", ["light", "night", "tree"]),
    Or([Phrase("title_en", ["park", "bench"]), Phrase("body_en", ["park", "bench"])]),
    And([either("school"), ConstantScoreQuery(Or([Term("consultation", "1"), Term("consultation", "3")]))]),
    And([either("budget"), ConstantScoreQuery(Term("kind", "reply"))]),
    either("zeppelin"),
]


@pytest.mark.parametrize("query", QUERIES, ids=repr)
def test_every_match_scored_and_ordered_as_whoosh_does(searcher, query):
    expected = searcher.search(query, limit=None)
    found = whoosh_matching.Evaluator(searcher).matches(query)
    assert sorted(found.ids.tolist()) == sorted(hit.docnum for hit in expected)
    by_doc = dict(zip(found.ids.tolist(), found.scores.tolist(), strict=True))
    for hit in expected:
        assert by_doc[hit.docnum] == pytest.approx(hit.score, rel=1e-9)
    order = whoosh_matching.top(found, 20)
    assert found.ids[order].tolist() == [hit.docnum for hit in expected][:20]


def test_a_phrase_needs_its_words_in_order_and_near(searcher):
    evaluator = whoosh_matching.Evaluator(searcher)
    found = set(evaluator.matches(Phrase("body_en", ["river", "bridg"])).ids.tolist())
    both = set(evaluator.matches(And([Term("body_en", "river"), Term("body_en", "bridg")])).ids.tolist())
    assert found and found < both
    for docnum in both:
        assert (docnum in found) == ("river bridge" in searcher.stored_fields(docnum)["body"]), docnum


def test_the_top_puts_the_chosen_documents_first_and_breaks_ties_by_number():
    matches = whoosh_matching.Matches(np.array([2, 3, 5, 8, 9, 11]), np.array([1.0, 3.0, 1.0, 2.0, 3.0, 1.0]))
    assert matches.ids[whoosh_matching.top(matches, 4)].tolist() == [3, 9, 8, 2]
    first = np.array([False, False, True, False, False, True])
    assert matches.ids[whoosh_matching.top(matches, 3, first=first)].tolist() == [5, 11, 3]
    assert matches.ids[whoosh_matching.top(matches, 10, first=first)].tolist() == [5, 11, 3, 9, 8, 2]
    assert whoosh_matching.top(whoosh_matching.Matches.empty(), 5).tolist() == []


@pytest.mark.parametrize("query", QUERIES, ids=repr)
def test_postings_read_only_where_the_candidates_are_give_the_same_matches(searcher, query, monkeypatch):
    """Terms too common to keep whole: their positions, and their postings among few
    candidates, are read from the blocks holding a candidate only."""
    monkeypatch.setattr(whoosh_matching, "POSITIONS_KEPT", 0)
    monkeypatch.setattr(whoosh_matching, "WANTED_PER_BLOCK", 0)
    monkeypatch.setattr(whoosh_matching, "READ_WHOLE_UP_TO", 0)
    for leaf, _offset in searcher.reader().leaf_readers():
        monkeypatch.delattr(leaf, "_consult_arrays", raising=False)  # what earlier tests kept
    found = whoosh_matching.Evaluator(searcher).matches(query)
    expected = searcher.search(query, limit=None)
    assert sorted(found.ids.tolist()) == sorted(hit.docnum for hit in expected)
    by_doc = dict(zip(found.ids.tolist(), found.scores.tolist(), strict=True))
    assert all(by_doc[hit.docnum] == pytest.approx(hit.score, rel=1e-9) for hit in expected)
    for leaf, _offset in searcher.reader().leaf_readers():
        arrays = getattr(leaf, "_consult_arrays", None)
        assert arrays is None or not arrays.positions
