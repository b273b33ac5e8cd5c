"""Compare two versions of a policy: which section became which, and a word-level redline.

Two pure functions, no Flask, no database:

- :func:`match_sections` pairs the sections of an old and a new version, so a
  section keeps its identity (its key, and the comments made on it) across
  versions even when it is renumbered or renamed;
- :func:`word_diff` turns two plain texts into equal / delete / insert runs
  for a redline.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Final, Literal

from consult.proposals.importing import strip_numbering

__all__ = [
    "MATCH_THRESHOLD",
    "PLACE_THRESHOLD",
    "DiffOp",
    "SectionMatch",
    "in_context",
    "match_sections",
    "overlap",
    "similarity",
    "tokenize",
    "word_diff",
]

MATCH_THRESHOLD: Final = 0.5
"""Minimum text similarity for an unmatched new section to take over an old one."""

PLACE_THRESHOLD: Final = 0.5
"""Minimum word overlap (:func:`overlap`, in any order) for two unmatched sections in the same
place of their documents to be one section rewritten."""

_URL: Final = r"""(?:https?://|ftp://|www\.)(?:[^\s<>"'`()]|\([^\s<>"'`()]*\))*(?:[^\s<>"'`.,;:!?*()\]}]|\([^\s<>"'`()]*\))"""
"""An address with its scheme (or ``www.``), up to whitespace; punctuation that ends a sentence,
Markdown's emphasis and a bracket that closes around it are not part of it, a pair of brackets
inside it is."""
_EMAIL: Final = r"\w[\w.+-]*@\w[\w-]*(?:\.\w[\w-]*)+"
_WORDLIKE: Final = r"\w+(?:(?:['’\-\u2011]|(?<=\d)[.,:/](?=\d))\w+)*(?:(?<=\d)%)?"
"""A word with its inner apostrophes and hyphens ("agency's", "open-source", "M-16-21",
"2016-03-10"), and a number with its inner decimal point, thousands separators, date and time
separators and a percent sign ("2.5", "1,000", "10/03/2016", "12:30", "20%")."""
_TOKEN: Final = re.compile(rf"{_URL}|{_EMAIL}|{_WORDLIKE}|\s+|[^\w\s]")
_WORD: Final = re.compile(r"\w+(?:['’]\w+)*")
_BREAKS: Final = re.compile(r"[^\S\n]*\n\s*")


# --- word diff -----------------------------------------------------------------


@dataclass(frozen=True)
class DiffOp:
    """One run of a redline: text kept, deleted from the old text or inserted in the new."""

    kind: Literal["equal", "insert", "delete"]
    text: str


def tokenize(text: str) -> list[str]:
    """Words, whitespace runs and single punctuation characters; they join back to ``text``.

    A word is a run of letters/digits/underscores with inner apostrophes and hyphens ("agency's",
    "open-source", "M-16-21"). Numbers stay whole, so a redline never reads "2" + "[-.5-][+.75+]":
    a decimal point, thousands separator, date or time separator between two digits and a percent
    sign after one belong to the number ("2.5", "1,000", "2016-03-10", "10/03/2016", "20%"). Web
    addresses ("https://code.gov/about", "www.example.org") and e-mail addresses are one token
    each. Punctuation at a word's edges stays a token of its own ("(20%)," is four tokens).
    """
    return _TOKEN.findall(text)


def word_diff(old: str, new: str) -> list[DiffOp]:
    """Word-level diff of two plain texts.

    Guarantees: joining the ``equal`` and ``delete`` texts gives ``old``
    exactly, joining the ``equal`` and ``insert`` texts gives ``new`` exactly;
    no two neighbouring ops have the same kind; a replaced region is a delete
    followed by an insert. Identical non-empty texts give one ``equal`` op,
    two empty texts give no op. Speed: well under a second for sections of a
    few thousand words.

    Readability: a lone whitespace token left equal between two changes (the
    space in "a b" -> "x y") is folded into them, so the redline reads
    [-a b-][+x y+] rather than [-a-][+x+] [-b-][+y+]. This only happens when
    the folded region both deletes and inserts (never turning a pure insertion
    into a delete of a space), and never across a blank line, so paragraphs
    stay apart.
    """
    if old == new:
        return [DiffOp("equal", old)] if old else []
    a, b = tokenize(old), tokenize(new)
    # The tokens both texts start and end with are equal as they are: diff only the middle.
    # An amendment or a revision usually changes a few words of a long section, and
    # SequenceMatcher's cost grows with the length it is given.
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    raw: list[DiffOp] = [DiffOp("equal", "".join(a[:head]))]
    suffix = "".join(a[len(a) - tail :])
    a, b = a[head : len(a) - tail], b[head : len(b) - tail]
    # Whitespace tokens are "junk" to difflib: a match never starts on one but
    # grows through equal ones. Without this, the one-in-two space tokens make
    # matching quadratic (7 s instead of 0.5 s for 4,000 words). No automatic
    # junk: a frequent word stays matchable.
    matcher = SequenceMatcher(str.isspace, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            raw.append(DiffOp("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            raw.append(DiffOp("delete", "".join(a[i1:i2])))
        if j2 > j1:
            raw.append(DiffOp("insert", "".join(b[j1:j2])))
    raw.append(DiffOp("equal", suffix))
    return _merge(_fold_whitespace_islands(_merge(raw)))


def in_context(ops: Sequence[DiffOp], words: int = 8) -> list[DiffOp]:
    """The changes of a redline with ``words`` unchanged words on either side, the rest of each
    unchanged run left out and marked "…", and blank lines in what is kept closed up (a short view
    of a long section, such as a list of amendments). A redline without changes is returned as it
    is."""
    if all(op.kind == "equal" for op in ops):
        return list(ops)
    out: list[DiffOp] = []
    for index, op in enumerate(ops):
        if op.kind != "equal":
            out.append(op)
            continue
        tokens = tokenize(_BREAKS.sub("\n", op.text))
        at = [k for k, token in enumerate(tokens) if _WORD.search(token)]
        before = 0 if index == 0 else words  # words kept after the change before it
        after = 0 if index == len(ops) - 1 else words  # words kept before the change after it
        if len(at) <= before + after:
            out.append(DiffOp("equal", "".join(tokens)))
            continue
        head = "".join(tokens[: at[before - 1] + 1]) + " " if before else ""
        tail = " " + "".join(tokens[at[-after] :]) if after else ""
        out.append(DiffOp("equal", f"{head}…{tail}"))
    return out


def _merge(ops: list[DiffOp]) -> list[DiffOp]:
    """Join neighbouring ops of the same kind; drop empty ones."""
    merged: list[DiffOp] = []
    for op in ops:
        if not op.text:
            continue
        if merged and merged[-1].kind == op.kind:
            merged[-1] = DiffOp(op.kind, merged[-1].text + op.text)
        else:
            merged.append(op)
    return merged


def _is_foldable(op: DiffOp) -> bool:
    return op.kind == "equal" and op.text.isspace() and op.text.count("\n") < 2


def _fold_whitespace_islands(ops: list[DiffOp]) -> list[DiffOp]:
    """Fold whitespace-only equal ops lying between changes (see :func:`word_diff`)."""
    out: list[DiffOp] = []
    index = 0
    while index < len(ops):
        if ops[index].kind == "equal":
            out.append(ops[index])
            index += 1
            continue
        # A run: changes, possibly joined by foldable whitespace islands.
        end = index
        while end < len(ops) and (
            ops[end].kind != "equal" or (_is_foldable(ops[end]) and end + 1 < len(ops) and ops[end + 1].kind != "equal")
        ):
            end += 1
        run = ops[index:end]
        kinds = {op.kind for op in run}
        if {"delete", "insert"} <= kinds:
            old_side = "".join(op.text for op in run if op.kind != "insert")
            new_side = "".join(op.text for op in run if op.kind != "delete")
            out += [DiffOp("delete", old_side), DiffOp("insert", new_side)]
        else:
            out += run
        index = end
    return out


# --- section matching ----------------------------------------------------------


@dataclass(frozen=True)
class SectionMatch:
    """How one section of the old or new version relates to the other version.

    - ``kept``: same key, same heading (ignoring its numbering), same text;
    - ``changed``: same key with other heading or text, or, without a common
      key, a new section whose text is at least :data:`MATCH_THRESHOLD`
      similar to an old one, or which took the old one's place (see
      :func:`match_sections`) (``old_key`` then differs from ``new_key``; the
      caller reuses ``old_key`` so the section keeps its identity);
    - ``added``: only in the new version (``old_key`` is None);
    - ``removed``: only in the old version (``new_key`` is None).

    ``similarity`` is the word-level similarity of the texts, 0.0 to 1.0
    (1.0 for kept, 0.0 for added and removed).
    """

    status: Literal["kept", "changed", "added", "removed"]
    old_key: str | None
    new_key: str | None
    similarity: float


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def similarity(old_text: str, new_text: str) -> float:
    """difflib ratio of the lowercase word sequences of two texts (punctuation ignored).

    Two texts without words are alike (1.0) only if both are empty of words.
    """
    a, b = _words(old_text), _words(new_text)
    return _ratio(a, b)


def overlap(old_text: str, new_text: str) -> float:
    """How many words two texts share, in any order: twice the common lowercase words (counted
    with repeats) over the words of both, 0.0 to 1.0. A rewritten section keeps its vocabulary
    while its sentences move and its phrases change, which :func:`similarity` (in order) punishes.
    """
    return _quick_ratio(Counter(_words(old_text)), Counter(_words(new_text)), len(_words(old_text)), len(_words(new_text)))


def _ratio(a: Sequence[str], b: Sequence[str]) -> float:
    if not a and not b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _quick_ratio(a: Counter[str], b: Counter[str], size_a: int, size_b: int) -> float:
    """Upper bound of :func:`_ratio` from word counts alone (difflib's quick_ratio)."""
    if not size_a and not size_b:
        return 1.0
    common = sum((a & b).values()) if len(a) <= len(b) else sum((b & a).values())
    return 2.0 * common / (size_a + size_b)


def _same_heading(old: str, new: str) -> bool:
    return " ".join(strip_numbering(old).split()) == " ".join(strip_numbering(new).split())


def match_sections(
    old: Sequence[tuple[str, str, str]],
    new: Sequence[tuple[str, str, str]],
    *,
    fixed: Mapping[str, str | None] | None = None,
) -> list[SectionMatch]:
    """Pair the sections of two versions; each section is a (key, heading, text) tuple.

    Rules, in order:

    0. ``fixed`` (new key -> old key, or None) is the author's word: the new
       section replaces that old section, or (None, or an old key not there)
       is new. Sections named in it take no part in the rules below.
    1. Same key: "kept" if the text is identical and the headings are equal
       once hand-written numbering is removed ("3. Foo" -> "4. Foo" is only a
       renumbering), else "changed".
    2. Content: among the sections left, the most similar old/new pair
       (word-level :func:`similarity` of the texts) is matched first as
       "changed", then the next, as long as the similarity is at least 0.5.
       When both texts have no words at all (a heading with only sub-sections
       below it), the headings without numbering are compared instead.
    3. Place: a section left that sits where an old section left sat (between
       the same matched neighbours) took its place when their headings are
       equal without numbering, or when they share at least
       :data:`PLACE_THRESHOLD` of their words in any order (:func:`overlap`):
       a section rewritten in place keeps its vocabulary but little of its
       word order, so rule 2 alone misses it ("5.1 Pilot Program" became
       "5.1 Pilot Program: Publication of Custom-Developed Code as OSS" with a
       similarity of 0.33 but an overlap of 0.68). Most overlapping pairs
       first; pairs never cross.
    4. Old sections left are "removed", new ones "added".

    Output: one match per new section in new document order; each removed
    section comes right after the entry of its preceding old neighbour (at the
    start if it was first), so a diff page can show it where it was.
    Exact ratios are computed lazily, best upper bound first, so 100 sections
    are fast.
    """
    fixed = fixed or {}
    old_index_of = {key: index for index, (key, _, _) in enumerate(old)}
    new_by_key: dict[str, list[int]] = defaultdict(list)
    for index, (key, _, _) in enumerate(new):
        if key not in fixed:
            new_by_key[key].append(index)

    old_for_new: dict[int, int] = {}
    result_for_new: dict[int, SectionMatch] = {}

    def pair(old_index: int, new_index: int, score: float | None = None) -> None:
        old_key, heading, text = old[old_index]
        new_key, new_heading, new_text = new[new_index]
        old_for_new[new_index] = old_index
        if old_key == new_key and text == new_text and _same_heading(heading, new_heading):
            result_for_new[new_index] = SectionMatch("kept", old_key, new_key, 1.0)
        else:
            result_for_new[new_index] = SectionMatch("changed", old_key, new_key, similarity(text, new_text) if score is None else score)

    claimed = {fixed[key] for key, _, _ in new if key in fixed}
    for new_index, (key, _, _) in enumerate(new):
        if key in fixed and (old_index := old_index_of.get(fixed[key] or "")) is not None and old_index not in old_for_new.values():
            pair(old_index, new_index)
    for old_index, (key, _, _) in enumerate(old):
        if key in claimed or not new_by_key.get(key):
            continue
        pair(old_index, new_by_key[key].pop(0))

    decided = {j for j, (key, _, _) in enumerate(new) if key in fixed}

    def free() -> tuple[list[int], list[int]]:
        matched_old = set(old_for_new.values())
        return (
            [i for i in range(len(old)) if i not in matched_old and old[i][0] not in claimed],
            [j for j in range(len(new)) if j not in old_for_new and j not in decided],
        )

    for old_index, new_index, score in _pair_by_similarity(old, new, *free()):
        pair(old_index, new_index, score)
    for old_index, new_index in _pair_in_place(old, new, *free(), old_for_new):
        pair(old_index, new_index)

    matched_old = set(old_for_new.values())
    # Removed sections, grouped by the nearest preceding old section that survived.
    removed_after: dict[int | None, list[SectionMatch]] = defaultdict(list)
    anchor: int | None = None
    for old_index, (key, _, _) in enumerate(old):
        if old_index in matched_old:
            anchor = old_index
        else:
            removed_after[anchor].append(SectionMatch("removed", key, None, 0.0))

    matches = list(removed_after[None])
    for new_index, (key, _, _) in enumerate(new):
        matches.append(result_for_new.get(new_index) or SectionMatch("added", None, key, 0.0))
        if new_index in old_for_new:
            matches += removed_after[old_for_new[new_index]]
    return matches


def _pair_in_place(
    old: Sequence[tuple[str, str, str]],
    new: Sequence[tuple[str, str, str]],
    free_old: list[int],
    free_new: list[int],
    old_for_new: Mapping[int, int],
) -> list[tuple[int, int]]:
    """Rule 3 of :func:`match_sections`: unmatched sections that took the place of an unmatched
    old one. A new section's place lies between the old sections its nearest matched neighbours
    (before and after it in the new version) were matched to."""
    if not free_old or not free_new:
        return []
    old_counts = {i: Counter(_words(old[i][2])) for i in free_old}
    new_counts = {j: Counter(_words(new[j][2])) for j in free_new}
    candidates: list[tuple[float, int, int]] = []  # (-overlap, new, old)
    for j in free_new:
        before = max((old_for_new[k] for k in old_for_new if k < j), default=-1)
        after = min((old_for_new[k] for k in old_for_new if k > j), default=len(old))
        for i in free_old:
            if not before < i < after:
                continue
            a, b = old_counts[i], new_counts[j]
            size_a, size_b = a.total(), b.total()
            shared = _quick_ratio(a, b, size_a, size_b) if size_a and size_b else 0.0
            if shared >= PLACE_THRESHOLD or _same_heading(old[i][1], new[j][1]):
                candidates.append((-shared, j, i))
    pairs: list[tuple[int, int]] = []
    for _, j, i in sorted(candidates):
        if all((i < taken_i) == (j < taken_j) and i != taken_i and j != taken_j for taken_i, taken_j in pairs):
            pairs.append((i, j))
    return pairs


def _pair_by_similarity(
    old: Sequence[tuple[str, str, str]],
    new: Sequence[tuple[str, str, str]],
    free_old: list[int],
    free_new: list[int],
) -> list[tuple[int, int, float]]:
    """Greedy best-first pairing of unmatched sections with similarity >= the threshold.

    Candidates sit in a heap by an upper bound (word-count overlap); the exact
    ratio is computed only when a candidate reaches the top, and a pair is
    taken once its exact ratio is the best left. Ties go to document order.
    """
    if not free_old or not free_new:
        return []

    def words(section: tuple[str, str, str]) -> list[str]:
        # A section without text compares by its heading; the marker keeps
        # heading words from ever matching text words.
        _, heading, text = section
        found = _words(text)
        return found if found else [f"\0{w}" for w in _words(strip_numbering(heading))]

    old_words = {i: words(old[i]) for i in free_old}
    new_words = {j: words(new[j]) for j in free_new}
    old_counts = {i: Counter(w) for i, w in old_words.items()}
    new_counts = {j: Counter(w) for j, w in new_words.items()}

    heap: list[tuple[float, int, int, int]] = []  # (-score, 1 if only a bound, new, old)
    for j in free_new:
        for i in free_old:
            size_a, size_b = len(old_words[i]), len(new_words[j])
            if not size_a or not size_b:
                continue
            if 2.0 * min(size_a, size_b) / (size_a + size_b) < MATCH_THRESHOLD:
                continue  # real_quick_ratio: lengths too different
            bound = _quick_ratio(old_counts[i], new_counts[j], size_a, size_b)
            if bound >= MATCH_THRESHOLD:
                heap.append((-bound, 1, j, i))
    heapq.heapify(heap)

    pairs: list[tuple[int, int, float]] = []
    used_old: set[int] = set()
    used_new: set[int] = set()
    while heap:
        negative, approximate, j, i = heapq.heappop(heap)
        if i in used_old or j in used_new:
            continue
        if approximate:
            score = _ratio(old_words[i], new_words[j])
            if score >= MATCH_THRESHOLD:
                heapq.heappush(heap, (-score, 0, j, i))
            continue
        pairs.append((i, j, -negative))
        used_old.add(i)
        used_new.add(j)
    return pairs
