"""Attaching files to a consultation or a version, removing them, and reading them back; and
bringing a Word document's text and images into a consultation.

Every function that changes something takes the acting user as ``actor``, checks permission
through ``consult.permissions`` (``EDIT_CONSULTATION``: the organisation's authors and admins,
until the consultation is concluded), flushes, records a staff action, and never commits.

The file is written to the storage (``core.storage``) before its row, under a key made of the
consultation's id and a random part; a transaction that then rolls back leaves an unreferenced
file behind, never a row without its file. A removed attachment's file is deleted by a job once
the removal is committed, so a removal that rolls back loses nothing.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import tempfile
from typing import IO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from consult.attachments import checks
from consult.attachments.models import Attachment
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.core.errors import RuleViolation
from consult.core.jobs import enqueue_after_commit, job
from consult.core.models import db
from consult.core.storage import storage
from consult.permissions import Action, authorize, can_view_attachment, visible_attachments
from consult.proposals import word
from consult.proposals.models import Consultation, Section, Version

MAX_DESCRIPTION = 500


def max_bytes() -> int:
    return int(current_app.config["ATTACHMENT_MAX_BYTES"])


def word_max_bytes() -> int:
    """A Word document brought into the editor may hold several images: five attachments' worth."""
    return max_bytes() * 5


