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
