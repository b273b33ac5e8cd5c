"""Consultations: creating, writing and publishing the text, and the state lifecycle.

Every function takes the acting user as ``actor``, checks permission through
``consult.permissions``, applies the domain rule, flushes, and never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from flask_babel import gettext as _
from sqlalchemy import and_, event, exists, func, or_, select, update
from sqlalchemy.orm import Session

from consult.accounts.models import Organisation, User
from consult.audit.models import StaffOperation, TargetType
from consult.audit.services import record_staff_action
from consult.core import cache as change_cache
from consult.core import i18n, text
from consult.core.errors import RuleViolation
from consult.core.jobs import crontab, enqueue_after_commit, job
from consult.core.models import db, utcnow
from consult.core.signals import (
    consultation_concluding,
    consultation_state_changed,
    section_keys_changed,
    version_published,
    version_publishing,
)
from consult.core.slugs import is_slug, slugify
from consult.core.templating import format_number
from consult.permissions import TRANSITION_ACTIONS, Action, authorize, can, editable_organisations, visible_consultations
from consult.proposals.importing import ImportedSection, import_markdown_files, section_keys, split_markdown, unique_key
from consult.proposals.models import (
    PUBLIC_STATES,
    TRANSITIONS,
    Consultation,
    ConsultationState,
    ParticipationMode,
    Section,
    SectionChange,
    SectionPairing,
    SectionText,
    SectionTranslation,
    Transition,
    Version,
)
from consult.proposals.textdiff import DiffOp, SectionMatch, match_sections, word_diff

MAX_SECTIONS = 500
MAX_SECTION_LENGTH = 100_000


# ---- reading -------------------------------------------------------------------------------


def visible_consultations_query(user: User | None, *, state: str | None = None, organisation: Organisation | None = None):
    """Consultations ``user`` may see, newest activity first, optionally filtered."""
    query = select(Consultation).where(visible_consultations(user))
    if state:
        query = query.where(Consultation.state == state)
    if organisation is not None:
        query = query.where(Consultation.organisation_id == organisation.id)
    return query.order_by(Consultation.opens_at.desc().nulls_first(), Consultation.id.desc())


def consultation_counts(user: User | None) -> dict[str, int]:
    """How many consultations ``user`` may see in each state."""
    return dict(
        db.session.execute(select(Consultation.state, func.count()).where(visible_consultations(user)).group_by(Consultation.state)).all()
    )


def organisations_with_public_consultations() -> list[Organisation]:
    """The organisations the list of consultations can be filtered by, by name."""
    public = select(Consultation.organisation_id).where(Consultation.state.in_(list(PUBLIC_STATES)))
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(public)).order_by(Organisation.name)))


def organisations_editable_by(user: User | None) -> list[Organisation]:
    """The organisations in which ``user`` may start a consultation, by name."""
    return list(db.session.scalars(select(Organisation).where(editable_organisations(user)).order_by(Organisation.name)))


def get_visible_consultation(user: User | None, slug: str) -> Consultation | None:
    """The consultation, or None when it does not exist *or* ``user`` may not see it (a draft
    must be indistinguishable from nothing)."""
    # A page asks several times (its own loader, its share preview, feed and oEmbed links): the
    # answer is kept until the session next writes or ends its transaction.
    seen = db.session.info.setdefault(_VISIBLE, {})
    key = (getattr(user, "id", None), slug)
    if key in seen:
        _expect_its_stamp(seen[key])
        return db.session.get(Consultation, seen[key]) if seen[key] is not None else None
    # By its slug alone, then the rule itself: the same answer as ``visible_consultations`` in the
    # WHERE clause, without building its subquery on memberships for every request of someone
    # signed in (only a consultation not yet public asks for their roles).
    consultation = db.session.scalar(select(Consultation).where(Consultation.slug == slug))
    if consultation is not None and not can(user, Action.VIEW_CONSULTATION, consultation):
        consultation = None
    seen[key] = consultation.id if consultation is not None else None
    _expect_its_stamp(seen[key])
    return consultation


def _expect_its_stamp(consultation_id: int | None) -> None:
    if consultation_id is not None:  # its page reads its change stamp with the site's, in one query
        change_cache.expect_scopes(change_cache.consultation_scope(consultation_id))


_VISIBLE = "consult_visible_consultations"


def _forget_visible(session: Session, *_args) -> None:
    session.info.pop(_VISIBLE, None)


for _event in ("after_flush", "after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(Session, _event, _forget_visible)


# ---- creating and editing ------------------------------------------------------------------


def _unique_slug(base: str) -> str:
    slug, n = base, 1
    while db.session.scalar(select(Consultation.id).where(Consultation.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _check_dates(opens_at: datetime | None, closes_at: datetime | None) -> None:
    if opens_at and closes_at and closes_at <= opens_at:
        raise RuleViolation(_("The closing date must be after the opening date."), status=400, field="closes_at")


def create_consultation(
    organisation: Organisation,
    *,
    actor: User,
    title: str,
    summary: str = "",
    slug: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    licence: str = "CC-BY-4.0",
    response_threshold: int | None = None,
    language: str | None = None,
) -> Consultation:
    """Start a consultation as a draft with an empty version 1. Authors and admins of the
    organisation may do this. ``language`` is the language its text is written in (English
    unless said; the first text imported in another language says it too, see
    ``import_markdown``)."""
    authorize(actor, Action.CREATE_CONSULTATION, organisation)
    _check_dates(opens_at, closes_at)
    if slug:
        if not is_slug(slug):
            raise RuleViolation(_("Use lowercase letters, digits and single hyphens in the web address."), status=400, field="slug")
        if db.session.scalar(select(Consultation.id).where(Consultation.slug == slug)) is not None:
            raise RuleViolation(_("That web address is taken; choose another."), status=400, field="slug")
    consultation = Consultation(
        organisation=organisation,
        slug=slug or _unique_slug(slugify(title, max_length=60) or "consultation"),
        title=title.strip(),
        summary=summary,
        opens_at=opens_at,
        closes_at=closes_at,
        licence=licence,
        language_codes=_language_code(language) if language else "en",
        created_by=actor,
        state=ConsultationState.DRAFT,
    )
    if response_threshold is not None:
        consultation.response_threshold = response_threshold
    consultation.versions.append(Version(number=1))
    db.session.add(consultation)
    db.session.flush()
    record_staff_action(
        StaffOperation.CREATE_CONSULTATION,
        actor=actor,
        consultation=consultation,
        target_type=TargetType.CONSULTATION,
        target_id=consultation.id,
    )
    schedule_dates(consultation)
    return consultation


def _checked_translations(consultation: Consultation, translations: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The title and summary in the text's other languages, without empty values; a language the
    text is not in, or words too long, are refused."""
    kept: dict[str, dict[str, str]] = {}
    for language, words in translations.items():
        if language not in consultation.languages[1:]:
            raise RuleViolation(_("The text is not published in that language: import its text first."), status=400)
        title, summary = (words.get("title") or "").strip(), words.get("summary") or ""
        if len(title) > 200 or len(summary) > 5000:
            raise RuleViolation(_("Use at most 200 characters for a title and 5,000 for a summary."), status=400, field=f"title_{language}")
        entry = {key: value for key, value in (("title", title), ("summary", summary)) if value}
        if entry:
            kept[language] = entry
    return kept


