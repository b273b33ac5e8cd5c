"""What a group's members did in each consultation, a parent group's chapters side by side, and
which groups took part in a consultation (for its outcome page).

Everything is counted in a few grouped queries (never one per member), and only from what the
viewer may see: ``permissions.visible_contributions`` and ``visible_consultations`` decide, so a
hidden comment, a draft consultation or a questionnaire's pseudonymous answer is never counted.
What counts as *taking part* in a consultation: writing a visible comment, reply, annotation,
amendment or statement in it, or voting in it (on a section, a visible amendment or statement).
A member's activity counts whenever it happened (a person who joins brings what they did).

A parent group's panel aggregates its chapters (all its descendants): a row per chapter (its
members, the people who took part, their contributions) and a total in which a person in two
chapters is counted once. An invite-only group's activity is shown only to those who may see
its members (``Action.VIEW_GROUP_MEMBERS``); a chapter the viewer may not see that way, or one
hidden by a moderator, is left out of the parent's figures (and said to be).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, union, union_all
from sqlalchemy.orm import aliased

from consult.accounts.models import User
from consult.comments.models import Anchor
from consult.contributions.models import Contribution, ContributionKind
from consult.core.models import db
from consult.groups.models import Group, GroupMembership, GroupState, GroupSubmission, GroupVisibility, Signature
from consult.permissions import Action, can, visible_consultations, visible_contributions
from consult.proposals.models import Consultation
from consult.voting.models import Vote

#: The kinds a member's activity counts (a questionnaire's free-text answer is pseudonymous: never).
COUNTED_KINDS = (ContributionKind.COMMENT, ContributionKind.REPLY, ContributionKind.AMENDMENT, ContributionKind.STATEMENT)
#: How many consultations the panel lists (the latest the members took part in).
MAX_CONSULTATIONS = 20
#: How many of the members' latest contributions each consultation's row links to.
LINKS_PER_CONSULTATION = 5
#: How deep chapters of chapters are followed (a guard: a cycle of parents cannot loop forever).
MAX_DEPTH = 10


@dataclass
class ConsultationActivity:
    """What the members did in one consultation."""

    consultation: Consultation
    people: int = 0  # distinct members who took part
    comments: int = 0  # comments and replies (not annotations)
    annotations: int = 0  # comments on a quoted passage
    amendments: int = 0
    statements: int = 0
    votes: int = 0
    latest: list[Contribution] = field(default_factory=list)  # links, at most LINKS_PER_CONSULTATION

    @property
    def contributions(self) -> int:
        return self.comments + self.annotations + self.amendments + self.statements


@dataclass
class ChapterRow:
    """One chapter (or the parent group itself) in a parent group's panel."""

    group: Group
    members: int = 0
    people: int = 0  # members who took part in a consultation the viewer can see
    contributions: int = 0


@dataclass
class GroupActivity:
    group: Group
    members: int  # distinct people across the group and the chapters counted
    people: int  # of whom took part in at least one consultation
    contributions: int
    votes: int
    consultations: list[ConsultationActivity]
    chapters: list[ChapterRow]  # empty when the group has no chapter counted
    chapters_left_out: int  # invite-only or hidden chapters the viewer may not see inside


def descendant_ids(group: Group) -> list[int]:
    """The ids of the group's chapters, their chapters, and so on (one query per level)."""
    found: list[int] = []
    seen = {group.id}
    level = [group.id]
    for _depth in range(MAX_DEPTH):
        level = [i for i in db.session.scalars(select(Group.id).where(Group.parent_id.in_(level))) if i not in seen]
        if not level:
            break
        seen.update(level)
        found.extend(level)
    return found


def _counted_groups(group: Group, viewer: User | None) -> tuple[list[Group], int]:
    """The group and those of its descendants whose activity ``viewer`` may see; and how many were left out."""
    ids = descendant_ids(group)
    chapters = list(db.session.scalars(select(Group).where(Group.id.in_(ids)).order_by(Group.name))) if ids else []
    shown = [c for c in chapters if not c.is_hidden and can(viewer, Action.VIEW_GROUP_MEMBERS, c)]
    return [group, *shown], len(chapters) - len(shown)


