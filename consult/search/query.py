"""The restricted query language: words and "quoted phrases", nothing else.

A user's query never reaches a library's parser. It is cut into plain words (letters and
digits) and quoted phrases; every other character, field prefix (``state:hidden``), wildcard
(``*a*``), range (``[a TO z]``), fuzzy or boost operator is dropped as punctuation, so a query
can only name public text and costs a handful of exact term look-ups, however it is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

MAX_QUERY_LENGTH = 200
MAX_TERMS = 10
MAX_WORD_LENGTH = 40

_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


class QueryError(ValueError):
    """A query we will not run, with a message the person can act on."""


@dataclass(frozen=True)
class ParsedQuery:
    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]

    @property
    def terms(self) -> int:
        return len(self.words) + sum(len(p) for p in self.phrases)

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)


def _words(chunk: str) -> list[str]:
    return [w.lower()[:MAX_WORD_LENGTH] for w in _WORD.findall(chunk)]


def parse(raw: str) -> ParsedQuery:
    raw = (raw or "").strip()
    if len(raw) > MAX_QUERY_LENGTH:
        raise QueryError(_("Search for at most %(count)s characters.", count=MAX_QUERY_LENGTH))
    phrases: list[tuple[str, ...]] = []
    for inner in _PHRASE.findall(raw):
        words = _words(inner)
        if len(words) > 1:
            phrases.append(tuple(words))
        elif words:
            raw += " " + words[0]
    rest = _PHRASE.sub(" ", raw)
    words: list[str] = []
    for w in _words(rest):
        if w not in words:
            words.append(w)
    parsed = ParsedQuery(tuple(words), tuple(dict.fromkeys(phrases)))
    if parsed.terms > MAX_TERMS:
        raise QueryError(_("Search for at most %(count)s words.", count=MAX_TERMS))
    return parsed
