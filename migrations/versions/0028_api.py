"""api: access tokens (personal and organisations'), and the idempotency keys of API writes

Revision ID: 0028_api
Revises: 0027_texts
Create Date: 2026-12-07 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0028_api'
down_revision = '0027_texts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('created_at', consult.core.models.UTCDateTime(), nullable=False),
        sa.Column('expires_at', consult.core.models.UTCDateTime(), nullable=False),
        sa.Column('revoked_at', consult.core.models.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', consult.core.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'], name=op.f('fk_api_tokens_organisation_id_organisations'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
    op.create_table(
        'api_idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('location', sa.String(length=2000), nullable=True),
        sa.Column('created_at', consult.core.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['token_id'], ['api_tokens.id'], name=op.f('fk_api_idempotency_keys_token_id_api_tokens'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency_keys')),
        sa.UniqueConstraint('token_id', 'key', name=op.f('uq_api_idempotency_keys_token_id_key')),
    )
    with op.batch_alter_table('api_idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_api_idempotency_keys_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('api_idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_api_idempotency_keys_created_at')
    op.drop_table('api_idempotency_keys')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_api_tokens_organisation_id'))
    op.drop_table('api_tokens')
