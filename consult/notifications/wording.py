"""The names of notification settings and of what a person follows, for the settings page
and the footers of mail. What an event says is ``messages.describe``'s, for page and mail alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from consult.contributions.models import Contribution
from consult.core import links
from consult.core.models import db
from consult.notifications.models import Delivery, EventKind, Follow

#: The settings page's name for each kind, in the order it lists them (what is about me first).
KIND_LABELS: dict[EventKind, str] = {
    EventKind.REPLY: "Replies to what I wrote, and in threads I follow",
    EventKind.AMENDMENT_ANSWERED: "An answer to my amendment (or one I follow)",
    EventKind.AMENDMENT_INCORPORATED: "My amendment built into a new version",
    EventKind.CITED_IN_SUMMARY: "What I wrote cited in a summary",
    EventKind.CITED_IN_CHANGE: "What I wrote cited in a change to the text",
    EventKind.ANCHOR_MOVED: "The passage I annotated changed, moved or removed",
    EventKind.HIDDEN: "A moderator hid something I wrote",
    EventKind.RESTORED: "A moderator restored something I wrote",
    EventKind.DATA_EXPORT_READY: "My data is ready to download",
    EventKind.NEW_COMMENT: "New comments on sections and threads I follow",
    EventKind.NEW_AMENDMENT: "New amendments on what I follow",
    EventKind.OPENED: "A consultation I follow opens",
    EventKind.CLOSING_SOON: "A consultation I follow closes in 3 days",
    EventKind.CLOSED: "A consultation I follow has closed",
    EventKind.CONCLUDED: "The outcome of a consultation I follow or took part in",
    EventKind.VERSION_PUBLISHED: "A new version of the text",
    EventKind.UPDATE: "Messages from the organisation running a consultation",
}

DELIVERY_LABELS: dict[Delivery, str] = {
    Delivery.IMMEDIATE: "Email at once",
    Delivery.DAILY: "Daily digest",
    Delivery.WEEKLY: "Weekly digest",
    Delivery.OFF: "No email",
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
    kind, _, value = follow.target.partition(":")
    if kind == "section":
        section = c.current_version.section(value) if c.current_version else None
        heading = section.heading if section else value
        return Followed(title=f"Section \u201c{heading}\u201d", consultation=c.title, url=link("comments.section", slug=c.slug, key=value))
    if kind == "contribution" and value.isdigit():
        contribution = db.session.get(Contribution, int(value))
        if contribution is not None:
            # no author's name nor words: the contribution may have been hidden since
            what = "An amendment" if contribution.kind == "amendment" else "A discussion"
            return Followed(
                title=f"{what} (number {contribution.id})", consultation=c.title, url=link("comments.show", contribution_id=contribution.id)
            )
    return Followed(title="The whole consultation", consultation=c.title, url=link("proposals.consultation", slug=c.slug))
