"""PostgreSQL full-text search behind the same interface as the Whoosh index.

Documents live in ``consult_search.documents`` (migrations 0005 and 0025): the same rows the
Whoosh index would hold, each with its language and the text-search configuration that language
is stemmed with (``CONFIGS``: ``french`` for French…), and a GIN-indexed ``tsvector`` that a
trigger computes from title (weight A) and body (weight B) in that configuration (a generated
column cannot: the configuration varies by row, and casting its name is not immutable). A query
is stemmed in each configuration searched and each row is matched with its own configuration's
query, so "développer" finds "développement" in French rows. They are written
in the committing transaction itself (``before_commit``), so they commit or roll back with the
change and several app servers need no shared folder. A search ranks a bounded
set of candidates (see ``search``); the page shown is checked against the live rows by
``services`` (as with Whoosh), and the count comes from the table, which holds only what the
public may read: it is written in the transaction of every change that alters that.
"""

from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSVECTOR, insert
from sqlalchemy.orm import Session

from consult.search import documents as docs
from consult.search.documents import TEXT_LANGUAGE, Changes, Document, Plan
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
    Column("language", String(16)),  # what title and body are written in ("en", "fr"…)
    Column("config", String(63)),  # the text-search configuration they are stemmed with
    Column("document", TSVECTOR),  # set by a trigger from title (weight A) and body (weight B)
)
#: The text-search configuration of each language (PostgreSQL's Snowball stemmers and stop
#: words; ``arabic`` since PostgreSQL 13). Any other language, or one the server lacks: ``simple``
#: (lowercased words as written).
CONFIGS = {"en": "english", "fr": "french", "es": "spanish", "ar": "arabic"}  # each with its GIN index (migration 0031)
SIMPLE = "simple"
_START, _STOP = "\x02", "\x03"
_BATCH = 1000


def _clean(value: str) -> str:
    return value.replace(_START, "").replace(_STOP, "")


def _row(doc: Document, configs: dict[str, str]) -> dict:
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
        "language": doc.language,
        "config": configs.get(doc.language, SIMPLE),
    }


def _marked(headline: str | None) -> Markup:
    return Markup(str(escape(headline or "")).replace(_START, "<mark>").replace(_STOP, "</mark>"))


