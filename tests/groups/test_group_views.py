"""Groups (pages): what each visitor sees, the buttons' answers, and 4xx on bad input."""

from __future__ import annotations

import html

import pytest

from consult.core.models import db
from consult.groups import services
from consult.groups.models import Group
from tests.conftest import login
from tests.factories import make_user


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def coordinator():
    return make_user(name="Cora Coordinator")


@pytest.fixture
def group(coordinator):
    g = services.create_group(actor=coordinator, name="Riverside Residents", description="We meet on *Tuesdays*.")
    db.session.commit()
    return g


@pytest.fixture
def quiet(coordinator):
    g = services.create_group(actor=coordinator, name="Quiet Parents", description="A closed circle.", visibility="invite_only")
    services.join_by_invitation(g, g.invite_code, actor=make_user(name="Secret Sam"))
    db.session.commit()
    return g


def test_the_list_and_a_public_group_are_public(client, group):
    listing = page(client.get("/groups"))
    assert "Riverside Residents" in listing and "1 member" in listing
    shown = page(client.get("/g/riverside-residents"))
    assert "<em>Tuesdays</em>" in shown and "Cora Coordinator" in shown
    assert "Sign in</a> to join" in shown and "Invitation link" not in shown
    assert client.get("/g/nowhere").status_code == 404
    assert client.get("/groups?q=" + "x" * 500).status_code == 200


def test_an_invite_only_groups_members_are_hidden_from_others(client, quiet, coordinator):
    shown = page(client.get("/g/quiet-parents"))
    assert "A closed circle." in shown and "Secret Sam" not in shown and "Only the group's members see" in shown
    assert client.get("/g/quiet-parents/members").status_code == 403
    login(client, make_user())
    assert "Secret Sam" not in page(client.get("/g/quiet-parents"))
    assert client.post("/g/quiet-parents/join").status_code == 403
    login(client, coordinator)
    shown = page(client.get("/g/quiet-parents"))
    assert "Secret Sam" in shown and quiet.invite_code in shown


def test_joining_and_leaving_by_the_buttons(client, group, coordinator):
    person = make_user(name="Jo Joiner")
    login(client, person)
    assert client.post("/g/riverside-residents/join").status_code == 302
    assert client.post("/g/riverside-residents/join").status_code == 302  # a double click joins once
    assert [m.user.display_name for m in services.members(group, viewer=person)] == ["Cora Coordinator", "Jo Joiner"]
    shown = page(client.get("/g/riverside-residents"))
    assert "Leave the group" in shown and "Your role: Member" in shown
    assert client.post("/g/riverside-residents/leave").status_code == 302
    login(client, coordinator)
    client.post("/g/riverside-residents/join")
    services.join_group(group, actor=make_user())
    db.session.commit()
    refused = client.post("/g/riverside-residents/leave")
    assert refused.status_code == 409 and "only coordinator" in page(refused)


def test_the_invitation_link_asks_before_joining_and_a_rotated_one_is_404(client, quiet, coordinator):
    person = make_user(name="Invited Ivy")
    url = f"/g/quiet-parents/join/{quiet.invite_code}"
    assert client.get(url).status_code == 302  # sign in first
    login(client, person)
    assert "Join the group" in page(client.get(url))
    assert client.post(url).status_code == 302
    assert "Invited Ivy" in page(client.get("/g/quiet-parents"))
    login(client, coordinator)
    client.post("/g/quiet-parents/invitation")
    login(client, make_user())
    gone = client.get(url)
    assert gone.status_code == 404 and "does not work any more" in page(gone)
    assert client.post(url).status_code == 404


