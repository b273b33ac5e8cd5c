"""What an event says to the person it reaches: one sentence and a link to where it happened.

``describe(event, reader)`` is the one place that words an event, for the notifications page
and for mail alike (``delivery.py``), so a notification reads the same wherever it is read. The sentence is
plain text (templates escape it); the link is an endpoint and its values, made into a path on
the site's pages (``Message.path``) or an address on the site's own address for mail
(``Message.url``).

It never shows the words of a contribution the reader may not see now: a comment hidden since
the notification was made still says that someone commented, but not what they wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select

from consult.accounts.models import User
from consult.amendments.models import Decision
from consult.contributions.models import Contribution
from consult.core import links
from consult.core.models import db
from consult.notifications.models import Event, EventKind
from consult.permissions import visible_contributions
from consult.proposals.models import Consultation

#: Where an event about a person's account (``ACCOUNT_KINDS``) happened, for mail's groups.
ACCOUNT = "Your account"
#: How much of a contribution's text a notification quotes.
EXCERPT_LENGTH = 200
ANCHOR_STATES = {
    "changed": "was reworded in",
    "moved": "moved to another section in",
    "orphaned": "is no longer in",
}


@dataclass(frozen=True)
class Message:
    """One event, worded for one reader."""

    text: str
    endpoint: str
    values: dict[str, Any] = field(default_factory=dict)
    fragment: str = ""
    #: the words of the contribution it is about (plain text), when the reader may see them
    excerpt: str | None = None
    #: the subject and Markdown body of an author's update
    subject: str | None = None
    body: str | None = None
    #: the title of the consultation it happened in (mail groups and names by it)
    consultation: str = ""

    @property
    def detail(self) -> str:
        """What a message quotes under its sentence: an update's body, an answer's or a
        moderator's reason, or the words of the contribution (when the reader may see them)."""
        return self.body or self.excerpt or ""

    @property
    def mail_subject(self) -> str:
        """A mail's subject line: an update's own subject, else the sentence."""
        if self.subject:
            return f"{self.consultation}: {self.subject}"
        return self.text.removesuffix(".")

    @property
    def path(self) -> str:
        """The link on the site's own pages."""
        return links.path(self.endpoint, **self.values) + self.fragment

    @property
    def url(self) -> str:
        """The link for mail, on the site's own address (``CONSULT_BASE_URL``)."""
        return links.site_url(self.endpoint, **self.values) + self.fragment


def describe(event: Event, reader: User | None = None, *, visible: bool | None = None) -> Message:
    """The sentence and link of ``event`` for ``reader``. ``visible``: whether the reader may
    see the event's contribution (looked up when not given; ``describe_all`` asks once for
    many)."""
    contribution = event.contribution
    if contribution is not None and visible is None:
        visible = bool(_visible_ids(reader, [contribution.id]))
    message = _WORDING[EventKind(event.kind)](_Context(event, reader, bool(visible)))
    return replace(message, consultation=event.consultation.title if event.consultation is not None else ACCOUNT)


def describe_all(events: Sequence[Event], reader: User | None) -> list[Message]:
    """``describe`` for many events with one query for what the reader may see."""
    seen = _visible_ids(reader, [e.contribution_id for e in events if e.contribution_id is not None])
    return [describe(e, reader, visible=e.contribution_id in seen) for e in events]


def _visible_ids(reader: User | None, ids: Iterable[int]) -> set[int]:
    ids = set(ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(Contribution.id).where(Contribution.id.in_(ids), visible_contributions(reader))))


