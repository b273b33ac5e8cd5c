"""Share-preview images drawn with Pillow (pure: a card's values in, PNG bytes out).

The size is the one Open Graph and Twitter's large summary card show uncropped (1200×630); the
font is DejaVu Sans, shipped in ``static/fonts`` with its licence, so the image is the same on
every machine whatever fonts it has.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
MARGIN = 72
INK = (23, 32, 42)
MUTED = (74, 85, 104)
PAPER = (255, 255, 255)
BAND = (11, 83, 148)  # the site's link colour
TITLE_SIZE, TITLE_LINES = 58, 4

#: Bumped when the drawing changes, so every cached image is drawn again (it is in the key).
DRAWING_VERSION = 1


@dataclass(frozen=True)
class Card:
    """What a preview image shows: every value is in its cache key, so a change of any of them
    makes a new image at a new address."""

    label: str  # what the page is: "Consultation", "Amendment 12", "Comment by Ada"…
    title: str
    organisation: str
    state: str  # "Open for comments", "Closed"…
    days_left: str = ""  # "12 days left", "" when not open or no closing date
    tally: str = ""  # "14 support · 3 oppose" for amendments


@cache
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int) -> list[str]:
    """``text`` cut into lines no wider than ``width`` pixels, at most ``max_lines`` (the last one
    ends with "…" when the text goes on). A word wider than the line is cut where it overflows."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while font.getlength(current) > width:  # one very long word: cut it
            cut = len(current)
            while cut > 1 and font.getlength(current[:cut]) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
        if len(lines) >= max_lines:
            return _ellipsis(lines[:max_lines], font, width)
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        return _ellipsis(lines[:max_lines], font, width)
    return lines


def _ellipsis(lines: list[str], font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    last = lines[-1]
    while last and font.getlength(last + "…") > width:
        last = last[:-1].rstrip()
    return [*lines[:-1], last + "…"]


def _line(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    return wrap(text, font, width, 1)[0] if text.strip() else ""


def draw_card(card: Card) -> bytes:
    """The PNG of ``card``: a band naming the page's kind, the title (wrapped, four lines at
    most), the organisation, and a footer with the state and the days left, then the tally."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 0, WIDTH, 110), fill=BAND)
    label_font = _font(True, 34)
    pen.text((MARGIN, 55), _line(card.label, label_font, WIDTH - 2 * MARGIN - 200), font=label_font, fill=PAPER, anchor="lm")
    pen.text((WIDTH - MARGIN, 55), "Consult", font=_font(False, 30), fill=PAPER, anchor="rm")
    y = 150
    title_font = _font(True, TITLE_SIZE)
    for line in wrap(card.title, title_font, WIDTH - 2 * MARGIN, TITLE_LINES):
        pen.text((MARGIN, y), line, font=title_font, fill=INK)
        y += int(TITLE_SIZE * 1.2)
    org_font = _font(False, 32)
    pen.text((MARGIN, y + 12), _line(card.organisation, org_font, WIDTH - 2 * MARGIN), font=org_font, fill=MUTED)
    pen.line((MARGIN, HEIGHT - 125, WIDTH - MARGIN, HEIGHT - 125), fill=(200, 206, 214), width=2)
    foot_font = _font(True, 30)
    when = " · ".join(part for part in (card.state, card.days_left) if part)
    pen.text((MARGIN, HEIGHT - 85), _line(when, foot_font, WIDTH - 2 * MARGIN), font=foot_font, fill=INK, anchor="lm")
    pen.text((MARGIN, HEIGHT - 40), _line(card.tally, foot_font, WIDTH - 2 * MARGIN), font=foot_font, fill=MUTED, anchor="lm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
