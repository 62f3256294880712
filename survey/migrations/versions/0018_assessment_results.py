"""assessment: the Ministry's official results and the reminders to focal points

Two new tables, nothing existing is touched: ``assessment_official_results`` (the
Ministry's points per sub-criterion, imported after publication) and
``assessment_reminders`` (which part was reminded at which stage, and the outbox message
that carries it). The downgrade drops them, and with them only what this revision added.

Revision ID: 0018_assessment_results
Revises: 0017_paper_kiosk
Create Date: 2026-11-30 19:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0018_assessment_results'
down_revision = '0017_paper_kiosk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_official_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('subcriterion', sa.String(length=32), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('source_filename', sa.String(length=255), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=320), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_assessment_official_results_points_not_negative')),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'],
                            name=op.f('fk_assessment_official_results_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_official_results')),
    sa.UniqueConstraint('cycle_id', 'subcriterion', name=op.f('uq_assessment_official_results_cycle_id_subcriterion'))
    )
    with op.batch_alter_table('assessment_official_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_official_results_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('assessment_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stage IN ('week', 'eve', 'late', 'manual')", name=op.f('ck_assessment_reminders_known_stage')),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'],
                            name=op.f('fk_assessment_reminders_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['part_id'], ['assessment_parts.id'],
                            name=op.f('fk_assessment_reminders_part_id_assessment_parts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_assessment_reminders_user_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'],
                            name=op.f('fk_assessment_reminders_outbox_message_id_outbox_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_reminders'))
    )
    with op.batch_alter_table('assessment_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_reminders_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index('ix_assessment_reminders_part_stage', ['part_id', 'stage'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessment_reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_reminders_part_stage')
        batch_op.drop_index(batch_op.f('ix_assessment_reminders_cycle_id'))
    op.drop_table('assessment_reminders')
    with op.batch_alter_table('assessment_official_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_official_results_cycle_id'))
    op.drop_table('assessment_official_results')
