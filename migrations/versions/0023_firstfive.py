"""firstfive: amendments numbered per consultation (A1, A2, …, backfilled in the order they were
proposed) with the counter that gives the numbers; drafts kept for signed-out people

Revision ID: 0023_firstfive
Revises: 0022_questions
Create Date: 2026-12-06 15:30:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0023_firstfive'
down_revision = '0022_questions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('amendments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consultation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
    # Existing amendments: numbered in each consultation by the order they were proposed.
    op.execute(
        "UPDATE amendments SET consultation_id = (SELECT c.consultation_id FROM contributions c WHERE c.id = amendments.contribution_id)"
    )
    op.execute(
        "UPDATE amendments SET number = (SELECT ranked.n FROM ("
        " SELECT c.id AS id, ROW_NUMBER() OVER (PARTITION BY c.consultation_id ORDER BY c.created_at, c.id) AS n"
        " FROM contributions c JOIN amendments a ON a.contribution_id = c.id) ranked"
        " WHERE ranked.id = amendments.contribution_id)"
    )
    with op.batch_alter_table('amendments', schema=None) as batch_op:
        batch_op.alter_column('consultation_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_amendments_consultation_id_consultations'), 'consultations', ['consultation_id'], ['id'], ondelete='CASCADE'
        )
        batch_op.create_unique_constraint(batch_op.f('uq_amendments_consultation_id_number'), ['consultation_id', 'number'])
        batch_op.create_check_constraint(batch_op.f('ck_amendments_number_positive'), 'number > 0')

    op.create_table(
        'amendment_numbers',
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('last_number', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['consultation_id'], ['consultations.id'], name=op.f('fk_amendment_numbers_consultation_id_consultations'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('consultation_id', name=op.f('pk_amendment_numbers')),
    )
    op.execute(
        "INSERT INTO amendment_numbers (consultation_id, last_number)"
        " SELECT consultation_id, MAX(number) FROM amendments GROUP BY consultation_id"
    )

    op.create_table(
        'drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('browser_hash', sa.String(length=64), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('place', sa.String(length=100), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('created_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['consultation_id'], ['consultations.id'], name=op.f('fk_drafts_consultation_id_consultations'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_drafts')),
        sa.UniqueConstraint('browser_hash', 'consultation_id', 'place', name=op.f('uq_drafts_browser_hash_consultation_id_place')),
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drafts_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drafts_created_at'))
    op.drop_table('drafts')
    op.drop_table('amendment_numbers')
    with op.batch_alter_table('amendments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_amendments_number_positive'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_amendments_consultation_id_number'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_amendments_consultation_id_consultations'), type_='foreignkey')
        batch_op.drop_column('number')
        batch_op.drop_column('consultation_id')