def _check_not_stale(consultation: Consultation, expected_row_version: int | None) -> None:
    """Refuse a save based on an older reading of the consultation rather than overwrite what someone else saved."""
    if expected_row_version is not None and expected_row_version != consultation.row_version:
        raise RuleViolation(_("Someone else saved this consultation while you were editing. Reload it and make your change again."))


def _apply_changes(consultation: Consultation, new: dict, *, actor: User, operation: StaffOperation) -> list[str]:
    """Set the values of ``new`` that differ, and log their names under ``operation``; returns them."""
    changed = [name for name, value in new.items() if getattr(consultation, name) != value]
    for name in changed:
        setattr(consultation, name, new[name])
    if changed:
        record_staff_action(
            operation,
            actor=actor,
            consultation=consultation,
            target_type=TargetType.CONSULTATION,
            target_id=consultation.id,
            detail={"fields": changed},
        )
    return changed


def update_consultation(
    consultation: Consultation,
    *,
    actor: User,
    expected_row_version: int | None = None,
    title: str,
    summary: str,
    opens_at: datetime | None,
    closes_at: datetime | None,
    licence: str,
    response_threshold: int | None = None,
    translations: dict[str, dict[str, str]] | None = None,
) -> None:
    """Change the details. If someone saved in between (``expected_row_version`` differs),
    refuse rather than overwrite their work. ``translations``: the title and summary in other
    languages of the text ({"fr": {"title": …, "summary": …}}; None keeps them as they are)."""
    authorize(actor, Action.EDIT_CONSULTATION, consultation)
    _check_not_stale(consultation, expected_row_version)
    _check_dates(opens_at, closes_at)
    new = {"title": title.strip(), "summary": summary, "opens_at": opens_at, "closes_at": closes_at, "licence": licence}
    if response_threshold is not None:
        new["response_threshold"] = response_threshold
    if translations is not None:
        new["translations"] = _checked_translations(consultation, translations)
    _apply_changes(consultation, new, actor=actor, operation=StaffOperation.EDIT_CONSULTATION)
    db.session.flush()
    schedule_dates(consultation)


