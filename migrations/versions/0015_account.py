"""account: login sessions remember when they were last used, from what browser and address; sign-in failures from a known browser are counted apart

Revision ID: 0015_account
Revises: 0014_delivery
Create Date: 2026-12-06 12:30:00.000000

"""

from alembic import op
import sqlalchemy as sa

from consult.core.models import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0015_account'
down_revision = '0014_delivery'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('device', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('address', sa.String(length=64), nullable=True))
    op.execute("UPDATE login_sessions SET last_seen_at = created_at")
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=UTCDateTime(timezone=True), nullable=False)
    with op.batch_alter_table('signin_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('known_device', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('signin_attempts', schema=None) as batch_op:
        batch_op.drop_column('known_device')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('address')
        batch_op.drop_column('device')
        batch_op.drop_column('last_seen_at')
