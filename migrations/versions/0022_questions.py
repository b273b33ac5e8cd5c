"""questions: questionnaires (versioned), their questions, responses and answers; free-text
answers are contributions of kind 'answer'; audit entries for questionnaire changes

Revision ID: 0022_questions
Revises: 0021_docs
Create Date: 2026-12-06 16:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

import consult.core.models


# revision identifiers, used by Alembic.
revision = '0022_questions'
down_revision = '0021_docs'
branch_labels = None
depends_on = None

CONTRIBUTION_KINDS_BEFORE = ('comment', 'reply', 'amendment', 'statement')
CONTRIBUTION_KINDS = (*CONTRIBUTION_KINDS_BEFORE, 'answer')
OPERATIONS_BEFORE = (
    'create_consultation', 'edit_consultation', 'edit_text', 'publish_version', 'open', 'close', 'reopen',
    'conclude', 'answer_amendment', 'start_next_version', 'add_citation', 'remove_citation',
    'create_organisation', 'grant_role', 'revoke_role', 'approve', 'hide', 'restore', 'block', 'unblock',
    'create_theme', 'tag_theme', 'untag_theme', 'write_summary', 'edit_policy',
    'edit_settings', 'edit_organisation', 'edit_site', 'create_invitation', 'revoke_invitation',
    'upload_attachment', 'delete_attachment',
)  # fmt: skip
OPERATIONS = (*OPERATIONS_BEFORE, 'edit_questionnaire', 'publish_questionnaire')
QUESTION_KINDS = ('single_choice', 'multiple_choice', 'agreement_scale', 'ranking', 'short_text', 'long_text')


def _known(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _checks(kinds, operations):
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_contributions_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_contributions_kind_known'), _known('kind', kinds))
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_staff_actions_operation_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_staff_actions_operation_known'), _known('operation', operations))


def upgrade():
    _checks(CONTRIBUTION_KINDS, OPERATIONS)
    op.create_table(
        'questionnaires',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('created_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('published_at', consult.core.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint('number >= 1', name=op.f('ck_questionnaires_number_positive')),
        sa.ForeignKeyConstraint(
            ['consultation_id'], ['consultations.id'], name=op.f('fk_questionnaires_consultation_id_consultations'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaires')),
        sa.UniqueConstraint('consultation_id', 'number', name='uq_questionnaires_consultation_number'),
    )
    op.create_table(
        'questions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('questionnaire_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('prompt', sa.String(length=500), nullable=False),
        sa.Column('help_text', sa.Text(), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('section_key', sa.String(length=80), nullable=True),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.CheckConstraint(_known('kind', QUESTION_KINDS), name=op.f('ck_questions_kind_known')),
        sa.ForeignKeyConstraint(
            ['questionnaire_id'], ['questionnaires.id'], name=op.f('fk_questions_questionnaire_id_questionnaires'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_questions')),
        sa.UniqueConstraint('questionnaire_id', 'key', name='uq_questions_questionnaire_key'),
    )
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questions_questionnaire_id'), ['questionnaire_id'], unique=False)
    op.create_table(
        'questionnaire_responses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('questionnaire_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('respondent', sa.String(length=24), nullable=False),
        sa.Column('created_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', consult.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['questionnaire_id'],
            ['questionnaires.id'],
            name=op.f('fk_questionnaire_responses_questionnaire_id_questionnaires'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_questionnaire_responses_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_responses')),
        sa.UniqueConstraint('questionnaire_id', 'user_id', name='uq_questionnaire_responses_questionnaire_user'),
        sa.UniqueConstraint('respondent', name=op.f('uq_questionnaire_responses_respondent')),
    )
    with op.batch_alter_table('questionnaire_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questionnaire_responses_user_id'), ['user_id'], unique=False)
    op.create_table(
        'question_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('response_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('choices', sa.JSON(), nullable=False),
        sa.Column('contribution_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['contribution_id'], ['contributions.id'], name=op.f('fk_question_answers_contribution_id_contributions'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(
            ['question_id'], ['questions.id'], name=op.f('fk_question_answers_question_id_questions'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['response_id'],
            ['questionnaire_responses.id'],
            name=op.f('fk_question_answers_response_id_questionnaire_responses'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_question_answers')),
        sa.UniqueConstraint('response_id', 'question_id', name='uq_question_answers_response_question'),
    )
    with op.batch_alter_table('question_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_answers_contribution_id'), ['contribution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_question_answers_question_id'), ['question_id'], unique=False)


def downgrade():
    op.drop_table('question_answers')
    op.drop_table('questionnaire_responses')
    op.drop_table('questions')
    op.drop_table('questionnaires')
    op.execute("DELETE FROM staff_actions WHERE operation IN ('edit_questionnaire', 'publish_questionnaire')")
    op.execute("DELETE FROM contributions WHERE kind = 'answer'")
    _checks(CONTRIBUTION_KINDS_BEFORE, OPERATIONS_BEFORE)