MODERATION_MODES = ("post", "pre")


def update_settings(
    consultation: Consultation,
    *,
    actor: User,
    moderation_mode: str,
    response_threshold: int,
    modes: Iterable[str],
    expected_row_version: int | None = None,
) -> list[str]:
    """Set how people take part: pre-moderation (a new participant's first contribution waits
    for a moderator) or not, the response threshold, and which ways of taking part are on
    (``modes``, ParticipationMode values; the others are turned off). Annotations are comments,
    so they need comments on. Returns the names of what changed (logged for the organisation)."""
    authorize(actor, Action.EDIT_SETTINGS, consultation)
    _check_not_stale(consultation, expected_row_version)
    if moderation_mode not in MODERATION_MODES:
        raise RuleViolation(_("Choose whether contributions appear at once or wait for a moderator."), status=400)
    if not 0 <= response_threshold <= 100_000:
        raise RuleViolation(_("Use a whole number from 0 to 100,000 for the response threshold."), status=400)
    try:
        on = {ParticipationMode(m) for m in modes}
    except ValueError:
        raise RuleViolation(_("Choose among: %(modes)s.", modes=", ".join(m.value for m in ParticipationMode)), status=400) from None
    if ParticipationMode.ANNOTATIONS in on and ParticipationMode.COMMENTS not in on:
        raise RuleViolation(_("Comments on selected words are comments: turn comments on, or turn them off too."), status=400)
    new = {"moderation_mode": moderation_mode, "response_threshold": response_threshold}
    new.update({f"allows_{m.value}": m in on for m in ParticipationMode})
    changed = _apply_changes(consultation, new, actor=actor, operation=StaffOperation.EDIT_SETTINGS)
    db.session.flush()
    return changed


# ---- writing the text ----------------------------------------------------------------------


def draft_for_editing(consultation: Consultation, *, actor: User) -> Version:
    """The unpublished version, started from the current text when there is none."""
    authorize(actor, Action.EDIT_TEXT, consultation)
    draft = consultation.draft_version
    if draft is not None:
        return draft
    current = consultation.current_version
    draft = Version(number=(current.number + 1) if current else 1)
    consultation.versions.append(draft)
    if current:
        for s in current.sections:
            draft.sections.append(
                Section(
                    key=s.key,
                    position=s.position,
                    level=s.level,
                    heading=s.heading,
                    body=s.body,
                    text=s.text,
                    html=s.html,
                    change=SectionChange.KEPT,
                    translations=[_copy(t) for t in s.translations],
                )
            )
    db.session.flush()
    return draft


def _copy(translation: SectionTranslation) -> SectionTranslation:
    return SectionTranslation(
        language=translation.language, heading=translation.heading, body=translation.body, text=translation.text, html=translation.html
    )


def save_draft_text(consultation: Consultation, sections: list[ImportedSection], *, actor: User) -> Version:
    """Replace the draft's text. Sections keep the keys of the matching sections of the
    previous version, so comments follow a section through renumbering and renaming."""
    draft = draft_for_editing(consultation, actor=actor)
    if not sections:
        raise RuleViolation(
            _("The text has no sections. Start each section with a heading line such as '## Scope'."), status=400, field="source"
        )
    if len(sections) > MAX_SECTIONS:
        raise RuleViolation(
            _("A version can have at most %(limit)s sections.", limit=format_number(MAX_SECTIONS)), status=400, field="source"
        )
    too_long = next((s for s in sections if len(s.body) > MAX_SECTION_LENGTH), None)
    if too_long:
        raise RuleViolation(
            _(
                "The section “%(heading)s” is longer than %(limit)s characters; split it with headings.",
                heading=too_long.heading,
                limit=format_number(MAX_SECTION_LENGTH),
            ),
            status=400,
            field="source",
        )

    rows = [(s.key, s.heading, text.section_text(s.body)) for s in sections]
    previous = _previous_published(consultation, draft)
    keys = _keys_for(draft, previous, rows)
    # The translations stay with their sections, by key: saving the original again does not undo
    # them (a section new in the original is missing in the other languages until imported).
    translated = {s.key: [_copy(t) for t in s.translations] for s in draft.sections}

    draft.sections.clear()
    db.session.flush()  # the unique (version, key) and (version, position) must be free first
    for position, (s, key, row) in enumerate(zip(sections, keys, rows, strict=True)):
        draft.sections.append(
            Section(
                key=key,
                position=position,
                level=s.level,
                heading=s.heading[:300],
                body=s.body,
                text=row[2],
                html=str(text.render_markdown(s.body)),
                translations=translated.get(key, []),
            )
        )
    _mark_changes(draft, previous)
    db.session.flush()
    record_staff_action(
        StaffOperation.EDIT_TEXT,
        actor=actor,
        consultation=consultation,
        target_type=TargetType.VERSION,
        target_id=draft.id,
        detail={"version": draft.number, "sections": len(sections)},
    )
    return draft


