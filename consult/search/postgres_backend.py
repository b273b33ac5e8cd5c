"""PostgreSQL full-text search behind the same interface as the Whoosh index.

Documents live in ``consult_search.documents`` (migration 0005): the same rows the Whoosh index
would hold, with a generated, GIN-indexed ``to_tsvector('english', …)`` column. They are written
in the committing transaction itself (``before_commit``), so they commit or roll back with the
change and several app servers need no shared folder. Searching also joins the live
``contributions`` row through ``visible_contributions(None)``, so a count can never include
something hidden, whatever the table holds.
"""

from __future__ import annotations

from markupsafe import Markup, escape
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import TSVECTOR, insert
from sqlalchemy.orm import Session

from consult.contributions.models import Contribution
from consult.permissions import visible_contributions
from consult.search import documents as docs
from consult.search.documents import CONTRIBUTION_KINDS, Changes, Document, Plan
from consult.search.query import ParsedQuery, QueryError

# Not in the models' metadata: derived data in a schema of its own (see the migration).
documents = Table(
    "documents",
    MetaData(schema="consult_search"),
    Column("key", String(140), primary_key=True),
    Column("kind", String(20)),
    Column("consultation_id", Integer),
    Column("section_key", String(80)),
    Column("ref_id", Integer),
    Column("thread_id", Integer),
    Column("state", String(20)),
    Column("date", DateTime(timezone=True)),
    Column("title", Text),
    Column("body", Text),
    Column("document", TSVECTOR),  # generated from title (weight A) and body (weight B)
)
_START, _STOP = "\x02", "\x03"
_BATCH = 1000


def _clean(value: str) -> str:
    return value.replace(_START, "").replace(_STOP, "")


def _row(doc: Document) -> dict:
    return {
        "key": doc.key,
        "kind": doc.kind,
        "consultation_id": doc.consultation_id,
        "section_key": doc.section_key,
        "ref_id": doc.ref_id,
        "thread_id": doc.thread_id,
        "state": doc.state,
        "date": doc.date,
        "title": _clean(doc.title),
        "body": _clean(doc.body),
    }


def _marked(headline: str | None) -> Markup:
    return Markup(str(escape(headline or "")).replace(_START, "<mark>").replace(_STOP, "</mark>"))


class PostgresBackend:
    name = "postgres"
    writes_in_transaction = True

    def is_current(self) -> bool:
        return True  # written in the same transactions as the data; ``consult reindex`` to fill it once

    def size_bytes(self, session: Session) -> int:
        return session.scalar(select(func.pg_total_relation_size("consult_search.documents")))

    def document_keys(self, session: Session) -> set[str]:
        return set(session.scalars(select(documents.c.key)))

    def apply_in_transaction(self, session: Session, changes: Changes) -> None:
        if changes.everything:
            self.rebuild(session)
            return
        indexed = lambda cid: session.scalar(select(documents.c.key).where(documents.c.key == f"consultation:{cid}")) is not None  # noqa: E731
        self._write(session, docs.plan(session, changes, indexed=indexed))

    def _write(self, session: Session, plan: Plan) -> None:
        d = documents.c
        if plan.drop_consultations:
            session.execute(delete(documents).where(d.consultation_id.in_(plan.drop_consultations)))
        for cid, kind in plan.drop_kinds:
            session.execute(delete(documents).where(d.consultation_id == cid, d.kind == kind))
        if plan.drop_threads:
            session.execute(delete(documents).where(d.thread_id.in_(plan.drop_threads)))
        if plan.delete_keys:
            session.execute(delete(documents).where(d.key.in_(plan.delete_keys)))
        rows = [_row(doc) for doc in {doc.key: doc for doc in plan.upserts}.values()]
        for start in range(0, len(rows), _BATCH):
            statement = insert(documents).values(rows[start : start + _BATCH])
            columns = {c: statement.excluded[c] for c in rows[0] if c != "key"}
            session.execute(statement.on_conflict_do_update(index_elements=["key"], set_=columns))

    def rebuild(self, session: Session, *, progress=None) -> int:
        session.execute(delete(documents))
        batch: list[dict] = []
        count = 0
        for doc in docs.all_documents(session):
            batch.append(_row(doc))
            if len(batch) >= _BATCH:
                session.execute(insert(documents), batch)
                count += len(batch)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            session.execute(insert(documents), batch)
            count += len(batch)
            if progress:
                progress(len(batch))
        return count

    def _tsquery(self, parsed: ParsedQuery):
        parts = [func.plainto_tsquery("english", w) for w in parsed.words]
        parts += [func.phraseto_tsquery("english", " ".join(p)) for p in parsed.phrases]
        query = parts[0]
        for part in parts[1:]:
            query = query.op("&&")(part)
        return query

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

        tsquery = self._tsquery(parsed)
        if not session.scalar(select(func.numnode(tsquery))):
            raise QueryError("Those words are too common to search for: add a more specific one.")
        if not consultation_ids:
            return RawPage([], 0)
        d = documents.c
        vector = d.document
        is_contribution = d.kind.in_(CONTRIBUTION_KINDS)
        where = [vector.op("@@")(tsquery), d.consultation_id.in_(consultation_ids), or_(~is_contribution, visible_contributions(None))]
        if kinds:
            where.append(d.kind.in_(kinds))
        matches = (
            select(
                d.key,
                d.kind,
                d.consultation_id,
                d.section_key,
                d.ref_id,
                d.date,
                d.title,
                d.body,
                func.ts_rank_cd(vector, tsquery).label("rank"),
                func.count().over().label("total"),
            )
            .select_from(documents.outerjoin(Contribution, and_(is_contribution, Contribution.id == d.ref_id)))
            .where(*where)
            .order_by(func.ts_rank_cd(vector, tsquery).desc(), d.key)
            .limit(per_page)
            .offset((page - 1) * per_page)
            .subquery()
        )
        options = f"StartSel={_START}, StopSel={_STOP}, MaxFragments=2, MaxWords=30, MinWords=12, FragmentDelimiter=\" … \""
        rows = session.execute(
            select(
                matches,
                func.ts_headline("english", matches.c.title, tsquery, f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true").label(
                    "title_html"
                ),
                func.ts_headline("english", matches.c.body, tsquery, options).label("snippet"),
            ).order_by(matches.c.rank.desc(), matches.c.key)
        ).all()
        total = rows[0].total if rows else (0 if page == 1 else self._count(session, where))
        hits = [
            RawHit(
                key=r.key,
                kind=r.kind,
                consultation_id=r.consultation_id,
                section_key=r.section_key,
                ref_id=r.ref_id,
                date=r.date,
                title_html=_marked(r.title_html),
                snippet_html=_marked(r.snippet),
                score=float(r.rank),
            )
            for r in rows
        ]
        return RawPage(hits, total)

    def _count(self, session: Session, where) -> int:
        d = documents.c
        return session.scalar(
            select(func.count())
            .select_from(documents.outerjoin(Contribution, and_(d.kind.in_(CONTRIBUTION_KINDS), Contribution.id == d.ref_id)))
            .where(*where)
        )
