"""Section matching and word-level redlines, on the real Federal Source Code Policy and small cases."""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path

import pytest

from consult.proposals.importing import ImportedSection, import_markdown_files
from consult.proposals.textdiff import DiffOp, SectionMatch, in_context, match_sections, overlap, similarity, tokenize, word_diff

POLICY = Path(__file__).resolve().parents[2] / "consult" / "demo_data" / "federal-source-code-policy"


def load(version: str) -> list[ImportedSection]:
    files = sorted((p.name, p.read_text(encoding="utf-8")) for p in (POLICY / version).glob("*.md"))
    return import_markdown_files(files)


def triples(sections: list[ImportedSection]) -> list[tuple[str, str, str]]:
    # The app passes plain text; the Markdown body is a fair stand-in here.
    return [(s.key, s.heading, s.body) for s in sections]


@pytest.fixture(scope="module")
def versions() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    return triples(load("v1-draft-2016-04")), triples(load("v2-final-2016-08"))


@pytest.fixture(scope="module")
def policy_matches(versions) -> list[SectionMatch]:
    return match_sections(*versions)


def assert_reconstructs(old: str, new: str, ops: list[DiffOp]) -> None:
    assert "".join(op.text for op in ops if op.kind != "insert") == old
    assert "".join(op.text for op in ops if op.kind != "delete") == new
    assert all(op.text for op in ops)
    assert all(a.kind != b.kind for a, b in pairwise(ops))


# --- word_diff -----------------------------------------------------------------

SAMPLES = [
    ("", ""),
    ("", "new text"),
    ("old text", ""),
    ("same", "same"),
    ("  leading and trailing  ", " leading, and trailing!\n"),
    ("The agency must publish the code.", "The agency shall publish all of the code."),
    ("a b c d e", "e d c b a"),
    (
        "Line one.\nLine two.\n\nPara two — with “quotes” and the agency’s code.",
        "Line one!\n\nPara 2 — with «quotes» and the agencies’ code.",
    ),
    ("tabs\tand\r\nCRLF", "tabs and\nLF"),
    ("20 percent of new custom code", "at least 20 percent of new custom-developed code"),
    ("x" * 50, "y" * 50),
    ("日本語 の テキスト", "日本語 と テキスト"),
    (
        "2.5% of 1,000 on 2016-03-10 (M-16-21), https://code.gov/a_(b).",
        "2.75% of 1,500 on 10/03/2016, see www.code.gov or a.b+c@agency.gov.",
    ),
]


@pytest.mark.parametrize(("old", "new"), SAMPLES)
def test_diff_reconstructs_both_texts(old: str, new: str) -> None:
    assert_reconstructs(old, new, word_diff(old, new))


def test_diff_reconstructs_every_matched_section_of_the_policy(versions, policy_matches) -> None:
    old_text = {key: text for key, _, text in versions[0]}
    new_text = {key: text for key, _, text in versions[1]}
    pairs = [(m.old_key, m.new_key) for m in policy_matches if m.old_key and m.new_key]
    assert len(pairs) == 9  # the notes blocks are no sections: their notes are in these
    for old_key, new_key in pairs:
        old, new = old_text[old_key], new_text[new_key]
        ops = word_diff(old, new)
        assert_reconstructs(old, new, ops)
        if old != new:
            assert {"delete", "insert"} & {op.kind for op in ops}


def test_identical_text_is_one_equal_op() -> None:
    text = "This policy will accomplish the following objectives:\n\n1. Provide guidance."
    assert word_diff(text, text) == [DiffOp("equal", text)]
    assert word_diff("", "") == []


def test_one_word_change() -> None:
    ops = word_diff("The agency must publish the code.", "The agency shall publish the code.")
    assert ops == [
        DiffOp("equal", "The agency "),
        DiffOp("delete", "must"),
        DiffOp("insert", "shall"),
        DiffOp("equal", " publish the code."),
    ]


def test_replaced_phrase_reads_as_one_delete_and_one_insert() -> None:
    ops = word_diff("keep one two three keep", "keep uno dos tres keep")
    assert ops == [
        DiffOp("equal", "keep "),
        DiffOp("delete", "one two three"),
        DiffOp("insert", "uno dos tres"),
        DiffOp("equal", " keep"),
    ]