def _visible_contribution_ids(viewer: User | None) -> Select:
    return (
        select(Contribution.id)
        .join(Consultation, Consultation.id == Contribution.consultation_id)
        .where(visible_contributions(viewer), visible_consultations(viewer))
    )


def _counted_contributions(viewer: User | None) -> ColumnElement[bool]:
    """Contributions of a counted kind that ``viewer`` may see, in a consultation they may see."""
    return and_(
        Contribution.kind.in_([k.value for k in COUNTED_KINDS]),
        visible_contributions(viewer),
        Contribution.consultation_id.in_(select(Consultation.id).where(visible_consultations(viewer))),
    )


def _counted_votes(viewer: User | None) -> ColumnElement[bool]:
    """Votes on a section of a consultation ``viewer`` may see, or on a contribution they may see."""
    return and_(
        Vote.consultation_id.in_(select(Consultation.id).where(visible_consultations(viewer))),
        or_(Vote.contribution_id.is_(None), Vote.contribution_id.in_(_visible_contribution_ids(viewer))),
    )


def _is_annotation() -> ColumnElement[bool]:
    anchored = select(Anchor.id).where(Anchor.contribution_id == Contribution.id, Anchor.version_id == Contribution.version_id)
    return anchored.exists()


def member_activity(group: Group, viewer: User | None) -> GroupActivity:
    """What the members of ``group`` (and of its chapters) did, as ``viewer`` may see it."""
    groups, left_out = _counted_groups(group, viewer)
    group_ids = [g.id for g in groups]
    members = select(GroupMembership.user_id).where(GroupMembership.group_id.in_(group_ids)).distinct()
    contributions_where = and_(Contribution.author_id.in_(members), _counted_contributions(viewer))
    votes_where = and_(Vote.user_id.in_(members), _counted_votes(viewer))

    # 1. contributions per consultation and kind (annotations apart)
    annotation = _is_annotation().label("annotation")
    per_kind = db.session.execute(
        select(Contribution.consultation_id, Contribution.kind, annotation, func.count())
        .where(contributions_where)
        .group_by(Contribution.consultation_id, Contribution.kind, annotation)
    ).all()
    # 2. votes per consultation
    votes = dict(db.session.execute(select(Vote.consultation_id, func.count()).where(votes_where).group_by(Vote.consultation_id)).all())
    # 3. people who took part, per consultation (a person once, whatever they did)
    taking_part = union(
        select(Contribution.consultation_id.label("consultation_id"), Contribution.author_id.label("user_id")).where(contributions_where),
        select(Vote.consultation_id.label("consultation_id"), Vote.user_id.label("user_id")).where(votes_where),
    ).subquery()
    people = dict(
        db.session.execute(
            select(taking_part.c.consultation_id, func.count(func.distinct(taking_part.c.user_id))).group_by(taking_part.c.consultation_id)
        ).all()
    )
    total_people = db.session.scalar(select(func.count(func.distinct(taking_part.c.user_id)))) or 0
    total_members = db.session.scalar(select(func.count()).select_from(members.subquery())) or 0

    rows: dict[int, dict[str, int]] = {}
    for consultation_id, kind, is_annotation, n in per_kind:
        row = rows.setdefault(consultation_id, {})
        key = {"comment": "comments", "reply": "comments", "amendment": "amendments", "statement": "statements"}[kind]
        if is_annotation and kind == ContributionKind.COMMENT:
            key = "annotations"
        row[key] = row.get(key, 0) + n
    for consultation_id in set(votes) | set(people):
        rows.setdefault(consultation_id, {})
    # 4. the consultations themselves, latest first, and their latest contributions (one query)
    consultations = {
        c.id: c
        for c in db.session.scalars(
            select(Consultation)
            .where(Consultation.id.in_(list(rows)))
            .order_by(Consultation.opens_at.desc().nulls_last(), Consultation.id.desc())
        )
    }
    listed = list(consultations.values())[:MAX_CONSULTATIONS]
    latest = _latest_contributions([c.id for c in listed], contributions_where)
    activity = [
        ConsultationActivity(
            consultation=c, people=people.get(c.id, 0), votes=votes.get(c.id, 0), latest=latest.get(c.id, []), **rows[c.id]
        )
        for c in listed
    ]
    return GroupActivity(
        group=group,
        members=total_members,
        people=total_people,
        contributions=sum(sum(r.values()) for r in rows.values()),
        votes=sum(votes.values()),
        consultations=activity,
        chapters=_chapter_rows(groups, viewer) if len(groups) > 1 else [],
        chapters_left_out=left_out,
    )


