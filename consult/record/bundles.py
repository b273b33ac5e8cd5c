"""``record.zip`` built once per change of what it contains, by a job, and served as a file.

A bundle is named by a **fingerprint** of everything the record shows: a few aggregate queries
(counts, largest ids and latest dates per table, per consultation; the names of the people it
names), hashed. Any change the record would show (a new comment, an edit, a hide or restore, a
block, a vote, an answer, a theme, a summary, a citation, a new version, a renamed person, a
change of state, a newly computed opinion map) changes the fingerprint, so the next download
finds no bundle with that name and queues a build (once, however many people ask meanwhile); until it is built the page says
"being prepared". The build reads one snapshot and names the file by the fingerprint of that
same snapshot, so a file always holds exactly what its name says.

Bundles live in ``instance/bundles/`` (``RECORD_BUNDLE_DIR``); a build removes the
consultation's older ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import IO

from flask import Flask, current_app
from sqlalchemy import case, func, select

from consult.accounts.models import Organisation, User
from consult.amendments.models import Amendment, AmendmentSupporter, Citation
from consult.attachments.models import Attachment
from consult.audit.models import StaffAction
from consult.contributions.models import Contribution, ModerationState
from consult.core import jobs
from consult.core.models import db
from consult.groups.models import Group, GroupAdoption, GroupSubmission, Signature
from consult.moderation.models import Block, ContributionTheme, ModerationLogEntry, SectionSummary, SummaryCitation, Theme
from consult.proposals.models import Consultation, Version
from consult.proposals.services import get_visible_consultation
from consult.questionnaires import services as questionnaires
from consult.record import export
from consult.voting.models import OpinionMapCache, Vote

log = logging.getLogger(__name__)


def bundle_dir(app: Flask) -> Path:
    return Path(app.config.get("RECORD_BUNDLE_DIR") or Path(app.instance_path) / "bundles")


def fingerprint(c: Consultation, base_url: str) -> str:
    """A hash of what the record of ``c`` contains (see the module's docstring). Each query is
    shaped to be cheap at 100,000 contributions: rows that hang off contributions are joined to
    the consultation's contributions from their side (a primary-key look-up each), themes'
    and versions' rows are reached through their own few ids. Revisions and anchors need no
    query of their own: an edit dates its contribution (``edited_at``), and anchors are only
    added with a new contribution or a new version."""
    own = Contribution.consultation_id == c.id
    mine = Contribution.id == Amendment.contribution_id
    themes = select(Theme.id).where(Theme.consultation_id == c.id).scalar_subquery()
    summaries = select(SectionSummary.id).where(SectionSummary.consultation_id == c.id).scalar_subquery()
    versions = select(Version.id).where(Version.consultation_id == c.id).scalar_subquery()
    parts: list[object] = [export.FORMAT, export.FORMAT_VERSION, base_url]
    queries = [
        select(Consultation.state, Consultation.updated_at, Consultation.row_version, Organisation.name, Organisation.slug)
        .join(Organisation, Organisation.id == Consultation.organisation_id)
        .where(Consultation.id == c.id),
        select(func.count(), func.max(Version.id), func.max(Version.published_at)).where(
            Version.consultation_id == c.id, Version.published_at.is_not(None)
        ),
        select(
            func.count(),
            func.max(Contribution.id),
            func.max(Contribution.edited_at),
            func.max(Contribution.deleted_at),
            func.max(Contribution.hidden_at),
            func.sum(case((Contribution.moderation_state == ModerationState.VISIBLE, 1), else_=0)),
        ).where(own),
        select(
            func.count(),
            func.max(Amendment.answered_at),
            func.max(Amendment.withdrawn_at),
            func.count(Amendment.incorporated_version_id),
            func.sum(func.length(Amendment.answer)),
            func.sum(func.length(Amendment.decision)),
            func.sum(func.length(Amendment.state)),
        )
        .select_from(Amendment)
        .join(Contribution, mine)
        .where(own),
        select(func.count(), func.max(AmendmentSupporter.id))
        .select_from(AmendmentSupporter)
        .join(Contribution, Contribution.id == AmendmentSupporter.amendment_id)
        .where(own),
        select(func.count(), func.max(Vote.id), func.max(Vote.updated_at)).where(Vote.consultation_id == c.id),
        select(func.count(), func.max(Citation.id)).where(Citation.version_id.in_(versions)),
        select(func.count(), func.max(Theme.id), func.max(Theme.updated_at), func.sum(func.length(Theme.name))).where(
            Theme.consultation_id == c.id
        ),
        select(func.count(), func.max(ContributionTheme.created_at)).where(ContributionTheme.theme_id.in_(themes)),
        select(func.count(), func.max(SectionSummary.id), func.max(SectionSummary.updated_at)).where(
            SectionSummary.consultation_id == c.id
        ),
        select(func.count(), func.max(SummaryCitation.id)).where(
            SummaryCitation.theme_id.in_(themes) | SummaryCitation.section_summary_id.in_(summaries)
        ),
        select(func.count(), func.max(Block.id)).where(Block.organisation_id == c.organisation_id),
        select(func.count(), func.max(ModerationLogEntry.id)).where(ModerationLogEntry.organisation_id == c.organisation_id),
        select(func.count(), func.max(StaffAction.id)).where(StaffAction.organisation_id == c.organisation_id),  # the public staff log
        select(func.count(), func.max(OpinionMapCache.computed_at)).where(OpinionMapCache.consultation_id == c.id),  # the stored map
        select(func.count(), func.max(Attachment.id), func.sum(Attachment.size)).where(Attachment.consultation_id == c.id),  # attachments/
        *questionnaires.fingerprint_queries(c),  # the questionnaire's versions and responses
        # groups (issue 20): who submitted what, the signatures and adoptions, the groups' names
        select(func.count(), func.max(Signature.id))
        .select_from(Signature)
        .join(Contribution, Contribution.id == Signature.contribution_id)
        .where(own),
        select(func.count(), func.max(GroupAdoption.id))
        .select_from(GroupAdoption)
        .join(Contribution, Contribution.id == GroupAdoption.contribution_id)
        .where(own),
        select(func.count(), func.max(Group.updated_at), func.sum(func.length(Group.name)))
        .select_from(GroupSubmission)
        .join(Contribution, Contribution.id == GroupSubmission.contribution_id)
        .join(Group, Group.id == GroupSubmission.group_id)
        .where(own),
    ]
    for query in queries:
        parts.append(tuple(db.session.execute(query).one()))
    # The record names people by their display name: the names of everyone it may name (an
    # author or co-supporter of one of its contributions, a member of staff in its log), each
    # found through its own index.
    named = (
        select(User.id, User.display_name)
        .where(
            select(Contribution.id).where(Contribution.author_id == User.id, own).exists()
            | select(AmendmentSupporter.id)
            .join(Contribution, Contribution.id == AmendmentSupporter.amendment_id)
            .where(AmendmentSupporter.user_id == User.id, own)
            .exists()
            | select(StaffAction.id).where(StaffAction.actor_id == User.id, StaffAction.organisation_id == c.organisation_id).exists()
        )
        .order_by(User.id)
    )
    digest = hashlib.sha256(repr(parts).encode())
    for user_id, name in db.session.execute(named):
        digest.update(f"{user_id}:{name}\n".encode())
    return digest.hexdigest()[:32]


def bundle_path(app: Flask, c: Consultation, fingerprint_: str) -> Path:
    return bundle_dir(app) / f"{c.id}-{fingerprint_}.zip"


def _key(c: Consultation, fingerprint_: str) -> str:
    return f"record-bundle:{c.id}:{fingerprint_}"


def open_bundle(c: Consultation, *, base_url: str) -> tuple[IO[bytes], int] | None:
    """The current bundle of ``c``, opened, and its size; None while it is being prepared (a
    build is then queued, once)."""
    app = current_app._get_current_object()
    fp = fingerprint(c, base_url)
    path = bundle_path(app, c, fp)
    opened = _open(path)
    if opened is None:
        jobs.enqueue_quietly(build_record_bundle, c.id, base_url, once=_key(c, fp))
        opened = _open(path)  # built already when jobs run immediately
    return opened


def _open(path: Path) -> tuple[IO[bytes], int] | None:
    try:
        file = path.open("rb")  # open, not test: a newer build may remove it in between
    except FileNotFoundError:
        return None
    return file, os.fstat(file.fileno()).st_size


@jobs.job(retries=3, writes=False)  # a reader: a long build never blocks writers
def build_record_bundle(consultation_id: int, base_url: str) -> None:
    """The job: write the record of the consultation as it is now into the bundle named by its
    fingerprint (whole or not at all), and remove the consultation's older bundles."""
    app = current_app._get_current_object()
    export.read_from_one_snapshot()  # before the first query: the fingerprint and the files see the same data
    consultation = db.session.get(Consultation, consultation_id)
    c = get_visible_consultation(None, consultation.slug) if consultation is not None else None
    if c is None:
        return
    fp = fingerprint(c, base_url)
    path = bundle_path(app, c, fp)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}-{id(path)}")
    try:
        with app.test_request_context(base_url=base_url):  # the record's links
            export.write_zip(c, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    for old in path.parent.glob(f"{c.id}-*.zip"):
        if old != path:
            old.unlink(missing_ok=True)
    log.info("record bundle of consultation %s built (%d bytes)", c.id, path.stat().st_size)
