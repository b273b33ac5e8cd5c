"""Comments, replies and annotations: posting, editing, deleting, reading threads, and
re-anchoring annotations when a new version of the text is published.

Every function that changes something takes the acting user as ``actor``, checks permission
through ``consult.permissions``, flushes and never commits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, insert, select, true
from sqlalchemy.orm import aliased, selectinload

from consult.accounts.models import User
from consult.comments import counts
from consult.comments.anchoring import TextAnchor, locate_quote, normalise_space, quote_context, reanchor
from consult.comments.models import Anchor, AnchorState
from consult.contributions.models import Contribution, ContributionKind, ContributionRevision, ModerationState
from consult.contributions.services import COMMENT_BODY, MAX_QUOTE_LENGTH, add_contribution, edited_body
from consult.core import links
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.core.signals import annotations_reanchored, version_published
from consult.core.templating import format_number
from consult.permissions import Action, authorize, visible_contributions
from consult.proposals.models import Consultation, Section, SectionText, Version
from consult.proposals.services import get_visible_consultation

MAX_BODY_LENGTH = COMMENT_BODY.max_length
#: What the comment threads show and count (amendments and statements have pages of their own).
DISCUSSION_KINDS = counts.DISCUSSION_KINDS
#: The deepest reply shown nested (a top-level comment has depth 0): three levels on screen.
MAX_SHOWN_DEPTH = 2


def anchor_text(section: Section | SectionText) -> str:
    """The text annotations count offsets in: ``section.text`` (:func:`consult.core.text.section_text`),
    the textContent of the section's body on the page (``#t-KEY``) and the record's section ``text``."""
    return section.text


# ---- posting ------------------------------------------------------------------------------


def post_comment(
    consultation: Consultation,
    *,
    actor: User,
    body: str,
    section_key: str | None = None,
    quote: str | None = None,
    start: int | None = None,
    end: int | None = None,
    parent: Contribution | None = None,
    text_language: str | None = None,
    language: str | None = None,
) -> Contribution:
    """Comment on the consultation, a section, or a quoted passage of a section (an
    annotation), or reply to a contribution. Only while the consultation is open; the quote
    must be words of the section as published (the server finds them, the browser only hints
    where), in the text in ``text_language`` (the original's by default, or when the version has
    no text in that language). An annotation is in the language of the text it quotes: its
    ``language`` says on which text it is drawn and re-anchored. Any other comment is in
    ``language``, by default the language the interface speaks to its author."""

    def place(contribution: Contribution) -> None:
        version = contribution.version
        if parent is not None:
            if parent.consultation_id != consultation.id or parent.is_deleted or parent.moderation_state != ModerationState.VISIBLE:
                raise RuleViolation(_("You can only reply to a comment that is shown in this consultation."), status=400)
            if quote:
                raise RuleViolation(_("A reply cannot quote the text; reply without a quote, or comment on the passage."), status=400)
            contribution.parent = parent
            contribution.thread_id = parent.thread_id or parent.id
            contribution.depth = parent.depth + 1
            contribution.section_key = parent.section_key
        elif section_key:
            section = version.section(section_key)
            if section is None:
                raise RuleViolation(_("That section is not in the current version of the text."), status=400)
            contribution.section_key = section.key
            if quote and quote.strip():
                authorize(actor, Action.ANNOTATE, consultation)
                language = text_language if text_language in version.languages else consultation.original_language
                contribution.anchors.append(_anchor(section.in_language(language), version, quote, start, end))
                contribution.language = language
        elif quote and quote.strip():
            raise RuleViolation(_("Choose the section the quoted words are in."), status=400)

    kind = ContributionKind.REPLY if parent is not None else ContributionKind.COMMENT
    return add_contribution(consultation, actor=actor, kind=kind, body=body, prepare=place, language=language)


def _anchor(section: Section | SectionText, version: Version, quote: str, start: int | None, end: int | None) -> Anchor:
    quote = quote.strip()
    if len(quote) > MAX_QUOTE_LENGTH:
        raise RuleViolation(_("Quote at most %(count)s characters.", count=format_number(MAX_QUOTE_LENGTH)), status=400)
    section_text = anchor_text(section)
    span = None
    if start is not None and end is not None and 0 <= start < end <= len(section_text):
        if normalise_space(section_text[start:end]) == normalise_space(quote):
            span = (start, end)
    if span is None:
        span = locate_quote(section_text, quote, near=start)
    if span is not None:  # a selection often takes the space around the words with it
        first, last = span
        while first < last and section_text[first].isspace():
            first += 1
        while last > first and section_text[last - 1].isspace():
            last -= 1
        span = (first, last)
    if span is None or span[0] == span[1]:
        raise RuleViolation(
            _(
                "The words you quoted are not in the section “%(heading)s”. Copy them exactly as they "
                "appear, or leave the quote empty to comment on the whole section.",
                heading=section.heading,
            ),
            status=400,
        )
    prefix, suffix = quote_context(section_text, *span)
    return Anchor(
        version=version,
        state=AnchorState.ANCHORED,
        section_key=section.key,
        start=span[0],
        end=span[1],
        exact=section_text[span[0] : span[1]],
        prefix=prefix,
        suffix=suffix,
    )


# ---- editing and deleting ------------------------------------------------------------------


def edit_comment(contribution: Contribution, *, actor: User, body: str) -> None:
    """Correct your own words within the edit window; the earlier text is kept."""
    authorize(actor, Action.EDIT_COMMENT, contribution)
    body, body_html = edited_body(contribution, body)
    if body == contribution.body:
        return
    contribution.revisions.append(
        ContributionRevision(body=contribution.body, written_at=contribution.edited_at or contribution.created_at)
    )
    contribution.body = body
    contribution.body_html = body_html
    contribution.edited_at = utcnow()
    db.session.flush()


def delete_comment(contribution: Contribution, *, actor: User) -> None:
    """Withdraw your own words. Where others replied, a tombstone keeps the thread readable;
    the text and its earlier versions are gone either way. A tombstone keeps its anchors (the
    policy's words, not the author's; never shown), so the W3C export still knows the thread is an
    annotation's and keeps the replies, as the site does."""
    authorize(actor, Action.DELETE_COMMENT, contribution)
    has_replies = db.session.scalar(select(func.count()).where(Contribution.parent_id == contribution.id)) > 0
    if not has_replies:
        db.session.delete(contribution)
    else:
        contribution.deleted_at = utcnow()
        contribution.body = ""
        contribution.body_html = ""
        contribution.revisions.clear()
    db.session.flush()


