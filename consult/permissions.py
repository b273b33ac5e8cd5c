"""Who may do what: the one home of authorisation.

``can(user, action, obj)`` answers for templates; ``authorize(user, action, obj)`` raises
``PermissionDenied`` for services; ``visible_*`` give query filters so that what a user may
not see cannot leak through a list, a count, the API or an export. Deny by default: an
action with no predicate is refused.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, false, or_, select, true

from consult.accounts.models import Membership, Organisation, Role, User
from consult.amendments.models import Amendment, AmendmentState, AmendmentSupporter
from consult.attachments.models import Attachment
from consult.contributions.models import Contribution, ContributionKind, ModerationState
from consult.core.errors import PermissionDenied
from consult.core.models import db, utcnow
from consult.groups.models import (
    CallToAction,
    Group,
    GroupAdoption,
    GroupBlock,
    GroupDraft,
    GroupMembership,
    GroupRole,
    GroupSubmission,
    Signature,
)
from consult.moderation.models import Block, Theme
from consult.proposals.models import (
    PUBLIC_STATES,
    TRANSITIONS,
    Consultation,
    ConsultationState,
    ParticipationMode,
    Transition,
    Version,
)


class Action(enum.StrEnum):
    VIEW_CONSULTATION = "view_consultation"
    CREATE_CONSULTATION = "create_consultation"  # on an Organisation
    EDIT_CONSULTATION = "edit_consultation"
    EDIT_TEXT = "edit_text"
    PUBLISH_VERSION = "publish_version"
    OPEN_CONSULTATION = "open_consultation"
    CLOSE_CONSULTATION = "close_consultation"
    REOPEN_CONSULTATION = "reopen_consultation"
    CONCLUDE_CONSULTATION = "conclude_consultation"
    MANAGE_ORGANISATION = "manage_organisation"  # on an Organisation
    CREATE_ORGANISATION = "create_organisation"  # on nothing
    POST_COMMENT = "post_comment"  # on a Consultation
    EDIT_COMMENT = "edit_comment"  # on a Contribution
    DELETE_COMMENT = "delete_comment"  # on a Contribution
    VOTE = "vote"  # on a Consultation
    PROPOSE_AMENDMENT = "propose_amendment"  # on a Consultation
    CO_SUPPORT_AMENDMENT = "co_support_amendment"  # on an Amendment
    WITHDRAW_AMENDMENT = "withdraw_amendment"  # on an Amendment
    ANSWER_AMENDMENT = "answer_amendment"  # on an Amendment
    START_NEXT_VERSION = "start_next_version"  # on a Consultation
    REPORT = "report"  # on a Contribution
    MODERATE = "moderate"  # on an Organisation or a Consultation: the queue, hiding, blocking
    SUMMARISE = "summarise"  # on a Consultation: themes and summaries
    VIEW_VERSION = "view_version"  # on a Version
    VIEW_OUTCOME = "view_outcome"  # on a Consultation: "you said, we did"
    VIEW_THEMES = "view_themes"  # on a Consultation: its themes, their summaries and the section summaries
    LEAVE_SUPPORT = "leave_support"  # on an Amendment
    VIEW_AUDIT_LOG = "view_audit_log"  # on an Organisation: every staff action, with who did it
    MANAGE_MAIL = "manage_mail"  # on nothing: the mail that could not be sent, and sending it again
    MANAGE_POLICIES = "manage_policies"  # on nothing: the site's terms, privacy notice and other policies
    FOLLOW = "follow"  # on a Consultation: follow it, a section of it or a contribution in it
    SEND_UPDATE = "send_update"  # on a Consultation: a message to everyone following it
    EXPORT_DATA = "export_data"  # on a User: download everything Consult holds about them
    ERASE_ACCOUNT = "erase_account"  # on a User: delete the account (keeping or withdrawing what they wrote)
    VIEW_ERASURES = "view_erasures"  # on nothing: the log of erased accounts
    ANNOTATE = "annotate"  # on a Consultation: a comment on selected words of its text
    POST_STATEMENT = "post_statement"  # on a Consultation
    VOTE_ON_STATEMENT = "vote_on_statement"  # on a Consultation
    EDIT_SETTINGS = "edit_settings"  # on a Consultation: moderation, threshold, ways of taking part
    MANAGE_SITE = "manage_site"  # on nothing: the site's name, look, registration and thresholds
    # questionnaires (consult/questionnaires)
    EDIT_QUESTIONNAIRE = "edit_questionnaire"  # on a Consultation: its questions, and publishing a version of them
    ANSWER_QUESTIONNAIRE = "answer_questionnaire"  # on a Consultation
    VIEW_QUESTIONNAIRE_RESULTS = "view_questionnaire_results"  # on a Consultation
    # API access tokens (consult/tokens)
    MANAGE_API_TOKENS = "manage_api_tokens"  # on a User (their own tokens) or an Organisation (its tokens)
    # groups and calls to action (consult/groups)
    CREATE_GROUP = "create_group"  # on nothing
    VIEW_GROUP = "view_group"  # on a Group: its page (a hidden one: its tombstone only)
    VIEW_GROUP_MEMBERS = "view_group_members"  # on a Group: who is in it, and its drafts
    JOIN_GROUP = "join_group"  # on a Group: join a public group (an invite-only one: by its link)
    LEAVE_GROUP = "leave_group"  # on a Group
    MANAGE_GROUP = "manage_group"  # on a Group: its details, invitations, roles, removing people, chapters
    REPORT_GROUP = "report_group"  # on a Group
    MODERATE_GROUPS = "moderate_groups"  # on nothing: the reports on groups, hiding and restoring them
    EDIT_GROUP_DRAFT = "edit_group_draft"  # on a GroupDraft (or a Group: start one)
    SUBMIT_GROUP_DRAFT = "submit_group_draft"  # on a GroupDraft: on the group's behalf
    SIGN = "sign"  # on a Contribution a group submitted: co-sign it (and withdraw the signature)
    ADOPT_SUBMISSION = "adopt_submission"  # on a Group: take a chapter's submission as its position
    PUBLISH_CALL = "publish_call"  # on an Organisation or a Group: a call to action on one of its consultations
    MANAGE_CALL = "manage_call"  # on a CallToAction: edit or close it
    PLEDGE = "pledge"  # on a CallToAction: say you will come (an event)


#: How long after posting an author may still correct a comment.
EDIT_WINDOW = timedelta(minutes=15)


#: Which action each transition needs.
TRANSITION_ACTIONS: dict[Transition, Action] = {
    Transition.OPEN: Action.OPEN_CONSULTATION,
    Transition.CLOSE: Action.CLOSE_CONSULTATION,
    Transition.REOPEN: Action.REOPEN_CONSULTATION,
    Transition.CONCLUDE: Action.CONCLUDE_CONSULTATION,
}

EDITOR_ROLES = frozenset({Role.AUTHOR, Role.ADMIN})


def _signed_in(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _roles(user: User | None, organisation_id: int) -> frozenset[Role]:
    if not _signed_in(user):
        return frozenset()
    return user.roles_in(organisation_id)


def _is_site_admin(user: User | None) -> bool:
    return _signed_in(user) and bool(user.is_site_admin)


def _edits_for(user: User | None, organisation_id: int) -> bool:
    """Authors and admins of the organisation, and site admins, write its consultations."""
    return _is_site_admin(user) or bool(_roles(user, organisation_id) & EDITOR_ROLES)


def _view_consultation(user: User | None, c: Consultation) -> bool:
    """The public sees a consultation once it is open; before that only its editors do."""
    return c.state in PUBLIC_STATES or _edits_for(user, c.organisation_id)


def _create_consultation(user: User | None, org: Organisation) -> bool:
    """The organisation's authors and admins (and site admins) start its consultations."""
    return _edits_for(user, org.id)


