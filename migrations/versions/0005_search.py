"""search: PostgreSQL full-text search documents (PostgreSQL only)

Revision ID: 0005_search
Revises: 0004_moderation
Create Date: 2026-12-02 10:00:00

The table lives in a schema of its own, ``consult_search``: it is derived data that
``consult reindex`` can rebuild at any time, owned by ``consult/search/postgres_backend.py``
rather than by the models (so the models' schema, in ``public``, is the same on every
database). SQLite has no such table: there the Whoosh index is used.
"""

from alembic import op

revision = '0005_search'
down_revision = '0004_moderation'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP SCHEMA IF EXISTS consult_search CASCADE")  # left over from an earlier public schema
    op.execute("CREATE SCHEMA consult_search")
    op.execute("""
        CREATE TABLE consult_search.documents (
            key varchar(140) PRIMARY KEY,
            kind varchar(20) NOT NULL,
            consultation_id integer NOT NULL REFERENCES public.consultations (id) ON DELETE CASCADE,
            section_key varchar(80),
            ref_id integer,
            thread_id integer,
            state varchar(20) NOT NULL,
            date timestamptz NOT NULL,
            title text NOT NULL DEFAULT '',
            body text NOT NULL DEFAULT '',
            document tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
            ) STORED
        )
    """)
    op.execute("CREATE INDEX ix_documents_document ON consult_search.documents USING gin (document)")
    op.execute("CREATE INDEX ix_documents_consultation_kind ON consult_search.documents (consultation_id, kind)")
    op.execute("CREATE INDEX ix_documents_thread ON consult_search.documents (thread_id) WHERE thread_id IS NOT NULL")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP SCHEMA IF EXISTS consult_search CASCADE")
