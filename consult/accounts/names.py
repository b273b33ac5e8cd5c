"""Public names: what a display name may hold, and when two names look alike.

A public name is shown next to everything a person writes, so it must not be usable to hide
text, reorder text around it, smear over the page or pass for someone else:

- ``clean_display_name`` normalises a name (Unicode NFC, trimmed, every run of whitespace one
  space) and refuses control characters, format characters (zero-width spaces and joiners,
  bidirectional overrides and isolates, the soft hyphen), other invisible characters (Hangul
  fillers, variation selectors except the emoji one after a symbol, tag characters), private
  use and unassigned code points, more than ``MAX_MARKS_IN_A_ROW`` combining marks on one
  character (enough for Vietnamese or Thai, not for "Zalgo" text), and names without a single
  letter or digit.
- ``skeleton`` is a name's look (Unicode TR39's skeleton, simplified): two names with equal
  skeletons are confusable. It decomposes (NFKD, so full-width and styled letters fall to plain
  ones), drops combining marks and invisible characters, folds case, maps look-alikes to one
  letter, and spaces and punctuation that only separate words away. The built-in map covers
  Cyrillic and Greek letters that look like Latin ones, digits that look like letters
  (0/o, 1/l, 5/s), dotless i, and the pairs "rn"/"m", "vv"/"w", "cl"/"d"; it is not the whole of
  TR39's confusables.txt (no other scripts).
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _

from consult.core.errors import RuleViolation

MAX_LENGTH = 80
MIN_LENGTH = 2
MAX_MARKS_IN_A_ROW = 3

_EMOJI_PRESENTATION = "\ufe0f"

# Default-ignorable and blank-looking code points that are not of category Cc/Cf.
_INVISIBLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0]
    + list(range(0x180B, 0x1810))
    + list(range(0xFE00, 0xFE10))
    + list(range(0xE0100, 0xE01F0))
)

# Look-alikes of Latin letters (lowercase, after case folding), as one Latin letter.
_LOOK_ALIKES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "г": "r", "д": "d", "е": "e", "ё": "e", "з": "3", "и": "u", "і": "i", "ї": "i",
        "ј": "j", "к": "k", "л": "n", "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "т": "t",
        "у": "y", "х": "x", "ц": "u", "ш": "w", "щ": "w", "ь": "b", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
        "һ": "h", "ӏ": "l", "ү": "y", "ɡ": "g",
        # Greek
        "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j", "ς": "c", "μ": "u", "ϝ": "f",
        # Latin and digits
        "ı": "i", "ȷ": "j", "ℓ": "l", "0": "o", "1": "l", "|": "l", "!": "l", "5": "s", "ſ": "f", "ß": "ss",
        "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "ħ": "h",
    }
)  # fmt: skip

_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("i", "l"))


def _is_invisible(char: str, previous: str) -> bool:
    if char == _EMOJI_PRESENTATION:
        return not previous or unicodedata.category(previous) != "So"
    return ord(char) in _INVISIBLE or 0xE0000 <= ord(char) <= 0xE0FFF


def clean_display_name(raw: str) -> str:
    """The name as it will be stored and shown, or a ``RuleViolation`` (400, on the field
    ``display_name``) saying what is wrong with it."""
    name = " ".join(unicodedata.normalize("NFC", raw or "").split())
    marks_in_a_row = 0
    previous = ""
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs"):
            _refuse(_("Remove the control characters from your public name."))
        if category == "Cf" or _is_invisible(char, previous):
            _refuse(_("Remove the invisible characters (such as zero-width spaces or text-direction marks) from your public name."))
        if category in ("Co", "Cn"):
            _refuse(_("Your public name holds a character that has no agreed meaning. Remove it."))
        previous = char
    for char in unicodedata.normalize("NFD", name):  # counted decomposed: "ễ" is e and two marks
        marks_in_a_row = marks_in_a_row + 1 if unicodedata.category(char) in ("Mn", "Me") else 0
        if marks_in_a_row > MAX_MARKS_IN_A_ROW:
            _refuse(_("Your public name has too many accents stacked on one letter. Remove some."))
    if not any(unicodedata.category(char)[0] in "LN" for char in name):
        _refuse(_("Use at least one letter or digit in your public name."))
    if not MIN_LENGTH <= len(name) <= MAX_LENGTH:
        _refuse(_("Use %(min)s to %(max)s characters.", min=MIN_LENGTH, max=MAX_LENGTH))
    return name


def skeleton(name: str) -> str:
    """What a name looks like: equal for names a reader could take for one another."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(
        char for char in decomposed if unicodedata.category(char) not in ("Mn", "Me", "Cf", "Cc") and ord(char) not in _INVISIBLE
    )
    look = kept.casefold().translate(_LOOK_ALIKES)
    look = re.sub(r"[\W_]+", "", look)  # spaces, dots, dashes: "Ada.Author" looks like "Ada Author"
    for many, one in _PAIRS:
        look = look.replace(many, one)
    return look


def _refuse(message: str) -> None:
    raise RuleViolation(message, status=400, field="display_name")
