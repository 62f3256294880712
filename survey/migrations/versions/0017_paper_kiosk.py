"""paper forms entered twice, and kiosk mode for collection points

Paper forms (survey.collection.paper): batches of returned forms, each
clerk's keying of a form (two passes by two clerks, held by unique
constraints), and the forms reconciled and stored, once per number in a
batch. Kiosk mode (survey.collection.kiosk): the secret kiosk link of a point,
and the receipts of kiosk submission ids that make a retried submission
store once.

``collection_points.kiosk_token`` is added with plain ALTER TABLE and a unique
index, not a constraint: on SQLite a constraint means batch mode, which copies
the table and drops the original, and that DROP would delete every arrival
window through its cascade. Existing points get NULL: kiosk mode off.

Revision ID: 0017_paper_kiosk
Revises: 0016_frozen_results
"""

import sqlalchemy as sa
from alembic import op


revision = '0017_paper_kiosk'
down_revision = '0016_frozen_results'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE collection_points ADD COLUMN kiosk_token VARCHAR(32)")
    op.create_index('ix_collection_points_kiosk_token', 'collection_points', ['kiosk_token'], unique=True)
    op.create_table('kiosk_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.String(length=32), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_kiosk_receipts_round_id_rounds'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_receipts')),
    sa.UniqueConstraint('round_id', 'submission_id', name=op.f('uq_kiosk_receipts_round_id_submission_id'))
    )
    op.create_table('paper_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('collection_point_id', sa.Integer(), nullable=True),
    sa.Column('collected_on', sa.Date(), nullable=False),
    sa.Column('team', sa.String(length=255), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collection_point_id'], ['collection_points.id'],
                            name=op.f('fk_paper_batches_collection_point_id_collection_points')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_paper_batches_created_by_id_users')),
    sa.ForeignKeyConstraint(['group_id'], ['round_groups.id'], name=op.f('fk_paper_batches_group_id_round_groups'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_paper_batches_round_id_rounds'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_batches'))
    )
    op.create_index(op.f('ix_paper_batches_round_id'), 'paper_batches', ['round_id'], unique=False)
    op.create_table('paper_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('form_number', sa.Integer(), nullable=False),
    sa.Column('pass_number', sa.Integer(), nullable=False),
    sa.Column('clerk_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=True),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mismatches', sa.Integer(), nullable=True),
    sa.CheckConstraint('pass_number IN (1, 2)', name=op.f('ck_paper_entries_two_passes')),
    sa.CheckConstraint('form_number > 0', name=op.f('ck_paper_entries_form_number_positive')),
    sa.CheckConstraint('seconds IS NULL OR seconds >= 0', name=op.f('ck_paper_entries_seconds_not_negative')),
    sa.ForeignKeyConstraint(['batch_id'], ['paper_batches.id'], name=op.f('fk_paper_entries_batch_id_paper_batches'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['clerk_id'], ['users.id'], name=op.f('fk_paper_entries_clerk_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_entries')),
    sa.UniqueConstraint('batch_id', 'form_number', 'clerk_id',
                        name=op.f('uq_paper_entries_batch_id_form_number_clerk_id')),
    sa.UniqueConstraint('batch_id', 'form_number', 'pass_number',
                        name=op.f('uq_paper_entries_batch_id_form_number_pass_number'))
    )
    op.create_index(op.f('ix_paper_entries_batch_id'), 'paper_entries', ['batch_id'], unique=False)
    op.create_index(op.f('ix_paper_entries_clerk_id'), 'paper_entries', ['clerk_id'], unique=False)
    op.create_table('paper_forms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('form_number', sa.Integer(), nullable=False),
    sa.Column('differences', sa.Integer(), nullable=False),
    sa.Column('reconciled_by_id', sa.Integer(), nullable=True),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['paper_batches.id'], name=op.f('fk_paper_forms_batch_id_paper_batches'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reconciled_by_id'], ['users.id'], name=op.f('fk_paper_forms_reconciled_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_forms')),
    sa.UniqueConstraint('batch_id', 'form_number', name=op.f('uq_paper_forms_batch_id_form_number'))
    )
    op.create_index(op.f('ix_paper_forms_batch_id'), 'paper_forms', ['batch_id'], unique=False)


def downgrade() -> None:
    # Stored paper and kiosk responses stay (they are ordinary responses); only the
    # keying, the reconciliation record, the receipts and the kiosk links go.
    op.drop_index(op.f('ix_paper_forms_batch_id'), table_name='paper_forms')
    op.drop_table('paper_forms')
    op.drop_index(op.f('ix_paper_entries_clerk_id'), table_name='paper_entries')
    op.drop_index(op.f('ix_paper_entries_batch_id'), table_name='paper_entries')
    op.drop_table('paper_entries')
    op.drop_index(op.f('ix_paper_batches_round_id'), table_name='paper_batches')
    op.drop_table('paper_batches')
    op.drop_table('kiosk_receipts')
    op.drop_index('ix_collection_points_kiosk_token', table_name='collection_points')
    op.execute("ALTER TABLE collection_points DROP COLUMN kiosk_token")
