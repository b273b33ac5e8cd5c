"""Amendments: a participant's replacement text for a section, with a rationale, co-supporters
and, in the end, the organisation's answer. An amendment is a ``Contribution`` (kind
``amendment``: its body is the rationale) with one ``Amendment`` row for what only amendments
have. ``Citation`` links a section of a version to the contributions behind its change, and
``ChangeReason`` holds the author's own reason for it."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.accounts.models import User
from consult.contributions.models import Contribution
from consult.core.models import UTCDateTime, db, utcnow
from consult.proposals.models import Version


class AmendmentState(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"
    INCORPORATED = "incorporated"  # a published version contains it


class Decision(enum.StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_IN_PART = "accepted_in_part"
    NOT_ACCEPTED = "not_accepted"
    OUT_OF_SCOPE = "out_of_scope"

    @property
    def label(self) -> str:
        return DECISION_LABELS[self]

    @property
    def answered_label(self) -> str:
        """The amendment's state once answered so: "Answered: accepted in part"."""
        return ANSWERED_LABELS[self]


DECISION_LABELS = {
    Decision.ACCEPTED: _l("Accepted"),
    Decision.ACCEPTED_IN_PART: _l("Accepted in part"),
    Decision.NOT_ACCEPTED: _l("Not accepted"),
    Decision.OUT_OF_SCOPE: _l("Out of scope"),
}
ANSWERED_LABELS = {
    Decision.ACCEPTED: _l("Answered: accepted"),
    Decision.ACCEPTED_IN_PART: _l("Answered: accepted in part"),
    Decision.NOT_ACCEPTED: _l("Answered: not accepted"),
    Decision.OUT_OF_SCOPE: _l("Answered: out of scope"),
}


class Amendment(db.Model):
    __tablename__ = "amendments"

    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"), primary_key=True)
    #: The consultation (its contribution's) and the amendment's number in it: A1, A2, … in the
    #: order they were proposed, never reused (``amendment_numbers`` counts), unique by a key.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    #: The section's whole Markdown body as the amendment would have it.
    proposed_text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default=AmendmentState.OPEN)
    decision: Mapped[str | None] = mapped_column(String(20))
    answer: Mapped[str] = mapped_column(Text, default="")  # the reason, Markdown
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    incorporated_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id", ondelete="SET NULL"))

    contribution: Mapped[Contribution] = relationship(backref=db.backref("amendment", uselist=False, cascade="all, delete-orphan"))
    answered_by: Mapped[User | None] = relationship()
    incorporated_version: Mapped[Version | None] = relationship()
    supporters: Mapped[list[AmendmentSupporter]] = relationship(
        back_populates="amendment", order_by="AmendmentSupporter.created_at", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("state IN ('open', 'answered', 'withdrawn', 'incorporated')", name="state_known"),
        CheckConstraint(
            "decision IS NULL OR decision IN ('accepted', 'accepted_in_part', 'not_accepted', 'out_of_scope')",
            name="decision_known",
        ),
        # An answered (or incorporated) amendment has a decision and a date; an open or withdrawn one neither.
        CheckConstraint(
            "(state IN ('open', 'withdrawn')) = (decision IS NULL) AND (decision IS NULL) = (answered_at IS NULL)",
            name="answered_has_decision",
        ),
        CheckConstraint("(state = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn_has_date"),
        CheckConstraint("(state = 'incorporated') = (incorporated_version_id IS NOT NULL)", name="incorporated_has_version"),
        CheckConstraint("number > 0", name="number_positive"),
        UniqueConstraint("consultation_id", "number"),
    )

    @property
    def label(self) -> str:
        """How people name it: "A3", the third amendment proposed in its consultation."""
        return f"A{self.number}"

    @property
    def is_withdrawn(self) -> bool:
        return self.state == AmendmentState.WITHDRAWN

    @property
    def decision_label(self) -> str:
        return Decision(self.decision).label if self.decision else ""


class AmendmentNumbering(db.Model):
    """The last amendment number given in a consultation. Taking the next one is one UPSERT
    (``amendments.services.next_amendment_number``), which locks this row until the proposal
    commits, so racing proposals get distinct numbers without a retry, and a number is never
    given twice (not even after the last amendment is deleted)."""

    __tablename__ = "amendment_numbers"

    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


def take_number(dialect: str, consultation_id: int):
    """The statement that takes the consultation's next amendment number and returns it: one
    UPSERT of its ``amendment_numbers`` row (see ``amendments.services.next_amendment_number``)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(AmendmentNumbering)
        .values(consultation_id=consultation_id, last_number=1)
        .on_conflict_do_update(index_elements=["consultation_id"], set_={"last_number": AmendmentNumbering.last_number + 1})
        .returning(AmendmentNumbering.last_number)
    )


@event.listens_for(Amendment, "before_insert")
def _numbered(mapper, connection, amendment: Amendment) -> None:
    """An amendment row made without a number (imports, fixtures) takes the next one as well."""
    if amendment.consultation_id is None:
        amendment.consultation_id = amendment.contribution.consultation_id
    if amendment.number is None:
        amendment.number = connection.execute(take_number(connection.dialect.name, amendment.consultation_id)).scalar_one()


class AmendmentSupporter(db.Model):
    """Someone who joins an amendment as a co-supporter (a co-signatory, not a vote)."""

    __tablename__ = "amendment_supporters"

    id: Mapped[int] = mapped_column(primary_key=True)
    amendment_id: Mapped[int] = mapped_column(ForeignKey("amendments.contribution_id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    amendment: Mapped[Amendment] = relationship(back_populates="supporters")
    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("amendment_id", "user_id"),)


class Citation(db.Model):
    """A change in a section of a version, traced to a contribution behind it."""

    __tablename__ = "citations"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    section_key: Mapped[str] = mapped_column(String(80))
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    version: Mapped[Version] = relationship()
    contribution: Mapped[Contribution] = relationship()

    __table_args__ = (
        UniqueConstraint("version_id", "section_key", "contribution_id"),
        Index("ix_citations_contribution", "contribution_id"),
    )


#: How long the author's own reason for a section's change may be: a sentence or two.
MAX_CHANGE_REASON_LENGTH = 1000


class ChangeReason(db.Model):
    """Why a section changed in a version (or was added, or removed: then ``section_key`` is the
    removed section's key), in the author's words: a short ``reason``, or the mark that the change
    is ``editorial`` only (wording, numbering, layout). With the citations, it explains the change:
    a version after the first is published only when every changed, added and removed section has
    one or the other."""

    __tablename__ = "change_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    section_key: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text, default="")
    editorial: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    version: Mapped[Version] = relationship()

    __table_args__ = (
        UniqueConstraint("version_id", "section_key"),
        # A row says something: a reason, the editorial mark, or both.
        CheckConstraint("editorial OR reason <> ''", name="says_why"),
        CheckConstraint(f"length(reason) <= {MAX_CHANGE_REASON_LENGTH}", name="reason_short"),
    )
