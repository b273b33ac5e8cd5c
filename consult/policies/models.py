"""The site's policies (terms of use, privacy notice, accessibility statement, cookie notice),
every saved version of them, and who agreed to which version.

Version 1 of each policy is the text that ships with Consult (``consult/policies/defaults.py``);
it is not stored. Every save by a site admin adds a row numbered from 2, never changing an
older one. A version is *significant* when it changes what people agree to: for the terms and
the privacy notice, a significant version is asked again at the next sign-in.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.models import UTCDateTime, db, utcnow


class PolicyKind(enum.StrEnum):
    TERMS = "terms"
    PRIVACY = "privacy"
    ACCESSIBILITY = "accessibility"
    COOKIES = "cookies"

    @property
    def title(self) -> str:
        return str(TITLES[self])


TITLES: dict[PolicyKind, LazyString] = {
    PolicyKind.TERMS: _l("Terms of use"),
    PolicyKind.PRIVACY: _l("Privacy notice"),
    PolicyKind.ACCESSIBILITY: _l("Accessibility statement"),
    PolicyKind.COOKIES: _l("Cookie notice"),
}

#: The policies a person agrees to (at sign-up, and again after a significant change).
AGREED_KINDS: tuple[PolicyKind, ...] = (PolicyKind.TERMS, PolicyKind.PRIVACY)

#: The number of the text that ships with Consult; stored versions follow it.
DEFAULT_VERSION = 1


def _kind_known(column: str) -> str:
    return f"{column} IN ({', '.join(repr(k.value) for k in PolicyKind)})"


class PolicyVersion(db.Model):
    """One saved text of a policy: numbered per kind, dated, with who saved it and whether the
    change is significant (asks agreement again) or editorial. Rows are only ever added."""

    __tablename__ = "policy_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    significant: Mapped[bool] = mapped_column()
    #: what changed, in a sentence, shown with the version (and on /agree for significant ones)
    note: Mapped[str] = mapped_column(String(500), default="")
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    saved_by = relationship("User")

    __table_args__ = (
        UniqueConstraint("kind", "number"),
        CheckConstraint(_kind_known("kind"), name="kind_known"),
        CheckConstraint(f"number > {DEFAULT_VERSION}", name="number_after_default"),
    )


class PolicyAgreement(db.Model):
    """A person agreed to version ``version`` of policy ``kind`` at ``agreed_at``."""

    __tablename__ = "policy_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column()
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("user_id", "kind", "version"),
        CheckConstraint(_kind_known("kind"), name="kind_known"),
    )
