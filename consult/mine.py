"""What became of what a person wrote: each contribution's status, computed in one place.

"My contributions" shows its author everything (published, waiting for a moderator, hidden
and why, deleted, and what followed); the public person page shows only what a visitor may
know (an amendment's answer, incorporation, citations in a published version or in published
summaries, where an annotation's words are in the newest version). Both are read for a page of
contributions in a fixed number of queries, however many contributions the page has.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import selectinload

from consult.accounts.models import User
from consult.amendments.models import Amendment, AmendmentState, Citation
from consult.comments.models import Anchor
from consult.contributions.models import Contribution, ContributionKind, ModerationState
from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.moderation.models import Block, SectionSummary, SummaryCitation, Theme
from consult.permissions import consultations_with_visible_summaries, visible_consultations, visible_contributions
from consult.proposals.models import Consultation, Section, Version

PER_PAGE = 20


class Kind(enum.StrEnum):
    """What the person wrote, as the page names it (an annotation is a comment with a quote)."""

    COMMENT = "comment"
    ANNOTATION = "annotation"
    REPLY = "reply"
    AMENDMENT = "amendment"
    STATEMENT = "statement"
    ANSWER = "answer"  # a questionnaire's free-text answer

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    Kind.COMMENT: _l("Comment"),
    Kind.ANNOTATION: _l("Annotation"),
    Kind.REPLY: lazy_pgettext("noun", "Reply"),
    Kind.AMENDMENT: _l("Amendment"),
    Kind.STATEMENT: _l("Statement"),
    Kind.ANSWER: lazy_pgettext("noun", "Answer"),
}


class State(enum.StrEnum):
    """Where a contribution stands with the moderators (and its author); the first that applies."""

    DELETED = "deleted"  # deleted by its author; a tombstone keeps the replies in place
    HIDDEN = "hidden"  # hidden by a moderator, with a public reason
    PENDING = "pending"  # waiting for a moderator (pre-moderation)
    BLOCKED = "blocked"  # hidden while the organisation blocks its author
    PUBLISHED = "published"


#: Only the author learns these; the public never sees such a contribution on a person's page.
PRIVATE_STATES = frozenset({State.DELETED, State.HIDDEN, State.PENDING, State.BLOCKED})

STATE_TEXT = {
    State.DELETED: _l("Deleted by you"),
    State.HIDDEN: _l("Hidden by a moderator"),
    State.PENDING: _l("Waiting for a moderator"),
    State.BLOCKED: _l("Hidden while this organisation's moderators block you from taking part"),
    State.PUBLISHED: _l("Published"),
}


@dataclass(frozen=True)
class Link:
    endpoint: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Status:
    """One thing that happened to a contribution: ``name`` is stable (filters, styles, tests),
    ``text`` the sentence shown, ``reason`` the organisation's or moderator's words (Markdown
    for an answer, plain text for a hiding), ``link`` where to read more."""

    name: str
    text: str
    reason: str = ""
    link: Link | None = None


@dataclass
class ContributionLine:
    """A contribution with its kind, its state and what followed, as a page lists it."""

    contribution: Contribution
    kind: Kind
    state: Status
    outcomes: list[Status] = field(default_factory=list)
    #: where it happened: its own address, or its consultation where nothing shows it
    link: Link = field(default_factory=lambda: Link("proposals.index", {}))

    @property
    def statuses(self) -> list[Status]:
        return [self.state, *self.outcomes]


# ---- which contributions ------------------------------------------------------------------


def _blocked() -> ColumnElement[bool]:
    return exists(
        select(Block.id)
        .join(Consultation, Consultation.organisation_id == Block.organisation_id)
        .where(Block.user_id == Contribution.author_id, Consultation.id == Contribution.consultation_id)
    )


def _amendment(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(Amendment.contribution_id).where(Amendment.contribution_id == Contribution.id, condition))


def _cited(viewer: User | None) -> ColumnElement[bool]:
    in_version = exists(
        select(Citation.id)
        .join(Version, Version.id == Citation.version_id)
        .where(Citation.contribution_id == Contribution.id, Version.published_at.is_not(None))
    )
    in_summary = exists(_summary_citations(viewer).where(SummaryCitation.contribution_id == Contribution.id))
    return or_(in_version, in_summary)


def status_filters(viewer: User | None) -> dict[str, tuple[str, ColumnElement[bool]]]:
    """The statuses "My contributions" can be filtered by, each a label and a WHERE clause."""
    not_deleted = Contribution.deleted_at.is_(None)
    state = Contribution.moderation_state
    return {
        "published": (_("Published"), and_(not_deleted, state == ModerationState.VISIBLE.value, ~_blocked())),
        "pending": (_("Waiting for a moderator"), and_(not_deleted, state == ModerationState.PENDING.value)),
        "hidden": (
            _("Hidden"),
            and_(not_deleted, or_(state == ModerationState.HIDDEN.value, and_(state == ModerationState.VISIBLE.value, _blocked()))),
        ),
        "deleted": (_("Deleted by you"), Contribution.deleted_at.is_not(None)),
        "unanswered": (_("Amendments not answered yet"), _amendment(Amendment.state == AmendmentState.OPEN.value)),
        "answered": (_("Amendments answered"), _amendment(Amendment.decision.is_not(None))),
        "incorporated": (_("Amendments incorporated"), _amendment(Amendment.state == AmendmentState.INCORPORATED.value)),
        "withdrawn": (_("Amendments withdrawn"), _amendment(Amendment.state == AmendmentState.WITHDRAWN.value)),
        "cited": (_("Cited in a summary or a new version"), _cited(viewer)),
    }


def my_contributions_query(author: User, *, consultation_id: int | None = None, status: str | None = None) -> Select:
    """Everything ``author`` wrote (deleted tombstones, hidden and waiting ones too), in every
    consultation, newest first; optionally in one consultation, or with one status of
    :func:`status_filters` (an unknown status is refused)."""
    query = select(Contribution).where(Contribution.author_id == author.id)
    if consultation_id is not None:
        query = query.where(Contribution.consultation_id == consultation_id)
    if status:
        filters = status_filters(author)
        if status not in filters:
            raise RuleViolation(_("There is no status “%(status)s” to filter by.", status=status[:40]), status=400)
        query = query.where(filters[status][1])
    return query.order_by(Contribution.created_at.desc(), Contribution.id.desc())


def consultations_written_in(author: User) -> list[Consultation]:
    """The consultations ``author`` wrote something in (the consultation filter's choices)."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(Consultation.id.in_(select(Contribution.consultation_id).where(Contribution.author_id == author.id)))
            .order_by(Consultation.title)
        )
    )


