"""delivery: outgoing mail may carry an HTML part and extra headers (List-Unsubscribe)

Revision ID: 0014_delivery
Revises: 0013_changes
Create Date: 2026-12-07 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_delivery'
down_revision = '0013_changes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html_body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('headers', sa.JSON(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_outgoing_mail_sent_body_cleared'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_outgoing_mail_sent_body_cleared'), "status <> 'sent' OR (body IS NULL AND html_body IS NULL)"
        )


def downgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outgoing_mail_sent_body_cleared'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_outgoing_mail_sent_body_cleared'), "status <> 'sent' OR body IS NULL")
        batch_op.drop_column('headers')
        batch_op.drop_column('html_body')