class _Context:
    """What the wordings read from an event, named once."""

    def __init__(self, event: Event, reader: User | None, visible: bool):
        self.event, self.reader, self.visible = event, reader, visible
        self.consultation: Consultation = event.consultation  # type: ignore[assignment]  (None only for ACCOUNT_KINDS)
        self.contribution = event.contribution
        self.data = event.data or {}

    @property
    def title(self) -> str:
        return f"“{self.consultation.title}”"

    @property
    def actor(self) -> str:
        actor = self.event.actor
        return actor.display_name if actor is not None else "Someone"

    @property
    def is_mine(self) -> bool:
        """Whether the reader is the person the event is addressed to (their own contribution)."""
        return self.reader is not None and self.event.recipient_id == self.reader.id

    @property
    def place(self) -> str:
        """Where a contribution was made: its section's heading, or the consultation's title."""
        key = self.event.section_key
        return f"“{_heading(self.consultation, key)}”" if key else self.title

    @property
    def what(self) -> str:
        kind = self.contribution.kind if self.contribution is not None else "contribution"
        if kind == "amendment" and getattr(self.contribution, "amendment", None) is not None:
            return f"amendment {self.contribution.amendment.label}"  # A3: its number in the consultation
        return "annotation" if kind == "comment" and self.contribution is not None and self.contribution.anchor else kind

    @property
    def amendment_name(self) -> str:
        """ "amendment A3": its number in the consultation, when the event is about one."""
        amendment = getattr(self.contribution, "amendment", None)
        return f"amendment {amendment.label}" if amendment is not None else "amendment"

    @property
    def version_number(self) -> int | None:
        if self.event.version is not None:
            return self.event.version.number
        number = self.data.get("version")
        return number if isinstance(number, int) else None

    def excerpt(self) -> str | None:
        c = self.contribution
        if c is None or not self.visible or c.deleted_at is not None:
            return None
        words = " ".join(c.body.split())
        return words if len(words) <= EXCERPT_LENGTH else words[: EXCERPT_LENGTH - 1].rstrip() + "…"

    def at_contribution(self, text: str, **extra: Any) -> Message:
        c = self.contribution
        if c is None:
            return self.at_consultation(text, **extra)
        if c.kind == "amendment" and c.amendment is not None:
            place = {"slug": self.consultation.slug, "number": c.amendment.number}
            return Message(text, "amendments.numbered", place, excerpt=self.excerpt(), **extra)
        return Message(text, "comments.show", {"contribution_id": c.id}, excerpt=self.excerpt(), **extra)

    def at_consultation(self, text: str, **extra: Any) -> Message:
        return Message(text, "proposals.consultation", {"slug": self.consultation.slug}, **extra)


def _heading(consultation: Consultation, key: str) -> str:
    """A section's heading in the newest published version that has it."""
    for version in reversed(consultation.published_versions):
        section = version.section(key)
        if section is not None:
            return section.heading
    return key


def _decision(value: Any) -> str:
    try:
        return Decision(value).label.lower()
    except ValueError:
        return "answered"


def _reply(x: _Context) -> Message:
    whose = "your comment" if x.is_mine else "a thread you follow"
    return x.at_contribution(f"{x.actor} replied to {whose} on {x.place}.")


def _amendment_answered(x: _Context) -> Message:
    whose, follow = (f"your {x.amendment_name}", "") if x.is_mine else (x.amendment_name, ", which you follow")
    message = x.at_contribution(f"{x.actor} answered {whose} to {x.place}{follow}: {_decision(x.data.get('decision'))}.")
    amendment = getattr(x.contribution, "amendment", None)
    reason = str(x.data.get("reason") or (amendment.answer if amendment is not None else "") or "").strip()
    return replace(message, excerpt=" ".join(reason.split()) or None)  # the answer's reason (public), not the amendment


def _amendment_incorporated(x: _Context) -> Message:
    whose = f"Your {x.amendment_name} to {x.place}" if x.is_mine else f"{x.amendment_name.capitalize()} to {x.place}, which you follow,"
    number = x.version_number
    return x.at_contribution(f"{whose} is part of version {number} of {x.title}." if number else f"{whose} is part of the text.")


def _cited_in_summary(x: _Context) -> Message:
    return x.at_contribution(f"Your {x.what} on {x.place} is cited in a summary of {x.title}.")