def import_markdown(consultation: Consultation, files: list[tuple[str, str]], *, actor: User, language: str | None = None) -> Version:
    """Import one or several Markdown files, in name order, as the draft's whole text in
    ``language`` (by default the consultation's original language). Another language is a
    translation (``save_translation``), except while nothing has been written yet: the first text
    imported is the original, and its language the consultation's."""
    sections = import_markdown_files(sorted(files))
    language = _language_code(language) if language else consultation.original_language
    if language != consultation.original_language:
        draft = consultation.draft_version
        if consultation.current_version is None and (draft is None or not draft.sections):
            consultation.language_codes = language  # nothing is written yet, nor translated
        else:
            return save_translation(consultation, language, sections, actor=actor)
    return save_draft_text(consultation, sections, actor=actor)


def _language_code(language: str) -> str:
    code = language.strip().lower()
    if not (2 <= len(code) <= 8 and code.replace("-", "").isalpha() and code.isascii()):
        raise RuleViolation(_("Choose the language of the text."), status=400, field="language")
    return code


def save_translation(consultation: Consultation, language: str, sections: list[ImportedSection], *, actor: User) -> Version:
    """Make ``sections`` the draft's text in ``language``, another language than the original:
    each is matched with the original's section of the same key (a heading names it with
    ``{#key}``; the key its heading gives, or the key the original's heading gave on import,
    serve too). A section the original does not have is refused, with the list of them; a section
    of the original the translation lacks is reported (``missing_translations``) and keeps the
    draft from being published. The translation replaces the draft's earlier text in
    ``language``; the language joins the consultation's."""
    draft = draft_for_editing(consultation, actor=actor)
    if language == consultation.original_language:
        raise RuleViolation(_("That is the language the text was written in: import it as the text itself."), status=400, field="language")
    if not draft.sections:
        raise RuleViolation(
            _("Import the text in its original language first: a translation is matched with its sections."), status=400, field="files"
        )
    if not sections:
        raise RuleViolation(
            _("The text has no sections. Start each section with a heading line such as '## Scope'."), status=400, field="files"
        )
    by_key = {s.key: s for s in draft.sections}
    # A section renamed since it was imported keeps its key; the key its heading gives leads to it too.
    imported = section_keys([(s.heading, s.level) for s in draft.sections])
    by_imported = {key: s for key, s in zip(imported, draft.sections, strict=True) if key not in by_key}
    matched: dict[int, ImportedSection] = {}
    unknown: list[str] = []
    for s in sections:
        section = by_key.get(s.key) or by_imported.get(s.key)
        if section is None or section.id in matched:
            unknown.append(f"“{s.heading}” {{#{s.key}}}")
        else:
            matched[section.id] = s
    if unknown:
        raise RuleViolation(
            _(
                "These sections of the text in %(language)s are not in the original text: %(sections)s. "
                "Give each heading the key of the original's section, such as '## Objectifs {#objectives}'.",
                language=i18n.language_name_in_interface(language),
                sections="; ".join(unknown),
            ),
            status=400,
            field="files",
        )
    too_long = next((s for s in sections if len(s.body) > MAX_SECTION_LENGTH), None)
    if too_long:
        raise RuleViolation(
            _(
                "The section “%(heading)s” is longer than %(limit)s characters; split it with headings.",
                heading=too_long.heading,
                limit=f"{MAX_SECTION_LENGTH:,}",
            ),
            status=400,
            field="files",
        )
    for section in draft.sections:
        old = section.translation(language)
        new = matched.get(section.id)
        if new is None:
            if old is not None:
                section.translations.remove(old)
            continue
        if old is None:
            old = SectionTranslation(language=language)
            section.translations.append(old)
        old.heading = new.heading[:300]
        old.body = new.body
        old.text = text.section_text(new.body)
        old.html = str(text.render_markdown(new.body))
    if language not in consultation.languages:
        consultation.language_codes = " ".join([*consultation.languages, language])
    db.session.flush()
    record_staff_action(
        StaffOperation.EDIT_TEXT,
        actor=actor,
        consultation=consultation,
        target_type=TargetType.VERSION,
        target_id=draft.id,
        detail={"version": draft.number, "language": language, "sections": len(sections)},
    )
    return draft


