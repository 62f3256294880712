"""frozen results: a round's official computation kept with its files and content hash

Creates ``frozen_results`` (options, versions, figures as canonical JSON, hashes, who and when;
one name per round) and ``frozen_result_files`` (each export's bytes with its SHA-256). New
tables only; the downgrade drops them, and with them every frozen result.

Revision ID: 0016_frozen_results
Revises: 0015_agency_digests
"""

import sqlalchemy as sa
from alembic import op

revision = '0016_frozen_results'
down_revision = '0015_agency_digests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('frozen_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('reliability', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.JSON(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.Column('figures_sha256', sa.String(length=64), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('frozen_by', sa.String(length=320), nullable=False),
    sa.Column('frozen_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("name <> ''", name=op.f('ck_frozen_results_name_not_empty')),
    sa.ForeignKeyConstraint(['frozen_by_id'], ['users.id'], name=op.f('fk_frozen_results_frozen_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_frozen_results_round_id_rounds'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frozen_results')),
    sa.UniqueConstraint('round_id', 'name', name=op.f('uq_frozen_results_round_id_name'))
    )
    op.create_table('frozen_result_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('frozen_result_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('mimetype', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['frozen_result_id'], ['frozen_results.id'],
                            name=op.f('fk_frozen_result_files_frozen_result_id_frozen_results'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frozen_result_files')),
    sa.UniqueConstraint('frozen_result_id', 'kind', name=op.f('uq_frozen_result_files_frozen_result_id_kind'))
    )


def downgrade() -> None:
    op.drop_table('frozen_result_files')
    op.drop_table('frozen_results')
