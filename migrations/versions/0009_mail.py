"""outgoing mail, delivered by jobs

Revision ID: 0009_mail
Revises: 0008_search_outbox
Create Date: 2026-12-10 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0009_mail'
down_revision = '0008_search_outbox'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outgoing_mail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('created_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed')", name=op.f('ck_outgoing_mail_status_known')),
        sa.CheckConstraint("status <> 'sent' OR body IS NULL", name=op.f('ck_outgoing_mail_sent_body_cleared')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mail')),
    )
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_mail_recipient'), ['recipient'], unique=False)
        batch_op.create_index('ix_outgoing_mail_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_mail_status_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_outgoing_mail_recipient'))

    op.drop_table('outgoing_mail')
