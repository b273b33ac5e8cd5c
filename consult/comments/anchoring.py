"""Text anchors of annotations, and re-anchoring them onto the next version of a policy.

An annotation points at words of one section. Its anchor records the section key, the
offsets of the selection in the section's anchor text, the selected words (``exact``) and up
to :data:`CONTEXT_LENGTH` characters on either side (``prefix``, ``suffix``), as the W3C Web
Annotation TextPositionSelector and TextQuoteSelector do. The anchor text of a section is
``text_content(render_markdown(body))``: the DOM ``textContent`` of the rendered body, with
offsets counted in code points (Python ``str`` indices).

When a new version is published, :func:`reanchor` places every anchor in it; its docstring
lists the rules. Pure Python plus rapidfuzz, which gives C speed for the diffs and the fuzzy
search. No Flask, no database.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Final

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, LCSseq

__all__ = [
    "CONTEXT_LENGTH",
    "CONTEXT_THRESHOLD",
    "FUZZY_SEARCH_CUTOFF",
    "FUZZY_THRESHOLD",
    "MAX_QUOTE_LENGTH",
    "MIN_FUZZY_CHARACTERS",
    "MIN_WORD_COVERAGE",
    "MOVED_FROM_A_KEPT_SECTION_THRESHOLD",
    "SHORT_QUOTE_LENGTH",
    "SMALL_EDIT_THRESHOLD",
    "SPAN_CHARACTER_COST",
    "AnchorState",
    "Placement",
    "TextAnchor",
    "locate_quote",
    "normalise_space",
    "quote_context",
    "reanchor",
]

CONTEXT_LENGTH: Final = 32
"""Code points of context kept on each side of a quote (prefix before, suffix after)."""

MAX_QUOTE_LENGTH: Final = 2_000
"""Longest quote :func:`locate_quote` accepts, in code points. Callers must cap selections.

A search costs more as the quote gets longer, and a fuzzy search most of all. 2,000
characters is about a page, more than any sensible annotation, so the comment API must
refuse longer selections. If a longer quote is already stored, :func:`reanchor` places it
through the diff only (rule 1) and orphans it otherwise.
"""

MIN_FUZZY_CHARACTERS: Final = 4
"""A quote with fewer non-space characters is placed exactly or not at all. Something like
"a", "the" or "20" resembles something in any text, so a fuzzy match would mean nothing."""

FUZZY_THRESHOLD: Final = 75.0
"""Minimum ``fuzz.ratio`` (0-100) between the quote and the span chosen for it.

``ratio`` is 2 x characters matched in order / both lengths. At 75, three quarters of the
quote survive, and the span is 0.6x-1.67x the quote's length (at 0.6x, all of the span
matches). Only spans in that range are considered; that is stricter than 0.5x-2x. In the demo
policy, the sentences reworded between draft and final that the tests use score 77-97:
"$9 billion ... 50,000 transactions." -> "$6 billion ... 42,000 transactions." scores 97 and
"Communities can be used to monitor" -> "Communities help monitor" 93. Unrelated sentences of
similar length score 28-46 (5th-95th percentile). Against a whole section, a quote of 3-25
words from the draft's removed pages still finds a window scoring 61 or more one time in
four, and 79 or more one time in twenty. So the threshold is not set lower, and
:data:`MIN_WORD_COVERAGE` and :data:`SHORT_QUOTE_LENGTH` add conditions.
"""

FUZZY_SEARCH_CUTOFF: Final = 60.0
"""Minimum ``partial_ratio`` (0-100) a section's best window needs before it is refined into
a span.

This is a search cutoff, and it is below :data:`FUZZY_THRESHOLD` on purpose.
``partial_ratio`` compares the quote with windows of the quote's own length. If words were
deleted, a passage at the threshold can be 0.6x the quote's length, and a quote-length window
around it then scores 60. If words were inserted, the window misses some of the passage. In
both cases the window scores below the passage. A cutoff of 70 would skip "each covered agency
must" -> "each agency must" (passage 80, window 67).
"""

MIN_WORD_COVERAGE: Final = 0.6
"""Share of the quote's distinct words (case-folded ``\\w+`` runs) a fuzzy span must contain.

