"""Atom feeds and the sitemap (application layer), always as the public sees the site.

Every feed and the sitemap are read **for an anonymous reader** through the visibility filters
of ``consult.permissions`` (``visible_consultations(None)``, ``visible_versions(None)``,
``visible_contributions(None)``), whoever asks: a draft consultation or version, a hidden,
deleted, pending or blocked contribution, a withdrawn amendment never appears, and an erased
person's feed is gone with them (their kept contributions carry their pseudonym). Every address
is built on ``CONSULT_BASE_URL`` (``links.site_url``), never the request's ``Host``.

Entry ids are ``tag:`` URIs (RFC 4151) naming the site's host, the day the thing was made and
what it is (``tag:consult.example.org,2026-03-01:amendment/12``): they stay the same when a title
or a page's address changes. An entry's ``updated`` is when what it says last changed (an
answer revised keeps its id and gets a new time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from feedgen.feed import FeedGenerator
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consult.accounts.models import Organisation, User
from consult.amendments.models import Amendment, AmendmentState
from consult.contributions.models import Contribution, ContributionKind
from consult.core import links
from consult.core.i18n import current_language
from consult.core.models import db
from consult.core.text import plain_text
from consult.mine import public_contributions_query
from consult.permissions import Action, can, visible_consultations, visible_contributions, visible_versions
from consult.proposals.models import Consultation, Version

#: Entries per feed: the newest.
FEED_LENGTH = 50
SITE_NAME = "Consult"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Entry:
    tag: str  # what it is, under the site's tag authority: "amendment/12"
    made: datetime  # when it was made (the tag's date; never changes)
    title: str
    link: str
    updated: datetime
    author: str
    summary: str = ""
    content_html: str = ""


def tag_uri(what: str, made: datetime) -> str:
    host = urlsplit(links.site_url("proposals.index")).hostname or "localhost"
    return f"tag:{host},{made.date().isoformat()}:{what}"


def _atom(*, tag: str, made: datetime, title: str, self_url: str, page_url: str, subtitle: str, entries: list[Entry]) -> bytes:
    feed = FeedGenerator()
    feed.id(tag_uri(tag, made))
    feed.title(title)
    feed.subtitle(subtitle)
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.author({"name": SITE_NAME})
    feed.generator(SITE_NAME, uri=links.site_url("proposals.index"))
    feed.language(current_language())  # the language its titles are written in
    entries = sorted(entries, key=lambda e: (e.updated, e.tag), reverse=True)[:FEED_LENGTH]
    feed.updated(max((e.updated for e in entries), default=made))
    for e in entries:
        item = feed.add_entry(order="append")
        item.id(tag_uri(e.tag, e.made))
        item.title(e.title)
        item.link(href=e.link, rel="alternate", type="text/html")
        item.updated(e.updated)
        item.published(e.made)
        item.author({"name": e.author})
        if e.summary:
            item.summary(e.summary)
        if e.content_html:
            item.content(e.content_html, type="html")
    return feed.atom_str(pretty=True)


def _public_consultations(organisation: Organisation | None = None) -> list[Consultation]:
    query = (
        select(Consultation)
        .where(visible_consultations(None))
        .options(selectinload(Consultation.organisation), selectinload(Consultation.versions).selectinload(Version.sections))
    )
    if organisation is not None:
        query = query.where(Consultation.organisation_id == organisation.id)
    return list(db.session.scalars(query.order_by(Consultation.id.desc())))


def _last_change(c: Consultation) -> datetime:
    published = [v.published_at for v in c.published_versions]
    return max([c.updated_at, c.state_changed_at or EPOCH, *published])


#: A consultation's state after its title in a feed ("Open data policy (open)").
STATE_IN_TITLES = {
    "draft": lazy_pgettext("state in a title", "draft"),
    "open": lazy_pgettext("state in a title", "open"),
    "closed": lazy_pgettext("state in a title", "closed"),
    "concluded": lazy_pgettext("state in a title", "concluded"),
}


def _consultation_entry(c: Consultation) -> Entry:
    return Entry(
        tag=f"consultation/{c.id}",
        made=c.created_at,
        title=_("%(title)s (%(state)s)", title=c.title, state=STATE_IN_TITLES.get(c.state, c.state)),
        link=links.site_url("proposals.consultation", slug=c.slug),
        updated=_last_change(c),
        author=c.organisation.name,
        summary=plain_text(c.summary),
    )


def consultations_feed(organisation: Organisation | None = None) -> bytes:
    """The public consultations (an organisation's, given one), most recently changed first."""
    entries = [_consultation_entry(c) for c in _public_consultations(organisation)]
    if organisation is None:
        return _atom(
            tag="consultations",
            made=EPOCH,
            title=_("Consultations · %(site)s", site=SITE_NAME),
            subtitle=_("Public consultations: opened, closed, new versions and outcomes."),
            self_url=links.site_url("feeds.consultations"),
            page_url=links.site_url("proposals.index"),
            entries=entries,
        )
    return _atom(
        tag=f"organisation/{organisation.id}",
        made=organisation.created_at,
        title=_("Consultations by %(organisation)s · %(site)s", organisation=organisation.name, site=SITE_NAME),
        subtitle=_("The public consultations of %(organisation)s.", organisation=organisation.name),
        self_url=links.site_url("feeds.organisation", slug=organisation.slug),
        page_url=links.site_url("proposals.organisation", slug=organisation.slug),
        entries=entries,
    )


def _public_amendments_query():
    """Amendments the public sees, withdrawn ones left out."""
    return (
        select(Contribution)
        .join(Amendment, Amendment.contribution_id == Contribution.id)
        .where(visible_contributions(None), Amendment.state != AmendmentState.WITHDRAWN.value)
    )


def _public_amendments(c: Consultation) -> list[Contribution]:
    query = _public_amendments_query().where(Contribution.consultation_id == c.id)
    return list(
        db.session.scalars(
            query.options(selectinload(Contribution.author), selectinload(Contribution.version))
            .order_by(Contribution.created_at.desc())
            .limit(FEED_LENGTH * 2)
        )
    )


def _heading(contribution: Contribution) -> str:
    section = contribution.version.section(contribution.section_key) if contribution.section_key else None
    return section.heading if section else (contribution.section_key or _("the consultation"))


def consultation_feed(c: Consultation) -> bytes:
    """A public consultation's activity: its published versions, new amendments, answers to
    amendments and its outcome."""
    entries: list[Entry] = []
    organisation = c.organisation.name
    for v in db.session.scalars(select(Version).where(Version.consultation_id == c.id, visible_versions(None))):
        entries.append(
            Entry(
                tag=f"version/{v.id}",
                made=v.published_at,
                title=_("Version %(number)s published", number=v.number),
                link=links.site_url("proposals.version", slug=c.slug, number=v.number),
                updated=v.published_at,
                author=organisation,
                summary=plain_text(v.change_note) or _("Version %(number)s of the text of %(title)s.", number=v.number, title=c.title),
            )
        )
    for a in _public_amendments(c):
        link = links.site_url("amendments.show", contribution_id=a.id)
        if a.author_id is not None:  # an erased author's withdrawn words leave only the answer
            entries.append(
                Entry(
                    tag=f"amendment/{a.id}",
                    made=a.created_at,
                    title=_("New amendment %(id)s to “%(heading)s”", id=a.id, heading=_heading(a)),
                    link=link,
                    updated=a.created_at,
                    author=a.author.display_name,
                    content_html=a.body_html,
                )
            )
        if a.amendment.decision and a.amendment.answered_at:
            entries.append(
                Entry(
                    tag=f"amendment/{a.id}/answer",
                    made=a.amendment.answered_at,
                    title=_("Amendment %(id)s answered: %(decision)s", id=a.id, decision=a.amendment.decision_label),
                    link=link,
                    updated=a.amendment.answered_at,
                    author=organisation,
                    summary=plain_text(a.amendment.answer),
                )
            )
    if c.is_concluded and can(None, Action.VIEW_OUTCOME, c):
        concluded = c.state_changed_at or _last_change(c)
        entries.append(
            Entry(
                tag=f"consultation/{c.id}/outcome",
                made=concluded,
                title=_("Outcome published: you said, we did"),
                link=links.site_url("outcome.show", slug=c.slug),
                updated=concluded,
                author=organisation,
                summary=_("What %(organisation)s changed after the consultation, and why.", organisation=organisation),
            )
        )
    return _atom(
        tag=f"consultation/{c.id}/activity",
        made=c.created_at,
        title=f"{c.title} · {SITE_NAME}",
        subtitle=_(
            "Activity of the consultation %(title)s by %(organisation)s: versions, amendments, answers and the outcome.",
            title=c.title,
            organisation=organisation,
        ),
        self_url=links.site_url("feeds.consultation", slug=c.slug),
        page_url=links.site_url("proposals.consultation", slug=c.slug),
        entries=entries,
    )


def _entry_title(kind: ContributionKind, heading: str | None, title: str) -> str:
    """A person's contribution as their feed names it: its kind, where it is, the consultation."""
    if heading is None:
        return {
            ContributionKind.COMMENT: _("Comment on the consultation · %(title)s", title=title),
            ContributionKind.REPLY: _("Reply on the consultation · %(title)s", title=title),
            ContributionKind.AMENDMENT: _("Amendment on the consultation · %(title)s", title=title),
            ContributionKind.STATEMENT: _("Statement on the consultation · %(title)s", title=title),
        }[kind]
    return {
        ContributionKind.COMMENT: _("Comment on “%(heading)s” · %(title)s", heading=heading, title=title),
        ContributionKind.REPLY: _("Reply on “%(heading)s” · %(title)s", heading=heading, title=title),
        ContributionKind.AMENDMENT: _("Amendment on “%(heading)s” · %(title)s", heading=heading, title=title),
        ContributionKind.STATEMENT: _("Statement on “%(heading)s” · %(title)s", heading=heading, title=title),
    }[kind]


def person_feed(person: User) -> bytes:
    """What ``person`` wrote that the public sees (as on their page, ``/people/ID``)."""
    contributions = db.session.scalars(public_contributions_query(person, None).limit(FEED_LENGTH)).all()
    entries = []
    for contribution in contributions:
        c = contribution.consultation
        kind = ContributionKind(contribution.kind)
        if kind is ContributionKind.AMENDMENT and contribution.amendment and contribution.amendment.is_withdrawn:
            continue
        entries.append(
            Entry(
                tag=f"contribution/{contribution.id}",
                made=contribution.created_at,
                title=_entry_title(kind, _heading(contribution) if contribution.section_key else None, c.title),
                link=links.site_url(
                    "amendments.show" if kind is ContributionKind.AMENDMENT else "comments.show", contribution_id=contribution.id
                )
                if kind is not ContributionKind.STATEMENT
                else links.site_url("voting.statements_list", slug=c.slug),
                updated=contribution.edited_at or contribution.created_at,
                author=person.display_name,
                content_html=contribution.body_html,
            )
        )
    return _atom(
        tag=f"person/{person.id}",
        made=person.created_at,
        title=_("Contributions by %(name)s · %(site)s", name=person.display_name, site=SITE_NAME),
        subtitle=_("What %(name)s wrote in public consultations.", name=person.display_name),
        self_url=links.site_url("feeds.person", user_id=person.id),
        page_url=links.site_url("comments.person", user_id=person.id),
        entries=entries,
    )


# ---- the sitemap -----------------------------------------------------------------------------

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
#: A sitemap file holds at most 50,000 addresses (sitemaps.org).
SITEMAP_LIMIT = 50_000


def sitemap_urls() -> list[tuple[str, datetime | None]]:
    """The public pages worth a crawler's visit, with when they last changed: the list of
    consultations, and for each public consultation its page, its published versions, the
    sections of its current version, its visible amendments (not withdrawn) and its outcome
    once public."""
    urls: list[tuple[str, datetime | None]] = [(links.site_url("proposals.index"), None)]
    consultations = _public_consultations()
    amendments: dict[int, list[Contribution]] = {c.id: [] for c in consultations}
    for a in db.session.scalars(
        _public_amendments_query()
        .where(Contribution.consultation_id.in_(list(amendments)))
        .options(selectinload(Contribution.amendment))
        .order_by(Contribution.id)
    ):
        amendments[a.consultation_id].append(a)
    for c in consultations:
        versions = [v for v in c.published_versions]
        if not versions:
            continue
        urls.append((links.site_url("proposals.consultation", slug=c.slug), _last_change(c)))
        urls.extend((links.site_url("proposals.version", slug=c.slug, number=v.number), v.published_at) for v in versions)
        current = versions[-1]
        urls.extend((links.site_url("comments.section", slug=c.slug, key=s.key), current.published_at) for s in current.sections)
        urls.extend(
            (links.site_url("amendments.show", contribution_id=a.id), (a.amendment.answered_at or a.edited_at or a.created_at))
            for a in amendments[c.id]
        )
        if can(None, Action.VIEW_OUTCOME, c):
            urls.append((links.site_url("outcome.show", slug=c.slug), c.state_changed_at))
    return urls[:SITEMAP_LIMIT]


def sitemap() -> bytes:
    ET.register_namespace("", SITEMAP_NS)
    root = ET.Element(f"{{{SITEMAP_NS}}}urlset")
    for loc, modified in sitemap_urls():
        url = ET.SubElement(root, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = loc
        if modified is not None:
            ET.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = modified.astimezone(UTC).isoformat(timespec="seconds")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def robots_txt() -> str:
    return f"User-agent: *\nDisallow: /search\nDisallow: /account\nDisallow: /admin\n\nSitemap: {links.site_url('feeds.sitemap')}\n"
