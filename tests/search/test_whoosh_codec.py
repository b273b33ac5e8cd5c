"""``ArrayCodec`` reads back every posting it wrote: through Whoosh's matcher interface and as
arrays, with ids, counts and positions that need 8, 16 and 32 bits, and weights of every kind."""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.filedb.filestore import RamStorage
from whoosh.formats import Existence, Frequency
from whoosh.system import pack_uint

from consult.search.whoosh_codec import BLOCK_POSTINGS, ArrayCodec, ArrayLeafMatcher, CompactPositions


def postings(rng: random.Random, n: int, *, gap: int, top_position: int) -> list[tuple[int, list[int]]]:
    docnum, out = -1, []
    for _ in range(n):
        docnum += rng.randint(1, gap)
        places = sorted(rng.sample(range(top_position), rng.randint(1, 5)))
        out.append((docnum, places))
    return out


def written(fmt, items, weight=lambda places: None):
    storage = RamStorage()
    codec = ArrayCodec()
    out = storage.create_file("postings")
    writer = codec.postings_writer(out)
    writer.start_postings(fmt, W3TermInfo())
    for docnum, places in items:
        value = fmt.encode(places) if isinstance(fmt, CompactPositions) else pack_uint(len(places)) if isinstance(fmt, Frequency) else b""
        w = weight(places)
        writer.add_posting(docnum, float(len(places) * fmt.field_boost if w is None else w), value)
    terminfo = writer.finish_postings()
    out.close()
    return codec.postings_reader(storage.open_file("postings"), terminfo, fmt)


CASES = [
    ("one posting", 1, 3, 10),
    ("small gaps and positions", 700, 3, 200),
    ("16-bit gaps and positions", 1500, 60_000, 60_000),
    ("32-bit gaps and positions", 1100, 3_000_000, 2**32 - 1),
]


@pytest.mark.parametrize(("name", "n", "gap", "top"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("boost", [1.0, 2.5, 0.3])
def test_compact_positions_read_back(name, n, gap, top, boost):
    items = postings(random.Random(name), n, gap=gap, top_position=top)
    fmt = CompactPositions(field_boost=boost)
    matcher = written(fmt, items)
    assert isinstance(matcher, ArrayLeafMatcher)
    seen = []
    while matcher.is_active():
        seen.append((matcher.id(), matcher.value_as("positions"), matcher.weight()))
        matcher.next()
    assert [(d, p) for d, p, _w in seen] == items
    assert [w for _d, _p, w in seen] == pytest.approx([np.float32(len(p) * boost) for _d, p in items], rel=1e-7)
    matcher.reset()
    ids, weights, counts, places = [], [], [], []
    blocks = 0
    while matcher.is_active():
        block = matcher.block_arrays(positions=True)
        for collected, part in zip((ids, weights, counts, places), block, strict=True):
            collected.extend(part.tolist())
        blocks += 1
        matcher._next_block()
    assert blocks == -(-n // BLOCK_POSTINGS)
    assert ids == [d for d, _p in items]
    assert counts == [len(p) for _d, p in items]
    assert places == [x for _d, p in items for x in p]
    assert weights == [w for _d, _p, w in seen]  # as Whoosh's interface gives them: 32-bit floats


def test_weights_other_than_the_counts_are_kept():
    items = postings(random.Random(3), 600, gap=5, top_position=100)
    fmt = CompactPositions()
    matcher = written(fmt, items, weight=lambda places: 0.5 + len(places) / 3)
    ids, weights, _counts, _places = matcher.block_arrays(positions=True)
    assert weights.tolist() == pytest.approx([0.5 + len(p) / 3 for _d, p in items[: len(ids)]], rel=1e-6)


@pytest.mark.parametrize("fmt", [Existence(), Frequency()], ids=["existence", "frequency"])
def test_other_formats_read_back(fmt):
    items = postings(random.Random(4), 900, gap=300, top_position=50)
    matcher = written(fmt, items, weight=lambda places: 1.0 if isinstance(fmt, Existence) else None)
    seen = []
    while matcher.is_active():
        seen.append((matcher.id(), matcher.weight()))
        if isinstance(fmt, Frequency):
            assert matcher.value_as("frequency") == len(items[len(seen) - 1][1])
        matcher.next()
    assert [d for d, _w in seen] == [d for d, _p in items]
    matcher.reset()
    ids, _weights, counts, places = matcher.block_arrays()
    assert ids.tolist() == [d for d, _p in items[: len(ids)]] and counts is None and places is None
    with pytest.raises(TypeError):
        matcher.block_arrays(positions=True)


def test_a_term_of_one_posting_without_values_is_inlined_and_survives_searching_deleting_and_merging(tmp_path):
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.query import Term

    index = whoosh_index.create_in(str(tmp_path), Schema(key=ID(stored=True, unique=True), kind=ID(), body=TEXT))
    for batch in (range(0, 3), range(3, 6)):  # two segments
        writer = index.writer(codec=ArrayCodec())
        for n in batch:
            writer.add_document(key=f"k{n}", kind="comment", body=f"word{n} shared")
        writer.commit()
    with index.searcher() as searcher:
        (leaf, _), *_ = searcher.reader().leaf_readers()
        assert leaf.term_info("key", "k1").is_inlined()  # one posting, no values
        assert not leaf.term_info("kind", "comment").is_inlined()  # three postings
        assert not leaf.term_info("body", "word1").is_inlined()  # a field with positions: never
        assert [hit["key"] for hit in searcher.search(Term("key", "k4"))] == ["k4"]
    writer = index.writer(codec=ArrayCodec())
    writer.delete_by_term("key", "k1")
    writer.update_document(key="k4", kind="reply", body="word4 again")
    writer.commit(optimize=True)  # one segment: every posting read back and written again
    with index.searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) == 1
        assert sorted(fields["key"] for fields in searcher.all_stored_fields()) == ["k0", "k2", "k3", "k4", "k5"]
        assert [hit["key"] for hit in searcher.search(Term("kind", "reply"))] == ["k4"]
        assert not list(searcher.search(Term("key", "k1")))
        assert searcher.reader().term_info("key", "k5").is_inlined()
        postings = searcher.reader().postings("key", "k5")
        assert postings.value() == b"" and postings.weight() == 1.0


def test_stored_fields_are_kept_as_they_are_and_read_back(tmp_path):
    from whoosh import index as whoosh_index
    from whoosh.codec.whoosh3 import W3Codec
    from whoosh.fields import ID, STORED, Schema

    body = "the same words again " * 2_000  # 42,000 characters that compress to almost nothing
    index = whoosh_index.create_in(str(tmp_path), Schema(key=ID(stored=True), body=STORED()))
    for codec in (W3Codec(), ArrayCodec()):  # a segment of each: both read back
        writer = index.writer(codec=codec)
        writer.add_document(key=type(codec).__name__, body=body)
        writer.commit(merge=False)
    with index.searcher() as searcher:
        assert sorted((f["key"], f["body"]) for f in searcher.all_stored_fields()) == [("ArrayCodec", body), ("W3Codec", body)]
        sizes = {}
        for leaf, _offset in searcher.reader().leaf_readers():
            (key,) = [f["key"] for f in leaf.all_stored_fields()]
            sizes[key] = sum(index.storage.file_length(name) for name in index.storage.list() if leaf.segment().segid in name)
    assert sizes["ArrayCodec"] > len(body) > 5 * sizes["W3Codec"]
