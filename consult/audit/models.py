"""The staff audit log: one row per operation an author, admin or moderator did.

The organisation's admins see every row with who did it (``/o/SLUG/audit``); the open record
publishes the rows of a consultation with what was done and when, naming the person only when
they acted as an author or admin (see ``consult.audit.services.public_staff_log``).

This module imports no other domain: the foreign keys and the ``actor`` relationship name their
tables, so every domain's services can record an action without an import cycle.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.models import UTCDateTime, db, utcnow


class StaffOperation(enum.StrEnum):
    # consultations and their text (authors and admins)
    CREATE_CONSULTATION = "create_consultation"
    EDIT_CONSULTATION = "edit_consultation"
    EDIT_TEXT = "edit_text"
    PUBLISH_VERSION = "publish_version"
    OPEN = "open"
    CLOSE = "close"
    REOPEN = "reopen"
    CONCLUDE = "conclude"
    ANSWER_AMENDMENT = "answer_amendment"
    START_NEXT_VERSION = "start_next_version"
    EDIT_SETTINGS = "edit_settings"
    ADD_CITATION = "add_citation"
    REMOVE_CITATION = "remove_citation"
    # the organisation (admins, site admins)
    CREATE_ORGANISATION = "create_organisation"
    GRANT_ROLE = "grant_role"
    REVOKE_ROLE = "revoke_role"
    EDIT_ORGANISATION = "edit_organisation"
    # moderation and synthesis (moderators, and admins acting as moderators)
    APPROVE = "approve"
    HIDE = "hide"
    RESTORE = "restore"
    BLOCK = "block"
    UNBLOCK = "unblock"
    CREATE_THEME = "create_theme"
    TAG_THEME = "tag_theme"
    UNTAG_THEME = "untag_theme"
    WRITE_SUMMARY = "write_summary"
    # the site (site admins)
    EDIT_POLICY = "edit_policy"
    EDIT_SITE = "edit_site"
    CREATE_INVITATION = "create_invitation"
    REVOKE_INVITATION = "revoke_invitation"
    # attachments (issue 21: authors and admins)
    UPLOAD_ATTACHMENT = "upload_attachment"
    DELETE_ATTACHMENT = "delete_attachment"
    # questionnaires (authors and admins)
    EDIT_QUESTIONNAIRE = "edit_questionnaire"
    PUBLISH_QUESTIONNAIRE = "publish_questionnaire"
    # an organisation's webhooks (its admins)
    ADD_WEBHOOK = "add_webhook"
    REMOVE_WEBHOOK = "remove_webhook"
    # groups (issue 20): moderated by the site's admins, in no organisation
    HIDE_GROUP = "hide_group"
    RESTORE_GROUP = "restore_group"
    DISMISS_GROUP_REPORTS = "dismiss_group_reports"
    BAR_FROM_GROUP = "bar_from_group"
    LIFT_GROUP_BAR = "lift_group_bar"

    @property
    def label(self) -> str:
        """What was done, in the interface's language (a str: templates escape it as any text)."""
        return str(OPERATION_LABELS[self])


OPERATION_LABELS: dict[StaffOperation, str] = {
    StaffOperation.CREATE_CONSULTATION: _l("Created the consultation"),
    StaffOperation.EDIT_CONSULTATION: _l("Edited the consultation's details"),
    StaffOperation.EDIT_TEXT: _l("Edited the draft text"),
    StaffOperation.PUBLISH_VERSION: _l("Published a version"),
    StaffOperation.OPEN: _l("Opened the consultation"),
    StaffOperation.CLOSE: _l("Closed the consultation"),
    StaffOperation.REOPEN: _l("Reopened the consultation"),
    StaffOperation.CONCLUDE: _l("Concluded the consultation"),
    StaffOperation.ANSWER_AMENDMENT: _l("Answered an amendment"),
    StaffOperation.START_NEXT_VERSION: _l("Started the next version from accepted amendments"),
    StaffOperation.EDIT_SETTINGS: _l("Changed how people take part"),
    StaffOperation.ADD_CITATION: _l("Cited a contribution in the draft"),
    StaffOperation.REMOVE_CITATION: _l("Removed a citation from the draft"),
    StaffOperation.CREATE_ORGANISATION: _l("Created the organisation"),
    StaffOperation.GRANT_ROLE: _l("Gave a role"),
    StaffOperation.REVOKE_ROLE: _l("Removed a role"),
    StaffOperation.EDIT_ORGANISATION: _l("Edited the organisation's name, description or logo"),
    StaffOperation.APPROVE: _l("Approved a contribution"),
    StaffOperation.HIDE: _l("Hid a contribution"),
    StaffOperation.RESTORE: _l("Restored a contribution"),
    StaffOperation.BLOCK: _l("Blocked a participant"),
    StaffOperation.UNBLOCK: _l("Lifted a block"),
    StaffOperation.CREATE_THEME: _l("Created a theme"),
    StaffOperation.TAG_THEME: _l("Tagged contributions with a theme"),
    StaffOperation.UNTAG_THEME: _l("Untagged contributions from a theme"),
    StaffOperation.WRITE_SUMMARY: _l("Wrote a summary"),
    StaffOperation.EDIT_POLICY: _l("Saved a new version of a site policy"),
    StaffOperation.EDIT_SITE: _l("Changed the site's settings"),
    StaffOperation.CREATE_INVITATION: _l("Made an invitation to sign up"),
    StaffOperation.REVOKE_INVITATION: _l("Revoked an invitation to sign up"),
    StaffOperation.UPLOAD_ATTACHMENT: _l("Attached a file"),
    StaffOperation.DELETE_ATTACHMENT: _l("Removed an attached file"),
    StaffOperation.EDIT_QUESTIONNAIRE: _l("Edited the questionnaire"),
    StaffOperation.PUBLISH_QUESTIONNAIRE: _l("Published a version of the questionnaire"),
    StaffOperation.ADD_WEBHOOK: _l("Added a webhook"),
    StaffOperation.REMOVE_WEBHOOK: _l("Removed a webhook"),
    StaffOperation.HIDE_GROUP: _l("Hid a group"),
    StaffOperation.RESTORE_GROUP: _l("Restored a group"),
    StaffOperation.DISMISS_GROUP_REPORTS: _l("Kept a reported group as it is"),
    StaffOperation.BAR_FROM_GROUP: _l("Barred someone from a group"),
    StaffOperation.LIFT_GROUP_BAR: _l("Let someone back into a group"),
}

