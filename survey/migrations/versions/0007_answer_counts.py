"""answer_counts: per-option counts written with each submission

The counts every index needs were one GROUP BY over ``answers`` through
``ix_answers_group_question_option``. Each submission put one entry per answer
in that index, on as many different pages (44 for the longest questionnaire):
68 pages written to the SQLite WAL per submission, 23 with this revision. The
counts are now added up by the submission itself, in ``answer_counts``, and
the index is replaced by one on ``(group_id, response_id)`` for the
response-level reads. Existing answers are counted here, so an upgraded
database reads the same figures; the answers themselves are not touched.

Revision ID: 0007_answer_counts
Revises: 0006_answer_group_copy
"""

import sqlalchemy as sa
from alembic import op


revision = '0007_answer_counts'
down_revision = '0006_answer_group_copy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('answer_counts',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.SmallInteger(), nullable=False),
    sa.Column('question_code', sa.String(length=64), nullable=False),
    sa.Column('option_code', sa.String(length=64), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['round_groups.id'], name=op.f('fk_answer_counts_group_id_round_groups'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'slot', 'question_code', 'option_code', name=op.f('pk_answer_counts'))
    )
    # As survey.respond.counts.recount: one row per chosen option, and per
    # question the options chosen beyond the first ('' row), all in slot 0.
    op.execute("""
        INSERT INTO answer_counts (group_id, slot, question_code, option_code, n)
        SELECT group_id, 0, question_code, option_code, count(*) FROM answers
        WHERE option_code IS NOT NULL GROUP BY group_id, question_code, option_code
    """)
    op.execute("""
        INSERT INTO answer_counts (group_id, slot, question_code, option_code, n)
        SELECT group_id, 0, question_code, '', count(*) - count(DISTINCT response_id) FROM answers
        WHERE option_code IS NOT NULL GROUP BY group_id, question_code
        HAVING count(*) > count(DISTINCT response_id)
    """)
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index('ix_answers_group_question_option')
        batch_op.create_index('ix_answers_group_response', ['group_id', 'response_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index('ix_answers_group_response')
        batch_op.create_index('ix_answers_group_question_option', ['group_id', 'question_code', 'option_code'],
                              unique=False)
    # The counts are derived from the answers, which stay: nothing is lost.
    op.drop_table('answer_counts')
