"""Where the files of the open record go: a folder or a zip, each opened file a binary stream.
``text_file`` wraps one as text (UTF-8, without a byte-order mark)."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol


class Sink(Protocol):
    def open(self, name: str) -> Any: ...  # a context manager giving a binary file to write


class FolderSink:
    def __init__(self, root: Path):
        self.root = root

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            yield handle


class ZipSink:
    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16  # rw-r--r-- once unpacked
        with self.archive.open(info, "w", force_zip64=True) as handle:  # zip64: no 2 GiB limit
            yield handle


@contextmanager
def text_file(sink: Sink, name: str, *, encoding: str = "utf-8") -> Iterator[IO[str]]:
    with sink.open(name) as binary:
        out = io.TextIOWrapper(binary, encoding=encoding, newline="")
        try:
            yield out
        finally:
            out.flush()
            out.detach()  # the sink closes the binary file
