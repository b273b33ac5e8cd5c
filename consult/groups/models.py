"""Groups and calls to action (models).

A ``Group`` is a small community (a residents' association, a union branch, a chapter of a
national body) that people join, that can sit inside a parent group, and that acts together
on a consultation: its members write a ``GroupDraft`` together (every save a
``GroupDraftRevision``: who changed what), a coordinator submits it on the group's behalf
(a ``GroupSubmission`` ties the contribution made to the group) and people co-sign it (one
``Signature`` per person per contribution, whichever group they sign through). A parent group
can adopt a chapter's submission as its own position (``GroupAdoption``).

A ``CallToAction`` is published by an organisation or a group coordinator on a consultation,
with a goal and a deadline; its progress is counted from the rows it is about (votes,
comments, signatures, or the ``CallPledge`` rows of people who say they will come).
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import Organisation, User
from consult.contributions.models import Contribution
from consult.core.models import UTCDateTime, db, utcnow
from consult.proposals.models import Consultation

#: How long a group's slug may be (its address: /g/SLUG).
SLUG_LENGTH = 80


class GroupVisibility(enum.StrEnum):
    PUBLIC = "public"  # anyone may read its page and drafts, and anyone signed in may join
    INVITE_ONLY = "invite_only"  # its page names it; members, drafts and joining by invitation only

    @property
    def label(self) -> str:
        return {"public": _l("Public: anyone can join"), "invite_only": _l("Invite-only: people join by invitation")}[self.value]


class GroupRole(enum.StrEnum):
    COORDINATOR = "coordinator"  # edits the group, invites, submits on its behalf, publishes calls
    MEMBER = "member"

    @property
    def label(self) -> str:
        return {"coordinator": _l("Coordinator"), "member": _l("Member")}[self.value]


class GroupState(enum.StrEnum):
    VISIBLE = "visible"
    HIDDEN = "hidden"  # hidden by a moderator: its page shows the public reason, nothing else


class Group(db.Model):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    description_html: Mapped[str] = mapped_column(Text, default="")  # sanitised rendering
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    visibility: Mapped[str] = mapped_column(String(20), default=GroupVisibility.PUBLIC)
    #: the group this one is a chapter of (a national body's local chapter), or None
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"), index=True)
    #: the secret of the group's invitation link (/g/SLUG/join/CODE); a coordinator can change it
    invite_code: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), default=GroupState.VISIBLE)
    hidden_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    parent: Mapped[Group | None] = relationship(remote_side=[id], back_populates="chapters")
    chapters: Mapped[list[Group]] = relationship(back_populates="parent", order_by="Group.name")
    memberships: Mapped[list[GroupMembership]] = relationship(
        back_populates="group", cascade="all, delete-orphan", passive_deletes=True, order_by="GroupMembership.joined_at"
    )

    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'invite_only')", name="visibility_known"),
        CheckConstraint("state IN ('visible', 'hidden')", name="state_known"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    @property
    def is_public(self) -> bool:
        return self.visibility == GroupVisibility.PUBLIC

    @property
    def is_hidden(self) -> bool:
        return self.state == GroupState.HIDDEN

    def __repr__(self) -> str:
        return f"<Group {self.slug}>"


class GroupMembership(db.Model):
    __tablename__ = "group_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=GroupRole.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    group: Mapped[Group] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        CheckConstraint("role IN ('coordinator', 'member')", name="role_known"),
    )

    @property
    def is_coordinator(self) -> bool:
        return self.role == GroupRole.COORDINATOR


class GroupBlock(db.Model):
    """A person a coordinator (or a site moderator) removed from a group and barred from
    joining it again, by its link or its invitation."""

    __tablename__ = "group_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    blocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("group_id", "user_id"),)


class GroupReport(db.Model):
    """Someone signed in flags a group (its name, description or conduct) for the site's
    moderators; one open report per person per group."""

    __tablename__ = "group_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    group: Mapped[Group] = relationship()

    __table_args__ = (
        UniqueConstraint("group_id", "reporter_id"),
        CheckConstraint("reason IN ('spam', 'offensive', 'off_topic', 'personal_data', 'other')", name="reason_known"),
    )


class DraftKind(enum.StrEnum):
    AMENDMENT = "amendment"  # replacement text for a section, with a rationale
    COMMENT = "comment"  # a written submission on a section or on the whole consultation


class GroupDraft(db.Model):
    """What a group's members write together before a coordinator submits it. ``revision``
    counts its saves: an edit made on an older revision than the stored one is refused (two
    members editing at once never overwrite each other unseen)."""

    __tablename__ = "group_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    section_key: Mapped[str | None] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    #: an amendment's replacement text for the section (Markdown); empty for a comment
    proposed_text: Mapped[str] = mapped_column(Text, default="")
    #: an amendment's rationale, or the comment's text (Markdown)
    body: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    revision: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: set once submitted: the contribution it became (a draft is submitted once)
    submitted_contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="SET NULL"), unique=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    group: Mapped[Group] = relationship()
    consultation: Mapped[Consultation] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    submitted_contribution: Mapped[Contribution | None] = relationship()
    revisions: Mapped[list[GroupDraftRevision]] = relationship(
        back_populates="draft", cascade="all, delete-orphan", passive_deletes=True, order_by="GroupDraftRevision.number"
    )

    __table_args__ = (
        CheckConstraint("kind IN ('amendment', 'comment')", name="kind_known"),
        CheckConstraint("kind <> 'amendment' OR section_key IS NOT NULL", name="amendments_have_sections"),
        CheckConstraint("revision > 0", name="revision_positive"),
        CheckConstraint("submitted_contribution_id IS NULL OR submitted_at IS NOT NULL", name="submitted_dated"),
    )

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class GroupDraftRevision(db.Model):
    """The draft as one save left it, and who saved it."""

    __tablename__ = "group_draft_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("group_drafts.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    proposed_text: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    draft: Mapped[GroupDraft] = relationship(back_populates="revisions")
    user: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("draft_id", "number"),)


class GroupSubmission(db.Model):
    """A contribution a coordinator submitted on behalf of a group: "by GROUP"."""

    __tablename__ = "group_submissions"

    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("group_drafts.id", ondelete="SET NULL"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contribution: Mapped[Contribution] = relationship()
    group: Mapped[Group] = relationship()


class GroupAdoption(db.Model):
    """A parent group takes a chapter's submission as the whole organisation's position."""

    __tablename__ = "group_adoptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"), index=True)
    adopted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    adopted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    group: Mapped[Group] = relationship()
    contribution: Mapped[Contribution] = relationship()

    __table_args__ = (UniqueConstraint("group_id", "contribution_id"),)


class Signature(db.Model):
    """A person co-signs a group's submission: one row per person per contribution, whatever
    group they sign through (``group_id`` records which), so a person is counted once.
    Withdrawn (deleted) by its signer while the consultation is open; kept when they leave
    the group."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
    group: Mapped[Group | None] = relationship()

    __table_args__ = (UniqueConstraint("contribution_id", "user_id", name="uq_signatures_contribution_user"),)


