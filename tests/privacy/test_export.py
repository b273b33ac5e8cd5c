"""Download my data: what the zip holds, who may have it, and for how long."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from consult.core.errors import PermissionDenied
from consult.core.models import db, utcnow
from consult.privacy import export
from consult.privacy.models import DataExport
from tests.conftest import login


def _zip(app, item: DataExport) -> zipfile.ZipFile:
    return zipfile.ZipFile(export.export_dir(app) / item.file_name)


def test_the_zip_holds_everything_the_citizen_did(app, world):
    item = export.request_export(world.citizen, actor=world.citizen)
    db.session.commit()  # the job runs after the commit (at once in tests)
    db.session.refresh(item)
    assert item.is_ready and item.expires_at - item.ready_at == timedelta(days=7)
    archive = _zip(app, item)
    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == "casey@example.org" and data["account"]["display_name"] == "Casey Citizen"
    by_id = {c["id"]: c for c in data["contributions"]}
    mine = [world.comment, world.lonely, world.annotation, world.amendment, world.answered, world.statement]
    assert set(by_id) == {c.id for c in mine}
    assert by_id[world.annotation.id]["quote"]["exact"] == "publishes open data"
    assert by_id[world.answered.id]["amendment"]["decision"] == "accepted"
    assert by_id[world.answered.id]["amendment"]["answer"] == "Agreed, we will say when."
    assert "open, machine-readable data" in by_id[world.amendment.id]["amendment"]["proposed_text"]
    assert any(s["name"] == "published" for s in by_id[world.comment.id]["statuses"])
    assert {(v["contribution_id"], v["section_key"], v["value"]) for v in data["votes"]} == {
        (world.others_amendment.id, None, "support"),
        (None, world.comment.section_key, "oppose"),
    }
    assert [(v["contribution_id"], v["value"], v["statement"]) for v in data["statement_votes"]] == [
        (world.others_statement.id, "agree", "Data should be timely.")
    ]
    assert [s["amendment_id"] for s in data["co_supports"]] == [world.others_amendment.id]
    assert [r["contribution_id"] for r in data["reports"]] == [world.others_comment.id]
    assert any(f["target"] == "consultation" and f["active"] for f in data["follows"])
    assert {"kind": "new_comment", "delivery": "daily"} in data["notification_settings"]
    assert any(m["subject"] == "Welcome to Consult" for m in data["mail"])
    assert all("body" not in m for m in data["mail"])
    assert [a["address"] for a in data["failed_sign_ins"]] == ["192.0.2.7"]
    # nothing of the other person
    assert "olive@example.org" not in archive.read("data.json").decode()
    assert "Weekly would be better" not in archive.read("data.json").decode()
    # each contribution's words as Markdown
    names = archive.namelist()
    assert f"contributions/{world.comment.id}-comment.md" in names
    annotation_md = archive.read(f"contributions/{world.annotation.id}-comment.md").decode()
    assert "> publishes open data" in annotation_md and "Which data exactly?" in annotation_md
    amendment_md = archive.read(f"contributions/{world.amendment.id}-amendment.md").decode()
    assert "Be precise." in amendment_md and "open, machine-readable data" in amendment_md


def test_only_the_person_downloads_it_signed_in(app, client, world, site_admin):
    item = export.request_export(world.citizen, actor=world.citizen)
    db.session.commit()
    url = f"/account/data/{item.id}/download"
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    login(client, world.other)
    assert client.get(url).status_code == 404
    login(client, site_admin)
    assert client.get(url).status_code == 404
    login(client, world.citizen)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "casey@example.org" in zipfile.ZipFile(io.BytesIO(response.data)).read("data.json").decode()
    page = client.get("/account/data").get_data(as_text=True)
    assert url in page and "available until" in page


def test_asking_on_the_page_prepares_it(client, world, queued_jobs):
    login(client, world.citizen)
    response = client.post("/account/data", data={})
    assert response.status_code == 302
    assert "Being prepared" in client.get("/account/data").get_data(as_text=True)
    client.post("/account/data", data={})  # asking again while it is prepared queues nothing more
    assert queued_jobs.pending() == ["build_data_export"]
    queued_jobs.run()
    page = client.get("/account/data").get_data(as_text=True)
    assert "Download your data" in page and "Being prepared" not in page


def test_someone_elses_data_cannot_be_asked_for(world):
    with pytest.raises(PermissionDenied):
        export.request_export(world.citizen, actor=world.other)


def test_expired_downloads_are_removed_with_their_file(app, world):
    item = export.request_export(world.citizen, actor=world.citizen)
    db.session.commit()
    db.session.refresh(item)
    path = export.export_dir(app) / item.file_name
    assert path.is_file()
    stray = export.export_dir(app) / "left-behind.zip"
    stray.write_bytes(b"")
    item.ready_at, item.expires_at = utcnow() - timedelta(days=8), utcnow() - timedelta(days=1)
    fresh = export.request_export(world.other, actor=world.other)
    db.session.commit()
    export.remove_expired_exports()
    db.session.commit()
    assert not path.exists() and not stray.exists()
    assert db.session.scalar(select(func.count()).select_from(DataExport).where(DataExport.id == item.id)) == 0
    assert db.session.get(DataExport, fresh.id) is not None


def test_the_person_alone_is_told_when_it_is_ready(client, world, outbox):
    from consult.notifications.models import Event, EventKind, Notification

    export.request_export(world.citizen, actor=world.citizen)
    db.session.commit()
    told = db.session.scalars(
        select(Notification.user_id).join(Event, Event.id == Notification.event_id).where(Event.kind == EventKind.DATA_EXPORT_READY)
    ).all()
    assert told == [world.citizen.id]
    login(client, world.citizen)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Your data is ready to download" in page and 'href="/account/data"' in page
    mailed = [m for m in outbox.messages() if "casey@example.org" in m and "ready to download" in m]
    assert len(mailed) == 1  # at once, as personal news is by default
    login(client, world.other)
    assert "ready to download" not in client.get("/notifications").get_data(as_text=True)


def test_it_is_mailed_as_the_person_chose(world, outbox):
    from consult.notifications.models import Delivery, Event, EventKind, Notification
    from consult.notifications.services import set_delivery

    set_delivery(world.citizen, EventKind.DATA_EXPORT_READY, Delivery.OFF)
    export.request_export(world.citizen, actor=world.citizen)
    db.session.commit()
    ready = select(Notification.delivery).join(Event, Event.id == Notification.event_id).where(Event.kind == EventKind.DATA_EXPORT_READY)
    assert db.session.scalars(ready).all() == ["off"]
    assert not [m for m in outbox.messages() if "ready to download" in m]
