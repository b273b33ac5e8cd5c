"""thread_counts: how many comments and threads each section shows the public, kept up to date
with every change instead of counted over the whole thread on each page (issue 22)

Revision ID: 0032_thread_counts
Revises: 0031_pages
Create Date: 2026-12-07 01:50:00

"""

from alembic import op
import sqlalchemy as sa


revision = '0032_thread_counts'
down_revision = '0031_pages'
branch_labels = None
depends_on = None


# What visible_contributions(None) and visible_contributions(None, tombstones=True) say, in SQL.
NOT_BLOCKED = (
    "NOT EXISTS (SELECT 1 FROM blocks JOIN consultations k ON k.organisation_id = blocks.organisation_id "
    "WHERE blocks.user_id = c.author_id AND k.id = c.consultation_id)"
)
BACKFILL = f"""
INSERT INTO thread_counts (consultation_id, section_key, comments, threads, stamp)
SELECT c.consultation_id, COALESCE(c.section_key, ''),
       SUM(CASE WHEN c.kind IN ('comment', 'reply') AND c.moderation_state = 'visible' AND c.deleted_at IS NULL
                 AND {NOT_BLOCKED} THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.kind = 'comment' AND c.parent_id IS NULL AND c.moderation_state != 'pending' THEN 1 ELSE 0 END),
       1
FROM contributions c
WHERE c.kind IN ('comment', 'reply')
GROUP BY c.consultation_id, COALESCE(c.section_key, '')
"""
WHOLE = """
INSERT INTO thread_counts (consultation_id, section_key, comments, threads, stamp)
SELECT id, '', 0, 0, 1 FROM consultations
WHERE id NOT IN (SELECT consultation_id FROM thread_counts WHERE section_key = '')
"""


def upgrade():
    op.create_table(
        'thread_counts',
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('section_key', sa.String(length=80), nullable=False),
        sa.Column('comments', sa.Integer(), nullable=False),
        sa.Column('threads', sa.Integer(), nullable=False),
        sa.Column('stamp', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ['consultation_id'], ['consultations.id'], name=op.f('fk_thread_counts_consultation_id_consultations'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('consultation_id', 'section_key', name=op.f('pk_thread_counts')),
    )
    op.execute(BACKFILL)
    op.execute(WHOLE)


def downgrade():
    op.drop_table('thread_counts')
