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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import select

from consult.accounts.models import User
from consult.amendments.models import Decision
from consult.contributions.models import Contribution
from consult.core import links
from consult.core.models import db
from consult.core.templating import format_date, format_datetime
from consult.groups.models import CallToAction
from consult.notifications.models import Event, EventKind
from consult.permissions import visible_contributions
from consult.proposals.models import Consultation

#: Where an event about a person's account (``ACCOUNT_KINDS``) happened, for mail's groups.
ACCOUNT = _l("Your account")
#: How much of a contribution's text a notification quotes.
EXCERPT_LENGTH = 200


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
            return _("%(consultation)s: %(subject)s", consultation=self.consultation, subject=self.subject)
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
    """The sentence and link of ``event`` for ``reader``, in the language the interface speaks
    now (mail: ``delivery`` sets the reader's). ``visible``: whether the reader may
    see the event's contribution (looked up when not given; ``describe_all`` asks once for
    many)."""
    contribution = event.contribution
    if contribution is not None and visible is None:
        visible = bool(_visible_ids(reader, [contribution.id]))
    message = _WORDING[EventKind(event.kind)](_Context(event, reader, bool(visible)))
    return replace(message, consultation=event.consultation.title if event.consultation is not None else str(ACCOUNT))


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
        return _("“%(title)s”", title=self.consultation.title)

    @property
    def actor(self) -> str:
        actor = self.event.actor
        return actor.display_name if actor is not None else _("Someone")

    @property
    def is_mine(self) -> bool:
        """Whether the reader is the person the event is addressed to (their own contribution)."""
        return self.reader is not None and self.event.recipient_id == self.reader.id

    @property
    def place(self) -> str:
        """Where a contribution was made: its section's heading, or the consultation's title."""
        key = self.event.section_key
        return _("“%(title)s”", title=_heading(self.consultation, key)) if key else self.title

    @property
    def label(self) -> str | None:
        """The amendment's number in the consultation ("A3"), when the event is about one."""
        amendment = getattr(self.contribution, "amendment", None)
        return amendment.label if amendment is not None else None

    @property
    def what(self) -> str:
        """Which words name the contribution (a key of the sentences in ``_YOURS``): its kind,
        "annotation" for a comment on selected words, "numbered amendment" for an amendment
        named by its number."""
        c = self.contribution
        if c is None:
            return "contribution"
        if c.kind == "amendment":
            return "numbered amendment" if self.label else "amendment"
        return "annotation" if c.kind == "comment" and c.anchor else c.kind

    @property
    def version_number(self) -> int | None:
        if self.event.version is not None:
            return self.event.version.number
        number = self.data.get("version")
        return number if isinstance(number, int) else None

    def yours(self, sentence: str, **values: Any) -> str:
        """One of the sentences of ``_YOURS`` about the reader's contribution, worded for its kind
        (whole sentences: the words around the kind change with it in other languages)."""
        sentences = _YOURS[sentence]
        word = sentences.get(self.what) or sentences["contribution"]
        return word(place=self.place, title=self.title, label=self.label, **values)

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


