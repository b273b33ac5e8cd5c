"""languages: the language a person chose for the interface, the site's default language, and
the language each contribution was written in (English for those made before)

Revision ID: 0024_languages
Revises: 0023_firstfive
Create Date: 2026-12-06 18:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_languages'
down_revision = '0023_firstfive'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
    with op.batch_alter_table('site_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_language', sa.String(length=16), nullable=True))
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), server_default='en', nullable=False))


def downgrade():
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('site_settings', schema=None) as batch_op:
        batch_op.drop_column('default_language')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
