"""Download my data: one zip with everything Consult holds about a person.

The person asks (``request_export``); the job ``build_data_export`` writes ``data.json`` (every
row about them: see ``inventory.py``, which the tests hold to the models) and each of their
contributions as a Markdown file into the exports folder, under a random name, and announces it.
The zip is offered to that person alone, signed in, for ``DATA_EXPORT_DAYS``; the hourly job
``remove_expired_exports`` then deletes it with its row.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from consult import mine
from consult.accounts.models import IdentityLink, LoginSession, Membership, SignInAttempt, User
from consult.accounts.twofactor_models import TwoFactor
from consult.amendments.models import Amendment, AmendmentSupporter
from consult.attachments.models import Attachment
from consult.audit.models import StaffAction
from consult.contributions.models import Contribution, ContributionKind
from consult.core import jobs
from consult.core.mail import OutgoingMail
from consult.core.models import db, utcnow
from consult.groups.models import (  # issue 20, groups-core  # issue 20 (calls helper)
    CallPledge,
    CallToAction,
    Group,
    GroupAdoption,
    GroupBlock,
    GroupDraft,
    GroupDraftRevision,
    GroupMembership,
    GroupSubmission,
    Signature,
)
from consult.moderation.models import Block, ModerationLogEntry, Report
from consult.notifications import services as notifications
from consult.notifications.models import Event, EventKind, Follow, Notification, NotificationPreferences, NotificationSetting
from consult.permissions import Action, authorize
from consult.policies import services as policies
from consult.policies.models import PolicyVersion
from consult.privacy.models import DataExport, Erasure
from consult.proposals.models import Consultation, Version
from consult.questionnaires import services as questionnaire_services
from consult.site.models import Invitation
from consult.tokens.models import ApiToken
from consult.voting.models import Vote

log = logging.getLogger(__name__)

FORMAT = "consult-personal-data"
FORMAT_VERSION = 1


def export_dir(app: Flask) -> Path:
    return Path(app.config.get("DATA_EXPORT_DIR") or Path(app.instance_path) / "exports")


# ---- asking, listing, serving ----------------------------------------------------------------


def request_export(person: User, *, actor: User) -> DataExport:
    """Ask for a new download of ``person``'s data (only they may): one is built by a job after
    the commit. While one is being prepared, asking again returns it rather than queueing another."""
    authorize(actor, Action.EXPORT_DATA, person)
    waiting = db.session.scalar(
        select(DataExport).where(DataExport.user_id == person.id, DataExport.ready_at.is_(None)).order_by(DataExport.id.desc())
    )
    if waiting is not None:
        return waiting
    export = DataExport(user_id=person.id, requested_at=utcnow(), file_name=f"{secrets.token_urlsafe(24)}.zip")
    db.session.add(export)
    db.session.flush()
    jobs.enqueue_after_commit(build_data_export, export.id)
    return export


def exports_of(person: User) -> list[DataExport]:
    """The person's downloads, newest first: being prepared, or ready until they expire."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(DataExport)
            .where(DataExport.user_id == person.id, or_(DataExport.expires_at.is_(None), DataExport.expires_at > now))
            .order_by(DataExport.id.desc())
        )
    )


def ready_export(person: User, export_id: int, *, actor: User) -> tuple[DataExport, Path] | None:
    """The ready, unexpired download ``export_id`` of ``person`` and its file, or None (a 404:
    nobody learns whether someone else's exists)."""
    authorize(actor, Action.EXPORT_DATA, person)
    export = db.session.get(DataExport, export_id)
    if export is None or export.user_id != person.id or not export.is_ready or export.expires_at <= utcnow():
        return None
    path = export_dir(current_app) / export.file_name
    return (export, path) if path.is_file() else None


# ---- the job ---------------------------------------------------------------------------------


