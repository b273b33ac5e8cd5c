"""blocks_by_user: blocks found by the person blocked

Revision ID: 0035_blocks_by_user
Revises: 0034_map_stamps
Create Date: 2026-12-07 22:50:00

Every permission to take part asked whether the organisation blocks the person: a query per
signed-in request that writes or shows a form. The sign-in loader now asks once, with the
session, whether any organisation blocks them (almost never), which needs blocks indexed by the
person (the unique constraint leads with the organisation). Erasing an account, which deletes
its blocks, uses the index too.
"""

from alembic import op

revision = '0035_blocks_by_user'
down_revision = '0034_map_stamps'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocks_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocks_user_id'))
