"""data: a person's data downloads, the log of erased accounts, and the "data_export_ready"
notification (an event about an account, without a consultation)

Revision ID: 0018_data
Revises: 0017_totp
Create Date: 2026-12-06 12:30:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0018_data'
down_revision = '0017_totp'
branch_labels = None
depends_on = None


OLD_KINDS = (
    "'reply', 'amendment_answered', 'amendment_incorporated', 'cited_in_summary', 'cited_in_change', 'anchor_moved', "
    "'hidden', 'restored', 'new_comment', 'new_amendment', 'opened', 'closing_soon', 'closed', 'concluded', "
    "'version_published', 'update'"
)
NEW_KINDS = OLD_KINDS + ", 'data_export_ready'"


def _kinds(kinds: str) -> None:
    for table in ('events', 'notification_settings'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'ck_{table}_kind_known'), type_='check')
            batch_op.create_check_constraint(batch_op.f(f'ck_{table}_kind_known'), f"kind IN ({kinds})")


def upgrade():
    _kinds(NEW_KINDS)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.alter_column('consultation_id', existing_type=sa.Integer(), nullable=True)
    op.create_table(
        'data_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ready_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('expires_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('file_name', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.CheckConstraint('(ready_at IS NULL) = (expires_at IS NULL)', name=op.f('ck_data_exports_ready_until')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_exports_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_exports')),
        sa.UniqueConstraint('file_name', name=op.f('uq_data_exports_file_name')),
    )
    with op.batch_alter_table('data_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_exports_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_exports_expires_at'), ['expires_at'], unique=False)

    op.create_table(
        'erasures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('mode', sa.String(length=10), nullable=False),
        sa.Column('erased_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('erased_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.CheckConstraint("mode IN ('keep', 'withdraw')", name=op.f('ck_erasures_mode_known')),
        sa.ForeignKeyConstraint(['erased_by_id'], ['users.id'], name=op.f('fk_erasures_erased_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_erasures_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures')),
        sa.UniqueConstraint('user_id', name=op.f('uq_erasures_user_id')),
    )


def downgrade():
    op.execute("DELETE FROM events WHERE consultation_id IS NULL OR kind = 'data_export_ready'")
    op.execute("DELETE FROM notification_settings WHERE kind = 'data_export_ready'")
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.alter_column('consultation_id', existing_type=sa.Integer(), nullable=False)
    _kinds(OLD_KINDS)
    op.drop_table('erasures')
    with op.batch_alter_table('data_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_exports_expires_at'))
        batch_op.drop_index(batch_op.f('ix_data_exports_user_id'))
    op.drop_table('data_exports')