def _edit_consultation(user: User | None, c: Consultation) -> bool:
    """Editors change details until the outcome is published; then the record is fixed."""
    return c.state != ConsultationState.CONCLUDED and _edits_for(user, c.organisation_id)


def _edit_text(user: User | None, c: Consultation) -> bool:
    """The next version's draft is written before and during the consultation, and after it
    closes (version 2 is usually written from the input), never after it is concluded."""
    return c.state != ConsultationState.CONCLUDED and _edits_for(user, c.organisation_id)


def _transition(transition: Transition) -> Callable[[User | None, Consultation], bool]:
    source, _target = TRANSITIONS[transition]

    def predicate(user: User | None, c: Consultation) -> bool:
        return c.state == source and _edits_for(user, c.organisation_id)

    predicate.__doc__ = f"Editors may {transition.value} a consultation that is {source.value}."
    return predicate


def _take_part(user: User | None, c: Consultation) -> bool:
    """Signed-in people with a confirmed address take part while the consultation is open,
    unless the organisation's moderators blocked them."""
    return (
        _signed_in(user) and user.confirmed_at is not None and c.accepts_contributions(utcnow()) and not is_blocked(user, c.organisation_id)
    )


def _post_comment(user: User | None, c: Consultation) -> bool:
    """Comments and replies, where the organisation has not turned comments off."""
    return c.allows(ParticipationMode.COMMENTS) and _take_part(user, c)


def _annotate(user: User | None, c: Consultation) -> bool:
    """Comments on selected words, where both comments and annotations are on."""
    return c.allows(ParticipationMode.ANNOTATIONS) and _post_comment(user, c)