def test_pure_insertion_stays_an_insertion() -> None:
    ops = word_diff("release code", "release all new code")
    assert ops == [DiffOp("equal", "release "), DiffOp("insert", "all new "), DiffOp("equal", "code")]


def test_changes_in_two_paragraphs_stay_apart() -> None:
    ops = word_diff("First old.\n\nSecond old.", "First new.\n\nSecond new.")
    assert [op.kind for op in ops] == ["equal", "delete", "insert", "equal", "delete", "insert", "equal"]
    assert ops[3] == DiffOp("equal", ".\n\nSecond ")


def test_long_sections_with_scattered_changes_reconstruct() -> None:
    # How fast this is belongs to bench/ (no wall-clock assertions in tests: they fail on a busy machine).
    rng = random.Random(7)
    words = " ".join(text for _, _, text in triples(load("v1-draft-2016-04"))).split()
    old_words = [rng.choice(words) for _ in range(4000)]
    new_words = list(old_words)
    for _ in range(200):
        new_words[rng.randrange(len(new_words))] = rng.choice(words)
    old, new = " ".join(old_words), " ".join(new_words)
    ops = word_diff(old, new)
    assert_reconstructs(old, new, ops)


# --- tokens: numbers, codes, dates and addresses stay whole -----------------------

WHOLE = [
    ("2.5", "a rate of 2.5 percent"),
    ("1,000", "over 1,000 pages"),
    ("1,000,000.50", "$1,000,000.50 a year"),
    ("20%", "at least 20% of new code"),
    ("M-16-21", "memorandum M-16-21 replaces"),
    ("2016-08-08", "dated 2016-08-08."),
    ("10/03/2016", "by 10/03/2016,"),
    ("10.03.2016", "on 10.03.2016 at noon"),
    ("12:30", "at 12:30."),
    ("3.2.1", "see section 3.2.1."),
    ("https://code.gov/about?x=1#y", "see https://code.gov/about?x=1#y."),
    ("https://en.wikipedia.org/wiki/Open_(software)", "(https://en.wikipedia.org/wiki/Open_(software))"),
    ("www.example.org/policy", "at www.example.org/policy, or"),
    ("jane.doe+policy@agency.gov", "write to jane.doe+policy@agency.gov."),
    ("open-source", "open-source code"),
    ("agency’s", "the agency’s code"),
]


