"""Delete my account: the person (or a site admin, on their request) erases it, choosing what
becomes of what they wrote.

- **KEEP**: their contributions, votes, co-supports and reports stay, attributed to "Former
  participant N" (N is the number of the ``Erasure`` row: stable, one per erased person). The
  account row stays as that pseudonym only: no name, no email address, no password, no roles.
- **WITHDRAW**: their contributions are removed; one that others replied to, or that a version's
  change or a summary cites, stays as a tombstone without text or author, so threads and the
  record stay readable. An amendment the organisation answered keeps its answer: its text goes,
  a note says the author withdrew it. Their votes and co-supports go, so tallies change, and
  the opinion maps of the consultations concerned are recomputed. The account row is deleted.

Either way everything personal goes (sessions, follows, notifications and settings, mail,
failed sign-ins, roles, downloads): every column that points at a person is listed in
``inventory.py`` with what happens to it here. Search follows by itself (its session events see
every contribution changed or deleted), the stale record bundles of the consultations concerned
are deleted after the commit (the next download builds one without the person), and the email
address is free to sign up again.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, select, union, update
from werkzeug.security import check_password_hash

from consult.accounts.models import LoginSession, Membership, SignInAttempt, User
from consult.amendments.models import Amendment, AmendmentState, AmendmentSupporter, Citation
from consult.audit.models import StaffAction
from consult.contributions.models import Contribution, ContributionKind
from consult.core import jobs
from consult.core.errors import RuleViolation
from consult.core.models import db, utcnow
from consult.groups import services as groups
from consult.moderation.models import SummaryCitation
from consult.permissions import Action, authorize
from consult.privacy import export
from consult.privacy.inventory import BY_EMAIL, BY_FOREIGN_KEY, Erase
from consult.privacy.models import Erasure, ErasureMode, pseudonym
from consult.proposals.models import Consultation
from consult.record.bundles import bundle_dir
from consult.voting import statements
from consult.voting.models import Vote

log = logging.getLogger(__name__)

MAX_REASON_LENGTH = 1000
#: What an answered amendment says in place of its author's words once they withdrew them.
WITHDRAWN_AMENDMENT_NOTE = (
    "The author withdrew the text of this amendment when they deleted their account. The organisation's answer stays on record."
)
ERASED_EMAIL_DOMAIN = "erased.invalid"  # RFC 2606: never delivered


def has_password(person: User) -> bool:
    """Accounts made through an identity provider may have no password: an unusable hash."""
    return bool(person.password_hash) and not person.password_hash.startswith("!")


def session_started_at(token: str | None) -> datetime | None:
    """When the signed-in browser with this session token signed in."""
    if not token:
        return None
    return db.session.scalar(select(LoginSession.created_at).where(LoginSession.token_hash == hashlib.sha256(token.encode()).hexdigest()))


def confirm_identity(person: User, *, password: str, address: str, signed_in_at: datetime | None) -> bool:
    """Deleting an account takes its password (a borrowed session alone cannot), or, for an
    account without one, a sign-in of the last ERASURE_FRESH_SIGNIN_MINUTES. A wrong password
    counts as a failed sign-in (the caller commits, so it counts) and, past the sign-in limit,
    is refused without being checked."""
    if not has_password(person):
        fresh = timedelta(minutes=int(current_app.config["ERASURE_FRESH_SIGNIN_MINUTES"]))
        return signed_in_at is not None and utcnow() - signed_in_at <= fresh
    window = timedelta(seconds=int(current_app.config["SIGNIN_WINDOW_SECONDS"]))
    failures = db.session.scalar(
        select(func.count()).where(SignInAttempt.email == person.email, SignInAttempt.attempted_at >= utcnow() - window)
    )
    if failures >= int(current_app.config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]):
        raise RuleViolation(_("Too many wrong passwords: try again later."), status=429)
    if check_password_hash(person.password_hash, password or ""):
        return True
    db.session.add(SignInAttempt(email=person.email, address=address[:64]))
    return False


def erased_email(number: int) -> str:
    return f"former-participant-{number}@{ERASED_EMAIL_DOMAIN}"


def erase_account(person: User, *, actor: User, mode: ErasureMode, reason: str = "") -> Erasure:
    """Erase ``person``'s account (see the module docstring for what ``mode`` keeps). The person
    themselves, or a site admin on their request, who must give a ``reason`` (kept in the
    erasures log with the admin, without anything personal of the erased person). The only site
    admin cannot erase their own account. Returns the log's entry; its number names the pseudonym."""
    authorize(actor, Action.ERASE_ACCOUNT, person)
    reason = reason.strip()
    by_admin = actor.id != person.id
    if by_admin and not reason:
        raise RuleViolation(_("Say which request this erasure answers."), status=400, field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise RuleViolation(_("Keep the reason under %(most)s characters.", most=MAX_REASON_LENGTH), status=400, field="reason")
    if erasure_of(person) is not None:
        raise RuleViolation(_("This account has already been erased."), status=409)
    if person.is_site_admin and not db.session.scalar(select(exists().where(User.is_site_admin, User.id != person.id))):
        raise RuleViolation(_("This is the only site admin account: make someone else a site admin before deleting it."), status=409)

    erasure = Erasure(user_id=person.id, mode=mode.value, erased_at=utcnow(), erased_by_id=actor.id if by_admin else None, reason=reason)
    db.session.add(erasure)
    db.session.flush()
    person_id, email = person.id, person.email
    touched = consultations_concerning(person_id)
    opinion_maps = _statement_consultations(person_id) if mode is ErasureMode.WITHDRAW else set()
    if mode is ErasureMode.WITHDRAW:
        _withdraw_contributions(person_id)
    export.remove_files_of(person)
    groups.hand_over_coordination(person_id)  # issue 20: no group is left without a coordinator

    for (table_name, column_name), handling in BY_FOREIGN_KEY.items():
        what = handling.keep if mode is ErasureMode.KEEP else handling.withdraw
        table = db.metadata.tables[table_name]
        column = table.c[column_name]
        if what is Erase.DELETE:
            db.session.execute(delete(table).where(column == person_id))
        elif what is Erase.UNLINK:
            db.session.execute(update(table).where(column == person_id).values({column_name: None}))
    for table_name, column_name in BY_EMAIL:
        table = db.metadata.tables[table_name]
        db.session.execute(delete(table).where(table.c[column_name] == email))

    if mode is ErasureMode.KEEP:
        db.session.expire(person, ["memberships"])
        person.display_name = pseudonym(erasure.id)
        person.email = erased_email(erasure.id)
        person.password_hash = "!"  # no password verifies against it
        person.external_id = None
        person.is_site_admin = False
        db.session.flush()
    else:
        db.session.execute(delete(User).where(User.id == person_id))
        db.session.expunge(person)
    for consultation in db.session.scalars(select(Consultation).where(Consultation.id.in_(opinion_maps))):
        statements.map_votes_changed(consultation)
    if touched:
        jobs.enqueue_after_commit(forget_record_bundles, sorted(touched))
    log.info("account erased as former participant %s (%s)", erasure.id, mode.value)
    return erasure


def consultations_concerning(person_id: int) -> set[int]:
    """The consultations whose open record may name the person or count what they did."""
    organisations = union(
        select(StaffAction.organisation_id).where(StaffAction.actor_id == person_id),
        select(Membership.organisation_id).where(Membership.user_id == person_id),
    )
    query = union(
        select(Contribution.consultation_id).where(Contribution.author_id == person_id),
        select(Vote.consultation_id).where(Vote.user_id == person_id),
        select(Contribution.consultation_id)
        .join(AmendmentSupporter, AmendmentSupporter.amendment_id == Contribution.id)
        .where(AmendmentSupporter.user_id == person_id),
        select(Consultation.id).where(Consultation.organisation_id.in_(organisations)),
    )
    return set(db.session.scalars(query))


def _statement_consultations(person_id: int) -> set[int]:
    """Consultations whose opinion map changes when the person's votes and statements go."""
    return set(
        db.session.scalars(
            union(
                select(Contribution.consultation_id).where(
                    Contribution.author_id == person_id, Contribution.kind == ContributionKind.STATEMENT
                ),
                select(Vote.consultation_id)
                .join(Contribution, Contribution.id == Vote.contribution_id)
                .where(Vote.user_id == person_id, Contribution.kind == ContributionKind.STATEMENT),
            )
        )
    )


def _withdraw_contributions(person_id: int) -> None:
    """Remove the person's contributions, deepest first (so their replies to themselves go
    before what they answered): a tombstone where others replied or something cites it, the
    answer kept on an answered amendment, the row deleted otherwise (with its anchors, votes,
    co-supporters and reports)."""
    mine = db.session.scalars(
        select(Contribution).where(Contribution.author_id == person_id).order_by(Contribution.depth.desc(), Contribution.id.desc())
    ).all()
    for contribution in mine:
        amendment = db.session.get(Amendment, contribution.id) if contribution.kind == ContributionKind.AMENDMENT else None
        if amendment is not None and amendment.decision is not None:
            _withdraw_text_keep_answer(contribution, amendment)
        elif _needed_by_others(contribution):
            _tombstone(contribution, amendment)
        else:
            db.session.delete(contribution)
            db.session.flush()


def _needed_by_others(contribution: Contribution) -> bool:
    """Replied to, or cited by a version's change or a summary: removing it would break them."""
    return bool(
        db.session.scalar(
            select(
                exists().where(Contribution.parent_id == contribution.id)
                | exists().where(Citation.contribution_id == contribution.id)
                | exists().where(SummaryCitation.contribution_id == contribution.id)
            )
        )
    )


def _tombstone(contribution: Contribution, amendment: Amendment | None) -> None:
    contribution.deleted_at = utcnow()
    contribution.body = ""
    contribution.body_html = ""
    contribution.author_id = None
    contribution.revisions.clear()
    if amendment is not None:
        amendment.proposed_text = _base_text(contribution)
        if amendment.state == AmendmentState.OPEN:
            amendment.state = AmendmentState.WITHDRAWN
            amendment.withdrawn_at = utcnow()
    db.session.flush()


def _withdraw_text_keep_answer(contribution: Contribution, amendment: Amendment) -> None:
    """The organisation's answer is theirs and stays; the amendment's words (its rationale and
    proposed text) were the author's and go: the proposal becomes the section unchanged."""
    contribution.body = WITHDRAWN_AMENDMENT_NOTE
    contribution.body_html = f"<p>{WITHDRAWN_AMENDMENT_NOTE}</p>"
    contribution.author_id = None
    contribution.revisions.clear()
    amendment.proposed_text = _base_text(contribution)
    db.session.flush()


def _base_text(contribution: Contribution) -> str:
    section = contribution.version.section(contribution.section_key) if contribution.section_key else None
    return section.body if section is not None else ""


def erasure_of(person: User) -> Erasure | None:
    return db.session.scalar(select(Erasure).where(Erasure.user_id == person.id))


def fresh_minutes() -> int:
    return int(current_app.config["ERASURE_FRESH_SIGNIN_MINUTES"])


def erasures_log(*, actor: User | None, limit: int = 200) -> list[Erasure]:
    """The erasures, newest first, for site admins."""
    authorize(actor, Action.VIEW_ERASURES)
    return list(db.session.scalars(select(Erasure).order_by(Erasure.id.desc()).limit(limit)))


def erasure_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Erasure)) or 0


@jobs.job(retries=2, writes=False)
def forget_record_bundles(consultation_ids: list[int]) -> None:
    """After an erasure: delete the record bundles built before it (they name the person or
    count what they withdrew); the next download builds a current one."""
    folder: Path = bundle_dir(current_app)
    for consultation_id in consultation_ids:
        for file in folder.glob(f"{int(consultation_id)}-*.zip"):
            file.unlink(missing_ok=True)