def remove_language(consultation: Consultation, language: str, *, actor: User) -> None:
    """Take a language the text was being translated into off the consultation, with the draft's
    text in it: only one no published version has (what was published stays readable)."""
    authorize(actor, Action.EDIT_TEXT, consultation)
    if language not in consultation.languages[1:]:
        raise RuleViolation(_("The text is not translated into that language."), status=400)
    if any(language in v.languages for v in consultation.published_versions):
        raise RuleViolation(_("A published version has its text in that language: it stays, and the next versions need it too."))
    draft = consultation.draft_version
    for section in draft.sections if draft is not None else []:
        if (translation := section.translation(language)) is not None:
            section.translations.remove(translation)
    consultation.language_codes = " ".join(code for code in consultation.languages if code != language)
    db.session.flush()
    record_staff_action(
        StaffOperation.EDIT_TEXT,
        actor=actor,
        consultation=consultation,
        target_type=TargetType.CONSULTATION,
        target_id=consultation.id,
        detail={"removed_language": language},
    )


def missing_translations(version: Version) -> dict[str, list[str]]:
    """For each language of the consultation other than the original, the sections of
    ``version`` (labelled as in the original) its text lacks; languages that lack none are left
    out. A version is not published while this has anything to say."""
    labels = version.labels()
    missing = {}
    for language in version.consultation.languages[1:]:
        lacking = [labels[s.key] for s in version.sections if s.translation(language) is None]
        if lacking:
            missing[language] = lacking
    return missing


def write_markdown(consultation: Consultation, source: str, *, actor: User) -> Version:
    """Save text written in the browser as one Markdown document split at headings."""
    return save_draft_text(consultation, split_markdown(source), actor=actor)


def draft_as_markdown(version: Version) -> str:
    """The draft as one Markdown document, for the editor (the inverse of ``write_markdown``).
    A heading is plain text (the importer reads what a reader sees of it): escaped, it reads back
    the same, and ``*not bold*`` or ``<script>`` stays literal in any Markdown reader."""
    return (
        "\n\n".join(f"{'#' * s.level} {text.escape_markdown(s.heading, inline=True)}\n\n{s.body}".rstrip() for s in version.sections) + "\n"
    )


def publish_version(consultation: Consultation, *, actor: User, note: str = "") -> Version:
    """Freeze the draft as the new current version, recording for each section whether it was
    kept, changed or added since the previous version. After the first, a version needs a change
    note, and every changed, added and removed section an explanation (the amendments domain
    refuses through ``version_publishing`` until each has citations or a reason)."""
    authorize(actor, Action.PUBLISH_VERSION, consultation)
    # Exclusive: a post holding the consultation (FOR SHARE, ``hold_open``) commits first and
    # is carried over below; one arriving now waits, then posts on the new version.
    db.session.execute(select(Consultation.id).where(Consultation.id == consultation.id).with_for_update())
    _reread_versions(consultation)
    draft = consultation.draft_version
    if draft is None or not draft.sections:
        raise RuleViolation(_("There is no draft text to publish. Write or import the text first."))
    if draft.number > 1 and not note.strip():
        raise RuleViolation(_("Say in a change note what changed in this version and why."), status=400, field="note")
    if missing := missing_translations(draft):
        raise RuleViolation(
            " ".join(
                _(
                    "The text in %(language)s lacks these sections: %(sections)s.",
                    language=i18n.language_name_in_interface(code),
                    sections="; ".join(lacking),
                )
                for code, lacking in missing.items()
            )
            + " "
            + _("Import the whole text in each language before publishing."),
            status=400,
        )
    previous = _previous_published(consultation, draft)
    _mark_changes(draft, previous)
    db.session.flush()
    version_publishing.send(consultation, version=draft, previous=previous)  # a domain above may refuse
    draft.published_at = utcnow()
    draft.published_by_id = actor.id
    draft.change_note = note.strip()
    db.session.flush()
    record_staff_action(
        StaffOperation.PUBLISH_VERSION,
        actor=actor,
        consultation=consultation,
        target_type=TargetType.VERSION,
        target_id=draft.id,
        detail={"version": draft.number},
    )
    version_published.send(consultation, version=draft, previous=previous)
    return draft


def _reread_versions(consultation: Consultation) -> None:
    """After locking the consultation: its versions as committed now, not as this transaction
    first read them (PostgreSQL's READ COMMITTED shows a publication committed meanwhile to the
    next statement, but the session would keep the objects it had loaded)."""
    db.session.execute(select(Version).where(Version.consultation_id == consultation.id).execution_options(populate_existing=True))
    db.session.expire(consultation, ["versions"])


def _previous_published(consultation: Consultation, draft: Version) -> Version | None:
    earlier = [v for v in consultation.published_versions if v.number < draft.number]
    return earlier[-1] if earlier else None


