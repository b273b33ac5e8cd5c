"""Attachments: the authors' page of a consultation's files, and every uploaded file served
from ``/files/ID/NAME`` in a way that cannot run as a page of this site."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from consult.attachments import services
from consult.attachments.forms import AttachmentForm, RemoveForm
from consult.core.errors import RuleViolation
from consult.core.forms import refuse_invalid, refused_on
from consult.core.models import db
from consult.core.params import body_limit
from consult.core.routing import public
from consult.core.storage import iter_chunks
from consult.permissions import Action, authorize, can_view_attachment
from consult.proposals import services as proposals
from consult.proposals.models import Consultation

bp = Blueprint("attachments", __name__)

#: Headers of every served file: never sniffed into another type, never run as a page (a
#: sandboxed document with nothing allowed), never framed, never read by another site's page.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _consultation_or_404(slug: str, action: Action | None = None) -> Consultation:
    consultation = proposals.get_visible_consultation(current_user, slug) or abort(404)
    if action is not None:
        authorize(current_user, action, consultation)
    return consultation


@bp.app_context_processor
def attachment_helpers():
    """``attachments_for(consultation)``: what the reader may see of its files (the consultation
    page's include, ``attachments/_list.html``)."""
    return {"attachments_for": lambda consultation: services.attachments_of(consultation, viewer=current_user)}


@bp.route("/c/<slug>/attachments", methods=["GET", "POST"])
@body_limit(lambda app: int(app.config["ATTACHMENT_MAX_BYTES"]) + 64 * 1024)  # the attachments' own limit
def manage(slug: str):
    c = _consultation_or_404(slug, Action.EDIT_CONSULTATION)
    form = AttachmentForm()
    versions = {str(v.number): v for v in c.versions}
    form.attach_to.choices = [SelectChoice("", _("The consultation"))] + [
        SelectChoice(
            number,
            _("Version %(number)s", number=number)
            if v.is_published
            else _("Version %(number)s (draft: seen only by its editors until published)", number=number),
        )
        for number, v in versions.items()
    ]
    if form.validate_on_submit():
        upload = form.file.data
        try:
            attachment = services.upload_attachment(
                c,
                upload.stream,
                actor=current_user,
                filename=upload.filename or "file",
                version=versions.get(form.attach_to.data or ""),
                description=form.description.data or "",
            )
        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="file"):
                raise
        else:
            db.session.commit()
            flash(_("“%(name)s” is attached.", name=attachment.name), "success")
            return redirect(url_for("attachments.manage", slug=c.slug) + f"#attachment-{attachment.id}")
    return render_template(
        "attachments/manage.html", consultation=c, form=form, attachments=services.attachments_of(c, viewer=current_user)
    ), 400 if form.errors else 200


@bp.route("/c/<slug>/attachments/<int:attachment_id>/delete", methods=["POST"])
def delete(slug: str, attachment_id: int):
    c = _consultation_or_404(slug, Action.EDIT_CONSULTATION)
    attachment = services.visible_attachment(attachment_id, viewer=current_user)
    if attachment is None or attachment.consultation_id != c.id:
        abort(404)
    form = RemoveForm()
    form.validate() or refuse_invalid(form)
    name = attachment.name
    services.delete_attachment(attachment, actor=current_user)
    db.session.commit()
    flash(_("“%(name)s” is removed.", name=name), "success")
    return redirect(url_for("attachments.manage", slug=c.slug))


@bp.route("/files/<int:attachment_id>/<name>")
@public
def serve(attachment_id: int, name: str):
    """The file, to whoever may see what it is attached to (else 404, as for a draft). Images
    are shown inline, everything else downloaded; see ``FILE_HEADERS``."""
    attachment = services.visible_attachment(attachment_id, viewer=current_user)
    if attachment is None or attachment.name != name:
        abort(404)
    etag = attachment.sha256
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        opened = services.open_file(attachment)
        try:
            stream = opened.__enter__()
        except KeyError:
            abort(404, "This file is missing from the storage. Tell the consultation's organisation.")
        # Streamed in chunks, from the folder or the object store alike; closed when the response is.
        response = Response(iter_chunks(stream), content_type=attachment.content_type)
        response.call_on_close(lambda: opened.__exit__(None, None, None))
        response.content_length = attachment.size
    response.set_etag(etag)
    disposition = "inline" if attachment.is_image else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{attachment.name}"'
    response.headers.update(FILE_HEADERS)
    # A public file may be kept by caches, asked again each time (its ETag answers 304); a draft's never.
    response.headers["Cache-Control"] = "public, no-cache" if can_view_attachment(None, attachment) else "private, no-store"
    return response
