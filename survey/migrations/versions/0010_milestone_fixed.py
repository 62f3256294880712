"""round_milestones.is_fixed: a milestone edited by hand stays where it was put

The others move with the round's year and its deadline to the Ministry. Existing
milestones start as not fixed (nothing recorded which ones were edited), so they
move with their round from now on; the downgrade drops the flag and keeps every row.

Revision ID: 0010_milestone_fixed
Revises: 0009_assessment
"""

import sqlalchemy as sa
from alembic import op

revision = '0010_milestone_fixed'
down_revision = '0009_assessment'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('round_milestones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_fixed', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('round_milestones', schema=None) as batch_op:
        batch_op.drop_column('is_fixed')