def _keys_for(draft: Version, previous: Version | None, rows: list[tuple[str, str, str]]) -> list[str]:
    """The key each section of the draft takes; ``rows`` are its sections as (key as imported,
    heading, plain text). A section matched with one of the previous version keeps that one's key
    (``match_sections``, with the author's corrections); any other gets a key the previous version
    did not have, so a section the author called new is never taken for an old one."""
    if previous is None:
        return [key for key, _, _ in rows]
    fixed = {p.draft_key: p.old_key for p in draft.pairings}
    matches = match_sections([(s.key, s.heading, s.text) for s in previous.sections], rows, fixed=fixed)
    old_key_of = {m.new_key: m.old_key for m in matches if m.new_key}
    keys: list[str | None] = [old_key_of.get(key) for key, _heading, _level in rows]
    taken = {s.key for s in previous.sections} | {k for k in keys if k}
    for index, (key, _heading, _level) in enumerate(rows):
        if keys[index] is None:
            keys[index] = unique_key(key, taken)
            taken.add(keys[index])
    return [k for k in keys if k]


def pairing_choices(draft: Version) -> dict[str, str | None]:
    """The author's corrections of the matching, by the draft section's current key: the key of
    the previous version's section it replaces, or None for "a new section"."""
    imported = section_keys([(s.heading, s.level) for s in draft.sections])
    fixed = {p.draft_key: p.old_key for p in draft.pairings}
    return {s.key: fixed[k] for s, k in zip(draft.sections, imported, strict=True) if k in fixed}


def match_section(consultation: Consultation, section_key: str, *, actor: User, replaces: str | None) -> Version:
    """Correct how a section of the draft relates to the previous version: it replaces the previous
    version's section ``replaces`` (a key), or, with None, it is a new section. The choice stays
    with the draft (it holds when the text is saved again) and decides the section's key, which the
    diff, the re-anchoring of annotations and the record follow."""
    authorize(actor, Action.EDIT_TEXT, consultation)
    draft = consultation.draft_version
    previous = _previous_published(consultation, draft) if draft is not None else None
    if draft is None or previous is None:
        raise RuleViolation(_("Only a draft of a next version is matched with the version before it."))
    section = draft.section(section_key)
    if section is None:
        raise RuleViolation(_("That section is not in the draft."), status=400)
    if replaces is not None and previous.section(replaces) is None:
        raise RuleViolation(_("Version %(number)s has no such section to replace.", number=previous.number), status=400, field="replaces")
    imported = section_keys([(s.heading, s.level) for s in draft.sections])
    draft_key = imported[draft.sections.index(section)]
    for pairing in list(draft.pairings):
        if pairing.draft_key == draft_key or (replaces is not None and pairing.old_key == replaces):
            draft.pairings.remove(pairing)
    draft.pairings.append(SectionPairing(draft_key=draft_key, old_key=replaces))
    db.session.flush()
    keys = _keys_for(draft, previous, [(k, s.heading, s.text) for k, s in zip(imported, draft.sections, strict=True)])
    renamed = {s.key: key for s, key in zip(draft.sections, keys, strict=True) if s.key != key}
    if renamed:
        # Through keys no section has, so the unique (version, key) holds after each statement.
        for position, s in enumerate(draft.sections):
            if s.key in renamed:
                s.key = f"~{position}"
        db.session.flush()
        for s, key in zip(draft.sections, keys, strict=True):
            s.key = key
        db.session.flush()
        section_keys_changed.send(consultation, version=draft, renamed=renamed)
    _mark_changes(draft, previous)
    db.session.flush()
    record_staff_action(
        StaffOperation.EDIT_TEXT,
        actor=actor,
        consultation=consultation,
        target_type=TargetType.VERSION,
        target_id=draft.id,
        detail={"version": draft.number, "section": renamed.get(section_key, section_key), "replaces": replaces},
    )
    return draft


@dataclass(frozen=True)
class SectionChangeItem:
    """A section of a version that changed, was added, or was removed since the version before."""

    status: str  # changed | added | removed
    key: str
    label: str  # its heading, with its parent's where ambiguous (``Version.labels``)


def section_changes(version: Version) -> list[SectionChangeItem]:
    """The sections of ``version`` (a draft or a published version) that changed or were added
    since the published version before it, and those of that version it no longer has, in the
    order of the text (removed ones where they were). Empty for a first version."""
    previous = _previous_published(version.consultation, version)
    if previous is None:
        return []
    labels, old_labels = version.labels(), previous.labels()
    kept = {s.key for s in version.sections}
    items: list[SectionChangeItem] = []
    removed = [s for s in previous.sections if s.key not in kept]
    for s in version.sections:
        before = previous.section(s.key)
        while removed and before is not None and removed[0].position < before.position:
            gone = removed.pop(0)
            items.append(SectionChangeItem("removed", gone.key, old_labels[gone.key]))
        if before is None:
            items.append(SectionChangeItem("added", s.key, labels[s.key]))
        elif before.heading != s.heading or before.body != s.body:
            items.append(SectionChangeItem("changed", s.key, labels[s.key]))
    items += [SectionChangeItem("removed", gone.key, old_labels[gone.key]) for gone in removed]
    return items