@jobs.job(retries=2)
def build_data_export(export_id: int) -> None:
    """The job: write the zip of one person's data, offer it for DATA_EXPORT_DAYS and announce it."""
    export = db.session.get(DataExport, export_id)
    if export is None or export.is_ready:
        return
    app = current_app._get_current_object()
    path = export_dir(app) / export.file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write_zip(export.user, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    export.ready_at = utcnow()
    export.expires_at = export.ready_at + timedelta(days=int(app.config["DATA_EXPORT_DAYS"]))
    export.size = path.stat().st_size
    db.session.flush()
    notifications.record_event(
        EventKind.DATA_EXPORT_READY,
        None,
        recipient=export.user,
        data={"export": export.id, "expires_at": export.expires_at.isoformat()},  # worded in the reader's language when shown
    )
    log.info("data export %s built (%d bytes)", export.id, export.size)


@jobs.job(retries=2, periodic=jobs.crontab(minute="17"))
def remove_expired_exports() -> None:
    """Hourly: delete the downloads past their date, row and file (a file whose row is gone too)."""
    app = current_app._get_current_object()
    folder = export_dir(app)
    expired = list(db.session.scalars(select(DataExport).where(DataExport.expires_at <= utcnow())))
    for export in expired:
        (folder / export.file_name).unlink(missing_ok=True)
        db.session.delete(export)
    db.session.flush()
    if folder.is_dir():
        known = set(db.session.scalars(select(DataExport.file_name)))
        for file in folder.glob("*.zip"):
            if file.name not in known:
                file.unlink(missing_ok=True)


def remove_files_of(person: User) -> None:
    """Delete the person's download files now (erasure; their rows go with the account's)."""
    folder = export_dir(current_app)
    for name in db.session.scalars(select(DataExport.file_name).where(DataExport.user_id == person.id)):
        (folder / name).unlink(missing_ok=True)


# ---- what goes in it -------------------------------------------------------------------------


def write_zip(person: User, path: Path) -> None:
    data = personal_data(person)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))
        archive.writestr("README.md", README)
        for item in data["contributions"]:
            archive.writestr(f"contributions/{item['id']}-{item['kind']}.md", contribution_markdown(item))


README = """# Your data from Consult

`data.json` holds everything Consult stores about you, one key per kind of record: your account,
your roles, your signed-in sessions, your contributions (with their earlier texts and what became
of them), your votes and votes on statements, the amendments you co-support, what you follow,
your notification settings and notifications, the reports you made, the mail sent to you
(subjects and dates) and failed sign-ins to your account.

`contributions/` holds the text of each contribution as a Markdown file.
"""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def personal_data(person: User) -> dict[str, Any]:
    """Everything Consult holds about ``person``, by kind (the keys of ``inventory.py``)."""
    data: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, "exported_at": utcnow()}
    data["account"] = {
        "id": person.id,
        "email": person.email,
        "display_name": person.display_name,
        "site_admin": person.is_site_admin,
        "external_id": person.external_id,
        "created_at": person.created_at,
        "confirmed_at": person.confirmed_at,
    }
    for key, read in SECTIONS.items():
        data[key] = read(person)
    return data


def _rows(query) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in db.session.execute(query)]


def _memberships(person: User) -> list[dict[str, Any]]:
    from consult.accounts.models import Organisation

    return _rows(
        select(
            Organisation.slug.label("organisation"), Organisation.name.label("organisation_name"), Membership.role, Membership.created_at
        )
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == person.id)
        .order_by(Membership.id)
    )


def _sessions(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(LoginSession.created_at, LoginSession.last_seen_at, LoginSession.device, LoginSession.address)
        .where(LoginSession.user_id == person.id)
        .order_by(LoginSession.id)
    )


def _api_tokens(person: User) -> list[dict[str, Any]]:
    """The tokens' names, beginnings and use (never the token: only its hash is kept)."""
    return _rows(
        select(
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.scopes,
            ApiToken.organisation_id,
            ApiToken.created_at,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
        )
        .where(ApiToken.user_id == person.id)
        .order_by(ApiToken.id)
    )


# ---- groups (issue 20, groups-core) ----


