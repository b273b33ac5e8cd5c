"""Links made away from a request (exports, jobs, mail) come from the site's address."""

from consult.core import links


def test_links_outside_a_request_use_the_sites_address(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://consult.example.org/city")
    with app.app_context():
        assert links.url("proposals.consultation", slug="a-b") == "https://consult.example.org/city/c/a-b"
        assert links.path("proposals.consultation", slug="a-b") == "/city/c/a-b"
        with links.addressed_as("http://localhost:8080"):
            assert links.url("proposals.consultation", slug="a-b") == "http://localhost:8080/c/a-b"
        assert links.url("proposals.consultation", slug="a-b").startswith("https://consult.example.org/city/")


def test_links_inside_a_request_use_the_address_the_reader_used(app, monkeypatch):
    monkeypatch.setitem(app.config, "SERVER_NAME", None)  # as on most sites
    with app.test_request_context("/", base_url="https://other.example"):
        assert links.url("proposals.consultation", slug="a-b") == "https://other.example/c/a-b"
        assert links.path("proposals.consultation", slug="a-b") == "/c/a-b"