# ---- reading -------------------------------------------------------------------------------


@dataclass
class ThreadNode:
    contribution: Contribution
    children: list[ThreadNode] = field(default_factory=list)
    in_reply_to: Contribution | None = None  # set when shown flattened
    hidden: str | None = None  # the public reason, when a moderator hid it (shown as a tombstone)


def visible_contribution(user: User | None, contribution_id: int, *, tombstones: bool = False) -> Contribution | None:
    """Contribution ``contribution_id`` if ``user`` may see it (as a tombstone too, with
    ``tombstones``) in a consultation they may see; None otherwise (a 404, not a 403)."""
    contribution = db.session.scalar(
        select(Contribution).where(Contribution.id == contribution_id, visible_contributions(user, tombstones=tombstones))
    )
    if contribution is None or get_visible_consultation(user, contribution.consultation.slug) is None:
        return None
    return contribution


def discussion_count(consultation: Consultation, user: User | None, *, section_key: str | None) -> int:
    """How many comments and replies ``user`` sees on a section (None: on the whole consultation)."""
    return counts.counts_for(consultation, user, section_key).comments


def thread_root_and_newer(contribution: Contribution, user: User | None) -> tuple[Contribution, int]:
    """The root of ``contribution``'s thread and how many threads ``user`` sees above it (newest
    first), which says on which page of threads it is."""
    root = db.session.get(Contribution, contribution.thread_id or contribution.id)
    newer = db.session.scalar(
        select(func.count()).select_from(
            threads_query(contribution.consultation, user, section_key=root.section_key)
            .where(
                (Contribution.created_at > root.created_at) | ((Contribution.created_at == root.created_at) & (Contribution.id > root.id))
            )
            .subquery()
        )
    )
    return root, newer


def section_counts(consultation: Consultation, user: User | None) -> dict[str | None, int]:
    """How many contributions each section has (None: the whole consultation), from ``thread_counts``."""
    return counts.section_counts(consultation, user)


#: What a comment's card shows besides its own row, loaded for a whole page in one query each.
CARD_DATA = (selectinload(Contribution.author), selectinload(Contribution.revisions), selectinload(Contribution.anchors))


