"""outbox, invitations and reminders (issue 4)

Revision ID: 0004_invitations
Revises: 0003_roster
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_invitations'
down_revision = '0003_roster'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail_settings',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('reminder_max', sa.Integer(), nullable=False),
    sa.Column('reminder_interval_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('reminder_interval_days >= 1 AND reminder_interval_days <= 60', name=op.f('ck_mail_settings_interval_range')),
    sa.CheckConstraint('reminder_max >= 0 AND reminder_max <= 20', name=op.f('ck_mail_settings_reminder_max_range')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_mail_settings_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_mail_settings'))
    )
    op.create_table('mail_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enqueued', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('invitation', 'reminder')", name=op.f('ck_mail_schedules_known_kind')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_mail_schedules_agency_id_agencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_mail_schedules_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['round_groups.id'], name=op.f('fk_mail_schedules_group_id_round_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_mail_schedules_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_schedules'))
    )
    with op.batch_alter_table('mail_schedules', schema=None) as batch_op:
        batch_op.create_index('ix_mail_schedules_due', ['done_at', 'run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_schedules_round_id'), ['round_id'], unique=False)

    op.create_table('mail_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('invitation', 'reminder')", name=op.f('ck_mail_templates_known_kind')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_mail_templates_round_id_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_mail_templates_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_templates')),
    sa.UniqueConstraint('round_id', 'kind', name=op.f('uq_mail_templates_round_id_kind'))
    )
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('respondent_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_outbox_messages_sent_has_time')),
    sa.CheckConstraint("kind IN ('invitation', 'reminder')", name=op.f('ck_outbox_messages_known_kind')),
    sa.CheckConstraint("status <> 'sending' OR claimed_at IS NOT NULL", name=op.f('ck_outbox_messages_sending_is_claimed')),
    sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')", name=op.f('ck_outbox_messages_known_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_outbox_messages_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['respondent_id'], ['respondents.id'], name=op.f('fk_outbox_messages_respondent_id_respondents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_outbox_messages_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_messages_message_id'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_messages_respondent', ['respondent_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_round_id'), ['round_id'], unique=False)

    with op.batch_alter_table('access_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_opened_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('access_links', schema=None) as batch_op:
        batch_op.drop_column('first_opened_at')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_round_id'))
        batch_op.drop_index('ix_outbox_messages_respondent')
        batch_op.drop_index('ix_outbox_messages_due')

    op.drop_table('outbox_messages')
    op.drop_table('mail_templates')
    with op.batch_alter_table('mail_schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_schedules_round_id'))
        batch_op.drop_index('ix_mail_schedules_due')

    op.drop_table('mail_schedules')
    op.drop_table('mail_settings')
