"""Search in several languages (issue 18): each contribution is stemmed in the language it was
written in, on Whoosh and on PostgreSQL; results in the reader's language come first; a filter
keeps one language; migration 0025 upgrades a search table of English rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import create_engine, text

from consult.comments import services as comments
from consult.core.models import db
from consult.search import services as search
from consult.search.indexing import SearchService
from consult.search.query import QueryError
from consult.search.whoosh_backend import WhooshBackend
from tests.conftest import ON_POSTGRES
from tests.factories import make_consultation, make_user

BACKENDS = ["whoosh"] + (["postgres"] if ON_POSTGRES else [])


@pytest.fixture(params=BACKENDS)
def backend(request, app, tmp_path, monkeypatch):
    if request.param == "whoosh":
        chosen = WhooshBackend(tmp_path / "index")
    else:
        from consult.search.postgres_backend import PostgresBackend

        chosen = PostgresBackend()
    monkeypatch.setitem(app.extensions, "consult_search", SearchService(chosen))
    chosen.rebuild(db.session)  # documents left by earlier tests' commits are not ours
    return chosen


@pytest.fixture
def consultation(organisation, author, backend):
    c = make_consultation(organisation, author=author, state="open", slug="transports", title="Public transport plan")
    db.session.commit()
    return c


def say(consultation, body: str, language: str):
    """A comment written with the interface in ``language`` (so written in it)."""
    with force_locale(language):
        contribution = comments.post_comment(consultation, actor=make_user(), body=body)
    db.session.commit()
    assert contribution.language == language
    return contribution


def bodies(page: search.SearchPage) -> list[str]:
    return [str(r.snippet_html) for r in page.results]


@pytest.mark.parametrize("query", ["développer", "développ", "DÉVELOPPEMENTS"])
def test_a_french_stem_finds_its_inflected_forms_in_french_contributions(consultation, query):
    say(consultation, "Le développement du réseau de bus doit continuer.", "fr")
    say(consultation, "Les services développés par la ville sont utiles.", "fr")
    say(consultation, "Les horaires changent trop souvent.", "fr")
    page = search.search(query)
    assert page.total == 2
    snippets = " ".join(bodies(page))
    assert "<mark>développement</mark>" in snippets and "<mark>développés</mark>" in snippets
    assert {r.language for r in page.results} == {"fr"}


def test_spanish_and_arabic_contributions_are_found_by_other_forms_of_their_words(consultation):
    say(consultation, "Los proyectos desarrollados por el municipio.", "es")
    say(consultation, "نرحب بهذه الاستشارات العامة.", "ar")
    (snippet,) = bodies(search.search("desarrollar"))
    assert "proyectos <mark>desarrollados</mark> por el" in snippet
    page = search.search("استشارة")
    assert page.total == 1 and "<mark>" in bodies(page)[0] and page.results[0].language == "ar"


def test_english_is_stemmed_in_english_and_french_in_french(consultation):
    say(consultation, "Developing the network matters.", "en")
    say(consultation, "Le réseau développé.", "fr")
    (snippet,) = bodies(search.search("developments"))
    assert "<mark>Developing</mark> the network" in snippet
    # French stop words are common words in French rows only: "le" is searched in English.
    assert search.search("réseau le", reader="en").total == 1
    with pytest.raises(QueryError, match="too common"):
        search.search("the of", reader="en")
    with pytest.raises(QueryError, match="too common"):
        search.search("le la", reader="fr")


def test_the_readers_language_comes_first_then_relevance(consultation):
    say(consultation, "Budget, budget, the budget again: the budget is everything.", "en")
    say(consultation, "Le budget.", "fr")
    say(consultation, "Un autre budget, un budget de plus.", "fr")

    def languages(**kwargs):
        return [r.language for r in search.search("budget", **kwargs).results]

    assert languages(reader="fr") == ["fr", "fr", "en"]
    assert languages(reader="en") == ["en", "fr", "fr"]
    assert languages(reader="es") == languages() == ["en", "fr", "fr"]  # no document in Spanish: relevance alone
    # Pages follow the same order: the English one is third, on page 3 of one result each.
    assert [search.search("budget", reader="fr", per_page=1, page=n).results[0].language for n in (1, 2, 3)] == ["fr", "fr", "en"]
    assert search.search("budget", reader="fr", per_page=1, page=3).total == 3
    first, second = search.search("budget", reader="fr").results[:2]
    assert first.score >= second.score  # within the reader's language, by relevance


def test_the_language_filter_keeps_one_language(consultation):
    say(consultation, "Le budget des transports.", "fr")
    say(consultation, "The transport budget.", "en")
    assert [r.language for r in search.search("budget", language="fr").results] == ["fr"]
    assert [r.language for r in search.search("budget", language="en", reader="fr").results] == ["en"]
    with pytest.raises(QueryError, match="'language' must be one of"):
        search.search("budget", language="xx")


def test_the_page_and_the_api_put_the_readers_language_first(client, consultation):
    say(consultation, "Budget, budget, the budget again: the budget is everything.", "en")
    say(consultation, "Le budget voté.", "fr")
    html = client.get("/search?q=budget", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="fr" dir="ltr">' in html and 'lang="en" dir="ltr">' in html
    assert html.index("<mark>budget</mark> voté") < html.index("everything")
    assert 'id="search-language"' in html
    english_first = client.get("/api/v1/search?q=budget", headers={"Accept-Language": "en"}).get_json()
    assert [r["language"] for r in english_first["results"]] == ["en", "fr"]
    only_french = client.get("/api/v1/search?q=budget&language=fr", headers={"Accept-Language": "en"}).get_json()
    assert [r["language"] for r in only_french["results"]] == ["fr"]
    refused = client.get("/api/v1/search?q=budget&language=klingon")
    assert refused.status_code == 400 and "'language' must be one of" in refused.get_data(as_text=True)


@pytest.mark.skipif(not ON_POSTGRES, reason="the search table exists on PostgreSQL only")
def test_migration_0025_keeps_the_english_rows_and_stems_new_rows_in_their_language(tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from consult import MIGRATIONS_DIR, create_app
    from tests.scratch import scratch_postgresql

    config = Config(str(Path(MIGRATIONS_DIR) / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    before = ScriptDirectory.from_config(config).get_revision("0026_search").down_revision  # 0024_languages or after it
    with scratch_postgresql() as url:
        app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
        with app.app_context():
            upgrade(revision=before)
            db.engine.dispose()
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                organisation = connection.execute(
                    text("INSERT INTO organisations (name, slug, description, created_at) VALUES ('Town', 'town', '', now()) RETURNING id")
                ).scalar_one()
                consultation = connection.execute(
                    text(
                        "INSERT INTO consultations (organisation_id, slug, title, summary, state, licence, response_threshold,"
                        " created_at, updated_at, row_version) VALUES (:o, 'c', 'Parks', '', 'draft', 'CC-BY-4.0', 0, now(), now(), 1)"
                        " RETURNING id"
                    ),
                    {"o": organisation},
                ).scalar_one()
                connection.execute(
                    text(
                        "INSERT INTO consult_search.documents (key, kind, consultation_id, state, date, title, body)"
                        " VALUES ('contribution:1', 'comment', :c, 'open', now(), '', 'Developing the parks')"
                    ),
                    {"c": consultation},
                )
            with app.app_context():
                upgrade(revision="0026_search")
                db.engine.dispose()
            with engine.begin() as connection:
                row = connection.execute(text("SELECT language, config, document::text FROM consult_search.documents")).one()
                assert row == ("en", "english", "'develop':1B 'park':3B")
                # A French row written afterwards is stemmed in French by the trigger, and so is an update.
                connection.execute(
                    text(
                        "INSERT INTO consult_search.documents (key, kind, consultation_id, state, date, title, body, language, config)"
                        " VALUES ('contribution:2', 'comment', :c, 'open', now(), '', 'Les parcs développés', 'fr', 'french')"
                    ),
                    {"c": consultation},
                )
                found = connection.execute(
                    text(
                        "SELECT key FROM consult_search.documents WHERE config = 'french' AND document @@ plainto_tsquery('french', 'développer')"
                    )
                ).scalars()
                assert list(found) == ["contribution:2"]
                connection.execute(text("UPDATE consult_search.documents SET body = 'Un parc' WHERE key = 'contribution:2'"))
                vector = connection.execute(text("SELECT document::text FROM consult_search.documents WHERE key = 'contribution:2'"))
                assert vector.scalar_one() == "'parc':2B"
                indexes = connection.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = 'consult_search'")).scalars()
                assert "ix_documents_document" in set(indexes)
            with app.app_context():
                downgrade(revision=before)
                db.engine.dispose()
            with engine.begin() as connection:
                rows = connection.execute(text("SELECT key, document::text FROM consult_search.documents ORDER BY key")).all()
                assert rows == [("contribution:1", "'develop':1B 'park':3B"), ("contribution:2", "'parc':2B 'un':1B")]  # English again
        finally:
            engine.dispose()


def test_whoosh_analyses_a_query_only_in_the_languages_its_index_holds(consultation, backend, monkeypatch):
    """A new word costs 20-120 µs to analyse in each language: a language no document is
    written in is left out of the query (and the language searched first never is, for its
    "too common" refusal), with the same results."""
    if not isinstance(backend, WhooshBackend):
        pytest.skip("the Whoosh backend's analysis")
    from consult.search import whoosh_backend

    analysed = []
    real = whoosh_backend.analyse
    monkeypatch.setattr(whoosh_backend, "analyse", lambda word, group: analysed.append(group) or real(word, group))
    say(consultation, "Developing the network matters.", "en")
    say(consultation, "Le développement du réseau.", "fr")
    assert search.search("network").total == 1
    assert set(analysed) == {"en", "fr"}
    analysed.clear()
    with pytest.raises(QueryError, match="too common"):
        search.search("los el", reader="es")  # Spanish first: analysed though no document is Spanish
    assert "es" in analysed and "ar" not in analysed
    analysed.clear()
    say(consultation, "نرحب بهذه الاستشارات العامة.", "ar")
    page = search.search("استشارة")
    assert page.total == 1 and set(analysed) == {"en", "fr", "ar"}
