"""The edit algebra works on whole numbers, codes and addresses: an amendment that changes "2.5"
to "3" replaces the number, not its fraction, so two amendments touching one number collide."""

from consult.amendments.edits import Edit, apply_edits, conflict, edits

BASE = "A fee of 2.5 percent applies over 1,000 pages (see M-16-21, https://example.org/fees)."


def test_a_changed_number_is_one_edit_of_the_whole_number() -> None:
    changed = edits(BASE, BASE.replace("2.5", "2.75"))
    start = BASE.index("2.5")
    assert changed == [Edit(start, start + len("2.5"), "2.75")]
    assert apply_edits(BASE, changed) == BASE.replace("2.5", "2.75")


def test_thousands_codes_and_addresses_change_whole() -> None:
    for old, new in (("1,000", "1,500"), ("M-16-21", "M-17-01"), ("https://example.org/fees", "https://example.org/fees/2016")):
        changed = edits(BASE, BASE.replace(old, new))
        assert [(BASE[e.start : e.end], e.replacement) for e in changed] == [(old, new)]


def test_two_amendments_to_one_number_conflict() -> None:
    # Before, "2.5" -> "2.75" changed only ".5" and "2.5" -> "3.5" only "2": the two applied together gave "3.75".
    a = edits(BASE, BASE.replace("2.5", "2.75"))
    b = edits(BASE, BASE.replace("2.5", "3.5"))
    assert conflict(a, b)