def public_contributions_query(author: User, viewer: User | None) -> Select:
    """What ``author`` wrote that the public can see, in the consultations ``viewer`` may see, newest first."""
    return (
        select(Contribution)
        .join(Consultation, Consultation.id == Contribution.consultation_id)
        .where(Contribution.author_id == author.id, visible_contributions(None), visible_consultations(viewer))
        .order_by(Contribution.created_at.desc(), Contribution.id.desc())
    )


@dataclass
class ContributionsPage:
    """A page of someone's contributions with their statuses (the names are the templates')."""

    pagination: Any  # Flask-SQLAlchemy's Pagination: its items are the contributions of ``lines``
    lines: list[ContributionLine]
    #: "My contributions" only: the filters' choices and what is chosen
    consultations: list[Consultation] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    consultation: Consultation | None = None
    status: str = ""


def my_contributions(
    author: User, *, page: int, consultation_slug: str = "", status: str = "", per_page: int = PER_PAGE
) -> ContributionsPage:
    """A page of "My contributions": everything ``author`` wrote with everything that became
    of it, optionally in the consultation ``consultation_slug`` (one they wrote in) or with one
    status of :func:`status_filters` (anything else is refused)."""
    consultations = consultations_written_in(author)
    chosen = next((c for c in consultations if c.slug == consultation_slug), None)
    if consultation_slug and chosen is None:
        raise RuleViolation(_("You have written nothing in a consultation at that address."), status=404)
    query = my_contributions_query(author, consultation_id=chosen.id if chosen else None, status=status or None)
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
    return ContributionsPage(
        pagination=pagination,
        lines=contribution_lines(list(pagination.items), viewer=author),
        consultations=consultations,
        statuses={name: label for name, (label, _where) in status_filters(author).items()},
        consultation=chosen,
        status=status,
    )


