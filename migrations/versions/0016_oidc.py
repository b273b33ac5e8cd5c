"""oidc: accounts at identity providers (OpenID Connect) linked to people, by issuer and subject

Revision ID: 0016_oidc
Revises: 0015_account
Create Date: 2026-12-06 12:40:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0016_oidc'
down_revision = '0015_account'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'identity_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=40), nullable=False),
        sa.Column('issuer', sa.String(length=255), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('created_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_identity_links_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_links')),
        sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_identity_links_issuer_subject')),
    )
    with op.batch_alter_table('identity_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_links_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('identity_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_links_user_id'))
    op.drop_table('identity_links')
