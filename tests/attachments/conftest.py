"""The same attachment tests on both storages: the instance folder, and an S3-compatible server
(moto's server mode) started here in a process of its own, on a free port."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from consult.core.storage import FolderStorage, S3Storage


@pytest.fixture(scope="session")
def s3_server():
    """``moto_server`` on port 0; the address is read from the line it prints once listening."""
    executable = Path(sys.executable).with_name("moto_server")
    if not executable.exists():
        pytest.fail("moto_server is missing from the virtualenv: make install-test installs moto[server]")
    process = subprocess.Popen([str(executable), "-H", "127.0.0.1", "-p", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in process.stdout:  # blocks until the server says where it listens
            if match := re.search(r"Running on (http://127\.0\.0\.1:\d+)", line):
                url = match.group(1)
                break
        else:
            pytest.fail("moto_server stopped before listening")
        yield url
    finally:
        process.terminate()
        process.wait()
        process.stdout.close()


def make_s3_storage(url: str) -> S3Storage:
    storage = S3Storage(
        bucket=f"consult-test-{uuid.uuid4().hex[:12]}",
        endpoint_url=url,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
        prefix="site-a",
    )
    storage.client.create_bucket(Bucket=storage.bucket)
    return storage


@pytest.fixture(params=["folder", "s3"])
def storage(request, app, tmp_path, monkeypatch):
    """The app's storage for one test: a fresh folder, or a fresh bucket on the S3 server."""
    if request.param == "folder":
        chosen = FolderStorage(tmp_path / "uploads")
    else:
        chosen = make_s3_storage(request.getfixturevalue("s3_server"))
    monkeypatch.setitem(app.extensions, "consult_storage", chosen)
    return chosen


def stored_keys(storage) -> set[str]:
    """Every key the storage holds."""
    if isinstance(storage, FolderStorage):
        if not storage.root.exists():
            return set()
        return {p.relative_to(storage.root).as_posix() for p in storage.root.rglob("*") if p.is_file()}
    listed = storage.client.list_objects_v2(Bucket=storage.bucket)
    return {item["Key"].removeprefix(storage.prefix) for item in listed.get("Contents", [])}


# --- real files of each kind -------------------------------------------------------------------


def pdf_bytes(text_colour: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), text_colour).save(out, format="PDF")
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(out, format="PNG")
    return out.getvalue()


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(
            "[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
        )
        package.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
    return out.getvalue()


def ods_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        package.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>')
    return out.getvalue()
