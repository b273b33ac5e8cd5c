"""The names of notification settings and of what a person follows, for the settings page
and the footers of mail. What an event says is ``messages.describe``'s, for page and mail alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from consult.contributions.models import Contribution
from consult.core import links
from consult.core.models import db
from consult.notifications.models import Delivery, EventKind, Follow

#: The settings page's name for each kind, in the order it lists them (what is about me first).
KIND_LABELS: dict[EventKind, LazyString] = {
    EventKind.REPLY: _l("Replies to what I wrote, and in threads I follow"),
    EventKind.AMENDMENT_ANSWERED: _l("An answer to my amendment (or one I follow)"),
    EventKind.AMENDMENT_INCORPORATED: _l("My amendment built into a new version"),
    EventKind.CITED_IN_SUMMARY: _l("What I wrote cited in a summary"),
    EventKind.CITED_IN_CHANGE: _l("What I wrote cited in a change to the text"),
    EventKind.ANCHOR_MOVED: _l("The passage I annotated changed, moved or removed"),
    EventKind.HIDDEN: _l("A moderator hid something I wrote"),
    EventKind.RESTORED: _l("A moderator restored something I wrote"),
    EventKind.DATA_EXPORT_READY: _l("My data is ready to download"),
    EventKind.NEW_COMMENT: _l("New comments on sections and threads I follow"),
    EventKind.NEW_AMENDMENT: _l("New amendments on what I follow"),
    EventKind.OPENED: _l("A consultation I follow opens"),
    EventKind.CLOSING_SOON: _l("A consultation I follow closes in 3 days"),
    EventKind.CLOSED: _l("A consultation I follow has closed"),
    EventKind.CONCLUDED: _l("The outcome of a consultation I follow or took part in"),
    EventKind.VERSION_PUBLISHED: _l("A new version of the text"),
    EventKind.UPDATE: _l("Messages from the organisation running a consultation"),
    EventKind.CALL_PUBLISHED: _l("Calls to action on consultations I follow, and from my groups"),  # issue 20
}

DELIVERY_LABELS: dict[Delivery, LazyString] = {
    Delivery.IMMEDIATE: _l("Email at once"),
    Delivery.DAILY: _l("Daily digest"),
    Delivery.WEEKLY: _l("Weekly digest"),
    Delivery.OFF: _l("No email"),
}


@dataclass(frozen=True)
class Followed:
    """What a person follows, in words: the thing, its consultation and a link to it."""

    title: str
    consultation: str
    url: str


Linker = Callable[..., str]


def describe_follow(follow: Follow, *, link: Linker = links.path) -> Followed:
    """What a follow is of, for the list of what a person follows."""
    c = follow.consultation
    kind, _colon, value = follow.target.partition(":")
    if kind == "section":
        section = c.current_version.section(value) if c.current_version else None
        heading = section.heading if section else value
        return Followed(
            title=_("Section “%(heading)s”", heading=heading), consultation=c.title, url=link("comments.section", slug=c.slug, key=value)
        )
    if kind == "contribution" and value.isdigit():
        contribution = db.session.get(Contribution, int(value))
        if contribution is not None:
            # no author's name nor words: the contribution may have been hidden since
            if contribution.kind == "amendment":
                title = _("An amendment (number %(number)s)", number=contribution.id)
            else:
                title = _("A discussion (number %(number)s)", number=contribution.id)
            return Followed(title=title, consultation=c.title, url=link("comments.show", contribution_id=contribution.id))
    return Followed(title=_("The whole consultation"), consultation=c.title, url=link("proposals.consultation", slug=c.slug))