def _groups_started(person: User) -> list[dict[str, Any]]:
    return _rows(select(Group.slug, Group.name, Group.created_at).where(Group.created_by_id == person.id).order_by(Group.id))


def _group_memberships(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Group.slug.label("group"), Group.name.label("group_name"), GroupMembership.role, GroupMembership.joined_at)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(GroupMembership.user_id == person.id)
        .order_by(GroupMembership.id)
    )


def _group_bars(person: User) -> list[dict[str, Any]]:
    """The groups whose coordinators barred the person (not who did it, nor why: the group's own notes)."""
    return _rows(
        select(Group.slug.label("group"), Group.name.label("group_name"), GroupBlock.created_at)
        .join(Group, Group.id == GroupBlock.group_id)
        .where(GroupBlock.user_id == person.id)
        .order_by(GroupBlock.id)
    )


def _group_bars_made(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Group.slug.label("group"), GroupBlock.reason, GroupBlock.created_at)
        .join(Group, Group.id == GroupBlock.group_id)
        .where(GroupBlock.blocked_by_id == person.id)
        .order_by(GroupBlock.id)
    )


# ---- end of groups-core ----


def _identity_links(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(IdentityLink.provider, IdentityLink.issuer, IdentityLink.subject, IdentityLink.created_at, IdentityLink.last_used_at)
        .where(IdentityLink.user_id == person.id)
        .order_by(IdentityLink.id)
    )


def _policy_versions_saved(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(PolicyVersion.kind, PolicyVersion.number, PolicyVersion.significant, PolicyVersion.saved_at)
        .where(PolicyVersion.saved_by_id == person.id)
        .order_by(PolicyVersion.id)
    )


def _invitations_made(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Invitation.note, Invitation.max_uses, Invitation.uses, Invitation.created_at, Invitation.expires_at, Invitation.revoked_at)
        .where(Invitation.created_by_id == person.id)
        .order_by(Invitation.id)
    )


def _attachments_uploaded(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Attachment.id, Attachment.consultation_id, Attachment.name, Attachment.size, Attachment.uploaded_at)
        .where(Attachment.uploaded_by_id == person.id)
        .order_by(Attachment.id)
    )


def _two_factor(person: User) -> list[dict[str, Any]]:
    return _rows(select(TwoFactor.created_at, TwoFactor.enabled_at, TwoFactor.last_used_at).where(TwoFactor.user_id == person.id))


def _contributions(person: User) -> list[dict[str, Any]]:
    contributions = list(
        db.session.scalars(
            select(Contribution)
            .where(Contribution.author_id == person.id)
            .options(
                selectinload(Contribution.revisions),
                selectinload(Contribution.anchors),
                selectinload(Contribution.consultation),
                selectinload(Contribution.version),
            )
            .order_by(Contribution.id)
        )
    )
    lines = {line.contribution.id: line for line in mine.contribution_lines(contributions, viewer=person)}
    amendments = {
        a.contribution_id: a
        for a in db.session.scalars(select(Amendment).where(Amendment.contribution_id.in_([c.id for c in contributions])))
    }
    items = []
    for c in contributions:
        line = lines.get(c.id)
        anchor = c.anchor
        amendment = amendments.get(c.id)
        items.append(
            {
                "id": c.id,
                "kind": c.kind,
                "consultation": c.consultation.slug,
                "consultation_title": c.consultation.title,
                "version": c.version.number,
                "section_key": c.section_key,
                "parent_id": c.parent_id,
                "created_at": c.created_at,
                "edited_at": c.edited_at,
                "deleted_at": c.deleted_at,
                "moderation_state": c.moderation_state,
                "hidden_reason": c.hidden_reason or None,
                "statuses": [{"name": s.name, "text": s.text, "reason": s.reason or None} for s in line.statuses] if line else [],
                "body": c.body,
                "revisions": [{"body": r.body, "written_at": r.written_at, "replaced_at": r.replaced_at} for r in c.revisions],
                "quote": {"exact": anchor.exact, "section_key": anchor.section_key} if anchor is not None else None,
                "amendment": {
                    "proposed_text": amendment.proposed_text,
                    "state": amendment.state,
                    "decision": amendment.decision,
                    "answer": amendment.answer or None,
                    "answered_at": amendment.answered_at,
                    "withdrawn_at": amendment.withdrawn_at,
                }
                if amendment is not None
                else None,
            }
        )
    return items


