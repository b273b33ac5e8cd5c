"""pages: change stamps that key the pages' cached fragments (consult/core/cache.py)

Revision ID: 0031_pages
Revises: 0030_groups
Create Date: 2026-12-07 01:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0031_pages'
down_revision = '0030_groups'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'cache_stamps',
        sa.Column('scope', sa.String(length=64), nullable=False),
        sa.Column('stamp', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_cache_stamps')),
    )


def downgrade():
    op.drop_table('cache_stamps')
