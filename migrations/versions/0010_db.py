"""opinion map failures: when, why and for which votes the last computation failed

Revision ID: 0010_db
Revises: 0009_mail
Create Date: 2026-12-06 06:30:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0010_db'
down_revision = '0009_mail'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('opinion_maps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_at', consult.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failure', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('failed_vote_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('failed_last_vote_at', consult.core.models.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('opinion_maps', schema=None) as batch_op:
        batch_op.drop_column('failed_last_vote_at')
        batch_op.drop_column('failed_vote_count')
        batch_op.drop_column('failure')
        batch_op.drop_column('failed_at')
