"""agency digests: a round's schedule of digests to focal points; the outbox carries them

Creates ``digest_schedules`` and widens ``ck_outbox_messages_known_kind`` to the new kind
``digest``. On SQLite the CHECK is rewritten in the schema record (survey/migrations/constraints.py),
since every stored row stays valid; PostgreSQL drops and recreates the constraint. The
downgrade deletes the digest messages (they went to focal points, never to respondents, and
the old constraint cannot hold them) and drops the schedules; every other row is kept.

Revision ID: 0015_agency_digests
Revises: 0014_agency_aliases
"""

import sqlalchemy as sa
from alembic import op

from survey.migrations.constraints import set_allowed_values

revision = '0015_agency_digests'
down_revision = '0014_agency_aliases'
branch_labels = None
depends_on = None

OLD_KINDS = "('invitation', 'reminder')"
NEW_KINDS = "('invitation', 'reminder', 'digest')"


def upgrade() -> None:
    set_allowed_values("outbox_messages", "known_kind", "kind", OLD_KINDS, NEW_KINDS)
    op.create_table('digest_schedules',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('interval_days', sa.Integer(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_enqueued', sa.Integer(), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stop_reason', sa.String(length=16), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('interval_days >= 1 AND interval_days <= 30', name=op.f('ck_digest_schedules_interval_range')),
    sa.CheckConstraint("stop_reason IS NULL OR stop_reason IN ('closed', 'complete', 'cancelled')",
                       name=op.f('ck_digest_schedules_known_stop_reason')),
    sa.CheckConstraint('(stopped_at IS NULL) = (stop_reason IS NULL)', name=op.f('ck_digest_schedules_stopped_has_reason')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_digest_schedules_round_id_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_digest_schedules_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_digest_schedules'))
    )
    with op.batch_alter_table('digest_schedules', schema=None) as batch_op:
        batch_op.create_index('ix_digest_schedules_due', ['stopped_at', 'next_run_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('digest_schedules', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_schedules_due')
    op.drop_table('digest_schedules')
    op.execute("DELETE FROM outbox_messages WHERE kind = 'digest'")
    set_allowed_values("outbox_messages", "known_kind", "kind", NEW_KINDS, OLD_KINDS)
