"""How the Whoosh index stores its postings: blocks of arrays, not of Python objects.

Whoosh's own codec (``W3Codec``) writes each block of up to 128 postings as a pickled tuple of
Python numbers (the ids' gaps, the weights) and, for a text field, a pickled list of position
gaps per posting. Reading a block then builds a Python object per posting and per position:
on 100,000 contributions, unpickling blocks was most of a phrase query's time, and pickling
them a good part of the build's.

``ArrayCodec`` keeps Whoosh's files, block headers and skipping as they are (and its stored
fields, not compressed) and changes what a block holds: the ids' gaps as unsigned integers of 8, 16 or 32 bits (the narrowest that holds
the block's), and the weights as 32-bit floats, or Whoosh's ``None`` or one float when they
are all the same. ``CompactPositions`` stores a text field's positions as unsigned 32-bit
integers; a block of such a field holds each posting's number of positions and all the
positions, both narrowed the same way, and no weights (each is its number of positions times
the field's boost, as ``CompactPositions`` weighs them). Blocks are not compressed: they are
about as small as Whoosh's compressed pickles, and reading them costs no ``zlib`` call.
``consult.search.whoosh_matching`` reads blocks straight into numpy arrays
(``ArrayLeafMatcher.block_arrays``); Whoosh's own matchers read them through
``ArrayLeafMatcher``, which gives them what its parent would have.

Both classes are pickled into the index (the codec into each segment, the format into the
schema): renaming or changing them needs a new ``whoosh_backend.FORMAT``.
"""

from __future__ import annotations

from array import array
from operator import sub
from pickle import loads
from zlib import decompress

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3LeafMatcher, W3PerDocWriter, W3PostingsWriter
from whoosh.formats import Positions
from whoosh.matching import ListMatcher

#: Postings a block holds (Whoosh's codec: 128). Each block read costs a fixed part (its
#: header, unpickling, a few arrays) besides its postings: larger blocks read a common word's
#: postings in fewer pieces, at the price of reading more of them when only a few are wanted.
BLOCK_POSTINGS = 512
_POSITIONS = np.dtype("=u4")


class CompactPositions(Positions):
    """``Positions`` whose value is the positions themselves, as unsigned 32-bit integers
    (Whoosh's is a pickled list of gaps after the count): the positions of a block's postings
    are then one array (``block_arrays``)."""

    def encode(self, poslist) -> bytes:
        return array("I", poslist).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return array("I", valuestring).tolist()

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // 4

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost

    def decode_position_boosts(self, valuestring: bytes) -> list[tuple[int, float]]:
        return [(position, 1) for position in self.decode_positions(valuestring)]


class ArrayCodec(W3Codec):
    """``W3Codec`` whose document postings are written and read as arrays (term vectors, which
    Consult does not use, stay as Whoosh writes them)."""

    def __init__(self, blocklimit: int = BLOCK_POSTINGS, compression: int = 0, inlinelimit: int = 1):
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def postings_writer(self, dbfile, byteids=False):
        cls = W3PostingsWriter if byteids else ArrayPostingsWriter
        return cls(dbfile, blocklimit=self._blocklimit, byteids=byteids, compression=self._compression, inlinelimit=self._inlinelimit)

    def field_writer(self, storage, segment):
        return ArrayFieldWriter(self, storage, segment)

    def per_document_writer(self, storage, segment):
        return _PerDocumentWriter(self, storage, segment)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            return ListMatcher(ids, weights, values, format_, scorer=scorer, term=term, terminfo=terminfo)
        offset, length = terminfo.extent()
        return ArrayLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


#: Stored fields as Whoosh's codec writes them (a pickle a document, in zlib's format, which its
#: reader decompresses), but not compressed (level 0): compressing them was a tenth of a
#: rebuild's time (about 17 µs a document) for a third of their size (as FTS5, which keeps its
#: texts as they are).
_STORED = columns.PickleColumn(columns.CompressedBytesColumn(level=0))


class _PerDocumentWriter(W3PerDocWriter):
    def _create_column(self, fieldname, column) -> None:
        super()._create_column(fieldname, _STORED if fieldname == "_stored" else column)


