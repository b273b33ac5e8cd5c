"""Matching and ranking a Whoosh index a posting list at a time, with numpy.

Whoosh finds and scores matches one document at a time in Python (a matcher object per term,
``skip_to`` and ``score`` per document), and counts them the same way: on 100,000 contributions
a common word cost tens of milliseconds, most of it in those calls. Here each term's postings
are read a block at a time into arrays (kept with the segment's reader, which stays open between
queries: see ``whoosh_backend._OpenSearcher``), and the queries the backend builds (``Term``,
``Phrase``, ``And``, ``Or``, ``ConstantScoreQuery``) are evaluated on whole arrays: every match
with its score, so the total is exact and the page is the top of one sort.

The scores are Whoosh's own (``BM25F``, B 0.75, K1 1.2, with the index-wide idf and average
field length, each field's boost in its weights), summed over the parts; equal scores are
ordered by document number, as its collector orders them. (Whoosh adds the parts in another
grouping, so two documents whose scores are equal here may differ in the last bit there and
come in the other order: only such ties can be ordered differently.) A phrase is
matched as Whoosh's ``SpanNear2`` matches it (each word after the previous one, at most ``slop``
positions on), reading positions only for the documents that hold every word.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pickle import loads
from zlib import decompress

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import And, ConstantScoreQuery, Or, Phrase, Term
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

#: What a segment's reader keeps between queries, at most (a process keeps a few searchers, each
#: with its segments' readers; a small segment holds far less than this): postings as arrays (16
#: bytes each: 16 MB), postings with their positions, for phrases (about 100 bytes each with
#: Whoosh's encoding: 10 MB), and the stored fields of documents shown (the first pages of the
#: common queries), counted in characters of text (2 to 8 MB). A value larger than a quarter of
#: its limit is used for one query and not kept.
POSTINGS_KEPT = 1_000_000
POSITIONS_KEPT = 100_000
STORED_CHARACTERS_KEPT = 2_000_000
#: A term's postings are read whole (and kept) when they are at most ``READ_WHOLE_UP_TO``, or at
#: most this many for each document wanted (``_Arrays.term_within``): kept, they serve the next
#: queries too. Only a very common term is read just where the documents wanted are.
WANTED_PER_BLOCK = 32
READ_WHOLE_UP_TO = 50_000
_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_NONE = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Matches:
    """Documents (sorted, unique, numbered across the whole index) and their scores."""

    ids: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls) -> Matches:
        return cls(_NONE, np.zeros(0))

    def __len__(self) -> int:
        return len(self.ids)


class _Arrays:
    """What one segment's reader has read as arrays: postings by term, field lengths by field,
    its deleted documents. Kept on the reader (``SegmentReader`` objects stay open while their
    segment is unchanged, and are used by one thread at a time)."""

    def __init__(self, leaf):
        self.leaf = leaf
        self.postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.kept = 0
        self.lengths: dict[str, np.ndarray] = {}
        self.positions: OrderedDict[tuple[str, str], tuple[np.ndarray, tuple]] = OrderedDict()
        self.positions_kept = 0
        self.stored: OrderedDict[int, dict] = OrderedDict()
        self.stored_kept = 0
        deleted = leaf.deleted_docs_set if leaf.has_deletions() else ()
        self.deleted = np.array(sorted(deleted), dtype=np.int64)

    @classmethod
    def of(cls, leaf) -> _Arrays:
        arrays = getattr(leaf, "_consult_arrays", None)
        if arrays is None:
            arrays = leaf._consult_arrays = cls(leaf)
        return arrays

    def term(self, fieldname: str, text: str, *, positions: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding ``text`` in ``fieldname`` (deleted ones left out) and its
        weight in each. With ``positions`` (a phrase's word), its positions are read in the same
        pass and kept when they fit ``POSITIONS_KEPT`` (see ``positions_in``)."""
        key = (fieldname, text)
        found = self.postings.get(key)
        want_positions = positions and key not in self.positions and self.leaf.doc_frequency(fieldname, text) <= POSITIONS_KEPT // 4
        if found is not None and not want_positions:
            self.postings.move_to_end(key)
            return found
        if (fieldname, text) not in self.leaf:
            return _NONE, np.zeros(0)
        ids, weights, values = [], [], []
        for block_ids, block_weights, block_values in _blocks(self.leaf, fieldname, text):
            ids.append(block_ids)
            weights.append(block_weights)
            if want_positions:
                values.extend(block_values)
        all_ids = np.concatenate(ids) if ids else _NONE
        if want_positions:
            self._keep(self.positions, key, (all_ids, tuple(values)), "positions_kept", POSITIONS_KEPT)
        if found is None:
            weights_array = np.concatenate(weights) if weights else np.zeros(0)
            if len(self.deleted):
                alive = ~np.isin(all_ids, self.deleted, assume_unique=True)
                found = (all_ids[alive], weights_array[alive])
            else:
                found = (all_ids, weights_array)
            self._keep(self.postings, key, found, "kept", POSTINGS_KEPT)
        return found

    def term_within(self, fieldname: str, text: str, wanted: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """``term`` among the ``wanted`` documents only (all of them when None). Postings not
        kept are read whole (and kept), unless they are very many for the documents wanted: then
        only their blocks that hold a wanted document are read."""
        if wanted is None:
            return self.term(fieldname, text)
        found = self.postings.get((fieldname, text))
        if found is None and self.leaf.doc_frequency(fieldname, text) <= max(len(wanted) * WANTED_PER_BLOCK, READ_WHOLE_UP_TO):
            found = self.term(fieldname, text)
        if found is not None:
            ids, weights = found
            keep = np.isin(ids, wanted, assume_unique=True)
            return ids[keep], weights[keep]
        ids, weights, _values = self._among(fieldname, text, wanted)
        return ids, weights

    def _among(self, fieldname: str, text: str, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
        """A term's postings (ids, weights, values) in the ``wanted`` documents only, read from
        the blocks holding one (``wanted`` holds no deleted document)."""
        ids_parts, weights_parts, values = [], [], []
        if (fieldname, text) in self.leaf:
            for ids, weights, block_values in _blocks(self.leaf, fieldname, text, wanted=wanted):
                at = np.flatnonzero(np.isin(ids, wanted, assume_unique=True))
                ids_parts.append(ids[at])
                weights_parts.append(weights[at])
                values.extend([None] * len(at) if block_values is None else [block_values[i] for i in at.tolist()])  # None: an ID field's
        if not ids_parts:
            return _NONE, np.zeros(0), []
        return np.concatenate(ids_parts), np.concatenate(weights_parts), values

    def _keep(self, memory: OrderedDict, key, value, counter: str, limit: int, size=lambda value: len(value[0])) -> None:
        """``value`` remembered under ``key``, the oldest forgotten past ``limit`` (of what
        ``size`` measures: postings, by default; counted in ``self.<counter>``)."""
        if size(value) > limit // 4:
            return  # read for this query only: kept, it would push out all the others
        memory[key] = value
        total = getattr(self, counter) + size(value)
        while total > limit and len(memory) > 1:
            _key, dropped = memory.popitem(last=False)
            total -= size(dropped)
        setattr(self, counter, total)

    def positions_in(self, fieldname: str, text: str, candidates: np.ndarray) -> dict[int, list[int]]:
        """Where ``text`` is in ``fieldname`` of each of ``candidates`` (sorted documents that
        hold it): from what ``term(positions=True)`` kept, or, for a term too common to keep,
        from the blocks holding a candidate."""
        decode = self.leaf.schema[fieldname].format.decode_positions
        kept = self.positions.get((fieldname, text))
        if kept is None:
            ids, _weights, values = self._among(fieldname, text, candidates)
            return {docnum: decode(value) for docnum, value in zip(ids.tolist(), values, strict=True)}
        self.positions.move_to_end((fieldname, text))
        ids, values = kept
        at = np.searchsorted(ids, candidates)
        return {
            docnum: decode(values[i])
            for docnum, i in zip(candidates.tolist(), at.tolist(), strict=True)
            if i < len(ids) and ids[i] == docnum
        }

    def stored_fields(self, docnum: int) -> dict:
        """The stored fields of the segment's document ``docnum`` (not to be changed)."""
        fields = self.stored.get(docnum)
        if fields is not None:
            self.stored.move_to_end(docnum)
            return fields
        # The segment's own stored fields: the reader's ``stored_fields`` would also drop fields
        # the schema no longer has, which a Consult index never has (a new schema is a new FORMAT).
        fields = self.leaf._perdoc.stored_fields(docnum)
        self._keep(self.stored, docnum, fields, "stored_kept", STORED_CHARACTERS_KEPT, size=_characters)
        return fields

    def field_lengths(self, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname``, as Whoosh stores it (one byte, approximate)."""
        lengths = self.lengths.get(fieldname)
        if lengths is None:
            column = self.leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if column is None:
                lengths = np.zeros(self.leaf.doc_count_all(), dtype=np.float64)
            else:
                lengths = _LENGTHS[np.frombuffer(column.load(), dtype=np.uint8)]
            self.lengths[fieldname] = lengths
        return lengths


def _characters(fields: dict) -> int:
    return sum([len(value) for value in fields.values() if type(value) is str])


def _blocks(leaf, fieldname: str, text: str, wanted: np.ndarray | None = None):
    """``(ids, weights, values)`` of each block of a term's postings in a segment: ids as an
    int64 array, weights as float64, values as Whoosh stored them. With ``wanted`` (sorted
    document numbers), only the blocks whose range holds one of them are read."""
    matcher = leaf.postings(fieldname, text)
    if isinstance(matcher, FilterMatcher):  # the deletions: removed by the caller
        matcher = matcher.child
        matcher.reset()  # the filter has moved it past the deleted documents it began with
    if not isinstance(matcher, W3LeafMatcher):  # another codec: one posting at a time
        ids, weights, values = [], [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            values.append(matcher.value())
            matcher.next()
        yield np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64), values
        return
    postfile = matcher._postfile
    below = -1  # the last block's highest id
    while matcher.is_active():
        if wanted is not None:
            # Any wanted id in (below, this block's highest]? Known without reading the block.
            if np.searchsorted(wanted, matcher._maxid, side="right") == np.searchsorted(wanted, below, side="right"):
                below = matcher._maxid
                matcher._next_block()
                continue
            below = matcher._maxid
        data = postfile.get(matcher._dataoffset, matcher._nextoffset - matcher._dataoffset)
        block_ids, block_weights, values = loads(decompress(data) if matcher._compression else data)
        count = matcher._blocklength
        ids = np.array(block_ids, dtype=np.int64)
        if not matcher._byteids:
            ids = np.cumsum(ids)
        if block_weights is None:
            weights = np.ones(count)
        elif isinstance(block_weights, float):
            weights = np.full(count, block_weights)
        else:
            weights = np.array(block_weights, dtype=np.float64)
        yield ids, weights, values
        matcher._next_block()


class Evaluator:
    """Evaluates queries on one open searcher (one thread at a time)."""

    def __init__(self, searcher, frequency: Callable[[str, str], int] | None = None):
        """``frequency(field, text)``: how many documents of the index hold the term (the
        reader's, unless the caller remembers them)."""
        self.searcher = searcher
        self.frequency = frequency or searcher.reader().doc_frequency
        self.leaves = [(subsearcher.reader(), offset) for subsearcher, offset in searcher.leaf_searchers()]
        self._offsets = [offset for _leaf, offset in self.leaves]
        weighting = searcher.weighting
        if type(weighting) is not BM25F or weighting._field_B:
            raise TypeError(f"scores as BM25F with one B for every field, not {weighting!r}")
        self.B, self.K1 = weighting.B, weighting.K1

    def stored_fields(self, docnum: int) -> dict:
        """The stored fields of document ``docnum`` (numbered across the index)."""
        leaf, offset = self.leaves[bisect_right(self._offsets, docnum) - 1]
        return _Arrays.of(leaf).stored_fields(docnum - offset)

    def matches(self, query, within: np.ndarray | None = None) -> Matches:
        """Every document matching ``query`` with its score; with ``within`` (sorted document
        numbers), only those among them (a term then reads only the blocks of its postings that
        hold one, unless its postings are kept or the documents are many)."""
        if isinstance(query, Term | Phrase):
            parts = []
            for leaf, offset in self.leaves:
                local = None
                if within is not None:
                    local = within[(within >= offset) & (within < offset + leaf.doc_count_all())] - offset
                    if not len(local):
                        continue
                part = self._leaf(query, leaf, offset, local)
                if len(part):
                    parts.append(part)
            if not parts:
                return Matches.empty()
            if len(parts) == 1:
                return parts[0]
            return Matches(np.concatenate([p.ids for p in parts]), np.concatenate([p.scores for p in parts]))
        if isinstance(query, ConstantScoreQuery):
            child = self.matches(query.child, within)
            return Matches(child.ids, np.full(len(child), float(query.score)))
        if isinstance(query, And):
            # The rarest part first, each next one only among what matched so far; the scores
            # then summed in the query's order.
            found: dict[int, Matches] = {}
            for n in sorted(range(len(query.subqueries)), key=lambda n: self._estimate(query.subqueries[n])):
                found[n] = self.matches(query.subqueries[n], within)
                within = found[n].ids
                if not len(within):
                    return Matches.empty()
            if not found:
                return Matches.empty()
            ids, scores = within, np.zeros(len(within))
            for n in range(len(query.subqueries)):
                scores = scores + found[n].scores[np.searchsorted(found[n].ids, ids)]
            return Matches(ids, scores)
        if isinstance(query, Or):
            found_any = [m for m in (self.matches(part, within) for part in query.subqueries) if len(m)]
            if not found_any:
                return Matches.empty()
            if len(found_any) == 1:
                return found_any[0]
            ids, inverse = np.unique(np.concatenate([m.ids for m in found_any]), return_inverse=True)
            return Matches(ids, np.bincount(inverse, weights=np.concatenate([m.scores for m in found_any]), minlength=len(ids)))
        raise TypeError(f"cannot evaluate {type(query).__name__} queries")

    def _estimate(self, query) -> int:
        """At most how many documents ``query`` matches (from the terms' frequencies)."""
        if isinstance(query, Term):
            return self.frequency(query.fieldname, query.text)
        if isinstance(query, Phrase):
            return min(self.frequency(query.fieldname, word) for word in query.words)
        if isinstance(query, ConstantScoreQuery):
            return self._estimate(query.child)
        if isinstance(query, And):
            return min((self._estimate(part) for part in query.subqueries), default=0)
        if isinstance(query, Or):
            return sum(self._estimate(part) for part in query.subqueries)
        raise TypeError(f"cannot evaluate {type(query).__name__} queries")

    def _scores(self, arrays: _Arrays, fieldname: str, text: str, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
        field = self.searcher.schema[fieldname]
        if not field.scorable:
            return weights
        idf = self.searcher.idf(fieldname, text)
        average = self.searcher.avg_field_length(fieldname) or 1
        lengths = arrays.field_lengths(fieldname)[ids]
        return idf * ((weights * (self.K1 + 1)) / (weights + self.K1 * ((1 - self.B) + self.B * lengths / average)))

    def _leaf(self, query, leaf, offset: int, within: np.ndarray | None) -> Matches:
        arrays = _Arrays.of(leaf)
        if isinstance(query, Term):
            text = query.text
            ids, weights = arrays.term_within(query.fieldname, text, within)
            if not len(ids):
                return Matches.empty()
            return Matches(ids + offset, self._scores(arrays, query.fieldname, text, ids, weights))
        texts = list(query.words)
        # The rarest word first, each next one only in the documents holding those before.
        ids = within
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        frequencies = {text: leaf.doc_frequency(query.fieldname, text) for text in texts}
        for text in sorted(frequencies, key=frequencies.get):
            if len(texts) > 1 and frequencies[text] <= READ_WHOLE_UP_TO:
                term_ids, weights = arrays.term(query.fieldname, text, positions=True)  # positions kept for the next phrase
                if ids is not None:
                    keep = np.isin(term_ids, ids, assume_unique=True)
                    term_ids, weights = term_ids[keep], weights[keep]
            else:
                term_ids, weights = arrays.term_within(query.fieldname, text, ids)
            found[text] = (term_ids, self._scores(arrays, query.fieldname, text, term_ids, weights))
            ids = term_ids
            if not len(ids):
                return Matches.empty()
        scores = np.zeros(len(ids))
        for text in texts:  # each word's score as many times as the phrase holds it, as Whoosh counts it
            term_ids, term_scores = found[text]
            scores = scores + term_scores[np.searchsorted(term_ids, ids)]
        if len(texts) > 1:
            keep = self._in_order(arrays, query.fieldname, texts, ids, query.slop)
            ids, scores = ids[keep], scores[keep]
        return Matches(ids + offset, scores)

    @staticmethod
    def _in_order(arrays: _Arrays, fieldname: str, texts: list[str], candidates: np.ndarray, slop: int) -> np.ndarray:
        """Which ``candidates`` (documents holding every word) hold the words in order, each at
        most ``slop`` positions after the one before."""
        by_text = {text: arrays.positions_in(fieldname, text, candidates) for text in dict.fromkeys(texts)}
        keep = np.zeros(len(candidates), dtype=bool)
        for n, docnum in enumerate(candidates.tolist()):
            ends = by_text[texts[0]].get(docnum, [])  # positions ascend
            for text in texts[1:]:
                if not ends:
                    break
                # Each position with an end of the phrase so far 1 to ``slop`` before it: the
                # first end at or after ``p - slop`` (a binary search), not past ``p - 1``.
                # Linear in the positions, whatever a text repeats.
                ends = [p for p in by_text[text].get(docnum, ()) if (i := bisect_left(ends, p - slop)) < len(ends) and ends[i] <= p - 1]
            keep[n] = bool(ends)
        return keep


def top(matches: Matches, count: int, *, first: np.ndarray | None = None) -> np.ndarray:
    """Indexes into ``matches`` of its best ``count``: highest score first, equal scores by
    document number; with ``first`` (a boolean per match), those before the others."""
    if first is None:
        return _best(matches.ids, matches.scores, np.arange(len(matches)), count)
    ours = _best(matches.ids, matches.scores, np.flatnonzero(first), count)
    return np.concatenate([ours, _best(matches.ids, matches.scores, np.flatnonzero(~first), count - len(ours))])


def _best(ids: np.ndarray, scores: np.ndarray, among: np.ndarray, count: int) -> np.ndarray:
    if count <= 0 or not len(among):
        return np.zeros(0, dtype=np.int64)
    key = -scores[among]
    if len(among) > count:
        kth = np.partition(key, count - 1)[count - 1]
        better = np.flatnonzero(key < kth)
        tied = np.flatnonzero(key == kth)[: count - len(better)]  # ids ascend: the lowest numbers
        chosen = np.concatenate([better, tied])
    else:
        chosen = np.arange(len(among))
    return among[chosen[np.lexsort((ids[among[chosen]], key[chosen]))]]
