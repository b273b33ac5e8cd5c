"""Files attached to a consultation or to one of its versions: PDFs, spreadsheets, documents,
and the images the policy text shows.

A row says what the file is (its kind and type, found from its content by ``checks``), under
which sanitised name it is served, its size and SHA-256, where the storage keeps it
(``storage_key``, made from ids and a random part, never from the name) and who uploaded it when.
An attachment of a version is seen by those who may see that version (a draft's only by its
editors); one of the consultation by those who may see the consultation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.models import UTCDateTime, db, utcnow
from consult.proposals.models import Consultation, Version

KINDS = ("pdf", "image", "spreadsheet", "document", "csv")


class Attachment(db.Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    consultation: Mapped[Consultation] = relationship()
    version: Mapped[Version | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name="kind_known"),
        CheckConstraint("size >= 0", name="size_not_negative"),
    )

    @property
    def is_image(self) -> bool:
        return self.kind == "image"

    @property
    def path(self) -> str:
        """The address the file is served at, as the policy text links to it: ``/files/ID/NAME``."""
        return f"/files/{self.id}/{self.name}"