def _votes(person: User, *, statements: bool) -> list[dict[str, Any]]:
    on_statement = Contribution.kind == ContributionKind.STATEMENT
    return _rows(
        select(
            Consultation.slug.label("consultation"),
            Vote.contribution_id,
            Vote.section_key,
            Contribution.body.label("statement") if statements else Contribution.kind.label("on_kind"),
            Vote.value,
            Vote.created_at,
            Vote.updated_at,
        )
        .join(Consultation, Consultation.id == Vote.consultation_id)
        .outerjoin(Contribution, Contribution.id == Vote.contribution_id)
        .where(Vote.user_id == person.id, on_statement if statements else or_(Contribution.id.is_(None), ~on_statement))
        .order_by(Vote.id)
    )


def _co_supports(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Consultation.slug.label("consultation"), AmendmentSupporter.amendment_id, AmendmentSupporter.created_at)
        .join(Contribution, Contribution.id == AmendmentSupporter.amendment_id)
        .join(Consultation, Consultation.id == Contribution.consultation_id)
        .where(AmendmentSupporter.user_id == person.id)
        .order_by(AmendmentSupporter.id)
    )


def _follows(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Consultation.slug.label("consultation"), Follow.target, Follow.active, Follow.automatic, Follow.created_at)
        .join(Consultation, Consultation.id == Follow.consultation_id)
        .where(Follow.user_id == person.id)
        .order_by(Follow.id)
    )


def _notification_settings(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(NotificationSetting.kind, NotificationSetting.delivery)
        .where(NotificationSetting.user_id == person.id)
        .order_by(NotificationSetting.kind)
    )


def _notification_preferences(person: User) -> list[dict[str, Any]]:
    return _rows(select(NotificationPreferences.follow_when_taking_part).where(NotificationPreferences.user_id == person.id))


def _notifications(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(
            Event.kind,
            Consultation.slug.label("consultation"),
            Event.contribution_id,
            Event.section_key,
            Event.created_at.label("happened_at"),
            Notification.delivery,
            Notification.created_at,
            Notification.read_at,
            Notification.mailed_at,
        )
        .join(Event, Event.id == Notification.event_id)
        .outerjoin(Consultation, Consultation.id == Event.consultation_id)
        .where(Notification.user_id == person.id)
        .order_by(Notification.id)
    )


def _reports(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Report.contribution_id, Report.reason, Report.detail, Report.created_at, Report.resolved_at)
        .where(Report.reporter_id == person.id)
        .order_by(Report.id)
    )


# --- groups (issue 20, the activity helper): the reports the person made on groups ---
def _group_reports(person: User) -> list[dict[str, Any]]:
    from consult.groups.models import Group, GroupReport

    return _rows(
        select(Group.slug.label("group"), GroupReport.reason, GroupReport.detail, GroupReport.created_at, GroupReport.resolved_at)
        .join(Group, Group.id == GroupReport.group_id)
        .where(GroupReport.reporter_id == person.id)
        .order_by(GroupReport.id)
    )


# --- end of the activity helper's block ---


def _blocks(person: User) -> list[dict[str, Any]]:
    from consult.accounts.models import Organisation

    return _rows(
        select(Organisation.slug.label("organisation"), Block.reason, Block.created_at)
        .join(Organisation, Organisation.id == Block.organisation_id)
        .where(Block.user_id == person.id)
        .order_by(Block.id)
    )


def _moderation_log(person: User) -> list[dict[str, Any]]:
    """Moderation of them (blocks lifted and made) and done by them, as the public log has it."""
    return _rows(
        select(
            ModerationLogEntry.action,
            ModerationLogEntry.contribution_id,
            ModerationLogEntry.rule,
            ModerationLogEntry.reason,
            ModerationLogEntry.created_at,
            (ModerationLogEntry.moderator_id == person.id).label("by_you"),
        )
        .where(or_(ModerationLogEntry.subject_id == person.id, ModerationLogEntry.moderator_id == person.id))
        .order_by(ModerationLogEntry.id)
    )


