"""Search's state filter: open, closed (concluded too) and concluded, on the page and the API."""

from __future__ import annotations

import pytest

from consult.core.models import db
from consult.search.indexing import SearchService
from consult.search.whoosh_backend import WhooshBackend
from tests.factories import make_consultation


@pytest.fixture
def three_states(app, organisation, author, tmp_path, monkeypatch):
    backend = WhooshBackend(tmp_path / "index")
    monkeypatch.setitem(app.extensions, "consult_search", SearchService(backend))
    made = {
        state: make_consultation(organisation, author=author, state=state, slug=f"lighthouse-{state}", title=f"Lighthouse keeping, {state}")
        for state in ("open", "closed", "concluded")
    }
    db.session.commit()
    backend.rebuild(db.session)
    return made


def found(client, status: str) -> set[str]:
    response = client.get("/api/v1/search", query_string={"q": "lighthouse", "status": status, "kind": "consultation"})
    assert response.status_code == 200
    return {r["consultation"] for r in response.get_json()["results"]}


def test_each_state_filters_its_consultations(client, three_states):
    assert found(client, "open") == {"lighthouse-open"}
    assert found(client, "closed") == {"lighthouse-closed", "lighthouse-concluded"}
    assert found(client, "concluded") == {"lighthouse-concluded"}


def test_the_page_offers_concluded_and_keeps_it_chosen(client, three_states):
    html = client.get("/search", query_string={"q": "lighthouse", "status": "concluded"}).get_data(as_text=True)
    assert '<option value="concluded" selected>Concluded (outcome published)</option>' in html
    results = html.split('id="results-heading"')[1]
    assert "/c/lighthouse-concluded" in results and "/c/lighthouse-closed" not in results


def test_an_unknown_state_is_refused(client):
    response = client.get("/search", query_string={"q": "lighthouse", "status": "archived"})
    assert response.status_code == 400 and "open, closed or concluded" in response.get_data(as_text=True)
