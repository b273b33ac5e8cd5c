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

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.columns import NumericColumn
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import And, ConstantScoreQuery, Or, Phrase, Term
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

from consult.search.whoosh_codec import ArrayLeafMatcher

#: What a segment's reader keeps between queries, at most (a process keeps a few searchers, each
#: with its segments' readers; a small segment holds far less than this): postings as arrays (16
#: bytes each: 16 MB), postings with their positions, for phrases (the id and where its
#: positions begin, 16 bytes, and the positions, 1 to 4 bytes each: about 20 bytes a posting,
#: 10 MB), and the stored fields of documents shown (the first pages of the common queries),
#: counted in characters of text (2 to 8 MB). A value larger than a quarter of its limit is used
#: for one query and not kept.
POSTINGS_KEPT = 1_000_000
POSITIONS_KEPT = 500_000
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
        ids, weights, counts, flat = [], [], [], []
        for block_ids, block_weights, block_counts, block_positions in _blocks(self.leaf, fieldname, text, positions=want_positions):
            ids.append(block_ids)
            weights.append(block_weights)
            if want_positions:
                counts.append(block_counts)
                flat.append(block_positions)
        all_ids = np.concatenate(ids) if ids else _NONE
        if want_positions:
            starts = np.zeros(len(all_ids) + 1, dtype=np.int64)
            starts[1:] = np.cumsum(np.concatenate(counts), dtype=np.int64)
            self._keep(self.positions, key, (all_ids, starts, np.concatenate(flat)), "positions_kept", POSITIONS_KEPT)
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
        ids_parts, weights_parts = [], []
        if (fieldname, text) in self.leaf:
            for ids, weights, _counts, _positions in _blocks(self.leaf, fieldname, text, wanted=wanted):
                at = np.isin(ids, wanted, assume_unique=True)
                ids_parts.append(ids[at])
                weights_parts.append(weights[at])
        if not ids_parts:
            return _NONE, np.zeros(0)
        return np.concatenate(ids_parts), np.concatenate(weights_parts)

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

    def positions_in(self, fieldname: str, text: str, candidates: np.ndarray) -> np.ndarray:
        """Where ``text`` is in ``fieldname`` of ``candidates`` (sorted documents that hold it),
        each place as ``document << 32 | position``, ascending: from what
        ``term(positions=True)`` kept, or, for a term too common to keep, from the blocks
        holding a candidate."""
        kept = self.positions.get((fieldname, text))
        if kept is not None:
            self.positions.move_to_end((fieldname, text))
            ids, starts, flat = kept
            at = np.searchsorted(ids, candidates)
            found = at < len(ids)
            at = at[found]
            at = at[ids[at] == candidates[found]]
            return _places(ids[at], starts[at], starts[at + 1] - starts[at], flat)
        ids_parts, counts_parts, flat_parts, base = [], [], [], 0
        starts_parts = []
        for ids, _weights, counts, positions in _blocks(self.leaf, fieldname, text, wanted=candidates, positions=True):
            at = np.flatnonzero(np.isin(ids, candidates, assume_unique=True))
            block_starts = np.zeros(len(ids), dtype=np.int64)
            block_starts[1:] = np.cumsum(counts[:-1], dtype=np.int64)
            ids_parts.append(ids[at])
            counts_parts.append(counts[at].astype(np.int64))
            starts_parts.append(block_starts[at] + base)
            flat_parts.append(positions)
            base += len(positions)
        if not ids_parts:
            return _NONE
        return _places(np.concatenate(ids_parts), np.concatenate(starts_parts), np.concatenate(counts_parts), np.concatenate(flat_parts))

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
            count = self.leaf.doc_count_all()
            if column is None:
                lengths = np.zeros(count, dtype=np.float64)
            elif type(column) is NumericColumn.Reader and column._fixedlen == 1 and column._default == 0:
                # One byte a document, those past the column's end 0: read at once, not a
                # document at a time as ``load`` does.
                codes = np.zeros(count, dtype=np.uint8)
                written = min(column._count, count)
                codes[:written] = np.frombuffer(column._dbfile.get(column._basepos, written), dtype=np.uint8)
                lengths = _LENGTHS[codes]
            else:
                lengths = _LENGTHS[np.frombuffer(column.load(), dtype=np.uint8)]
            self.lengths[fieldname] = lengths
        return lengths


def _places(ids: np.ndarray, starts: np.ndarray, counts: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """``id << 32 | position`` for each of the ``counts[i]`` positions of document ``ids[i]``,
    which begin at ``flat[starts[i]]``."""
    total = int(counts.sum())
    if not total:
        return _NONE
    ends = np.cumsum(counts)
    first = np.repeat(
        starts - (ends - counts), counts
    )  # where each document's positions begin in ``flat``, less where they begin in the result
    return (np.repeat(ids, counts) << 32) | flat[first + np.arange(total)].astype(np.int64)


def _characters(fields: dict) -> int:
    return sum([len(value) for value in fields.values() if type(value) is str])


def _blocks(leaf, fieldname: str, text: str, wanted: np.ndarray | None = None, *, positions: bool = False):
    """``(ids, weights, counts, positions)`` of each block of a term's postings in a segment:
    ids as an int64 array, weights as float64 and, with ``positions``, how many positions each
    posting has (uint32) and all of them, posting after posting (else None). With ``wanted``
    (sorted document numbers), only the blocks whose range holds one of them are read."""
    matcher = leaf.postings(fieldname, text)
    if isinstance(matcher, FilterMatcher):  # the deletions: removed by the caller
        matcher = matcher.child
        matcher.reset()  # the filter has moved it past the deleted documents it began with
    if not isinstance(matcher, ArrayLeafMatcher):  # another codec: one posting at a time
        ids, weights, counts, places = [], [], [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            if positions:
                found = matcher.value_as("positions")
                counts.append(len(found))
                places.extend(found)
            matcher.next()
        yield (
            np.array(ids, dtype=np.int64),
            np.array(weights, dtype=np.float64),
            np.array(counts, dtype=np.uint32) if positions else None,
            np.array(places, dtype=np.uint32) if positions else None,
        )
        return
    below = -1  # the last block's highest id
    while matcher.is_active():
        if wanted is not None:
            # Any wanted id in (below, this block's highest]? Known without reading the block.
            if np.searchsorted(wanted, matcher._maxid, side="right") == np.searchsorted(wanted, below, side="right"):
                below = matcher._maxid
                matcher._next_block()
                continue
            below = matcher._maxid
        yield matcher.block_arrays(positions=positions)
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
        places = {text: arrays.positions_in(fieldname, text, candidates) for text in dict.fromkeys(texts)}
        ends = places[texts[0]]  # where the phrase so far ends, as ``document << 32 | position``
        for text in texts[1:]:
            if not len(ends):
                break
            # Each place of the next word with an end 1 to ``slop`` before it in its document:
            # the first end at or after ``place - slop`` (``place - slop`` below a document's
            # first place lands past the positions of the document before), not past ``place - 1``.
            after = places[text]
            first = np.searchsorted(ends, after - slop)
            follows = first < len(ends)
            follows[follows] = ends[first[follows]] <= after[follows] - 1
            ends = after[follows]
        return np.isin(candidates, ends >> 32)


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