def _latest_contributions(consultation_ids: list[int], where: ColumnElement[bool]) -> dict[int, list[Contribution]]:
    """The members' latest few contributions in each consultation, in one query (a window)."""
    if not consultation_ids:
        return {}
    ranked = (
        select(
            Contribution.id,
            func.row_number()
            .over(partition_by=Contribution.consultation_id, order_by=(Contribution.created_at.desc(), Contribution.id.desc()))
            .label("rank"),
        )
        .where(where, Contribution.consultation_id.in_(consultation_ids))
        .subquery()
    )
    found: dict[int, list[Contribution]] = {}
    query = (
        select(Contribution)
        .join(ranked, ranked.c.id == Contribution.id)
        .where(ranked.c.rank <= LINKS_PER_CONSULTATION)
        .order_by(Contribution.created_at.desc(), Contribution.id.desc())
    )
    for contribution in db.session.scalars(query):
        found.setdefault(contribution.consultation_id, []).append(contribution)
    return found


def _chapter_rows(groups: list[Group], viewer: User | None) -> list[ChapterRow]:
    """A row per group counted (the parent first, then its chapters by name): members, people
    who took part and contributions, each group on its own (a person in two chapters is in both
    rows; the panel's total counts them once)."""
    ids = [g.id for g in groups]
    membership = aliased(GroupMembership)
    member_counts = dict(
        db.session.execute(
            select(GroupMembership.group_id, func.count()).where(GroupMembership.group_id.in_(ids)).group_by(GroupMembership.group_id)
        ).all()
    )
    contributions = dict(
        db.session.execute(
            select(membership.group_id, func.count(Contribution.id))
            .join(Contribution, Contribution.author_id == membership.user_id)
            .where(membership.group_id.in_(ids), _counted_contributions(viewer))
            .group_by(membership.group_id)
        ).all()
    )
    members = select(GroupMembership.user_id).where(GroupMembership.group_id.in_(ids))
    taking_part = union_all(
        select(Contribution.author_id.label("user_id")).where(Contribution.author_id.in_(members), _counted_contributions(viewer)),
        select(Vote.user_id.label("user_id")).where(Vote.user_id.in_(members), _counted_votes(viewer)),
    ).subquery()
    people = dict(
        db.session.execute(
            select(membership.group_id, func.count(func.distinct(membership.user_id)))
            .where(membership.group_id.in_(ids), membership.user_id.in_(select(taking_part.c.user_id)))
            .group_by(membership.group_id)
        ).all()
    )
    return [
        ChapterRow(group=g, members=member_counts.get(g.id, 0), people=people.get(g.id, 0), contributions=contributions.get(g.id, 0))
        for g in groups
    ]


def group_panel(group: Group, viewer: User | None) -> dict[str, Any]:
    """What the group page shows of its members' activity and its chapters
    (``groups/_activity_panel.html``): ``activity_shown`` (False: the viewer may not see the
    members of an invite-only group, or the group is hidden: only the site's admins see inside
    one) and ``activity`` (a ``GroupActivity``)."""
    if not can(viewer, Action.VIEW_GROUP_MEMBERS, group):
        return {"activity_shown": False, "activity": None}
    return {"activity_shown": True, "activity": member_activity(group, viewer)}