def _propose_amendment(user: User | None, c: Consultation) -> bool:
    return c.allows(ParticipationMode.AMENDMENTS) and _take_part(user, c)


def _statements(user: User | None, c: Consultation) -> bool:
    """Writing statements and voting on them, where statements are on."""
    return c.allows(ParticipationMode.STATEMENTS) and _take_part(user, c)


def _answer_questionnaire(user: User | None, c: Consultation) -> bool:
    """Answering the questionnaire, where it is on (comments need not be)."""
    return c.allows(ParticipationMode.QUESTIONNAIRE) and _take_part(user, c)


def _mode_refused(mode: ParticipationMode, refusal) -> Callable[[User | None, Consultation], str | None]:
    """``refusal``: the whole sentence, lazily translated (``_l``), said in the asker's language."""

    def why(user: User | None, c: Consultation) -> str | None:
        if _take_part(user, c) and not c.allows(mode):
            return str(refusal)
        return None

    return why


def _edit_settings(user: User | None, c: Consultation) -> bool:
    """Editors set how people take part until the outcome is published (as the details)."""
    return _edit_consultation(user, c)


def is_blocked(user: User | None, organisation_id: int) -> bool:
    """Asked for every vote form and comment card of a page: answered once per request, and
    not at all when the sign-in loader found that no organisation blocks the person."""
    if not _signed_in(user):
        return False
    if has_request_context() and g.get(_BLOCKED_NOWHERE) == user.id:
        return False
    memo = g.setdefault("_blocked", {}) if has_request_context() else {}
    key = (user.id, organisation_id)
    if key not in memo:
        memo[key] = (
            db.session.scalar(select(Block.id).where(Block.user_id == user.id, Block.organisation_id == organisation_id)) is not None
        )
    return memo[key]


#: ``g``'s note of the signed-in person no organisation blocks (their id), for this request.
_BLOCKED_NOWHERE = "_blocked_nowhere"


def note_blocked_anywhere(user: User, blocked: bool) -> None:
    """The sign-in loader asked, with the person's session, whether any organisation blocks
    them: when none does (almost always), this request's checks need not ask the blocks table,
    organisation by organisation."""
    if has_request_context():
        setattr(g, _BLOCKED_NOWHERE, None if blocked else user.id)


def forget_blocks() -> None:
    """A block was placed or lifted: what this request knew of blocks is no longer true."""
    if has_request_context():
        g.pop(_BLOCKED_NOWHERE, None)
        g.pop("_blocked", None)


MODERATOR_ROLES = frozenset({Role.MODERATOR, Role.ADMIN})


def _moderate(user: User | None, target: Organisation | Consultation) -> bool:
    """Moderators and admins of the organisation (and site admins) moderate its consultations."""
    organisation_id = target.id if isinstance(target, Organisation) else target.organisation_id
    return _is_site_admin(user) or bool(_roles(user, organisation_id) & MODERATOR_ROLES)


def _summarise(user: User | None, c: Consultation) -> bool:
    """Moderators write themes and summaries once the consultation is public, until it is concluded."""
    return _moderate(user, c) and c.state in (ConsultationState.OPEN, ConsultationState.CLOSED)


def _report(user: User | None, contribution: Contribution) -> bool:
    """Anyone signed in reports what others wrote, where they can read it."""
    return (
        _signed_in(user)
        and contribution.author_id != user.id
        and contribution.deleted_at is None
        and _view_consultation(user, contribution.consultation)
    )


def _own(user: User | None, contribution: Contribution) -> bool:
    """Their own, not deleted, in a consultation they can read."""
    return (
        _signed_in(user)
        and contribution.author_id == user.id
        and contribution.deleted_at is None
        and _view_consultation(user, contribution.consultation)
    )


DISCUSSION = frozenset({ContributionKind.COMMENT, ContributionKind.REPLY})


def _edit_comment(user: User | None, contribution: Contribution) -> bool:
    """Authors correct their own comments and replies for 15 minutes, while they may take part
    (the consultation is open, they are confirmed and not blocked); the earlier text is kept.
    Not statements and amendments: people have voted on their words."""
    return (
        contribution.kind in DISCUSSION
        and _own(user, contribution)
        and contribution.moderation_state != ModerationState.HIDDEN
        and utcnow() - contribution.created_at <= EDIT_WINDOW
        and _post_comment(user, contribution.consultation)
    )


def _delete_comment(user: User | None, contribution: Contribution) -> bool:
    """Authors may always withdraw their own comments and replies (an amendment is withdrawn,
    which keeps its record; a statement stays, as people have voted on it)."""
    return contribution.kind in DISCUSSION and _own(user, contribution)