class ArrayPostingsWriter(W3PostingsWriter):
    """Writes a block's ids, weights and values as arrays (see the module's text). Most terms
    have a block of a few postings: it is done with ``array``, not numpy, whose calls cost more
    than such a block's whole work."""

    def start_postings(self, format_, terminfo) -> None:
        super().start_postings(format_, terminfo)
        # A term of one posting in a field of no values (an ID field: each document's key is
        # such a term) is kept in the terms file ("inlined"), not in a block of its own, whose
        # writing cost a tenth of a rebuild. (``W3Codec``'s limit of 1 inlines nothing.)
        self._inlinelimit = 2 if format_.fixed_value_size() == 0 else 1

    def finish_postings(self):
        if self.written() or len(self) >= self._inlinelimit:
            return super().finish_postings()
        # Whoosh's own inlining calls ``set_inline``, which its term info does not have (with
        # ``W3Codec``'s limit, nothing was ever inlined), and keeps no empty values (which
        # ``ListMatcher`` then gives as ``""``, not bytes).
        terminfo, self._terminfo = self._terminfo, None
        terminfo.add_block(self)
        terminfo.set_inlined(self._ids, self._weights, self._values or [b""] * len(self._ids))
        return terminfo

    def _new_block(self) -> None:
        super()._new_block()
        self._block = None  # (counts, positions) of a block given whole (``add_blocks``)

    def add_blocks(self, ids: array, weights: array, counts: array, positions: array, lengths) -> None:
        """A ``CompactPositions`` or ``Existence`` term's postings given whole (ids ascending;
        each posting's weight and number of positions; all the positions, posting after posting;
        no positions for ``Existence``), written a
        block at a time; ``lengths[docnum]``: the field's length in each document, as Whoosh's
        own reader gives it (None for none). Then ``finish_postings`` as after ``add_posting``."""
        limit, total, at = self._blocklimit, len(ids), 0
        for start in range(0, total, limit):
            if self._ids:
                self._write_block()
            end = min(start + limit, total)
            block_counts = counts[start:end]
            placed = sum(block_counts)
            self._ids, self._weights = ids[start:end], weights[start:end]
            self._block = (block_counts, positions[at : at + placed])
            at += placed
            found = [length for length in map(lengths.__getitem__, self._ids) if length]
            self._minlength, self._maxlength = (min(found), max(found)) if found else (None, 0)
            self._maxweight = max(self._weights)

    def _counts(self) -> list[int] | array:
        return [len(value) >> 2 for value in self._values] if self._block is None else self._block[0]

    def _mini_ids(self) -> tuple[str, bytes]:
        ids = self._ids
        return _pack([ids[0], *map(sub, ids[1:], ids[:-1])])

    def _mini_weights(self):
        weights = self._weights
        first = weights[0]
        if all(w == first for w in weights):
            return None if first == 1.0 else first
        if isinstance(self._format, CompactPositions):
            boost = self._format.field_boost
            if weights == array("f", [count * boost for count in self._counts()]):
                return _FROM_COUNTS
        return weights.tobytes()

    def _mini_values(self):
        values = self._values
        if isinstance(self._format, CompactPositions):
            if self._block is not None:
                return _pack(self._block[0]), _pack(self._block[1])
            return _pack(self._counts()), _pack(array("I", b"".join(values)))
        fixedsize = self._format.fixed_value_size()
        if fixedsize is None or fixedsize < 0:
            return array("I", map(len, values)).tobytes(), b"".join(values)
        if fixedsize == 0:
            return None
        return b"".join(values)


#: In place of a block's weights: each posting's is its number of positions times the field's
#: boost (as a 32-bit float), as ``CompactPositions`` fields weigh them.
_FROM_COUNTS = "counts"
_TYPECODES = {"B": np.dtype(np.uint8), "H": np.dtype("=u2"), "I": np.dtype("=u4")}
if any(array(typecode).itemsize != dtype.itemsize for typecode, dtype in _TYPECODES.items()):  # pragma: no cover
    raise ImportError("array's B, H and I are not 8, 16 and 32 bits here: blocks written would not read back")


def _pack(values) -> tuple[str, bytes]:
    """Unsigned integers (a sequence of them) in the narrowest of 8, 16 or 32 bits that holds them all."""
    top = max(values, default=0)
    typecode = "B" if top < 2**8 else "H" if top < 2**16 else "I"
    if type(values) is array and values.typecode == typecode:
        return typecode, values.tobytes()
    return typecode, array(typecode, values).tobytes()


def _unpack(packed: tuple[str, bytes]) -> np.ndarray:
    typecode, data = packed
    return np.frombuffer(data, dtype=_TYPECODES[typecode])