# The sentences about the reader's own contribution, one per kind of contribution it is about.
_YOURS: dict[str, dict[str, Callable[..., str]]] = {
    "cited in a summary": {
        "comment": lambda **v: _("Your comment on %(place)s is cited in a summary of %(title)s.", **v),
        "reply": lambda **v: _("Your reply on %(place)s is cited in a summary of %(title)s.", **v),
        "annotation": lambda **v: _("Your annotation on %(place)s is cited in a summary of %(title)s.", **v),
        "numbered amendment": lambda **v: _("Your amendment %(label)s on %(place)s is cited in a summary of %(title)s.", **v),
        "amendment": lambda **v: _("Your amendment on %(place)s is cited in a summary of %(title)s.", **v),
        "statement": lambda **v: _("Your statement on %(place)s is cited in a summary of %(title)s.", **v),
        "answer": lambda **v: _("Your answer on %(place)s is cited in a summary of %(title)s.", **v),
        "contribution": lambda **v: _("Your contribution on %(place)s is cited in a summary of %(title)s.", **v),
    },
    "cited in a change of a version": {
        "comment": lambda **v: _("Your comment is cited as a reason for a change to %(place)s in version %(number)s.", **v),
        "reply": lambda **v: _("Your reply is cited as a reason for a change to %(place)s in version %(number)s.", **v),
        "annotation": lambda **v: _("Your annotation is cited as a reason for a change to %(place)s in version %(number)s.", **v),
        "numbered amendment": lambda **v: _(
            "Your amendment %(label)s is cited as a reason for a change to %(place)s in version %(number)s.", **v
        ),
        "amendment": lambda **v: _("Your amendment is cited as a reason for a change to %(place)s in version %(number)s.", **v),
        "statement": lambda **v: _("Your statement is cited as a reason for a change to %(place)s in version %(number)s.", **v),
        "answer": lambda **v: _("Your answer is cited as a reason for a change to %(place)s in version %(number)s.", **v),
        "contribution": lambda **v: _("Your contribution is cited as a reason for a change to %(place)s in version %(number)s.", **v),
    },
    "cited in a change": {
        "comment": lambda **v: _("Your comment is cited as a reason for a change to %(place)s.", **v),
        "reply": lambda **v: _("Your reply is cited as a reason for a change to %(place)s.", **v),
        "annotation": lambda **v: _("Your annotation is cited as a reason for a change to %(place)s.", **v),
        "numbered amendment": lambda **v: _("Your amendment %(label)s is cited as a reason for a change to %(place)s.", **v),
        "amendment": lambda **v: _("Your amendment is cited as a reason for a change to %(place)s.", **v),
        "statement": lambda **v: _("Your statement is cited as a reason for a change to %(place)s.", **v),
        "answer": lambda **v: _("Your answer is cited as a reason for a change to %(place)s.", **v),
        "contribution": lambda **v: _("Your contribution is cited as a reason for a change to %(place)s.", **v),
    },
    "hidden with a reason": {
        "comment": lambda **v: _("A moderator hid your comment on %(place)s: %(reason)s", **v),
        "reply": lambda **v: _("A moderator hid your reply on %(place)s: %(reason)s", **v),
        "annotation": lambda **v: _("A moderator hid your annotation on %(place)s: %(reason)s", **v),
        "numbered amendment": lambda **v: _("A moderator hid your amendment %(label)s on %(place)s: %(reason)s", **v),
        "amendment": lambda **v: _("A moderator hid your amendment on %(place)s: %(reason)s", **v),
        "statement": lambda **v: _("A moderator hid your statement on %(place)s: %(reason)s", **v),
        "answer": lambda **v: _("A moderator hid your answer on %(place)s: %(reason)s", **v),
        "contribution": lambda **v: _("A moderator hid your contribution on %(place)s: %(reason)s", **v),
    },
    "hidden": {
        "comment": lambda **v: _("A moderator hid your comment on %(place)s.", **v),
        "reply": lambda **v: _("A moderator hid your reply on %(place)s.", **v),
        "annotation": lambda **v: _("A moderator hid your annotation on %(place)s.", **v),
        "numbered amendment": lambda **v: _("A moderator hid your amendment %(label)s on %(place)s.", **v),
        "amendment": lambda **v: _("A moderator hid your amendment on %(place)s.", **v),
        "statement": lambda **v: _("A moderator hid your statement on %(place)s.", **v),
        "answer": lambda **v: _("A moderator hid your answer on %(place)s.", **v),
        "contribution": lambda **v: _("A moderator hid your contribution on %(place)s.", **v),
    },
    "restored": {
        "comment": lambda **v: _("A moderator restored your comment on %(place)s.", **v),
        "reply": lambda **v: _("A moderator restored your reply on %(place)s.", **v),
        "annotation": lambda **v: _("A moderator restored your annotation on %(place)s.", **v),
        "numbered amendment": lambda **v: _("A moderator restored your amendment %(label)s on %(place)s.", **v),
        "amendment": lambda **v: _("A moderator restored your amendment on %(place)s.", **v),
        "statement": lambda **v: _("A moderator restored your statement on %(place)s.", **v),
        "answer": lambda **v: _("A moderator restored your answer on %(place)s.", **v),
        "contribution": lambda **v: _("A moderator restored your contribution on %(place)s.", **v),
    },
}


