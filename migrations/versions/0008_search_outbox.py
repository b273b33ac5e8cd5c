"""search outbox: what each commit touched, until the Whoosh index has it

Revision ID: 0008_search_outbox
Revises: 0007_audit
Create Date: 2026-12-07 10:00:00.000000

Rows are written in the same transaction as the change they describe and deleted by the job
worker once the index has them (``consult/search/outbox.py``). They hold ids only.
"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0008_search_outbox'
down_revision = '0007_audit'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'search_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_outbox')),
    )


def downgrade():
    op.drop_table('search_outbox')
