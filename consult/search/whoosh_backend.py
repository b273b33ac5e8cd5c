"""The Whoosh index: one folder (``SEARCH_DIR``) shared by the processes of one machine.

One writer. The job worker writes the index, and nothing else does (``consult reindex`` and
``consult restore`` run the same code): it applies the search outbox (``outbox``) or rebuilds.
Every writer holds the folder's own lock (``consult.lock``, an ``fcntl`` lock, so it works
across processes) for the whole of its work, and reads the database only once it holds it: two
updates of one document are applied in lock order, and the later one read a state at least as
new as the earlier one's, so the index ends at the latest committed state. An update that cannot
have the lock in time, or a folder that cannot be written, raises ``IndexUnavailable``: the
outbox rows stay in the database for the next run, nothing is lost. Web processes only read.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import logging
import os
import re
import shutil
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path

import numpy as np
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.analysis import IDTokenizer, LanguageAnalyzer, SimpleAnalyzer, StemmingAnalyzer, StopFilter
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.formats import Existence
from whoosh.index import EmptyIndexError, LockError
from whoosh.query import And, ConstantScoreQuery, Or, Phrase, Term
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from consult.search import documents, outbox, whoosh_matching
from consult.search.documents import TEXT_LANGUAGE, Document, Plan
from consult.search.outbox import IndexUnavailable
from consult.search.query import ParsedQuery, QueryError
from consult.search.whoosh_codec import ArrayCodec, BulkPool, CompactPositions

log = logging.getLogger(__name__)

#: Bump when the schema or what goes into a document changes: an index of another format is
#: rebuilt on start.
FORMAT = 4  # 2: a title and a body field per language; 3: the date stored only, text fields indexed by ``_Text``;
# 4: postings written as arrays (``whoosh_codec``)
LOCK_TIMEOUT = 10.0  # seconds an update waits for the folder's lock before it leaves the outbox to the next run
LOCK_DELAY = 0.05
#: Memory a rebuild may give the text fields' postings, grouped by term (``BulkPool``); past it,
#: they go through Whoosh's own pool, which sorts them on disk (slower).
BULK_POOL_BYTES = 256 * 1024 * 1024
SNIPPET_CHARS = 240
SEARCHERS_KEPT = 4  # open searchers a process keeps between queries (one per thread at a time)
PAGES_KEPT = 256  # pages of hits a process keeps for the same query on an unchanged index
SNIPPET_SURROUND = 60  # characters of context before the first and after the last match of a fragment
SNIPPET_FRAGMENTS = 2
HIGHLIGHT_CHAR_LIMIT = 2**15  # matches are looked for in a stored text's first 32 K characters (as Whoosh's highlighter did)
STEMS_KEPT = 100_000  # words whose term a process remembers, per language, for highlighting
QUERY_WORDS_KEPT = 10_000  # query words (and their terms' frequencies, snippet finders) a process remembers

#: How the words of each language are reduced to what the index holds: Snowball stemmers with the
#: language's stop words (Arabic: the ISRI root stemmer, and no stop words, Whoosh has none), and
#: English as it always was (Porter). Text in any other language goes to ``OTHER``: lowercased
#: words as written. Each document's text is indexed in its own language's fields
#: (``title_fr``, ``body_fr``); a query is analysed in each language searched and looks in that
#: language's fields, so "développer" finds "développement" in French contributions.
ANALYZERS = {
    "en": StemmingAnalyzer(),
    "fr": LanguageAnalyzer("fr"),
    "es": LanguageAnalyzer("es"),
    "ar": LanguageAnalyzer("ar"),
}
OTHER = "other"
ANALYZERS[OTHER] = SimpleAnalyzer()


def schema() -> Schema:
    fields = {}
    for group in ANALYZERS:
        fields[f"title_{group}"] = _Text(group, field_boost=2.0)
        fields[f"body_{group}"] = _Text(group)
    return Schema(
        key=ID(stored=True, unique=True),
        kind=ID(stored=True),
        consultation=ID(stored=True),
        section=ID(stored=True),
        state=ID(stored=True),
        thread=ID(),
        ref=STORED(),
        date=STORED(),  # shown; never searched or sorted by the index (its terms were a sixth of its postings)
        language=ID(stored=True),
        title=STORED(),  # shown, and highlighted with the analyser of the document's language
        body=STORED(),
        **fields,
    )


def analysis_group(language: str) -> str:
    """The fields (and analyser) that text in ``language`` is indexed with."""
    return language if language in ANALYZERS else OTHER


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _fields(doc: Document) -> dict:
    fields = {
        "key": doc.key,
        "kind": doc.kind,
        "consultation": str(doc.consultation_id),
        "state": doc.state,
        "ref": doc.ref_id,
        "date": _naive_utc(doc.date),
        "language": doc.language,
        "title": doc.title,
        "body": doc.body,
        f"title_{analysis_group(doc.language)}": doc.title,
        f"body_{analysis_group(doc.language)}": doc.body,
    }
    if doc.section_key:
        fields["section"] = doc.section_key
    if doc.thread_id:
        fields["thread"] = str(doc.thread_id)
    return fields


def analyse(word: str, language: str = TEXT_LANGUAGE) -> list[str]:
    return list(_analysed(word, analysis_group(language)))


@functools.lru_cache(maxsize=QUERY_WORDS_KEPT)
def _analysed(word: str, group: str) -> tuple[str, ...]:
    """A query word's terms in ``group``, remembered (a query is analysed in every language)."""
    return tuple(t.text for t in ANALYZERS[group](word))


