"""The edit algebra of amendments: what an amendment changes, as word-level ranges of the
section's Markdown; whether two amendments collide; applying several to one text. Pure
functions, no database."""

from __future__ import annotations

from dataclasses import dataclass

from consult.proposals.textdiff import word_diff


@dataclass(frozen=True)
class Edit:
    """Replace ``base[start:end]`` with ``replacement`` (an insertion when start == end)."""

    start: int
    end: int
    replacement: str


def edits(base: str, proposed: str) -> list[Edit]:
    """The word-level changes that turn ``base`` into ``proposed``, in order, not overlapping.

    Words are :func:`~consult.proposals.textdiff.tokenize`'s: a number, a code, a date or an
    address is one word, so an edit replaces "2.5" whole and never only its ".5" (two amendments
    changing one number always conflict)."""
    result: list[Edit] = []
    position = 0
    pending: Edit | None = None
    for op in word_diff(base, proposed):
        if op.kind == "equal":
            if pending:
                result.append(pending)
                pending = None
            position += len(op.text)
        elif op.kind == "delete":
            pending = Edit(position, position + len(op.text), pending.replacement if pending else "")
            position += len(op.text)
        else:  # insert, after a delete (a replacement) or alone
            pending = Edit(pending.start, pending.end, pending.replacement + op.text) if pending else Edit(position, position, op.text)
    if pending:
        result.append(pending)
    return result


def _touch(a: Edit, b: Edit) -> bool:
    """Do two edits of the same text change overlapping words? Two insertions at one place
    collide too (which goes first is the author's choice); an insertion collides with a
    replacement only strictly inside it."""
    a_inserts, b_inserts = a.start == a.end, b.start == b.end
    if a_inserts and b_inserts:
        return a.start == b.start
    if a_inserts:
        return b.start < a.start < b.end
    if b_inserts:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


def conflict(a: list[Edit], b: list[Edit]) -> bool:
    return any(_touch(x, y) for x in a for y in b)


def apply_edits(base: str, changes: list[Edit]) -> str:
    out, position = [], 0
    for e in sorted(changes, key=lambda e: (e.start, e.end)):
        out.append(base[position : e.start])
        out.append(e.replacement)
        position = e.end
    out.append(base[position:])
    return "".join(out)