class ArrayLeafMatcher(W3LeafMatcher):
    """Reads ``ArrayPostingsWriter``'s blocks for Whoosh's own matching (deleting documents by
    term or query, and any query Consult leaves to Whoosh)."""

    def _read_data(self) -> None:
        data = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)
        self._data = loads(decompress(data) if self._compression else data)

    def _read_ids(self) -> None:
        self._ids = self.block_arrays()[0].tolist()

    def _read_weights(self) -> None:
        self._weights = array("f", self.block_arrays()[1].astype(np.float32).tobytes())

    def _read_values(self) -> None:
        if self._data is None:
            self._read_data()
        values = self._data[2]
        fixedsize = self._fixedsize
        if isinstance(self.format, CompactPositions):
            _ids, _weights, counts, positions = self.block_arrays(positions=True)
            joined = positions.astype(_POSITIONS).tobytes()
            ends = (np.cumsum(counts) * 4).tolist()
            self._values = tuple([joined[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)])
        elif fixedsize is None or fixedsize < 0:
            lengths, joined = values
            ends = np.cumsum(np.frombuffer(lengths, dtype=np.uint32)).tolist()
            self._values = tuple([joined[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)])
        elif fixedsize == 0:
            self._values = (None,) * self._blocklength
        else:
            self._values = tuple(values[i : i + fixedsize] for i in range(0, len(values), fixedsize))

    def block_arrays(self, *, positions: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The current block as arrays: ids (int64), weights (float64) and, with ``positions``
        (a ``CompactPositions`` field), how many positions each posting has and all of them,
        posting after posting (else None)."""
        if self._data is None:
            self._read_data()
        raw_ids, raw_weights, values = self._data
        count = self._blocklength
        ids = np.cumsum(_unpack(raw_ids), dtype=np.int64)
        counts = None
        if raw_weights is None:
            weights = np.ones(count)
        elif isinstance(raw_weights, float):
            weights = np.full(count, raw_weights)
        elif isinstance(raw_weights, str):  # _FROM_COUNTS
            counts = _unpack(values[0])
            weights = (counts * self.format.field_boost).astype(np.float32).astype(np.float64)
        else:
            weights = np.frombuffer(raw_weights, dtype=np.float32).astype(np.float64)
        if not positions:
            return ids, weights, None, None
        if not isinstance(self.format, CompactPositions):
            raise TypeError(f"positions are read from a CompactPositions field, not {self.format!r}")
        return ids, weights, _unpack(values[0]) if counts is None else counts, _unpack(values[1])


class ArrayFieldWriter(W3FieldWriter):
    """Writes the postings of a ``BulkPool``: the fields it grouped a term at a time
    (``ArrayPostingsWriter.add_blocks``), the others from Whoosh's pool as Whoosh does."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        for structfile in (self._postfile, self._tindex.dbfile):
            structfile.file = _Positioned(structfile.file)

    def add_postings(self, schema, lengths, items) -> None:
        if not isinstance(items, BulkPostings):
            super().add_postings(schema, lengths, items)
            return
        super().add_postings(schema, lengths, items.others)  # these fields get the lower numbers: keys stay in order
        for fieldname in sorted(items.terms):
            terms = items.terms[fieldname]
            if not terms:
                continue
            fieldobj = schema[fieldname]
            by_document = _lengths_of(lengths, fieldname) if fieldobj.scorable and lengths is not None else _NoLengths()
            self.start_field(fieldname, fieldobj)
            for btext in sorted(terms):
                self.start_term(btext)
                self._postwriter.add_blocks(*terms[btext], by_document)
                self.finish_term()
            self.finish_field()


class _Positioned:
    """A file being written that counts its position instead of asking the system: ``tell`` on
    a buffered file is an ``lseek`` call, and Whoosh's writers ask for it a few times a term
    and block (a tenth of a rebuild's time)."""

    def __init__(self, file):
        self._file = file
        self._at = file.tell()

    def write(self, data) -> int:
        written = self._file.write(data)
        self._at += written
        return written

    def tell(self) -> int:
        return self._at

    def seek(self, *args) -> int:
        self._at = self._file.seek(*args)
        return self._at

    def __getattr__(self, name: str):
        return getattr(self._file, name)


class _NoLengths:
    def __getitem__(self, docnum: int) -> None:
        return None


def _lengths_of(reader, fieldname: str) -> list[int | None]:
    """Each document's length in ``fieldname`` as the segment's per-document ``reader`` gives
    it (``doc_field_length``: the stored byte's length, None for none), for every document."""
    return [reader.doc_field_length(docnum, fieldname) for docnum in range(reader.doc_count_all())]


class BulkPostings:
    """What ``BulkPool.iter_postings`` gives ``ArrayFieldWriter.add_postings``."""

    def __init__(self, others, terms: dict[str, dict[bytes, tuple]]):
        self.others = others
        self.terms = terms


class BulkPool:
    """A writer's pool (``SegmentWriter.pool``) that groups the postings of some
    ``CompactPositions`` and ``Existence`` fields by term as the documents come, in arrays (about
    17 bytes a posting, and a few hundred a distinct term), and passes the others to Whoosh's pool. Whoosh's
    pool keeps each posting as a tuple, sorts them all and, past its memory limit, writes them
    to disk and merges them back: a Python step or several per posting.

    Past ``limit`` bytes it hands what it grouped to Whoosh's pool, which then takes everything
    (slower, in bounded memory)."""

    def __init__(self, others, fieldnames, *, limit: int):
        self.others = others
        self.terms: dict[str, dict[bytes, tuple]] = {fieldname: {} for fieldname in fieldnames}
        self.limit = limit
        self.size = 0

    def __getattr__(self, name: str):
        return getattr(self.others, name)

    def add(self, item) -> None:
        fieldname, btext, docnum, weight, value = item
        terms = self.terms.get(fieldname)
        if terms is None:
            self.others.add(item)
            return
        entry = terms.get(btext)
        if entry is None:
            entry = terms[btext] = (array("I"), array("f"), array("I"), array("I"))
            self.size += 300 + len(btext)
        ids, weights, counts, positions = entry
        ids.append(docnum)
        weights.append(weight)
        counts.append(len(value) >> 2)
        positions.frombytes(value)
        self.size += 12 + len(value)
        if self.size > self.limit:
            self._hand_over()

    def add_grouped(
        self, fieldname: str, btexts: list[bytes], ends: list[int], ids: np.ndarray, counts: np.ndarray, positions: np.ndarray, boost: float
    ) -> None:
        """The postings of several terms of ``fieldname`` at once, as ``add`` would have them
        one by one: term ``i``'s are ``ids[ends[i - 1]:ends[i]]`` (ascending, after the ids
        already given) with as many positions each (``counts``), all the positions posting
        after posting; each posting weighs its count times ``boost``."""
        if not len(ids):
            return
        ids = np.ascontiguousarray(ids, dtype=_POSITIONS)
        counts = np.ascontiguousarray(counts, dtype=_POSITIONS)
        positions = np.ascontiguousarray(positions, dtype=_POSITIONS)
        weights = (counts * boost).astype(np.float32)
        placed = np.cumsum(counts, dtype=np.int64)[np.asarray(ends) - 1].tolist()
        terms = self.terms.get(fieldname)
        if terms is None:
            self._add_one_by_one(fieldname, btexts, ends, ids, weights, counts, positions)
            return
        # Bytes, not items: ``array.frombytes`` takes a slice of them without a copy.
        raw = [memoryview(a).cast("B") for a in (ids, weights, counts, positions)]
        raw_ids, raw_weights, raw_counts, raw_positions = raw
        start = at = 0
        added = 0
        for btext, end, to in zip(btexts, ends, placed, strict=True):
            entry = terms.get(btext)
            if entry is None:
                entry = terms[btext] = (array("I"), array("f"), array("I"), array("I"))
                added += 300 + len(btext)
            entry[0].frombytes(raw_ids[start * 4 : end * 4])
            entry[1].frombytes(raw_weights[start * 4 : end * 4])
            entry[2].frombytes(raw_counts[start * 4 : end * 4])
            entry[3].frombytes(raw_positions[at * 4 : to * 4])
            start, at = end, to
        self.size += added + 12 * len(ids) + 4 * len(positions)
        if self.size > self.limit:
            self._hand_over()

    def _add_one_by_one(self, fieldname, btexts, ends, ids, weights, counts, positions) -> None:
        add = self.others.add
        ids, weights, counts = ids.tolist(), weights.tolist(), counts.tolist()
        start = at = 0
        for btext, end in zip(btexts, ends, strict=True):
            for docnum, weight, count in zip(ids[start:end], weights[start:end], counts[start:end], strict=True):
                add((fieldname, btext, docnum, weight, positions[at : at + count].tobytes()))
                at += count
            start = end

    def _hand_over(self) -> None:
        add = self.others.add
        for fieldname, terms in self.terms.items():
            for btext, (ids, weights, counts, positions) in terms.items():
                at = 0
                for docnum, weight, count in zip(ids, weights, counts, strict=True):
                    add((fieldname, btext, docnum, weight, positions[at : at + count].tobytes()))
                    at += count
        self.terms = {}
        self.size = 0

    def iter_postings(self) -> BulkPostings:
        return BulkPostings(self.others.iter_postings(), self.terms)
