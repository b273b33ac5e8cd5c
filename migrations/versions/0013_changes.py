"""explained changes: the author's reason per changed, added or removed section, and corrections
of the section matching kept with the draft

Revision ID: 0013_changes
Revises: 0012_notifications
Create Date: 2026-12-06 09:45:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0013_changes'
down_revision = '0012_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'change_reasons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('section_key', sa.String(length=80), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('editorial', sa.Boolean(), nullable=False),
        sa.Column('updated_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("editorial OR reason <> ''", name=op.f('ck_change_reasons_says_why')),
        sa.CheckConstraint('length(reason) <= 1000', name=op.f('ck_change_reasons_reason_short')),
        sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_change_reasons_version_id_versions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_change_reasons')),
        sa.UniqueConstraint('version_id', 'section_key', name=op.f('uq_change_reasons_version_id_section_key')),
    )
    op.create_table(
        'section_pairings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('draft_key', sa.String(length=80), nullable=False),
        sa.Column('old_key', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_section_pairings_version_id_versions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_section_pairings')),
        sa.UniqueConstraint('version_id', 'draft_key', name=op.f('uq_section_pairings_version_id_draft_key')),
    )


def downgrade():
    op.drop_table('section_pairings')
    op.drop_table('change_reasons')