@pytest.mark.parametrize(("token", "text"), WHOLE)
def test_numbers_codes_dates_and_addresses_are_one_token(token: str, text: str) -> None:
    tokens = tokenize(text)
    assert token in tokens, tokens
    assert "".join(tokens) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(20%),", ["(", "20%", ")", ","]),  # punctuation at the edges is its own
        ("3.2. Next", ["3.2", ".", " ", "Next"]),  # a full stop after a number ends the sentence
        ("1, 2 and 3", ["1", ",", " ", "2", " ", "and", " ", "3"]),  # a list is not a number
        ("well--known", ["well", "-", "-", "known"]),
        ("https:// alone", ["https", ":", "/", "/", " ", "alone"]),
        ("user@localhost", ["user", "@", "localhost"]),  # no dot in the domain: not an address
        ("see https://a.org/x).", ["see", " ", "https://a.org/x", ")", "."]),
        ("**https://a.org/x**", ["*", "*", "https://a.org/x", "*", "*"]),  # Markdown, as amendments edit it
    ],
)
def test_tokens_end_where_they_should(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


@pytest.mark.parametrize(
    ("old", "new", "deleted", "inserted"),
    [
        ("costs 2.5 million", "costs 2.75 million", "2.5", "2.75"),
        ("over 1,000 pages", "over 1,500 pages", "1,000", "1,500"),
        ("at least 20% of code", "at least 25% of code", "20%", "25%"),
        ("memorandum M-16-21 says", "memorandum M-17-01 says", "M-16-21", "M-17-01"),
        ("by 2016-03-10 at", "by 2016-04-10 at", "2016-03-10", "2016-04-10"),
        ("see https://code.gov/a for", "see https://code.gov/b for", "https://code.gov/a", "https://code.gov/b"),
        ("mail a@agency.gov now", "mail b@agency.gov now", "a@agency.gov", "b@agency.gov"),
    ],
)
def test_a_changed_number_or_address_is_redlined_whole(old: str, new: str, deleted: str, inserted: str) -> None:
    changes = [(op.kind, op.text) for op in word_diff(old, new) if op.kind != "equal"]
    assert changes == [("delete", deleted), ("insert", inserted)]


def test_in_context_keeps_a_few_words_around_each_change() -> None:
    old = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen."
    new = old.replace("five", "FIVE").replace("fourteen", "FOURTEEN")
    ops = in_context(word_diff(old, new), words=2)
    assert ops == [
        DiffOp("equal", "… three four "),
        DiffOp("delete", "five"),
        DiffOp("insert", "FIVE"),
        DiffOp("equal", " six seven … twelve thirteen "),
        DiffOp("delete", "fourteen"),
        DiffOp("insert", "FOURTEEN"),
        DiffOp("equal", " fifteen sixteen."),  # punctuation is not a word to count
    ]
    # Short runs are kept whole; a redline without changes is left alone.
    assert in_context(word_diff("a b c", "a x c"), words=2) == word_diff("a b c", "a x c")
    assert in_context(word_diff("same", "same")) == [DiffOp("equal", "same")]
    # Blank lines in the context close up: an excerpt is short.
    assert in_context(word_diff("Intro:\n\n\n\n1. One.", "Start:\n\n\n\n1. One.")) == [
        DiffOp("delete", "Intro"),
        DiffOp("insert", "Start"),
        DiffOp("equal", ":\n1. One."),
    ]


# --- match_sections on the real policy --------------------------------------------


def test_policy_every_section_accounted_for_once(versions, policy_matches) -> None:
    old, new = versions
    assert sorted(m.old_key for m in policy_matches if m.old_key) == sorted(k for k, _, _ in old)
    assert [m.new_key for m in policy_matches if m.new_key] == [k for k, _, _ in new]  # new order


def test_policy_matches(policy_matches) -> None:
    by_old = {m.old_key: m for m in policy_matches if m.old_key}
    by_new = {m.new_key: m for m in policy_matches if m.new_key}

    assert by_new["objectives"].status in ("kept", "changed")
    assert by_new["objectives"].old_key == "objectives"
    scope = by_new["scope-and-applicability"]
    assert (scope.status, scope.old_key) == ("changed", "scope-and-applicability")
    assert 0 < scope.similarity < 1

    # The final policy added a separate Exceptions page.
    assert by_new["exceptions-to-government-code-reuse"] == SectionMatch("added", None, "exceptions-to-government-code-reuse", 0.0)
    # v1's Appendix B is nothing but an <img> of the procurement diagram; v2 describes the
    # three steps in prose in "3. Three-Step Software Solutions Analysis". An image tag shares
    # almost no words with that prose (similarity ~0.01, the app's plain text would even be
    # empty), so nothing carries it over: it is removed.
    assert by_old["appendix-b-software-procurement-analysis"] == SectionMatch(
        "removed", "appendix-b-software-procurement-analysis", None, 0.0
    )
    # Renamed ("5.2 Membership in ..." -> "5.2 Participation in ..."), mostly the same text:
    # matched by similarity, identity kept through the old key.
    renamed = by_new["participation-in-the-open-source-community"]
    assert renamed.status == "changed"
    assert renamed.old_key == "membership-in-the-open-source-community"
    assert renamed.similarity >= 0.5
    # Rewritten in place: "3. Software Procurement Considerations" became "3. Three-Step Software
    # Solutions Analysis" and "5.1 Pilot Program" gained a subtitle. Their word order changed too
    # much for the similarity (0.18 and 0.33), but each sits where the old one sat and shares
    # most of its words: the same section (its footnotes are part of it).
    for old_key, new_key in [
        ("software-procurement-considerations", "three-step-software-solutions-analysis"),
        ("pilot-program", "pilot-program-publication-of-custom-developed-code-as-oss"),
        ("introduction", "m-16-21-memorandum-for-the-heads-of-departments-and-agencies"),
    ]:
        assert (by_old[old_key].status, by_old[old_key].new_key) == ("changed", new_key)
    # "5. Federally Funded Custom Code as Open Source Software" lost its text to 5.1 and 5.2; the
    # new "5. Open Source Software" is a bare heading: nothing in common, so removed and added.
    assert by_old["federally-funded-custom-code-as-open-source-software"].status == "removed"
    assert by_new["open-source-software"].status == "added"


def test_policy_removed_sections_listed_where_they_were(policy_matches) -> None:
    order = [(m.status, m.old_key or m.new_key) for m in policy_matches]
    scope = order.index(("changed", "scope-and-applicability"))
    assert order[scope + 1] == ("changed", "software-procurement-considerations")
    reuse = order.index(("changed", "government-wide-code-reuse"))
    assert order[reuse + 1] == ("removed", "federally-funded-custom-code-as-open-source-software")
    # v1's first sections have no surviving predecessor: they come first.
    assert order[0] == ("removed", "introduction-for-public-comment")
    assert order[-1] == ("removed", "appendix-b-software-procurement-analysis")


# --- match_sections, small cases ---------------------------------------------------


def test_renumbered_heading_with_same_text_is_kept() -> None:
    old = [("intro", "Intro", "Hello."), ("foo", "3. Foo", "Same text here.")]
    new = [("intro", "Intro", "Hello."), ("foo", "4. Foo", "Same text here.")]
    assert match_sections(old, new) == [
        SectionMatch("kept", "intro", "intro", 1.0),
        SectionMatch("kept", "foo", "foo", 1.0),
    ]


def test_same_key_with_new_heading_or_text_is_changed() -> None:
    old = [("foo", "Foo", "Some text."), ("bar", "Bar", "Other text.")]
    new = [("foo", "Foo and more", "Some text."), ("bar", "Bar", "Other words.")]
    assert [m.status for m in match_sections(old, new)] == ["changed", "changed"]


def test_renamed_section_with_mostly_same_text_keeps_old_key() -> None:
    words = [f"word{i}" for i in range(100)]
    edited = list(words)
    for i in range(5, 100, 10):
        edited[i] = f"new{i}"  # 10% of the words replaced
    old = [("intro", "Intro", "Hello."), ("pilot-program", "5.1 Pilot Program", " ".join(words))]
    new = [
        ("intro", "Intro", "Hello."),
        ("pilot-program-for-oss", "5.1 Pilot Program for OSS", " ".join(edited)),
    ]
    [intro, pilot] = match_sections(old, new)
    assert intro.status == "kept"
    assert (pilot.status, pilot.old_key, pilot.new_key) == ("changed", "pilot-program", "pilot-program-for-oss")
    assert pilot.similarity == pytest.approx(0.9)


def test_dissimilar_sections_are_removed_and_added_in_place() -> None:
    old = [("a", "A", "alpha one"), ("b", "B", "beta two three"), ("c", "C", "gamma")]
    new = [("a", "A", "alpha one"), ("x", "X", "something else entirely"), ("c", "C", "gamma")]
    assert match_sections(old, new) == [
        SectionMatch("kept", "a", "a", 1.0),
        SectionMatch("removed", "b", None, 0.0),
        SectionMatch("added", None, "x", 0.0),
        SectionMatch("kept", "c", "c", 1.0),
    ]


def test_best_pair_wins() -> None:
    base = "the pilot program requires agencies to release twenty percent of new custom code"
    old = [("old-a", "A", base), ("old-b", "B", base + " as open source software every year")]
    new = [("new-b", "B2", base + " as open source software each year")]
    assert match_sections(old, new) == [
        SectionMatch("removed", "old-a", None, 0.0),
        SectionMatch("changed", "old-b", "new-b", pytest.approx(similarity(old[1][2], new[0][2]))),
    ]


def test_sections_without_text_compare_by_heading() -> None:
    old = [("implementation", "6. Implementation", "")]
    new = [("implementing", "7. Implementation", "")]
    [match] = match_sections(old, new)
    assert (match.status, match.old_key, match.new_key) == ("changed", "implementation", "implementing")


def test_hundred_renamed_and_reordered_sections_are_matched() -> None:
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(2000)]
    old = [(f"old-{i}", f"Old {i}", " ".join(rng.choices(vocabulary, k=300))) for i in range(100)]
    new = []
    for i, (_, _, text) in enumerate(reversed(old)):
        words = text.split()
        for j in range(0, len(words), 7):
            words[j] = "changed"
        new.append((f"new-{i}", f"New {i}", " ".join(words)))
    matches = match_sections(old, new)
    assert [(m.old_key, m.new_key) for m in matches] == [(f"old-{99 - i}", f"new-{i}") for i in range(100)]
    assert {m.status for m in matches} == {"changed"}


