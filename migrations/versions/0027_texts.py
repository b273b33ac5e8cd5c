"""texts: the languages a consultation's text is published in, and each section's text in the
languages other than the original (existing consultations: English only)

Revision ID: 0027_texts
Revises: 0026_search
Create Date: 2026-12-07 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027_texts'
down_revision = '0026_search'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('languages', sa.String(length=100), server_default='en', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_consultations_languages_given'), "languages <> ''")
    op.create_table(
        'section_texts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('section_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('heading', sa.String(length=300), nullable=False),
        sa.Column('body', sa.String(), nullable=False),
        sa.Column('text', sa.String(), nullable=False),
        sa.Column('html', sa.String(), nullable=False),
        sa.CheckConstraint("language <> ''", name=op.f('ck_section_texts_language_given')),
        sa.ForeignKeyConstraint(['section_id'], ['sections.id'], name=op.f('fk_section_texts_section_id_sections'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_section_texts')),
        sa.UniqueConstraint('section_id', 'language', name=op.f('uq_section_texts_section_id_language')),
    )


def downgrade():
    op.drop_table('section_texts')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_consultations_languages_given'), type_='check')
        batch_op.drop_column('languages')
