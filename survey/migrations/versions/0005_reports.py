"""analysis inputs and results (issue 5): self-assessment points per round

Revision ID: 0005_reports
Revises: 0004_invitations
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_reports'
down_revision = '0004_invitations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('self_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('subcriterion', sa.String(length=32), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('structure_key', sa.String(length=64), nullable=False),
    sa.Column('structure_version', sa.String(length=32), nullable=False),
    sa.Column('source_filename', sa.String(length=255), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_self_assessments_points_not_negative')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_self_assessments_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_self_assessments')),
    sa.UniqueConstraint('round_id', 'subcriterion', name=op.f('uq_self_assessments_round_id_subcriterion'))
    )
    with op.batch_alter_table('self_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_assessments_round_id'), ['round_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('self_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_assessments_round_id'))

    op.drop_table('self_assessments')