class PostgresBackend:
    name = "postgres"
    writes_in_transaction = True

    def __init__(self):
        self._configs: dict[str, str] | None = None

    def configs(self, session: Session) -> dict[str, str]:
        """``CONFIGS`` as this server has them (read once)."""
        if self._configs is None:
            present = set(session.scalars(text("SELECT cfgname::text FROM pg_catalog.pg_ts_config")))
            self._configs = {language: config for language, config in CONFIGS.items() if config in present}
        return self._configs

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
        configs = self.configs(session)
        rows = [_row(doc, configs) for doc in {doc.key: doc for doc in plan.upserts}.values()]
        for start in range(0, len(rows), _BATCH):
            statement = insert(documents).values(rows[start : start + _BATCH])
            columns = {c: statement.excluded[c] for c in rows[0] if c != "key"}
            session.execute(statement.on_conflict_do_update(index_elements=["key"], set_=columns))

    def rebuild(self, session: Session, *, progress=None) -> int:
        session.execute(delete(documents))
        configs = self.configs(session)
        batch: list[dict] = []
        count = 0
        for doc in docs.all_documents(session):
            batch.append(_row(doc, configs))
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
        session.execute(text("ANALYZE consult_search.documents"))  # the planner's figures for the GIN indexes
        return count

    @staticmethod
    def _tsquery(parsed: ParsedQuery, config: str):
        parts = [func.plainto_tsquery(config, w) for w in parsed.words]
        parts += [func.phraseto_tsquery(config, " ".join(p)) for p in parsed.phrases]
        query = parts[0]
        for part in parts[1:]:
            query = query.op("&&")(part)
        return query

    def _tsqueries(self, session: Session, parsed: ParsedQuery, *, language: str | None, first: str) -> dict[str, object]:
        """The query stemmed in each configuration searched (``language``'s, or every one), each
        that keeps a word. Refused when every word is too common in ``first``, the language
        searched first (the reader's, or English), as it was before there were several."""
        configs = self.configs(session)
        wanted = [configs.get(language, SIMPLE)] if language else [*dict.fromkeys(configs.values()), SIMPLE]
        queries = {config: self._tsquery(parsed, config) for config in wanted}
        sizes = session.execute(select(*(func.numnode(q) for q in queries.values()))).one()
        kept = {config: q for (config, q), size in zip(queries.items(), sizes, strict=True) if size}
        if configs.get(first, SIMPLE) not in kept:
            raise QueryError(_("Those words are too common to search for: add a more specific one."))
        return kept

    def search(
        self,
        session: Session,
        parsed: ParsedQuery,
        *,
        consultation_ids: set[int] | None,
        kinds: tuple[str, ...] | None,
        page: int,
        per_page: int,
        restrict_consultations: bool = True,
        language: str | None = None,
        reader: str | None = None,
    ):
        from consult.search.services import RawHit, RawPage, about, exact_up_to

        queries = self._tsqueries(session, parsed, language=language, first=language or reader or TEXT_LANGUAGE)
        if consultation_ids is not None and not consultation_ids:
            return RawPage([], 0)
        d = documents.c
        # Each row is matched with the query stemmed in its own configuration (a look-up in that
        # configuration's GIN index, migration 0031), and ranked and highlighted with it.
        matched = or_(*(and_(d.config == config, d.document.op("@@")(q)) for config, q in queries.items()))
        own = lambda config_column: case(*((config_column == c, q) for c, q in queries.items()))  # noqa: E731
        where = [matched]
        if consultation_ids is not None:  # None: any public consultation, all the table holds
            where.append(d.consultation_id.in_(consultation_ids))
        if kinds:
            where.append(d.kind.in_(kinds))
        if language:
            where.append(d.language == language)
        # A bounded candidate set: the first ``bound`` matches the index gives (and one more, to
        # tell there are more), checked against the live rows, and only they ranked. Up to the
        # bound the count is exact and the ranking complete; beyond, the ranking is the
        # candidates' and the count an estimate ("about 14,000 results"), from how far through
        # the table the candidates reached.
        bound = max(page * per_page, exact_up_to(per_page))
        candidates = (
            select(d.key, d.language, d.config, d.document)
            .add_columns(literal_column("(consult_search.documents.ctid::text::point)[0]").label("block"))
            .where(*where)
            .limit(bound + 1)
            .cte("candidates")
        )
        c = candidates.c
        rank = func.ts_rank_cd(c.document, own(c.config))
        order = [rank.desc(), c.key]
        if reader and not language:
            order.insert(0, (c.language == reader).desc())
        ranked = select(c.key, (c.language == (reader or "")).label("first"), rank.label("rank")).order_by(*order)
        ranked = ranked.limit(per_page).offset((page - 1) * per_page).subquery()
        matches = (
            select(d.key, d.kind, d.consultation_id, d.section_key, d.ref_id, d.date, d.title, d.body, d.language, d.config)
            .add_columns(ranked.c.first, ranked.c.rank)
            .join_from(ranked, documents, documents.c.key == ranked.c.key)
            .subquery()
        )
        options = f"StartSel={_START}, StopSel={_STOP}, MaxFragments=2, MaxWords=30, MinWords=12, FragmentDelimiter=\" … \""
        config = cast(matches.c.config, REGCONFIG)
        query = own(matches.c.config)
        counts = select(
            select(func.count()).select_from(candidates).scalar_subquery().label("found"),
            select(func.max(c.block)).scalar_subquery().label("reached"),
            (func.pg_relation_size("consult_search.documents") / cast(func.current_setting("block_size"), Integer)).label("blocks"),
        ).subquery()
        # Through the GIN indexes: the planner prices ``@@`` so low that it would rather read the
        # table until enough rows match (34 ms where the indexes take 5, on 20,000 rows), so
        # sequential scans are off for this statement (and put back as they were).
        previous = session.scalar(select(func.current_setting("enable_seqscan")))
        session.execute(select(func.set_config("enable_seqscan", "off", True)))
        rows = session.execute(
            select(
                counts,
                matches,
                func.ts_headline(config, matches.c.title, query, f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true").label(
                    "title_html"
                ),
                func.ts_headline(config, matches.c.body, query, options).label("snippet"),
            )
            .select_from(counts.outerjoin(matches, true()))
            .order_by(*([matches.c.first.desc()] if reader and not language else []), matches.c.rank.desc(), matches.c.key)
        ).all()
        session.execute(select(func.set_config("enable_seqscan", previous, True)))
        first = rows[0]  # the counts, and no page row (key None) when the page is past the last
        total, approximate = first.found, False
        if first.found > bound:
            total, approximate = about(bound * max(int(first.blocks), 1) / (int(first.reached) + 1), bound), True
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
                language=r.language,
            )
            for r in rows
            if r.key is not None
        ]
        return RawPage(hits, total, approximate)
