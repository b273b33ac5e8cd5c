"""Where uploaded files live: one interface, two places.

- :class:`FolderStorage` (the default): a folder in the instance path (``instance/uploads/``),
  for one machine; ``consult backup`` copies it.
- :class:`S3Storage`: an S3-compatible object store (AWS S3, MinIO, Ceph, Garage...) through
  boto3, for several app servers: ``STORAGE_BACKEND="s3"`` with ``S3_BUCKET``, ``S3_ENDPOINT_URL``,
  ``S3_REGION``, ``S3_ACCESS_KEY_ID`` and ``S3_SECRET_ACCESS_KEY`` (the last two may instead come
  from boto3's usual environment or instance role), and ``S3_PREFIX`` to share a bucket.

Keys are made by the caller from ids and hashes (``attachments/12/ab34...``), never from what a
person typed; both storages refuse a key that could leave their root. Files are written and
read as streams (``put`` takes a binary file, ``open`` gives one), so an upload or a download
never has to fit in memory. ``url`` is a time-limited direct address where the store has one
(S3's presigned URL), else None: Consult serves every file itself anyway, with its own headers
and permission check, and does not use it for uploads people made.

This is the only module that imports boto3.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from flask import Flask, current_app

_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")
CHUNK = 64 * 1024


def check_key(key: str) -> str:
    """The key, if it is made of safe path segments (no "..", no leading "/", no backslash)."""
    if not _KEY_RE.fullmatch(key) or ".." in key.split("/") or len(key) > 500:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Storage(Protocol):
    def put(self, key: str, stream: IO[bytes], *, content_type: str) -> None: ...
    def open(self, key: str) -> Any: ...  # a context manager giving a readable binary stream
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def url(self, key: str, *, expires: int = 300) -> str | None: ...


def iter_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


class FolderStorage:
    """Files under one folder; a file is written beside its final name and renamed into place,
    so a reader never sees half of one."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, stream: IO[bytes], *, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise KeyError(key) from None
        with handle:
            yield handle

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def url(self, key: str, *, expires: int = 300) -> str | None:
        return None


class S3Storage:
    """Objects in one bucket of an S3-compatible store, under an optional prefix."""

    def __init__(self, *, bucket: str, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None, prefix: str = "") -> None:  # fmt: skip
        import boto3  # here: a site on folder storage never loads boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=30),
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, stream: IO[bytes], *, content_type: str) -> None:
        from boto3.s3.transfer import TransferConfig

        # upload_fileobj streams in parts (multipart above 8 MB): the file never sits whole in
        # memory. In the request's own thread: no transfer threads outlive or race the request.
        self.client.upload_fileobj(
            stream, self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}, Config=TransferConfig(use_threads=False)
        )

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            raise KeyError(key) from None
        body = answer["Body"]
        try:
            yield body
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def url(self, key: str, *, expires: int = 300) -> str | None:
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires)


def storage_from_config(app: Flask) -> Storage:
    config = app.config
    backend = config.get("STORAGE_BACKEND") or "folder"
    if backend == "folder":
        return FolderStorage(config.get("UPLOADS_DIR") or Path(app.instance_path) / "uploads")
    if backend == "s3":
        if not config.get("S3_BUCKET"):
            raise RuntimeError("CONSULT_STORAGE_BACKEND=s3 needs CONSULT_S3_BUCKET.")
        return S3Storage(
            bucket=config["S3_BUCKET"],
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            access_key_id=config.get("S3_ACCESS_KEY_ID"),
            secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
            prefix=config.get("S3_PREFIX") or "",
        )
    raise RuntimeError(f"CONSULT_STORAGE_BACKEND must be 'folder' or 's3', not {backend!r}.")


def init_storage(app: Flask) -> None:
    app.extensions["consult_storage"] = storage_from_config(app)


def storage() -> Storage:
    """The current app's storage."""
    return current_app.extensions["consult_storage"]
