"""The read API: consultations, one consultation with versions and sections, one version."""

import pytest

from consult.core.models import db
from consult.demo import policy_files
from consult.proposals import services
from consult.proposals.models import Transition
from tests.conftest import login
from tests.factories import explain_changes, make_consultation


@pytest.fixture
def two_versions(organisation, author):
    consultation = make_consultation(organisation, author=author, state="draft", slug="fscp", text="", publish=False)
    services.import_markdown(consultation, policy_files("v1-draft-2016-04"), actor=author)
    services.publish_version(consultation, actor=author)
    services.change_state(consultation, Transition.OPEN, actor=author)
    services.import_markdown(consultation, policy_files("v2-final-2016-08"), actor=author)
    explain_changes(consultation, author)
    services.publish_version(consultation, actor=author, note="Final policy.")
    db.session.commit()
    return consultation


def test_list_of_consultations(client, open_consultation, draft_consultation):
    data = client.get("/api/v1/consultations").get_json()
    assert data["total"] == 1
    (item,) = data["consultations"]
    assert item["slug"] == "open-one" and item["state"] == "open" and item["current_version"] == 1
    assert item["organisation"] == {"slug": "council", "name": "Riverside Council"}
    assert item["api_url"].endswith("/api/v1/consultations/open-one")


def test_one_consultation_returns_both_versions_and_current_sections(client, two_versions):
    data = client.get("/api/v1/consultations/fscp").get_json()
    assert [v["number"] for v in data["versions"]] == [1, 2]
    assert data["current_version"] == 2
    assert len(data["sections"]) == 20  # "Footnotes" blocks are no sections: their notes end the sections citing them
    first = data["sections"][0]
    assert set(first) >= {"key", "heading", "text"} and first["heading"].startswith("M-16-21")


def test_each_version_is_available(client, two_versions):
    v1 = client.get("/api/v1/consultations/fscp/versions/1").get_json()
    v2 = client.get("/api/v1/consultations/fscp/versions/2").get_json()
    assert (len(v1["sections"]), len(v2["sections"])) == (13, 20)  # no "Footnotes" sections
    assert v2["change_note"] == "Final policy."
    assert "objectives" in {s["key"] for s in v1["sections"]} & {s["key"] for s in v2["sections"]}


def test_unpublished_draft_version_is_not_in_the_api(client, open_consultation, author):
    services.write_markdown(open_consultation, "## Secret next text\n\nNot yet.\n", actor=author)
    db.session.commit()
    assert client.get("/api/v1/consultations/open-one/versions/2").status_code == 404
    assert "Secret next text" not in client.get("/api/v1/consultations/open-one").get_data(as_text=True)


def test_a_draft_version_is_read_by_the_organisations_editors_as_on_the_site(client, open_consultation, author, moderator, citizen):
    """One rule (VIEW_VERSION) for the pages and the API: editors read the draft in both;
    citizens and moderators in neither."""
    services.write_markdown(open_consultation, "## Secret next text\n\nNot yet.\n", actor=author)
    db.session.commit()
    for who, sees in ((author, True), (moderator, False), (citizen, False)):
        login(client, who)
        api = client.get("/api/v1/consultations/open-one/versions/2")
        page = client.get("/c/open-one/v/2")
        listed = [v["number"] for v in client.get("/api/v1/consultations/open-one").get_json()["versions"]]
        if sees:
            assert api.status_code == 200 and api.get_json()["published_at"] is None
            assert page.status_code == 200 and "Secret next text" in page.get_data(as_text=True)
            assert listed == [1, 2]
        else:
            assert (api.status_code, page.status_code, listed) == (404, 404, [1]), who


@pytest.mark.parametrize(
    "url, status",
    [
        ("/api/v1/consultations?state=bogus", 400),
        ("/api/v1/consultations?per_page=1000", 400),
        ("/api/v1/consultations?page=0", 400),
        ("/api/v1/consultations?page=\u00b2", 400),  # "²": str.isdigit() says yes, int() says no
        ("/api/v1/consultations?page=99999999999999999999", 400),
        ("/api/v1/consultations/open-one/amendments?per_page=\u00b2", 400),
        ("/api/v1/consultations/open-one/annotations?page=\u00b2", 400),
        ("/api/v1/amendments/99999999999999999999", 404),  # beyond the database's integer range
        ("/api/v1/consultations/nope", 404),
        ("/api/v1/consultations/open-one/versions/7", 404),
        ("/api/v1/nothing-here", 404),
    ],
)
def test_bad_requests_get_json_errors(client, open_consultation, url, status):
    response = client.get(url)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]


def test_pagination(client, organisation, author):
    for n in range(3):
        make_consultation(organisation, author=author, slug=f"c{n}")
    db.session.commit()
    data = client.get("/api/v1/consultations?per_page=2&page=2").get_json()
    assert data["total"] == 3 and len(data["consultations"]) == 1