def _co_support(user: User | None, amendment: Amendment) -> bool:
    """Others join an open amendment while the consultation is open."""
    contribution = amendment.contribution
    return (
        _propose_amendment(user, contribution.consultation)
        and contribution.author_id != user.id
        and amendment.state == AmendmentState.OPEN
        and contribution.moderation_state == ModerationState.VISIBLE
    )


def _withdraw_amendment(user: User | None, amendment: Amendment) -> bool:
    """Its author withdraws an amendment until it is answered, and never after the outcome is
    published (the record is fixed then); it stays on record as withdrawn."""
    return (
        _own(user, amendment.contribution)
        and amendment.state == AmendmentState.OPEN
        and amendment.contribution.consultation.state != ConsultationState.CONCLUDED
    )


def _answer_amendment(user: User | None, amendment: Amendment) -> bool:
    """Only authors (and admins) of the consultation's organisation answer, from the moment the
    amendment is made until the outcome is published; never citizens, moderators or other
    organisations' staff (Decidim's CVE-2026-40869 let anyone accept or reject)."""
    c = amendment.contribution.consultation
    return (
        bool(_roles(user, c.organisation_id) & EDITOR_ROLES)
        and c.state in (ConsultationState.OPEN, ConsultationState.CLOSED)
        and amendment.state in (AmendmentState.OPEN, AmendmentState.ANSWERED)
        and amendment.contribution.moderation_state == ModerationState.VISIBLE
    )


def _leave_support(user: User | None, amendment: Amendment) -> bool:
    """A co-supporter takes their name off an amendment while the consultation is open (even
    when blocked: leaving adds nothing)."""
    return (
        _signed_in(user)
        and amendment.contribution.consultation.accepts_contributions(utcnow())
        and any(s.user_id == user.id for s in amendment.supporters)
    )


def _view_version(user: User | None, version: Version) -> bool:
    """Those who see the consultation read its published versions; a draft version is read
    only by those who write the organisation's consultations."""
    c = version.consultation
    return _view_consultation(user, c) and (version.published_at is not None or _edits_for(user, c.organisation_id))


def _view_outcome(user: User | None, c: Consultation) -> bool:
    """The outcome ("you said, we did") is public once the consultation is concluded; before
    that its editors and moderators see it, to prepare it."""
    return _view_consultation(user, c) and (
        c.state == ConsultationState.CONCLUDED or _edits_for(user, c.organisation_id) or _moderate(user, c)
    )


def _view_themes(user: User | None, c: Consultation) -> bool:
    """Themes and summaries are the moderators' working notes until the consultation is
    concluded; then they are published with the outcome (on the site, in search and in the
    open record). The same rule as the outcome, and ``visible_themes`` in SQL."""
    return _view_outcome(user, c)


def _manage_organisation(user: User | None, org: Organisation) -> bool:
    """The organisation's admins (and site admins) manage its members and roles."""
    return _is_site_admin(user) or Role.ADMIN in _roles(user, org.id)


def _view_audit_log(user: User | None, org: Organisation) -> bool:
    """The organisation's admins (and site admins) read its staff audit log, with the names of
    moderators that the public record leaves out; authors and moderators do not."""
    return _manage_organisation(user, org)


def _create_organisation(user: User | None, _obj: None) -> bool:
    """Only site admins create organisations."""
    return _is_site_admin(user)


def _manage_site(user: User | None, _obj: None) -> bool:
    """Only site admins change the site's name, look, registration and report threshold."""
    return _is_site_admin(user)


def _manage_mail(user: User | None, _obj: None) -> bool:
    """Only site admins see the mail that could not be sent (to whom, and why) and send it again."""
    return _is_site_admin(user)


def _manage_policies(user: User | None, _obj: None) -> bool:
    """Only site admins write the site's terms, privacy notice, accessibility and cookie notices."""
    return _is_site_admin(user)


def _follow(user: User | None, c: Consultation) -> bool:
    """Anyone signed in may follow what they may read, also once it has closed (to hear the outcome)."""
    return _signed_in(user) and c.state in PUBLIC_STATES


def _send_update(user: User | None, c: Consultation) -> bool:
    """The organisation's authors and admins write to the followers of a public consultation."""
    return c.state in PUBLIC_STATES and _edits_for(user, c.organisation_id)


def _export_data(user: User | None, person: User | None) -> bool:
    """A person downloads their own data, and nobody else's (not even a site admin)."""
    return _signed_in(user) and person is not None and user.id == person.id


def _erase_account(user: User | None, person: User | None) -> bool:
    """A person deletes their own account; a site admin erases someone else's on their request."""
    return _signed_in(user) and person is not None and (user.id == person.id or _is_site_admin(user))


def _view_erasures(user: User | None, _obj: None) -> bool:
    """Site admins read the log of erased accounts (who erased which on request, and why)."""
    return _is_site_admin(user)


