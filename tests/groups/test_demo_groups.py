"""The demo's groups (issue 20, point 5): two groups, one with two chapters, a co-signed
amendment and an open call to action, on the open round of the demo."""

from __future__ import annotations

from sqlalchemy import func, select

from consult import demo, demo_groups
from consult.accounts.models import Organisation, User
from consult.core.models import db, utcnow
from consult.groups.models import (
    CallPledge,
    CallToAction,
    Group,
    GroupAdoption,
    GroupDraft,
    GroupMembership,
    GroupSubmission,
    Signature,
)
from consult.permissions import Action, can, visible_group_drafts
from consult.proposals.models import Consultation
from consult.voting import services as voting
from consult.voting.models import Vote


def person(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Group, GroupMembership, GroupDraft, GroupSubmission, Signature, GroupAdoption, CallToAction, CallPledge, Vote)
    )


def test_the_demo_has_groups_a_co_signed_amendment_and_open_calls():
    assert demo.load_demo()
    now = utcnow()
    c = db.session.scalar(select(Consultation).where(Consultation.slug == "federal-source-code-policy"))

    # Two groups at the top, one of them (public) with two chapters; the other invite-only.
    top = list(db.session.scalars(select(Group).where(Group.parent_id.is_(None)).order_by(Group.name)))
    assert len(top) == 2
    network, union = top
    assert network.is_public and [g.name for g in network.chapters] == [
        "Open Source Advocates: Bay Area chapter",
        "Open Source Advocates: Chicago chapter",
    ]
    assert not union.is_public and union.chapters == []
    for group in (network, *network.chapters, union):
        roles = [m.role for m in group.memberships]
        assert roles.count("coordinator") == 1 and len(roles) >= 3

    # The network's amendment: written by three members (three revisions), submitted by its coordinator.
    submission = db.session.scalar(select(GroupSubmission).where(GroupSubmission.group_id == network.id))
    amendment = submission.contribution
    assert amendment.kind == "amendment" and amendment.consultation_id == c.id and amendment.section_key == "government-wide-code-reuse"
    coordinator = next(m.user for m in network.memberships if m.is_coordinator)
    assert amendment.author_id == coordinator.id == submission.submitted_by_id
    draft = db.session.get(GroupDraft, submission.draft_id)
    assert draft.is_submitted and draft.submitted_contribution_id == amendment.id and draft.revision == 3
    assert [r.number for r in draft.revisions] == [1, 2, 3] and len({r.user_id for r in draft.revisions}) == 3
    assert amendment.amendment.proposed_text == draft.proposed_text == draft.revisions[-1].proposed_text
    assert "must require unlimited data rights" in amendment.amendment.proposed_text
    assert amendment.amendment.proposed_text != c.current_version.section("government-wide-code-reuse").body.strip()

    # Signed by at least three members, each signer's support vote counted once.
    signers = set(db.session.scalars(select(Signature.user_id).where(Signature.contribution_id == amendment.id)))
    members = {m.user_id for m in network.memberships}
    assert len(signers) >= 3 and signers <= members and coordinator.id in signers
    votes = list(db.session.execute(select(Vote.user_id, Vote.value).where(Vote.contribution_id == amendment.id)))
    assert len(votes) == len({user for user, _ in votes})  # one vote a person
    assert signers <= {user for user, value in votes if value == "support"}
    assert voting.tallies([amendment.id])[amendment.id].support == len([v for v in votes if v.value == "support"])

    # A chapter's submission (signed by its members) adopted by the parent.
    adoption = db.session.scalar(select(GroupAdoption).where(GroupAdoption.group_id == network.id))
    chapter_submission = db.session.get(GroupSubmission, adoption.contribution_id)
    assert chapter_submission.group.parent_id == network.id and chapter_submission.contribution.consultation_id == c.id
    assert db.session.scalar(select(func.count()).select_from(Signature).where(Signature.contribution_id == adoption.contribution_id)) >= 2

    # The invite-only branch's draft is seen by its members only.
    union_draft = db.session.scalar(select(GroupDraft).where(GroupDraft.group_id == union.id))
    member = next(m.user for m in union.memberships if not m.is_coordinator)
    outsider = person("pat@demo.consult.example")
    assert not union_draft.is_submitted and len(union_draft.revisions) == 2
    assert can(member, Action.VIEW_GROUP_MEMBERS, union) and not can(outsider, Action.VIEW_GROUP_MEMBERS, union)
    assert union_draft.id not in db.session.scalars(select(GroupDraft.id).where(visible_group_drafts(outsider))).all()
    assert union_draft.id not in db.session.scalars(select(GroupDraft.id).where(visible_group_drafts(None))).all()

    # The network's open call: support its amendment by a date a week ahead, before the round closes.
    call = db.session.scalar(select(CallToAction).where(CallToAction.group_id == network.id))
    assert call.is_open and call.kind == "support" and call.contribution_id == amendment.id and call.goal == 25
    assert now < call.deadline < c.closes_at
    assert f"A{amendment.amendment.number} by" in call.title and f"{call.deadline.day} {call.deadline:%B}" in call.title

    # OMB's call to its public hearing, with a time, a place and people who will come.
    omb = db.session.scalar(select(Organisation).where(Organisation.slug == demo.ORGANISATION_SLUG))
    hearing = db.session.scalar(select(CallToAction).where(CallToAction.organisation_id == omb.id))
    assert hearing.is_open and hearing.kind == "attend" and hearing.location
    assert now < hearing.event_starts_at < hearing.event_ends_at < c.closes_at and hearing.deadline <= hearing.event_starts_at
    assert db.session.scalar(select(func.count()).select_from(CallPledge).where(CallPledge.call_id == hearing.id)) >= 2

    # The new people sign in with the demo's password; loading the groups again adds nothing.
    for email, name in demo_groups.GROUP_PEOPLE:
        assert person(email).display_name == name
    before = counts()
    assert not demo_groups.load_demo_groups(c, omb, password=demo.DEMO_PASSWORD)
    assert not demo.load_demo()
    assert counts() == before