def _mark_changes(version: Version, previous: Version | None) -> None:
    if previous is None:
        for s in version.sections:
            s.change = SectionChange.ADDED
        return
    old = {s.key: s for s in previous.sections}
    for s in version.sections:
        before = old.get(s.key)
        if before is None:
            s.change = SectionChange.ADDED
        elif before.heading == s.heading and before.body == s.body:
            s.change = SectionChange.KEPT
        else:
            s.change = SectionChange.CHANGED


# ---- lifecycle -----------------------------------------------------------------------------


def hold_open(consultation: Consultation, *, versions: bool = True) -> datetime:
    """For a unit of work that adds a contribution or a vote: lock the consultation's row
    against a concurrent close until the transaction ends (PostgreSQL: FOR SHARE, which a
    closing UPDATE waits for; SQLite's writing transactions are serialised already), check
    that it is still open, and return the time to date the work with, taken under the lock.
    So nothing is ever dated after the close. The same lock orders the work with a publication
    (``publish_version`` takes it FOR UPDATE): the versions are re-read under it, so the work
    lands on the version current when it commits, or is carried over by the publication.
    ``versions=False`` for work tied to no version (a vote): the lock and the check only, so
    the transaction holding the lock does no more than it must."""
    state, closes_at = db.session.execute(
        select(Consultation.state, Consultation.closes_at).where(Consultation.id == consultation.id).with_for_update(read=True)
    ).one()
    if versions:
        _reread_versions(consultation)
    now = utcnow()
    if state != ConsultationState.OPEN or (closes_at is not None and closes_at <= now):
        raise RuleViolation(_("This consultation is closed: you can read it, but no longer take part."))
    return now


def change_state(
    consultation: Consultation, transition: Transition, *, actor: User, closes_at: datetime | None = None, confirmed: bool = True
) -> None:
    """Move along the one table of allowed transitions (``TRANSITIONS``). Opening needs a
    published version; opening and closing by hand move the date to now when it lies ahead;
    opening or reopening may set a new closing date (``closes_at``, in the future); concluding,
    which is final, must be ``confirmed`` (the web form asks; scripts and the demo mean it).
    The row is locked before the time is read, so a close is dated after every contribution
    that got in before it (see ``hold_open``)."""
    authorize(actor, TRANSITION_ACTIONS[transition], consultation)
    if transition == Transition.CONCLUDE and not confirmed:
        raise RuleViolation(_("Concluding is final: tick the box that says so, then conclude."), status=400)
    source, target = TRANSITIONS[transition]
    db.session.execute(select(Consultation.id).where(Consultation.id == consultation.id).with_for_update())
    now = utcnow()
    if transition == Transition.CONCLUDE:
        consultation_concluding.send(consultation)  # a domain above may refuse (amendments unanswered)
    if transition in (Transition.OPEN, Transition.REOPEN):
        if consultation.current_version is None:
            raise RuleViolation(_("Publish version 1 of the text before opening the consultation."))
        if closes_at is not None:
            if closes_at <= now:
                raise RuleViolation(_("Choose a new closing date in the future."), status=400)
            consultation.closes_at = closes_at
        if consultation.closes_at is not None and consultation.closes_at <= now:
            raise RuleViolation(_("The closing date has passed. Set a closing date in the future first."))
        if consultation.opens_at is None or consultation.opens_at > now:
            consultation.opens_at = now
    if transition == Transition.CLOSE and (consultation.closes_at is None or consultation.closes_at > now):
        consultation.closes_at = now
    consultation.state = target
    consultation.state_changed_at = now
    db.session.flush()
    record_staff_action(
        StaffOperation(transition.value),
        actor=actor,
        consultation=consultation,
        target_type=TargetType.CONSULTATION,
        target_id=consultation.id,
        detail={"from": source.value, "to": target.value},
    )
    consultation_state_changed.send(consultation, previous=source.value, actor=actor)
    schedule_dates(consultation)


def schedule_dates(consultation: Consultation) -> None:
    """Once this transaction commits, queue ``open_and_close_by_date`` for the consultation's
    coming opening and closing dates, so it opens and closes on time with no request arriving
    (the every-minute run catches anything missed: a date moved, a worker that was down)."""
    now = utcnow()
    for when in (consultation.opens_at, consultation.closes_at):
        if when is not None and when > now:
            enqueue_after_commit(open_and_close_by_date, eta=when)