def _view_questionnaire_results(user: User | None, c: Consultation) -> bool:
    """A questionnaire's results are public with the consultation, at any time: they are
    counts without names, and the open record (downloadable at any time) carries them anyway,
    so hiding them on the page until someone answers would only pretend."""
    return _view_consultation(user, c)


def _manage_api_tokens(user: User | None, target: User | Organisation | None) -> bool:
    """A person makes and revokes their own API tokens, and nobody else's; an organisation's
    admins (and site admins) make and revoke the organisation's tokens."""
    if isinstance(target, Organisation):
        return _manage_organisation(user, target)
    return _signed_in(user) and target is not None and user.id == target.id


# --- groups and calls to action ---------------------------------------------------------------


def group_role(user: User | None, group: Group) -> GroupRole | None:
    """``user``'s role in ``group`` (None: not a member); asked often on a page, once per request."""
    if not _signed_in(user) or group.id is None:
        return None
    memo = g.setdefault("_group_roles", {}) if has_request_context() else {}
    key = (user.id, group.id)
    if key not in memo:
        role = db.session.scalar(
            select(GroupMembership.role).where(GroupMembership.group_id == group.id, GroupMembership.user_id == user.id)
        )
        memo[key] = GroupRole(role) if role else None
    return memo[key]


def forget_group_roles() -> None:
    """A service that changed memberships in this request calls this, so later checks see it."""
    if has_request_context():
        g.pop("_group_roles", None)


def _coordinates(user: User | None, group: Group) -> bool:
    return group_role(user, group) == GroupRole.COORDINATOR


def _create_group(user: User | None, _obj: None) -> bool:
    """Anyone signed in with a confirmed address starts a group."""
    return _signed_in(user) and user.confirmed_at is not None


def _view_group(user: User | None, group: Group) -> bool:
    """Everyone sees a group's page (an invite-only group's name and description too, so people
    know it exists and whom to ask); a hidden group's only its tombstone (the view's part)."""
    return group is not None


def _view_group_members(user: User | None, group: Group) -> bool:
    """A public group's members and drafts are open to all; an invite-only group's to its
    members (and the site's admins). A hidden group's to nobody but the site's admins."""
    if _is_site_admin(user):
        return True
    if group.is_hidden:
        return False
    return group.is_public or group_role(user, group) is not None


def _group_blocked(user: User | None, group: Group) -> bool:
    return db.session.scalar(select(GroupBlock.id).where(GroupBlock.group_id == group.id, GroupBlock.user_id == user.id)) is not None


def _join_group(user: User | None, group: Group) -> bool:
    """Signed-in, confirmed people join a visible public group they are not in and were not
    barred from (an invite-only group: by its invitation link, which the service checks)."""
    return (
        _signed_in(user)
        and user.confirmed_at is not None
        and not group.is_hidden
        and group_role(user, group) is None
        and not _group_blocked(user, group)
    )


def _leave_group(user: User | None, group: Group) -> bool:
    return group_role(user, group) is not None


def _manage_group(user: User | None, group: Group) -> bool:
    """Its coordinators (and the site's admins) run a group; nobody runs a hidden one but the admins."""
    return _is_site_admin(user) or (not group.is_hidden and _coordinates(user, group))


def _report_group(user: User | None, group: Group) -> bool:
    return _signed_in(user) and not group.is_hidden and not _coordinates(user, group)


def _moderate_groups(user: User | None, _obj: None) -> bool:
    """Groups belong to no organisation: the site's admins moderate them."""
    return _is_site_admin(user)


def _edit_group_draft(user: User | None, target: GroupDraft | Group) -> bool:
    """Members write their group's drafts until one is submitted, in a consultation they can read."""
    if isinstance(target, Group):
        return not target.is_hidden and group_role(user, target) is not None
    return (
        not target.is_submitted
        and not target.group.is_hidden
        and group_role(user, target.group) is not None
        and _view_consultation(user, target.consultation)
    )


def _submit_group_draft(user: User | None, draft: GroupDraft) -> bool:
    """A coordinator submits the group's draft while the group may take part: the consultation
    accepts amendments or comments from them (the services ask the same as for their own)."""
    if draft.is_submitted or draft.group.is_hidden or not _coordinates(user, draft.group):
        return False
    c = draft.consultation
    return _propose_amendment(user, c) if draft.kind == "amendment" else _post_comment(user, c)


def submission_group_ids(contribution_id: int) -> list[int]:
    """The groups a contribution speaks for: the one that submitted it and those that adopted it."""
    submitted = select(GroupSubmission.group_id).where(GroupSubmission.contribution_id == contribution_id)
    adopted = select(GroupAdoption.group_id).where(GroupAdoption.contribution_id == contribution_id)
    return list(db.session.scalars(submitted.union(adopted)))


