"""Every column that points at a person, and what the download and the erasure do with it.

``tests/privacy/test_inventory.py`` walks the models' metadata for every foreign key to
``users.id`` and fails when one is missing here, so a new table about people cannot be added
without deciding what a person's download shows of it and what erasing the account does to it.
The erasure applies ``DELETE`` and ``UNLINK`` to the listed columns itself (one statement each);
contributions, and what ``PSEUDONYMOUS`` keeps, are its own rules (``erasure.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Erase(enum.StrEnum):
    DELETE = "deleted"  # the rows go
    UNLINK = "unlinked"  # the rows stay (they are someone else's, or the organisation's), the column is set to null
    PSEUDONYMOUS = "kept under the pseudonym"  # the rows stay, attributed to "Former participant N"
    WITHDRAWN = "withdrawn"  # contributions: removed, tombstones where others replied, answers kept


@dataclass(frozen=True)
class Handling:
    #: the key of the download's JSON that holds these rows, or None (``why_not`` says why)
    exported_as: str | None
    keep: Erase  # when the person keeps their contributions under the pseudonym
    withdraw: Erase  # when they withdraw them
    why_not: str = ""


#: (table, column) -> its handling, for every foreign key to ``users.id``.
BY_FOREIGN_KEY: dict[tuple[str, str], Handling] = {
    ("memberships", "user_id"): Handling("memberships", Erase.DELETE, Erase.DELETE),
    ("login_sessions", "user_id"): Handling("sessions", Erase.DELETE, Erase.DELETE),
    ("contributions", "author_id"): Handling("contributions", Erase.PSEUDONYMOUS, Erase.WITHDRAWN),
    ("votes", "user_id"): Handling("votes", Erase.PSEUDONYMOUS, Erase.DELETE),
    ("amendment_supporters", "user_id"): Handling("co_supports", Erase.PSEUDONYMOUS, Erase.DELETE),
    ("reports", "reporter_id"): Handling("reports", Erase.PSEUDONYMOUS, Erase.DELETE),
    # A block stays with the pseudonym: erasing an account must not bring back what it hid.
    ("blocks", "user_id"): Handling("blocks", Erase.PSEUDONYMOUS, Erase.DELETE),
    ("moderation_log", "subject_id"): Handling("moderation_log", Erase.PSEUDONYMOUS, Erase.UNLINK),
    ("moderation_log", "moderator_id"): Handling("moderation_log", Erase.UNLINK, Erase.UNLINK),
    ("staff_actions", "actor_id"): Handling("staff_actions", Erase.UNLINK, Erase.UNLINK),
    ("amendments", "answered_by_id"): Handling("answers_given", Erase.UNLINK, Erase.UNLINK),
    ("consultations", "created_by_id"): Handling("consultations_created", Erase.UNLINK, Erase.UNLINK),
    ("versions", "published_by_id"): Handling("versions_published", Erase.UNLINK, Erase.UNLINK),
    ("follows", "user_id"): Handling("follows", Erase.DELETE, Erase.DELETE),
    ("notifications", "user_id"): Handling("notifications", Erase.DELETE, Erase.DELETE),
    ("notification_settings", "user_id"): Handling("notification_settings", Erase.DELETE, Erase.DELETE),
    ("notification_preferences", "user_id"): Handling("notification_preferences", Erase.DELETE, Erase.DELETE),
    # Events are other people's notifications: they stay, without naming the person.
    ("events", "actor_id"): Handling(None, Erase.UNLINK, Erase.UNLINK, why_not="what they did is in their contributions"),
    ("events", "recipient_id"): Handling("notifications", Erase.UNLINK, Erase.UNLINK),
    ("data_exports", "user_id"): Handling(None, Erase.DELETE, Erase.DELETE, why_not="the download itself"),
    ("erasures", "user_id"): Handling(None, Erase.PSEUDONYMOUS, Erase.UNLINK, why_not="only exists once the account is erased"),
    ("erasures", "erased_by_id"): Handling("erasures_done", Erase.UNLINK, Erase.UNLINK),
    # Sign-in with an identity provider: a kept pseudonymous account must not be reachable by it.
    ("identity_links", "user_id"): Handling("identity_links", Erase.DELETE, Erase.DELETE),
    # Two-factor sign-in: when it was set up and last used (never the secret).
    ("two_factor", "user_id"): Handling("two_factor", Erase.DELETE, Erase.DELETE),
    ("recovery_codes", "user_id"): Handling(None, Erase.DELETE, Erase.DELETE, why_not="hashes of codes only the person holds"),
    # Agreement to the terms and privacy notice; the versions a site admin saved stay, unsigned.
    ("policy_agreements", "user_id"): Handling("policy_agreements", Erase.DELETE, Erase.DELETE),
    ("policy_versions", "saved_by_id"): Handling("policy_versions_saved", Erase.UNLINK, Erase.UNLINK),
    # Invitations to sign up a site admin made; they stay, unsigned.
    ("invitations", "created_by_id"): Handling("invitations_made", Erase.UNLINK, Erase.UNLINK),
    # Questionnaire responses: counted under a random pseudonym; kept with the account's pseudonym, or withdrawn.
    ("questionnaire_responses", "user_id"): Handling("questionnaire_responses", Erase.PSEUDONYMOUS, Erase.DELETE),
    ("two_factor_failures", "user_id"): Handling(
        None, Erase.DELETE, Erase.DELETE, why_not="wrong codes, counted for the sign-in window only"
    ),
    # Files an author attached: the organisation's, they stay (issue 21).
    ("attachments", "uploaded_by_id"): Handling("attachments_uploaded", Erase.UNLINK, Erase.UNLINK),
    # API tokens the person made (their own, and organisations' as an admin): they stop working with the account.
    ("api_tokens", "user_id"): Handling("api_tokens", Erase.DELETE, Erase.DELETE),
    # groups (issue 20, groups-core): a group stays with its other members, no longer naming who started it;
    # memberships go; a bar on joining a group stays with the pseudonym (erasing must not lift it).
    ("groups", "created_by_id"): Handling("groups_started", Erase.UNLINK, Erase.UNLINK),
    ("group_memberships", "user_id"): Handling("group_memberships", Erase.DELETE, Erase.DELETE),
    ("group_blocks", "user_id"): Handling("group_bars", Erase.PSEUDONYMOUS, Erase.DELETE),
    ("group_blocks", "blocked_by_id"): Handling("group_bars_made", Erase.UNLINK, Erase.UNLINK),
    # end of groups-core
    # --- groups (issue 20, the activity helper): reports on groups, as reports on contributions ---
    ("group_reports", "reporter_id"): Handling("group_reports", Erase.PSEUDONYMOUS, Erase.DELETE),
    # --- end of the activity helper's block ---
    # --- calls to action (issue 20, calls helper) ---
    # Calls a person published for an organisation or a group: theirs to publish, they stay, unsigned.
    ("calls", "created_by_id"): Handling("calls_published", Erase.UNLINK, Erase.UNLINK),
    # "I'll come" to a call's event: the person's word, it goes with the account.
    ("call_pledges", "user_id"): Handling("call_pledges", Erase.DELETE, Erase.DELETE),
    # --- end of calls to action ---
    # issue 20 (drafts): a group's shared drafts and their saves are the group's (they stay,
    # unsigned: "a former member"); submitting and adopting on a group's behalf stay unsigned;
    # a signature is counted like a co-support (kept under the pseudonym, or withdrawn).
    ("group_drafts", "created_by_id"): Handling("group_drafts", Erase.UNLINK, Erase.UNLINK),
    ("group_drafts", "submitted_by_id"): Handling("group_drafts", Erase.UNLINK, Erase.UNLINK),
    ("group_draft_revisions", "user_id"): Handling("group_draft_revisions", Erase.UNLINK, Erase.UNLINK),
    ("group_submissions", "submitted_by_id"): Handling("group_submissions", Erase.UNLINK, Erase.UNLINK),
    ("group_adoptions", "adopted_by_id"): Handling("group_adoptions", Erase.UNLINK, Erase.UNLINK),
    ("signatures", "user_id"): Handling("signatures", Erase.PSEUDONYMOUS, Erase.DELETE),
}

#: Rows about a person found by their email address rather than a foreign key (all deleted).
BY_EMAIL: dict[tuple[str, str], str] = {
    ("signin_attempts", "email"): "failed_sign_ins",
    ("outgoing_mail", "recipient"): "mail",
}