def test_section_rewritten_in_place_keeps_its_identity() -> None:
    """Same place, most words shared but reordered: the same section, although its similarity
    (in order) is far below the threshold."""
    sentences = [f"sentence {i} about agencies releasing custom code number {i}." for i in range(12)]
    old = [("a", "A", "alpha one"), ("pilot", "5.1 Pilot", " ".join(sentences)), ("c", "C", "gamma")]
    rewritten = " ".join(reversed([s.replace("releasing", "publishing") for s in sentences]))
    new = [("a", "A", "alpha one"), ("pilot-oss", "5.1 Pilot: OSS", rewritten), ("c", "C", "gamma")]
    assert similarity(old[1][2], new[1][2]) < 0.5 <= overlap(old[1][2], new[1][2])
    assert [(m.status, m.old_key, m.new_key) for m in match_sections(old, new)] == [
        ("kept", "a", "a"),
        ("changed", "pilot", "pilot-oss"),
        ("kept", "c", "c"),
    ]


def test_same_vocabulary_elsewhere_is_not_the_same_section() -> None:
    """The overlap counts only in the old section's place: a section moved and rewritten at once
    is new."""
    text = " ".join(f"word{i}" for i in range(40))
    shuffled = " ".join(reversed(text.split()))
    old = [("a", "A", "alpha one"), ("b", "B", text), ("c", "C", "gamma")]
    new = [("b2", "B2", shuffled), ("a", "A", "alpha one"), ("c", "C", "gamma")]
    assert [(m.status, m.old_key or m.new_key) for m in match_sections(old, new)] == [
        ("added", "b2"),
        ("kept", "a"),
        ("removed", "b"),
        ("kept", "c"),
    ]


