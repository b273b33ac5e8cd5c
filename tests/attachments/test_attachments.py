"""Attachments over HTTP, each test on both storages (``storage`` fixture: the folder, and the
S3-compatible server): what is accepted is decided by content, every file is served so that it
cannot run as a page, drafts' files stay private, uploads and removals are audited, and the
record carries the files with their checksums."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from sqlalchemy import select

from consult.attachments.models import Attachment
from consult.audit.models import StaffAction
from consult.core.models import db
from consult.proposals import services as proposals
from consult.proposals.importing import split_markdown
from consult.record import export
from tests.attachments.conftest import ods_bytes, pdf_bytes, png_bytes, stored_keys, xlsx_bytes
from tests.factories import explain_changes, login, make_user


def upload(client, slug, data: bytes, filename: str, *, description: str = "", attach_to: str = ""):
    return client.post(
        f"/c/{slug}/attachments",
        data={"file": (io.BytesIO(data), filename), "description": description, "attach_to": attach_to},
        content_type="multipart/form-data",
    )


def attachments() -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).order_by(Attachment.id)))


def test_a_pdf_is_attached_stored_and_served_as_a_download(client, storage, open_consultation, author):
    login(client, author)
    data = pdf_bytes()
    answer = upload(client, open_consultation.slug, data, "Impact assessment.pdf", description="Impact assessment")
    assert answer.status_code == 302
    [attachment] = attachments()
    assert (attachment.name, attachment.kind, attachment.size) == ("Impact-assessment.pdf", "pdf", len(data))
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_keys(storage) == {attachment.storage_key}

    client.get("/signout")  # anyone may download it: the consultation is open
    anonymous = client.application.test_client()
    served = anonymous.get(attachment.path)
    assert served.status_code == 200 and served.data == data
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"] == 'attachment; filename="Impact-assessment.pdf"'
    assert served.headers["Content-Security-Policy"].startswith("sandbox;")
    assert anonymous.get(attachment.path, headers={"If-None-Match": f'"{attachment.sha256}"'}).status_code == 304
    assert anonymous.get(f"/files/{attachment.id}/other-name.pdf").status_code == 404
    page = anonymous.get(f"/c/{open_consultation.slug}").get_data(as_text=True)
    assert "Impact assessment" in page and attachment.path in page


def test_html_disguised_as_a_pdf_is_refused_and_nothing_is_stored(client, storage, open_consultation, author):
    login(client, author)
    answer = upload(client, open_consultation.slug, b"<!doctype html><script>alert(document.cookie)</script>", "report.pdf")
    assert answer.status_code == 400
    assert "is not a kind of file Consult accepts (whatever its name says)" in answer.get_data(as_text=True)
    assert attachments() == [] and stored_keys(storage) == set()


@pytest.mark.parametrize(
    "data, filename",
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.png"),
        (b"%PDF-1.7\n<html><script>alert(1)</script>", "cut-short.pdf"),  # no end: not a complete PDF
        (b"MZ\x90\x00\x03\x00\x00\x00", "tool.xlsx"),
        (b"\x00\x01\x02binary", "data.csv"),
        (b"", "empty.pdf"),
    ],
)
def test_what_is_not_on_the_allow_list_is_refused_whatever_its_name(client, storage, open_consultation, author, data, filename):
    login(client, author)
    assert upload(client, open_consultation.slug, data, filename).status_code == 400
    assert attachments() == [] and stored_keys(storage) == set()


def test_a_zip_that_is_no_spreadsheet_is_refused(client, storage, open_consultation, author):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("index.html", "<script>alert(1)</script>")
    login(client, author)
    answer = upload(client, open_consultation.slug, out.getvalue(), "budget.xlsx")
    assert answer.status_code == 400 and "not a spreadsheet or document" in answer.get_data(as_text=True)
    assert stored_keys(storage) == set()


def test_spreadsheets_images_and_csv_are_typed_by_content(client, storage, open_consultation, author):
    login(client, author)
    for data, filename in [
        (xlsx_bytes(), "budget.xls"),
        (ods_bytes(), "budget"),
        (b"year,amount\n2026,100\n", "figures.txt"),
        (png_bytes(), "chart.jpeg"),
    ]:
        assert upload(client, open_consultation.slug, data, filename).status_code == 302, filename
    kinds = [(a.name, a.kind, a.content_type) for a in attachments()]
    assert kinds == [
        ("budget.xls.xlsx", "spreadsheet", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("budget.ods", "spreadsheet", "application/vnd.oasis.opendocument.spreadsheet"),
        ("figures.txt.csv", "csv", "text/csv; charset=utf-8"),
        ("chart.jpeg.png", "image", "image/png"),
    ]
    image = attachments()[-1]
    served = client.get(image.path)
    assert served.headers["Content-Type"] == "image/png" and served.headers["Content-Disposition"].startswith("inline;")
    sheet = client.get(attachments()[0].path)
    assert sheet.headers["Content-Disposition"].startswith("attachment;") and sheet.headers["X-Content-Type-Options"] == "nosniff"


def test_the_name_is_sanitised(client, storage, open_consultation, author):
    login(client, author)
    assert upload(client, open_consultation.slug, pdf_bytes(), '../../<script>Résumé.html').status_code == 302
    [attachment] = attachments()
    assert attachment.name == "script-Resume.html.pdf"
    assert "/" not in attachment.storage_key.removeprefix(f"attachments/{open_consultation.id}/")
    served = client.get(attachment.path)
    assert served.headers["Content-Disposition"] == 'attachment; filename="script-Resume.html.pdf"'


def test_the_size_limit_is_a_setting(client, app, storage, open_consultation, author, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1024 * 1024)
    login(client, author)
    big = pdf_bytes()[:-6] + b" " * (1024 * 1024) + b"\n%%EOF\n"
    answer = upload(client, open_consultation.slug, big, "big.pdf")
    assert answer.status_code in (400, 413)
    assert attachments() == [] and stored_keys(storage) == set()


def test_a_draft_consultations_files_are_not_served_publicly(client, storage, draft_consultation, author, citizen):
    login(client, author)
    assert upload(client, draft_consultation.slug, pdf_bytes(), "plan.pdf").status_code == 302
    [attachment] = attachments()
    served = client.get(attachment.path)
    assert served.status_code == 200 and served.headers["Cache-Control"] == "private, no-store"
    login(client, citizen)
    assert client.get(attachment.path).status_code == 404
    assert client.application.test_client().get(attachment.path).status_code == 404


def test_a_draft_versions_files_wait_for_its_publication(client, storage, open_consultation, author):
    draft = proposals.save_draft_text(open_consultation, split_markdown("## Scope\n\nNew text."), actor=author)
    db.session.commit()
    login(client, author)
    assert upload(client, open_consultation.slug, png_bytes(), "map.png", attach_to=str(draft.number)).status_code == 302
    [attachment] = attachments()
    assert attachment.version_id == draft.id
    anonymous = client.application.test_client()
    assert anonymous.get(attachment.path).status_code == 404
    assert attachment.path not in anonymous.get(f"/c/{open_consultation.slug}").get_data(as_text=True)
    explain_changes(open_consultation, author)
    proposals.publish_version(open_consultation, actor=author, note="Updated.")
    db.session.commit()
    assert anonymous.get(attachment.path).status_code == 200


def test_only_the_organisations_editors_attach_and_remove(client, storage, open_consultation, author, citizen, moderator):
    for person in (citizen, moderator):
        login(client, person)
        assert upload(client, open_consultation.slug, pdf_bytes(), "x.pdf").status_code == 403
    assert client.application.test_client().get(f"/c/{open_consultation.slug}/attachments").status_code in (302, 401)
    login(client, author)
    upload(client, open_consultation.slug, pdf_bytes(), "x.pdf")
    [attachment] = attachments()
    login(client, citizen)
    assert client.post(f"/c/{open_consultation.slug}/attachments/{attachment.id}/delete").status_code == 403
    assert stored_keys(storage) == {attachment.storage_key}


def test_uploads_and_removals_are_audited_and_the_file_goes_after_the_commit(client, storage, open_consultation, author):
    login(client, author)
    upload(client, open_consultation.slug, pdf_bytes(), "x.pdf")
    [attachment] = attachments()
    key, attachment_id = attachment.storage_key, attachment.id
    assert client.post(f"/c/{open_consultation.slug}/attachments/{attachment_id}/delete").status_code == 302
    assert attachments() == [] and key not in stored_keys(storage)
    log = db.session.scalars(select(StaffAction).where(StaffAction.target_type == "attachment").order_by(StaffAction.id)).all()
    assert [(e.operation, e.target_id, e.actor_id, e.detail["name"]) for e in log] == [
        ("upload_attachment", attachment_id, author.id, "x.pdf"),
        ("delete_attachment", attachment_id, author.id, "x.pdf"),
    ]
    assert client.get(f"/files/{attachment_id}/x.pdf").status_code == 404


def test_an_image_uploaded_is_shown_in_the_text_and_others_are_not(client, storage, open_consultation, author):
    login(client, author)
    upload(client, open_consultation.slug, png_bytes(), "chart.png", description="Spending by year")
    [image] = attachments()
    text = f"## Spending\n\n![Spending by year]({image.path})\n\n![Tracker](https://evil.example/pixel.png)\n\n<img src=\"{image.path}\" onerror=\"alert(1)\">"
    answer = client.post(f"/c/{open_consultation.slug}/text", data={"write-source": text})
    assert answer.status_code == 302
    draft = open_consultation.draft_version
    html = draft.sections[0].html
    assert f'<img src="{image.path}" alt="Spending by year">' in html
    assert "evil.example" not in html and "onerror" not in html and html.count("<img") == 2
    assert "1 image was not kept" in client.get(answer.headers["Location"]).get_data(as_text=True)  # the tracker only
    explain_changes(open_consultation, author)
    proposals.publish_version(open_consultation, actor=author, note="Updated.")
    db.session.commit()
    refused = client.post(f"/c/{open_consultation.slug}/attachments/{image.id}/delete")
    assert refused.status_code == 409 and stored_keys(storage) == {image.storage_key}


def test_the_record_holds_the_public_files_with_their_checksums(app, storage, open_consultation, author, tmp_path):
    from consult.attachments import services as attachments_services

    data = pdf_bytes()
    attachments_services.upload_attachment(open_consultation, io.BytesIO(data), actor=author, filename="annex.pdf", description="Annex")
    draft = proposals.save_draft_text(open_consultation, split_markdown("## Next\n\nText."), actor=author)
    attachments_services.upload_attachment(open_consultation, io.BytesIO(png_bytes()), actor=author, filename="secret.png", version=draft)
    db.session.commit()
    with app.test_request_context(base_url="http://consult.test"):
        names = export.write_folder(open_consultation, tmp_path / "record")
    annex = next(a for a in attachments() if a.name == "annex.pdf")
    assert f"attachments/{annex.id}-annex.pdf" in names and not any("secret" in n for n in names)
    assert (tmp_path / "record" / f"attachments/{annex.id}-annex.pdf").read_bytes() == data
    with (tmp_path / "record" / "attachments.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["name"], r["content_type"], r["size"], r["sha256"]) for r in rows] == [
        ("annex.pdf", "application/pdf", str(len(data)), hashlib.sha256(data).hexdigest())
    ]


def test_the_storage_interface(storage):
    """put / open / exists / delete / url on each storage, and keys that could leave its root refused."""
    storage.put("attachments/1/abc", io.BytesIO(b"hello"), content_type="text/plain")
    assert storage.exists("attachments/1/abc") and not storage.exists("attachments/1/nothing")
    with storage.open("attachments/1/abc") as stream:
        assert stream.read() == b"hello"
    with pytest.raises(KeyError), storage.open("attachments/1/nothing"):
        pass
    url = storage.url("attachments/1/abc")
    assert url is None or ("attachments/1/abc" in url and "Signature" in url)
    storage.delete("attachments/1/abc")
    assert not storage.exists("attachments/1/abc")
    for bad in ("../secret_key", "/etc/passwd", "a/../../b", "a\\b", ""):
        with pytest.raises(ValueError):
            storage.put(bad, io.BytesIO(b"x"), content_type="text/plain")


def test_a_person_who_uploaded_finds_it_in_their_data(storage, open_consultation, author):
    from consult.attachments import services as attachments_services
    from consult.privacy import export as privacy_export

    attachments_services.upload_attachment(open_consultation, io.BytesIO(pdf_bytes()), actor=author, filename="a.pdf")
    rows = privacy_export.SECTIONS["attachments_uploaded"](author)
    assert [r["name"] for r in rows] == ["a.pdf"]
    assert privacy_export.SECTIONS["attachments_uploaded"](make_user()) == []


def test_the_demos_open_consultation_has_a_pdf_in_its_record(app, tmp_path):
    from consult.demo import load_demo
    from consult.proposals.models import Consultation

    load_demo()
    db.session.commit()
    consultation = db.session.scalar(select(Consultation).where(Consultation.slug == "federal-source-code-policy"))
    [sheet] = [a for a in attachments() if a.consultation_id == consultation.id]
    assert (sheet.name, sheet.kind) == ("summary-sheet.pdf", "pdf")
    with app.test_request_context(base_url="http://consult.test"):
        export.write_zip(consultation, tmp_path / "record.zip")
    with zipfile.ZipFile(tmp_path / "record.zip") as record:
        data = record.read(f"attachments/{sheet.id}-summary-sheet.pdf")
        rows = list(csv.DictReader(io.StringIO(record.read("attachments.csv").decode())))
    assert data.startswith(b"%PDF-") and hashlib.sha256(data).hexdigest() == sheet.sha256 == rows[0]["sha256"]


def test_a_file_larger_than_other_requests_but_within_the_attachment_limit_is_taken(client, app, storage, open_consultation, author):
    assert app.config["MAX_CONTENT_LENGTH"] < 3 * 1024 * 1024 < app.config["ATTACHMENT_MAX_BYTES"]
    login(client, author)
    big = pdf_bytes()[:-6] + b" " * (3 * 1024 * 1024) + b"\n%%EOF\n"
    assert upload(client, open_consultation.slug, big, "big.pdf").status_code == 302
    [attachment] = attachments()
    assert attachment.size == len(big) and client.get(attachment.path).data == big