def test_coordinators_manage_roles_and_remove_and_bar(client, group, coordinator):
    member = make_user(name="Mo Member")
    services.join_group(group, actor=member)
    db.session.commit()
    login(client, member)
    assert client.get("/g/riverside-residents/edit").status_code == 403
    assert client.post(f"/g/riverside-residents/members/{coordinator.id}/remove").status_code == 403
    login(client, coordinator)
    members_page = page(client.get("/g/riverside-residents/members"))
    assert "Role of Mo Member" in members_page and "Role of Cora Coordinator" not in members_page
    assert (
        "<option value=\"member\" selected>Member</option>" in members_page
        and "<option value=\"coordinator\">Coordinator</option>" in members_page
    )
    assert client.post(f"/g/riverside-residents/members/{member.id}/role", data={"role": "king"}).status_code == 400
    assert client.post("/g/riverside-residents/members/999999/role", data={"role": "member"}).status_code == 404
    assert client.post(f"/g/riverside-residents/members/{member.id}/role", data={"role": "coordinator"}).status_code == 302
    assert client.post(f"/g/riverside-residents/members/{member.id}/role", data={"role": "member"}).status_code == 302
    removed = client.post(f"/g/riverside-residents/members/{member.id}/remove", data={"block": "y", "reason": "x" * 501})
    assert removed.status_code == 400
    assert client.post(f"/g/riverside-residents/members/{member.id}/remove", data={"block": "y", "reason": "Spam."}).status_code == 302
    assert "People barred from the group" in page(client.get("/g/riverside-residents/members"))
    login(client, member)
    refused = client.post("/g/riverside-residents/join")
    assert refused.status_code == 403 and "cannot join it again" in page(refused)
    refused = client.post(f"/g/riverside-residents/join/{group.invite_code}")
    assert refused.status_code == 403


def test_starting_and_editing_a_group_by_its_forms(client, coordinator):
    login(client, coordinator)
    assert "Start the group" in page(client.get("/groups/new"))
    bad = client.post("/groups/new", data={"name": "", "visibility": "public"})
    assert bad.status_code == 400 and "Enter the group's name" in page(bad)
    bad = client.post("/groups/new", data={"name": "Fine", "visibility": "nobody"})
    assert bad.status_code == 400
    made = client.post("/groups/new", data={"name": "Hill Union", "description": "Workers.", "visibility": "invite_only"})
    assert made.status_code == 302 and made.headers["Location"] == "/g/hill-union"
    edited = client.post("/g/hill-union/edit", data={"name": "Hill Union Branch", "description": "", "visibility": "public"})
    assert edited.status_code == 302
    group = services.group_by_slug("hill-union")
    assert (group.name, group.visibility, group.description_html) == ("Hill Union Branch", "public", "")
    assert client.post("/groups/new", data={"name": "x" * 201, "visibility": "public"}).status_code == 400
    login(client, make_user(confirmed=False))
    assert client.get("/groups/new").status_code == 403


def test_chapters_from_the_page(client, group, coordinator):
    login(client, coordinator)
    made = client.post("/g/riverside-residents/chapters/new", data={"name": "North", "visibility": "public"})
    assert made.status_code == 302
    other = services.create_group(actor=coordinator, name="Elsewhere")
    db.session.commit()
    shown = page(client.get("/g/riverside-residents"))
    assert "North" in shown and 'value="elsewhere"' in shown
    assert client.post("/g/riverside-residents/chapters", data={"chapter": "nowhere"}).status_code == 400
    assert client.post("/g/riverside-residents/chapters", data={"chapter": "elsewhere"}).status_code == 302
    assert "A chapter of" in page(client.get("/g/elsewhere"))
    refused = client.post("/g/north/chapters", data={"chapter": "riverside-residents"})
    assert refused.status_code == 400  # not offered: it would make a cycle
    assert client.post("/g/elsewhere/detach").status_code == 302
    assert db.session.get(Group, other.id).parent_id is None
    login(client, make_user())
    assert client.post("/g/north/detach").status_code == 403
    assert client.get("/g/riverside-residents/chapters/new").status_code == 403


def test_a_hidden_group_shows_only_its_name_and_reason(client, group):
    group.state, group.hidden_reason = "hidden", "Spam links."
    db.session.commit()
    shown = page(client.get("/g/riverside-residents"))
    assert "Spam links." in shown and "Tuesdays" not in shown and "Cora Coordinator" not in shown
    assert "Riverside Residents" not in page(client.get("/groups"))
