"""What an uploaded file really is, from its content, never from its name or the browser's word.

An upload is accepted only when its bytes are one of the kinds below (the allow-list); its
type, the extension of the name it is served under and whether it may be shown inline all
come from that kind. Everything else (HTML, SVG, scripts, executables, archives of any other
sort, a ``.pdf`` that is really a web page) is refused with a sentence saying what is accepted.

- PDF: starts with ``%PDF-`` and ends with ``%%EOF`` (in its last kilobyte);
- images: PNG, JPEG, GIF, WebP, opened and verified by Pillow (no SVG: it can carry scripts),
  at most :data:`MAX_IMAGE_PIXELS`;
- spreadsheets and documents: an OOXML package (``[Content_Types].xml`` and ``xl/workbook.xml``
  or ``word/document.xml``) or an OpenDocument one (its ``mimetype`` entry), whose entries
  unpack to at most :data:`MAX_UNPACKED` bytes;
- CSV: UTF-8 text without NUL characters that does not begin like markup.

Pure: bytes in, a :class:`FileKind` or :class:`Refused` out.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from typing import IO, Final

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import Image

MAX_IMAGE_PIXELS: Final = 50_000_000
MAX_UNPACKED: Final = 200 * 1024 * 1024
MAX_ENTRIES: Final = 10_000
MAX_NAME: Final = 120

ACCEPTED: Final = _l("PDF, images (PNG, JPEG, GIF, WebP), spreadsheets (.xlsx, .ods, .csv) and documents (.docx, .odt)")


@dataclass(frozen=True)
class FileKind:
    kind: str  # "pdf", "image", "spreadsheet", "document", "csv"
    content_type: str
    extension: str
    inline: bool  # shown in the page (images), else always downloaded


PDF: Final = FileKind("pdf", "application/pdf", "pdf", False)
IMAGES: Final = {
    "PNG": FileKind("image", "image/png", "png", True),
    "JPEG": FileKind("image", "image/jpeg", "jpg", True),
    "GIF": FileKind("image", "image/gif", "gif", True),
    "WEBP": FileKind("image", "image/webp", "webp", True),
}
XLSX: Final = FileKind("spreadsheet", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", False)
DOCX: Final = FileKind("document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", False)
ODS: Final = FileKind("spreadsheet", "application/vnd.oasis.opendocument.spreadsheet", "ods", False)
ODT: Final = FileKind("document", "application/vnd.oasis.opendocument.text", "odt", False)
CSV: Final = FileKind("csv", "text/csv; charset=utf-8", "csv", False)
OPENDOCUMENT: Final = {kind.content_type: kind for kind in (ODS, ODT)}


class Refused(ValueError):
    """The file is not one Consult accepts; the message says why, for the person who sent it."""


def _read_all(stream: IO[bytes]) -> bytes:
    stream.seek(0)
    data = stream.read()
    stream.seek(0)
    return data


def identify(stream: IO[bytes], *, name: str = "the file") -> FileKind:
    """The kind of the file in ``stream`` (read from its start, rewound after), or :class:`Refused`."""
    data = _read_all(stream)
    if not data:
        raise Refused(_("“%(name)s” is empty.", name=name))
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-1024:]:
            raise Refused(_("“%(name)s” starts like a PDF but is not a complete one. Save it again as PDF and upload it.", name=name))
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _package(data, name)
    image = _image(data)
    if image is not None:
        return image
    if _is_csv(data):
        return CSV
    raise Refused(
        _(
            "“%(name)s” is not a kind of file Consult accepts (whatever its name says). Accepted: %(accepted)s.",
            name=name,
            accepted=ACCEPTED,
        )
    )


def _image(data: bytes) -> FileKind | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise Refused(_("The image is too large (more than 50 million pixels)."))
                image.verify()
    except Refused:
        raise
    except Exception:  # noqa: BLE001 (Pillow raises many kinds for a file that is no image)
        return None
    return IMAGES.get(image_format or "")


def _package(data: bytes, name: str) -> FileKind:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise Refused(_("“%(name)s” is a damaged archive. Save it again and upload it.", name=name)) from None
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED:
        raise Refused(_("“%(name)s” unpacks to too much data to be a document or a spreadsheet.", name=name))
    names = {e.filename for e in entries}
    if "mimetype" in names:
        kind = OPENDOCUMENT.get(archive.read("mimetype").decode("ascii", "replace").strip())
        if kind is not None:
            return kind
    elif "[Content_Types].xml" in names:
        if "xl/workbook.xml" in names:
            return XLSX
        if "word/document.xml" in names:
            return DOCX
    raise Refused(
        _(
            "“%(name)s” is an archive but not a spreadsheet or document Consult accepts. Accepted: %(accepted)s.",
            name=name,
            accepted=ACCEPTED,
        )
    )


_MARKUP_START: Final = re.compile(rb"^\s*<")


def _is_csv(data: bytes) -> bool:
    if b"\x00" in data or _MARKUP_START.match(data[:1024]):
        return False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    first_line = text.split("\n", 1)[0]
    return bool(first_line.strip()) and all(ch.isprintable() or ch in "\t\r" for ch in first_line)


_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, kind: FileKind) -> str:
    """A file name safe in a URL, a header and any file system, ending with the kind's extension:
    the last path segment, accents dropped, ASCII letters, digits, ``.``, ``_`` and ``-`` (others become ``-``),
    no leading dot, at most :data:`MAX_NAME` characters. "../../evil.html" as a PDF is
    "evil.html.pdf"; a name with nothing left is "file.pdf"."""
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode("ascii")  # "Résumé" -> "Resume"
    base = re.split(r"[\\/]", ascii_name)[-1]
    base = _UNSAFE_NAME.sub("-", base).strip(".-_")
    stem, dot, extension = base.rpartition(".")
    if dot and extension.lower() in ({kind.extension} | ({"jpeg"} if kind.extension == "jpg" else set())):
        base = stem
    base = re.sub(r"-{2,}", "-", base)[: MAX_NAME - len(kind.extension) - 1].strip(".-_") or "file"
    return f"{base}.{kind.extension}"
