"""settings: the site's settings and invitations, organisations' logos, a consultation's ways of taking part

Revision ID: 0020_settings
Revises: 0019_consent
Create Date: 2026-12-06 15:40:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0020_settings'
down_revision = '0019_consent'
branch_labels = None
depends_on = None

OPERATIONS_BEFORE = (
    'create_consultation', 'edit_consultation', 'edit_text', 'publish_version', 'open', 'close', 'reopen',
    'conclude', 'answer_amendment', 'start_next_version', 'add_citation', 'remove_citation',
    'create_organisation', 'grant_role', 'revoke_role', 'approve', 'hide', 'restore', 'block', 'unblock',
    'create_theme', 'tag_theme', 'untag_theme', 'write_summary', 'edit_policy',
)  # fmt: skip
OPERATIONS = (*OPERATIONS_BEFORE, 'edit_settings', 'edit_organisation', 'edit_site', 'create_invitation', 'revoke_invitation')
TARGETS_BEFORE = ('organisation', 'consultation', 'version', 'contribution', 'user', 'theme', 'section_summary', 'policy')
TARGETS = (*TARGETS_BEFORE, 'site', 'invitation')
MODES = ('comments', 'annotations', 'amendments', 'statements', 'questionnaire')


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
        'site_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_name', sa.String(length=80), nullable=False),
        sa.Column('accent_colour', sa.String(length=7), nullable=True),
        sa.Column('footer_links', sa.JSON(), nullable=False),
        sa.Column('registration', sa.String(length=10), server_default='open', nullable=False),
        sa.Column('report_threshold', sa.Integer(), nullable=True),
        sa.Column('time_zone', sa.String(length=64), nullable=True),
        sa.Column('logo', sa.LargeBinary(), nullable=True),
        sa.Column('logo_updated_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('logo_alt', sa.String(length=200), server_default='', nullable=False),
        sa.Column('updated_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('row_version', sa.Integer(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_site_settings_one_row')),
        sa.CheckConstraint("registration IN ('open', 'invite')", name=op.f('ck_site_settings_registration_known')),
        sa.CheckConstraint('report_threshold IS NULL OR report_threshold >= 1', name=op.f('ck_site_settings_report_threshold_positive')),
        sa.CheckConstraint('accent_colour IS NULL OR length(accent_colour) = 7', name=op.f('ck_site_settings_accent_colour_hex')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site_settings')),
    )
    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('max_uses', sa.Integer(), nullable=False),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint('max_uses >= 1', name=op.f('ck_invitations_max_uses_positive')),
        sa.CheckConstraint('uses >= 0 AND uses <= max_uses', name=op.f('ck_invitations_uses_within_max')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_invitations_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_invitations_code_hash')),
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('logo_updated_at', consult.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('logo_alt', sa.String(length=200), server_default='', nullable=False))
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        for mode in MODES:
            batch_op.add_column(sa.Column(f'allows_{mode}', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_check_constraint(
            batch_op.f('ck_consultations_annotations_need_comments'), 'allows_comments OR NOT allows_annotations'
        )
    _staff_actions(OPERATIONS, TARGETS)


def downgrade():
    op.execute(
        f"DELETE FROM staff_actions WHERE operation IN {OPERATIONS[len(OPERATIONS_BEFORE) :]!r} OR target_type IN ('site', 'invitation')"
    )
    _staff_actions(OPERATIONS_BEFORE, TARGETS_BEFORE)
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_consultations_annotations_need_comments'), type_='check')
        for mode in reversed(MODES):
            batch_op.drop_column(f'allows_{mode}')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('logo_alt')
        batch_op.drop_column('logo_updated_at')
        batch_op.drop_column('logo')
    op.drop_table('invitations')
    op.drop_table('site_settings')