class CallKind(enum.StrEnum):
    SUPPORT = "support"  # support an amendment: counts its support votes
    COMMENT = "comment"  # comment on a section (or the consultation): counts the people who did, since the call
    ATTEND = "attend"  # come to an event (a public hearing): counts the people who say they will come
    SIGN = "sign"  # sign a group's submission: counts its signatures

    @property
    def label(self) -> str:
        return {
            "support": _l("Support an amendment"),
            "comment": _l("Comment on the text"),
            "attend": _l("Come to an event"),
            "sign": _l("Sign a submission"),
        }[self.value]


class CallState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # its deadline passed (a job closes it) or its publisher closed it


class CallToAction(db.Model):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    #: who publishes it: an organisation (its staff) or a group (its coordinators); exactly one
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: what to support or sign (SUPPORT, SIGN)
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))
    #: the section to comment on (COMMENT); None: the whole consultation
    section_key: Mapped[str | None] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    body_html: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    goal: Mapped[int] = mapped_column()
    deadline: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: the event (ATTEND): when and where
    event_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    event_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    location: Mapped[str] = mapped_column(String(300), default="", server_default="")
    state: Mapped[str] = mapped_column(String(20), default=CallState.OPEN)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    consultation: Mapped[Consultation] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    group: Mapped[Group | None] = relationship()
    contribution: Mapped[Contribution | None] = relationship()

    __table_args__ = (
        CheckConstraint("(organisation_id IS NULL) <> (group_id IS NULL)", name="one_publisher"),
        CheckConstraint("kind IN ('support', 'comment', 'attend', 'sign')", name="kind_known"),
        CheckConstraint("kind NOT IN ('support', 'sign') OR contribution_id IS NOT NULL", name="has_target"),
        CheckConstraint("kind <> 'attend' OR (event_starts_at IS NOT NULL AND location <> '')", name="events_have_time_and_place"),
        CheckConstraint("event_ends_at IS NULL OR event_ends_at >= event_starts_at", name="event_dates_ordered"),
        CheckConstraint("goal > 0", name="goal_positive"),
        CheckConstraint("state IN ('open', 'closed')", name="state_known"),
        CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="closed_dated"),
        Index("ix_calls_open_deadline", "state", "deadline"),
    )

    @property
    def is_open(self) -> bool:
        return self.state == CallState.OPEN


class CallPledge(db.Model):
    """A person says they will come to a call's event (ATTEND), one row per person."""

    __tablename__ = "call_pledges"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("call_id", "user_id"),)
