"""search: each search document records its language and is stemmed in that language's
text-search configuration (PostgreSQL only)

Revision ID: 0026_search
Revises: 0025_webhooks
Create Date: 2026-12-07 10:00:00

``consult_search.documents`` gains ``language`` and ``config`` (the rows already there were
all stemmed in English: they keep their vectors). ``document`` was generated with
``to_tsvector('english', …)``; a generated column cannot use a configuration that varies by row
(casting its name to ``regconfig`` is not immutable), so it becomes a plain column that a
trigger computes from ``config``, ``title`` and ``body`` on every insert and update. Its GIN
index stays. Needs PostgreSQL 13 or later (``DROP EXPRESSION``). SQLite has no such table.
"""

from alembic import op

revision = '0026_search'
down_revision = '0025_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        ALTER TABLE consult_search.documents
            ADD COLUMN language varchar(16) NOT NULL DEFAULT 'en',
            ADD COLUMN config varchar(63) NOT NULL DEFAULT 'english',
            ALTER COLUMN document DROP EXPRESSION
    """)
    op.execute("""
        CREATE FUNCTION consult_search.document_vector() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.document := setweight(to_tsvector(NEW.config::regconfig, NEW.title), 'A')
                || setweight(to_tsvector(NEW.config::regconfig, NEW.body), 'B');
            RETURN NEW;
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER document_vector BEFORE INSERT OR UPDATE OF config, title, body ON consult_search.documents
        FOR EACH ROW EXECUTE FUNCTION consult_search.document_vector()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER document_vector ON consult_search.documents")
    op.execute("DROP FUNCTION consult_search.document_vector()")
    # Back to English vectors for every row: what 0005 generated.
    op.execute("ALTER TABLE consult_search.documents DROP COLUMN document")
    op.execute("""
        ALTER TABLE consult_search.documents ADD COLUMN document tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
        ) STORED
    """)
    op.execute("CREATE INDEX ix_documents_document ON consult_search.documents USING gin (document)")
    op.execute("ALTER TABLE consult_search.documents DROP COLUMN language, DROP COLUMN config")
