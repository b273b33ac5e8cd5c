"""What a notification says and where it leads, in words a participant reads: one place for the
mail (``delivery.py``), the settings page and, if it wants them, the notifications page.

``describe`` reads only what the event recorded (its kind, data and the rows it names), so a
message written now says what happened then. Links are absolute and built on the site's own
address (``links.site_url``, ``CONSULT_BASE_URL``): they are read away from the site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from consult.contributions.models import Contribution
from consult.core import links
from consult.core.models import db
from consult.notifications.models import Delivery, Event, EventKind, Follow, Notification

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

_ANSWERS = {
    "accepted": "accepted",
    "accepted_in_part": "accepted in part",
    "not_accepted": "not accepted",
    "out_of_scope": "judged out of scope",
}

_ANCHOR_STATES = {
    "changed": "was changed",
    "moved": "moved to another section",
    "orphaned": "is no longer in the text",
}


@dataclass(frozen=True)
class Described:
    """One notification in words: what happened, in which consultation, an optional detail
    (a reason, a message) and a link to where it happened."""

    title: str
    consultation: str
    url: str
    detail: str = ""

    @property
    def subject(self) -> str:
        return f"{self.consultation}: {self.title}"


def _version(event: Event) -> str:
    """``version N``, or ``a new version`` when the event did not record which."""
    number = (event.data or {}).get("version") or (event.version.number if event.version else None)
    return f"version {number}" if number else "a new version"


def _who(event: Event) -> str:
    return event.actor.display_name if event.actor is not None else "Someone"


Linker = Callable[..., str]


def _link(event: Event, link: Linker) -> str:
    c = event.consultation
    kind = EventKind(event.kind)
    if kind is EventKind.DATA_EXPORT_READY or c is None:
        return link("privacy.data")
    if kind is EventKind.CONCLUDED:
        return link("outcome.show", slug=c.slug)
    if kind is EventKind.VERSION_PUBLISHED and event.version is not None:
        return link("proposals.version", slug=c.slug, number=event.version.number)
    if event.contribution_id is not None:
        return link("comments.show", contribution_id=event.contribution_id)
    if event.section_key:
        return link("comments.section", slug=c.slug, key=event.section_key)
    return link("proposals.consultation", slug=c.slug)


def describe(notification: Notification, *, link: Linker = links.site_url) -> Described:
    """What to tell this person about this event (they may be its recipient or a follower).
    ``link``: how to address pages; mail's default is the site's own address, a page of the
    site may pass ``links.path``."""
    event = notification.event
    data = event.data or {}
    mine = event.recipient_id == notification.user_id
    kind = EventKind(event.kind)
    detail = ""
    match kind:
        case EventKind.REPLY:
            title = f"{_who(event)} replied to your comment" if mine else f"{_who(event)} replied in a thread you follow"
        case EventKind.AMENDMENT_ANSWERED:
            answer = _ANSWERS.get(str(data.get("decision", "")), "answered")
            title = f"Your amendment was {answer}" if mine else f"An amendment you follow was {answer}"
            detail = str(data.get("reason") or "")
        case EventKind.AMENDMENT_INCORPORATED:
            whose = "Your amendment" if mine else "An amendment you follow"
            title = f"{whose} is part of {_version(event)}"
        case EventKind.CITED_IN_SUMMARY:
            title = "What you wrote is cited in a summary"
        case EventKind.CITED_IN_CHANGE:
            title = f"What you wrote is cited as a reason for a change in {_version(event)}"
        case EventKind.ANCHOR_MOVED:
            state = _ANCHOR_STATES.get(str(data.get("state", "")), "changed")
            title = f"The passage you annotated {state} in {_version(event)}"
        case EventKind.HIDDEN:
            title = "A moderator hid something you wrote"
            detail = str(data.get("reason") or "")
        case EventKind.RESTORED:
            title = "A moderator restored something you wrote"
        case EventKind.NEW_COMMENT:
            title = f"{_who(event)} commented"
        case EventKind.NEW_AMENDMENT:
            title = f"{_who(event)} proposed an amendment"
        case EventKind.OPENED:
            title = "The consultation is open: you can take part"
        case EventKind.CLOSING_SOON:
            title = "The consultation closes in 3 days"
        case EventKind.CLOSED:
            title = "The consultation has closed"
        case EventKind.CONCLUDED:
            title = "The outcome is published: what was said and what changed"
        case EventKind.VERSION_PUBLISHED:
            title = f"{_version(event).capitalize()} of the text is published"
        case EventKind.UPDATE:
            title = str(data.get("subject") or "A message from the organisers")
            detail = str(data.get("body") or "")
        case EventKind.DATA_EXPORT_READY:
            title = "Your data is ready to download"
            detail = f"It can be downloaded until {data['expires_at']}." if data.get("expires_at") else ""
    where = event.consultation.title if event.consultation is not None else "Your account"
    return Described(title=title, consultation=where, url=_link(event, link), detail=detail)


def describe_follow(follow: Follow, *, link: Linker = links.path) -> Described:
    """What a follow is of, for the list of what a person follows."""
    c = follow.consultation
    kind, _, value = follow.target.partition(":")
    if kind == "section":
        section = c.current_version.section(value) if c.current_version else None
        heading = section.heading if section else value
        return Described(title=f"Section \u201c{heading}\u201d", consultation=c.title, url=link("comments.section", slug=c.slug, key=value))
    if kind == "contribution" and value.isdigit():
        contribution = db.session.get(Contribution, int(value))
        if contribution is not None:
            # no author's name nor words: the contribution may have been hidden since
            what = "An amendment" if contribution.kind == "amendment" else "A discussion"
            return Described(
                title=f"{what} (number {contribution.id})", consultation=c.title, url=link("comments.show", contribution_id=contribution.id)
            )
    return Described(title="The whole consultation", consultation=c.title, url=link("proposals.consultation", slug=c.slug))