#: Operations done in the capacity of a moderator, whoever does them (an admin moderating is
#: "a moderator" in public too): nobody is named for them outside the organisation.
MODERATION_OPERATIONS = frozenset(
    {
        StaffOperation.APPROVE,
        StaffOperation.HIDE,
        StaffOperation.RESTORE,
        StaffOperation.BLOCK,
        StaffOperation.UNBLOCK,
        StaffOperation.CREATE_THEME,
        StaffOperation.TAG_THEME,
        StaffOperation.UNTAG_THEME,
        StaffOperation.WRITE_SUMMARY,
    }
)


class StaffRole(enum.StrEnum):
    """The capacity in which the actor did it."""

    AUTHOR = "author"
    ADMIN = "admin"
    MODERATOR = "moderator"
    SITE_ADMIN = "site_admin"


#: Operations on the site as a whole, done by site admins in no organisation.
SITE_OPERATIONS = frozenset(
    {
        StaffOperation.EDIT_POLICY,
        StaffOperation.EDIT_SITE,
        StaffOperation.CREATE_INVITATION,
        StaffOperation.REVOKE_INVITATION,
        # groups belong to no organisation: the site's admins moderate them
        StaffOperation.HIDE_GROUP,
        StaffOperation.RESTORE_GROUP,
        StaffOperation.DISMISS_GROUP_REPORTS,
        StaffOperation.BAR_FROM_GROUP,
        StaffOperation.LIFT_GROUP_BAR,
    }
)


#: Roles whose people are named in the public record; others appear by their role alone.
NAMED_IN_PUBLIC = frozenset({StaffRole.AUTHOR, StaffRole.ADMIN})


class TargetType(enum.StrEnum):
    ORGANISATION = "organisation"
    CONSULTATION = "consultation"
    VERSION = "version"
    CONTRIBUTION = "contribution"
    USER = "user"
    THEME = "theme"
    SECTION_SUMMARY = "section_summary"
    POLICY = "policy"
    SITE = "site"
    INVITATION = "invitation"
    ATTACHMENT = "attachment"
    GROUP = "group"


def _known(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class StaffAction(db.Model):
    """One operation of a member of staff: who (``actor_id``, kept for the organisation, and the
    ``actor_role`` they acted in), when, in which organisation and consultation, on what
    (``target_type`` + ``target_id``), and a small JSON ``detail`` (the decision, the states...).
    Rows are only ever added, in the transaction of the operation itself."""

    __tablename__ = "staff_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # null once erased
    actor_role: Mapped[str] = mapped_column(String(20))
    #: None for what concerns the whole site rather than one organisation (SITE_OPERATIONS)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    operation: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int | None] = mapped_column()
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor = relationship("User")
    consultation = relationship("Consultation")

    __table_args__ = (
        CheckConstraint(_known("operation", StaffOperation), name="operation_known"),
        CheckConstraint(_known("actor_role", StaffRole), name="actor_role_known"),
        CheckConstraint(_known("target_type", TargetType), name="target_type_known"),
        Index("ix_staff_actions_org_time", "organisation_id", "occurred_at"),
        Index("ix_staff_actions_consultation_time", "consultation_id", "occurred_at"),
    )

    @property
    def label(self) -> str:
        return StaffOperation(self.operation).label