# ---- highlighting ------------------------------------------------------------------------

#: A word as the analysers' tokenizer cuts it (Whoosh's default pattern), not inside another.
_BEFORE = r"(?<![\w*])(?<![\w*]\.)"
_TAIL = r"(?:\.?[\w*]+)*"
_EVERY_TOKEN = re.compile(_BEFORE + r"[\w*]+" + _TAIL)
#: The word that begins at a place (no look-behind: ``Marker.spans`` finds a term's prefix with
#: ``str.find``, then skips the places inside a word). Compiled once: a pattern per prefix cost a
#: compilation for each new query word.
_WORD_FROM = re.compile(r"[\w*]+" + _TAIL)
_WORD_CHAR = re.compile(r"[\w*]")
#: Analysers whose terms begin like the words they come from (Porter stems, lowercased words):
#: a word can only reduce to a term if it starts with the term less its last three letters.
#: The others (Snowball's Spanish drops accents, the Arabic root stemmer removes prefixes) have
#: every word of a text looked at.
_PREFIX_GROUPS = frozenset({"en", OTHER})
_stems: dict[str, dict[str, str | None]] = {group: {} for group in ANALYZERS}


def _term(word: str, group: str) -> str | None:
    """The term the index holds for ``word`` in ``group``'s fields (None for a stop word),
    remembered: a process analyses each word it highlights once."""
    memo = _stems[group]
    try:
        return memo[word]
    except KeyError:
        pass
    terms = [t.text for t in ANALYZERS[group](word)]
    term = terms[0] if len(terms) == 1 else None
    if len(memo) >= STEMS_KEPT:
        memo.clear()
    memo[word] = term
    return term


class _Text(TEXT):
    """A text field of one analysis group that indexes a text as its analyser would, word by
    word: each word the tokenizer cuts is reduced once per process (``_term``) instead of
    passing every token through the analyser's chain of generators (two thirds of the time
    of building an index). The same terms, positions, frequencies and weights as ``TEXT``
    (``tests/search/test_whoosh_text.py`` compares them); queries still use the analyser.

    Its class is pickled into the index's schema: renaming it needs a new ``FORMAT``."""

    def __init__(self, group: str, *, field_boost: float = 1.0):
        super().__init__(analyzer=ANALYZERS[group], field_boost=field_boost)
        self.format = CompactPositions(field_boost=field_boost)
        self.group = group

    def index(self, value, **kwargs):
        if not isinstance(value, str) or kwargs:
            yield from super().index(value, **kwargs)
            return
        memo = _stems[self.group]
        positions: dict[str, list[int]] = {}
        # A stop word filter renumbers what it keeps: the first word kept keeps its place, the
        # next ones follow it; without one, every word keeps its place.
        renumbers = self.group in _STOPPING
        at = None
        for place, word in enumerate(_TOKEN.findall(value)):
            term = memo.get(word, _UNSEEN)
            if term is _UNSEEN:
                term = _term(word, self.group)
            if term is None:
                continue
            at = place if at is None or not renumbers else at + 1
            found = positions.get(term)
            if found is None:
                positions[term] = [at]
            else:
                found.append(at)
        encode, boost = self.format.encode, self.format.field_boost
        for term, places in positions.items():
            yield term.encode("utf-8"), len(places), len(places) * boost, encode(places)


_TOKEN = re.compile(r"[\w*]+(?:\.?[\w*]+)*")  # Whoosh's default tokenizer's pattern, without its group
_UNSEEN = object()
#: The groups whose analyser drops stop words (and so renumbers the words it keeps).
_STOPPING = frozenset(
    group for group, analyzer in ANALYZERS.items() if any(isinstance(f, StopFilter) and f.renumber for f in analyzer.items)
)


# ---- rebuilding ----------------------------------------------------------------------------

#: Words of text fields a rebuild holds before it groups them into postings (``_TextBatches``):
#: about 12 bytes each.
BATCH_WORDS = 2_000_000
_NEW, _DROPPED = -2, -1  # a word not looked up yet; a word the analyser drops (a stop word)