def _sign(user: User | None, contribution: Contribution) -> bool:
    """Members of the group that submitted it (or of a group that adopted it) co-sign a group's
    visible submission while they may take part in its consultation. A signer withdraws their
    own signature until the consultation closes, in the group or not any more (leaving a group
    keeps a signature; only its signer takes it back)."""
    if not _signed_in(user):
        return False
    # issue 20 (drafts): one's own signature stays withdrawable after leaving the group
    signed = select(Signature.id).where(Signature.contribution_id == contribution.id, Signature.user_id == user.id)
    if db.session.scalar(signed) is not None:
        return contribution.consultation.accepts_contributions(utcnow())
    if not _take_part(user, contribution.consultation) or contribution.moderation_state != ModerationState.VISIBLE:
        return False
    if contribution.deleted_at is not None:
        return False
    groups = submission_group_ids(contribution.id)
    if not groups:
        return False
    return (
        db.session.scalar(
            select(GroupMembership.id).where(GroupMembership.group_id.in_(groups), GroupMembership.user_id == user.id).limit(1)
        )
        is not None
    )


def _adopt_submission(user: User | None, group: Group) -> bool:
    """A parent group's coordinators adopt its chapters' submissions (the service checks the chapter)."""
    return not group.is_hidden and _coordinates(user, group)


def _publish_call(user: User | None, publisher: Organisation | Group) -> bool:
    """An organisation's authors and admins, or a group's coordinators, publish calls to action."""
    if isinstance(publisher, Organisation):
        return _edits_for(user, publisher.id)
    return not publisher.is_hidden and _coordinates(user, publisher)


def _manage_call(user: User | None, call: CallToAction) -> bool:
    if call.organisation is not None:
        return _edits_for(user, call.organisation_id)
    return call.group is not None and _manage_group(user, call.group)


def _pledge(user: User | None, call: CallToAction) -> bool:
    """Anyone signed in with a confirmed address says they will come to an open call's event
    (an event may follow the consultation's close: a hearing), on a consultation they can see."""
    return (
        _signed_in(user)
        and user.confirmed_at is not None
        and call.is_open
        and call.kind == "attend"
        and _view_consultation(user, call.consultation)
    )


PREDICATES: dict[Action, Callable[[User | None, Any], bool]] = {
    Action.VIEW_CONSULTATION: _view_consultation,
    Action.CREATE_CONSULTATION: _create_consultation,
    Action.EDIT_CONSULTATION: _edit_consultation,
    Action.EDIT_TEXT: _edit_text,
    Action.PUBLISH_VERSION: _edit_text,
    Action.MANAGE_ORGANISATION: _manage_organisation,
    Action.CREATE_ORGANISATION: _create_organisation,
    Action.POST_COMMENT: _post_comment,
    Action.EDIT_COMMENT: _edit_comment,
    Action.DELETE_COMMENT: _delete_comment,
    Action.VOTE: _take_part,
    Action.PROPOSE_AMENDMENT: _propose_amendment,
    Action.ANNOTATE: _annotate,
    Action.POST_STATEMENT: _statements,
    Action.VOTE_ON_STATEMENT: _statements,
    Action.EDIT_SETTINGS: _edit_settings,
    Action.MANAGE_SITE: _manage_site,
    Action.CO_SUPPORT_AMENDMENT: _co_support,
    Action.WITHDRAW_AMENDMENT: _withdraw_amendment,
    Action.ANSWER_AMENDMENT: _answer_amendment,
    Action.START_NEXT_VERSION: _edit_text,
    Action.REPORT: _report,
    Action.MODERATE: _moderate,
    Action.SUMMARISE: _summarise,
    Action.VIEW_VERSION: _view_version,
    Action.VIEW_OUTCOME: _view_outcome,
    Action.VIEW_THEMES: _view_themes,
    Action.LEAVE_SUPPORT: _leave_support,
    Action.VIEW_AUDIT_LOG: _view_audit_log,
    Action.MANAGE_MAIL: _manage_mail,
    Action.MANAGE_POLICIES: _manage_policies,
    Action.FOLLOW: _follow,
    Action.SEND_UPDATE: _send_update,
    Action.EXPORT_DATA: _export_data,
    Action.ERASE_ACCOUNT: _erase_account,
    Action.VIEW_ERASURES: _view_erasures,
    # questionnaires: written by those who write the consultation, answered by those who may comment
    Action.EDIT_QUESTIONNAIRE: _edit_consultation,
    Action.ANSWER_QUESTIONNAIRE: _answer_questionnaire,
    Action.VIEW_QUESTIONNAIRE_RESULTS: _view_questionnaire_results,
    Action.MANAGE_API_TOKENS: _manage_api_tokens,
    Action.CREATE_GROUP: _create_group,
    Action.VIEW_GROUP: _view_group,
    Action.VIEW_GROUP_MEMBERS: _view_group_members,
    Action.JOIN_GROUP: _join_group,
    Action.LEAVE_GROUP: _leave_group,
    Action.MANAGE_GROUP: _manage_group,
    Action.REPORT_GROUP: _report_group,
    Action.MODERATE_GROUPS: _moderate_groups,
    Action.EDIT_GROUP_DRAFT: _edit_group_draft,
    Action.SUBMIT_GROUP_DRAFT: _submit_group_draft,
    Action.SIGN: _sign,
    Action.ADOPT_SUBMISSION: _adopt_submission,
    Action.PUBLISH_CALL: _publish_call,
    Action.MANAGE_CALL: _manage_call,
    Action.PLEDGE: _pledge,
    **{action: _transition(t) for t, action in TRANSITION_ACTIONS.items()},
}


