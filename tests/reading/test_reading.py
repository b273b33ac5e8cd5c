"""The application layer's pages as services: which version the reading page shows to whom, what
it carries, and who sees the outcome before it is published."""

from consult.comments import services as comments
from consult.core.models import db
from consult.outcome import services as outcome
from consult.permissions import Action, can
from consult.reading import services as reading
from tests.factories import make_consultation


def test_the_page_shows_a_draft_only_to_those_who_write_it(organisation, author, citizen):
    c = make_consultation(organisation, author=author, state="draft", slug="unpublished", publish=False)
    assert reading.version_to_read(c, author) == c.draft_version
    assert reading.version_to_read(c, citizen) is None and reading.version_to_read(c, None) is None
    number = c.draft_version.number
    assert reading.version_to_read(c, author, number) == c.draft_version
    assert reading.version_to_read(c, citizen, number) is None and reading.version_to_read(c, author, number + 1) is None


def test_the_current_version_carries_its_annotations_counts_and_votes(open_consultation, citizen):
    c = open_consultation
    section = c.current_version.sections[0]
    quote = section.text.split()[0]
    comments.post_comment(c, actor=citizen, body="On these words", section_key=section.key, quote=quote, start=None, end=None)
    db.session.flush()
    page = reading.reading_page(c, c.current_version, viewer=None)
    assert page.is_current and page.counts == {section.key: 1}
    assert '<mark class="annotation"' in page.section_html[section.key] and "/comments/" in page.section_html[section.key]
    assert page.context()["section_tallies"] == {} and page.citable == {}  # nobody voted; citing is for drafts
    nothing = reading.reading_page(c, None, viewer=None)
    assert nothing.section_html == {} and not nothing.is_current


def test_the_outcome_is_prepared_by_staff_and_public_once_concluded(organisation, author, moderator, citizen):
    c = make_consultation(organisation, author=author, state="closed", slug="closed-one")
    assert can(author, Action.VIEW_OUTCOME, c) and can(moderator, Action.VIEW_OUTCOME, c)
    assert not can(citizen, Action.VIEW_OUTCOME, c) and not can(None, Action.VIEW_OUTCOME, c)
    assert outcome.outcome_of(c).preparing
    done = make_consultation(organisation, author=author, state="concluded", slug="done-one")
    assert can(None, Action.VIEW_OUTCOME, done) and not outcome.outcome_of(done).preparing


# A notes block an older import (or a notes block holding more than notes) made a section, and a
# heading with nothing under it: neither is discussed or voted on by itself.
OLD_SHAPES = (
    "## Scope\n\nThis policy covers every agency.\n\n### Footnotes\n\nSee the annex for the list of agencies.\n\n"
    "## 5. Open Source Software\n\n### 5.1 Pilot\n\n" + "Each agency releases code. " * 40 + "\n"
)


def test_notes_go_with_the_section_above_and_long_texts_are_folded(organisation, author):
    c = make_consultation(organisation, author=author, state="open", slug="old-shapes", text=OLD_SHAPES)
    page = reading.reading_page(c, c.current_version, viewer=None)
    shown = {s.section.key: s for s in page.shown}
    assert list(shown) == ["scope", "open-source-software", "pilot"]
    assert [n.key for n in shown["scope"].notes] == ["footnotes"]
    assert [n.is_notes for n in shown["scope"].notes] == [True]
    assert shown["open-source-software"].section.is_heading_only and not shown["open-source-software"].section.takes_part
    assert shown["scope"].section.takes_part and not shown["scope"].folded
    pilot = shown["pilot"]
    assert pilot.folded and pilot.words == 160 and pilot.teaser.endswith("…") and len(pilot.teaser) <= 221
    assert pilot.teaser.startswith("Each agency releases code.")


def test_the_first_screen_says_the_days_left_and_the_figures(organisation, author, citizen):
    c = make_consultation(organisation, author=author, state="open", slug="figures-one")
    section = c.current_version.sections[0]
    comments.post_comment(c, actor=citizen, body="A view", section_key=section.key, quote=None, start=None, end=None)
    db.session.flush()
    page = reading.reading_page(c, c.current_version, viewer=None)
    assert page.days_left == 30 and page.context()["days_left"] == 30  # make_consultation closes in 30 days
    assert (page.figures.people, page.figures.comments, page.figures.amendments) == (1, 1, 0)
    assert page.calls_to_action == []  # no calls feature yet: nothing is made up
    closed = make_consultation(organisation, author=author, state="closed", slug="closed-two")
    assert reading.reading_page(closed, closed.current_version, viewer=None).days_left is None


def test_the_page_has_no_controls_on_notes_or_bare_headings(client, organisation, author, citizen):
    from tests.factories import login

    make_consultation(organisation, author=author, state="open", slug="old-shapes", text=OLD_SHAPES)
    db.session.commit()
    login(client, citizen)
    html = client.get("/c/old-shapes").get_data(as_text=True)
    assert html.count('<details class="take-part">') == 2  # Scope and 5.1, not the notes or "5."
    assert 'aria-label="Footnotes to Scope"' in html and 'id="s-footnotes"' in html
    toc = html.split('id="contents"', 1)[1].split("</nav>", 1)[0]
    assert "Footnotes" not in toc and 'href="#s-open-source-software"' in toc
    assert html.count('data-discussion="/c/old-shapes/s/scope/discussion"') == 1  # the Comment link (no comments yet)
    assert 'data-annotate-url="/c/old-shapes/s/footnotes"' not in html
    assert 'class="teaser"' in html and "Read the whole section" in html
