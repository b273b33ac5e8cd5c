"""People and the organisations they act for."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.models import UTCDateTime, db, utcnow


class Role(enum.StrEnum):
    """What a member may do for an organisation. An admin can do what authors and moderators do."""

    AUTHOR = "author"
    MODERATOR = "moderator"
    ADMIN = "admin"


#: A role as a choice in a form, and as a word in a sentence ("Ada is now author of …").
ROLE_NAMES = {Role.AUTHOR: _l("Author"), Role.MODERATOR: _l("Moderator"), Role.ADMIN: _l("Admin")}
ROLE_IN_TEXT = {
    Role.AUTHOR: lazy_pgettext("role", "author"),
    Role.MODERATOR: lazy_pgettext("role", "moderator"),
    Role.ADMIN: lazy_pgettext("role", "admin"),
}


class User(UserMixin, db.Model):
    """A person. The email is private; only ``display_name`` is ever shown to others."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lowercased
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80))
    #: the participant's id in another platform (a Pol.is import keeps its participant ids)
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    is_site_admin: Mapped[bool] = mapped_column(default=False)
    #: the interface language the person chose (consult/core/i18n.py); None: their browser's
    language: Mapped[str | None] = mapped_column(String(16))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    def roles_in(self, organisation_id: int) -> frozenset[Role]:
        return frozenset(Role(m.role) for m in self.memberships if m.organisation_id == organisation_id)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.display_name!r}>"


class Organisation(db.Model):
    """A government, council or civic body that runs consultations."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: a small PNG redrawn from the upload (consult/site/images.py); loaded only when served
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    #: when the logo was last set (None: no logo); its URL carries it
    logo_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    logo_alt: Mapped[str] = mapped_column(String(200), default="", server_default="")

    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"


class Membership(db.Model):
    """One role of one user in one organisation; a user may hold several roles."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")

    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id", "role"),
        CheckConstraint("role IN ('author', 'moderator', 'admin')", name="role_known"),
    )

    @property
    def role_label(self) -> str:
        """The role as a word in the interface's language (the stored value stays English)."""
        return str(ROLE_IN_TEXT[Role(self.role)])


class LoginSession(db.Model):
    """A signed-in browser. Signing out deletes the row, so a copied cookie stops working too.

    It ends on the server (``services.user_for_session`` deletes the row) once older than
    ``SESSION_ABSOLUTE_LIFETIME`` or unused for longer than the idle lifetime; ``last_seen_at``
    is written at most once a minute. ``device`` is a short description of the browser
    ("Firefox on Windows") and ``address`` the address it signed in from, shown to its owner
    on the sessions page so they can tell their browsers apart."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    device: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class SignInAttempt(db.Model):
    """Failed sign-ins, counted per account and per address to throttle guessing
    (``throttling``). ``known_device``: the attempt came from a browser that had signed in to
    that account before, whose own failures are counted apart from everyone else's."""

    __tablename__ = "signin_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    known_device: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index("ix_signin_attempts_email_at", "email", "attempted_at"),
        Index("ix_signin_attempts_address_at", "address", "attempted_at"),
    )


class IdentityLink(db.Model):
    """An account at an identity provider (OpenID Connect) that signs a person in here. Known by
    the provider's issuer and the subject it gives the person, never by an email address."""

    __tablename__ = "identity_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))  # the provider's name in OIDC_PROVIDERS when linked
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("issuer", "subject"),)
