"""opinion map: meta statements (Pol.is's is-meta) and the k-smoothing state of the stored map

Revision ID: 0011_opinion
Revises: 0011_anchors
Create Date: 2026-12-07 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_opinion'
down_revision = '0011_anchors'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_meta', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('opinion_maps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('best_k', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('best_k_runs', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('shown_k', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('opinion_maps', schema=None) as batch_op:
        batch_op.drop_column('shown_k')
        batch_op.drop_column('best_k_runs')
        batch_op.drop_column('best_k')
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_column('is_meta')
