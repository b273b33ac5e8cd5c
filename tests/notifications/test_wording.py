"""Every kind of event can be told in mail's words (``messages.describe``, the page's wording too),
with a link on the site's own address; every kind has a name on the settings page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consult.comments import services as comments
from consult.core.models import db
from consult.notifications import services as notifications
from consult.notifications.messages import describe
from consult.notifications.models import ACCOUNT_KINDS, PERSONAL_KINDS, EventKind, Notification
from consult.notifications.wording import KIND_LABELS
from tests.factories import make_consultation, make_user


def test_every_kind_has_a_label_for_the_settings_page():
    assert set(KIND_LABELS) == set(EventKind)


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_is_told_in_words_with_a_link(organisation, author, kind):
    consultation = make_consultation(organisation, author=author, title="Open data policy")
    reader = make_user(name="Reader")
    notifications.follow(consultation, actor=reader)
    comment = comments.post_comment(consultation, actor=reader, body="Mine.")
    notifications.follow(consultation, notifications.contribution_target(comment), actor=reader)
    about_account = kind in ACCOUNT_KINDS  # a data download: no consultation, no contribution
    event_id = notifications.record_event(
        kind,
        None if about_account else consultation,
        actor=None if about_account else author,
        recipient=reader if kind in PERSONAL_KINDS else None,
        contribution=comment if kind in PERSONAL_KINDS and not about_account else None,
        version=None if about_account else consultation.current_version,
        data={"decision": "accepted_in_part", "reason": "Partly covered.", "state": "orphaned", "subject": "A hearing"},
    )
    db.session.commit()
    notification = db.session.scalar(select(Notification).where(Notification.event_id == event_id, Notification.user_id == reader.id))

    said = describe(notification.event, notification.user)

    assert said.consultation == ("Your account" if about_account else "Open data policy") and said.text and said.mail_subject
    assert said.url.startswith("http://consult.test/")
    assert "the new version" not in said.text and "a new version" not in said.text  # the version it recorded is named
    if kind is EventKind.AMENDMENT_ANSWERED:
        assert "answered your amendment" in said.text and "accepted in part" in said.text
        assert said.detail == "Partly covered."
    if kind is EventKind.VERSION_PUBLISHED:
        assert said.text == "Version 1 of “Open data policy” is published."
    if kind is EventKind.UPDATE:
        assert said.mail_subject == "Open data policy: A hearing"
