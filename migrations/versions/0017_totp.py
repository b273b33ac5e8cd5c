"""totp: two-factor sign-in (an authenticator's secret, recovery codes, wrong codes counted)

Revision ID: 0017_totp
Revises: 0016_oidc
Create Date: 2026-12-06 12:40:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0017_totp'
down_revision = '0016_oidc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'two_factor',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=255), nullable=False),
        sa.Column('created_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('enabled_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_step', sa.BigInteger(), nullable=True),
        sa.Column('last_used_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_factor_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_two_factor')),
    )
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('used_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
        sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_recovery_codes_user_id_code_hash')),
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    op.create_table(
        'two_factor_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('attempted_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_factor_failures_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_two_factor_failures')),
    )
    with op.batch_alter_table('two_factor_failures', schema=None) as batch_op:
        batch_op.create_index('ix_two_factor_failures_user_at', ['user_id', 'attempted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('two_factor_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_two_factor_failures_user_at')
    op.drop_table('two_factor_failures')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    op.drop_table('two_factor')