def threads_query(consultation: Consultation, user: User | None, *, section_key: str | None, only: Sequence[int] | Select | None = None):
    """The top-level comments of a section (or of the whole consultation), newest first. With
    ``only``: just those top-level comments, wherever they were written (the annotations a
    highlight draws, for the margin panel: one that moved was written in another section)."""
    if only is not None:
        section_filter = Contribution.id.in_(only)
    else:
        section_filter = Contribution.section_key == section_key if section_key else Contribution.section_key.is_(None)
    return (
        select(Contribution)
        .where(
            Contribution.consultation_id == consultation.id,
            Contribution.parent_id.is_(None),
            Contribution.kind == ContributionKind.COMMENT,
            section_filter,
            visible_contributions(user, tombstones=True),
        )
        .order_by(Contribution.created_at.desc(), Contribution.id.desc())
        .options(*CARD_DATA)
    )


def build_threads(roots: list[Contribution], user: User | None) -> list[ThreadNode]:
    """The replies of the given top-level comments, in one query, as trees. Three levels are
    shown nested (a comment, a reply, a reply to that); deeper replies are shown at the third
    level, each saying whom it answers."""
    if not roots:
        return []
    blocked = blocked_authors(roots[0].consultation)
    replies = db.session.scalars(
        select(Contribution)
        .where(Contribution.thread_id.in_([r.id for r in roots]), visible_contributions(user, tombstones=True))
        .order_by(Contribution.created_at, Contribution.id)
        .options(*CARD_DATA)
    ).all()
    nodes = {c.id: ThreadNode(c, hidden=_hidden_reason(c, blocked)) for c in [*roots, *replies]}
    for reply in replies:  # parents come before their replies
        if reply.parent_id not in nodes:
            del nodes[reply.id]  # under a hidden contribution: hidden with it
            continue
        holder = reply.parent_id
        if reply.depth > MAX_SHOWN_DEPTH:
            while nodes[holder].contribution.depth >= MAX_SHOWN_DEPTH:
                holder = nodes[holder].contribution.parent_id
            nodes[reply.id].in_reply_to = nodes[reply.parent_id].contribution
        nodes[holder].children.append(nodes[reply.id])
    return [nodes[r.id] for r in roots]


def blocked_authors(consultation: Consultation) -> set[int]:
    from consult.moderation.models import Block

    return set(db.session.scalars(select(Block.user_id).where(Block.organisation_id == consultation.organisation_id)))


def _hidden_reason(c: Contribution, blocked: set[int]) -> str | None:
    if c.moderation_state == ModerationState.HIDDEN:
        return c.hidden_reason or _("Hidden by the moderators.")
    if c.author_id in blocked and c.moderation_state == ModerationState.VISIBLE:
        return _("Hidden: the moderators blocked its author.")
    return None


@dataclass(frozen=True)
class Highlighted:
    start: int
    end: int
    exact: str
    state: str
    contribution_ids: list[int]


def on_text_in(consultation: Consultation, language: str | None):
    """SQL: the annotations made on the consultation's text in ``language`` (by default the
    original), by their contribution's language (``Consultation.text_language``)."""
    language = consultation.text_language(language)
    if language == consultation.original_language:
        return Contribution.language.not_in(consultation.languages[1:]) if consultation.is_multilingual else true()
    return Contribution.language == language


#: How many sections' public annotations each worker keeps (``highlights_for`` and
#: ``annotations_on_other_texts`` with a stamp).
ANNOTATIONS_KEPT = 256
_KEPT_LOCK = threading.Lock()


def highlights_for(
    version: Version, user: User | None, *, section_key: str | None = None, language: str | None = None, stamp: int = 0
) -> dict[str, list[Highlighted]]:
    """The annotations to draw on ``version``'s text in ``language`` (by default the original's),
    or on one of its sections, per section: identical ranges merged with a count. Those made on
    the text in another language are not drawn on this one (``annotations_on_other_texts``).

    With the consultation's ``stamp`` (``counts.counts_for``), what everyone sees is read once per
    worker and stamp, keyed by (version, section, text language, stamp): every change to what the
    annotations are or who sees them recounts the consultation and changes its stamp. A signed-in
    person's own annotations that wait for a moderator are read for them apart."""
    query = (
        select(Anchor.section_key, Anchor.start, Anchor.end, Anchor.exact, Anchor.state, Contribution.id)
        .join(Contribution, Contribution.id == Anchor.contribution_id)
        .where(Anchor.version_id == version.id, Anchor.state != AnchorState.ORPHANED, on_text_in(version.consultation, language))
        .order_by(Anchor.section_key, Anchor.start, Contribution.id)
    )
    if section_key is not None:
        query = query.where(Anchor.section_key == section_key)
    key = ("highlights", version.id, section_key, version.consultation.text_language(language))
    rows, own = _rows_seen(query, user, key=key, stamp=stamp, order=lambda row: (row[0], row[1], row[5]))
    if own or not stamp:
        return _grouped(rows)
    return _kept((*key, "grouped"), stamp, lambda: _grouped(rows))


