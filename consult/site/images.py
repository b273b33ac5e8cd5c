"""Logos: an uploaded image checked by its content and redrawn as a small PNG, and the contrast
of an accent colour against white (WCAG 2's formula)."""

from __future__ import annotations

import io
import re

from flask_babel import gettext as _

from consult.core.templating import format_number

#: The largest logo file accepted, before it is redrawn.
MAX_LOGO_BYTES = 1_000_000
#: A logo is redrawn to fit in this box (its proportions kept).
LOGO_BOX = (400, 160)
#: Formats Pillow must recognise in the bytes (the file's name and type are not trusted). SVG is
#: refused: it can carry scripts.
LOGO_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
#: The contrast text needs against its background (WCAG 2.2 AA, normal text).
MIN_CONTRAST = 4.5

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}\Z")


class ImageRefused(ValueError):
    """Said to the person who uploaded it."""


def normalise_logo(data: bytes) -> bytes:
    """The logo as a PNG of at most LOGO_BOX pixels, without the file's metadata; refuses
    what is not an image of an accepted format, too large, or broken."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageRefused(_("The file is empty."))
    if len(data) > MAX_LOGO_BYTES:
        raise ImageRefused(_("A logo can be at most %(size)s KB.", size=format_number(MAX_LOGO_BYTES // 1000)))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            probe.verify()
        if kind not in LOGO_FORMATS:
            raise ImageRefused(_("Upload a PNG, JPEG, GIF or WebP image."))
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > 40_000_000:
                raise ImageRefused(_("The image is too large: make it smaller than 40 megapixels."))
            image.seek(0)
            image = image.convert("RGBA")
            image.thumbnail(LOGO_BOX)
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
            return out.getvalue()
    except ImageRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageRefused(_("This file is not an image we can read: upload a PNG, JPEG, GIF or WebP image.")) from None


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def darker(colour: str, factor: float = 0.75) -> str:
    """The colour darkened (for the hover state of links and buttons)."""
    r, g, b = (round(int(colour[i : i + 2], 16) * factor) for i in (1, 3, 5))
    return f"#{r:02x}{g:02x}{b:02x}"
