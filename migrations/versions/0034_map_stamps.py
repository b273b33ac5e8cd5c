"""map_stamps: the change stamps an opinion map is known current at

Revision ID: 0034_map_stamps
Revises: 0033_search_gin
Create Date: 2026-12-07 12:00:00

Whether a consultation's stored opinion map is current was a COUNT and a MAX over every vote on
its statements, on every view of the map page and every poll of its status: 2.5 million votes
read per view at national scale. The map now keeps the site's and the consultation's change
stamps (``cache_stamps``) at which it was known current; while they have not moved, no vote
changed and the page reads two stamps instead. NULL: not known, the votes are counted.
"""

import sqlalchemy as sa
from alembic import op

revision = '0034_map_stamps'
down_revision = '0033_search_gin'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('opinion_maps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_stamp', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('consultation_stamp', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('opinion_maps', schema=None) as batch_op:
        batch_op.drop_column('consultation_stamp')
        batch_op.drop_column('site_stamp')