def _staff_actions(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(
            StaffAction.occurred_at,
            StaffAction.actor_role,
            StaffAction.operation,
            StaffAction.target_type,
            StaffAction.target_id,
            StaffAction.detail,
        )
        .where(StaffAction.actor_id == person.id)
        .order_by(StaffAction.id)
    )


def _answers_given(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Amendment.contribution_id.label("amendment_id"), Amendment.decision, Amendment.answer, Amendment.answered_at)
        .where(Amendment.answered_by_id == person.id)
        .order_by(Amendment.contribution_id)
    )


def _consultations_created(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Consultation.slug, Consultation.title, Consultation.created_at)
        .where(Consultation.created_by_id == person.id)
        .order_by(Consultation.id)
    )


def _versions_published(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Consultation.slug.label("consultation"), Version.number, Version.published_at)
        .join(Consultation, Consultation.id == Version.consultation_id)
        .where(Version.published_by_id == person.id)
        .order_by(Version.id)
    )


def _erasures_done(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Erasure.id.label("former_participant"), Erasure.mode, Erasure.reason, Erasure.erased_at)
        .where(Erasure.erased_by_id == person.id)
        .order_by(Erasure.id)
    )


# --- calls to action (issue 20, calls helper) ---


def _calls_published(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(
            CallToAction.id,
            CallToAction.consultation_id,
            CallToAction.organisation_id,
            CallToAction.group_id,
            CallToAction.kind,
            CallToAction.title,
            CallToAction.goal,
            CallToAction.deadline,
            CallToAction.created_at,
        )
        .where(CallToAction.created_by_id == person.id)
        .order_by(CallToAction.id)
    )


def _call_pledges(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(CallPledge.call_id, CallToAction.title, CallPledge.created_at)
        .join(CallToAction, CallToAction.id == CallPledge.call_id)
        .where(CallPledge.user_id == person.id)
        .order_by(CallPledge.id)
    )


# --- end of calls to action ---


def _mail(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(OutgoingMail.subject, OutgoingMail.status, OutgoingMail.created_at, OutgoingMail.sent_at)
        .where(OutgoingMail.recipient == person.email)
        .order_by(OutgoingMail.id)
    )


def _failed_sign_ins(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(SignInAttempt.attempted_at, SignInAttempt.address).where(SignInAttempt.email == person.email).order_by(SignInAttempt.id)
    )


# ---- issue 20 (drafts): groups' shared drafts, submissions, adoptions and signatures ----------


def _group_drafts(person: User) -> list[dict[str, Any]]:
    """The drafts they started or submitted for a group (what they wrote: ``group_draft_revisions``)."""
    return _rows(
        select(
            Group.slug.label("group"), GroupDraft.id, GroupDraft.title, GroupDraft.created_at, GroupDraft.submitted_at,
            (GroupDraft.created_by_id == person.id).label("started"), (GroupDraft.submitted_by_id == person.id).label("submitted"),
        )
        .join(Group, Group.id == GroupDraft.group_id)
        .where(or_(GroupDraft.created_by_id == person.id, GroupDraft.submitted_by_id == person.id))
        .order_by(GroupDraft.id)
    )  # fmt: skip


def _group_draft_revisions(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(
            GroupDraftRevision.draft_id, GroupDraftRevision.number, GroupDraftRevision.title,
            GroupDraftRevision.proposed_text, GroupDraftRevision.body, GroupDraftRevision.created_at,
        )
        .where(GroupDraftRevision.user_id == person.id)
        .order_by(GroupDraftRevision.id)
    )  # fmt: skip


