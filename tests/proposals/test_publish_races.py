"""Publishing a version while people post, on PostgreSQL (issue 13: an acknowledged annotation
stayed on version 1 without an anchor on version 2, and comments dated after the publication
were attached to version 1). Publishing and posting serialise on the consultation's row:
publishing takes it FOR UPDATE, posting FOR SHARE, and posting re-reads the current version
under the lock. SQLite serialises every writing transaction already (BEGIN IMMEDIATE).

Deterministic, without sleeps: one side holds its lock (its transaction open) until the other
is seen waiting for a lock in ``pg_locks`` (or has finished: the race the fix prevents).
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from consult.comments.models import Anchor, AnchorState
from consult.contributions.models import Contribution
from consult.core.models import db
from consult.proposals import services as proposals
from consult.proposals.models import Consultation, Version
from tests.factories import SAMPLE_TEXT, explain_changes, make_consultation, make_organisation, make_user
from tests.scratch import finished_or_waiting_for_a_lock, scratch_app

QUOTE = "every department"
VERSION_2 = SAMPLE_TEXT.replace(
    "This policy sets out how the council publishes open data.", "This policy says how and when we publish data."
)


@pytest.fixture(autouse=True)
def _transaction():
    """No shared test transaction: two transactions race on committed data."""
    yield


@pytest.fixture
def place(tmp_path):
    """An open consultation on version 1 with version 2 drafted, its author and a citizen (ids)."""
    with scratch_app("postgresql", tmp_path) as app, app.app_context():
        council = make_organisation()
        author = make_user(role="author", organisation=council)
        citizen = make_user()
        c = make_consultation(council, author=author)
        proposals.write_markdown(c, VERSION_2, actor=author)
        explain_changes(c, author)
        db.session.commit()
        yield app, c.id, author.id, citizen.id


def _annotate(consultation_id: int, citizen_id: int) -> int:
    """What the comment view does: read the page's consultation and version, then post."""
    from consult.accounts.models import User
    from consult.comments.services import post_comment

    c = db.session.get(Consultation, consultation_id)
    section = c.current_version.section("scope")  # read before posting, as a view does
    assert section is not None
    annotation = post_comment(c, actor=db.session.get(User, citizen_id), body="Which ones?", section_key="scope", quote=QUOTE)
    return annotation.id


def _publish(consultation_id: int, author_id: int) -> None:
    from consult.accounts.models import User

    c = db.session.get(Consultation, consultation_id)
    proposals.publish_version(c, actor=db.session.get(User, author_id), note="Plainer purpose.")


def _placement(app, annotation_id: int) -> tuple[int, dict[int, str]]:
    """The version number the annotation was posted on, and its anchors' states by version number."""
    with app.app_context():
        contribution = db.session.get(Contribution, annotation_id)
        anchors = db.session.execute(
            select(Version.number, Anchor.state)
            .join(Version, Version.id == Anchor.version_id)
            .where(Anchor.contribution_id == annotation_id)
        ).all()
        return contribution.version.number, {number: state for number, state in anchors}


class Side(threading.Thread):
    """One transaction in its own thread and app context: ``work`` runs, then it waits for
    ``release`` before committing; ``result`` is what ``work`` returned."""

    def __init__(self, app, work, *, release: threading.Event | None = None, start_after: threading.Event | None = None):
        super().__init__(daemon=True)
        self.app, self.work = app, work
        self.release, self.start_after = release, start_after
        self.holding, self.finished = threading.Event(), threading.Event()
        self.result, self.error = None, None

    def run(self) -> None:
        try:
            if self.start_after is not None:
                assert self.start_after.wait(60)
            with self.app.app_context():
                self.result = self.work()
                self.holding.set()
                if self.release is not None:
                    assert self.release.wait(60)
                db.session.commit()
        except BaseException as error:  # noqa: BLE001 - re-raised by the test
            self.error = error
        finally:
            self.holding.set()
            self.finished.set()


def test_an_annotation_posted_while_a_version_is_being_published_lands_on_the_new_version(place):
    app, consultation_id, author_id, citizen_id = place
    release = threading.Event()
    publisher = Side(app, lambda: _publish(consultation_id, author_id), release=release)
    poster = Side(app, lambda: _annotate(consultation_id, citizen_id), start_after=publisher.holding)
    publisher.start()
    poster.start()
    assert publisher.holding.wait(60)
    first = finished_or_waiting_for_a_lock(app, poster.finished)
    release.set()
    publisher.join(60)
    poster.join(60)
    assert publisher.error is None and poster.error is None, (publisher.error, poster.error)

    assert first == "waiting", "the annotation was saved while the publication was not yet committed"
    version, anchors = _placement(app, poster.result)
    assert version == 2, "posted after the publication, on the version it replaced"
    assert anchors == {2: AnchorState.ANCHORED}


def test_a_publication_waits_for_an_annotation_being_posted_and_carries_it_over(place):
    app, consultation_id, author_id, citizen_id = place
    release = threading.Event()
    poster = Side(app, lambda: _annotate(consultation_id, citizen_id), release=release)
    publisher = Side(app, lambda: _publish(consultation_id, author_id), start_after=poster.holding)
    poster.start()
    publisher.start()
    assert poster.holding.wait(60)
    first = finished_or_waiting_for_a_lock(app, publisher.finished)
    release.set()
    poster.join(60)
    publisher.join(60)
    assert publisher.error is None and poster.error is None, (publisher.error, poster.error)

    assert first == "waiting", "the version was published while an annotation was being posted"
    version, anchors = _placement(app, poster.result)
    assert version == 1
    assert anchors == {1: AnchorState.ANCHORED, 2: AnchorState.ANCHORED}, "the publication did not carry the annotation over"