def _decision(value: Any) -> str:
    """An amendment's answer, as the end of a sentence ("…: accepted in part.")."""
    match value:
        case Decision.ACCEPTED:
            return pgettext("amendment answer", "accepted")
        case Decision.ACCEPTED_IN_PART:
            return pgettext("amendment answer", "accepted in part")
        case Decision.NOT_ACCEPTED:
            return pgettext("amendment answer", "not accepted")
        case Decision.OUT_OF_SCOPE:
            return pgettext("amendment answer", "out of scope")
    return pgettext("amendment answer", "answered")


def _reply(x: _Context) -> Message:
    if x.is_mine:
        return x.at_contribution(_("%(actor)s replied to your comment on %(place)s.", actor=x.actor, place=x.place))
    return x.at_contribution(_("%(actor)s replied to a thread you follow on %(place)s.", actor=x.actor, place=x.place))


def _amendment_answered(x: _Context) -> Message:
    values = {"actor": x.actor, "label": x.label, "place": x.place, "decision": _decision(x.data.get("decision"))}
    if x.is_mine and x.label:
        text = _("%(actor)s answered your amendment %(label)s to %(place)s: %(decision)s.", **values)
    elif x.is_mine:
        text = _("%(actor)s answered your amendment to %(place)s: %(decision)s.", **values)
    elif x.data.get("signer") and x.label:  # issue 20 (drafts): a group's amendment they signed
        text = _("%(actor)s answered amendment %(label)s to %(place)s, which you signed: %(decision)s.", **values)
    elif x.label:
        text = _("%(actor)s answered amendment %(label)s to %(place)s, which you follow: %(decision)s.", **values)
    else:
        text = _("%(actor)s answered amendment to %(place)s, which you follow: %(decision)s.", **values)
    message = x.at_contribution(text)
    amendment = getattr(x.contribution, "amendment", None)
    reason = str(x.data.get("reason") or (amendment.answer if amendment is not None else "") or "").strip()
    return replace(message, excerpt=" ".join(reason.split()) or None)  # the answer's reason (public), not the amendment


def _amendment_incorporated(x: _Context) -> Message:
    values = {"label": x.label, "place": x.place, "number": x.version_number, "title": x.title}
    mine, label, number = x.is_mine, bool(x.label), bool(x.version_number)
    if mine and label and number:
        text = _("Your amendment %(label)s to %(place)s is part of version %(number)s of %(title)s.", **values)
    elif mine and label:
        text = _("Your amendment %(label)s to %(place)s is part of the text.", **values)
    elif mine and number:
        text = _("Your amendment to %(place)s is part of version %(number)s of %(title)s.", **values)
    elif mine:
        text = _("Your amendment to %(place)s is part of the text.", **values)
    elif label and number:
        text = _("Amendment %(label)s to %(place)s, which you follow, is part of version %(number)s of %(title)s.", **values)
    elif label:
        text = _("Amendment %(label)s to %(place)s, which you follow, is part of the text.", **values)
    elif number:
        text = _("Amendment to %(place)s, which you follow, is part of version %(number)s of %(title)s.", **values)
    else:
        text = _("Amendment to %(place)s, which you follow, is part of the text.", **values)
    return x.at_contribution(text)


def _cited_in_summary(x: _Context) -> Message:
    return x.at_contribution(x.yours("cited in a summary"))


def _cited_in_change(x: _Context) -> Message:
    number = x.version_number
    if number is None:
        return x.at_contribution(x.yours("cited in a change"))
    return Message(
        x.yours("cited in a change of a version", number=number),
        "proposals.version",
        {"slug": x.consultation.slug, "number": number},
        fragment=f"#s-{x.event.section_key}" if x.event.section_key else "",
    )


def _anchor_moved(x: _Context) -> Message:
    state, number = str(x.data.get("state")), x.version_number
    values = {"place": x.place, "number": number, "title": x.title}
    if state == "changed":
        text = (
            _("The passage your annotation on %(place)s quoted was reworded in version %(number)s of %(title)s.", **values)
            if number
            else _("The passage your annotation on %(place)s quoted was reworded in the new version of %(title)s.", **values)
        )
    elif state == "moved":
        text = (
            _("The passage your annotation on %(place)s quoted moved to another section in version %(number)s of %(title)s.", **values)
            if number
            else _("The passage your annotation on %(place)s quoted moved to another section in the new version of %(title)s.", **values)
        )
    elif state == "orphaned":
        text = (
            _("The passage your annotation on %(place)s quoted is no longer in version %(number)s of %(title)s.", **values)
            if number
            else _("The passage your annotation on %(place)s quoted is no longer in the new version of %(title)s.", **values)
        )
    else:
        text = (
            _("The passage your annotation on %(place)s quoted changed in version %(number)s of %(title)s.", **values)
            if number
            else _("The passage your annotation on %(place)s quoted changed in the new version of %(title)s.", **values)
        )
    return x.at_contribution(text)


