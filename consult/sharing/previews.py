"""What a link to a page shows when pasted into a chat or a social network: its Open Graph
and Twitter-card metadata and its preview image (application layer).

Previews are made **for an anonymous reader**, whoever asks: a moderator reading a hidden
amendment, or an author their draft, gets no preview of it (no tags, the image a 404), so a
link shared from such a page never carries what the public may not see. Every address in a
preview is built on ``CONSULT_BASE_URL`` (``links.site_url``), never on the request's ``Host``.

The image's address ends with a digest of everything it shows (``Card``): when the tally, the
state, the days left or the title change, the page names a new image; an old address redirects
to the current one, so a stale image is never served. Images are drawn on the first request
for their digest (a few tens of milliseconds: a crawler fetches the image once, right after the
page, and does not come back for a "being prepared") and kept as files in
``instance/previews/``; drawing one removes the older files of the same page in the same language.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from consult.amendments.models import Amendment
from consult.amendments.services import get_visible_amendment
from consult.comments.services import visible_contribution
from consult.contributions.models import Contribution, ContributionKind
from consult.core import links
from consult.core.i18n import current_language
from consult.core.models import db, utcnow
from consult.core.templating import format_number
from consult.core.text import plain_text
from consult.groups import calls
from consult.permissions import Action, can
from consult.proposals.models import Consultation, ConsultationState
from consult.proposals.services import get_visible_consultation
from consult.sharing.drawing import DRAWING_VERSION, HEIGHT, WIDTH, Card, draw_card
from consult.voting.services import tallies

SITE_NAME = "Consult"
#: Open Graph's locale of each interface language (it wants a territory too).
OG_LOCALES = {"en": "en_GB", "fr": "fr_FR", "es": "es_ES", "ar": "ar_AR"}
DESCRIPTION_LENGTH = 200

STATE_LABELS = {
    ConsultationState.OPEN: _l("Open for comments"),
    ConsultationState.CLOSED: _l("Closed"),
    ConsultationState.CONCLUDED: _l("Concluded: outcome published"),
}


@dataclass(frozen=True)
class Preview:
    """A page's share preview. ``kind`` and ``ref`` name it for the image's address (``ref``:
    the consultation's slug, the contribution's id, ``slug`` and section key)."""

    kind: str
    ref: dict
    title: str
    description: str
    url: str
    card: Card
    og_type: str = "article"
    #: The language its texts and image are in: the request's.
    language: str = field(default_factory=current_language)

    @property
    def digest(self) -> str:
        shown = json.dumps(
            {"v": DRAWING_VERSION, "kind": self.kind, "ref": self.ref, "language": self.language, **asdict(self.card)}, sort_keys=True
        )
        return hashlib.sha256(shown.encode()).hexdigest()[:20]

    @property
    def image_url(self) -> str:
        return links.site_url("sharing.image", kind=self.kind, digest=self.digest, **self.ref)

    @property
    def locale(self) -> str:
        return OG_LOCALES.get(self.language, self.language)

    width, height = WIDTH, HEIGHT
    site_name = SITE_NAME


def excerpt(text: str, length: int = DESCRIPTION_LENGTH) -> str:
    """``text`` on one line, cut at a word before ``length`` characters (with "…")."""
    flat = " ".join(text.split())
    if len(flat) <= length:
        return flat
    return flat[: length - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def _days_left(c: Consultation) -> str:
    if not c.is_open or c.closes_at is None:
        return ""
    days = math.ceil((c.closes_at - utcnow()).total_seconds() / 86400)
    return _("Closes today") if days <= 0 else ngettext("%(num)d day left", "%(num)d days left", days)


def _card(c: Consultation, label: str, title: str, tally: str = "") -> Card:
    return Card(
        label=label,
        title=title,
        organisation=c.organisation.name,
        state=str(STATE_LABELS.get(ConsultationState(c.state), c.state.capitalize())),
        days_left=_days_left(c),
        tally=tally,
    )


def _public(slug: str) -> Consultation | None:
    return get_visible_consultation(None, slug)


def consultation_preview(slug: str, number: int | None = None) -> Preview | None:
    """The consultation's page (or one of its published versions: ``number``)."""
    c = _public(slug)
    if c is None or c.current_version is None:
        return None
    if number is not None and (number not in {v.number for v in c.published_versions}):
        return None
    url = links.site_url("proposals.version", slug=slug, number=number) if number else links.site_url("proposals.consultation", slug=slug)
    return Preview(
        kind="consultation",
        ref={"slug": slug},
        title=c.title,
        description=excerpt(plain_text(c.summary)) or _("A consultation by %(organisation)s.", organisation=c.organisation.name),
        url=url,
        card=_card(c, _("Consultation"), c.title),
    )