def _kept(key: tuple, stamp: int, compute):
    """What ``compute`` returns, kept by this worker under ``key`` and the consultation's ``stamp``
    (the last :data:`ANNOTATIONS_KEPT`)."""
    kept: OrderedDict = current_app.extensions.setdefault("consult.annotations", OrderedDict())
    key = (*key, stamp)
    with _KEPT_LOCK:  # a threaded server's requests share it
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    value = compute()
    with _KEPT_LOCK:
        kept[key] = value
        while len(kept) > ANNOTATIONS_KEPT:
            kept.popitem(last=False)
    return value


def _rows_seen(query, user: User | None, *, key: tuple, stamp: int, order) -> tuple[Sequence, bool]:
    """The rows of ``query`` (over contributions) that ``user`` sees, and whether some are their
    own waiting ones. With the consultation's ``stamp`` those everyone sees come from :func:`_kept`
    (every change to the annotations or to who sees them recounts the consultation and changes its
    stamp); a signed-in person's own contributions that wait for a moderator are read apart."""
    if not stamp:
        return db.session.execute(query.where(visible_contributions(user))).all(), False
    public = _kept(key, stamp, lambda: tuple(db.session.execute(query.where(visible_contributions(None))).all()))
    own = []
    if getattr(user, "is_authenticated", False):
        own = db.session.execute(
            query.where(
                Contribution.author_id == user.id,
                Contribution.moderation_state == ModerationState.PENDING.value,
                Contribution.deleted_at.is_(None),
            )
        ).all()
    return (sorted([*public, *own], key=order), True) if own else (public, False)


def _grouped(rows) -> dict[str, list[Highlighted]]:
    grouped: dict[tuple, list[int]] = defaultdict(list)
    meta: dict[tuple, tuple[str, str]] = {}
    for key, start, end, exact, state, contribution_id in rows:
        grouped[(key, start, end)].append(contribution_id)
        meta[(key, start, end)] = (exact or "", state)
    result: dict[str, list[Highlighted]] = defaultdict(list)
    for (key, start, end), ids in grouped.items():
        exact, state = meta[(key, start, end)]
        result[key].append(Highlighted(start, end, exact, state, ids))
    return result


def annotations_on(version: Version, section_key: str, start: int, end: int, *, language: str | None = None) -> Select:
    """SQL: the ids of the annotations placed on words of ``version``'s section ``section_key``
    between ``start`` and ``end`` (overlapping them), on its text in ``language``. Who may see
    them is the caller's filter (``threads_query``)."""
    return (
        select(Anchor.contribution_id)
        .join(Contribution, Contribution.id == Anchor.contribution_id)
        .where(
            Anchor.version_id == version.id,
            Anchor.section_key == section_key,
            Anchor.state != AnchorState.ORPHANED,
            Anchor.start < end,
            Anchor.end > start,
            on_text_in(version.consultation, language),
        )
    )


def orphaned_on(version: Version, user: User | None, *, language: str | None = None) -> list[tuple[Anchor, Contribution]]:
    """Annotations whose words are gone from ``version``'s text in ``language`` (by default the
    original's): shown honestly, not dropped."""
    rows = db.session.execute(
        select(Anchor, Contribution)
        .join(Contribution, Contribution.id == Anchor.contribution_id)
        .where(
            Anchor.version_id == version.id,
            Anchor.state == AnchorState.ORPHANED,
            visible_contributions(user),
            on_text_in(version.consultation, language),
        )
        .order_by(Contribution.id)
    ).all()
    return [(anchor, contribution) for anchor, contribution in rows]


