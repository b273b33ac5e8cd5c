"""Co-signing a group's submission: one signature per person, the support vote it carries,
withdrawing, leaving a group, "by GROUP, signed by N members", and the answer to every signer."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from consult.amendments import services as amendments
from consult.core.errors import PermissionDenied, RuleViolation
from consult.core.models import db
from consult.groups import activity, drafts
from consult.groups.models import Signature
from consult.notifications import services as notifications
from consult.notifications.models import Event, EventKind, Notification
from consult.proposals import services as proposals
from consult.proposals.models import Transition
from consult.voting import services as voting
from consult.voting.models import Vote
from tests.factories import login, make_user
from tests.groups.draft_helpers import join, leave, make_group


@pytest.fixture
def coordinator():
    return make_user(name="Cora Coordinator")


@pytest.fixture
def members():
    return [make_user(name=f"Member {n}") for n in range(3)]


@pytest.fixture
def group(coordinator, members):
    g = make_group(name="Riverside Residents", coordinator=coordinator)
    for m in members:
        join(g, m)
    return g


@pytest.fixture
def amendment(group, coordinator, open_consultation):
    key = open_consultation.current_version.sections[0].key
    draft = drafts.start_draft(group, open_consultation, actor=coordinator, kind="amendment", title="Ours", section_key=key)
    drafts.save_draft(draft, actor=coordinator, seen_revision=1, title="Ours", proposed_text="Our better words.", body="Because.")
    return drafts.submit_draft(draft, actor=coordinator)


def signatures(contribution) -> list[int]:
    return list(db.session.scalars(select(Signature.user_id).where(Signature.contribution_id == contribution.id).order_by(Signature.id)))


def support(contribution) -> int:
    return voting.tallies([contribution.id])[contribution.id].support


def test_members_sign_once_and_each_signature_is_a_support_vote(amendment, coordinator, members):
    drafts.sign(amendment, actor=members[0])
    drafts.sign(amendment, actor=members[1])
    assert signatures(amendment) == [coordinator.id, members[0].id, members[1].id]
    assert support(amendment) == 3
    with pytest.raises(RuleViolation) as twice:
        drafts.sign(amendment, actor=members[0])
    assert twice.value.status == 409 and "already signed" in twice.value.message


def test_a_non_member_cannot_sign(amendment):
    with pytest.raises(PermissionDenied):
        drafts.sign(amendment, actor=make_user())


def test_a_person_is_counted_once_however_many_groups_they_sign_through(amendment, group, coordinator, members):
    """A member of the submitting group and of a parent that adopted it signs once; their own
    vote is the same vote; the tallies count them once."""
    national = make_group(name="National Body", coordinator=coordinator)
    group.parent = national
    db.session.flush()
    drafts.adopt(national, amendment, actor=coordinator)
    person = members[0]
    join(national, person)
    voting.cast_vote(amendment.consultation, actor=person, value="support", contribution=amendment)  # on their own first
    drafts.sign(amendment, actor=person, group=national)
    with pytest.raises(RuleViolation):
        drafts.sign(amendment, actor=person, group=group)
    assert signatures(amendment).count(person.id) == 1
    assert db.session.scalar(select(Signature.group_id).where(Signature.user_id == person.id)) == national.id
    assert (
        db.session.scalar(select(func.count()).select_from(Vote).where(Vote.contribution_id == amendment.id, Vote.user_id == person.id))
        == 1
    )
    assert support(amendment) == 2  # the coordinator and this person
    credit = drafts.credits([amendment.id])[amendment.id]
    assert credit.signatures == 2 and [g.name for g in credit.adopted_by] == ["National Body"]


@pytest.mark.skipif(not hasattr(activity, "people_represented"), reason="the groups' activity (issue 20) is merged separately")
def test_the_outcome_page_counts_a_person_once(amendment, group, coordinator, members, author, client):
    """Signed through two groups and voted on their own: one support, one person represented."""
    national = make_group(name="National Body", coordinator=coordinator)
    group.parent = national
    db.session.flush()
    drafts.adopt(national, amendment, actor=coordinator)
    person = members[0]
    join(national, person)
    voting.cast_vote(amendment.consultation, actor=person, value="support", contribution=amendment)
    drafts.sign(amendment, actor=person, group=national)
    assert activity.people_represented(amendment.consultation) == 2
    proposals.change_state(amendment.consultation, Transition.CLOSE, actor=author)
    db.session.commit()
    login(client, author)  # its preview, before the consultation is concluded
    page = client.get(f"/c/{amendment.consultation.slug}/outcome").get_data(as_text=True)
    assert "2 support, 0 oppose" in page
    assert "Together they represent 2 people" in page
    assert "signed by 2 members" in page


def test_withdrawing_takes_the_support_vote_back_unless_it_changed(amendment, members):
    first, second = members[0], members[1]
    drafts.sign(amendment, actor=first)
    drafts.sign(amendment, actor=second)
    voting.cast_vote(amendment.consultation, actor=second, value="oppose", contribution=amendment)
    assert drafts.withdraw_signature(amendment, actor=first)
    assert drafts.withdraw_signature(amendment, actor=second)
    votes = dict(db.session.execute(select(Vote.user_id, Vote.value).where(Vote.contribution_id == amendment.id)).all())
    assert first.id not in votes and votes[second.id] == "oppose"
    assert not drafts.withdraw_signature(amendment, actor=first)


def test_leaving_a_group_keeps_the_signature_until_withdrawn(amendment, group, members):
    person = members[0]
    drafts.sign(amendment, actor=person)
    leave(group, person)
    assert person.id in signatures(amendment)
    assert support(amendment) == 2
    with pytest.raises((PermissionDenied, RuleViolation)):
        drafts.sign(amendment, actor=members[0])  # signed already
    assert drafts.withdraw_signature(amendment, actor=person)  # still theirs to take back
    assert person.id not in signatures(amendment)
    with pytest.raises(PermissionDenied):
        drafts.sign(amendment, actor=person)  # no longer a member


def test_signatures_are_kept_and_frozen_once_the_consultation_closes(amendment, members, author):
    drafts.sign(amendment, actor=members[0])
    proposals.change_state(amendment.consultation, Transition.CLOSE, actor=author)
    with pytest.raises((PermissionDenied, RuleViolation)):
        drafts.withdraw_signature(amendment, actor=members[0])
    with pytest.raises((PermissionDenied, RuleViolation)):
        drafts.sign(amendment, actor=members[1])
    assert members[0].id in signatures(amendment)


def test_by_group_signed_by_n_members_on_the_amendment_page_and_list(client, amendment, group, members):
    drafts.sign(amendment, actor=members[0])
    db.session.commit()
    slug, number = amendment.consultation.slug, amendment.amendment.number
    for url in (f"/c/{slug}/amendments/A{number}", f"/c/{slug}/amendments"):
        page = client.get(url).get_data(as_text=True)
        assert "Riverside Residents" in page and "signed by 2 members" in page, url
        assert f'href="/g/{group.slug}"' in page
    login(client, members[1])
    page = client.get(f"/c/{slug}/amendments/A{number}").get_data(as_text=True)
    assert f"/signatures/{amendment.id}" in page
    response = client.post(f"/signatures/{amendment.id}", data={"next": f"/c/{slug}/amendments"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/c/{slug}/amendments")
    listing = client.get(f"/c/{slug}/amendments").get_data(as_text=True)
    assert "signed by 3 members" in listing, listing[listing.find("<main") :][:3000]
    again = client.post(f"/signatures/{amendment.id}")
    assert again.status_code == 409
    assert client.post(f"/signatures/{amendment.id}/withdraw").status_code == 302
    assert members[1].id not in signatures(amendment)


def test_a_group_comment_shows_its_credit_on_its_card(client, group, coordinator, members, open_consultation):
    draft = drafts.start_draft(group, open_consultation, actor=coordinator, kind="comment", title="View")
    drafts.save_draft(draft, actor=coordinator, seen_revision=1, title="View", proposed_text="", body="Our collective view.")
    comment = drafts.submit_draft(draft, actor=coordinator)
    drafts.sign(comment, actor=members[0])
    db.session.commit()
    page = client.get(f"/c/{open_consultation.slug}/comments").get_data(as_text=True)
    assert "Our collective view." in page and "signed by 2 members" in page
    assert support(comment) == 0  # a comment's signature is no vote


def test_the_answer_reaches_every_signer_once(amendment, coordinator, members, author):
    for m in members[:2]:
        drafts.sign(amendment, actor=m)
    notifications.follow(amendment.consultation, f"contribution:{amendment.id}", actor=members[1])  # follows it as well
    db.session.commit()
    amendments.answer_amendment(amendment.amendment, actor=author, decision="accepted", reason="Good idea.")
    db.session.commit()
    told = Counter(
        db.session.scalars(
            select(Notification.user_id)
            .join(Event, Event.id == Notification.event_id)
            .where(Event.kind == EventKind.AMENDMENT_ANSWERED.value, Event.contribution_id == amendment.id)
        )
    )
    assert told == Counter({coordinator.id: 1, members[0].id: 1, members[1].id: 1})
    # the same answer sent again tells nobody again; a revised answer tells each once more
    amendments.answer_amendment(amendment.amendment, actor=author, decision="accepted", reason="Good idea.")
    db.session.commit()
    amendments.answer_amendment(amendment.amendment, actor=author, decision="accepted_in_part", reason="In part.")
    db.session.commit()
    told = Counter(
        db.session.scalars(
            select(Notification.user_id)
            .join(Event, Event.id == Notification.event_id)
            .where(Event.kind == EventKind.AMENDMENT_ANSWERED.value, Event.contribution_id == amendment.id)
        )
    )
    assert told == Counter({coordinator.id: 2, members[0].id: 2, members[1].id: 2})


def test_the_open_record_names_the_group_and_counts_its_signatures(amendment, members):
    from consult.record.rows import contribution_rows

    drafts.sign(amendment, actor=members[0])
    rows = {r["id"]: r for r in contribution_rows(amendment.consultation)}
    assert rows[amendment.id]["group"] == {
        "name": "Riverside Residents",
        "slug": rows[amendment.id]["group"]["slug"],
        "signatures": 2,
        "adopted_by": [],
    }


def test_signing_a_group_comment_changes_the_open_records_fingerprint(group, coordinator, members, open_consultation):
    """A comment's signature is no vote: the stored record.zip must still be rebuilt for it."""
    from consult.record import bundles

    draft = drafts.start_draft(group, open_consultation, actor=coordinator, kind="comment", title="View")
    drafts.save_draft(draft, actor=coordinator, seen_revision=1, title="View", proposed_text="", body="Our collective view.")
    comment = drafts.submit_draft(draft, actor=coordinator)
    db.session.commit()
    before = bundles.fingerprint(open_consultation, "https://consult.example")
    drafts.sign(comment, actor=members[0])
    db.session.commit()
    signed = bundles.fingerprint(open_consultation, "https://consult.example")
    assert signed != before
    drafts.withdraw_signature(comment, actor=members[0])
    db.session.commit()
    assert bundles.fingerprint(open_consultation, "https://consult.example") != signed