class _TextBatches:
    """A rebuild's text fields, indexed many documents at a time: the postings ``_Text.index``
    gives one document at a time (``tests/search/test_whoosh_bulk.py`` compares the indexes),
    made with a few numpy calls per batch instead of Python steps per word and per posting (most
    of a rebuild's time). A document's words become the numbers of their terms (each word is
    analysed once per rebuild); a batch's are then grouped by term and document and handed to
    the pool (``BulkPool.add_grouped``). ID fields give their one term, their value, without
    Whoosh's analysis."""

    def __init__(self, pool: BulkPool, schema: Schema, *, words: int = BATCH_WORDS):
        for name, field in schema.items():
            if field.vector or field.separate_spelling() or field.column_type is not None:
                raise ValueError(f"_add_document writes no term vectors, spellings or columns: {name}")
        self.pool = pool
        self.fields = {name: field for name, field in schema.items() if isinstance(field, _Text)}
        #: ID fields whose one term is their value as it is (no lowercasing), and its weight.
        self.whole = {
            name: field.format.field_boost
            for name, field in schema.items()
            if type(field) is ID and type(field.analyzer) is IDTokenizer and type(field.format) is Existence
        }
        self.limit = words
        self.held = 0
        self.ids: dict[str, dict[str, int]] = {group: {} for group in ANALYZERS}  # word: its term's number
        self.numbers: dict[str, dict[str, int]] = {group: {} for group in ANALYZERS}  # term: its number
        self.texts: dict[str, list[bytes]] = {group: [] for group in ANALYZERS}  # number: term
        self.pending: dict[str, tuple[list[int], array, array]] = {}  # words' terms, documents, words in each

    def add(self, fieldname: str, docnum: int, value) -> int | None:
        """Takes ``value`` for document ``docnum`` and returns the field's length in it, or None
        for a field (or value) this does not index: the caller indexes it as Whoosh would."""
        field = self.fields.get(fieldname)
        if field is None or type(value) is not str:
            weight = self.whole.get(fieldname)
            if weight is None or type(value) is not str:
                return None
            self.pool.add((fieldname, value.encode("utf-8"), docnum, weight, b""))  # as Whoosh's ``ID.index`` gives it
            return 0
        group = field.group
        words = _TOKEN.findall(value)
        known = self.ids[group]
        terms = list(map(known.get, words, repeat(_NEW)))
        if _NEW in terms:
            at = terms.index(_NEW)
            while True:
                terms[at] = self._number(words[at], group)
                try:
                    at = terms.index(_NEW, at + 1)
                except ValueError:
                    break
        pending = self.pending.get(fieldname)
        if pending is None:
            pending = self.pending[fieldname] = ([], array("I"), array("I"))
        pending[0].extend(terms)
        pending[1].append(docnum)
        pending[2].append(len(terms))
        self.held += len(terms)
        return len(terms) - terms.count(_DROPPED) if field.scorable else 0

    def _number(self, word: str, group: str) -> int:
        known = self.ids[group]
        number = known.get(word)
        if number is None:
            term = _term(word, group)
            if term is None:
                number = _DROPPED
            else:
                numbers = self.numbers[group]
                number = numbers.get(term)
                if number is None:
                    number = numbers[term] = len(self.texts[group])
                    self.texts[group].append(term.encode("utf-8"))
            known[word] = number
        return number

    def document_done(self) -> None:
        if self.held >= self.limit:
            self.flush()

    def flush(self) -> None:
        """Hands every word held to the pool."""
        pending, self.pending, self.held = self.pending, {}, 0
        for fieldname, (terms, docnums, lengths) in pending.items():
            self._group(self.fields[fieldname], fieldname, terms, docnums, lengths)

    def _group(self, field: _Text, fieldname: str, terms: list[int], docnums: array, lengths: array) -> None:
        words = np.array(terms, dtype=np.int32)
        lengths_ = np.frombuffer(lengths, dtype=np.uint32).astype(np.int64)
        docs = np.repeat(np.frombuffer(docnums, dtype=np.uint32), lengths_)
        places = np.arange(len(words)) - np.repeat(np.cumsum(lengths_) - lengths_, lengths_)
        kept = words >= 0
        words, docs, places = words[kept], docs[kept], places[kept]
        if not len(words):
            return
        if field.group in _STOPPING:
            # As ``_Text.index``: a document's first word kept keeps its place, the next follow it.
            first = np.flatnonzero(_starts(docs))
            run = np.diff(np.append(first, len(docs)))
            places = np.repeat(places[first], run) + np.arange(len(docs)) - np.repeat(first, run)
        order = np.argsort(words, kind="stable")  # by term, then document and place as they came
        words, docs, places = words[order], docs[order], places[order]
        postings = np.flatnonzero(_starts(words) | _starts(docs))
        counts = np.diff(np.append(postings, len(words)))
        posting_terms = words[postings]
        firsts = np.flatnonzero(_starts(posting_terms))
        ends = [*firsts[1:].tolist(), len(postings)]
        texts = self.texts[field.group]
        btexts = [texts[number] for number in posting_terms[firsts].tolist()]
        self.pool.add_grouped(fieldname, btexts, ends, docs[postings], counts, places, field.format.field_boost)


def grouped_fields(schema: Schema) -> list[str]:
    """The fields whose postings a rebuild groups by term (``BulkPool``): the text fields and
    the ID fields (a term a document, no values)."""
    return [name for name, field in schema.items() if isinstance(field, _Text) or type(field.format) is Existence]


