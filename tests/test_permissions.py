"""The permission matrix: role × action × state → allowed?, checked on the predicates and over HTTP."""

from datetime import timedelta

import pytest

from consult.core.models import db, utcnow
from consult.permissions import Action, can
from consult.proposals.models import ConsultationState, Transition
from tests.conftest import login
from tests.factories import make_consultation, make_organisation, make_user

ROLES = ["anonymous", "citizen", "moderator", "author", "org_admin", "other_author", "site_admin"]
STATES = ["draft", "open", "closed", "concluded"]
EDITORS = {"author", "org_admin", "site_admin"}


def expected(role: str, action: Action, state: str) -> bool:
    editor = role in EDITORS
    if action == Action.VIEW_CONSULTATION:
        return state != "draft" or editor
    if action in (Action.EDIT_CONSULTATION, Action.EDIT_TEXT, Action.PUBLISH_VERSION):
        return editor and state != "concluded"
    source = {
        Action.OPEN_CONSULTATION: "draft",
        Action.CLOSE_CONSULTATION: "open",
        Action.REOPEN_CONSULTATION: "closed",
        Action.CONCLUDE_CONSULTATION: "closed",
    }[action]
    return editor and state == source


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


CONSULTATION_ACTIONS = [
    Action.VIEW_CONSULTATION,
    Action.EDIT_CONSULTATION,
    Action.EDIT_TEXT,
    Action.PUBLISH_VERSION,
    Action.OPEN_CONSULTATION,
    Action.CLOSE_CONSULTATION,
    Action.REOPEN_CONSULTATION,
    Action.CONCLUDE_CONSULTATION,
]


@pytest.mark.parametrize("state", STATES)
def test_permission_matrix(people, state):
    organisation, users = people
    consultation = make_consultation(organisation, author=users["author"], state=state)
    failures = []
    for role in ROLES:
        for action in CONSULTATION_ACTIONS:
            if can(users[role], action, consultation) != expected(role, action, state):
                failures.append(f"{role} {action.value} in {state}: got {not expected(role, action, state)}")
    assert failures == []


def test_organisation_actions(people):
    organisation, users = people
    allowed_create = {r for r in ROLES if can(users[r], Action.CREATE_CONSULTATION, organisation)}
    allowed_manage = {r for r in ROLES if can(users[r], Action.MANAGE_ORGANISATION, organisation)}
    allowed_new_org = {r for r in ROLES if can(users[r], Action.CREATE_ORGANISATION)}
    assert allowed_create == {"author", "org_admin", "site_admin"}
    assert allowed_manage == {"org_admin", "site_admin"}
    assert allowed_new_org == {"site_admin"}


def test_unknown_action_is_denied(people):
    _, users = people
    assert not can(users["site_admin"], "no-such-action", None)  # type: ignore[arg-type]


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
    for role in ROLES:
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