def annotations_on_other_texts(
    version: Version, user: User | None, *, language: str | None, section_key: str | None = None, stamp: int = 0
) -> dict[str, list[Contribution]]:
    """The annotations placed in ``version`` on its text in the other languages than ``language``,
    per section key (only ``section_key``'s when given): not drawn on this text (their words are
    another language's), listed with it. ``stamp``: as for :func:`highlights_for`."""
    if not version.consultation.is_multilingual:
        return {}
    query = (
        select(Anchor.section_key, Contribution.id)
        .join(Contribution, Contribution.id == Anchor.contribution_id)
        .where(Anchor.version_id == version.id, Anchor.state != AnchorState.ORPHANED, ~on_text_in(version.consultation, language))
        .order_by(Anchor.section_key, Contribution.id)
    )
    if section_key is not None:
        query = query.where(Anchor.section_key == section_key)
    key = ("elsewhere", version.id, section_key, version.consultation.text_language(language))
    rows, _ = _rows_seen(query, user, key=key, stamp=stamp, order=lambda row: (row[0], row[1]))
    if not rows:
        return {}
    loaded = {
        c.id: c for c in db.session.scalars(select(Contribution).where(Contribution.id.in_([i for _, i in rows])).options(*CARD_DATA))
    }
    result: dict[str, list[Contribution]] = defaultdict(list)
    for key, contribution_id in rows:
        result[key].append(loaded[contribution_id])
    return dict(result)


def earlier_section(consultation: Consultation, key: str) -> Section | None:
    """Section ``key`` as the latest published version that had it showed it: its comments
    stay readable, and its annotations' addresses keep working, after a version drops it."""
    return db.session.scalar(
        select(Section)
        .join(Version, Version.id == Section.version_id)
        .where(Version.consultation_id == consultation.id, Version.published_at.is_not(None), Section.key == key)
        .order_by(Version.number.desc())
        .limit(1)
    )


def anchor_on(contribution: Contribution, version: Version) -> Anchor | None:
    return db.session.scalar(select(Anchor).where(Anchor.contribution_id == contribution.id, Anchor.version_id == version.id))


# ---- re-anchoring --------------------------------------------------------------------------


def reanchor_annotations(version: Version, previous: Version) -> dict[str, int]:
    """Place every annotation of ``previous`` on ``version``: the same words where they still
    are (anchored), reworded (changed), in another section (moved) or gone (orphaned). Each
    annotation keeps its placement on every earlier version. An annotation made on the text in
    one language is placed on the new version's text in that language (its contribution's
    ``language``; the original's when the new version has no text in it). Returns counts per
    state."""
    old_anchors = db.session.execute(
        select(Anchor, Contribution.language)
        .join(Contribution, Contribution.id == Anchor.contribution_id)
        .where(Anchor.version_id == previous.id)
        .order_by(Anchor.id)
    ).all()
    if not old_anchors:
        return {}
    known = previous.languages
    by_language: dict[str, list[Anchor]] = defaultdict(list)
    for anchor, language in old_anchors:
        by_language[language if language in known else known[0]].append(anchor)
    placed: list[Anchor] = []
    placements = []
    for language, anchors in by_language.items():
        old_texts = {s.key: anchor_text(s) for s in previous.sections_in(language)}
        new_texts = {s.key: anchor_text(s) for s in version.sections_in(language)}
        movable = [a for a in anchors if a.state != AnchorState.ORPHANED and a.section_key in old_texts]
        placed += movable
        placements += reanchor(
            [TextAnchor(a.section_key, a.start, a.end, a.exact or "", a.prefix, a.suffix) for a in movable], old_texts, new_texts
        )
    rows = []
    for anchor, placement in zip(placed, placements, strict=True):
        rows.append(
            {
                "contribution_id": anchor.contribution_id,
                "version_id": version.id,
                "state": str(placement.state),
                "section_key": placement.section_key,
                "start": placement.start,
                "end": placement.end,
                "exact": placement.exact,
                "prefix": placement.prefix or "",
                "suffix": placement.suffix or "",
                "score": float(placement.score),
            }
        )
    placed_ids = {a.id for a in placed}
    for anchor, _language in old_anchors:
        if anchor.id not in placed_ids:  # already orphaned: stays orphaned on later versions
            rows.append(
                {
                    "contribution_id": anchor.contribution_id,
                    "version_id": version.id,
                    "state": AnchorState.ORPHANED.value,
                    "section_key": None,
                    "start": None,
                    "end": None,
                    "exact": None,
                    "prefix": "",
                    "suffix": "",
                    "score": 0.0,
                }
            )
    db.session.execute(insert(Anchor), rows)
    # Those placed anew (one already orphaned stays so, and its author was told when it was orphaned).
    annotations_reanchored.send(
        version, placements=[(row["contribution_id"], row["state"], row["section_key"]) for row in rows[: len(placed)]]
    )
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["state"]] += 1
    return dict(counts)


