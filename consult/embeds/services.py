"""What an embed shows (application layer). Embeds are read **as the public reads**: another
site's frame carries none of the reader's cookies (they are ``SameSite=Lax``), and a page a
moderator could see must never be put on someone else's site through a frame. So every
function here asks as an anonymous reader, whoever is signed in."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from consult.amendments.models import Amendment
from consult.amendments.services import visible_amendment_by_number
from consult.comments.services import section_counts
from consult.contributions.models import Contribution, ContributionKind
from consult.core import links
from consult.core.models import db, utcnow
from consult.core.text import plain_text
from consult.permissions import visible_contributions
from consult.proposals.models import Consultation, Section
from consult.proposals.services import get_visible_consultation
from consult.voting.services import Tally, tallies

EXCERPT = 280


def excerpt(text: str, length: int = EXCERPT) -> str:
    """``text`` on one line, cut at a word before ``length`` characters (with "…")."""
    flat = " ".join(text.split())
    if len(flat) <= length:
        return flat
    return flat[: length - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def days_left(c: Consultation) -> int | None:
    """Whole days until an open consultation closes (0: today); None when it is not open or has no end."""
    if not c.is_open or c.closes_at is None:
        return None
    return max(0, math.ceil((c.closes_at - utcnow()).total_seconds() / 86400))


def _public(slug: str) -> Consultation | None:
    c = get_visible_consultation(None, slug)
    return c if c is not None and c.current_version is not None else None


@dataclass(frozen=True)
class ConsultationEmbed:
    consultation: Consultation
    summary: str
    days_left: int | None
    comments: int
    amendments: int
    url: str


def consultation_embed(slug: str) -> ConsultationEmbed | None:
    c = _public(slug)
    if c is None:
        return None
    counts = section_counts(c, None)
    amendments = db.session.scalar(
        select(func.count())
        .select_from(Contribution)
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .where(Amendment.consultation_id == c.id, visible_contributions(None))
    )
    return ConsultationEmbed(
        consultation=c,
        summary=excerpt(plain_text(c.summary)),
        days_left=days_left(c),
        comments=sum(counts.values()),
        amendments=amendments or 0,
        url=links.site_url("proposals.consultation", slug=c.slug),
    )


@dataclass(frozen=True)
class SectionEmbed:
    consultation: Consultation
    section: Section
    excerpt: str
    days_left: int | None
    comments: int
    url: str


def section_embed(slug: str, key: str) -> SectionEmbed | None:
    c = _public(slug)
    section = c.current_version.section(key) if c is not None else None
    if section is None:
        return None
    return SectionEmbed(
        consultation=c,
        section=section,
        excerpt=excerpt(section.text),
        days_left=days_left(c),
        comments=section_counts(c, None).get(key, 0),
        url=links.site_url("comments.section", slug=c.slug, key=key),
    )


@dataclass(frozen=True)
class AmendmentEmbed:
    consultation: Consultation
    contribution: Contribution
    amendment: Amendment
    heading: str
    excerpt: str
    tally: Tally
    url: str


def amendment_embed(slug: str, number: int) -> AmendmentEmbed | None:
    c = _public(slug)
    contribution = visible_amendment_by_number(None, c, number) if c is not None else None
    if contribution is None:
        return None
    base = contribution.version.section(contribution.section_key) if contribution.section_key else None
    return AmendmentEmbed(
        consultation=c,
        contribution=contribution,
        amendment=contribution.amendment,
        heading=base.heading if base is not None else (contribution.section_key or ""),
        excerpt=excerpt(plain_text(contribution.body)),
        tally=tallies([contribution.id])[contribution.id],
        url=links.site_url("amendments.numbered", slug=c.slug, number=number),
    )


@dataclass(frozen=True)
class StatementEmbed:
    consultation: Consultation
    statement: Contribution
    url: str


def statement_embed(slug: str, statement_id: int) -> StatementEmbed | None:
    c = _public(slug)
    if c is None:
        return None
    statement = db.session.scalar(
        select(Contribution).where(
            Contribution.id == statement_id,
            Contribution.consultation_id == c.id,
            Contribution.kind == ContributionKind.STATEMENT,
            visible_contributions(None),
        )
    )
    if statement is None:
        return None
    return StatementEmbed(
        consultation=c, statement=statement, url=links.site_url("voting.statements_list", slug=c.slug) + f"#statement-{statement.id}"
    )


#: The pages that have an embed: the embed's endpoint and how to find what it shows.
EMBEDDABLE = {
    "proposals.consultation": "embeds.consultation",
    "comments.section": "embeds.section",
    "amendments.numbered": "embeds.amendment",
    "embeds.consultation": "embeds.consultation",
    "embeds.section": "embeds.section",
    "embeds.amendment": "embeds.amendment",
    "embeds.statement": "embeds.statement",
}

FINDERS = {
    "embeds.consultation": consultation_embed,
    "embeds.section": section_embed,
    "embeds.amendment": amendment_embed,
    "embeds.statement": statement_embed,
}


def _consultation_shown(slug: str) -> bool:
    return _public(slug) is not None


def _section_shown(slug: str, key: str) -> bool:
    c = _public(slug)
    return c is not None and c.current_version.section(key) is not None


def _amendment_shown(slug: str, number: int) -> bool:
    c = _public(slug)
    return c is not None and visible_amendment_by_number(None, c, number) is not None


#: Whether the public may see what an embed shows, without gathering its figures: asked on every
#: page that could have one (its discovery link), so it must cost no more than the page's own reads.
SHOWN = {
    "embeds.consultation": _consultation_shown,
    "embeds.section": _section_shown,
    "embeds.amendment": _amendment_shown,
    "embeds.statement": lambda slug, statement_id: statement_embed(slug, statement_id) is not None,
}


def embed_for(endpoint: str | None, values: dict) -> tuple[str, dict] | None:
    """The embed of a page (its endpoint and values), if the page has one the public may see."""
    target = EMBEDDABLE.get(endpoint or "")
    if target is None or not SHOWN[target](**values):
        return None
    return target, values


def embed_for_url(url: str) -> tuple[str, dict] | None:
    """The embed of a page of this site given by its address (for oEmbed); None for an address
    elsewhere, a page without an embed, or one the public may not see."""
    parts = urlsplit(url)
    site = urlsplit(links.site_url("proposals.index"))
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != site.netloc.lower():
        return None
    prefix = site.path.rstrip("/")
    if prefix and not parts.path.startswith(prefix + "/"):
        return None
    try:
        endpoint, values = current_app.url_map.bind(site.netloc).match(parts.path[len(prefix) :] or "/", "GET")
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None
    return embed_for(endpoint, values)