def section_preview(slug: str, key: str) -> Preview | None:
    """A section of the current version (its discussion page)."""
    c = _public(slug)
    section = c.current_version.section(key) if c is not None and c.current_version else None
    if section is None:
        return None
    return Preview(
        kind="section",
        ref={"slug": slug, "key": key},
        title=f"{section.heading} · {c.title}",
        description=excerpt(section.text) or _("A section of %(title)s.", title=c.title),
        url=links.site_url("comments.section", slug=slug, key=key),
        card=_card(c, _("Section: %(heading)s", heading=excerpt(section.heading, 60)), c.title),
    )


def _tally_text(contribution: Contribution) -> str:
    tally = tallies([contribution.id])[contribution.id]
    return _("%(support)s support · %(oppose)s oppose", support=tally.support, oppose=tally.oppose)


def amendment_preview_by_number(slug: str, number: int) -> Preview | None:
    """The preview of amendment A``number`` of the consultation ``slug`` (its page's address)."""
    contribution_id = db.session.scalar(
        select(Amendment.contribution_id)
        .join(Consultation, Consultation.id == Amendment.consultation_id)
        .where(Consultation.slug == slug, Amendment.number == number)
    )
    return amendment_preview(contribution_id) if contribution_id is not None else None


def amendment_preview(contribution_id: int) -> Preview | None:
    contribution = get_visible_amendment(None, contribution_id)
    if contribution is None:
        return None
    c, amendment = contribution.consultation, contribution.amendment
    base = contribution.version.section(contribution.section_key) if contribution.section_key else None
    heading = base.heading if base else (contribution.section_key or "")
    author = contribution.author.display_name if contribution.author else _("a former participant")
    tally = _tally_text(contribution)
    if amendment.decision:
        tally = f"{tally} · {amendment.decision_label}"
    elif amendment.is_withdrawn:
        tally = f"{tally} · {_('withdrawn')}"
    return Preview(
        kind="amendment",
        ref={"contribution_id": contribution.id},
        title=_("Amendment %(label)s to “%(heading)s” · %(title)s", label=amendment.label, heading=heading, title=c.title),
        description=excerpt(plain_text(contribution.body)) or _("Proposed by %(name)s.", name=author),
        url=links.site_url("amendments.numbered", slug=c.slug, number=amendment.number),
        card=_card(
            c,
            _("Amendment %(label)s by %(name)s", label=amendment.label, name=excerpt(author, 40)),
            _("To “%(heading)s” · %(title)s", heading=heading, title=c.title),
            tally,
        ),
    )


def comment_preview(contribution_id: int) -> Preview | None:
    """A comment or a reply (its page of its own: ``sharing.comment``)."""
    contribution = visible_contribution(None, contribution_id)
    if contribution is None or contribution.kind not in (ContributionKind.COMMENT, ContributionKind.REPLY):
        return None
    c = contribution.consultation
    author = contribution.author.display_name if contribution.author else _("a former participant")
    words = plain_text(contribution.body)
    if contribution.kind == ContributionKind.REPLY:
        title = _("Reply by %(name)s · %(title)s", name=author, title=c.title)
    else:
        title = _("Comment by %(name)s · %(title)s", name=author, title=c.title)
    return Preview(
        kind="comment",
        ref={"contribution_id": contribution.id},
        title=title,
        description=excerpt(words),
        url=links.site_url("sharing.comment", contribution_id=contribution.id),
        card=_card(c, _("Comment by %(name)s", name=excerpt(author, 40)), _("“%(words)s”", words=excerpt(words, 160))),
    )


