"""collection points, procedures, dossier digests, arrivals; channel, point and procedure on responses

SIPAS where citizens are (survey.collection): collection points per round with
a public link, the province's administrative procedures, the keyed hashes of
dossier numbers (one response per dossier, purged when the round closes) and
the arrival windows that flag bursts, all in tables apart from the answers.

``responses`` gains ``channel``, ``collection_point_id`` and ``procedure_id``.
Every existing response came through a personal link (the only channel so
far), which the platform delivers by e-mail: they get "email". Which link
was delivered by which means is not knowable (the ledger of who submitted is
apart from the responses by design), so no finer value could be derived.

The columns are added with plain ALTER TABLE (ADD and DROP COLUMN, the same
on both databases) and without foreign keys: on SQLite a foreign key means
batch mode, which copies ``responses`` and drops the original, and with
foreign keys on that DROP deletes every answer through their cascade. Points
are closed, never deleted, and procedures are updated, never deleted, so the
ids stay valid.

Revision ID: 0012_collection
Revises: 0010_milestone_fixed
"""

import sqlalchemy as sa
from alembic import op


revision = '0012_collection'
down_revision = '0010_milestone_fixed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('procedures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('field', sa.String(length=255), nullable=False),
    sa.Column('agency_name', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['province_id'], ['provinces.id'], name=op.f('fk_procedures_province_id_provinces'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedures')),
    sa.UniqueConstraint('province_id', 'code', name=op.f('uq_procedures_province_id_code'))
    )
    op.create_index(op.f('ix_procedures_province_id'), 'procedures', ['province_id'], unique=False)
    op.create_table('collection_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('place', sa.String(length=255), nullable=False),
    sa.Column('token', sa.String(length=16), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=True),
    sa.Column('quota_policy', sa.String(length=16), nullable=False),
    sa.Column('asks_dossier', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("quota IS NULL OR quota > 0", name=op.f('ck_collection_points_quota_positive')),
    sa.CheckConstraint("quota_policy IN ('accept', 'refuse')", name=op.f('ck_collection_points_known_quota_policy')),
    sa.ForeignKeyConstraint(['group_id'], ['round_groups.id'], name=op.f('fk_collection_points_group_id_round_groups'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_collection_points_round_id_rounds'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_points')),
    sa.UniqueConstraint('token', name=op.f('uq_collection_points_token'))
    )
    op.create_index(op.f('ix_collection_points_group_id'), 'collection_points', ['group_id'], unique=False)
    op.create_index(op.f('ix_collection_points_round_id'), 'collection_points', ['round_id'], unique=False)
    op.create_table('dossier_digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_dossier_digests_round_id_rounds'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_digests')),
    sa.UniqueConstraint('round_id', 'digest', name=op.f('uq_dossier_digests_round_id_digest'))
    )
    op.create_table('point_arrivals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['point_id'], ['collection_points.id'],
                            name=op.f('fk_point_arrivals_point_id_collection_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_arrivals'))
    )
    op.create_index('ix_point_arrivals_point_window', 'point_arrivals', ['point_id', 'window_start'], unique=False)
    op.execute("ALTER TABLE responses ADD COLUMN channel VARCHAR(16) DEFAULT 'email' NOT NULL")
    op.execute("ALTER TABLE responses ADD COLUMN collection_point_id INTEGER")
    op.execute("ALTER TABLE responses ADD COLUMN procedure_id INTEGER")
    op.create_index(op.f('ix_responses_collection_point_id'), 'responses', ['collection_point_id'], unique=False)


def downgrade() -> None:
    # The responses themselves stay; only where and how they were collected goes.
    op.drop_index(op.f('ix_responses_collection_point_id'), table_name='responses')
    for column in ('procedure_id', 'collection_point_id', 'channel'):
        op.execute(f"ALTER TABLE responses DROP COLUMN {column}")
    op.drop_index('ix_point_arrivals_point_window', table_name='point_arrivals')
    op.drop_table('point_arrivals')
    op.drop_table('dossier_digests')
    op.drop_index(op.f('ix_collection_points_round_id'), table_name='collection_points')
    op.drop_index(op.f('ix_collection_points_group_id'), table_name='collection_points')
    op.drop_table('collection_points')
    op.drop_index(op.f('ix_procedures_province_id'), table_name='procedures')
    op.drop_table('procedures')