# --- the outcome page: which groups took part, and how many people they represent ----------------


def _represented(consultation: Consultation) -> Select:
    """(group_id, user_id) pairs of the people each group represents in ``consultation``, as the
    public sees it (the outcome page is public):

    - whoever submitted one of the group's visible submissions on its behalf, and everyone who
      signed one through that group (a signature stays when its signer leaves the group, so they
      stay represented);
    - for a *public* group, also its current members who took part on their own (a visible
      contribution, or a vote). An invite-only group's members' activity is for its members
      only, so there only its signatures count.

    Hidden groups represent nobody."""
    public_contributions = select(Contribution.id).where(Contribution.consultation_id == consultation.id, visible_contributions(None))
    signed = (
        select(Signature.group_id.label("group_id"), Signature.user_id.label("user_id"))
        .join(GroupSubmission, GroupSubmission.contribution_id == Signature.contribution_id)
        .where(Signature.contribution_id.in_(public_contributions), Signature.group_id == GroupSubmission.group_id)
    )
    submitters = select(GroupSubmission.group_id.label("group_id"), GroupSubmission.submitted_by_id.label("user_id")).where(
        GroupSubmission.contribution_id.in_(public_contributions)
    )
    authors = select(Contribution.author_id).where(
        Contribution.consultation_id == consultation.id,
        Contribution.kind.in_([k.value for k in COUNTED_KINDS]),
        visible_contributions(None),
    )
    voters = select(Vote.user_id).where(
        Vote.consultation_id == consultation.id,
        or_(Vote.contribution_id.is_(None), Vote.contribution_id.in_(public_contributions)),
    )
    public_groups = select(Group.id).where(Group.visibility == GroupVisibility.PUBLIC.value)
    took_part = select(GroupMembership.group_id.label("group_id"), GroupMembership.user_id.label("user_id")).where(
        GroupMembership.group_id.in_(public_groups),
        or_(GroupMembership.user_id.in_(authors), GroupMembership.user_id.in_(voters)),
    )
    pairs = union(signed, submitters, took_part).subquery()
    visible = select(Group.id).where(Group.state == GroupState.VISIBLE.value)
    return select(pairs.c.group_id, pairs.c.user_id).where(pairs.c.group_id.in_(visible), pairs.c.user_id.is_not(None))


def groups_in(consultation: Consultation) -> list[tuple[Group, int]]:
    """The groups that took part in ``consultation`` (submitted something people signed through
    them, or, for a public group, whose members took part), each with the number of distinct
    people it represents there (see ``_represented``), most people first. Only for a
    consultation the public can see (the outcome page's); nothing otherwise."""
    if not can(None, Action.VIEW_CONSULTATION, consultation):
        return []
    pairs = _represented(consultation).subquery()
    counts = select(pairs.c.group_id, func.count(func.distinct(pairs.c.user_id)).label("people")).group_by(pairs.c.group_id).subquery()
    # a group whose submitter's account is gone still took part
    submitted = (
        select(GroupSubmission.group_id)
        .join(Contribution, Contribution.id == GroupSubmission.contribution_id)
        .where(Contribution.consultation_id == consultation.id, visible_contributions(None))
    )
    rows = db.session.execute(
        select(Group, func.coalesce(counts.c.people, literal(0)))
        .outerjoin(counts, counts.c.group_id == Group.id)
        .where(Group.state == GroupState.VISIBLE.value, or_(counts.c.group_id.is_not(None), Group.id.in_(submitted)))
        .order_by(func.coalesce(counts.c.people, literal(0)).desc(), Group.name)
    ).all()
    return [(group, int(people)) for group, people in rows]


def people_represented(consultation: Consultation) -> int:
    """How many distinct people the groups of ``groups_in`` represent (a person in two groups, or
    who signed through one and voted as a member of another, once)."""
    if not can(None, Action.VIEW_CONSULTATION, consultation):
        return 0
    pairs = _represented(consultation).subquery()
    return db.session.scalar(select(func.count(func.distinct(pairs.c.user_id)))) or 0
