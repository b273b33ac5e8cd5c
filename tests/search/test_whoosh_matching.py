"""The array evaluator finds, scores and orders what Whoosh's own searcher does."""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh import scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, _lenfield
from whoosh.columns import NumericColumn
from whoosh.query import And, ConstantScoreQuery, Or, Phrase, Term
from whoosh.searching import Searcher

from consult.search import whoosh_matching
from consult.search.whoosh_backend import schema
from consult.search.whoosh_codec import ArrayCodec, ArrayLeafMatcher

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


@pytest.fixture(scope="module", params=[ArrayCodec, W3Codec], ids=["array codec", "whoosh codec"])
def searcher(tmp_path_factory, request):
    """Written with the index's own codec (``ArrayCodec``: its blocks read as arrays, and by
    Whoosh's own searcher through ``ArrayLeafMatcher``) and with Whoosh's (read a posting at a
    time). Four segments, unmerged: three of 120 documents, one of 900 whose words each hold several
    blocks of postings (Whoosh writes 128 a block); documents deleted (a run of them across block
    boundaries too), one updated, and two long ones that repeat the phrase's words thousands of
    times, next to each other only at the end of one."""
    rng = random.Random(7)
    folder = tmp_path_factory.mktemp("index")
    index = whoosh_index.create_in(str(folder), schema())
    sizes, number = [120, 120, 120, 900], 0
    for batch, size in enumerate(sizes):
        writer = index.writer(codec=request.param())
        first = number
        for n in range(size):
            vocabulary = WORDS if size < 900 else WORDS[:6]
            body = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(3, 40)))
            title = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 3)))
            if batch == 3 and n in (400, 401):
                body = "river park " * 3000 + "bridge park " * 3000 + ("river bridge" if n == 400 else "bridge river")
            fields = {"kind": rng.choice(["comment", "reply"]), "consultation": str(n % 4), "language": "en"}
            writer.add_document(key=f"comment:{number}", body=body, body_en=body, title_en=title, **fields)
            number += 1
        if batch:
            for n in range(0, sizes[batch - 1], 7):
                writer.delete_by_term("key", f"comment:{first - sizes[batch - 1] + n}")
            writer.update_document(
                key="comment:5", kind="comment", consultation="1", language="en", body="river river bridge", body_en="river river bridge"
            )
        if batch == 3:
            for n in range(120, 400):  # a run of deleted documents: whole blocks, and parts of two
                writer.delete_by_term("key", f"comment:{first + n}")
        writer.commit(merge=False)
    with index.searcher() as searcher:
        leaves = [leaf for leaf, _offset in searcher.reader().leaf_readers()]
        assert len(leaves) == 4 and searcher.reader().has_deletions()
        assert leaves[3].doc_frequency("body_en", "river") > 3 * 128  # several blocks
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
    Phrase("body_en", ["river", "river", "bridg"]),
    Phrase("body_en", ["park", "river"], slop=3),
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
    # Its order, with scores equal to 12 digits taken as equal (Whoosh adds a document's parts
    # in another grouping: the last bit of two equal documents' scores may differ there).
    order = whoosh_matching.top(found, 20)
    ranked = sorted(expected, key=lambda hit: (-round(hit.score, 12), hit.docnum))
    assert found.ids[order].tolist() == [hit.docnum for hit in ranked][:20]


def test_blocks_are_read_as_arrays_from_the_array_codec_only(searcher):
    for leaf, _offset in searcher.reader().leaf_readers():
        matcher = leaf.postings("body_en", "river")
        matcher = getattr(matcher, "child", matcher)  # a segment with deletions filters them
        assert isinstance(matcher, ArrayLeafMatcher) == isinstance(leaf.segment().codec(), ArrayCodec)


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
    partial = []
    blocks = whoosh_matching._blocks
    monkeypatch.setattr(
        whoosh_matching, "_blocks", lambda *a, wanted=None, **kw: partial.append(wanted is not None) or blocks(*a, wanted=wanted, **kw)
    )
    found = whoosh_matching.Evaluator(searcher).matches(query)
    expected = searcher.search(query, limit=None)
    assert sorted(found.ids.tolist()) == sorted(hit.docnum for hit in expected)
    by_doc = dict(zip(found.ids.tolist(), found.scores.tolist(), strict=True))
    assert all(by_doc[hit.docnum] == pytest.approx(hit.score, rel=1e-9) for hit in expected)
    # An And, or a phrase of several words, read some postings only where its candidates were;
    # nothing else did.
    if not narrows(query):
        assert not any(partial)
    elif len(found):
        assert any(partial)


def narrows(query) -> bool:
    if isinstance(query, And):
        return True
    if isinstance(query, Phrase):
        return len(query.words) > 1
    return any(narrows(part) for part in getattr(query, "subqueries", [getattr(query, "child", None)]) if part is not None)


def test_a_weighting_other_than_bm25f_is_refused(searcher):
    for weighting in (scoring.TF_IDF(), scoring.BM25F(body_en_B=0.5)):
        with pytest.raises(TypeError):
            whoosh_matching.Evaluator(Searcher(searcher.reader(), weighting=weighting))


def test_field_lengths_read_at_once_are_whoosh_s(searcher):
    """Whoosh's column of one byte a document, read at once (not a document at a time)."""
    for leaf, _offset in searcher.reader().leaf_readers():
        assert type(leaf._perdoc._cached_reader(_lenfield("body_en"), LENGTHS_COLUMN)) is NumericColumn.Reader
        arrays = whoosh_matching._Arrays(leaf)
        for field in ("body_en", "title_en", "body_fr"):
            lengths = arrays.field_lengths(field)
            assert len(lengths) == leaf.doc_count_all()
            assert lengths.tolist() == [leaf.doc_field_length(n, field) or 0 for n in range(leaf.doc_count_all())]  # None where none
