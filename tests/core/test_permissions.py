"""The permission matrix: every action × role × consultation state (× the object's variant) →
allowed?, written out below, checked on ``can()``; and the transitions over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from consult.amendments.models import Amendment, AmendmentState, AmendmentSupporter
from consult.contributions.models import Contribution, ModerationState
from consult.core.models import db, utcnow
from consult.groups.models import Group, GroupBlock, GroupDraft, GroupMembership, GroupRole, GroupSubmission, Signature
from consult.moderation.models import Block
from consult.permissions import PREDICATES, Action, can
from consult.proposals.models import ConsultationState, Transition, Version
from tests.conftest import login
from tests.factories import make_consultation, make_organisation, make_user
from tests.groups.call_helpers import call_group, make_call
from tests.groups.helpers import make_group

ROLES = ["anonymous", "unconfirmed", "citizen", "blocked", "author", "moderator", "org_admin", "other_admin", "other_author", "site_admin"]
STATES = ["draft", "open", "closed", "concluded"]

# Y: allowed, .: refused. Roles, in the order of the columns: anonymous; signed in but the
# address not confirmed; citizen; citizen blocked by the organisation; the organisation's
# author, moderator, admin; another organisation's admin and author; site admin.
# "own"/"others'" are from the point of view of the role (anonymous people own nothing);
# "any": the action is on the organisation (or on nothing), whatever state its consultations are in.
MATRIX = """
# action                | on what                       | state     | anon unconf citiz block autho moder admin oadm oaut site
view_consultation       | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
view_consultation       | consultation                  | open      | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_consultation       | consultation                  | closed    | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_consultation       | consultation                  | concluded | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
edit_consultation       | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
edit_consultation       | consultation                  | open      | .    .      .     .     Y     .     Y     .    .    Y
edit_consultation       | consultation                  | closed    | .    .      .     .     Y     .     Y     .    .    Y
edit_consultation       | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
edit_text               | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
edit_text               | consultation                  | open      | .    .      .     .     Y     .     Y     .    .    Y
edit_text               | consultation                  | closed    | .    .      .     .     Y     .     Y     .    .    Y
edit_text               | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
publish_version         | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
publish_version         | consultation                  | open      | .    .      .     .     Y     .     Y     .    .    Y
publish_version         | consultation                  | closed    | .    .      .     .     Y     .     Y     .    .    Y
publish_version         | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
start_next_version      | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
start_next_version      | consultation                  | open      | .    .      .     .     Y     .     Y     .    .    Y
start_next_version      | consultation                  | closed    | .    .      .     .     Y     .     Y     .    .    Y
start_next_version      | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
open_consultation       | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
open_consultation       | consultation                  | open      | .    .      .     .     .     .     .     .    .    .
open_consultation       | consultation                  | closed    | .    .      .     .     .     .     .     .    .    .
open_consultation       | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
close_consultation      | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
close_consultation      | consultation                  | open      | .    .      .     .     Y     .     Y     .    .    Y
close_consultation      | consultation                  | closed    | .    .      .     .     .     .     .     .    .    .
close_consultation      | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
reopen_consultation     | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
reopen_consultation     | consultation                  | open      | .    .      .     .     .     .     .     .    .    .
reopen_consultation     | consultation                  | closed    | .    .      .     .     Y     .     Y     .    .    Y
reopen_consultation     | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
conclude_consultation   | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
conclude_consultation   | consultation                  | open      | .    .      .     .     .     .     .     .    .    .
conclude_consultation   | consultation                  | closed    | .    .      .     .     Y     .     Y     .    .    Y
conclude_consultation   | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
post_comment            | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
post_comment            | consultation                  | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
post_comment            | consultation                  | closed    | .    .      .     .     .     .     .     .    .    .
post_comment            | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
vote                    | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
vote                    | consultation                  | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
vote                    | consultation                  | closed    | .    .      .     .     .     .     .     .    .    .
vote                    | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
propose_amendment       | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
propose_amendment       | consultation                  | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
propose_amendment       | consultation                  | closed    | .    .      .     .     .     .     .     .    .    .
propose_amendment       | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
moderate                | consultation                  | draft     | .    .      .     .     .     Y     Y     .    .    Y
moderate                | consultation                  | open      | .    .      .     .     .     Y     Y     .    .    Y
moderate                | consultation                  | closed    | .    .      .     .     .     Y     Y     .    .    Y
moderate                | consultation                  | concluded | .    .      .     .     .     Y     Y     .    .    Y
moderate                | organisation                  | any       | .    .      .     .     .     Y     Y     .    .    Y
summarise               | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
summarise               | consultation                  | open      | .    .      .     .     .     Y     Y     .    .    Y
summarise               | consultation                  | closed    | .    .      .     .     .     Y     Y     .    .    Y
summarise               | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
view_outcome            | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
view_outcome            | consultation                  | open      | .    .      .     .     Y     Y     Y     .    .    Y
view_outcome            | consultation                  | closed    | .    .      .     .     Y     Y     Y     .    .    Y
view_outcome            | consultation                  | concluded | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_themes             | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
view_themes             | consultation                  | open      | .    .      .     .     Y     Y     Y     .    .    Y
view_themes             | consultation                  | closed    | .    .      .     .     Y     Y     Y     .    .    Y
view_themes             | consultation                  | concluded | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
follow                  | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
follow                  | consultation                  | open      | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
follow                  | consultation                  | closed    | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
follow                  | consultation                  | concluded | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
send_update             | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
send_update             | consultation                  | open      | .    .      .     .     Y     .     Y     .    .    Y
send_update             | consultation                  | closed    | .    .      .     .     Y     .     Y     .    .    Y
send_update             | consultation                  | concluded | .    .      .     .     Y     .     Y     .    .    Y
# questionnaires (issue 21): written by the consultation's editors, answered by those who may comment, results public with it
edit_questionnaire      | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
edit_questionnaire      | consultation                  | open      | .    .      .     .     Y     .     Y     .    .    Y
edit_questionnaire      | consultation                  | closed    | .    .      .     .     Y     .     Y     .    .    Y
edit_questionnaire      | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
answer_questionnaire    | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
answer_questionnaire    | consultation                  | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
answer_questionnaire    | consultation                  | closed    | .    .      .     .     .     .     .     .    .    .
answer_questionnaire    | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
view_questionnaire_results | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
view_questionnaire_results | consultation                  | open      | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_questionnaire_results | consultation                  | closed    | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_questionnaire_results | consultation                  | concluded | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
create_consultation     | organisation                  | any       | .    .      .     .     Y     .     Y     .    .    Y
manage_organisation     | organisation                  | any       | .    .      .     .     .     .     Y     .    .    Y
view_audit_log          | organisation                  | any       | .    .      .     .     .     .     Y     .    .    Y
create_organisation     | nothing                       | any       | .    .      .     .     .     .     .     .    .    Y
manage_mail             | nothing                       | any       | .    .      .     .     .     .     .     .    .    Y
view_erasures           | nothing                       | any       | .    .      .     .     .     .     .     .    .    Y
export_data             | own account                   | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
export_data             | others' account               | any       | .    .      .     .     .     .     .     .    .    .
manage_api_tokens       | own account                   | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
manage_api_tokens       | others' account               | any       | .    .      .     .     .     .     .     .    .    .
manage_api_tokens       | organisation                  | any       | .    .      .     .     .     .     Y     .    .    Y
erase_account           | own account                   | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
erase_account           | others' account               | any       | .    .      .     .     .     .     .     .    .    Y
manage_policies         | nothing                       | any       | .    .      .     .     .     .     .     .    .    Y
annotate                | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
annotate                | consultation                  | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
annotate                | consultation                  | closed    | .    .      .     .     .     .     .     .    .    .
annotate                | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
# --- groups: reporting and moderating them (issue 20, the activity helper) ---
report_group            | group to report               | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
report_group            | own group, to report          | any       | .    .      .     .     .     .     .     .    .    .
report_group            | hidden group, to report       | any       | .    .      .     .     .     .     .     .    .    .
moderate_groups         | nothing                       | any       | .    .      .     .     .     .     .     .    .    Y
# --- end of the activity helper's rows ---
post_statement          | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
post_statement          | consultation                  | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
post_statement          | consultation                  | closed    | .    .      .     .     .     .     .     .    .    .
post_statement          | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
vote_on_statement       | consultation                  | draft     | .    .      .     .     .     .     .     .    .    .
vote_on_statement       | consultation                  | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
vote_on_statement       | consultation                  | closed    | .    .      .     .     .     .     .     .    .    .
vote_on_statement       | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
edit_settings           | consultation                  | draft     | .    .      .     .     Y     .     Y     .    .    Y
edit_settings           | consultation                  | open      | .    .      .     .     Y     .     Y     .    .    Y
edit_settings           | consultation                  | closed    | .    .      .     .     Y     .     Y     .    .    Y
edit_settings           | consultation                  | concluded | .    .      .     .     .     .     .     .    .    .
manage_site             | nothing                       | any       | .    .      .     .     .     .     .     .    .    Y
view_version            | published version             | draft     | .    .      .     .     Y     .     Y     .    .    Y
view_version            | published version             | open      | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_version            | published version             | closed    | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_version            | published version             | concluded | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_version            | draft version                 | draft     | .    .      .     .     Y     .     Y     .    .    Y
view_version            | draft version                 | open      | .    .      .     .     Y     .     Y     .    .    Y
view_version            | draft version                 | closed    | .    .      .     .     Y     .     Y     .    .    Y
view_version            | draft version                 | concluded | .    .      .     .     Y     .     Y     .    .    Y
edit_comment            | own comment                   | draft     | .    .      .     .     .     .     .     .    .    .
edit_comment            | own comment                   | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
edit_comment            | own comment                   | closed    | .    .      .     .     .     .     .     .    .    .
edit_comment            | own comment                   | concluded | .    .      .     .     .     .     .     .    .    .
edit_comment            | own comment, 20 minutes old   | draft     | .    .      .     .     .     .     .     .    .    .
edit_comment            | own comment, 20 minutes old   | open      | .    .      .     .     .     .     .     .    .    .
edit_comment            | own comment, 20 minutes old   | closed    | .    .      .     .     .     .     .     .    .    .
edit_comment            | own comment, 20 minutes old   | concluded | .    .      .     .     .     .     .     .    .    .
edit_comment            | own hidden comment            | draft     | .    .      .     .     .     .     .     .    .    .
edit_comment            | own hidden comment            | open      | .    .      .     .     .     .     .     .    .    .
edit_comment            | own hidden comment            | closed    | .    .      .     .     .     .     .     .    .    .
edit_comment            | own hidden comment            | concluded | .    .      .     .     .     .     .     .    .    .
edit_comment            | own statement                 | draft     | .    .      .     .     .     .     .     .    .    .
edit_comment            | own statement                 | open      | .    .      .     .     .     .     .     .    .    .
edit_comment            | own statement                 | closed    | .    .      .     .     .     .     .     .    .    .
edit_comment            | own statement                 | concluded | .    .      .     .     .     .     .     .    .    .
edit_comment            | others' comment               | draft     | .    .      .     .     .     .     .     .    .    .
edit_comment            | others' comment               | open      | .    .      .     .     .     .     .     .    .    .
edit_comment            | others' comment               | closed    | .    .      .     .     .     .     .     .    .    .
edit_comment            | others' comment               | concluded | .    .      .     .     .     .     .     .    .    .
delete_comment          | own comment                   | draft     | .    .      .     .     Y     .     Y     .    .    Y
delete_comment          | own comment                   | open      | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
delete_comment          | own comment                   | closed    | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
delete_comment          | own comment                   | concluded | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
delete_comment          | own hidden comment            | draft     | .    .      .     .     Y     .     Y     .    .    Y
delete_comment          | own hidden comment            | open      | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
delete_comment          | own hidden comment            | closed    | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
delete_comment          | own hidden comment            | concluded | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
delete_comment          | own statement                 | draft     | .    .      .     .     .     .     .     .    .    .
delete_comment          | own statement                 | open      | .    .      .     .     .     .     .     .    .    .
delete_comment          | own statement                 | closed    | .    .      .     .     .     .     .     .    .    .
delete_comment          | own statement                 | concluded | .    .      .     .     .     .     .     .    .    .
delete_comment          | others' comment               | draft     | .    .      .     .     .     .     .     .    .    .
delete_comment          | others' comment               | open      | .    .      .     .     .     .     .     .    .    .
delete_comment          | others' comment               | closed    | .    .      .     .     .     .     .     .    .    .
delete_comment          | others' comment               | concluded | .    .      .     .     .     .     .     .    .    .
report                  | others' comment               | draft     | .    .      .     .     Y     .     Y     .    .    Y
report                  | others' comment               | open      | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
report                  | others' comment               | closed    | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
report                  | others' comment               | concluded | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
report                  | others' deleted comment       | draft     | .    .      .     .     .     .     .     .    .    .
report                  | others' deleted comment       | open      | .    .      .     .     .     .     .     .    .    .
report                  | others' deleted comment       | closed    | .    .      .     .     .     .     .     .    .    .
report                  | others' deleted comment       | concluded | .    .      .     .     .     .     .     .    .    .
report                  | own comment                   | draft     | .    .      .     .     .     .     .     .    .    .
report                  | own comment                   | open      | .    .      .     .     .     .     .     .    .    .
report                  | own comment                   | closed    | .    .      .     .     .     .     .     .    .    .
report                  | own comment                   | concluded | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | others' amendment             | draft     | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | others' amendment             | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
co_support_amendment    | others' amendment             | closed    | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | others' amendment             | concluded | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | others' answered amendment    | open      | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | others' withdrawn amendment   | open      | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | others' hidden amendment      | open      | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | own amendment                 | draft     | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | own amendment                 | open      | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | own amendment                 | closed    | .    .      .     .     .     .     .     .    .    .
co_support_amendment    | own amendment                 | concluded | .    .      .     .     .     .     .     .    .    .
leave_support           | amendment they support        | draft     | .    .      .     .     .     .     .     .    .    .
leave_support           | amendment they support        | open      | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
leave_support           | amendment they support        | closed    | .    .      .     .     .     .     .     .    .    .
leave_support           | amendment they support        | concluded | .    .      .     .     .     .     .     .    .    .
leave_support           | others' amendment             | open      | .    .      .     .     .     .     .     .    .    .
withdraw_amendment      | own amendment                 | draft     | .    .      .     .     Y     .     Y     .    .    Y
withdraw_amendment      | own amendment                 | open      | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
withdraw_amendment      | own amendment                 | closed    | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
withdraw_amendment      | own amendment                 | concluded | .    .      .     .     .     .     .     .    .    .
withdraw_amendment      | own answered amendment        | open      | .    .      .     .     .     .     .     .    .    .
withdraw_amendment      | own answered amendment        | closed    | .    .      .     .     .     .     .     .    .    .
withdraw_amendment      | own withdrawn amendment       | open      | .    .      .     .     .     .     .     .    .    .
withdraw_amendment      | others' amendment             | draft     | .    .      .     .     .     .     .     .    .    .
withdraw_amendment      | others' amendment             | open      | .    .      .     .     .     .     .     .    .    .
withdraw_amendment      | others' amendment             | closed    | .    .      .     .     .     .     .     .    .    .
withdraw_amendment      | others' amendment             | concluded | .    .      .     .     .     .     .     .    .    .
answer_amendment        | others' amendment             | draft     | .    .      .     .     .     .     .     .    .    .
answer_amendment        | others' amendment             | open      | .    .      .     .     Y     .     Y     .    .    .
answer_amendment        | others' amendment             | closed    | .    .      .     .     Y     .     Y     .    .    .
answer_amendment        | others' amendment             | concluded | .    .      .     .     .     .     .     .    .    .
answer_amendment        | others' answered amendment    | open      | .    .      .     .     Y     .     Y     .    .    .
answer_amendment        | others' answered amendment    | closed    | .    .      .     .     Y     .     Y     .    .    .
answer_amendment        | others' answered amendment    | concluded | .    .      .     .     .     .     .     .    .    .
answer_amendment        | others' withdrawn amendment   | open      | .    .      .     .     .     .     .     .    .    .
answer_amendment        | others' withdrawn amendment   | closed    | .    .      .     .     .     .     .     .    .    .
answer_amendment        | others' hidden amendment      | open      | .    .      .     .     .     .     .     .    .    .
answer_amendment        | others' hidden amendment      | closed    | .    .      .     .     .     .     .     .    .    .
# groups (issue 20, groups-core): anyone signed in and confirmed starts one; coordinators run them; an invite-only group's members seen by its members
create_group            | nothing                       | any       | .    .      Y     Y     Y     Y     Y     Y    Y    Y
view_group              | public group                  | any       | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_group              | invite-only group             | any       | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_group              | hidden group                  | any       | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_group_members      | public group                  | any       | Y    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_group_members      | invite-only group             | any       | .    .      .     .     .     .     .     .    .    Y
view_group_members      | invite-only group they are in | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
view_group_members      | hidden group                  | any       | .    .      .     .     .     .     .     .    .    Y
join_group              | public group                  | any       | .    .      Y     Y     Y     Y     Y     Y    Y    Y
join_group              | invite-only group they are in | any       | .    .      .     .     .     .     .     .    .    .
join_group              | group they were barred from   | any       | .    .      .     .     .     .     .     .    .    .
join_group              | hidden group                  | any       | .    .      .     .     .     .     .     .    .    .
leave_group             | public group                  | any       | .    .      .     .     .     .     .     .    .    .
leave_group             | invite-only group they are in | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
leave_group             | group they coordinate         | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
manage_group            | public group                  | any       | .    .      .     .     .     .     .     .    .    Y
manage_group            | invite-only group they are in | any       | .    .      .     .     .     .     .     .    .    Y
manage_group            | group they coordinate         | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
manage_group            | hidden group                  | any       | .    .      .     .     .     .     .     .    .    Y
# end of groups-core
# --- calls to action (issue 20, calls helper) ---
publish_call            | organisation                  | any       | .    .      .     .     Y     .     Y     .    .    Y
publish_call            | group they coordinate         | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
publish_call            | others' group                 | any       | .    .      .     .     .     .     .     .    .    .
manage_call             | organisation's event call     | any       | .    .      .     .     Y     .     Y     .    .    Y
manage_call             | call of a group they coordinate | any     | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
manage_call             | call of others' group         | any       | .    .      .     .     .     .     .     .    .    Y
pledge                  | organisation's event call     | draft     | .    .      .     .     Y     .     Y     .    .    Y
pledge                  | organisation's event call     | open      | .    .      Y     Y     Y     Y     Y     Y    Y    Y
pledge                  | organisation's event call     | closed    | .    .      Y     Y     Y     Y     Y     Y    Y    Y
pledge                  | organisation's event call     | concluded | .    .      Y     Y     Y     Y     Y     Y    Y    Y
pledge                  | closed event call             | open      | .    .      .     .     .     .     .     .    .    .
pledge                  | call to support an amendment  | open      | .    .      .     .     .     .     .     .    .    .
# --- end of calls to action ---
# issue 20 (drafts): shared drafts, submitting on a group's behalf, signatures, adoption
# (own group: the role is a member, or its coordinator; others' group: the role is not in it)
edit_group_draft        | own group's draft             | draft     | .    .      .     .     Y     .     Y     .    .    Y
edit_group_draft        | own group's draft             | open      | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
edit_group_draft        | own group's draft             | closed    | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
edit_group_draft        | own group's draft             | concluded | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
edit_group_draft        | others' group's draft         | draft     | .    .      .     .     .     .     .     .    .    .
edit_group_draft        | others' group's draft         | open      | .    .      .     .     .     .     .     .    .    .
edit_group_draft        | others' group's draft         | closed    | .    .      .     .     .     .     .     .    .    .
edit_group_draft        | others' group's draft         | concluded | .    .      .     .     .     .     .     .    .    .
edit_group_draft        | own submitted group draft     | open      | .    .      .     .     .     .     .     .    .    .
submit_group_draft      | own coordinated group's draft | draft     | .    .      .     .     .     .     .     .    .    .
submit_group_draft      | own coordinated group's draft | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
submit_group_draft      | own coordinated group's draft | closed    | .    .      .     .     .     .     .     .    .    .
submit_group_draft      | own coordinated group's draft | concluded | .    .      .     .     .     .     .     .    .    .
submit_group_draft      | own group's draft             | draft     | .    .      .     .     .     .     .     .    .    .
submit_group_draft      | own group's draft             | open      | .    .      .     .     .     .     .     .    .    .
submit_group_draft      | own group's draft             | closed    | .    .      .     .     .     .     .     .    .    .
submit_group_draft      | own group's draft             | concluded | .    .      .     .     .     .     .     .    .    .
sign                    | own group's submission        | draft     | .    .      .     .     .     .     .     .    .    .
sign                    | own group's submission        | open      | .    .      Y     .     Y     Y     Y     Y    Y    Y
sign                    | own group's submission        | closed    | .    .      .     .     .     .     .     .    .    .
sign                    | own group's submission        | concluded | .    .      .     .     .     .     .     .    .    .
sign                    | others' group's submission    | draft     | .    .      .     .     .     .     .     .    .    .
sign                    | others' group's submission    | open      | .    .      .     .     .     .     .     .    .    .
sign                    | others' group's submission    | closed    | .    .      .     .     .     .     .     .    .    .
sign                    | others' group's submission    | concluded | .    .      .     .     .     .     .     .    .    .
sign                    | own signature, group left     | draft     | .    .      .     .     .     .     .     .    .    .
sign                    | own signature, group left     | open      | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
sign                    | own signature, group left     | closed    | .    .      .     .     .     .     .     .    .    .
sign                    | own signature, group left     | concluded | .    .      .     .     .     .     .     .    .    .
adopt_submission        | own coordinated group         | any       | .    Y      Y     Y     Y     Y     Y     Y    Y    Y
adopt_submission        | own group                     | any       | .    .      .     .     .     .     .     .    .    .
"""


@dataclass(frozen=True)
class Row:
    action: Action
    on: str
    state: str
    allowed: frozenset[str]


def parse(table: str) -> list[Row]:
    rows = []
    for line in table.strip().splitlines():
        if line.startswith("#"):
            continue
        action, on, state, marks = (cell.strip() for cell in line.split("|"))
        marks = marks.split()
        assert len(marks) == len(ROLES) and set(marks) <= {"Y", "."}, line
        assert state in STATES + ["any"], line
        rows.append(Row(Action(action), on, state, frozenset(role for role, mark in zip(ROLES, marks, strict=True) if mark == "Y")))
    return rows


ROWS = parse(MATRIX)


def test_every_action_has_rows_for_every_state():
    """Adding an Action without writing out who may do it, in which state, fails here."""
    missing = []
    for action in Action:
        states = {row.state for row in ROWS if row.action == action}
        if states != {"any"} and not set(STATES) <= states:
            missing.append(f"{action.value}: rows for {sorted(states) or 'no state'}")
    assert missing == []
    assert set(PREDICATES) == set(Action)  # and every action has a predicate (deny by default otherwise)
    assert len({(r.action, r.on, r.state) for r in ROWS}) == len(ROWS)  # no row written twice


class World:
    """One person per role around the organisation's consultation, and the objects an action
    takes, made on first use (``own`` ones for the role asking)."""

    def __init__(self, state: str):
        self.organisation = make_organisation(slug="home-org")
        other = make_organisation(slug="other-org")
        self.users = {
            "anonymous": None,
            "unconfirmed": make_user(confirmed=False),
            "citizen": make_user(),
            "blocked": make_user(),
            "author": make_user(role="author", organisation=self.organisation),
            "moderator": make_user(role="moderator", organisation=self.organisation),
            "org_admin": make_user(role="admin", organisation=self.organisation),
            "other_admin": make_user(role="admin", organisation=other),
            "other_author": make_user(role="author", organisation=other),
            "site_admin": make_user(site_admin=True),
        }
        self.stranger = make_user(name="Someone else")
        db.session.add(Block(organisation_id=self.organisation.id, user_id=self.users["blocked"].id, reason="Spam"))
        self.consultation = make_consultation(self.organisation, author=self.users["author"], state=state)
        self.made: dict[tuple[str, str | None], object] = {}

    def contribution(self, author, kind="comment", **fields) -> Contribution:
        c = self.consultation
        fields.setdefault("section_key", "purpose")
        contribution = Contribution(
            consultation=c,
            kind=kind,
            author=author or self.stranger,
            version=c.current_version,
            body="Words.",
            body_html="<p>Words.</p>",
            **fields,
        )
        db.session.add(contribution)
        db.session.flush()
        return contribution

    def amendment(self, author, state=AmendmentState.OPEN, **fields) -> Amendment:
        contribution = self.contribution(author, kind="amendment", **fields)
        now = utcnow()
        contribution.amendment = Amendment(
            proposed_text="Other words.",
            state=state,
            **({"decision": "accepted", "answer": "Yes.", "answered_at": now} if state == AmendmentState.ANSWERED else {}),
            **({"withdrawn_at": now} if state == AmendmentState.WITHDRAWN else {}),
        )
        db.session.flush()
        return contribution.amendment

    def supported_by(self, user) -> Amendment:
        amendment = self.amendment(self.stranger)
        if user is not None:
            db.session.add(AmendmentSupporter(amendment=amendment, user=user))
            db.session.flush()
        return amendment

    # issue 20 (drafts): groups, their drafts and submissions, with the role in them or not
    def drafting_group(self, user, *, coordinator: bool = False) -> Group:
        group = Group(slug=f"g-{len(self.made)}-{id(user)}", name="A group", invite_code="code")
        db.session.add(group)
        db.session.flush()
        if user is not None:
            role = GroupRole.COORDINATOR if coordinator else GroupRole.MEMBER
            db.session.add(GroupMembership(group_id=group.id, user_id=user.id, role=role))
            db.session.flush()
        return group

    def group_draft(self, user, *, coordinator: bool = False, submitted: bool = False) -> GroupDraft:
        draft = GroupDraft(
            group=self.drafting_group(user, coordinator=coordinator),
            consultation=self.consultation,
            kind="comment",
            title="Our view",
            body="Words.",
            **({"submitted_at": utcnow()} if submitted else {}),
        )
        db.session.add(draft)
        db.session.flush()
        return draft

    def group_submission(self, user, *, signed: bool = False, member: bool = True) -> Contribution:
        contribution = self.contribution(self.stranger)
        group = self.drafting_group(user if member else None)
        db.session.add(GroupSubmission(contribution_id=contribution.id, group_id=group.id))
        if signed and user is not None:
            db.session.add(Signature(contribution_id=contribution.id, user_id=user.id, group_id=group.id))
        db.session.flush()
        return contribution

    def draft_version(self) -> Version:
        version = Version(consultation=self.consultation, number=len(self.consultation.versions) + 1)
        db.session.add(version)
        db.session.flush()
        return version

    def group(self, *, visibility="public", state="visible", member=None, role="member", barred=None) -> Group:
        """A group coordinated by someone else (issue 20, groups-core); ``member`` in it with ``role``."""
        n = len(self.made)
        group = Group(slug=f"matrix-group-{n}-{id(self)}", name=f"Group {n}", visibility=visibility, state=state, invite_code=f"code-{n}")
        db.session.add(group)
        db.session.flush()
        db.session.add(GroupMembership(group_id=group.id, user_id=self.stranger.id, role="coordinator"))
        if member is not None:
            db.session.add(GroupMembership(group_id=group.id, user_id=member.id, role=role))
        if barred is not None:
            db.session.add(GroupBlock(group_id=group.id, user_id=barred.id, blocked_by_id=self.stranger.id))
        db.session.flush()
        return group

    def target(self, on: str, role: str):
        user = self.users[role]
        own = _owns(on)
        key = (on, role if own else None)
        if key not in self.made:
            self.made[key] = BUILDERS[on](self, user)
        return self.made[key]


BUILDERS: dict[str, Callable[[World, object], object]] = {
    "consultation": lambda w, user: w.consultation,
    "organisation": lambda w, user: w.organisation,
    "nothing": lambda w, user: None,
    "published version": lambda w, user: w.consultation.current_version,
    "draft version": lambda w, user: w.draft_version(),
    "own comment": lambda w, user: w.contribution(user),
    "own comment, 20 minutes old": lambda w, user: w.contribution(user, created_at=utcnow() - timedelta(minutes=20)),
    "own hidden comment": lambda w, user: w.contribution(user, moderation_state=ModerationState.HIDDEN, hidden_at=utcnow()),
    "own statement": lambda w, user: w.contribution(user, kind="statement", section_key=None),
    "others' comment": lambda w, user: w.contribution(w.stranger),
    "others' deleted comment": lambda w, user: w.contribution(w.stranger, deleted_at=utcnow()),
    "own amendment": lambda w, user: w.amendment(user),
    "own answered amendment": lambda w, user: w.amendment(user, AmendmentState.ANSWERED),
    "own withdrawn amendment": lambda w, user: w.amendment(user, AmendmentState.WITHDRAWN),
    "others' amendment": lambda w, user: w.amendment(w.stranger),
    "others' answered amendment": lambda w, user: w.amendment(w.stranger, AmendmentState.ANSWERED),
    "others' withdrawn amendment": lambda w, user: w.amendment(w.stranger, AmendmentState.WITHDRAWN),
    "others' hidden amendment": lambda w, user: w.amendment(w.stranger, moderation_state=ModerationState.HIDDEN, hidden_at=utcnow()),
    "amendment they support": lambda w, user: w.supported_by(user),
    "own account": lambda w, user: user,
    # issue 20 (drafts)
    "own group's draft": lambda w, user: w.group_draft(user),
    "own submitted group draft": lambda w, user: w.group_draft(user, submitted=True),
    "others' group's draft": lambda w, user: w.group_draft(None),
    "own coordinated group's draft": lambda w, user: w.group_draft(user, coordinator=True),
    "own group's submission": lambda w, user: w.group_submission(user),
    "others' group's submission": lambda w, user: w.group_submission(None),
    "own signature, group left": lambda w, user: w.group_submission(user, signed=True, member=False),
    "own coordinated group": lambda w, user: w.drafting_group(user, coordinator=True),
    "own group": lambda w, user: w.drafting_group(user),
    "others' account": lambda w, user: w.stranger,
    # groups (issue 20, groups-core)
    "public group": lambda w, user: w.group(),
    "invite-only group": lambda w, user: w.group(visibility="invite_only"),
    "hidden group": lambda w, user: w.group(state="hidden"),
    "invite-only group they are in": lambda w, user: w.group(visibility="invite_only", member=user),
    "group they coordinate": lambda w, user: w.group(member=user, role="coordinator"),
    "group they were barred from": lambda w, user: w.group(barred=user),
    # groups (issue 20, the activity helper): a public group, one the role coordinates, a hidden one
    "group to report": lambda w, user: make_group(),
    "own group, to report": lambda w, user: make_group(coordinator=user) if user is not None else make_group(),
    "hidden group, to report": lambda w, user: make_group(hidden=True),
    # --- calls to action (issue 20, calls helper) ---
    "others' group": lambda w, user: call_group(w.stranger),
    "organisation's event call": lambda w, user: make_call(w.consultation, organisation=w.organisation),
    "call of a group they coordinate": lambda w, user: make_call(w.consultation, group=call_group(user)),
    "call of others' group": lambda w, user: make_call(w.consultation, group=call_group(w.stranger)),
    "closed event call": lambda w, user: make_call(w.consultation, organisation=w.organisation, closed=True),
    "call to support an amendment": lambda w, user: make_call(
        w.consultation, organisation=w.organisation, kind="support", contribution_id=w.amendment(w.stranger).contribution_id
    ),
}


def _owns(on: str) -> bool:
    return on.startswith("own") or "they" in on.split()


def test_every_object_in_the_matrix_can_be_made():
    assert {row.on for row in ROWS} == set(BUILDERS)


def _check(rows: list[Row], world: World) -> list[str]:
    failures = []
    for row in rows:
        for role in ROLES:
            allowed = can(world.users[role], row.action, world.target(row.on, role))
            if allowed != (role in row.allowed):
                failures.append(f"{row.action.value} on {row.on} in {row.state}, {role}: {'allowed' if allowed else 'refused'}")
    return failures


@pytest.mark.parametrize("state", STATES)
def test_permission_matrix(state):
    world = World(state)
    rows = [row for row in ROWS if row.state == state]
    assert rows
    assert _check(rows, world) == []


def test_permission_matrix_for_organisation_actions():
    world = World("open")
    rows = [row for row in ROWS if row.state == "any"]
    assert {row.action for row in rows} >= {Action.CREATE_CONSULTATION, Action.MANAGE_ORGANISATION, Action.CREATE_ORGANISATION}
    assert _check(rows, world) == []


def test_the_matrix_check_fails_on_a_wrong_row():
    """The check above can fail: a row that says a citizen may edit a draft is reported."""
    world = World("draft")
    wrong = Row(Action.EDIT_TEXT, "consultation", "draft", frozenset({"citizen", "author", "org_admin", "site_admin"}))
    assert _check([wrong], world) == ["edit_text on consultation in draft, citizen: refused"]


def test_unknown_action_is_denied():
    assert not can(make_user(site_admin=True), "no-such-action", None)  # type: ignore[arg-type]


def expected(role: str, action: Action, state: str) -> bool:
    """What the matrix says about ``role`` doing ``action`` on the consultation in ``state``."""
    (row,) = [r for r in ROWS if r.action == action and r.on == "consultation" and r.state == state]
    return role in row.allowed


EDITORS = {"author", "org_admin", "site_admin"}
HTTP_ROLES = ["anonymous", "citizen", "moderator", "author", "org_admin", "other_author", "site_admin"]


@pytest.fixture
def people():
    """One person per role around one organisation; returns (organisation, {role: user})."""
    organisation = make_organisation(slug="home-org")
    other = make_organisation(slug="other-org")
    users = {
        "anonymous": None,
        "citizen": make_user(),
        "moderator": make_user(role="moderator", organisation=organisation),
        "author": make_user(role="author", organisation=organisation),
        "org_admin": make_user(role="admin", organisation=organisation),
        "other_author": make_user(role="author", organisation=other),
        "site_admin": make_user(site_admin=True),
    }
    return organisation, users


TRANSITION_ACTION = {
    Transition.OPEN: Action.OPEN_CONSULTATION,
    Transition.CLOSE: Action.CLOSE_CONSULTATION,
    Transition.REOPEN: Action.REOPEN_CONSULTATION,
    Transition.CONCLUDE: Action.CONCLUDE_CONSULTATION,
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("transition", list(Transition))
def test_state_transitions_over_http(app, people, state, transition):
    """Each role tries each transition from each state; only editors, from the right state,
    succeed, and a refused attempt changes nothing."""
    organisation, users = people
    for role in HTTP_ROLES:
        consultation = make_consultation(organisation, author=users["author"], state=state)
        if transition == Transition.REOPEN:
            consultation.closes_at = utcnow() + timedelta(days=7)  # reopening needs a new closing date
        db.session.commit()
        client = app.test_client()
        if users[role] is not None:
            login(client, users[role])
        response = client.post(f"/c/{consultation.slug}/state", data={"transition": transition.value, "confirm": "y"})
        db.session.refresh(consultation)
        if expected(role, TRANSITION_ACTION[transition], state):
            assert response.status_code == 302, (role, transition, state)
            assert consultation.state != state
        else:
            assert consultation.state == ConsultationState(state), (role, transition, state)
            if users[role] is None:
                assert response.status_code == 302 and "/signin" in response.headers["Location"]
            elif state == "draft" and role not in EDITORS:
                assert response.status_code == 404, (role, transition, state)  # a draft is invisible
            else:
                assert response.status_code == 403, (role, transition, state)


@pytest.mark.parametrize("state", STATES)
def test_the_sql_filters_say_what_the_actions_say(state):
    """``visible_versions`` and ``visible_themes`` pick, for every role, exactly the rows that
    VIEW_VERSION and VIEW_THEMES allow (lists, search and export use the first, pages the second)."""
    from sqlalchemy import select

    from consult.moderation.models import Theme
    from consult.permissions import visible_themes, visible_versions

    world = World(state)
    world.target("draft version", "author")
    theme = Theme(consultation_id=world.consultation.id, name="Costs", summary="People worry about costs.")
    db.session.add(theme)
    db.session.flush()
    mine = [world.consultation.id]
    failures = []
    for role in ROLES:
        user = world.users[role]
        versions = set(db.session.scalars(select(Version).where(Version.consultation_id.in_(mine), visible_versions(user))))
        if versions != {v for v in world.consultation.versions if can(user, Action.VIEW_VERSION, v)}:
            failures.append(f"versions for {role}: {sorted(v.number for v in versions)}")
        themes = set(db.session.scalars(select(Theme).where(Theme.consultation_id.in_(mine), visible_themes(user))))
        if themes != ({theme} if can(user, Action.VIEW_THEMES, world.consultation) else set()):
            failures.append(f"themes for {role}: {len(themes)}")
    assert len(world.consultation.versions) == 2
    assert failures == []


def test_visible_supporters_leaves_out_only_people_blocked_by_the_amendments_organisation():
    from sqlalchemy import select

    from consult.permissions import visible_supporters

    world = World("open")
    amendment = world.amendment(world.stranger)
    elsewhere = make_consultation(make_organisation(slug="elsewhere"), state="open")
    theirs = Contribution(
        consultation=elsewhere,
        kind="amendment",
        author=world.stranger,
        version=elsewhere.current_version,
        section_key="purpose",
        body="Words.",
        body_html="<p>Words.</p>",
    )
    theirs.amendment = Amendment(proposed_text="Other words.")
    for person in (world.users["citizen"], world.users["blocked"]):
        db.session.add_all(
            [AmendmentSupporter(amendment=amendment, user=person), AmendmentSupporter(amendment=theirs.amendment, user=person)]
        )
    db.session.flush()
    shown = db.session.execute(select(AmendmentSupporter.amendment_id, AmendmentSupporter.user_id).where(visible_supporters(None))).all()
    assert set(shown) == {
        (amendment.contribution_id, world.users["citizen"].id),
        (theirs.id, world.users["citizen"].id),
        (theirs.id, world.users["blocked"].id),  # blocked by the home organisation, not by this one
    }
