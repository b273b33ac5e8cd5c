"""search_gin: one GIN index per text-search configuration (PostgreSQL only)

Revision ID: 0033_search_gin
Revises: 0032_thread_counts
Create Date: 2026-12-07 01:20:00

A search matches each row with the query stemmed in the row's own configuration
(``config = 'english' AND document @@ …english query…``, one branch per configuration). With one
GIN index over every row, each branch read every row holding the lexeme, whatever its
configuration ("council" is the same lexeme in English and in ``simple``), and threw most away
on recheck. A partial GIN index per configuration gives each branch only its own rows. The
configurations are those ``consult.search.postgres_backend.CONFIGS`` uses, and ``simple``.
SQLite has no such table.
"""

from alembic import op

revision = '0033_search_gin'
down_revision = '0032_thread_counts'
branch_labels = None
depends_on = None

CONFIGS = ("english", "french", "spanish", "arabic", "simple")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for config in CONFIGS:
        op.execute(
            f"CREATE INDEX ix_documents_document_{config} ON consult_search.documents USING gin (document) WHERE config = '{config}'"
        )
    op.execute("DROP INDEX consult_search.ix_documents_document")
    op.execute("ANALYZE consult_search.documents")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_documents_document ON consult_search.documents USING gin (document)")
    for config in CONFIGS:
        op.execute(f"DROP INDEX consult_search.ix_documents_document_{config}")