def _cited_in_change(x: _Context) -> Message:
    number = x.version_number
    text = f"Your {x.what} is cited as a reason for a change to {x.place}" + (f" in version {number}." if number else ".")
    if number is None:
        return x.at_contribution(text)
    return Message(
        text,
        "proposals.version",
        {"slug": x.consultation.slug, "number": number},
        fragment=f"#s-{x.event.section_key}" if x.event.section_key else "",
    )


def _anchor_moved(x: _Context) -> Message:
    state = ANCHOR_STATES.get(str(x.data.get("state")), "changed in")
    number = x.version_number
    return x.at_contribution(f"The passage your annotation on {x.place} quoted {state} version {number or 'the new version'} of {x.title}.")


def _hidden(x: _Context) -> Message:
    reason = " ".join(str(x.data.get("reason") or "").split())
    text = f"A moderator hid your {x.what} on {x.place}" + (f": {reason}" if reason else ".")
    return Message(text, "moderation.log", {"slug": x.consultation.slug}, excerpt=None)


def _restored(x: _Context) -> Message:
    return x.at_contribution(f"A moderator restored your {x.what} on {x.place}.")


def _new_comment(x: _Context) -> Message:
    return x.at_contribution(f"{x.actor} commented on {x.place}.")


def _new_amendment(x: _Context) -> Message:
    return x.at_contribution(f"{x.actor} proposed {x.amendment_name} to {x.place}.")


def _opened(x: _Context) -> Message:
    closes = x.consultation.closes_at
    return x.at_consultation(f"{x.title} is open for comments" + (f" until {closes:%-d %B %Y}." if closes else "."))


def _closing_soon(x: _Context) -> Message:
    closes = x.consultation.closes_at
    return x.at_consultation(
        f"{x.title} closes" + (f" on {closes:%-d %B %Y}" if closes else " soon") + ": there is still time to take part."
    )


def _closed(x: _Context) -> Message:
    return x.at_consultation(f"{x.title} is closed. The organisation is now reading and answering what was said.")


def _concluded(x: _Context) -> Message:
    return Message(f"{x.title} is concluded: read what came of it.", "outcome.show", {"slug": x.consultation.slug})


def _version_published(x: _Context) -> Message:
    number = x.version_number
    if number is None:
        return x.at_consultation(f"A new version of {x.title} is published.")
    return Message(f"Version {number} of {x.title} is published.", "proposals.version", {"slug": x.consultation.slug, "number": number})


def _update(x: _Context) -> Message:
    subject, body = str(x.data.get("subject") or ""), str(x.data.get("body") or "")
    organisation = x.consultation.organisation.name
    return Message(
        f"{organisation} sent an update on {x.title}: {subject}",
        "notifications.updates",
        {"slug": x.consultation.slug},
        fragment=f"#update-{x.event.id}",
        subject=subject,
        body=body,
    )


def _data_export_ready(x: _Context) -> Message:
    expires = str(x.data.get("expires_at") or "")
    return Message("Your data is ready to download" + (f" until {expires}." if expires else "."), "privacy.data")


_WORDING = {
    EventKind.REPLY: _reply,
    EventKind.AMENDMENT_ANSWERED: _amendment_answered,
    EventKind.AMENDMENT_INCORPORATED: _amendment_incorporated,
    EventKind.CITED_IN_SUMMARY: _cited_in_summary,
    EventKind.CITED_IN_CHANGE: _cited_in_change,
    EventKind.ANCHOR_MOVED: _anchor_moved,
    EventKind.HIDDEN: _hidden,
    EventKind.RESTORED: _restored,
    EventKind.NEW_COMMENT: _new_comment,
    EventKind.NEW_AMENDMENT: _new_amendment,
    EventKind.OPENED: _opened,
    EventKind.CLOSING_SOON: _closing_soon,
    EventKind.CLOSED: _closed,
    EventKind.CONCLUDED: _concluded,
    EventKind.VERSION_PUBLISHED: _version_published,
    EventKind.UPDATE: _update,
    EventKind.DATA_EXPORT_READY: _data_export_ready,
}
