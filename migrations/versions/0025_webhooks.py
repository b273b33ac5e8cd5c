"""webhooks: an organisation's webhooks and their deliveries; audit entries for adding and
removing one

Revision ID: 0025_webhooks
Revises: 0024_languages
Create Date: 2026-12-06 19:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0025_webhooks'
down_revision = '0024_languages'
branch_labels = None
depends_on = None

OPERATIONS_BEFORE = (
    'create_consultation', 'edit_consultation', 'edit_text', 'publish_version', 'open', 'close', 'reopen',
    'conclude', 'answer_amendment', 'start_next_version', 'add_citation', 'remove_citation',
    'create_organisation', 'grant_role', 'revoke_role', 'approve', 'hide', 'restore', 'block', 'unblock',
    'create_theme', 'tag_theme', 'untag_theme', 'write_summary', 'edit_policy',
    'edit_settings', 'edit_organisation', 'edit_site', 'create_invitation', 'revoke_invitation',
    'upload_attachment', 'delete_attachment', 'edit_questionnaire', 'publish_questionnaire',
)  # fmt: skip
OPERATIONS = (*OPERATIONS_BEFORE, 'add_webhook', 'remove_webhook')


def _known(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _operations(operations):
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_staff_actions_operation_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_staff_actions_operation_known'), _known('operation', operations))


def upgrade():
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('secret_encrypted', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', consult.core.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'], name=op.f('fk_webhooks_organisation_id_organisations'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks')),
    )
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhooks_organisation_id'), ['organisation_id'], unique=False)
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('webhook_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', consult.core.models.UTCDateTime(), nullable=True),
        sa.Column('last_attempt_at', consult.core.models.UTCDateTime(), nullable=True),
        sa.Column('response_status', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=False),
        sa.Column('created_at', consult.core.models.UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f('ck_webhook_deliveries_status_known')),
        sa.ForeignKeyConstraint(
            ['webhook_id'], ['webhooks.id'], name=op.f('fk_webhook_deliveries_webhook_id_webhooks'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_webhook_created', ['webhook_id', 'created_at'], unique=False)
    _operations(OPERATIONS)


def downgrade():
    op.execute("DELETE FROM staff_actions WHERE operation IN ('add_webhook', 'remove_webhook')")
    _operations(OPERATIONS_BEFORE)
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_webhook_created')
        batch_op.drop_index('ix_webhook_deliveries_due')
    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhooks_organisation_id'))
    op.drop_table('webhooks')