def can(user: User | None, action: Action, obj: Any = None) -> bool:
    predicate = PREDICATES.get(action)
    return predicate is not None and bool(predicate(user, obj))


def _summarise_refused(user: User | None, c: Consultation) -> str | None:
    if _moderate(user, c) and c.state == ConsultationState.CONCLUDED:
        return _("The consultation is concluded: its themes and summaries are part of the published outcome and no longer change.")
    return None


# Why an action is refused to someone whose role allows it, but not now: said to them (409)
# rather than a bare 403. Those without the role learn nothing more.
REFUSALS: dict[Action, Callable[[User | None, Any], str | None]] = {
    Action.SUMMARISE: _summarise_refused,
    Action.POST_COMMENT: _mode_refused(ParticipationMode.COMMENTS, _l("Comments are turned off for this consultation.")),
    Action.ANNOTATE: _mode_refused(ParticipationMode.ANNOTATIONS, _l("Comments on selected words are turned off for this consultation.")),
    Action.PROPOSE_AMENDMENT: _mode_refused(ParticipationMode.AMENDMENTS, _l("Amendments are turned off for this consultation.")),
    Action.POST_STATEMENT: _mode_refused(ParticipationMode.STATEMENTS, _l("Statements are turned off for this consultation.")),
    Action.VOTE_ON_STATEMENT: _mode_refused(ParticipationMode.STATEMENTS, _l("Statements are turned off for this consultation.")),
    Action.ANSWER_QUESTIONNAIRE: _mode_refused(
        ParticipationMode.QUESTIONNAIRE, _l("Answers to the questionnaire are turned off for this consultation.")
    ),
}


def authorize(user: User | None, action: Action, obj: Any = None) -> None:
    if not can(user, action, obj):
        why = REFUSALS.get(action)
        raise PermissionDenied(action, obj, reason=why(user, obj) if why else None)


