"""Text anchors: locating quotes, their context, and re-anchoring onto a new version.

The last part re-anchors real quotes of the draft Federal Source Code Policy (April 2016)
onto the final policy (August 2016), both shipped as the demo; what happened to each quote
was checked by reading the two versions in consult/demo_data/federal-source-code-policy/.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pytest

from consult.comments.anchoring import (
    CONTEXT_LENGTH,
    MAX_QUOTE_LENGTH,
    AnchorState,
    Placement,
    TextAnchor,
    locate_quote,
    normalise_space,
    quote_context,
    reanchor,
)
from consult.core.text import render_markdown, text_content
from consult.demo import policy_files
from consult.proposals.importing import import_markdown_files
from consult.proposals.textdiff import match_sections


def anchor_on(key: str, text: str, quote: str) -> TextAnchor:
    """The anchor a reader makes by selecting ``quote`` (its first occurrence) in ``text``."""
    span = locate_quote(text, quote)
    assert span is not None, f"{quote!r} is not in {key!r}"
    start, end = span
    return TextAnchor(key, start, end, text[start:end], *quote_context(text, start, end))


def place(old: dict[str, str], new: dict[str, str], key: str, quote: str) -> Placement:
    [placement] = reanchor([anchor_on(key, old[key], quote)], old, new)
    return placement


# --- normalise_space, locate_quote ---------------------------------------------------------


def test_normalise_space() -> None:
    assert normalise_space("  a\n\n b\t\xa0c  ") == "a b c"
    assert normalise_space(" \n ") == ""


def test_locate_quote_exact() -> None:
    text = "The pilot program ends in three years."
    assert locate_quote(text, "pilot program") == (4, 17)


def test_locate_quote_ignores_whitespace_differences() -> None:
    # textContent has "\n\n" between blocks and single spaces inside them; a browser's
    # selection.toString() may give one newline, or spaces, or a tab.
    text = "First paragraph ends here.\n\nSecond  paragraph\nstarts here."
    start, end = locate_quote(text, "ends here.\nSecond paragraph starts")  # type: ignore[misc]
    assert text[start:end] == "ends here.\n\nSecond  paragraph\nstarts"
    assert locate_quote(text, "here. Second\t\tparagraph") is not None
    assert locate_quote(text, "  \n ends here.\n ") == (16, 26)  # outer whitespace ignored


def test_locate_quote_needs_whitespace_where_the_quote_has_some() -> None:
    assert locate_quote("shared services", "shared services") == (0, 15)
    assert locate_quote("sharedservices", "shared services") is None
    assert locate_quote("shared services", "sharedservices") is None


def test_locate_quote_is_case_sensitive() -> None:
    text = "Open Source Software (OSS) and open source software"
    assert locate_quote(text, "open source") == (31, 42)
    assert locate_quote(text, "OPEN SOURCE") is None


def test_locate_quote_nearest_occurrence() -> None:
    text = "code here, code there, code everywhere"
    assert locate_quote(text, "code") == (0, 4)
    assert locate_quote(text, "code", near=14) == (11, 15)
    assert locate_quote(text, "code", near=100) == (23, 27)
    assert locate_quote(text, "code", near=7) == (11, 15)  # 7 is 7 from 0 and 4 from 11
    assert locate_quote("ab ab", "ab", near=1) == (0, 2)  # tie: the earlier one


def test_locate_quote_not_found_and_empty() -> None:
    assert locate_quote("some text", "other") is None
    assert locate_quote("some text", "") is None
    assert locate_quote("some text", " \n\t") is None
    assert locate_quote("", "text") is None


def test_locate_quote_special_characters_are_literal() -> None:
    text = "costs $9 billion (approx.) [sic] a+b*c"
    assert locate_quote(text, "$9 billion (approx.)") == (6, 26)
    assert locate_quote(text, "[sic] a+b*c") == (27, 38)
    assert locate_quote(text, "a.b") is None


def test_locate_quote_rejects_overlong_quotes() -> None:
    text = "word " * 1000
    assert locate_quote(text, "word " * 399 + "word") == (0, 1999)  # 1,999 characters
    with pytest.raises(ValueError):
        locate_quote(text, "x" * (MAX_QUOTE_LENGTH + 1))


# --- quote_context ------------------------------------------------------------------------


def test_quote_context_in_the_middle() -> None:
    text = "a" * 40 + "QUOTE" + "b" * 40
    assert quote_context(text, 40, 45) == ("a" * CONTEXT_LENGTH, "b" * CONTEXT_LENGTH)


def test_quote_context_at_the_edges() -> None:
    text = "Start of the text, end."
    assert quote_context(text, 0, 5) == ("", " of the text, end.")
    assert quote_context(text, 19, 23) == ("Start of the text, ", "")
    assert quote_context(text, 0, len(text)) == ("", "")
    assert quote_context("é" * 50, 10, 12) == ("é" * 10, "é" * CONTEXT_LENGTH)  # code points


# --- reanchor on small texts --------------------------------------------------------------

OLD = {
    "intro": "This policy applies to all agencies. It takes effect in 90 days.",
    "scope": "Source code for national security systems is exempt from this policy.",
    "removed": "Comments are welcome until April 11, 2016, by email or on GitHub.",
}


def test_identical_versions_keep_every_anchor_in_place() -> None:
    anchors = [
        anchor_on("intro", OLD["intro"], "all agencies"),
        anchor_on("scope", OLD["scope"], "Source code"),
        anchor_on("removed", OLD["removed"], "April 11, 2016"),
    ]
    placements = reanchor(anchors, OLD, dict(OLD))
    assert [p.state for p in placements] == [AnchorState.ANCHORED] * 3
    for anchor, placement in zip(anchors, placements, strict=True):
        assert (placement.section_key, placement.start, placement.end) == (anchor.section_key, anchor.start, anchor.end)
        assert (placement.exact, placement.prefix, placement.suffix) == (anchor.exact, anchor.prefix, anchor.suffix)
        assert placement.score == 1.0
        assert placement.as_anchor() == anchor  # ready to be re-anchored onto the next version


def test_anchored_through_the_diff_when_text_moves_within_the_section() -> None:
    new = {"intro": "Purpose. This policy applies to all Federal agencies. It takes effect in 120 days."}
    placement = place(OLD, new, "intro", "It takes effect in")
    assert placement.state is AnchorState.ANCHORED
    assert placement.section_key == "intro"
    assert new["intro"][placement.start : placement.end] == "It takes effect in"  # type: ignore[index]
    assert (placement.prefix, placement.suffix) == quote_context(new["intro"], placement.start, placement.end)  # type: ignore[arg-type]


def test_anchored_when_only_whitespace_changed() -> None:
    old = {"s": "Step 1. Analyse alternatives.\nStep 2. Buy."}
    new = {"s": "Step 1. Analyse   alternatives.\n\nStep 2. Buy."}
    placement = place(old, new, "s", "alternatives.\nStep 2")
    assert placement.state is AnchorState.ANCHORED
    assert placement.exact == "alternatives.\n\nStep 2"


def test_anchored_prefers_the_occurrence_in_context() -> None:
    # The rules swap places and gain double spaces: the diff's span no longer holds the quote
    # (rule 1 fails) and the occurrence nearest its mapped position is the other rule's.
    # The context (prefix and suffix) picks the right one.
    old = {"s": "Rule one: the fee is waived for schools. Rule two: the fee is waived for hospitals."}
    new = {"s": "Rule two: the fee  is waived for hospitals. Rule one: the fee  is waived for schools."}
    start = old["s"].rindex("the fee is waived")
    end = start + len("the fee is waived")
    anchor = TextAnchor("s", start, end, old["s"][start:end], *quote_context(old["s"], start, end))
    [placement] = reanchor([anchor], old, new)
    assert placement.state is AnchorState.ANCHORED
    assert (placement.start, placement.end, placement.exact) == (10, 28, "the fee  is waived")
    assert placement.suffix.startswith(" for hospitals.")


def test_changed_when_reworded_in_the_same_section() -> None:
    new = {"intro": "It takes effect in 90 days. This policy applies to all Federal agencies, without exception."}
    placement = place(OLD, new, "intro", "This policy applies to all agencies.")
    assert placement.state is AnchorState.CHANGED
    assert placement.section_key == "intro"
    assert placement.exact == "This policy applies to all Federal agencies"  # inserted word taken in
    assert 0.75 <= placement.score < 1.0


def test_moved_when_found_unchanged_in_another_section() -> None:
    new = {
        "intro": "This policy applies to all agencies.",
        "exceptions": "Exceptions. It takes effect in 90 days. Source code for national security systems is exempt.",
    }
    placement = place(OLD, new, "scope", "national security systems")
    assert placement.state is AnchorState.MOVED
    assert placement.section_key == "exceptions"
    assert placement.exact == "national security systems"
    assert placement.score == 1.0
    # The section survives, but the sentence left it for another one.
    placement = place(OLD, new, "intro", "It takes effect in 90 days.")
    assert (placement.state, placement.section_key) == (AnchorState.MOVED, "exceptions")
    assert placement.exact == "It takes effect in 90 days."


def test_moved_prefers_the_section_where_the_context_matches() -> None:
    old = {"gone": "Under the old rules, agencies must publish the code each year."}
    new = {
        "first": "Vendors must publish the code on request.",
        "second": "Under the new rules, agencies must publish the code each year.",
    }
    placement = place(old, new, "gone", "must publish the code")
    assert (placement.state, placement.section_key) == (AnchorState.MOVED, "second")


def test_moved_when_reworded_in_another_section() -> None:
    new = {
        "intro": "This policy applies to all agencies.",
        "exceptions": "Source code developed for National Security Systems is exempt from the requirements of this policy.",
    }
    placement = place(OLD, new, "scope", "Source code for national security systems is exempt from this policy.")
    assert placement.state is AnchorState.MOVED
    assert placement.section_key == "exceptions"
    assert placement.exact == new["exceptions"]
    assert 0.75 <= placement.score < 1.0


def test_orphaned_when_the_passage_is_gone() -> None:
    new = {"intro": OLD["intro"], "scope": OLD["scope"]}
    placement = place(OLD, new, "removed", "Comments are welcome until April 11, 2016")
    assert placement == Placement(AnchorState.ORPHANED, None, None, None, None, "", "", 0.0)
    assert placement.as_anchor() is None


def test_orphaned_when_rewritten_beyond_recognition() -> None:
    new = {"intro": "Agencies shall comply within a quarter of a year.", "scope": OLD["scope"]}
    placement = place(OLD, new, "intro", "It takes effect in 90 days.")
    assert placement.state is AnchorState.ORPHANED


def test_very_short_quotes_never_match_fuzzily() -> None:
    old = {"s": "The CIO signs off. The CAO agrees."}
    new = {"s": "The CTO signs off. The CFO agrees."}
    assert place(old, new, "s", "CIO").state is AnchorState.ORPHANED  # 3 characters
    assert place(old, new, "s", "The").state is AnchorState.ANCHORED  # exact matches are fine


def test_short_quotes_match_fuzzily_only_in_context() -> None:
    old = {"s": "Within 90 days, each covered agency must update its inventory of code."}
    new_in_context = {"s": "Within 90 days, each agency must update its inventory of code."}
    new_elsewhere = {"s": "Nothing here.", "t": "Every agency must publish its inventory."}
    placement = place(old, new_in_context, "s", "each covered agency must")
    assert (placement.state, placement.exact) == (AnchorState.CHANGED, "each agency must")
    assert place(old, new_elsewhere, "s", "each covered agency must").state is AnchorState.ORPHANED


# --- small edits inside a quote ----------------------------------------------------------

PATHS = "Footpaths must be at least 2 metres wide. Trenches must be at least 2 metres deep."


def test_a_small_edit_is_changed_although_the_section_has_a_lookalike() -> None:
    """The section's closest window to "at least 2 metres wide" is "at least 2 metres deep",
    whose context does not match; the edited words are where the diff maps the quote."""
    new = {"s": PATHS.replace("2 metres wide", "2.5 metres wide")}
    placement = place({"s": PATHS}, new, "s", "at least 2 metres wide")
    assert (placement.state, placement.section_key, placement.exact) == (AnchorState.CHANGED, "s", "at least 2.5 metres wide")
    assert 0.85 <= placement.score < 1.0


def test_a_small_edit_is_changed_when_the_quote_is_the_whole_section() -> None:
    """No prefix or suffix to compare: the diff is the evidence."""
    placement = place({"s": "At least 2 metres wide."}, {"s": "At least 2.5 metres wide."}, "s", "At least 2 metres wide.")
    assert (placement.state, placement.exact) == (AnchorState.CHANGED, "At least 2.5 metres wide.")


def test_a_small_edit_stays_changed_in_its_section_rather_than_moving_to_the_same_words_elsewhere() -> None:
    old = {"paths": "Footpaths must be at least 2 metres wide.", "bridges": "Bridges must be at least 2 metres wide and lit."}
    new = dict(old, paths="Footpaths must be at least 2.5 metres wide.")
    placement = place(old, new, "paths", "at least 2 metres wide")
    assert (placement.state, placement.section_key, placement.exact) == (AnchorState.CHANGED, "paths", "at least 2.5 metres wide")


def test_an_edited_number_is_changed_not_anchored_inside_its_new_form() -> None:
    old = {"s": "Footpaths must be at least 2 metres wide."}
    new = {"s": "Footpaths must be at least 2.5 metres wide."}
    placement = place(old, new, "s", "must be at least 2")
    assert (placement.state, placement.exact) == (AnchorState.CHANGED, "must be at least 2.5")
    assert place(old, new, "s", "2").state is AnchorState.ANCHORED  # too short to match fuzzily: the digit it was
    # A selection that cut a word in the old text may cut it in the new one.
    cut = place({"s": "Footpaths must be wide."}, {"s": "New footpaths must be wide."}, "s", "otpaths must")
    assert (cut.state, cut.exact) == (AnchorState.ANCHORED, "otpaths must")


def test_a_short_quote_reworded_beyond_a_small_edit_still_needs_its_context() -> None:
    """The diff maps "Federal Government agreement." (introduction of the draft policy) onto
    "Federal Government-wide reuse." (78%), in another sentence: not a small edit, and the
    context does not match. Other phrases the diff points at stay orphaned likewise."""
    draft, final = policy_texts()
    for key, quote in [
        ("introduction", "Federal Government agreement."),
        ("scope-and-applicability", "policy apply to all covered"),
        ("government-wide-code-reuse", "a minimum, comply with the"),
    ]:
        assert place(draft, final, key, quote).state is AnchorState.ORPHANED, quote


# --- quotes of several sentences ------------------------------------------------------------

LANES = "Cycle lanes are separated from traffic by a kerb. Junctions give cyclists priority. Bins are emptied weekly."
SWAPPED = "Bins are emptied weekly. Junctions give cyclists priority. Cycle lanes are separated from traffic by a kerb."
QUOTE = "Cycle lanes are separated from traffic by a kerb. Junctions give cyclists priority."


def test_swapped_sentences_are_changed_and_the_new_span_holds_both() -> None:
    placement = place({"s": LANES}, {"s": SWAPPED}, "s", QUOTE)
    assert (placement.state, placement.section_key) == (AnchorState.CHANGED, "s")
    assert placement.exact == "Junctions give cyclists priority. Cycle lanes are separated from traffic by a kerb."
    assert SWAPPED[placement.start : placement.end] == placement.exact  # type: ignore[index]
    assert 0.75 <= placement.score < 1.0


def test_swapped_and_reworded_sentences_are_changed() -> None:
    new = {"s": "Bins are emptied weekly. Junctions give cyclists priority. Cycle lanes are separated from motor traffic by a kerb."}
    placement = place({"s": LANES}, new, "s", QUOTE)
    assert placement.state is AnchorState.CHANGED
    assert placement.exact == "Junctions give cyclists priority. Cycle lanes are separated from motor traffic by a kerb."


def test_swapped_sentences_moved_to_another_section_are_moved() -> None:
    old = {"s": LANES, "gone": "Nothing."}
    new = {"t": SWAPPED}
    placement = place(old, new, "s", QUOTE)
    assert (placement.state, placement.section_key) == (AnchorState.MOVED, "t")
    assert "Junctions give cyclists priority." in placement.exact and "Cycle lanes are separated" in placement.exact  # type: ignore[operator]


def test_sentences_are_orphaned_unless_every_one_survives_close_together() -> None:
    one_gone = {"s": "Bins are emptied weekly. Cycle lanes are separated from traffic by a kerb."}
    assert place({"s": LANES}, one_gone, "s", QUOTE).state is AnchorState.ORPHANED
    far_apart = {
        "s": "Junctions give cyclists priority. Bins are emptied weekly, and the council publishes the "
        "collection calendar every spring. Cycle lanes are separated from traffic by a kerb."
    }
    assert place({"s": LANES}, far_apart, "s", QUOTE).state is AnchorState.ORPHANED  # the span would be mostly other words
    split = {
        "s": "Bins are emptied weekly.",
        "t": "Cycle lanes are separated from traffic by a kerb.",
        "u": "Junctions give cyclists priority.",
    }
    assert place({"s": LANES}, split, "s", QUOTE).state is AnchorState.ORPHANED  # not in one section


def test_one_placement_per_anchor_in_order_and_missing_old_text() -> None:
    anchors = [
        anchor_on("removed", OLD["removed"], "by email"),
        anchor_on("intro", OLD["intro"], "all agencies"),
        TextAnchor("unknown", 0, 4, "This", "", " policy"),  # its section is in neither version
    ]
    placements = reanchor(anchors, OLD, {"intro": OLD["intro"]})
    assert [p.state for p in placements] == [AnchorState.ORPHANED, AnchorState.ANCHORED, AnchorState.MOVED]
    assert placements[2].section_key == "intro"
    assert reanchor([], OLD, OLD) == []


def test_overlong_quote_survives_only_through_the_diff() -> None:
    body = "word " * 500
    old = {"s": body, "t": ""}
    anchor = TextAnchor("s", 0, len(body), body, "", "")  # 2,500 characters
    assert reanchor([anchor], old, {"s": body})[0].state is AnchorState.ANCHORED
    assert reanchor([anchor], old, {"t": body})[0].state is AnchorState.ORPHANED


# --- the real policy: draft (v1) onto final (v2) ------------------------------------------


@functools.cache
def policy_texts() -> tuple[dict[str, str], dict[str, str]]:
    """Anchor texts of the draft and the final policy, keyed as the app keys them.

    A final section matched to a draft section with another key ("changed" in
    ``match_sections``, i.e. at least 50% similar) takes the draft's key, as the app does
    on publication: "m-16-21-memorandum-for-the-heads-of-departments-and-agencies" becomes
    "introduction", and "participation-in-the-open-source-community" becomes
    "membership-in-the-open-source-community".
    """

    def anchor_texts(folder: str) -> dict[str, str]:
        sections = import_markdown_files(policy_files(folder))
        return {s.key: text_content(render_markdown(s.body)) for s in sections}

    draft, final = anchor_texts("v1-draft-2016-04"), anchor_texts("v2-final-2016-08")
    matches = match_sections([(k, k, t) for k, t in draft.items()], [(k, k, t) for k, t in final.items()])
    renamed = {m.new_key: m.old_key for m in matches if m.status == "changed" and m.new_key != m.old_key}
    return draft, {renamed.get(key, key): text for key, text in final.items()}


@dataclass(frozen=True)
class RealQuote:
    key: str  # draft section
    quote: str
    state: AnchorState
    new_key: str | None
    new_words: str = ""  # must be in the new exact (for reworded quotes)


PILOT_SENTENCES = (
    "Within 120 days of the publication of this policy, OMB shall develop metrics to assess the impact of the pilot program. "
    "No later than two years after the publication date of this policy, OMB shall consider whether to issue a subsequent "
    "policy to continue, modify, eliminate, or expand the pilot program."
)

REAL_QUOTES = [
    # Unchanged, same section: 2. Scope, last sentence of the first paragraph (the final
    # policy only shortens "National Security Systems" to "NSS" before it).
    RealQuote(
        "scope-and-applicability",
        "agencies shall follow applicable statutes, Executive Orders, directives, and internal agency policies.",
        AnchorState.ANCHORED,
        "scope-and-applicability",
    ),
    # Unchanged: the lead-in of 1. Objectives.
    RealQuote("objectives", "This policy will accomplish the following objectives:", AnchorState.ANCHORED, "objectives"),
    # Unchanged: last sentence of the "Software" definition in Appendix A.
    RealQuote(
        "appendix-a-definitions",
        "Software does not include computer databases or computer software documentation.",
        AnchorState.ANCHORED,
        "appendix-a-definitions",
    ),
    # Unchanged, in the draft's Introduction, which became the body of the M-16-21
    # memorandum (its section keeps the key "introduction").
    RealQuote(
        "introduction",
        "to reduce costs, streamline development, apply uniform standards, and ensure consistency in creating and delivering information.",
        AnchorState.ANCHORED,
        "introduction",
    ),
    # Reworded, same section: the spending figures were updated to "$6 billion" and
    # "42,000 transactions".
    RealQuote(
        "introduction",
        "Each year, the Federal Government spends more than $9 billion on software through more than 50,000 transactions.",
        AnchorState.CHANGED,
        "introduction",
        "more than $6 billion on software through more than 42,000 transactions",
    ),
    # Reworded, same section: 5.2 "Membership" became "Participation in the Open Source
    # Community" (same key); "Communities can be used to monitor" -> "Communities help monitor".
    RealQuote(
        "membership-in-the-open-source-community",
        "Communities can be used to monitor changes to code, track potential errors and flaws in code, and other related activities.",
        AnchorState.CHANGED,
        "membership-in-the-open-source-community",
        "Communities help monitor changes to code",
    ),
    # Reworded, same section: "covered agencies'" -> "agencies'", "shall immediately" ->
    # "should promptly", "this guidance" -> "this policy".
    RealQuote(
        "scope-and-applicability",
        "The covered agencies' Chief Information Officers (CIO), Chief Acquisition Officers (CAO) and other key stakeholders shall immediately begin working together to implement this guidance.",
        AnchorState.CHANGED,
        "scope-and-applicability",
        "should promptly begin working together to implement this policy",
    ),
    # Small edits in short quotes, same section, whose context changed too: "National Security
    # Systems, agencies" -> "NSS, agencies", and "This policy does not require" -> "i.e., they do
    # not require".
    RealQuote(
        "scope-and-applicability",
        "Systems, agencies shall follow",
        AnchorState.CHANGED,
        "scope-and-applicability",
        "NSS, agencies shall follow",
    ),
    RealQuote(
        "scope-and-applicability",
        "does not require that existing",
        AnchorState.CHANGED,
        "scope-and-applicability",
        "do not require that existing",
    ),
    # Removed: the final policy has no "Instructions for Public Comment" page.
    RealQuote(
        "instructions-for-public-comment",
        "You may provide feedback in one of three ways. We ask that you do not submit the same comment more than once.",
        AnchorState.ORPHANED,
        None,
    ),
    # Removed: the comment period notice of the draft's "Introduction for Public Comment".
    RealQuote(
        "introduction-for-public-comment",
        "The public comment period will last 30 days, closing on April 11, 2016.",
        AnchorState.ORPHANED,
        None,
    ),
    # Moved unchanged: the draft's exceptions were the end of 6. Implementation; the final
    # policy has a section "6. Exceptions to Government Code Reuse" with this clause intact.
    RealQuote(
        "implementation",
        "would create an identifiable risk to the stability, security, or integrity of the agency’s systems or personnel;",
        AnchorState.MOVED,
        "exceptions-to-government-code-reuse",
    ),
    # Moved and reworded: "exempt publicly releasing the work" -> "exempt sharing the source code".
    RealQuote(
        "implementation",
        "The CIO believes it is in the national interest to exempt publicly releasing the work.",
        AnchorState.MOVED,
        "exceptions-to-government-code-reuse",
        "The CIO believes it is in the national interest to exempt sharing the source",
    ),
    # Unchanged: the draft's "3. Software Procurement Considerations" was rewritten in place as
    # "3. Three-Step Software Solutions Analysis" (the same section: it keeps its key); its Step 2
    # became "Targeted Considerations".
    RealQuote(
        "software-procurement-considerations",
        "a software solution that best meets the operational and mission needs of the agency, taking into consideration factors such as performance, total life-cycle cost of ownership",
        AnchorState.ANCHORED,
        "software-procurement-considerations",
    ),
    # Reworded in the same section: "every step of the software procurement analysis" ->
    # "each step of the analysis", under "Cloud Computing".
    RealQuote(
        "software-procurement-considerations",
        "covered agencies must evaluate safe and secure cloud computing options throughout every step of the software procurement analysis.",
        AnchorState.CHANGED,
        "software-procurement-considerations",
        "evaluate safe and secure cloud computing options throughout each step of the analysis.",
    ),
    # Moved unchanged: the "Code Inventories and Discovery" paragraph of the draft's
    # Implementation section is now its own section 7.2.
    RealQuote(
        "implementation",
        "The inventory will indicate whether the code is available for Federal reuse, is available publicly as OSS, or cannot be made available due to a specific exception",
        AnchorState.MOVED,
        "code-inventories-and-discovery",
    ),
    # Reworded in the same section: the draft's "5.1 Pilot Program" is now "5.1 Pilot Program:
    # Publication of Custom-Developed Code as OSS" (it keeps its key); "Each covered agency
    # shall release at least 20 percent of its newly-developed custom code each year as OSS"
    # -> "Each agency shall release as OSS at least 20 percent of its new custom-developed code".
    RealQuote(
        "pilot-program",
        "Each covered agency shall release at least 20 percent of its newly-developed custom code each year as OSS.",
        AnchorState.CHANGED,
        "pilot-program",
        "Each agency shall release as OSS at least 20 percent of its new custom-developed code",
    ),
    # Reordered and reworded in the same section: the pilot's closing paragraph. The final
    # policy puts "No later than two years..." (reworded) before "Within 120 days..."
    # ("publication" -> "publication date"); each sentence is found on its own, the quote as a
    # whole is not.
    RealQuote(
        "pilot-program",
        PILOT_SENTENCES,
        AnchorState.CHANGED,
        "pilot-program",
        "Within 120 days of the publication date of this policy, OMB shall develop metrics to assess the impact of the pilot program.",
    ),
]


def test_real_policy_keys_follow_the_app() -> None:
    draft, final = policy_texts()
    assert "introduction" in final and "m-16-21-memorandum-for-the-heads-of-departments-and-agencies" not in final
    assert "membership-in-the-open-source-community" in final
    assert "pilot-program" in final and "pilot-program-publication-of-custom-developed-code-as-oss" not in final
    assert "software-procurement-considerations" in final
    assert final["implementation"] == ""  # 7. Implementation is only a heading over 7.1-7.7


def test_real_policy_reanchoring() -> None:
    draft, final = policy_texts()
    anchors = [anchor_on(q.key, draft[q.key], q.quote) for q in REAL_QUOTES]
    for anchor, real in zip(anchors, REAL_QUOTES, strict=True):
        assert anchor.exact == real.quote  # offsets from locate_quote on the draft's text

    placements = reanchor(anchors, draft, final)

    assert len(placements) == len(REAL_QUOTES)
    for real, placement in zip(REAL_QUOTES, placements, strict=True):
        where = f"{real.quote[:50]!r}: {placement}"
        assert placement.state is real.state, where
        assert placement.section_key == real.new_key, where
        if real.state is AnchorState.ORPHANED:
            assert (placement.start, placement.end, placement.exact, placement.score) == (None, None, None, 0.0)
            continue
        text = final[placement.section_key]  # type: ignore[index]
        assert text[placement.start : placement.end] == placement.exact, where
        assert (placement.prefix, placement.suffix) == quote_context(text, placement.start, placement.end)  # type: ignore[arg-type]
        if real.new_words:
            assert 0.75 <= placement.score < 1.0, where
            assert real.new_words in normalise_space(placement.exact), where  # type: ignore[arg-type]
        else:  # the same words: anchored or moved as they were
            assert placement.exact == real.quote and placement.score == 1.0, where

    assert {real.state for real in REAL_QUOTES} == set(AnchorState)  # every state is exercised


def test_real_policy_reordered_sentences_are_placed_together() -> None:
    draft, final = policy_texts()
    [placement] = reanchor([anchor_on("pilot-program", draft["pilot-program"], PILOT_SENTENCES)], draft, final)
    exact = normalise_space(placement.exact or "")
    assert exact.startswith("No later than two years after the publication date of this policy, OMB shall evaluate pilot results")
    assert exact.endswith(
        "Within 120 days of the publication date of this policy, OMB shall develop metrics to assess the impact of the pilot program."
    )


def test_real_policy_unchanged_version_keeps_everything() -> None:
    draft, _ = policy_texts()
    anchors = [anchor_on(q.key, draft[q.key], q.quote) for q in REAL_QUOTES]
    placements = reanchor(anchors, draft, dict(draft))
    assert all(p.state is AnchorState.ANCHORED for p in placements)
    assert [(p.section_key, p.start, p.end) for p in placements] == [(a.section_key, a.start, a.end) for a in anchors]


def test_words_taken_out_of_a_kept_section_are_orphaned_not_moved_to_a_lookalike() -> None:
    """The demo's accepted amendment replaces the pilot's "at least 20 percent of its
    newly-developed custom code each year as OSS"; the introduction has a 76% lookalike
    ("at least 20 percent of their newly-developed custom code, in addition to...")."""
    draft, _ = policy_texts()
    old = "Each covered agency shall release at least 20 percent of its newly-developed custom code each year as OSS."
    new = "Each covered agency shall release all of its newly-developed custom code as OSS, unless an exception in this policy applies."
    amended = dict(draft, **{"pilot-program": draft["pilot-program"].replace(old, new)})
    assert amended["pilot-program"] != draft["pilot-program"]
    anchor = anchor_on("pilot-program", draft["pilot-program"], "at least 20 percent of its newly-developed custom code each year as OSS")
    [placement] = reanchor([anchor], draft, amended)
    assert placement.state is AnchorState.ORPHANED
    # Had the pilot section gone, the lookalike would be the best place left: moved there.
    [gone] = reanchor([anchor], draft, {k: v for k, v in amended.items() if k != "pilot-program"})
    assert (gone.state, gone.section_key) == (AnchorState.MOVED, "introduction-for-public-comment")
