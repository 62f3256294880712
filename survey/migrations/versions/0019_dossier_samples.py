"""samples from the dossier register: the draws, their members, and the channel a respondent answers through

Two new tables: ``dossier_samples`` (a draw: seed, register digest, sizes and
per-stratum counts) and ``sample_members`` (a drawn dossier and the respondent
standing for its citizen, deleted when the round closes). ``respondents``
gains ``response_channel``: every existing respondent is on a roster and
keeps answering through "email". The downgrade drops what this revision
added: the samples, and the channel of respondents (their responses keep
the channel they were stored with).

Revision ID: 0019_dossier_samples
Revises: 0018_assessment_results
Create Date: 2026-11-30 22:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0019_dossier_samples'
down_revision = '0018_assessment_results'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dossier_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('register_sha256', sa.String(length=64), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('seed', sa.String(length=40), nullable=False),
    sa.Column('margin', sa.Float(), nullable=False),
    sa.Column('size_source', sa.String(length=16), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('strata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('population > 0', name=op.f('ck_dossier_samples_population_positive')),
    sa.CheckConstraint('size > 0 AND size <= population', name=op.f('ck_dossier_samples_size_within_population')),
    sa.CheckConstraint("size_source IN ('rule', 'entered')", name=op.f('ck_dossier_samples_known_size_source')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_dossier_samples_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['round_groups.id'], name=op.f('fk_dossier_samples_group_id_round_groups'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_dossier_samples_round_id_rounds'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_samples'))
    )
    op.create_index(op.f('ix_dossier_samples_round_id'), 'dossier_samples', ['round_id'], unique=False)
    op.create_table('sample_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('respondent_id', sa.Integer(), nullable=False),
    sa.Column('stratum', sa.Integer(), nullable=False),
    sa.Column('dossier_code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['respondent_id'], ['respondents.id'],
                            name=op.f('fk_sample_members_respondent_id_respondents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sample_id'], ['dossier_samples.id'],
                            name=op.f('fk_sample_members_sample_id_dossier_samples'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sample_members')),
    sa.UniqueConstraint('respondent_id', name=op.f('uq_sample_members_respondent_id')),
    sa.UniqueConstraint('sample_id', 'dossier_code', name=op.f('uq_sample_members_sample_id_dossier_code'))
    )
    op.create_index(op.f('ix_sample_members_sample_id'), 'sample_members', ['sample_id'], unique=False)
    # A plain ADD COLUMN on both databases: SQLite adds it in place (a batch copy of respondents
    # would drop and re-create a table that drafts, links and the ledger cascade from).
    op.execute("ALTER TABLE respondents ADD COLUMN response_channel VARCHAR(16) DEFAULT 'email' NOT NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE respondents DROP COLUMN response_channel")
    op.drop_index(op.f('ix_sample_members_sample_id'), table_name='sample_members')
    op.drop_table('sample_members')
    op.drop_index(op.f('ix_dossier_samples_round_id'), table_name='dossier_samples')
    op.drop_table('dossier_samples')