def _group_submissions(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Group.slug.label("group"), GroupSubmission.contribution_id, GroupSubmission.submitted_at)
        .join(Group, Group.id == GroupSubmission.group_id)
        .where(GroupSubmission.submitted_by_id == person.id)
        .order_by(GroupSubmission.submitted_at)
    )


def _group_adoptions(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Group.slug.label("group"), GroupAdoption.contribution_id, GroupAdoption.adopted_at)
        .join(Group, Group.id == GroupAdoption.group_id)
        .where(GroupAdoption.adopted_by_id == person.id)
        .order_by(GroupAdoption.id)
    )


def _signatures(person: User) -> list[dict[str, Any]]:
    return _rows(
        select(Consultation.slug.label("consultation"), Signature.contribution_id, Group.slug.label("through_group"), Signature.created_at)
        .join(Contribution, Contribution.id == Signature.contribution_id)
        .join(Consultation, Consultation.id == Contribution.consultation_id)
        .outerjoin(Group, Group.id == Signature.group_id)
        .where(Signature.user_id == person.id)
        .order_by(Signature.id)
    )


SECTIONS: dict[str, Callable[[User], list[dict[str, Any]]]] = {
    "memberships": _memberships,
    "sessions": _sessions,
    "identity_links": _identity_links,
    "api_tokens": _api_tokens,
    # groups (issue 20, groups-core)
    "groups_started": _groups_started,
    "group_memberships": _group_memberships,
    "group_bars": _group_bars,
    "group_bars_made": _group_bars_made,
    "calls_published": _calls_published,  # issue 20 (calls helper)
    "call_pledges": _call_pledges,  # issue 20 (calls helper)
    "policy_agreements": policies.agreements_of,
    "policy_versions_saved": _policy_versions_saved,
    "invitations_made": _invitations_made,
    "attachments_uploaded": _attachments_uploaded,
    "two_factor": _two_factor,
    "contributions": _contributions,
    "votes": lambda person: _votes(person, statements=False),
    "statement_votes": lambda person: _votes(person, statements=True),
    "co_supports": _co_supports,
    "follows": _follows,
    "notification_settings": _notification_settings,
    "notification_preferences": _notification_preferences,
    "notifications": _notifications,
    "reports": _reports,
    "group_reports": _group_reports,  # issue 20, the activity helper
    "blocks": _blocks,
    "moderation_log": _moderation_log,
    "staff_actions": _staff_actions,
    "answers_given": _answers_given,
    "consultations_created": _consultations_created,
    "versions_published": _versions_published,
    "erasures_done": _erasures_done,
    "mail": _mail,
    "failed_sign_ins": _failed_sign_ins,
    "questionnaire_responses": questionnaire_services.responses_of,
    # issue 20 (drafts)
    "group_drafts": _group_drafts,
    "group_draft_revisions": _group_draft_revisions,
    "group_submissions": _group_submissions,
    "group_adoptions": _group_adoptions,
    "signatures": _signatures,
}


def contribution_markdown(item: dict[str, Any]) -> str:
    """One contribution as a Markdown file: what, where and when, then the words."""
    when = item["created_at"].isoformat() if isinstance(item["created_at"], datetime) else item["created_at"]
    lines = [
        f"# {item['kind'].capitalize()} {item['id']}",
        "",
        f"- Consultation: {item['consultation_title']} ({item['consultation']}), version {item['version']}",
        f"- Section: {item['section_key'] or 'the whole consultation'}",
        f"- Written: {when}",
    ]
    if item["parent_id"]:
        lines.append(f"- In reply to: {item['parent_id']}")
    lines += [f"- {status['text']}" for status in item["statuses"]]
    if item["quote"]:
        lines += ["", "Quoting:", "", *(f"> {line}" for line in item["quote"]["exact"].splitlines())]
    lines += ["", item["body"] or "(no text: deleted)", ""]
    if item["amendment"]:
        lines += ["## Proposed text", "", item["amendment"]["proposed_text"], ""]
    for number, revision in enumerate(item["revisions"], start=1):
        lines += [f"## Earlier text {number}", "", revision["body"], ""]
    return "\n".join(lines)
