"""The Whoosh index: one folder (``SEARCH_DIR``) shared by the processes of one machine.

Concurrent writers. Whoosh lets one writer at a time hold the folder's lock (an ``fcntl``
file lock, so it works across gunicorn workers and CLI processes). Each commit's update takes
that lock with retries (``timeout``/``delay``), and only then re-reads the touched rows from the
database. Reading under the lock, after the commit, is what makes concurrent updates safe: any
two updates of one document are applied in lock order, and the later one read a state at least
as new as the earlier one's, so the index ends at the latest committed state whatever order the
commits and the lock acquisitions happened in. If the lock cannot be had in time (a long
``consult reindex`` holds it), the touched ids are appended to ``pending.jsonl`` in the folder,
and the next writer that gets the lock applies them too: nothing is lost.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from markupsafe import Markup, escape
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema
from whoosh.highlight import ContextFragmenter, HtmlFormatter, get_text, htmlescape
from whoosh.index import LockError
from whoosh.query import And, ConstantScoreQuery, Or, Phrase, Term

from consult.core.models import sqlite_write_intent
from consult.search import documents
from consult.search.documents import Changes, Document, Plan
from consult.search.query import ParsedQuery, QueryError

log = logging.getLogger(__name__)

#: Bump when the schema or what goes into a document changes: an index of another format is
#: rebuilt on start.
FORMAT = 1
LOCK_TIMEOUT = 10.0  # seconds an update waits for the writer lock before it is journalled
LOCK_DELAY = 0.02
SNIPPET_CHARS = 240

_analyzer = StemmingAnalyzer()


def schema() -> Schema:
    return Schema(
        key=ID(stored=True, unique=True),
        kind=ID(stored=True),
        consultation=ID(stored=True),
        section=ID(stored=True),
        state=ID(stored=True),
        thread=ID(),
        ref=STORED(),
        date=DATETIME(stored=True, sortable=True),
        title=TEXT(analyzer=StemmingAnalyzer(), stored=True, field_boost=2.0),
        body=TEXT(analyzer=StemmingAnalyzer(), stored=True),
    )


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _fields(doc: Document) -> dict:
    fields = {
        "key": doc.key,
        "kind": doc.kind,
        "consultation": str(doc.consultation_id),
        "state": doc.state,
        "ref": doc.ref_id,
        "date": _naive_utc(doc.date),
        "title": doc.title,
        "body": doc.body,
    }
    if doc.section_key:
        fields["section"] = doc.section_key
    if doc.thread_id:
        fields["thread"] = str(doc.thread_id)
    return fields


class MarkFormatter(HtmlFormatter):
    """Matches as plain ``<mark>``s; the text around them is escaped by ``HtmlFormatter``."""

    def format_token(self, text, token, replace=False):
        return f"<mark>{htmlescape(get_text(text, token, replace), quote=False)}</mark>"


def analyse(word: str) -> list[str]:
    return [t.text for t in _analyzer(word)]


class WhooshBackend:
    name = "whoosh"
    writes_in_transaction = False

    def __init__(self, folder: str | os.PathLike, *, lock_timeout: float = LOCK_TIMEOUT):
        self.folder = Path(folder)
        self.lock_timeout = lock_timeout
        self._index = None

    # ---- the folder ----------------------------------------------------------------------

    @contextmanager
    def _folder_lock(self) -> Iterator[None]:
        """Our own lock for creating or replacing the index (Whoosh's covers writing only)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "consult.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _marker(self) -> Path:
        return self.folder / "consult-index.json"

    def is_current(self) -> bool:
        """Built in full by ``rebuild`` in this format (updates alone never make it current)."""
        try:
            return whoosh_index.exists_in(str(self.folder)) and json.loads(self._marker().read_text()).get("format") == FORMAT
        except (OSError, ValueError):
            return False

    def index(self):
        if self._index is None:
            with self._folder_lock():
                if not whoosh_index.exists_in(str(self.folder)):
                    whoosh_index.create_in(str(self.folder), schema())
                self._index = whoosh_index.open_dir(str(self.folder))
        return self._index

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob("*") if p.is_file())

    def document_keys(self) -> set[str]:
        with self.index().searcher() as searcher:
            return {fields["key"] for fields in searcher.all_stored_fields()}

    # ---- writing -------------------------------------------------------------------------

    @contextmanager
    def _reading_session(self, session: Session) -> Iterator[Session]:
        """A fresh session that sees what was just committed (the committed one may not emit SQL)."""
        bind = session.get_bind()
        token = sqlite_write_intent.set(False)  # a reader: SQLite's deferred BEGIN never waits
        reader = Session(bind=bind, join_transaction_mode="create_savepoint") if isinstance(bind, Connection) else Session(bind=bind)
        reader.info["consult_search_applying"] = True
        try:
            yield reader
        finally:
            reader.close()
            sqlite_write_intent.reset(token)

    def apply_after_commit(self, session: Session, changes: Changes) -> None:
        try:
            with self._reading_session(session) as reader:
                self.apply(reader, changes)
        except Exception:
            # The commit stands; the index catches up with the next writer (or on start).
            log.exception("search index update failed; journalled for the next writer")
            self._journal(changes)

    def apply(self, session: Session, changes: Changes) -> None:
        """Take the writer lock, then re-read and write; journal the ids if the lock is busy."""
        try:
            writer = self.index().writer(timeout=self.lock_timeout, delay=LOCK_DELAY)
        except LockError:
            log.warning("search index busy for %.0f s: update journalled for the next writer", self.lock_timeout)
            self._journal(changes)
            return
        try:
            changes.merge(self._drain_journal())
            if changes.everything:
                writer.cancel()
                self.rebuild(session)
                return
            with self.index().searcher() as searcher:
                plan = documents.plan(session, changes, indexed=lambda cid: searcher.document_number(key=f"consultation:{cid}") is not None)
            self._write(writer, plan)
            writer.commit()
        except BaseException:
            writer.cancel()
            self._journal(changes)
            raise

    @staticmethod
    def _write(writer, plan: Plan) -> None:
        for cid in plan.drop_consultations:
            writer.delete_by_term("consultation", str(cid))
        for cid, kind in plan.drop_kinds:
            writer.delete_by_query(And([Term("consultation", str(cid)), Term("kind", kind)]))
        for thread in plan.drop_threads:
            writer.delete_by_term("thread", str(thread))
        for key in plan.delete_keys:
            writer.delete_by_term("key", key)
        for doc in plan.upserts:
            writer.update_document(**_fields(doc))

    def _journal(self, changes: Changes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "pending.jsonl", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(json.dumps(changes.to_json()) + "\n")
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)

    def _drain_journal(self) -> Changes:
        """Called holding the writer lock. A failed write journals everything again."""
        pending = Changes()
        path = self.folder / "pending.jsonl"
        if not path.exists():
            return pending
        with open(path, "r+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            for line in handle:
                if line.strip():
                    pending.merge(Changes.from_json(json.loads(line)))
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
        return pending

    def rebuild(self, session: Session, *, progress: Callable[[int], None] | None = None) -> int:
        """Write every public document afresh and mark the index current. Returns how many."""
        with self._folder_lock():
            if whoosh_index.exists_in(str(self.folder)) and not self.is_current():
                self._index = None  # another format: start from an empty folder
                for path in self.folder.iterdir():
                    if path.name not in ("consult.lock", "pending.jsonl"):
                        shutil.rmtree(path) if path.is_dir() else path.unlink()
            if not whoosh_index.exists_in(str(self.folder)):
                whoosh_index.create_in(str(self.folder), schema())
            self._index = whoosh_index.open_dir(str(self.folder))
        writer = self._index.writer(timeout=max(self.lock_timeout, 60.0), delay=0.1, limitmb=256)
        count = 0
        try:
            self._drain_journal()  # everything is re-read below
            for doc in documents.all_documents(session):
                writer.add_document(**_fields(doc))
                count += 1
                if progress and count % 500 == 0:
                    progress(500)
            writer.commit(mergetype=writing.CLEAR)
        except BaseException:
            writer.cancel()
            raise
        if progress:
            progress(count % 500)
        self._marker().write_text(json.dumps({"format": FORMAT, "built_at": datetime.now(UTC).isoformat(), "documents": count}))
        return count

    # ---- reading -------------------------------------------------------------------------

    def _query(self, parsed: ParsedQuery):
        parts = []
        for word in parsed.words:
            terms = analyse(word)
            if terms:
                parts.append(Or([Term("title", terms[0]), Term("body", terms[0])]))
        for phrase in parsed.phrases:
            terms = [t for w in phrase for t in analyse(w)]
            if len(terms) > 1:
                slop = 1 + len(phrase) - len(terms)
                parts.append(Or([Phrase("title", terms, slop=slop), Phrase("body", terms, slop=slop)]))
            elif terms:
                parts.append(Or([Term("title", terms[0]), Term("body", terms[0])]))
        if not parts:
            raise QueryError("Those words are too common to search for: add a more specific one.")
        return And(parts) if len(parts) > 1 else parts[0]

    def search(
        self,
        session: Session,
        parsed: ParsedQuery,
        *,
        consultation_ids: set[int],
        kinds: tuple[str, ...] | None,
        page: int,
        per_page: int,
        restrict_consultations: bool = True,
    ):
        from consult.search.services import RawHit, RawPage

        query = self._query(parsed)
        if not consultation_ids:
            return RawPage([], 0)
        # Restrictions are intersected lazily in the query (Whoosh's ``filter=`` would first
        # collect every document of the allowed consultations: seconds on 100,000), and score
        # the same for every document, so they do not change the ranking. The index holds public
        # consultations only, so "any public consultation" needs no restriction at all.
        restrict = []
        if restrict_consultations:
            restrict.append(ConstantScoreQuery(Or([Term("consultation", str(i)) for i in sorted(consultation_ids)])))
        if kinds:
            restrict.append(ConstantScoreQuery(Or([Term("kind", k) for k in kinds])))
        with self.index().searcher() as searcher:
            results = searcher.search(And([query, *restrict]) if restrict else query, limit=page * per_page)
            results.fragmenter = ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
            results.formatter = MarkFormatter(between=" … ")
            hits = []
            for hit in results[(page - 1) * per_page : page * per_page]:
                body = hit.get("body") or ""
                snippet = hit.highlights("body", top=2) or str(escape(body[:SNIPPET_CHARS] + ("…" if len(body) > SNIPPET_CHARS else "")))
                title = hit.highlights("title") or str(escape(hit.get("title") or ""))
                hits.append(
                    RawHit(
                        key=hit["key"],
                        kind=hit["kind"],
                        consultation_id=int(hit["consultation"]),
                        section_key=hit.get("section"),
                        ref_id=hit.get("ref"),
                        date=hit["date"].replace(tzinfo=UTC),
                        title_html=Markup(title),
                        snippet_html=Markup(snippet),
                        score=hit.score,
                    )
                )
            return RawPage(hits, len(results))