def _hidden(x: _Context) -> Message:
    reason = " ".join(str(x.data.get("reason") or "").split())
    text = x.yours("hidden with a reason", reason=reason) if reason else x.yours("hidden")
    return Message(text, "moderation.log", {"slug": x.consultation.slug}, excerpt=None)


def _restored(x: _Context) -> Message:
    return x.at_contribution(x.yours("restored"))


def _new_comment(x: _Context) -> Message:
    return x.at_contribution(_("%(actor)s commented on %(place)s.", actor=x.actor, place=x.place))


def _new_amendment(x: _Context) -> Message:
    if x.label:
        return x.at_contribution(_("%(actor)s proposed amendment %(label)s to %(place)s.", actor=x.actor, label=x.label, place=x.place))
    return x.at_contribution(_("%(actor)s proposed amendment to %(place)s.", actor=x.actor, place=x.place))


def _opened(x: _Context) -> Message:
    closes = x.consultation.closes_at
    if closes:
        return x.at_consultation(_("%(title)s is open for comments until %(date)s.", title=x.title, date=format_date(closes)))
    return x.at_consultation(_("%(title)s is open for comments.", title=x.title))


def _closing_soon(x: _Context) -> Message:
    closes = x.consultation.closes_at
    if closes:
        return x.at_consultation(
            _("%(title)s closes on %(date)s: there is still time to take part.", title=x.title, date=format_date(closes))
        )
    return x.at_consultation(_("%(title)s closes soon: there is still time to take part.", title=x.title))


def _closed(x: _Context) -> Message:
    return x.at_consultation(_("%(title)s is closed. The organisation is now reading and answering what was said.", title=x.title))


def _concluded(x: _Context) -> Message:
    return Message(_("%(title)s is concluded: read what came of it.", title=x.title), "outcome.show", {"slug": x.consultation.slug})


def _version_published(x: _Context) -> Message:
    number = x.version_number
    if number is None:
        return x.at_consultation(_("A new version of %(title)s is published.", title=x.title))
    return Message(
        _("Version %(number)s of %(title)s is published.", number=number, title=x.title),
        "proposals.version",
        {"slug": x.consultation.slug, "number": number},
    )


def _update(x: _Context) -> Message:
    subject, body = str(x.data.get("subject") or ""), str(x.data.get("body") or "")
    organisation = x.consultation.organisation.name
    return Message(
        _("%(organisation)s sent an update on %(title)s: %(subject)s", organisation=organisation, title=x.title, subject=subject),
        "notifications.updates",
        {"slug": x.consultation.slug},
        fragment=f"#update-{x.event.id}",
        subject=subject,
        body=body,
    )


def _until(value: Any) -> str:
    """A time recorded with an event: an ISO time, shown in the reader's language (events made
    before the language was kept in mind recorded it already worded)."""
    try:
        return format_datetime(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _data_export_ready(x: _Context) -> Message:
    expires = x.data.get("expires_at")
    if expires:
        return Message(_("Your data is ready to download until %(date)s.", date=_until(expires)), "privacy.data")
    return Message(_("Your data is ready to download."), "privacy.data")


def _call_published(x: _Context) -> Message:
    """Issue 20 (calls helper): a call to action, named with its publisher and deadline."""
    call = db.session.get(CallToAction, x.data.get("call")) if isinstance(x.data.get("call"), int) else None
    if call is None:
        return x.at_consultation(_("A call to action was published on %(title)s.", title=x.title))
    publisher = call.group.name if call.group is not None else call.organisation.name  # type: ignore[union-attr]
    return Message(
        _(
            "%(publisher)s calls on you: “%(call)s”, on %(title)s, by %(date)s.",
            publisher=publisher,
            call=call.title,
            title=x.title,
            date=format_date(call.deadline),
        ),
        "calls.page",
        {"call_id": call.id},
        excerpt=call.body[:EXCERPT_LENGTH] or None,
    )


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
    EventKind.CALL_PUBLISHED: _call_published,
}
