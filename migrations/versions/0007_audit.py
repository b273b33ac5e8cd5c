"""staff audit log

Revision ID: 0007_audit
Revises: 0006_opinion
Create Date: 2026-12-06 03:50:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0007_audit'
down_revision = '0006_opinion'
branch_labels = None
depends_on = None

OPERATIONS = (
    'create_consultation',
    'edit_consultation',
    'edit_text',
    'publish_version',
    'open',
    'close',
    'reopen',
    'conclude',
    'answer_amendment',
    'start_next_version',
    'add_citation',
    'remove_citation',
    'create_organisation',
    'grant_role',
    'revoke_role',
    'approve',
    'hide',
    'restore',
    'block',
    'unblock',
    'create_theme',
    'tag_theme',
    'untag_theme',
    'write_summary',
)
ROLES = ('author', 'admin', 'moderator', 'site_admin')
TARGETS = ('organisation', 'consultation', 'version', 'contribution', 'user', 'theme', 'section_summary')


def _known(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table(
        'staff_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('occurred_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_role', sa.String(length=20), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=True),
        sa.Column('operation', sa.String(length=40), nullable=False),
        sa.Column('target_type', sa.String(length=20), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.CheckConstraint(_known('operation', OPERATIONS), name=op.f('ck_staff_actions_operation_known')),
        sa.CheckConstraint(_known('actor_role', ROLES), name=op.f('ck_staff_actions_actor_role_known')),
        sa.CheckConstraint(_known('target_type', TARGETS), name=op.f('ck_staff_actions_target_type_known')),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_staff_actions_actor_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(
            ['consultation_id'], ['consultations.id'], name=op.f('fk_staff_actions_consultation_id_consultations'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'], name=op.f('fk_staff_actions_organisation_id_organisations'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_actions')),
    )
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.create_index('ix_staff_actions_org_time', ['organisation_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_staff_actions_consultation_time', ['consultation_id', 'occurred_at'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_actions_consultation_time')
        batch_op.drop_index('ix_staff_actions_org_time')

    op.drop_table('staff_actions')