def _starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal values begins."""
    starts = np.empty(len(values), dtype=bool)
    starts[:1] = True
    np.not_equal(values[1:], values[:-1], out=starts[1:])
    return starts


def _add_document(writer, fields: dict, texts: _TextBatches) -> None:
    """``writer.add_document(**fields)`` as Whoosh 2.7's ``SegmentWriter`` does it, for the
    fields of Consult's schema (no term vectors, spellings or columns: ``_TextBatches`` checks;
    no boosts given), with the text fields indexed by ``texts``."""
    perdoc, schema, docnum, add = writer.perdocwriter, writer.schema, writer.docnum, writer.pool.add
    perdoc.start_doc(docnum)
    for name in sorted(fields):
        value = fields[name]
        if value is None:
            continue
        field = schema[name]
        length = texts.add(name, docnum, value)
        if length is None:
            length = 0
            if field.indexed:
                for btext, frequency, weight, encoded in field.index(value):
                    if field.scorable:
                        length += frequency
                    add((name, btext, docnum, weight, encoded))
        perdoc.add_field(name, field, value if field.stored else None, length)
    perdoc.finish_doc()
    writer._added = True
    writer.docnum += 1
    texts.document_done()


class Marker:
    """Highlights a query's terms in stored texts without analysing the texts: a regular
    expression finds the words that may reduce to one of the terms, and only those are analysed
    (once per process, see ``_term``). Snippets are cut as Whoosh's ``ContextFragmenter`` did
    (up to ``SNIPPET_CHARS`` characters, ``SNIPPET_SURROUND`` of context around the matches)
    and the best fragments kept (most matches, times the distinct terms), in text order."""

    def __init__(self, parsed: ParsedQuery):
        self.parsed = parsed
        self.terms: dict[str, frozenset[str]] = {}  # by analysis group, as ``_parts`` searches them
        self._finders: dict[str, re.Pattern | tuple[str, ...] | None] = {}

    def _finder(self, group: str) -> re.Pattern | tuple[str, ...] | None:
        if group not in self._finders:
            words = [analyse(w, group)[:1] for w in self.parsed.words] + [analyse(w, group) for p in self.parsed.phrases for w in p]
            terms = self.terms[group] = frozenset(t for found in words for t in found)
            if not terms:
                finder = None
            elif group in _PREFIX_GROUPS:
                finder = tuple(sorted({t[: max(3, len(t) - 3)] for t in terms}))  # prefixes, looked for with str.find
            else:
                finder = _EVERY_TOKEN
            self._finders[group] = finder
        return self._finders[group]

    def spans(self, text: str, group: str) -> list[tuple[int, int, str]]:
        finder = self._finder(group)
        if finder is None or not text:
            return []
        terms = self.terms[group]
        found = []
        if finder is _EVERY_TOKEN:
            for match in finder.finditer(text, 0, HIGHLIGHT_CHAR_LIMIT):
                term = _term(match.group().lower(), group)
                if term in terms:
                    found.append((match.start(), match.end(), term))
            return found
        text = text[:HIGHLIGHT_CHAR_LIMIT]
        lower = text.lower()
        if len(lower) != len(text):  # a letter whose lowercase is longer ("İ"): positions would shift
            lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        starts = {}  # two prefixes ("bus", "business") find the same word once
        for prefix in finder:
            start = lower.find(prefix)
            while start != -1:
                match = _WORD_FROM.match(lower, start)  # the word from there (a term begins with a word's character)
                end = match.end() if match is not None else start + 1
                if (
                    match is None
                    or start in starts
                    or (
                        start
                        and (
                            _WORD_CHAR.match(lower, start - 1)
                            or (lower[start - 1] == "." and start > 1 and _WORD_CHAR.match(lower, start - 2))
                        )
                    )
                ):
                    pass  # found already, or inside a word
                elif (term := _term(match.group(), group)) in terms:
                    starts[start] = (start, end, term)
                start = lower.find(prefix, end)
        return [starts[start] for start in sorted(starts)]

    def mark(self, text: str, group: str, *, top: int = SNIPPET_FRAGMENTS) -> Markup | None:
        """The best ``top`` fragments of ``text`` with their matches marked, joined by " … ";
        None when none of the terms is in it."""
        spans = self.spans(text, group)
        if not spans:
            return None
        if len(text) <= SNIPPET_CHARS:
            fragments = [(0, len(text), spans)]
        else:
            fragments = _fragments(text, spans)
            if len(fragments) > top:
                best = sorted(fragments, key=lambda f: -len(f[2]) * len({t for _s, _e, t in f[2]}))[:top]
                fragments = sorted(best)
        return Markup(" … ".join(_format(text, fragment) for fragment in fragments))


def _fragments(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, list]]:
    """Matches closer than ``SNIPPET_SURROUND`` characters share a fragment of at most
    ``SNIPPET_CHARS``; each fragment has up to ``SNIPPET_SURROUND`` characters of context on
    either side, cut at spaces."""
    groups: list[list] = []
    for span in spans:
        if groups and span[0] - groups[-1][-1][1] <= SNIPPET_SURROUND and span[1] - groups[-1][0][0] <= SNIPPET_CHARS - SNIPPET_SURROUND:
            groups[-1].append(span)
        else:
            groups.append([span])
    fragments = []
    for group in groups:
        first, last = group[0][0], group[-1][1]
        start = max(0, first - SNIPPET_SURROUND)
        if start and not text[start - 1].isspace():
            space = text.find(" ", start, first)
            start = space + 1 if space != -1 else first
        end = min(len(text), last + SNIPPET_SURROUND)
        if end < len(text) and not text[end].isspace():
            space = text.rfind(" ", last, end)
            end = space if space != -1 else last
        fragments.append((start, end, group))
    return fragments


def _escaped(text: str) -> str:
    """``text`` as ``markupsafe.escape`` writes it, as a plain string: five ``str.replace`` (in C,
    a tenth of a microsecond each) rather than a ``Markup`` object per piece or ``str.translate``
    with a table, which looks every character up in a dict (15 µs for a 140-character piece)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")