def public_contributions(person: User, viewer: User | None, *, page: int, per_page: int = PER_PAGE) -> ContributionsPage:
    """A page of what ``person`` wrote that the public sees, with the statuses the public may
    know (the same for everyone, the person included: it is their public page)."""
    pagination = db.paginate(public_contributions_query(person, viewer), page=page, per_page=per_page, error_out=False, count=True)
    return ContributionsPage(pagination=pagination, lines=contribution_lines(list(pagination.items), viewer=None))


# ---- their statuses -----------------------------------------------------------------------


def _summary_citations(viewer: User | None) -> Select:
    """Citations in the summaries ``viewer`` may read (the public: once the consultation is concluded)."""
    return (
        select(SummaryCitation.contribution_id, Theme.name, SectionSummary.section_key, SectionSummary.consultation_id)
        .outerjoin(Theme, Theme.id == SummaryCitation.theme_id)
        .outerjoin(SectionSummary, SectionSummary.id == SummaryCitation.section_summary_id)
        .where(func.coalesce(Theme.consultation_id, SectionSummary.consultation_id).in_(consultations_with_visible_summaries(viewer)))
    )


def contribution_lines(contributions: Sequence[Contribution], *, viewer: User | None) -> list[ContributionLine]:
    """Each contribution with everything ``viewer`` may know of what became of it: its author
    learns whether it waits for a moderator, was hidden (and why) or deleted; everyone learns an
    amendment's answer and reason, the version that incorporated it or that it was withdrawn,
    the changed sections of published versions and the published summaries that cite it, and
    where an annotation's words are in the newest published version. Seven queries, whatever
    the number of contributions."""
    if not contributions:
        return []
    ids = [c.id for c in contributions]
    # What the lines read of each contribution, loaded for all at once (the rows are in the
    # session already: these fill their collections).
    db.session.scalars(
        select(Contribution)
        .where(Contribution.id.in_(ids))
        .options(selectinload(Contribution.anchors), selectinload(Contribution.consultation).selectinload(Consultation.versions))
    ).all()
    amendments = {a.contribution_id: a for a in db.session.scalars(select(Amendment).where(Amendment.contribution_id.in_(ids)))}
    in_versions: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for contribution_id, number, key, heading in db.session.execute(
        select(Citation.contribution_id, Version.number, Citation.section_key, Section.heading)
        .join(Version, Version.id == Citation.version_id)
        .outerjoin(Section, and_(Section.version_id == Citation.version_id, Section.key == Citation.section_key))
        .where(Citation.contribution_id.in_(ids), Version.published_at.is_not(None))
        .order_by(Version.number, Citation.section_key)
    ):
        in_versions[contribution_id].append((number, key, heading or key))
    newest_heading = (
        select(Section.heading)
        .join(Version, Version.id == Section.version_id)
        .where(
            Version.consultation_id == SectionSummary.consultation_id,
            Section.key == SectionSummary.section_key,
            Version.published_at.is_not(None),
        )
        .order_by(Version.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    in_summaries: dict[int, list[tuple[str | None, str | None]]] = defaultdict(list)
    for contribution_id, theme, _key, _consultation, heading in db.session.execute(
        _summary_citations(viewer).add_columns(newest_heading).where(SummaryCitation.contribution_id.in_(ids)).order_by(SummaryCitation.id)
    ):
        in_summaries[contribution_id].append((theme, heading or _key))
    author_ids = {c.author_id for c in contributions if viewer is not None and c.author_id == viewer.id}
    blocked_in = set(db.session.scalars(select(Block.organisation_id).where(Block.user_id.in_(author_ids)))) if author_ids else set[int]()

    lines = []
    for c in contributions:
        private = viewer is not None and c.author_id == viewer.id
        state = _state(c, private=private, blocked_in=blocked_in)
        line = ContributionLine(contribution=c, kind=_kind(c), state=state, link=_link(c, state))
        amendment = amendments.get(c.id)
        if amendment is not None:
            line.outcomes.extend(_amendment_outcomes(c, amendment, private=private))
        for theme, heading in in_summaries.get(c.id, []):
            if theme:
                cited = _("Cited in the summary of the theme “%(theme)s”", theme=theme)
            else:
                cited = _("Cited in the summary of the section “%(section)s”", section=heading)
            line.outcomes.append(Status("cited-in-summary", cited, link=Link("outcome.show", {"slug": c.consultation.slug})))
        for number, _key, heading in in_versions.get(c.id, []):
            line.outcomes.append(
                Status(
                    "cited-in-version",
                    _("Cited for the change to “%(section)s” in version %(number)s", section=heading, number=number),
                    link=_version_link(c.consultation, number),
                )
            )
        if (anchor := _anchor_status(c)) is not None:
            line.outcomes.append(anchor)
        lines.append(line)
    return lines


def _kind(c: Contribution) -> Kind:
    if c.kind == ContributionKind.COMMENT and c.anchors:
        return Kind.ANNOTATION
    return Kind(c.kind)


def _state(c: Contribution, *, private: bool, blocked_in: set[int]) -> Status:
    """Its state as its author sees it; everyone else only ever sees published ones listed."""
    if not private:
        return Status(State.PUBLISHED, str(STATE_TEXT[State.PUBLISHED]))
    if c.is_deleted:
        state = State.DELETED
    elif c.moderation_state == ModerationState.HIDDEN:
        return Status(State.HIDDEN, str(STATE_TEXT[State.HIDDEN]), reason=c.hidden_reason)
    elif c.is_pending:
        state = State.PENDING
    elif c.consultation.organisation_id in blocked_in:
        state = State.BLOCKED
    else:
        state = State.PUBLISHED
    return Status(state, str(STATE_TEXT[state]))


def _link(c: Contribution, state: Status) -> Link:
    """Its permanent address, except where no page shows it (a hidden amendment or statement
    leaves no tombstone; a blocked author's words are gone while the block lasts): there, its
    consultation."""
    tombstone_kinds = (ContributionKind.COMMENT, ContributionKind.REPLY)
    if state.name == State.BLOCKED or (state.name == State.HIDDEN and c.kind not in tombstone_kinds):
        return Link("proposals.consultation", {"slug": c.consultation.slug})
    return Link("comments.show", {"contribution_id": c.id})


def _amendment_outcomes(c: Contribution, amendment: Amendment, *, private: bool) -> list[Status]:
    if amendment.state == AmendmentState.WITHDRAWN:
        return [Status("withdrawn", _("Withdrawn by you") if private else _("Withdrawn by its author"))]
    if amendment.decision is None:
        return [Status("unanswered", _("Not answered yet"))]
    answer = Link("amendments.show", {"contribution_id": c.id, "_anchor": "answer"})
    decision = str(amendment.decision_label).lower()
    outcomes = [Status("answered", _("Answered: %(decision)s", decision=decision), reason=amendment.answer, link=answer)]
    if amendment.state == AmendmentState.INCORPORATED:
        number = next((v.number for v in c.consultation.versions if v.id == amendment.incorporated_version_id), None)
        if number is not None:
            incorporated = _("Incorporated into version %(number)s", number=number)
            outcomes.append(Status("incorporated", incorporated, link=_version_link(c.consultation, number)))
    return outcomes


def _version_link(consultation: Consultation, number: int) -> Link:
    """What changed in version ``number`` (the version itself if it is the first)."""
    if number > 1:
        return Link("proposals.diff", {"slug": consultation.slug, "from": number - 1, "to": number})
    return Link("proposals.version", {"slug": consultation.slug, "number": number})


def _anchor_text(state: str, number: int) -> str:
    """Where an annotation's quoted words are in version ``number``, said in a sentence."""
    texts = {
        "anchored": _("The words it quotes are unchanged in version %(number)s", number=number),
        "changed": _("The wording of the passage it quotes changed in version %(number)s", number=number),
        "moved": _("The passage it quotes moved to another section in version %(number)s", number=number),
        "orphaned": _("The passage it quotes is no longer in version %(number)s", number=number),
    }
    return texts[state]


def _anchor_status(c: Contribution) -> Status | None:
    """Where an annotation's words are in the newest published version, once there is a newer
    one than the version it was written on."""
    newest = c.consultation.current_version
    if c.anchor is None or newest is None or newest.id == c.version_id:
        return None
    placed: Anchor | None = c.anchor_on(newest)
    if placed is None:
        return None
    return Status(f"anchor-{placed.state}", _anchor_text(placed.state, newest.number))
