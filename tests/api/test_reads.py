"""The read API added with the write API: the index, comments by cursor, statements, the opinion
map, themes once published; CORS; the OpenAPI description and its page; limits and CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from consult import create_app
from consult.comments import services as comments
from consult.contributions.models import Contribution
from consult.core.models import db
from consult.moderation import services as moderation
from consult.voting import statements
from tests.api.helpers import bearer, make_token
from tests.conftest import build_schema, login
from tests.factories import make_consultation, make_user


def test_the_index_says_where_everything_is(client):
    data = client.get("/api/v1/").get_json()
    assert data["openapi"].endswith("/api/v1/openapi.json") and data["documentation"].endswith("/api/v1/docs")
    assert client.get(data["consultations"]).status_code == 200


def test_comments_come_a_page_at_a_time_by_cursor(client, open_consultation, citizen):
    posted = [comments.post_comment(open_consultation, actor=citizen, body=f"Comment {n}", section_key="purpose") for n in range(5)]
    comments.post_comment(open_consultation, actor=citizen, body="On scope", section_key="scope")
    db.session.commit()

    first = client.get("/api/v1/consultations/open-one/comments?limit=2&section=purpose").get_json()
    second = client.get(first["next"]).get_json()
    third = client.get(f"/api/v1/consultations/open-one/comments?limit=2&section=purpose&cursor={second['next_cursor']}").get_json()

    seen = [c["id"] for page in (first, second, third) for c in page["comments"]]
    assert seen == [c.id for c in posted]
    assert third["next_cursor"] is None and third["next"] is None
    assert len(client.get("/api/v1/consultations/open-one/comments").get_json()["comments"]) == 6


@pytest.mark.parametrize("cursor", ["nonsense", "eyJhZnRlciI6IDF9.forged", "a" * 600, ""])
def test_a_bad_cursor_is_a_400_problem(client, open_consultation, cursor):
    response = client.get(f"/api/v1/consultations/open-one/comments?cursor={cursor}")
    if cursor == "":  # no cursor: the first page
        assert response.status_code == 200
        return
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "cursor"


def test_hidden_comments_are_not_listed_and_held_ones_only_to_their_author(client, open_consultation, citizen, moderator):
    shown = comments.post_comment(open_consultation, actor=citizen, body="Fine", section_key="purpose")
    hidden = comments.post_comment(open_consultation, actor=citizen, body="Rude", section_key="purpose")
    moderation.act([hidden], actor=moderator, action="hide", reason="Rude.")
    db.session.commit()

    ids = [c["id"] for c in client.get("/api/v1/consultations/open-one/comments").get_json()["comments"]]

    assert ids == [shown.id]
    assert client.get(f"/api/v1/comments/{hidden.id}").status_code == 404


def test_statement_tallies_are_shown_as_on_the_site(client, open_consultation, citizen):
    statement = statements.post_statement(open_consultation, actor=make_user(), body="Buses should be free.")
    db.session.commit()
    secret = make_token(citizen, "read", "contribute")

    before = client.get("/api/v1/consultations/open-one/statements", headers=bearer(secret)).get_json()["statements"]
    client.post("/api/v1/consultations/open-one/votes", json={"value": "agree", "contribution_id": statement.id}, headers=bearer(secret))
    after = client.get("/api/v1/consultations/open-one/statements", headers=bearer(secret)).get_json()["statements"]

    assert before[0]["tally"] is None  # open, and not voted on: the count would sway the vote
    assert after[0]["tally"] == {"agree": 1, "disagree": 0, "passed": 0}


def test_the_opinion_map_and_themes_before_anything_is_computed_or_published(client, open_consultation):
    assert client.get("/api/v1/consultations/open-one/opinion-map").get_json() == {
        "computed": False,
        "computed_at": None,
        "groups": [],
        "consensus": [],
    }
    assert client.get("/api/v1/consultations/open-one/themes").get_json() == {"published": False, "themes": [], "section_summaries": []}


def test_themes_are_published_with_the_outcome(client, organisation, author, moderator, citizen):
    c = make_consultation(organisation, author=author, state="closed", slug="done")
    comment = db.session.scalar(select(Contribution).where(Contribution.consultation_id == c.id)) or None
    assert comment is None
    theme = moderation.create_theme(c, actor=moderator, name="Costs")
    db.session.commit()
    assert client.get("/api/v1/consultations/done/themes").get_json()["themes"] == []
    from consult.proposals import services as proposals
    from consult.proposals.models import Transition

    proposals.change_state(c, Transition.CONCLUDE, actor=author)
    db.session.commit()

    published = client.get("/api/v1/consultations/done/themes").get_json()
    assert published["published"] is True and [t["name"] for t in published["themes"]] == [theme.name]


def test_cors_lets_other_sites_read_and_send_tokens_but_never_cookies(client, open_consultation):
    response = client.get("/api/v1/consultations", headers={"Origin": "https://news.example"})
    preflight = client.open(
        "/api/v1/consultations/open-one/comments",
        method="OPTIONS",
        headers={
            "Origin": "https://news.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert preflight.status_code == 204
    assert (
        "Authorization" in preflight.headers["Access-Control-Allow-Headers"] and "POST" in preflight.headers["Access-Control-Allow-Methods"]
    )
    assert "Access-Control-Allow-Origin" not in client.get("/").headers  # the site's pages: no CORS


def test_the_openapi_description_lists_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, methods in document["paths"].items() for method in methods}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint not in ("api.openapi", "api.docs"):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", f"{{{name}}}").replace(f"<{name}>", f"{{{name}}}")
            routes |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented
    comments_post = document["paths"]["/api/v1/consultations/{slug}/comments"]["post"]
    assert comments_post["security"] == [{"bearer": ["contribute"]}]
    assert "application/problem+json" in comments_post["responses"]["422"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in comments_post["parameters"])


def test_the_documentation_page_lists_operations_and_schemas(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "POST /api/v1/consultations/{slug}/comments" in page
    assert 'id="schema-CommentIn"' in page and 'id="problem-validation"' in page
    assert '<script src="http' not in page and '<link rel="stylesheet" href="http' not in page  # nothing from another site


def _app_with(tmp_path, **config):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "sqlite://",
            "SECRET_KEY": "x",
            "SERVER_NAME": "consult.test",
            **config,
        }
    )
    build_schema(app)
    return app


def test_writes_are_limited_per_token(tmp_path):
    app = _app_with(tmp_path, WTF_CSRF_ENABLED=False, API_RATE_LIMIT="2 per minute", POSTING_RATE_LIMIT="100 per minute")
    with app.app_context():
        make_consultation(state="open", slug="fast")
        writer = make_user(name="Speedy")
        one, two = make_token(writer, "read", "contribute"), make_token(writer, "read", "contribute")
        client = app.test_client()
        codes = [
            client.post("/api/v1/consultations/fast/comments", json={"body": f"C{n}"}, headers=bearer(one)).status_code for n in range(3)
        ]
        other = client.post("/api/v1/consultations/fast/comments", json={"body": "Other token"}, headers=bearer(two))
        assert codes == [201, 201, 429]
        assert other.status_code == 201  # counted per token
        limited = client.post("/api/v1/consultations/fast/comments", json={"body": "again"}, headers=bearer(one))
        assert limited.mimetype == "application/problem+json" and limited.headers.get("Retry-After")
        assert db.session.scalar(select(func.count()).select_from(Contribution)) == 3
        db.session.remove()


def test_with_csrf_on_a_token_write_needs_no_csrf_token_and_a_cookie_one_is_refused(tmp_path):
    app = _app_with(tmp_path, WTF_CSRF_ENABLED=True, RATE_LIMITS=False)
    with app.app_context():
        make_consultation(state="open", slug="csrf")
        writer = make_user(name="Careful")
        secret = make_token(writer, "read", "contribute")
        client = app.test_client()
        assert client.post("/api/v1/consultations/csrf/comments", json={"body": "With a token"}, headers=bearer(secret)).status_code == 201
        login(client, writer)
        assert client.post("/api/v1/consultations/csrf/comments", json={"body": "With a cookie"}).status_code in (400, 401)
        assert db.session.scalar(select(func.count()).select_from(Contribution)) == 1
        db.session.remove()