@version_published.connect
def _on_version_published(sender, *, version: Version, previous: Version | None, **_):
    if previous is not None:
        reanchor_annotations(version, previous)


# ---- the W3C export ------------------------------------------------------------------------


def annotation_count(consultation: Consultation, user: User | None) -> int:
    return db.session.scalar(select(func.count()).select_from(annotations_query(consultation, user).subquery()))


#: What the site and the W3C export say in place of a comment its author deleted (the thread page's tombstone).
DELETED_BY_AUTHOR = "This comment was deleted by its author."


def text_element_id(section_key: str) -> str:
    """The id of the reading page's element whose textContent is exactly the section's text
    (:func:`anchor_text`): what the W3C export's FragmentSelector names."""
    return f"t-{section_key}"


def annotations_query(consultation: Consultation, user: User | None):
    """Annotations (comments on a quoted passage) and the replies in their threads, oldest first.
    A deleted one that others replied to stays as a tombstone, as on the site, so its replies
    keep their target."""
    annotated = (
        select(Anchor.contribution_id)
        .join(Contribution, Contribution.id == Anchor.contribution_id)
        .where(Contribution.consultation_id == consultation.id, Anchor.version_id == Contribution.version_id)
    )
    reply = aliased(Contribution)
    replied_to = select(reply.parent_id).where(
        reply.consultation_id == consultation.id,
        reply.parent_id.is_not(None),
        reply.moderation_state == ModerationState.VISIBLE.value,
        reply.deleted_at.is_(None),
    )
    tombstone = visible_contributions(user, tombstones=True) & Contribution.deleted_at.is_not(None) & Contribution.id.in_(replied_to)
    return (
        select(Contribution)
        .where(
            Contribution.consultation_id == consultation.id,
            visible_contributions(user) | tombstone,
            Contribution.id.in_(annotated) | Contribution.thread_id.in_(annotated),
        )
        .order_by(Contribution.id)
    )


def _text_url(contribution: Contribution) -> str:
    """The page of the text an annotation was made on: its version's, in its language."""
    version = contribution.version
    translated = contribution.language in contribution.consultation.languages[1:] and contribution.language in version.languages
    language = contribution.language if translated else None
    return links.url("proposals.version", slug=contribution.consultation.slug, number=version.number, text=language)


def annotation_record(contribution: Contribution):
    """One contribution as the W3C exporter's input, with IRIs on this site. A deleted annotation
    is its tombstone: no creator, the site's words as its body, the section as its target (not
    the quote: that went with the comment)."""
    from consult.comments.w3c import AnnotationRecord

    anchor = contribution.anchor
    version = contribution.version
    deleted = contribution.is_deleted
    if deleted:
        creator_id, creator_name = None, ""
    elif contribution.author_id:
        creator_id, creator_name = links.url("comments.person", user_id=contribution.author_id), contribution.author.display_name
    else:
        creator_id, creator_name = links.url("comments.former_participant"), "Former participant"
    quoted = anchor if anchor and not deleted else None
    return AnnotationRecord(
        id=links.url("comments.show", contribution_id=contribution.id),
        created=contribution.created_at,
        modified=contribution.deleted_at if deleted else contribution.edited_at,
        creator_id=creator_id,
        creator_name=creator_name,
        body=DELETED_BY_AUTHOR if deleted else contribution.body,
        reply_to=links.url("comments.show", contribution_id=contribution.parent_id) if contribution.parent_id else None,
        source=_text_url(contribution) if anchor else None,
        section_id=text_element_id(anchor.section_key) if anchor else None,
        exact=quoted.exact if quoted else None,
        prefix=quoted.prefix if quoted else None,
        suffix=quoted.suffix if quoted else None,
        start=quoted.start if quoted else None,
        end=quoted.end if quoted else None,
        source_date=version.published_at if anchor else None,
    )
