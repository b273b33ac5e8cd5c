"""docs: attachments of consultations and versions; staff actions uploading and removing them

Revision ID: 0021_docs
Revises: 0020_settings
Create Date: 2026-12-08 12:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0021_docs'
down_revision = '0020_settings'
branch_labels = None
depends_on = None

OPERATIONS_BEFORE = (
    'create_consultation', 'edit_consultation', 'edit_text', 'publish_version', 'open', 'close', 'reopen',
    'conclude', 'answer_amendment', 'start_next_version', 'add_citation', 'remove_citation',
    'create_organisation', 'grant_role', 'revoke_role', 'approve', 'hide', 'restore', 'block', 'unblock',
    'create_theme', 'tag_theme', 'untag_theme', 'write_summary', 'edit_policy',
    'edit_settings', 'edit_organisation', 'edit_site', 'create_invitation', 'revoke_invitation',
)  # fmt: skip
OPERATIONS = (*OPERATIONS_BEFORE, 'upload_attachment', 'delete_attachment')
TARGETS_BEFORE = (
    'organisation',
    'consultation',
    'version',
    'contribution',
    'user',
    'theme',
    'section_summary',
    'policy',
    'site',
    'invitation',
)
TARGETS = (*TARGETS_BEFORE, 'attachment')


def _known(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _staff_actions(operations, targets):
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_staff_actions_operation_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_staff_actions_operation_known'), _known('operation', operations))
        batch_op.drop_constraint(batch_op.f('ck_staff_actions_target_type_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_staff_actions_target_type_known'), _known('target_type', targets))


def upgrade():
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('storage_key', sa.String(length=300), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('pdf', 'image', 'spreadsheet', 'document', 'csv')", name=op.f('ck_attachments_kind_known')),
        sa.CheckConstraint('size >= 0', name=op.f('ck_attachments_size_not_negative')),
        sa.ForeignKeyConstraint(
            ['consultation_id'], ['consultations.id'], name=op.f('fk_attachments_consultation_id_consultations'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_attachments_version_id_versions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
        sa.UniqueConstraint('storage_key', name=op.f('uq_attachments_storage_key')),
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_uploaded_by_id'), ['uploaded_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_version_id'), ['version_id'], unique=False)
    _staff_actions(OPERATIONS, TARGETS)


def downgrade():
    op.execute("DELETE FROM staff_actions WHERE operation IN ('upload_attachment', 'delete_attachment') OR target_type = 'attachment'")
    _staff_actions(OPERATIONS_BEFORE, TARGETS_BEFORE)
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_version_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_uploaded_by_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_consultation_id'))
    op.drop_table('attachments')