@job(periodic=crontab(minute="*"))
def open_and_close_by_date() -> None:
    """The job behind opening and closing by date: every minute, and at each date set."""
    apply_schedule()


def apply_schedule(now: datetime | None = None) -> int:
    """Open drafts whose opening date has come (if version 1 is published) and close open
    consultations whose closing date has passed. Conditional UPDATEs, so two workers doing
    this at once change each row once. Returns how many consultations changed."""
    now = now or utcnow()
    has_published = exists().where(Version.consultation_id == Consultation.id, Version.published_at.is_not(None))
    opened = db.session.scalars(
        update(Consultation)
        .where(
            Consultation.state == ConsultationState.DRAFT,
            Consultation.opens_at <= now,
            or_(Consultation.closes_at.is_(None), Consultation.closes_at > now),
            has_published,
        )
        .values(state=ConsultationState.OPEN, state_changed_at=now, row_version=Consultation.row_version + 1)
        .returning(Consultation.id)
        .execution_options(synchronize_session=False)
    ).all()
    closed = db.session.scalars(
        update(Consultation)
        .where(and_(Consultation.state == ConsultationState.OPEN, Consultation.closes_at <= now))
        .values(state=ConsultationState.CLOSED, state_changed_at=now, row_version=Consultation.row_version + 1)
        .returning(Consultation.id)
        .execution_options(synchronize_session=False)
    ).all()
    if opened or closed:
        db.session.expire_all()
    # Each row changed by this run only (the UPDATEs are conditional), so each change is told once.
    changes = [(i, ConsultationState.DRAFT) for i in opened] + [(i, ConsultationState.OPEN) for i in closed]
    for consultation_id, previous in changes:
        consultation_state_changed.send(db.session.get(Consultation, consultation_id), previous=previous.value, actor=None)
    return len(opened) + len(closed)


# ---- diffs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionDiff:
    status: str  # kept | changed | added | removed
    old: Section | SectionText | None
    new: Section | SectionText | None
    heading_ops: Sequence[DiffOp]  # shared with the comparison cache: read only
    text_ops: Sequence[DiffOp]
    label: str = ""  # the heading, with its parent's where it is ambiguous (see Version.labels)

    @property
    def key(self) -> str:
        return (self.new or self.old).key  # type: ignore[union-attr]


def diff_versions(old: Version, new: Version, *, language: str | None = None) -> list[SectionDiff]:
    """Section by section, what changed from ``old`` to ``new``, as word-level redlines: of the
    texts in ``language`` (by default the original's)."""
    old_sections, new_sections = old.sections_in(language), new.sections_in(language)
    old_by_key = {s.key: s for s in old_sections}
    new_by_key = {s.key: s for s in new_sections}
    # Sections are paired by key alone: the key is the match decided, and corrected by the author,
    # when the text was saved; matching again here could pair a section the author called new.
    compared = _compare_texts(
        tuple((s.key, s.heading, s.text) for s in old_sections),
        tuple((s.key, s.heading, s.text) for s in new_sections),
    )
    old_labels, new_labels = old.labels(language), new.labels(language)
    return [
        SectionDiff(
            status=m.status,
            old=old_by_key.get(m.old_key) if m.old_key else None,
            new=new_by_key.get(m.new_key) if m.new_key else None,
            heading_ops=heading_ops,
            text_ops=text_ops,
            label=new_labels[m.new_key] if m.new_key else old_labels[m.old_key],
        )
        for m, heading_ops, text_ops in compared
    ]


Texts = tuple[tuple[str, str, str], ...]  # (key, heading, text) per section


@lru_cache(maxsize=32)
def _compare_texts(old: Texts, new: Texts) -> tuple[tuple[SectionMatch, tuple[DiffOp, ...], tuple[DiffOp, ...]], ...]:
    """The matching and the redlines, by the texts alone: published versions do not change, and
    comparing a whole policy takes a tenth of a second, so the diff and outcome pages and the
    record's diffs reuse it (per worker; immutable results, shared between requests)."""
    old_by_key = {key: (heading, body) for key, heading, body in old}
    new_by_key = {key: (heading, body) for key, heading, body in new}
    result = []
    old_keys = {key for key, _heading, _body in old}
    for m in match_sections(list(old), list(new), fixed={key: None for key, _heading, _body in new if key not in old_keys}):
        a = old_by_key.get(m.old_key, ("", "")) if m.old_key else ("", "")
        b = new_by_key.get(m.new_key, ("", "")) if m.new_key else ("", "")
        result.append((m, tuple(word_diff(a[0], b[0])), tuple(word_diff(a[1], b[1]))))
    return tuple(result)