def _format(text: str, fragment: tuple[int, int, list]) -> str:
    """The fragment as HTML: its text escaped, its matches in ``<mark>``."""
    start, end, spans = fragment
    out, at = [], start
    for first, last, *_matched in spans:
        out.append(_escaped(text[at:first]))
        out.append("<mark>")
        out.append(_escaped(text[first:last]))
        out.append("</mark>")
        at = last
    out.append(_escaped(text[at:end]))
    return "".join(out)


class WhooshBackend:
    name = "whoosh"
    writes_in_transaction = False

    def __init__(self, folder: str | os.PathLike, *, lock_timeout: float = LOCK_TIMEOUT):
        self.folder = Path(folder)
        self.lock_timeout = lock_timeout
        self._index = None
        self._idle: list[_OpenSearcher] = []  # searchers kept open between queries, none in use
        self._idle_lock = threading.Lock()
        self._pages: OrderedDict[tuple, object] = OrderedDict()  # recent pages of hits (``search``)

    # ---- the folder ----------------------------------------------------------------------

    @contextmanager
    def _folder_lock(self, *, timeout: float | None) -> Iterator[None]:
        """The one writer's lock, for the whole of an update or a rebuild (``timeout`` None:
        wait for it). Raises ``IndexUnavailable`` if the folder cannot be used or the lock is
        held longer than ``timeout``."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = open(self.folder / "consult.lock", "a")  # noqa: SIM115 - closed below, after the lock
        except OSError as error:
            raise IndexUnavailable(f"cannot use the folder {self.folder}: {error.strerror}") from error
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                        raise IndexUnavailable(f"the index is busy (locked for more than {timeout:.0f} s)") from error
                    time.sleep(LOCK_DELAY)
            try:
                yield
            except OSError as error:  # e.g. the folder was made read-only, the disk is full
                raise IndexUnavailable(f"cannot write the index: {error.strerror or error}") from error
            except LockError as error:  # Whoosh's own lock, held by a process outside ours
                raise IndexUnavailable("the index is locked by another writer") from error
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            handle.close()

    def _marker(self) -> Path:
        return self.folder / "consult-index.json"

    def is_current(self) -> bool:
        """Built in full by ``rebuild`` in this format (updates alone never make it current)."""
        try:
            return whoosh_index.exists_in(str(self.folder)) and json.loads(self._marker().read_text()).get("format") == FORMAT
        except (OSError, ValueError):
            return False

    def index(self):
        """The index to read (opened once; a missing one raises ``whoosh.index.EmptyIndexError``)."""
        if self._index is None:
            self._index = whoosh_index.open_dir(str(self.folder))
        return self._index

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob("*") if p.is_file())

    def document_keys(self) -> set[str]:
        with self.index().searcher() as searcher:
            return {fields["key"] for fields in searcher.all_stored_fields()}

    # ---- writing (the job worker, ``consult reindex``) -------------------------------------

    def catch_up(self, session: Session, *, batch: int = 500) -> int:
        """Apply the outbox to the index, oldest rows first, deleting each batch once it is
        written; a missing or outdated index (or a row asking for it) is rebuilt instead.
        Returns how many outbox rows were applied. Commits ``session``."""
        applied = 0
        with self._folder_lock(timeout=self.lock_timeout):
            if not self.is_current():
                return self._rebuild_locked(session)
            while True:
                ids, changes = outbox.pending(session, limit=batch)
                if not ids:
                    session.commit()
                    return applied
                if changes.everything:
                    self._rebuild_locked(session)
                    continue  # it deleted the rows it covered; later ones remain
                index = self.index()
                writer = index.writer(timeout=self.lock_timeout, delay=LOCK_DELAY, codec=ArrayCodec())
                try:
                    with index.searcher() as searcher:
                        plan = documents.plan(
                            session, changes, indexed=lambda cid: searcher.document_number(key=f"consultation:{cid}") is not None
                        )
                    self._write(writer, plan)
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
                outbox.forget(session, ids)
                applied += len(ids)

    @staticmethod
    def _write(writer, plan: Plan) -> None:
        for cid in plan.drop_consultations:
            writer.delete_by_term("consultation", str(cid))
        for cid, kind in plan.drop_kinds:
            writer.delete_by_query(And([Term("consultation", str(cid)), Term("kind", kind)]))
        for thread in plan.drop_threads:
            writer.delete_by_term("thread", str(thread))
        for key in plan.delete_keys:
            writer.delete_by_term("key", key)
        for doc in plan.upserts:
            writer.update_document(**_fields(doc))

    def rebuild(self, session: Session, *, progress: Callable[[int], None] | None = None) -> int:
        """Write every public document afresh and mark the index current (waiting for a writer
        that holds the folder). Returns how many documents. Commits ``session``."""
        with self._folder_lock(timeout=None):
            return self._rebuild_locked(session, progress=progress)

    def _rebuild_locked(self, session: Session, *, progress: Callable[[int], None] | None = None) -> int:
        covered = outbox.all_ids(session)  # before reading the data: what the rebuild will see
        if whoosh_index.exists_in(str(self.folder)) and not self.is_current():
            self._index = None  # another format: start from an empty folder
            for path in self.folder.iterdir():
                if path.name != "consult.lock":
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        if not whoosh_index.exists_in(str(self.folder)):
            whoosh_index.create_in(str(self.folder), schema())
        self._index = whoosh_index.open_dir(str(self.folder))
        writer = self._index.writer(timeout=max(self.lock_timeout, 60.0), delay=0.1, limitmb=256, codec=ArrayCodec())
        per_document_reader = writer.per_document_reader
        writer.per_document_reader = lambda: _LengthsReadOnce(per_document_reader())
        writer.pool = BulkPool(writer.pool, grouped_fields(writer.schema), limit=BULK_POOL_BYTES)
        texts = _TextBatches(writer.pool, writer.schema)
        count = 0
        try:
            for doc in documents.all_documents(session):
                _add_document(writer, _fields(doc), texts)
                count += 1
                if progress and count % 500 == 0:
                    progress(500)
            texts.flush()
            writer.commit(mergetype=writing.CLEAR)
        except BaseException:
            writer.cancel()
            raise
        if progress:
            progress(count % 500)
        self._marker().write_text(json.dumps({"format": FORMAT, "built_at": datetime.now(UTC).isoformat(), "documents": count}))
        outbox.forget(session, covered)  # rows written since stay: applied by the next run
        return count

    # ---- reading -------------------------------------------------------------------------

    def _take_searcher(self) -> _OpenSearcher:
        """An open searcher on the index as it is now, for one query on one thread; give it back
        with ``_give_back`` (or close it).

        Opening a searcher loads every segment (half of a query's time on 100,000 documents), so
        searchers stay open between queries: a few per process, each used by one thread at a time
        (a Whoosh searcher is not safe to share between threads). Before each use it is checked
        against the folder (a directory listing and a ``stat``), so it sees what the job worker,
        another process, wrote: a changed index gets a new reader that keeps the unchanged
        segments open. Raises ``EmptyIndexError`` or ``OSError`` if there is no index to read."""
        with self._idle_lock:
            kept = self._idle.pop() if self._idle else None
        try:
            return _OpenSearcher.current(self.index(), self._marker(), kept)
        except BaseException:
            if kept is not None:
                kept.close()
            raise

    def forget(self) -> None:
        """Drop what this process keeps between queries (open searchers with the arrays read
        from their segments, pages of hits): the next query starts as in a new process."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
            self._pages.clear()
        for kept in idle:
            kept.close()

    def _give_back(self, kept: _OpenSearcher) -> None:
        with self._idle_lock:
            if len(self._idle) < SEARCHERS_KEPT:
                self._idle.append(kept)
                return
        kept.close()

    @staticmethod
    def _parts(parsed: ParsedQuery, group: str) -> list:
        """The query's words and phrases as ``group``'s analyser reduces them, in its fields (a
        word it drops as too common is left out)."""
        title, body = f"title_{group}", f"body_{group}"
        parts = []
        for word in parsed.words:
            terms = analyse(word, group)
            if terms:
                parts.append(Or([Term(title, terms[0]), Term(body, terms[0])]))
        for phrase in parsed.phrases:
            terms = [t for w in phrase for t in analyse(w, group)]
            if len(terms) > 1:
                slop = 1 + len(phrase) - len(terms)
                parts.append(Or([Phrase(title, terms, slop=slop), Phrase(body, terms, slop=slop)]))
            elif terms:
                parts.append(Or([Term(title, terms[0]), Term(body, terms[0])]))
        return parts

    def _query(
        self,
        parsed: ParsedQuery,
        *,
        languages: tuple[str, ...] | None = None,
        first: str = TEXT_LANGUAGE,
        empty: frozenset[str] = frozenset(),
    ):
        """The query in each language searched (every one, unless ``languages``), each looking
        in its own fields: a document matches when all the words, as its language reduces them,
        are in it. Refused when every word is too common in ``first``, the language searched
        first (the reader's, or English), as it was before there were several. A language whose
        fields are all ``empty`` (no document in it) is left out, its analysis not done: a new
        word costs 20-120 µs a language (Arabic's root stemmer the most)."""
        groups = dict.fromkeys(analysis_group(language) for language in languages) if languages else ANALYZERS
        queries = {}
        for group in groups:
            if group != analysis_group(first) and {f"title_{group}", f"body_{group}"} <= empty:
                continue
            parts = self._parts(parsed, group)
            if parts:
                queries[group] = And(parts) if len(parts) > 1 else parts[0]
        if not queries or analysis_group(first) not in queries:
            raise QueryError(_("Those words are too common to search for: add a more specific one."))
        return Or(list(queries.values())) if len(queries) > 1 else next(iter(queries.values()))

    def search(
        self,
        session: Session,
        parsed: ParsedQuery,
        *,
        consultation_ids: set[int] | None,
        kinds: tuple[str, ...] | None,
        page: int,
        per_page: int,
        restrict_consultations: bool = True,
        language: str | None = None,
        reader: str | None = None,
    ):
        from consult.search.services import RawPage

        try:
            kept = self._take_searcher()
        except (EmptyIndexError, OSError):
            kept = None  # no results (below), once the query is known to be one
        try:
            query = self._query(
                parsed,
                languages=(language,) if language else None,
                first=language or reader or TEXT_LANGUAGE,
                empty=kept.empty_fields() if kept is not None else frozenset(),
            )
        except BaseException:
            if kept is not None:
                self._give_back(kept)
            raise
        if kept is None:
            # Not built yet (the worker builds it), or its folder is unreadable: no results rather
            # than an error page.
            log.warning("search index missing or unreadable: no results until the worker rebuilds it")
            return RawPage([], 0)
        if consultation_ids is not None and not consultation_ids:
            self._give_back(kept)
            return RawPage([], 0)
        # Restrictions are intersected lazily in the query (Whoosh's ``filter=`` would first
        # collect every document of the allowed consultations: seconds on 100,000), and score
        # the same for every document, so they do not change the ranking. The index holds public
        # consultations only, so "any public consultation" needs no restriction at all.
        restrict = []
        if restrict_consultations and consultation_ids is not None:
            restrict.append(ConstantScoreQuery(Or([Term("consultation", str(i)) for i in sorted(consultation_ids)])))
        if kinds:
            restrict.append(ConstantScoreQuery(Or([Term("kind", k) for k in kinds])))
        if language:
            restrict.append(ConstantScoreQuery(Term("language", language)))
        query = And([query, *restrict]) if restrict else query
        # The same query on the same index finds the same page of hits, marked the same: kept for
        # the next asker while the index is unchanged (its version is in the key). What the public
        # may read of them is checked against the database for every request anyway (``services``).
        remembered = (
            kept.version,
            repr(parsed),
            tuple(sorted(consultation_ids)) if restrict_consultations and consultation_ids is not None else None,
            kinds,
            language,
            reader if not language else None,
            page,
            per_page,
        )
        with self._idle_lock:
            found = self._pages.get(remembered)
            if found is not None:
                self._pages.move_to_end(remembered)
        if found is not None:
            self._give_back(kept)
            return found
        marker = Marker(parsed)
        searcher = kept.searcher
        query = _prune(query, kept.frequency)
        if query is None:
            self._give_back(kept)
            return RawPage([], 0)
        try:
            # Every match with its score, as arrays (``whoosh_matching``): the total is exact.
            evaluator = whoosh_matching.Evaluator(searcher, kept.frequency)
            matches = evaluator.matches(query)
            # The reader's language first, then the others, each by relevance.
            first = None
            if reader and not language and len(matches):
                ours = evaluator.matches(Term("language", reader), within=matches.ids)
                first = np.isin(matches.ids, ours.ids, assume_unique=True)
            best = whoosh_matching.top(matches, page * per_page, first=first)[(page - 1) * per_page :]
            hits = [
                _raw_hit(evaluator.stored_fields(docnum), score, marker)
                for docnum, score in zip(matches.ids[best].tolist(), matches.scores[best].tolist(), strict=True)
            ]
        except BaseException:
            kept.close()  # it may be half-way through something: not kept
            raise
        self._give_back(kept)
        found = RawPage(hits, len(matches), False)
        with self._idle_lock:
            self._pages[remembered] = found
            while len(self._pages) > PAGES_KEPT:
                self._pages.popitem(last=False)
        return found


def _prune(query, frequency: Callable[[str, str], int]):
    """``query`` without the terms the index does not hold (most languages' fields hold none
    of a query's words): fewer matchers to build and walk. None when nothing can match.
    ``frequency(field, text)``: how many documents hold the term."""
    if isinstance(query, Term):
        return query if frequency(query.fieldname, query.text) else None
    if isinstance(query, Phrase):
        return query if all(frequency(query.fieldname, word) for word in query.words) else None
    if isinstance(query, ConstantScoreQuery):
        child = _prune(query.child, frequency)
        return None if child is None else ConstantScoreQuery(child)
    if isinstance(query, And):
        parts = [_prune(part, frequency) for part in query.subqueries]
        return None if any(part is None for part in parts) else And(parts)
    if isinstance(query, Or):
        parts = [part for part in (_prune(part, frequency) for part in query.subqueries) if part is not None]
        return None if not parts else parts[0] if len(parts) == 1 else Or(parts)
    return query


class _LengthsReadOnce:
    """The new segment's per-document reader, as the writer uses it when it writes the postings:
    it asks the field length of every posting's document (a seek and a one-byte read each, a
    sixth of a rebuild's time); here each field's lengths are read once, whole."""

    def __init__(self, reader):
        self._reader = reader
        self._lengths: dict[str, object] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default=0):
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            column = self._reader._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            lengths = self._lengths[fieldname] = column.load() if column is not None else ()
            if column is None:
                return default
        if not lengths:
            return default
        lbyte = lengths[docnum]
        return byte_to_length(lbyte) if lbyte else None  # as Whoosh's own reader answers

    def __getattr__(self, name: str):
        return getattr(self._reader, name)