def outcome_preview(slug: str) -> Preview | None:
    c = _public(slug)
    if c is None or not can(None, Action.VIEW_OUTCOME, c):
        return None
    return Preview(
        kind="outcome",
        ref={"slug": slug},
        title=_("Outcome: %(title)s", title=c.title),
        description=_("You said, we did: what %(organisation)s changed after the consultation, and why.", organisation=c.organisation.name),
        url=links.site_url("outcome.show", slug=slug),
        card=_card(c, _("Outcome: you said, we did"), c.title),
    )


def opinion_map_preview(slug: str) -> Preview | None:
    c = _public(slug)
    if c is None:
        return None
    return Preview(
        kind="opinion-map",
        ref={"slug": slug},
        title=_("Opinion map: %(title)s", title=c.title),
        description=_("Where participants agree and disagree: groups of people who voted alike on short statements."),
        url=links.site_url("voting.opinion_map", slug=slug),
        card=_card(c, _("Opinion map"), c.title),
    )


def call_preview(call_id: int) -> Preview | None:
    """A call to action's page (issue 20): its progress towards its goal and its time left on the card."""
    call = calls.get_visible_call(None, call_id)
    if call is None:
        return None
    c = call.consultation
    progress = calls.progress_of([call])[call.id]
    figure = _("%(count)s of %(goal)s", count=format_number(progress.count), goal=format_number(progress.goal))
    if progress.is_closed:
        left = _("Closed")
    elif progress.days_left > 1:
        left = ngettext("%(num)d day left", "%(num)d days left", progress.days_left)
    else:
        left = _("Closes today")
    card = _card(c, _("Call to action by %(publisher)s", publisher=excerpt(calls.publisher_name(call), 40)), call.title, figure)
    return Preview(
        kind="call",
        ref={"call_id": call.id},
        title=f"{call.title} · {c.title}",
        description=excerpt(plain_text(call.body))
        or _("A call to action by %(publisher)s on %(title)s.", publisher=calls.publisher_name(call), title=c.title),
        url=links.site_url("calls.page", call_id=call.id),
        card=replace(card, days_left=left),
    )


#: Each kind of preview from the values of its image's address.
BY_KIND = {
    "consultation": lambda slug, **_: consultation_preview(slug),
    "section": lambda slug, key, **_: section_preview(slug, key),
    "amendment": lambda contribution_id, **_: amendment_preview(contribution_id),
    "comment": lambda contribution_id, **_: comment_preview(contribution_id),
    "outcome": lambda slug, **_: outcome_preview(slug),
    "opinion-map": lambda slug, **_: opinion_map_preview(slug),
    "call": lambda call_id, **_: call_preview(call_id),
}


# ---- the image files -----------------------------------------------------------------------


def _folder() -> Path:
    return Path(current_app.instance_path) / "previews"


def _prefix(preview: Preview) -> str:
    """The file names of one page's images in one language start with this (its digest follows)."""
    ref = json.dumps({"kind": preview.kind, "language": preview.language, **preview.ref}, sort_keys=True)
    return f"{preview.kind}-{hashlib.sha256(ref.encode()).hexdigest()[:12]}-"


def image_bytes(preview: Preview) -> bytes:
    """The PNG of ``preview``: from its file when drawn already, else drawn now, stored (written
    to a temporary file then renamed, so a reader never sees half a file, and two requests
    drawing at once both leave a whole one) and the page's older images removed."""
    folder = _folder()
    path = folder / f"{_prefix(preview)}{preview.digest}.png"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = draw_card(preview.card)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, path)
    for older in folder.glob(f"{_prefix(preview)}*.png"):
        if older != path:
            older.unlink(missing_ok=True)
    return data


# ---- share links ---------------------------------------------------------------------------


def share_links(preview: Preview) -> list[tuple[str, str]]:
    """Plain links that share the page by mail or on a few networks: each opens the network's
    own share page with the address filled in. No script or image of theirs is loaded here."""
    url, title = quote(preview.url, safe=""), quote(preview.title, safe="")
    return [
        (_("Email"), f"mailto:?subject={title}&body={url}"),
        ("Bluesky", f"https://bsky.app/intent/compose?text={quote(f'{preview.title} {preview.url}', safe='')}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={url}"),
        ("LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?url={url}"),
        ("X (Twitter)", f"https://twitter.com/intent/tweet?text={title}&url={url}"),
    ]