def _spool(stream: IO[bytes], limit: int, name: str) -> tuple[IO[bytes], int, str]:
    """A rewound copy of the upload (in memory up to 1 MB, then on disk), its size and SHA-256;
    refused past ``limit`` bytes without reading further."""
    copy = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (returned)
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            copy.close()
            raise RuleViolation(
                _("“%(name)s” is larger than %(size)s MB, the largest file this site takes.", name=name, size=limit // (1024 * 1024)),
                status=400,
                field="file",
            )
        digest.update(chunk)
        copy.write(chunk)
    copy.seek(0)
    return copy, size, digest.hexdigest()


def upload_attachment(
    consultation: Consultation,
    stream: IO[bytes],
    *,
    actor,
    filename: str,
    version: Version | None = None,
    description: str = "",
    only_images: bool = False,
) -> Attachment:
    """Attach a file to ``consultation`` (or to one of its versions). Its kind is found from its
    content (``checks.identify``): anything not on the allow-list is refused whatever its name,
    as is a file above ``ATTACHMENT_MAX_BYTES``. It is served under a sanitised name ending with
    its kind's extension."""
    authorize(actor, Action.EDIT_CONSULTATION, consultation)
    if version is not None and version.consultation_id != consultation.id:
        raise RuleViolation(_("That version belongs to another consultation."), status=400, field="version")
    description = " ".join((description or "").split())
    if len(description) > MAX_DESCRIPTION:
        raise RuleViolation(_("Keep the description under %(most)s characters.", most=MAX_DESCRIPTION), status=400, field="description")
    shown_name = checks.safe_name(filename, checks.PDF).removesuffix(".pdf")  # for messages only
    copy, size, sha256 = _spool(stream, max_bytes(), shown_name)
    with copy:
        try:
            kind = checks.identify(copy, name=shown_name)
        except checks.Refused as refused:
            raise RuleViolation(str(refused), status=400, field="file") from None
        if only_images and kind.kind != "image":
            raise RuleViolation(_("“%(name)s” is not a PNG, JPEG, GIF or WebP image.", name=shown_name), status=400, field="file")
        key = f"attachments/{consultation.id}/{secrets.token_hex(16)}"
        storage().put(key, copy, content_type=kind.content_type)
    attachment = Attachment(
        consultation=consultation,
        version=version,
        name=checks.safe_name(filename, kind),
        description=description,
        kind=kind.kind,
        content_type=kind.content_type,
        size=size,
        sha256=sha256,
        storage_key=key,
        uploaded_by_id=actor.id,
    )
    db.session.add(attachment)
    db.session.flush()
    record_staff_action(
        StaffOperation.UPLOAD_ATTACHMENT,
        actor=actor,
        target_type=TargetType.ATTACHMENT,
        target_id=attachment.id,
        consultation=consultation,
        detail={"name": attachment.name, "kind": attachment.kind, "size": size, "sha256": sha256},
    )
    return attachment


def shown_in_published_text(attachment: Attachment) -> Version | None:
    """The first published version whose text shows this file, if any."""
    return db.session.scalar(
        select(Version)
        .join(Section, Section.version_id == Version.id)
        .where(
            Version.consultation_id == attachment.consultation_id,
            Version.published_at.is_not(None),
            Section.body.contains(f"/files/{attachment.id}/"),
        )
        .order_by(Version.number)
        .limit(1)
    )


def delete_attachment(attachment: Attachment, *, actor) -> None:
    """Remove an attachment. Refused while a published version's text shows it: published text
    is part of the record and does not change. The file goes once the removal is committed."""
    authorize(actor, Action.EDIT_CONSULTATION, attachment.consultation)
    if (version := shown_in_published_text(attachment)) is not None:
        raise RuleViolation(
            _(
                "“%(name)s” is shown in the text of version %(number)s, which is published, so it stays.",
                name=attachment.name,
                number=version.number,
            ),
            status=409,
        )
    consultation, key = attachment.consultation, attachment.storage_key
    detail = {"name": attachment.name, "sha256": attachment.sha256}
    # A conditional DELETE: of two people removing it at once, one removes it, the other is told.
    removed = db.session.execute(delete(Attachment).where(Attachment.id == attachment.id)).rowcount
    if not removed:
        raise RuleViolation(_("This file has already been removed."), status=409)
    record_staff_action(
        StaffOperation.DELETE_ATTACHMENT,
        actor=actor,
        target_type=TargetType.ATTACHMENT,
        target_id=attachment.id,
        consultation=consultation,
        detail=detail,
    )
    db.session.flush()
    enqueue_after_commit(delete_stored_file, key)


@job()
def delete_stored_file(key: str) -> None:
    """The file of a removed attachment (its row is gone), unless a row names the key again."""
    if db.session.scalar(select(Attachment.id).where(Attachment.storage_key == key)) is None:
        storage().delete(key)


# ---- reading --------------------------------------------------------------------------------


def attachments_of(consultation: Consultation, *, viewer) -> list[Attachment]:
    """The consultation's attachments ``viewer`` may see, oldest first."""
    return list(
        db.session.scalars(
            select(Attachment).where(Attachment.consultation_id == consultation.id, visible_attachments(viewer)).order_by(Attachment.id)
        )
    )


def public_attachments(consultation: Consultation) -> list[Attachment]:
    """What anyone may see: the record's attachments."""
    return attachments_of(consultation, viewer=None)


def visible_attachment(attachment_id: int, *, viewer) -> Attachment | None:
    attachment = db.session.get(Attachment, attachment_id)
    return attachment if attachment is not None and can_view_attachment(viewer, attachment) else None


def open_file(attachment: Attachment):
    """A context manager giving the file's bytes as a stream."""
    return storage().open(attachment.storage_key)


# ---- Word documents -------------------------------------------------------------------------


def read_word_document(consultation: Consultation, stream: IO[bytes], *, actor, filename: str) -> word.WordText:
    """The Markdown of a .docx document, for the author to preview and save as the draft; its
    images are stored as image attachments of the draft version (of the consultation when there
    is no draft yet; each a staff action), so the text shows them from this site. Images that are not PNG, JPEG, GIF or WebP (Word's EMF and
    WMF drawings), or too large, are named in the notes and shown as their description."""
    authorize(actor, Action.EDIT_TEXT, consultation)
    limit = word_max_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise RuleViolation(
            _("“%(name)s” is larger than %(size)s MB.", name=filename, size=limit // (1024 * 1024)), status=400, field="document"
        )

    def store_image(image: word.WordImage) -> str | None:
        extension = image.content_type.rpartition("/")[2] or "png"
        try:
            with db.session.begin_nested():
                stored = upload_attachment(
                    consultation,
                    io.BytesIO(image.data),
                    actor=actor,
                    filename=f"image-{image.number}.{extension}",
                    version=consultation.draft_version,  # seen with the draft; with the consultation when there is none yet
                    description=image.description,
                    only_images=True,
                )
        except RuleViolation:
            return None
        return stored.path

    try:
        return word.read_word_document(io.BytesIO(data), store_image=store_image)
    except word.NotWordDocument:
        raise RuleViolation(
            _("“%(name)s” is not a Word document Consult can read. Open it in Word or LibreOffice and save it as .docx.", name=filename),
            status=400,
            field="document",
        ) from None
