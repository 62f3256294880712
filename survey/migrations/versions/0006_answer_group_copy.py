"""answers.group_id without a foreign key of its own

``answers.group_id`` is a copy of its response's group (``responses.group_id``,
which keeps its foreign key), written by the same code in the same
transaction so that the index counts are one GROUP BY without a join. Its own
foreign key added nothing the response's does not guarantee, and cost one
trigger query per answer on PostgreSQL: 44 per submission, about a tenth of
the submission's throughput. The rows are kept as they are (SQLite copies the
table in batch mode).

Revision ID: 0006_answer_group_copy
Revises: 0005_reports
"""

from alembic import op


revision = '0006_answer_group_copy'
down_revision = '0005_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_answers_group_id_round_groups'), type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_answers_group_id_round_groups'), 'round_groups', ['group_id'], ['id'])
