"""``_Text`` indexes a text exactly as Whoosh's ``TEXT`` field with the same analyser does: the
same terms, frequencies, weights and encoded positions, in every analysis group. (Both encode
positions with ``CompactPositions``, whose round trip is checked here too.)"""

import random

import pytest
from whoosh.analysis.tokenizers import default_pattern
from whoosh.fields import TEXT

from consult.search import whoosh_backend
from consult.search.whoosh_backend import ANALYZERS, _Text
from consult.search.whoosh_codec import CompactPositions

TEXTS = [
    "",
    "   ",
    "The tree bench is by the tree.",
    "the the the a an of",
    "A tree, a bench: trees and benches, benching... U.S.A. e.g. 3.14 v2.0.1 x*y **",
    "Développement durable : les élus développent des politiques développées.",
    "Las políticas públicas de la ciudad y los ciudadanos; políticas.",
    "المواطنون والسياسات العامة في المدينة، السياسة",
    "İstanbul ŞEHİR straße STRASSE ǅemal ﬁnance Ⅻ ½ ①",
    "mixed العربية and English and français, 中文 text 日本語",
    "a. .b c..d e_f _g h__ 1_000 word.word. .word",
    "don't it's o'clock — «quoted» “curly” (paren) [bracket]",
]

ALPHABET = "aeiou tnrsl TNRS ÉéàçñüöİıßŞ ا ل م ن و 中 . . , * _ - ' 1 2 \n\t"


def whoosh_index(group: str, text: str, boost: float) -> list:
    field = TEXT(analyzer=ANALYZERS[group], field_boost=boost)
    field.format = CompactPositions(field_boost=boost)
    return sorted(field.index(text))


def ours(group: str, text: str, boost: float) -> list:
    return sorted(_Text(group, field_boost=boost).index(text))


def test_every_group_tokenizes_with_the_pattern_text_copies():
    for analyzer in ANALYZERS.values():
        assert analyzer.items[0].expression.pattern == default_pattern.pattern
    assert {"en", "fr", "es"} == whoosh_backend._STOPPING  # Arabic has no stop words, "other" none


@pytest.mark.parametrize("group", list(ANALYZERS))
@pytest.mark.parametrize("boost", [1.0, 2.0])
def test_the_same_postings_as_whoosh(group, boost):
    rng = random.Random(group)
    stop_words = ["the", "a", "of", "and", "les", "des", "la", "los", "y", "de"]
    texts = list(TEXTS)
    for _ in range(300):
        pieces = []
        for _ in range(rng.randint(1, 40)):
            if rng.random() < 0.3:
                pieces.append(rng.choice(stop_words))
            else:
                pieces.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 9))))
        texts.append(rng.choice([" ", "  ", ". ", ", "]).join(pieces))
    for text in texts:
        assert ours(group, text, boost) == whoosh_index(group, text, boost), text


@pytest.mark.parametrize("places", [[0], [0, 1, 2], [5, 17, 2**20, 2**32 - 1], list(range(0, 3000, 7))])
def test_compact_positions_read_back_what_they_wrote(places):
    compact = CompactPositions(field_boost=2.0)
    value = compact.encode(places)
    assert compact.decode_positions(value) == places
    assert compact.decode_frequency(value) == len(places)
    assert compact.decode_weight(value) == 2.0 * len(places)
    assert compact.decode_position_boosts(value) == [(p, 1) for p in places]


def test_a_memo_cleared_halfway_through_a_text_changes_nothing(monkeypatch):
    monkeypatch.setattr(whoosh_backend, "STEMS_KEPT", 3)
    whoosh_backend._stems["en"].clear()
    text = "Trees by the river, benches by the trees; rivers and benches and more trees."
    assert ours("en", text, 1.0) == whoosh_index("en", text, 1.0)


def test_snippet_pieces_are_escaped_as_markupsafe_escapes_them():
    from markupsafe import escape

    from consult.search.whoosh_backend import _escaped

    every = "".join(chr(c) for c in range(2000))
    for text in [every, "", "plain", "<script>alert('x')</script> & \"q\"", "&amp; already", "'\"<>&" * 50]:
        assert _escaped(text) == str(escape(text))