Character similarity alone can make unrelated words look alike: their letters line up, but
the words differ. The rule asks for more than half of the words because short words such as
"the", "of" and "to" are everywhere. It also gives an exact pre-filter. A section without 60%
of the quote's words cannot hold a span that has them, so its ``partial_ratio``, the costly
step, is never computed. On the demo policy, 60% roughly halves the number of fuzzy searches
compared with 50%. The reworded sentences above keep 72-88% of their words.
"""

MOVED_FROM_A_KEPT_SECTION_THRESHOLD: Final = 80.0
"""Minimum ``fuzz.ratio`` for reworded words to count as moved to another section while
their own section is still in the new version. There, words missing from it were more likely
taken out, and a similar phrase elsewhere is another sentence: an amendment that replaced
"at least 20 percent of its newly-developed custom code each year as OSS" in the pilot
section left a 76 match in the introduction ("at least 20 percent of their newly-developed
custom code, in addition to..."), which is not where the comment's words went. The real
final policy's reworded move out of "Implementation" scores 85."""

SHORT_QUOTE_LENGTH: Final = CONTEXT_LENGTH
"""A quote shorter than this (after :func:`normalise_space`) is matched fuzzily only if its
context also matches (:data:`CONTEXT_THRESHOLD`). A few words on their own resemble too
many places."""

SMALL_EDIT_THRESHOLD: Final = 85.0
"""Minimum ``fuzz.ratio`` at which a short quote, found where the diff maps it (rule 3), is a
small edit of itself and is placed there without its context matching.

Without it, "At least 2 metres wide." as a whole section, edited to "2.5 metres", had no
context to compare and was orphaned (score 96); so were edits whose neighbouring words changed
too. The diff is the evidence instead: the span lies where the quote's own characters went.
Measured on the demo policy (random quotes of 1-6 words of the draft placed on the final
policy, 10 seeds, whose context did not match): of the 90 distinct quotes this accepts at 85
or more, every one was the quote's own words lightly edited ("Systems, agencies shall follow"
-> "NSS, agencies shall follow" 86, "public's knowledge for" -> "public’s knowledge to" 90,
"does not require that existing" -> "do not require that existing" 97). Of the 56 more it
would accept between 75 and 85, 8 were other words of a rewritten sentence ("Federal
Government agreement." -> "Federal Government-wide reuse." 78, "policy apply to all covered"
-> "policy apply to source" 78), so below 85 the context must still match.
"""

CONTEXT_THRESHOLD: Final = 75.0
"""Minimum context score (0-100, see ``_context_score``) for the old and new prefix and
suffix to count as matching."""

SPAN_CHARACTER_COST: Final = 0.25
"""Sets where a fuzzy span's ends fall. The span maximises the number of quote characters it
matches in order, minus SPAN_CHARACTER_COST x its own length (ties go to the shorter span).

The span therefore takes in inserted words when the text after them goes on matching the
quote, and stops where the text stops resembling it. Plain similarity would rather cut a
reworded passage short. Take the quote "Source code for national security systems is exempt
from this policy." and the new text "Source code developed for National Security Systems is
exempt from the requirements of this policy.": ``fuzz.ratio`` is highest (81) for the new
text cut after "exempt from the", but this rule runs the span on to "this policy.". The value
0.25 was tuned on the demo policy's reworded sentences. At 0.2, neighbouring words creep in
("encouraged." from the previous sentence before "The agencies' Chief Information
Officers..."). At 0.3, spans are cut shorter ("agencies are encouraged to evaluate safe and
secure cloud computing options..." loses "agencies are"). The ends remain approximate: at 0.25
that sentence also takes in "strategy," from before it.
"""

_MIN_LENGTH_RATIO: Final = FUZZY_THRESHOLD / (200 - FUZZY_THRESHOLD)  # 0.6
_MAX_LENGTH_RATIO: Final = (200 - FUZZY_THRESHOLD) / FUZZY_THRESHOLD  # 1.67

_SPACE_RUN: Final = re.compile(r"\s+")
_TOKEN: Final = re.compile(r"\w+(?:(?:[-'’/@]|\.(?!\d)|(?<=\d)[.,](?=\d))\w+)*|[^\w\s]")
"""A word (compounds such as "custom-developed", "Code.gov", "agency’s", "42,000" stay whole;
a full stop before a digit, usually a footnote number, is not part of a word), or one other
non-space character."""
_TERM: Final = re.compile(r"\w+")
_CLOSING: Final = frozenset(".,;:!?)]}%\"'’”»…")
"""Punctuation a fuzzy span may end on."""
_SENTENCE_BREAK: Final = re.compile(r"(?<=[.!?…])[\"'’”)\]]*\d*(?P<gap>\s+)|(?P<line>\s*\n\s*)")
"""Where a quote may be cut into sentences: the whitespace after a full stop, question or
exclamation mark (and any closing quotation mark, bracket or glued footnote number), or a line
break (paragraphs, list items). ``_sentences`` cuts after a mark only before a capital letter
or a digit, so "U.S.C. §3502" and "e.g. the" stay whole."""


# --- quotes ---------------------------------------------------------------------------


def normalise_space(text: str) -> str:
    """Collapse every run of whitespace to one space and strip both ends."""
    return " ".join(text.split())


class _SpacedText:
    """A text with each run of whitespace collapsed to one space, plus a map back to the
    original offsets.

    ``str.find`` of the normalised quote in the collapsed text finds exactly what a regular
    expression of the quote's escaped words joined by ``\\s+`` would find. Both use the same
    notion of whitespace: ``str.split`` and ``re``'s ``\\s`` both follow ``str.isspace``. But
    this way no pattern is compiled per quote. ``re``'s compiler is pure Python and takes
    about 0.2 ms for a sentence, which was most of the time spent re-anchoring thousands of
    annotations.
    """

    def __init__(self, text: str) -> None:
        self.collapsed = _SPACE_RUN.sub(" ", text)
        self._run_positions: list[int] = []  # where each run's single space is in `collapsed`
        self._run_starts: list[int] = []  # where each run starts in the original text
        self._run_ends: list[int] = []  # where each run ends in the original text
        removed = 0
        for run in _SPACE_RUN.finditer(text):
            start, end = run.span()
            self._run_positions.append(start - removed)
            self._run_starts.append(start)
            self._run_ends.append(end)
            removed += end - start - 1

    def original(self, offset: int) -> int:
        """The offset in the original text of an offset in the collapsed one."""
        run = bisect_left(self._run_positions, offset) - 1
        if run < 0:
            return offset
        return self._run_ends[run] + (offset - self._run_positions[run] - 1)

    def collapsed_offset(self, offset: int) -> int:
        """The offset in the collapsed text of an offset in the original one (inside a run of
        whitespace: just after its single space)."""
        run = bisect_left(self._run_starts, offset) - 1  # the last run starting before the offset
        if run < 0:
            return offset
        return self._run_positions[run] + 1 + max(0, offset - self._run_ends[run])

    def find_all(self, normalised_quote: str) -> list[tuple[int, int]]:
        """(start, end) in the original text of each non-overlapping occurrence, in order."""
        found = []
        index = self.collapsed.find(normalised_quote)
        while index >= 0:
            end = index + len(normalised_quote)
            found.append((self.original(index), self.original(end)))
            index = self.collapsed.find(normalised_quote, end)
        return found


@functools.lru_cache(maxsize=64)
def _spaced(text: str) -> _SpacedText:
    """Cached: an annotation API locating quotes keeps meeting the same few section texts."""
    return _SpacedText(text)


def locate_quote(text: str, quote: str, *, near: int | None = None) -> tuple[int, int] | None:
    """Find ``quote`` in ``text``, ignoring differences in whitespace, and return (start, end).

    A browser's ``selection.toString()`` breaks lines differently from ``textContent``. So any
    run of whitespace in the quote matches any run of one or more whitespace characters in the
    text, and whitespace at either end of the quote is ignored. Case matters. If the quote
    occurs several times, the occurrence whose start is nearest to ``near`` wins (the earlier
    one on a tie); without ``near``, the first occurrence wins. An empty or whitespace-only
    quote is never found.

    The quote can be at most :data:`MAX_QUOTE_LENGTH` characters; a longer one raises
    ``ValueError``.
    """
    if len(quote) > MAX_QUOTE_LENGTH:
        raise ValueError(f"quote longer than {MAX_QUOTE_LENGTH} characters")
    normalised = normalise_space(quote)
    found = _spaced(text).find_all(normalised) if normalised else []
    if not found:
        return None
    if near is None:
        return found[0]
    return min(found, key=lambda span: abs(span[0] - near))


def quote_context(text: str, start: int, end: int) -> tuple[str, str]:
    """Return (prefix, suffix): up to :data:`CONTEXT_LENGTH` code points before ``start`` and
    after ``end``."""
    return text[max(0, start - CONTEXT_LENGTH) : start], text[end : end + CONTEXT_LENGTH]


# --- anchors and placements -----------------------------------------------------------


@dataclass(frozen=True)
class TextAnchor:
    """Where an annotation points: ``text[start:end] == exact`` in the section's anchor text."""

    section_key: str
    start: int
    end: int
    exact: str
    prefix: str
    suffix: str


class AnchorState(StrEnum):
    """What happened to an anchor's text in the new version."""

    ANCHORED = "anchored"
    """The same words, in the same section."""
    CHANGED = "changed"
    """Reworded, in the same section."""
    MOVED = "moved"
    """In another section, in the same or other words (see ``Placement.score``)."""
    ORPHANED = "orphaned"
    """Not found: the passage was removed or rewritten beyond recognition."""


@dataclass(frozen=True)
class Placement:
    """Where an anchor lands in the new version.

    ``exact`` is the text now at ``start:end`` of section ``section_key``, and ``prefix``
    and ``suffix`` are its new context, so the placement can serve as the anchor for the
    version after. An orphaned placement has no section, no offsets, no text and empty
    context. ``score`` is 1.0 for exact matches, the fuzzy similarity (0-1) for reworded
    text, and 0.0 for orphans.
    """

    state: AnchorState
    section_key: str | None
    start: int | None
    end: int | None
    exact: str | None
    prefix: str
    suffix: str
    score: float

    def as_anchor(self) -> TextAnchor | None:
        """The anchor to keep for this placement; None when orphaned."""
        if self.section_key is None or self.start is None or self.end is None or self.exact is None:
            return None
        return TextAnchor(self.section_key, self.start, self.end, self.exact, self.prefix, self.suffix)


_ORPHANED: Final = Placement(AnchorState.ORPHANED, None, None, None, None, "", "", 0.0)


# --- rule 1: offsets through the diff -------------------------------------------------


class _OffsetMap:
    """Maps offsets in an old section text to the new text through a character diff.

    The diff is ``rapidfuzz.distance.Indel.opcodes`` (longest common subsequence,
    bit-parallel C). It is computed once per section and reused for every anchor in that
    section. An offset inside unchanged text moves with that text. Inside deleted or replaced
    text, a start maps to the beginning of what took its place and an end to the end of it.
    A start belongs to the block it begins, so an insertion just before a quote stays out of
    it. An end belongs to the block it closes, so an insertion just after stays out too.
    """

    def __init__(self, old: str, new: str) -> None:
        self.old_length, self.new_length = len(old), len(new)
        self.identical = old == new
        blocks = [] if self.identical else [op for op in Indel.opcodes(old, new) if op.src_start < op.src_end]
        self.src_starts = [op.src_start for op in blocks]
        self.src_ends = [op.src_end for op in blocks]
        self.blocks = [(op.tag == "equal", op.src_start, op.dest_start, op.dest_end) for op in blocks]

    def start(self, offset: int) -> int:
        if self.identical:
            return min(offset, self.new_length)
        if offset >= self.old_length or not self.blocks:
            return self.new_length
        equal, src_start, dest_start, _ = self.blocks[bisect_right(self.src_starts, max(offset, 0)) - 1]
        return dest_start + (offset - src_start) if equal else dest_start

    def end(self, offset: int) -> int:
        if self.identical:
            return min(offset, self.new_length)
        if offset <= 0 or not self.blocks:
            return 0
        if offset > self.old_length:
            return self.new_length
        equal, src_start, dest_start, dest_end = self.blocks[bisect_left(self.src_ends, offset)]
        return dest_start + (offset - src_start) if equal else dest_end


# --- rules 2 to 7: searching the new version ------------------------------------------


def _sentences(exact: str) -> list[str]:
    """The quote's sentences (see ``_SENTENCE_BREAK``), normalised, without empty ones."""
    pieces, start = [], 0
    for cut in _SENTENCE_BREAK.finditer(exact):
        if cut["gap"] is not None:
            following = exact[cut.end() : cut.end() + 2].lstrip("\"'‘“([")[:1]
            if not (following.isupper() or following.isdigit()):
                continue
        gap = cut.span("gap") if cut["gap"] is not None else cut.span("line")
        pieces.append(exact[start : gap[0]])
        start = gap[1]
    pieces.append(exact[start:])
    return [normalised for piece in pieces if (normalised := normalise_space(piece))]


def _terms(text: str) -> frozenset[str]:
    """The distinct case-folded ``\\w+`` runs of a text: what word coverage counts."""
    return frozenset(_TERM.findall(text.casefold()))


def _cuts_a_word(text: str, offset: int) -> bool:
    """Whether ``offset`` falls inside a word or a number ("2|.5", "2.|5", "wor|d")."""
    if offset <= 0 or offset >= len(text):
        return False
    before, after = text[offset - 1], text[offset]
    if _TERM.match(before) and _TERM.match(after):
        return True
    return (before.isdigit() and after in ".," and text[offset + 1 : offset + 2].isdigit()) or (
        before in ".," and after.isdigit() and text[offset - 2 : offset - 1].isdigit()
    )


def _keeps_word_ends(anchor: TextAnchor, text: str, start: int, end: int) -> bool:
    """Whether an occurrence at start:end of ``text`` cuts no word or number that the anchor's
    quote did not already cut in the old text."""
    return (not _cuts_a_word(text, start) or _cuts_a_word(anchor.prefix + anchor.exact, len(anchor.prefix))) and (
        not _cuts_a_word(text, end) or _cuts_a_word(anchor.exact + anchor.suffix, len(anchor.exact))
    )


@dataclass(frozen=True)
class _Quote:
    """An anchor's ``exact``, prepared once however many anchors share it."""

    exact: str
    normalised: str  # normalise_space(exact): what is searched for and compared
    terms: frozenset[str]
    fuzzy: bool  # long enough (MIN_FUZZY_CHARACTERS) and made of words: may match fuzzily

    @classmethod
    def of(cls, exact: str) -> _Quote:
        normalised = normalise_space(exact)
        terms = _terms(normalised)
        long_enough = len(normalised.replace(" ", "")) >= MIN_FUZZY_CHARACTERS
        return cls(exact, normalised, terms, long_enough and bool(terms))

    def covered_by(self, terms: frozenset[str]) -> bool:
        """Whether ``terms`` hold :data:`MIN_WORD_COVERAGE` of the quote's terms."""
        return len(self.terms & terms) >= MIN_WORD_COVERAGE * len(self.terms)


class _Section:
    """A section of the new version: its text, its collapsed text and, when needed, its
    tokens and terms.

    Fuzzy matching works on the collapsed text (one space per whitespace run), so a paragraph
    break counts the same as a space; offsets are mapped back at the end. Tokens are words and
    single punctuation marks (see ``_TOKEN``). A fuzzy span starts on a word and ends on a word
    or on closing punctuation. So the new ``exact`` never cuts a word or compound in two and
    never ends on an opening bracket, and it can end on the full stop before a glued footnote
    number ("transactions.1").
    """

    def __init__(self, key: str, text: str) -> None:
        self.key, self.text = key, text
        self.spaced = _spaced(text)

    @functools.cached_property
    def tokens(self) -> tuple[list[int], list[int], list[bool], list[bool]]:
        """(starts, ends, can_start, can_end) of the tokens of the collapsed text."""
        matches = list(_TOKEN.finditer(self.spaced.collapsed))
        can_start = [_TERM.match(m.group()) is not None for m in matches]
        can_end = [word or m.group() in _CLOSING for word, m in zip(can_start, matches, strict=True)]
        return [m.start() for m in matches], [m.end() for m in matches], can_start, can_end

    @functools.cached_property
    def terms(self) -> frozenset[str]:
        return _terms(self.text)


@dataclass(frozen=True)
class _FuzzyHit:
    """The span of a section chosen for a quote (before any context check)."""

    start: int  # offsets in the section's text, not in its collapsed text
    end: int
    score: float  # fuzz.ratio of the normalised quote and the span, 0-100


def _fuzzy_hit(quote: _Quote, section: _Section, *, seed: int | None = None) -> _FuzzyHit | None:
    """The span of ``section`` that best corresponds to ``quote``, if it is similar enough.

    The caller has checked that the section holds :data:`MIN_WORD_COVERAGE` of the quote's
    terms.

    1. ``partial_ratio_alignment`` finds the best window of the quote's length (search
       cutoff :data:`FUZZY_SEARCH_CUTOFF`), unless ``seed`` (an offset in the collapsed
       text) says where to look: where the diff maps the quote's start (rule 3 of
       :func:`reanchor`).
    2. The span's ends come from the token boundaries where a span can start and end (see
       :class:`_Section`), with the span 0.6x-1.67x the quote's length (see
       :data:`FUZZY_THRESHOLD`). Starting from the word the window (or the seed) is in, it
       takes the end with the best :data:`SPAN_CHARACTER_COST` gain, then the best start for
       that end, then the best end for that start.
    3. The span is accepted when its ``fuzz.ratio`` with the quote reaches
       :data:`FUZZY_THRESHOLD` and it contains :data:`MIN_WORD_COVERAGE` of the quote's
       terms.
    """
    collapsed, target = section.spaced.collapsed, quote.normalised
    starts, ends, can_start, can_end = section.tokens
    if seed is None:
        window = fuzz.partial_ratio_alignment(target, collapsed, score_cutoff=FUZZY_SEARCH_CUTOFF)
        seed = window.dest_start if window is not None else None
    if seed is None or not starts:
        return None
    shortest, longest = len(target) * _MIN_LENGTH_RATIO, len(target) * _MAX_LENGTH_RATIO

    def gain(first: int, last: int) -> float:
        span = collapsed[starts[first] : ends[last]]
        return LCSseq.similarity(target, span) - SPAN_CHARACTER_COST * len(span)

    def best_last(first: int) -> int | None:
        """The best token to end a span that starts at token ``first``."""
        low = max(first, bisect_left(ends, starts[first] + shortest))
        high = bisect_right(ends, starts[first] + longest)
        candidates = [last for last in range(low, high) if can_end[last]]
        return max(candidates, key=lambda last: gain(first, last), default=None)  # ties: shortest

    def best_first(last: int) -> int | None:
        """The best token to start a span that ends at token ``last``."""
        low = bisect_left(starts, ends[last] - longest)
        high = min(last + 1, bisect_right(starts, ends[last] - shortest))
        candidates = [first for first in reversed(range(low, high)) if can_start[first]]
        return max(candidates, key=lambda first: gain(first, last), default=None)  # ties: shortest

    first = min(bisect_right(ends, seed), len(starts) - 1)  # the token the window starts in
    while first >= 0 and not can_start[first]:
        first -= 1
    if first < 0 or (last := best_last(first)) is None:
        return None
    if (first := best_first(last)) is None or (last := best_last(first)) is None:
        return None

    span = collapsed[starts[first] : ends[last]]
    score = fuzz.ratio(target, span)
    if score < FUZZY_THRESHOLD or not quote.covered_by(_terms(span)):
        return None
    original = section.spaced.original
    return _FuzzyHit(original(starts[first]), original(ends[last]), score)


def _context_score(anchor: TextAnchor, text: str, start: int, end: int) -> float:
    """How well the anchor's prefix and suffix match the text around start:end, 0-100.

    The prefixes are compared (``fuzz.ratio``) over their common length, taking the
    characters nearest the quote, and the suffixes likewise. The two scores are averaged,
    weighted by those lengths. Each whitespace run counts as one space. With nothing to
    compare, because the quote sits at the edge of its section in either version, the score
    is 0: no evidence.
    """
    before, after = quote_context(text, start, end)
    old_before, new_before = _SPACE_RUN.sub(" ", anchor.prefix), _SPACE_RUN.sub(" ", before)
    old_after, new_after = _SPACE_RUN.sub(" ", anchor.suffix), _SPACE_RUN.sub(" ", after)
    width_before = min(len(old_before), len(new_before))
    width_after = min(len(old_after), len(new_after))
    if width_before + width_after == 0:
        return 0.0
    score_before = fuzz.ratio(old_before[len(old_before) - width_before :], new_before[len(new_before) - width_before :])
    score_after = fuzz.ratio(old_after[:width_after], new_after[:width_after])
    return (score_before * width_before + score_after * width_after) / (width_before + width_after)


class _Reanchoring:
    """One :func:`reanchor` call: the texts, and what is worth computing only once.

    Cached: the diff of each old/new section pair; the collapsed text, tokens and terms of
    each new section; and for each distinct quote, its normalised form, its exact
    occurrences, the sections that pass the word-coverage pre-filter, and its fuzzy hit in
    each of them. Many annotations select the same sentence.

    Exact occurrences are found in one pass over the collapsed sections joined by "\\n". A
    normalised quote never contains "\\n", so a match can never cross from one section into
    the next.
    """

    def __init__(self, old_texts: Mapping[str, str], new_texts: Mapping[str, str]) -> None:
        self.old_texts = old_texts
        self.sections = {key: _Section(key, text) for key, text in new_texts.items()}  # in order
        self.joined = "\n".join(section.spaced.collapsed for section in self.sections.values())
        self.section_starts: list[int] = []  # where each section begins in `joined`
        offset = 0
        for section in self.sections.values():
            self.section_starts.append(offset)
            offset += len(section.spaced.collapsed) + 1
        self._maps: dict[str, _OffsetMap] = {}
        self._quotes: dict[str, _Quote] = {}
        self._found: dict[str, list[tuple[str, int, int]]] = {}
        self._candidates: dict[str, list[str]] = {}
        self._fuzzy: dict[tuple[str, str], _FuzzyHit | None] = {}

    # -- the caches

    def offset_map(self, key: str) -> _OffsetMap:
        if key not in self._maps:
            self._maps[key] = _OffsetMap(self.old_texts[key], self.sections[key].text)
        return self._maps[key]

    def quote(self, exact: str) -> _Quote:
        if exact not in self._quotes:
            self._quotes[exact] = _Quote.of(exact)
        return self._quotes[exact]

    def occurrences(self, quote: _Quote) -> list[tuple[str, int, int]]:
        """(key, start, end) of every exact occurrence in the new version, in document order."""
        if quote.exact not in self._found:
            found = []
            keys = list(self.sections)
            index = self.joined.find(quote.normalised)
            while index >= 0:
                end = index + len(quote.normalised)
                number = bisect_right(self.section_starts, index) - 1
                section, base = self.sections[keys[number]], self.section_starts[number]
                found.append((section.key, section.spaced.original(index - base), section.spaced.original(end - base)))
                index = self.joined.find(quote.normalised, end)
            self._found[quote.exact] = found
        return self._found[quote.exact]

    def fuzzy_candidates(self, quote: _Quote) -> list[str]:
        """Keys of the sections that hold :data:`MIN_WORD_COVERAGE` of the quote's terms."""
        if quote.exact not in self._candidates:
            self._candidates[quote.exact] = [k for k, s in self.sections.items() if quote.covered_by(s.terms)]
        return self._candidates[quote.exact]

    def fuzzy_hit(self, quote: _Quote, key: str) -> _FuzzyHit | None:
        if (quote.exact, key) not in self._fuzzy:
            self._fuzzy[quote.exact, key] = _fuzzy_hit(quote, self.sections[key])
        return self._fuzzy[quote.exact, key]

    # -- the rules

    def place(self, anchor: TextAnchor) -> Placement:
        """The rules of :func:`reanchor`, in order."""
        key = anchor.section_key
        same_section = key in self.sections
        near = anchor.start
        quote = self.quote(anchor.exact) if len(anchor.exact) <= MAX_QUOTE_LENGTH else None
        if same_section and key in self.old_texts:  # rule 1
            mapping = self.offset_map(key)
            start, end = mapping.start(anchor.start), mapping.end(anchor.end)
            text = self.sections[key].text
            if anchor.exact and text[start : max(start, end)] == anchor.exact and self.keeps_word_ends(anchor, quote, text, start, end):
                return self.placed(AnchorState.ANCHORED, key, start, end, 1.0)
            near = start
        if quote is None or not quote.normalised:
            return _ORPHANED
        if same_section and (span := self.exact_in_section(anchor, quote, near)):  # rule 2
            return self.placed(AnchorState.ANCHORED, key, *span, 1.0)
        if same_section and key in self.old_texts and (hit := self.edited_in_place(anchor, quote, near)):  # rule 3
            return self.placed(AnchorState.CHANGED, key, hit.start, hit.end, hit.score / 100)
        if found := self.exact_elsewhere(anchor, quote):  # rule 4
            return self.placed(AnchorState.MOVED, *found, 1.0)
        if quote.fuzzy:  # rule 5
            if same_section and (hit := self.accepted_hit(anchor, quote, key)):
                return self.placed(AnchorState.CHANGED, key, hit.start, hit.end, hit.score / 100)
            if (elsewhere := self.fuzzy_elsewhere(anchor, quote)) and (
                not same_section or elsewhere[1].score >= MOVED_FROM_A_KEPT_SECTION_THRESHOLD
            ):
                other_key, hit = elsewhere
                return self.placed(AnchorState.MOVED, other_key, hit.start, hit.end, hit.score / 100)
        if placed := self.sentence_by_sentence(anchor, quote, near if same_section else None):  # rule 6
            return placed
        return _ORPHANED  # rule 7

    def placed(self, state: AnchorState, key: str, start: int, end: int, score: float) -> Placement:
        text = self.sections[key].text
        return Placement(state, key, start, end, text[start:end], *quote_context(text, start, end), score)

    @staticmethod
    def keeps_word_ends(anchor: TextAnchor, quote: _Quote | None, text: str, start: int, end: int) -> bool:
        """Rules 1, 2 and 4 accept an exact occurrence only if it cuts no word or number that the
        quote did not cut in the old text: "at least 2" is not unchanged in "at least 2.5 metres",
        the number was edited (rules 3 and 5 find it, CHANGED). A quote too short to match
        fuzzily (:data:`MIN_FUZZY_CHARACTERS`, such as "20") has no better place to go and
        keeps its exact occurrence; so does an overlong one (rule 1 only)."""
        return quote is None or not quote.fuzzy or _keeps_word_ends(anchor, text, start, end)

    def exact_in_section(self, anchor: TextAnchor, quote: _Quote, near: int) -> tuple[int, int] | None:
        """Rule 2: the occurrence nearest ``near``, among those in matching context if any."""
        text = self.sections[anchor.section_key].text
        found = [
            (start, end)
            for key, start, end in self.occurrences(quote)
            if key == anchor.section_key and self.keeps_word_ends(anchor, quote, text, start, end)
        ]
        if len(found) > 1:
            in_context = [span for span in found if _context_score(anchor, text, *span) >= CONTEXT_THRESHOLD]
            found = in_context or found
        return min(found, key=lambda span: abs(span[0] - near), default=None)

    def edited_in_place(self, anchor: TextAnchor, quote: _Quote, mapped: int) -> _FuzzyHit | None:
        """Rule 3: the span the diff maps the quote to, if it is a reworded form of the quote.
        A short quote also needs its context, unless the span is a small edit of it
        (:data:`SMALL_EDIT_THRESHOLD`)."""
        if not quote.fuzzy or anchor.section_key not in self.fuzzy_candidates(quote):
            return None
        section = self.sections[anchor.section_key]
        hit = _fuzzy_hit(quote, section, seed=section.spaced.collapsed_offset(mapped))
        if hit is None or len(quote.normalised) >= SHORT_QUOTE_LENGTH or hit.score >= SMALL_EDIT_THRESHOLD:
            return hit
        return hit if _context_score(anchor, section.text, hit.start, hit.end) >= CONTEXT_THRESHOLD else None

    def sentence_by_sentence(self, anchor: TextAnchor, quote: _Quote, near: int | None) -> Placement | None:
        """Rule 6: every sentence of the quote, found in one section, and the span that covers
        them. The anchor's own section is tried first (CHANGED), then the others (MOVED), where
        the best score wins (ties: document order)."""
        pieces = [self.quote(piece) for piece in _sentences(anchor.exact)]
        if len(pieces) < 2:
            return None
        key = anchor.section_key
        if key in self.sections and (found := self.sentences_in(pieces, quote, key, near)):
            return self.placed(AnchorState.CHANGED, key, *found)
        best: tuple[float, str, int, int] | None = None
        for other in self.fuzzy_candidates(quote):  # a section holding every sentence holds the quote's words
            if other != key and (found := self.sentences_in(pieces, quote, other, None)):
                if best is None or found[2] > best[0]:
                    best = (found[2], other, found[0], found[1])
        if best is None or (key in self.sections and best[0] < MOVED_FROM_A_KEPT_SECTION_THRESHOLD / 100):
            return None
        return self.placed(AnchorState.MOVED, best[1], best[2], best[3], best[0])

    def sentences_in(self, pieces: list[_Quote], quote: _Quote, key: str, near: int | None) -> tuple[int, int, float] | None:
        """(start, end, score) of the span of section ``key`` that covers every sentence of the
        quote, if each is found and the score reaches :data:`FUZZY_THRESHOLD` (rule 6 of
        :func:`reanchor`).

        A sentence is found exactly (whitespace aside) or, if it is at least
        :data:`SHORT_QUOTE_LENGTH` long, by the fuzzy search of rule 5 in this section. The
        score is ``fuzz.ratio``'s formula with the order of the sentences left free: 2 x the
        characters matched, sentence by sentence, / (quote length + span length).
        """
        section = self.sections[key]
        spans = [[(start, end) for k, start, end in self.occurrences(piece) if k == key] for piece in pieces]
        reworded = [n for n, found in enumerate(spans) if not found]
        if any(len(pieces[n].normalised) < SHORT_QUOTE_LENGTH or key not in self.fuzzy_candidates(pieces[n]) for n in reworded):
            return None  # checked before any fuzzy search, the costly step
        for n in reworded:
            if (hit := self.fuzzy_hit(pieces[n], key)) is None:
                return None
            spans[n] = [(hit.start, hit.end)]
        # The longest sentence is placed first (nearest the diff's position); each other one at
        # its occurrence nearest to it, which keeps the covering span small.
        longest = max(range(len(pieces)), key=lambda n: len(pieces[n].normalised))
        centre = min(spans[longest], key=lambda span: abs(span[0] - near)) if near is not None else spans[longest][0]
        chosen = [min(found, key=lambda span: abs(span[0] - centre[0])) for found in spans]
        ordered = sorted(chosen)
        if any(a[1] > b[0] for a, b in pairwise(ordered)):
            return None  # two sentences on the same words
        start, end = ordered[0][0], max(span[1] for span in ordered)
        collapsed = section.spaced.collapsed_offset
        matched = sum(
            LCSseq.similarity(piece.normalised, normalise_space(section.text[a:b])) for piece, (a, b) in zip(pieces, chosen, strict=True)
        )
        score = 2 * matched / (len(quote.normalised) + collapsed(end) - collapsed(start))
        return (start, end, score) if score * 100 >= FUZZY_THRESHOLD else None

    def exact_elsewhere(self, anchor: TextAnchor, quote: _Quote) -> tuple[str, int, int] | None:
        """Rule 4: the only occurrence in the other sections, or else the one whose context
        matches best (ties go to document order)."""
        found = [
            (key, start, end)
            for key, start, end in self.occurrences(quote)
            if key != anchor.section_key and self.keeps_word_ends(anchor, quote, self.sections[key].text, start, end)
        ]
        if len(found) <= 1:
            return found[0] if found else None
        return max(found, key=lambda hit: _context_score(anchor, self.sections[hit[0]].text, hit[1], hit[2]))

    def fuzzy_elsewhere(self, anchor: TextAnchor, quote: _Quote) -> tuple[str, _FuzzyHit] | None:
        """Rule 5 in the other sections: the best score wins. Context breaks ties (a reworded
        sentence repeated in two sections), then document order."""
        best: tuple[float, float, str, _FuzzyHit] | None = None
        for key in self.fuzzy_candidates(quote):
            if key == anchor.section_key or not (hit := self.accepted_hit(anchor, quote, key)):
                continue
            context = _context_score(anchor, self.sections[key].text, hit.start, hit.end)
            if best is None or (hit.score, context) > best[:2]:
                best = (hit.score, context, key, hit)
        return (best[2], best[3]) if best else None

    def accepted_hit(self, anchor: TextAnchor, quote: _Quote, key: str) -> _FuzzyHit | None:
        """The section's fuzzy hit, if the section passes the pre-filter. For a short quote,
        the context must match as well."""
        if key not in self.fuzzy_candidates(quote) or (hit := self.fuzzy_hit(quote, key)) is None:
            return None
        if len(quote.normalised) < SHORT_QUOTE_LENGTH:
            if _context_score(anchor, self.sections[key].text, hit.start, hit.end) < CONTEXT_THRESHOLD:
                return None
        return hit


def reanchor(anchors: Sequence[TextAnchor], old_texts: Mapping[str, str], new_texts: Mapping[str, str]) -> list[Placement]:
    """Place each anchor in the new version. Returns one :class:`Placement` per anchor, in
    the same order.

    ``old_texts`` and ``new_texts`` map section keys to anchor texts, with ``new_texts`` in
    document order. For each anchor, the first rule that succeeds decides:

    1. Diff: if the section key exists in both versions, the anchor's offsets are mapped
       through a character diff of the old and new section text (computed once per section,
       see ``_OffsetMap``). If the mapped span holds exactly ``exact``, the anchor is
       ANCHORED there. In rules 1, 2 and 4, an occurrence must not cut a word or a number
       that the quote did not cut in the old text (see ``keeps_word_ends``).
    2. Same section, exact: ``exact`` is searched for in the new section, ignoring
       differences in whitespace (as :func:`locate_quote` does). Among several occurrences,
       those whose prefix and suffix match (:data:`CONTEXT_THRESHOLD`) come first, and the
       one nearest the mapped position wins. ANCHORED.
    3. Same section, edited in place: the fuzzy search of rule 5, started where the diff
       maps the quote's start rather than at the section's closest window. CHANGED. A short
       quote must match in context as in rule 5, unless the span scores
       :data:`SMALL_EDIT_THRESHOLD` (a small edit). This rule comes before the searches of
       the whole section and of the other sections because it has the better evidence: the
       closest window of a section can be a lookalike ("at least 2 metres deep" for "at least
       2 metres wide" edited to "at least 2.5 metres wide"), and the same words elsewhere
       are another passage, not this one edited.
    4. Other sections, exact: the only occurrence, or among several the one whose context
       matches best (then the first in document order). MOVED.
    5. Fuzzy, only for quotes with at least :data:`MIN_FUZZY_CHARACTERS` non-space
       characters: the span that best corresponds to the quote (see ``_fuzzy_hit`` for the
       search and its thresholds). The same section is tried first (CHANGED), then the
       others (MOVED, even if reworded; the best score wins and context breaks ties; while
       the anchor's section is still there, the score must reach
       :data:`MOVED_FROM_A_KEPT_SECTION_THRESHOLD`). A quote shorter than
       :data:`SHORT_QUOTE_LENGTH` must also match in context. ``score`` is the similarity.
    6. Sentence by sentence, for a quote of two sentences or more (see ``_SENTENCE_BREAK``):
       every sentence is found on its own in one section, in any order, and the placement is
       the span from the first of them to the end of the last (CHANGED in the anchor's own
       section, else MOVED under the same conditions as rule 5). Its score is ``fuzz.ratio``'s
       formula with the sentences' order left free (see ``sentences_in``), and must reach
       :data:`FUZZY_THRESHOLD`, which bounds the span to 1.67x the quote's length.

       The placement is that covering span (the sentences' hull), not the sentences one by
       one, because an anchor is one span of text (one W3C TextPositionSelector and
       TextQuoteSelector): a reader sees every sentence they quoted highlighted. The words
       between reordered sentences, if any, are highlighted too; the score bounds them. Each
       other sentence takes its occurrence nearest the longest one, which keeps the span
       small. A short sentence (under :data:`SHORT_QUOTE_LENGTH`) must be found exactly: on
       its own it would resemble too much. On the demo policy, this rule places the pilot's
       last paragraph, whose two sentences the final policy swapped and reworded (score
       84), and changes nothing else (every run of two or three draft sentences compared).
    7. Otherwise ORPHANED.

    A quote longer than :data:`MAX_QUOTE_LENGTH` is placed by rule 1 only.
    """
    run = _Reanchoring(old_texts, new_texts)
    return [run.place(anchor) for anchor in anchors]