def visible_consultations(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause for consultations ``user`` may see: the same rule as VIEW_CONSULTATION."""
    public = Consultation.state.in_([s.value for s in PUBLIC_STATES])
    if _is_site_admin(user):
        return true()
    if not _signed_in(user):
        return public
    editable = Consultation.organisation_id.in_(
        select(Membership.organisation_id).where(
            Membership.user_id == user.id,
            Membership.role.in_([r.value for r in EDITOR_ROLES]),
        )
    )
    return or_(public, editable) if editable is not None else public


def editable_organisations(user: User | None) -> ColumnElement[bool]:
    """Organisations in which ``user`` may create consultations."""
    return _staff_of(user, EDITOR_ROLES, Organisation.id)


def _staff_of(user: User | None, roles: frozenset[Role], organisation_id) -> ColumnElement[bool]:
    """``organisation_id`` (a column) is an organisation in which ``user`` has one of ``roles``
    (site admins: every organisation)."""
    if _is_site_admin(user):
        return true()
    if not _signed_in(user):
        return false()
    return organisation_id.in_(
        select(Membership.organisation_id).where(Membership.user_id == user.id, Membership.role.in_([r.value for r in roles]))
    )


def visible_versions(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause for versions ``user`` may read: the same rule as VIEW_VERSION (published
    versions of a consultation they see; drafts for the organisation's editors)."""
    consultations = select(Consultation.id).where(visible_consultations(user))
    drafts = select(Consultation.id).where(_staff_of(user, EDITOR_ROLES, Consultation.organisation_id))
    return Version.consultation_id.in_(consultations) & or_(Version.published_at.is_not(None), Version.consultation_id.in_(drafts))


def consultations_with_visible_summaries(user: User | None) -> Select:
    """The ids of the consultations whose themes, theme summaries and section summaries ``user``
    may read: the same rule as VIEW_THEMES (everyone once the consultation is concluded; its
    editors and moderators before)."""
    staff = _staff_of(user, EDITOR_ROLES | MODERATOR_ROLES, Consultation.organisation_id)
    return select(Consultation.id).where(visible_consultations(user), or_(Consultation.state == ConsultationState.CONCLUDED.value, staff))


def visible_themes(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause for themes (with their summaries) ``user`` may read (VIEW_THEMES)."""
    return Theme.consultation_id.in_(consultations_with_visible_summaries(user))


def visible_supporters(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause for co-supporters (``AmendmentSupporter``) shown to ``user`` in names,
    counts, the API and exports: those not blocked by the amendment's organisation. A block
    hides everything a person did in its consultations, their co-support included (for
    everyone, as with what they wrote)."""
    blocked = (
        select(Block.id)
        .join(Consultation, Consultation.organisation_id == Block.organisation_id)
        .join(Contribution, Contribution.consultation_id == Consultation.id)
        .where(Block.user_id == AmendmentSupporter.user_id, Contribution.id == AmendmentSupporter.amendment_id)
        .exists()
    )
    return ~blocked


def _blocked_author():
    """The contribution's author is blocked by its consultation's organisation."""
    return (
        select(Block.id)
        .join(Consultation, Consultation.organisation_id == Block.organisation_id)
        .where(Block.user_id == Contribution.author_id, Consultation.id == Contribution.consultation_id)
        .exists()
    )


def visible_contributions(user: User | None, *, tombstones: bool = False) -> ColumnElement[bool]:
    """A WHERE clause for contributions ``user`` may see in lists, counts, tallies, highlights,
    search and exports: visible ones whose author is not blocked, plus their own that wait for
    a moderator. Inside a thread (``tombstones=True``) deleted and hidden ones stay as
    tombstones, so replies keep their place; never in counts."""
    visible = (Contribution.moderation_state == ModerationState.VISIBLE.value) & ~_blocked_author()
    if _signed_in(user):
        visible = or_(visible, (Contribution.author_id == user.id) & (Contribution.moderation_state == ModerationState.PENDING.value))
    if not tombstones:
        return visible & Contribution.deleted_at.is_(None)
    return or_(
        visible,
        Contribution.moderation_state == ModerationState.HIDDEN.value,
        _blocked_author() & (Contribution.moderation_state != ModerationState.PENDING.value),
    )


# --- attachments (issue 21): seen as what they belong to ------------------------------------


def can_view_attachment(user: User | None, attachment: Attachment) -> bool:
    """An attachment of a version is seen by those who may read that version (a draft's only by
    the organisation's editors); one of the consultation by those who see the consultation (a
    draft consultation's only by its editors). Uploading and deleting need EDIT_CONSULTATION."""
    if attachment.version is not None:
        return can(user, Action.VIEW_VERSION, attachment.version)
    return can(user, Action.VIEW_CONSULTATION, attachment.consultation)


def visible_attachments(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause for the attachments ``user`` may see (``can_view_attachment`` in SQL)."""
    consultations = select(Consultation.id).where(visible_consultations(user))
    versions = select(Version.id).where(visible_versions(user))
    return Attachment.consultation_id.in_(consultations) & or_(Attachment.version_id.is_(None), Attachment.version_id.in_(versions))


# --- groups: seen in lists ----------------------------------------------------------------------


def visible_groups(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause for the groups listed to ``user``: all but the hidden ones (the site's
    admins: all). Invite-only groups are listed by name, as their page shows them."""
    if _is_site_admin(user):
        return true()
    return Group.state == "visible"


def visible_group_drafts(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause for ``GroupDraft`` rows ``user`` may read (VIEW_GROUP_MEMBERS in SQL):
    a visible public group's, and their own groups' (invite-only included)."""
    if _is_site_admin(user):
        return true()
    public = select(Group.id).where(Group.state == "visible", Group.visibility == "public")
    if not _signed_in(user):
        return GroupDraft.group_id.in_(public)
    mine = (
        select(GroupMembership.group_id)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(GroupMembership.user_id == user.id, Group.state == "visible")
    )
    return or_(GroupDraft.group_id.in_(public), GroupDraft.group_id.in_(mine))


# --- calls to action (issue 20, calls helper) ---------------------------------------------------


def visible_calls(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause for the calls to action ``user`` may see: those on a consultation they may
    see, published by an organisation or by a group that is not hidden (the site's admins: all)."""
    consultations = select(Consultation.id).where(visible_consultations(user))
    groups = select(Group.id).where(visible_groups(user))
    return CallToAction.consultation_id.in_(consultations) & or_(CallToAction.group_id.is_(None), CallToAction.group_id.in_(groups))