def test_same_heading_in_the_same_place_is_the_same_section() -> None:
    old = [("intro", "Intro", "alpha"), ("intro-footnotes", "Footnotes", "one two"), ("c", "C", "gamma")]
    new = [("memo", "Intro", "alpha"), ("memo-footnotes", "Footnotes", "three four"), ("c", "C", "gamma")]
    matches = match_sections(old, new)
    assert [(m.status, m.old_key, m.new_key) for m in matches] == [
        ("changed", "intro", "memo"),
        ("changed", "intro-footnotes", "memo-footnotes"),
        ("kept", "c", "c"),
    ]


def test_fixed_pairs_overrule_every_rule() -> None:
    """The author's correction: a section said to be new stays new even with the same key or text,
    and a section said to replace an old one takes it whatever their texts."""
    old = [("scope", "Scope", "the same words"), ("pilot", "Pilot", "twenty percent")]
    new = [("scope", "Scope", "the same words"), ("default", "Default", "all code open")]
    fixed = {"scope": None, "default": "pilot"}
    assert [(m.status, m.old_key, m.new_key) for m in match_sections(old, new, fixed=fixed)] == [
        ("removed", "scope", None),
        ("added", None, "scope"),
        ("changed", "pilot", "default"),
    ]
    # Without the correction: scope kept, pilot removed and default added.
    assert [m.status for m in match_sections(old, new)] == ["kept", "removed", "added"]