class _OpenSearcher:
    """A searcher kept open, and what it was opened on: the index's generation and its marker
    file (a rebuild in another format starts the generations again)."""

    def __init__(self, searcher: Searcher, version: tuple):
        self.searcher = searcher
        self.version = version
        self._frequencies: dict[tuple[str, str], int] = {}
        self._empty: frozenset[str] | None = None

    def empty_fields(self) -> frozenset[str]:
        """The text fields no document has (most languages' on most sites)."""
        if self._empty is None:
            reader, schema = self.searcher.reader(), self.searcher.schema
            self._empty = frozenset(name for name in schema.scorable_names() if not reader.field_length(name))
        return self._empty

    def frequency(self, fieldname: str, text: str) -> int:
        """How many documents hold ``text`` in ``fieldname`` (remembered: the searcher's index
        does not change)."""
        if fieldname in self.empty_fields():
            return 0
        key = (fieldname, text)
        found = self._frequencies.get(key)
        if found is None:
            if len(self._frequencies) >= QUERY_WORDS_KEPT:
                self._frequencies.clear()
            found = self._frequencies[key] = self.searcher.reader().doc_frequency(fieldname, text)
        return found

    @staticmethod
    def _version(index, marker: Path) -> tuple:
        try:
            stat = marker.stat()
            built = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            built = None
        return index.latest_generation(), built

    @classmethod
    def current(cls, index, marker: Path, kept: _OpenSearcher | None) -> _OpenSearcher:
        """``kept`` if the index has not changed since it was opened; otherwise a searcher on
        the index as it is now, with ``kept``'s segment readers for the segments unchanged
        (same segment, same deletions), the others closed. Not ``Searcher.refresh()``: its
        reader kept the segments merged away and the deletions of the old generation, so
        updated documents were found twice."""
        version = cls._version(index, marker)
        if kept is not None and kept.version == version:
            return kept
        for _attempt in range(10):  # a writer may delete a segment's files as we open it
            toc = index._read_toc()
            reusable = {}
            if kept is not None:
                leaves = [leaf for leaf, _offset in kept.searcher.reader().leaf_readers()]
                reusable = {_segment_key(leaf.segment()): leaf for leaf in leaves if leaf.segment() is not None}
            opened = []
            try:
                readers = []
                for segment in toc.segments:
                    leaf = reusable.pop(_segment_key(segment), None)
                    if leaf is None:
                        leaf = SegmentReader(index.storage, toc.schema, segment, generation=toc.generation)
                        opened.append(leaf)
                    readers.append(leaf)
            except OSError:
                for leaf in opened:
                    leaf.close()
                time.sleep(LOCK_DELAY)
                continue
            if not readers:
                reader = EmptyReader(toc.schema)
            elif len(readers) == 1:
                reader = readers[0]
            else:
                reader = MultiReader(readers, generation=toc.generation)
            for leaf in reusable.values():
                _close_leaf(leaf)
            return cls(Searcher(reader, fromindex=index), version)
        raise OSError(errno.EIO, "the index kept changing while it was opened")

    def close(self) -> None:
        for leaf, _offset in self.searcher.reader().leaf_readers():
            leaf.__dict__.pop("_consult_arrays", None)  # what ``whoosh_matching`` kept: freed now, not by the cycle collector
        self.searcher.close()


def _close_leaf(leaf) -> None:
    leaf.__dict__.pop("_consult_arrays", None)
    leaf.close()


def _segment_key(segment) -> tuple:
    return segment.segment_id(), segment.deleted_count()


def _raw_hit(fields: dict, score: float, marker: Marker):
    from consult.search.services import RawHit

    language = fields.get("language") or TEXT_LANGUAGE
    group = analysis_group(language)
    body, title = fields.get("body") or "", fields.get("title") or ""
    snippet = marker.mark(body, group) or escape(body[:SNIPPET_CHARS] + ("…" if len(body) > SNIPPET_CHARS else ""))
    title_html = marker.mark(title, group, top=3) or escape(title)
    return RawHit(
        key=fields["key"],
        kind=fields["kind"],
        consultation_id=int(fields["consultation"]),
        section_key=fields.get("section"),
        ref_id=fields.get("ref"),
        date=fields["date"].replace(tzinfo=UTC),
        title_html=Markup(title_html),
        snippet_html=Markup(snippet),
        score=score,
        language=language,
    )
