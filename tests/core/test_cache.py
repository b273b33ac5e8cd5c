"""The cache's stores and change stamps (consult/core/cache.py)."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import select

from consult.core import cache
from consult.core.cache import CacheStamp, DirectoryStore, MemoryStore, RedisStore, store_for
from consult.core.models import db
from tests.conftest import redis_or_skip
from tests.factories import make_consultation, make_user


def _stamp(scope: str) -> int | None:
    return db.session.scalar(select(CacheStamp.stamp).where(CacheStamp.scope == scope))


def _round_trip(store) -> None:
    key = f"test:{uuid.uuid4().hex}"
    assert store.get(key) is None
    store.set(key, ("<p>fragment</p>", {"n": 1}), 60)
    assert store.get(key) == ("<p>fragment</p>", {"n": 1})
    store.set(key, "replaced", 60)
    assert store.get(key) == "replaced"


def _expires(store) -> None:
    store.set("old", "gone", -1)  # expired already
    assert store.get("old") is None


def test_memory_store_keeps_values_and_forgets_the_least_recently_used():
    _round_trip(MemoryStore())
    _expires(MemoryStore())
    store = MemoryStore(entries=2)
    store.set("a", 1, 60)
    store.set("b", 2, 60)
    assert store.get("a") == 1  # "b" is now the least recently used
    store.set("c", 3, 60)
    assert (store.get("a"), store.get("b"), store.get("c")) == (1, None, 3)


def test_directory_store_is_shared_by_two_processes_reading_one_folder(tmp_path):
    _round_trip(DirectoryStore(tmp_path))
    _expires(DirectoryStore(tmp_path))
    DirectoryStore(tmp_path).set("k", "written by one worker", 60)
    assert DirectoryStore(tmp_path).get("k") == "written by one worker"


def test_directory_store_sweeps_what_expired_and_keeps_at_most_its_entries(tmp_path):
    store = DirectoryStore(tmp_path, entries=10, sweep_every=5)
    store.set("gone", "expired", -1)
    (tmp_path / ".tmp-left-by-a-killed-worker").write_bytes(b"half")
    os.utime(tmp_path / ".tmp-left-by-a-killed-worker", (0, 0))
    for n in range(4):  # the fifth write sweeps
        store.set(f"k{n}", n, 60 + n)
    assert not (tmp_path / ".tmp-left-by-a-killed-worker").exists()
    assert store.get("gone") is None and len(list(tmp_path.iterdir())) == 4
    for n in range(4, 15):
        store.set(f"k{n}", n, 60 + n)  # a sweep at the 10th and the 15th write
    files = list(tmp_path.iterdir())
    assert len(files) <= 10 and not any(f.name.startswith(".tmp-") for f in files)
    assert store.get("k14") == 14 and store.get("k0") is None  # the first to expire went first


def test_redis_store_round_trip():
    server = redis_or_skip(13)
    store = RedisStore("redis://127.0.0.1:6379/13", prefix=f"consult-test-{uuid.uuid4().hex}:")
    _round_trip(store)
    store.set("k", "shared by every server", 60)
    assert RedisStore("redis://127.0.0.1:6379/13", prefix=store.prefix).get("k") == "shared by every server"
    server.delete(*server.keys(store.prefix + "*"))


def test_a_redis_that_does_not_answer_is_a_miss_not_an_error():
    store = RedisStore("redis://127.0.0.1:1/0")  # nothing listens there
    store.set("k", "v", 60)
    assert store.get("k") is None


def test_the_setting_chooses_the_store(tmp_path):
    assert isinstance(store_for(None, str(tmp_path)), MemoryStore)
    assert isinstance(store_for("memory://", str(tmp_path)), MemoryStore)
    assert isinstance(store_for(f"file://{tmp_path}/c", str(tmp_path)), DirectoryStore)
    assert store_for("cache", str(tmp_path)).path == tmp_path / "cache"  # relative: in the instance folder
    assert isinstance(store_for("redis://127.0.0.1:6379/13", str(tmp_path)), RedisStore)


def test_a_committed_write_draws_its_consultations_stamp_again_and_a_read_does_not(citizen):
    c = make_consultation()
    db.session.commit()
    scope = cache.consultation_scope(c.id)
    before = cache.stamps(cache.SITE, scope)
    assert before[1] != 0
    c.title = "A new title"
    db.session.commit()
    after = cache.stamps(cache.SITE, scope)
    assert after[1] != before[1]
    assert after[0] == before[0]  # a consultation's own rows leave the site's stamp alone

    db.session.scalars(select(CacheStamp)).all()
    db.session.commit()  # nothing written
    assert cache.stamps(cache.SITE, scope) == after

    citizen.display_name = "Renamed"  # a name pages show: the site's stamp
    db.session.commit()
    assert cache.stamps(cache.SITE, scope)[0] != after[0]


def test_a_comment_draws_its_consultations_stamp_and_not_the_sites(citizen):
    """A comment's derived rows (the thread counts, the event) must not draw the site's stamp:
    that would empty the cache of every consultation's pages at each comment posted anywhere."""
    from consult.comments.services import post_comment

    c = make_consultation()
    db.session.commit()
    scope = cache.consultation_scope(c.id)
    site, before = cache.stamps(cache.SITE, scope)
    post_comment(c, actor=citizen, body="A comment.", section_key=c.current_version.sections[0].key)
    db.session.commit()
    assert cache.stamps(cache.SITE, scope)[0] == site and cache.stamps(cache.SITE, scope)[1] != before
    assert not db.session.info.get(cache._SCOPES)  # nothing noted outlives the commit


