"""consent: the site's policies and their versions, agreement to them; site-wide audit entries

Revision ID: 0019_consent
Revises: 0018_data
Create Date: 2026-12-07 12:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0019_consent'
down_revision = '0018_data'
branch_labels = None
depends_on = None

KINDS = "kind IN ('terms', 'privacy', 'accessibility', 'cookies')"
OPERATIONS_BEFORE = (
    'create_consultation', 'edit_consultation', 'edit_text', 'publish_version', 'open', 'close', 'reopen',
    'conclude', 'answer_amendment', 'start_next_version', 'add_citation', 'remove_citation',
    'create_organisation', 'grant_role', 'revoke_role', 'approve', 'hide', 'restore', 'block', 'unblock',
    'create_theme', 'tag_theme', 'untag_theme', 'write_summary',
)  # fmt: skip
OPERATIONS = (*OPERATIONS_BEFORE, 'edit_policy')
TARGETS_BEFORE = ('organisation', 'consultation', 'version', 'contribution', 'user', 'theme', 'section_summary')
TARGETS = (*TARGETS_BEFORE, 'policy')


def _known(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _staff_actions(operations, targets, *, organisation_nullable):
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.alter_column('organisation_id', existing_type=sa.INTEGER(), nullable=organisation_nullable)
        batch_op.drop_constraint(batch_op.f('ck_staff_actions_operation_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_staff_actions_operation_known'), _known('operation', operations))
        batch_op.drop_constraint(batch_op.f('ck_staff_actions_target_type_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_staff_actions_target_type_known'), _known('target_type', targets))


def upgrade():
    op.create_table(
        'policy_agreements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('agreed_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f('ck_policy_agreements_kind_known')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_policy_agreements_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_agreements')),
        sa.UniqueConstraint('user_id', 'kind', 'version', name=op.f('uq_policy_agreements_user_id_kind_version')),
    )
    op.create_table(
        'policy_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('significant', sa.Boolean(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('saved_by_id', sa.Integer(), nullable=True),
        sa.Column('saved_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f('ck_policy_versions_kind_known')),
        sa.CheckConstraint('number > 1', name=op.f('ck_policy_versions_number_after_default')),
        sa.ForeignKeyConstraint(['saved_by_id'], ['users.id'], name=op.f('fk_policy_versions_saved_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_versions')),
        sa.UniqueConstraint('kind', 'number', name=op.f('uq_policy_versions_kind_number')),
    )
    # Policy edits concern the whole site: an entry in no organisation, with its own operation and target.
    _staff_actions(OPERATIONS, TARGETS, organisation_nullable=True)


def downgrade():
    op.execute("DELETE FROM staff_actions WHERE organisation_id IS NULL OR operation = 'edit_policy' OR target_type = 'policy'")
    _staff_actions(OPERATIONS_BEFORE, TARGETS_BEFORE, organisation_nullable=False)
    op.drop_table('policy_versions')
    op.drop_table('policy_agreements')
