"""Drafts a group writes together, submitting them on its behalf, co-signing and adoption.

- **Shared drafts.** A member starts a draft for a consultation they can read: an amendment to a
  section (prefilled with the section's current text) or a comment on a section or on the whole
  consultation. Members edit it; every save writes a ``GroupDraftRevision`` and bumps
  ``revision``. A save made on an older revision than the stored one is refused
  (``DraftConflict``): the conditional UPDATE ``... WHERE revision = :seen`` decides, so two
  members saving at once never overwrite each other unseen.
- **Submitting on the group's behalf.** A coordinator submits the draft through the same
  services as a person's own contribution (``amendments.services.propose_amendment``,
  ``comments.services.post_comment``) with the coordinator as actor, so every rule holds. A
  ``GroupSubmission`` ties the contribution to the group and the coordinator signs it. A draft
  is submitted once: a conditional UPDATE claims it, the second submit gets a clean answer.
- **Signatures.** Members of the submitting group (or of a group that adopted it) co-sign:
  one ``Signature`` per person per contribution, whichever group they sign through. Signing an
  amendment casts the signer's support vote (``voting.services.cast_vote``): the tallies count
  each person once. Withdrawing a signature withdraws that vote if it is still "support".
  Leaving a group keeps a signature; only its signer withdraws it, until the consultation closes.
- **Adoption.** A parent group's coordinators take a chapter's submission as the whole
  organisation's position (``GroupAdoption``, one per group and contribution).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from consult.accounts.models import User
from consult.amendments import services as amendments
from consult.comments import services as comments
from consult.contributions.models import Contribution, ContributionKind, ModerationState
from consult.contributions.services import BODY_RULES
from consult.core.errors import RuleViolation
from consult.core.models import db, upsert_insert, utcnow
from consult.core.templating import format_number
from consult.groups.models import (
    DraftKind,
    Group,
    GroupAdoption,
    GroupDraft,
    GroupDraftRevision,
    GroupMembership,
    GroupState,
    GroupSubmission,
    Signature,
)
from consult.permissions import (
    Action,
    authorize,
    can,
    submission_group_ids,
    visible_consultations,
    visible_contributions,
    visible_group_drafts,
    visible_groups,
)
from consult.proposals.models import Consultation, ConsultationState
from consult.proposals.services import MAX_SECTION_LENGTH, hold_open
from consult.proposals.textdiff import DiffOp, word_diff
from consult.voting import services as voting
from consult.voting.models import Vote, VoteValue

#: The longest a draft's title, proposed text and rationale or comment may be (the same limits
#: as the contribution it becomes, so a draft that saves can be submitted).
MAX_TITLE_LENGTH = 200
MAX_PROPOSED_LENGTH = MAX_SECTION_LENGTH
MAX_BODY_LENGTH = max(BODY_RULES[ContributionKind.AMENDMENT].max_length, BODY_RULES[ContributionKind.COMMENT].max_length)


class DraftConflict(RuleViolation):
    """A save made on an older revision than the stored one: ``draft`` is the draft as it is now
    (the other person's text), to show beside the refused one."""

    def __init__(self, draft: GroupDraft):
        super().__init__(
            _(
                "%(person)s saved this draft while you were editing it (revision %(number)s). "
                "Your text was not saved: compare it with theirs below, then save again.",
                person=_last_editor_name(draft),
                number=draft.revision,
            ),
            status=409,
        )
        self.draft = draft


def _last_editor_name(draft: GroupDraft) -> str:
    last = db.session.scalar(
        select(GroupDraftRevision).where(GroupDraftRevision.draft_id == draft.id).order_by(GroupDraftRevision.number.desc()).limit(1)
    )
    return last.user.display_name if last is not None and last.user is not None else _("Another member")


# ---- reading -------------------------------------------------------------------------------


def visible_draft(user: User | None, group: Group, draft_id: int) -> GroupDraft | None:
    """The group's draft with this id if ``user`` may read it (an invite-only group's drafts:
    its members only): None otherwise, as for a draft that does not exist."""
    return db.session.scalar(
        select(GroupDraft).where(GroupDraft.id == draft_id, GroupDraft.group_id == group.id, visible_group_drafts(user))
    )


def drafts_of(group: Group, user: User | None) -> list[GroupDraft]:
    """The group's drafts ``user`` may read, the latest edited first."""
    return list(
        db.session.scalars(
            select(GroupDraft)
            .where(GroupDraft.group_id == group.id, visible_group_drafts(user))
            .options(selectinload(GroupDraft.consultation), selectinload(GroupDraft.created_by))
            .order_by(GroupDraft.submitted_at.is_not(None), GroupDraft.updated_at.desc(), GroupDraft.id.desc())
        )
    )


@dataclass
class RevisionChange:
    """One save of a draft and what it changed since the one before (word-level diffs)."""

    revision: GroupDraftRevision
    title: list[DiffOp]
    proposed_text: list[DiffOp]
    body: list[DiffOp]

    @property
    def changed_title(self) -> bool:
        return any(op.kind != "equal" for op in self.title)

    @property
    def changed_proposed_text(self) -> bool:
        return any(op.kind != "equal" for op in self.proposed_text)

    @property
    def changed_body(self) -> bool:
        return any(op.kind != "equal" for op in self.body)


def history(draft: GroupDraft) -> list[RevisionChange]:
    """Every save of the draft, newest first, with its author and what it changed since the
    previous save (the first against an empty draft, its amendment text against the section's)."""
    revisions = list(
        db.session.scalars(
            select(GroupDraftRevision)
            .where(GroupDraftRevision.draft_id == draft.id)
            .options(selectinload(GroupDraftRevision.user))
            .order_by(GroupDraftRevision.number)
        )
    )
    changes: list[RevisionChange] = []
    before_title, before_text, before_body = "", _section_text(draft), ""
    for r in revisions:
        changes.append(
            RevisionChange(
                revision=r,
                title=word_diff(before_title, r.title),
                proposed_text=word_diff(before_text, r.proposed_text),
                body=word_diff(before_body, r.body),
            )
        )
        before_title, before_text, before_body = r.title, r.proposed_text, r.body
    return changes[::-1]


def _section_text(draft: GroupDraft) -> str:
    if draft.kind != DraftKind.AMENDMENT or draft.section_key is None:
        return ""
    version = draft.consultation.current_version
    section = version.section(draft.section_key) if version is not None else None
    return section.body.strip() if section is not None else ""


def consultations_to_draft_for(user: User | None) -> list[Consultation]:
    """The consultations a group can draft for: those open to contributions that ``user`` can read."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(visible_consultations(user), Consultation.state == ConsultationState.OPEN)
            .order_by(Consultation.closes_at.is_(None), Consultation.closes_at, Consultation.id)
        )
    )


def section_choices(consultation: Consultation) -> list[tuple[str, str]]:
    """The sections of the consultation's current version a draft can be about: (key, heading)."""
    version = consultation.current_version
    return [(s.key, s.heading) for s in version.sections] if version is not None else []


def is_amendment(draft: GroupDraft) -> bool:
    return draft.kind == DraftKind.AMENDMENT


def section_heading(draft: GroupDraft) -> str | None:
    if draft.section_key is None:
        return None
    version = draft.consultation.current_version
    section = version.section(draft.section_key) if version is not None else None
    return section.heading if section is not None else draft.section_key


# ---- writing together -----------------------------------------------------------------------


def _check_lengths(title: str, proposed_text: str, body: str) -> None:
    if not title:
        raise RuleViolation(_("Give the draft a title, so the group can tell its drafts apart."), status=400, field="title")
    if len(title) > MAX_TITLE_LENGTH:
        raise RuleViolation(_("A title can be at most %(max)s characters.", max=format_number(MAX_TITLE_LENGTH)), status=400, field="title")
    if len(proposed_text) > MAX_PROPOSED_LENGTH:
        raise RuleViolation(
            _("The proposed text can be at most %(max)s characters.", max=format_number(MAX_PROPOSED_LENGTH)),
            status=400,
            field="proposed_text",
        )
    if len(body) > MAX_BODY_LENGTH:
        raise RuleViolation(_("The text can be at most %(max)s characters.", max=format_number(MAX_BODY_LENGTH)), status=400, field="body")


def start_draft(
    group: Group,
    consultation: Consultation,
    *,
    actor: User,
    kind: str,
    title: str,
    section_key: str | None = None,
) -> GroupDraft:
    """A member starts a draft for the group on a consultation they can read: an amendment to
    a section of its current version (its text prefilled with the section's), or a comment on a
    section or on the whole consultation. Its first save is revision 1."""
    authorize(actor, Action.EDIT_GROUP_DRAFT, group)
    authorize(actor, Action.VIEW_CONSULTATION, consultation)
    if kind not in {k.value for k in DraftKind}:
        raise RuleViolation(_("Choose what to write: an amendment or a comment."), status=400, field="kind")
    title = (title or "").strip()
    section = None
    if section_key:
        version = consultation.current_version
        section = version.section(section_key) if version is not None else None
        if section is None:
            raise RuleViolation(_("That section is not in the current version of the text."), status=400, field="section_key")
    elif kind == DraftKind.AMENDMENT:
        raise RuleViolation(_("Choose the section the amendment changes."), status=400, field="section_key")
    proposed = section.body.strip() if section is not None and kind == DraftKind.AMENDMENT else ""
    _check_lengths(title, proposed, "")
    now = utcnow()
    draft = GroupDraft(
        group=group,
        consultation=consultation,
        kind=kind,
        section_key=section.key if section is not None else None,
        title=title,
        proposed_text=proposed,
        body="",
        language=consultation.original_language,
        revision=1,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    db.session.add(draft)
    db.session.flush()
    db.session.add(GroupDraftRevision(draft_id=draft.id, number=1, user_id=actor.id, title=title, proposed_text=proposed, created_at=now))
    db.session.flush()
    return draft


def save_draft(draft: GroupDraft, *, actor: User, seen_revision: int, title: str, proposed_text: str, body: str) -> bool:
    """A member saves the draft as they edited it from revision ``seen_revision``. Refused with
    ``DraftConflict`` when someone saved since (the stored revision is no longer the one they
    saw): one conditional UPDATE settles two saves racing, whichever database. Returns False
    when nothing changed (no revision is written)."""
    authorize(actor, Action.EDIT_GROUP_DRAFT, draft)
    title = (title or "").strip()
    proposed_text = (proposed_text or "").replace("\r\n", "\n").strip() if draft.kind == DraftKind.AMENDMENT else ""
    body = (body or "").replace("\r\n", "\n").strip()
    _check_lengths(title, proposed_text, body)
    if seen_revision == draft.revision and (title, proposed_text, body) == (draft.title, draft.proposed_text, draft.body):
        return False
    now = utcnow()
    saved = db.session.execute(
        update(GroupDraft)
        .where(GroupDraft.id == draft.id, GroupDraft.revision == seen_revision, GroupDraft.submitted_at.is_(None))
        .values(title=title, proposed_text=proposed_text, body=body, revision=seen_revision + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(draft)
    if not saved:
        if draft.is_submitted:
            raise RuleViolation(_("This draft was submitted while you were editing it: it can no longer change."), status=409)
        raise DraftConflict(draft)
    db.session.add(
        GroupDraftRevision(
            draft_id=draft.id,
            number=seen_revision + 1,
            user_id=actor.id,
            title=title,
            proposed_text=proposed_text,
            body=body,
            created_at=now,
        )
    )
    db.session.flush()
    return True


# ---- submitting on the group's behalf -------------------------------------------------------


def submit_draft(draft: GroupDraft, *, actor: User) -> Contribution:
    """A coordinator submits the draft on the group's behalf, through the same service as their
    own amendment or comment (every rule of the consultation holds, with them as its author). A
    ``GroupSubmission`` ties it to the group and the coordinator signs it. Submitting twice (a
    double click, two coordinators at once): the second is refused cleanly."""
    if draft.is_submitted:
        raise RuleViolation(_("This draft is already submitted."), status=409)
    authorize(actor, Action.SUBMIT_GROUP_DRAFT, draft)
    now = utcnow()
    claimed = db.session.execute(
        update(GroupDraft)
        .where(GroupDraft.id == draft.id, GroupDraft.submitted_at.is_(None))
        .values(submitted_at=now, submitted_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.refresh(draft)
        raise RuleViolation(_("This draft is already submitted."), status=409)
    if draft.kind == DraftKind.AMENDMENT:
        contribution = amendments.propose_amendment(
            draft.consultation, actor=actor, section_key=draft.section_key, rationale=draft.body, proposed_text=draft.proposed_text
        )
    else:
        contribution = comments.post_comment(
            draft.consultation, actor=actor, body=draft.body, section_key=draft.section_key, language=draft.language
        )
    db.session.execute(
        update(GroupDraft)
        .where(GroupDraft.id == draft.id)
        .values(submitted_contribution_id=contribution.id)
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        GroupSubmission(
            contribution_id=contribution.id, group_id=draft.group_id, draft_id=draft.id, submitted_by_id=actor.id, submitted_at=now
        )
    )
    db.session.flush()
    db.session.refresh(draft)
    sign(contribution, actor=actor, group=draft.group)
    return contribution


def submitting_group(contribution: Contribution) -> Group | None:
    return db.session.scalar(
        select(Group).join(GroupSubmission, GroupSubmission.group_id == Group.id).where(GroupSubmission.contribution_id == contribution.id)
    )


# ---- signatures -----------------------------------------------------------------------------


def has_signed(user: User | None, contribution: Contribution) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(select(Signature.id).where(Signature.contribution_id == contribution.id, Signature.user_id == user.id))
        is not None
    )


def sign(contribution: Contribution, *, actor: User, group: Group | None = None) -> Signature:
    """``actor`` co-signs a group's submission through one of its groups (``group``, or the
    first they are in of those it speaks for: the submitter, then the adopters). One signature
    per person per contribution, however many of its groups they are in: a second is refused
    with "already signed". On an amendment, the signature is also their support vote, so the
    tallies count each person once."""
    if has_signed(actor, contribution):
        raise RuleViolation(_("You have already signed this."), status=409)
    authorize(actor, Action.SIGN, contribution)
    through = _signing_group(actor, contribution, group)
    now = hold_open(contribution.consultation)
    signed = db.session.execute(
        upsert_insert(Signature)
        .values(contribution_id=contribution.id, user_id=actor.id, group_id=through, created_at=now)
        .on_conflict_do_nothing(index_elements=["contribution_id", "user_id"])
        .returning(Signature.id)
    ).first()
    if signed is None:
        raise RuleViolation(_("You have already signed this."), status=409)
    if contribution.kind == ContributionKind.AMENDMENT:
        voting.cast_vote(contribution.consultation, actor=actor, value=VoteValue.SUPPORT.value, contribution=contribution)
    return db.session.get(Signature, signed[0])


def _signing_group(actor: User, contribution: Contribution, group: Group | None) -> int | None:
    groups = submission_group_ids(contribution.id)
    mine = set(
        db.session.scalars(
            select(GroupMembership.group_id).where(GroupMembership.group_id.in_(groups), GroupMembership.user_id == actor.id)
        )
    )
    if group is not None and group.id in mine:
        return group.id
    submitter = db.session.scalar(select(GroupSubmission.group_id).where(GroupSubmission.contribution_id == contribution.id))
    if submitter in mine:
        return submitter
    return min(mine) if mine else None


def withdraw_signature(contribution: Contribution, *, actor: User) -> bool:
    """The signer takes their signature back while the consultation is open (after leaving the
    group too); on an amendment, their vote goes with it if it is still "support" (a vote they
    changed since is theirs to keep). True if there was a signature."""
    authorize(actor, Action.SIGN, contribution)
    hold_open(contribution.consultation)
    withdrawn = (
        db.session.execute(
            delete(Signature)
            .where(Signature.contribution_id == contribution.id, Signature.user_id == actor.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        > 0
    )
    if withdrawn and contribution.kind == ContributionKind.AMENDMENT:
        vote = db.session.scalar(select(Vote.value).where(Vote.contribution_id == contribution.id, Vote.user_id == actor.id))
        if vote == VoteValue.SUPPORT:
            voting.withdraw_vote(contribution.consultation, actor=actor, contribution=contribution)
    return withdrawn


def signer_ids(contribution: Contribution) -> list[int]:
    """Everyone who signed the contribution, in the order they signed."""
    return list(
        db.session.scalars(
            select(Signature.user_id).where(Signature.contribution_id == contribution.id).order_by(Signature.created_at, Signature.id)
        )
    )


# ---- "by GROUP, signed by N members" --------------------------------------------------------


@dataclass
class Credit:
    """What a contribution shows of the groups behind it."""

    group: Group  # the group that submitted it
    signatures: int
    adopted_by: list[Group] = field(default_factory=list)


def credits(contribution_ids: Any) -> dict[int, Credit]:
    """The credit of each of these contributions that a visible group submitted, in three
    queries whatever their number (a hidden group credits nothing: its page is a tombstone)."""
    ids = list(contribution_ids)
    if not ids:
        return {}
    found: dict[int, Credit] = {}
    for cid, group in db.session.execute(
        select(GroupSubmission.contribution_id, Group)
        .join(Group, Group.id == GroupSubmission.group_id)
        .where(GroupSubmission.contribution_id.in_(ids), Group.state == GroupState.VISIBLE)
    ):
        found[cid] = Credit(group=group, signatures=0)
    if not found:
        return found
    for cid, n in db.session.execute(
        select(Signature.contribution_id, func.count())
        .where(Signature.contribution_id.in_(list(found)))
        .group_by(Signature.contribution_id)
    ):
        found[cid].signatures = n
    for cid, group in db.session.execute(
        select(GroupAdoption.contribution_id, Group)
        .join(Group, Group.id == GroupAdoption.group_id)
        .where(GroupAdoption.contribution_id.in_(list(found)), Group.state == GroupState.VISIBLE)
        .order_by(Group.name)
    ):
        found[cid].adopted_by.append(group)
    return found


def credits_in(consultation_id: int) -> dict[int, Credit]:
    """``credits`` of every group submission of a consultation (its pages ask once, whatever
    the number of cards shown)."""
    ids = db.session.scalars(
        select(GroupSubmission.contribution_id)
        .join(Contribution, Contribution.id == GroupSubmission.contribution_id)
        .where(Contribution.consultation_id == consultation_id)
    )
    return credits(ids)


# ---- adoption -------------------------------------------------------------------------------


def adopt(parent: Group, contribution: Contribution, *, actor: User) -> GroupAdoption:
    """A parent group's coordinator takes one of its chapters' submissions as the whole
    organisation's position; once (a second time: a clean "already adopted")."""
    authorize(actor, Action.ADOPT_SUBMISSION, parent)
    chapter = submitting_group(contribution)
    if chapter is None or chapter.parent_id != parent.id:
        raise RuleViolation(_("Only a submission of one of this group's chapters can be adopted."), status=400)
    if contribution.moderation_state != ModerationState.VISIBLE or contribution.is_deleted:
        raise RuleViolation(_("This submission is no longer shown: it cannot be adopted."), status=409)
    adopted = db.session.execute(
        upsert_insert(GroupAdoption)
        .values(group_id=parent.id, contribution_id=contribution.id, adopted_by_id=actor.id, adopted_at=utcnow())
        .on_conflict_do_nothing(index_elements=["group_id", "contribution_id"])
        .returning(GroupAdoption.id)
    ).first()
    if adopted is None:
        raise RuleViolation(_("This group has already adopted this submission."), status=409)
    return db.session.get(GroupAdoption, adopted[0])


@dataclass
class Position:
    """A chapter's submission, as its parent compares them."""

    contribution: Contribution
    chapter: Group
    signatures: int
    adopted: bool


def chapters_positions(parent: Group, viewer: User | None) -> list[tuple[Consultation, list[Position]]]:
    """The parent's chapters' submissions that ``viewer`` may see, side by side per consultation
    (the newest consultation first), with their signatures and whether the parent adopted them."""
    rows = db.session.execute(
        select(Contribution, Group)
        .join(GroupSubmission, GroupSubmission.contribution_id == Contribution.id)
        .join(Group, Group.id == GroupSubmission.group_id)
        .where(Group.parent_id == parent.id, Group.state == GroupState.VISIBLE, visible_contributions(viewer))
        .options(selectinload(Contribution.consultation))
        .order_by(Contribution.created_at)
    ).all()
    if not rows:
        return []
    ids = [c.id for c, _g in rows]
    counts = dict(
        db.session.execute(
            select(Signature.contribution_id, func.count()).where(Signature.contribution_id.in_(ids)).group_by(Signature.contribution_id)
        ).all()
    )
    adopted = set(
        db.session.scalars(
            select(GroupAdoption.contribution_id).where(GroupAdoption.group_id == parent.id, GroupAdoption.contribution_id.in_(ids))
        )
    )
    by_consultation: dict[int, list[Position]] = defaultdict(list)
    consultations: dict[int, Consultation] = {}
    for c, chapter in rows:
        if not can(viewer, Action.VIEW_CONSULTATION, c.consultation):
            continue
        consultations[c.consultation_id] = c.consultation
        by_consultation[c.consultation_id].append(Position(c, chapter, counts.get(c.id, 0), c.id in adopted))
    order = sorted(consultations.values(), key=lambda c: c.id, reverse=True)
    return [(c, by_consultation[c.id]) for c in order]


# ---- the group page -------------------------------------------------------------------------


def group_panel(group: Group, viewer: User | None) -> dict[str, Any]:
    """What the group page shows of the group's drafts and submissions (``groups/_drafts_panel.html``):
    its drafts to those who may read them, its submissions with their signatures, and, for a
    parent group, its chapters' submissions side by side."""
    readable = can(viewer, Action.VIEW_GROUP_MEMBERS, group)
    submissions = list(
        db.session.scalars(
            select(Contribution)
            .join(GroupSubmission, GroupSubmission.contribution_id == Contribution.id)
            .where(GroupSubmission.group_id == group.id, visible_contributions(viewer))
            .options(selectinload(Contribution.consultation))
            .order_by(Contribution.created_at.desc())
        )
    )
    submissions = [c for c in submissions if can(viewer, Action.VIEW_CONSULTATION, c.consultation)]
    return {
        "drafts_readable": readable,
        "drafts_list": drafts_of(group, viewer) if readable else [],
        "drafts_can_start": can(viewer, Action.EDIT_GROUP_DRAFT, group),
        "drafts_submissions": submissions,
        "drafts_credits": credits(c.id for c in submissions),
        "drafts_has_chapters": bool(group.chapters),
    }


def signed_in(user: User | None, consultation_id: int) -> set[int]:
    """The contributions of a consultation ``user`` has signed (one query for a whole page)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return set(
        db.session.scalars(
            select(Signature.contribution_id)
            .join(Contribution, Contribution.id == Signature.contribution_id)
            .where(Signature.user_id == user.id, Contribution.consultation_id == consultation_id)
        )
    )


def visible_group(user: User | None, slug: str) -> Group | None:
    """The group with this slug, unless a moderator hid it (then only the site's admins reach
    its drafts: its page is a tombstone)."""
    return db.session.scalar(select(Group).where(Group.slug == slug, visible_groups(user)))


def visible_submission(user: User | None, contribution_id: int) -> Contribution | None:
    """A contribution a group submitted, if ``user`` may see it and its consultation."""
    contribution = db.session.scalar(
        select(Contribution)
        .join(GroupSubmission, GroupSubmission.contribution_id == Contribution.id)
        .where(Contribution.id == contribution_id, visible_contributions(user))
    )
    if contribution is None or not can(user, Action.VIEW_CONSULTATION, contribution.consultation):
        return None
    return contribution