def test_a_vote_draws_its_consultations_stamp_again_not_the_sites(citizen):
    """A vote is one INSERT ... SELECT (a withdrawal a DELETE by key): statements whose
    consultation the session cannot see in their values, which name it themselves."""
    from consult.voting.services import cast_vote, withdraw_vote

    c = make_consultation()
    section = c.current_version.sections[0].key
    db.session.commit()
    scope = cache.consultation_scope(c.id)
    before = cache.stamps(cache.SITE, scope)
    cast_vote(c, actor=citizen, value="support", section_key=section)
    db.session.commit()
    voted = cache.stamps(cache.SITE, scope)
    assert voted[1] != before[1] and voted[0] == before[0]
    assert withdraw_vote(c, actor=citizen, section_key=section)
    db.session.commit()
    withdrawn = cache.stamps(cache.SITE, scope)
    assert withdrawn[1] != voted[1] and withdrawn[0] == before[0]


def test_a_rolled_back_write_changes_no_stamp():
    c = make_consultation()
    db.session.commit()
    scope = cache.consultation_scope(c.id)
    before = _stamp(scope)
    c.title = "Never saved"
    db.session.flush()
    db.session.rollback()
    assert _stamp(scope) == before


def test_rows_no_page_shows_change_no_stamp():
    user = make_user()
    db.session.commit()
    before = cache.stamps(cache.SITE)
    from consult.accounts.services import start_login_session

    start_login_session(user)  # a sign-in: login_sessions only
    db.session.commit()
    assert cache.stamps(cache.SITE) == before


def test_uncommitted_writes_are_never_stored_for_others(app):
    built = []

    def build():
        built.append(1)
        return "value"

    with app.test_request_context("/"):
        make_user()  # pending in this transaction
        assert cache.cached("t", ("k", uuid.uuid4().hex), build) == "value"
        db.session.commit()
        parts = ("k", uuid.uuid4().hex)
        cache.cached("t", parts, build)
        cache.cached("t", parts, build)
    assert len(built) == 2  # the second call with the same parts was a hit


def test_a_deploy_that_changes_the_code_makes_new_keys(tmp_path):
    """A shared store outlives a deploy: fragments rendered by the old templates are not served."""
    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    page.write_text("<p>old</p>")
    before = cache.code_fingerprint(tmp_path)
    assert cache.code_fingerprint(tmp_path) == before
    os.utime(page, (0, 0))  # another server of the same release, installed at another time
    assert cache.code_fingerprint(tmp_path) == before
    page.write_text("<p>the new one</p>")
    assert cache.code_fingerprint(tmp_path) != before
