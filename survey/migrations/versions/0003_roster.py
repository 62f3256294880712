"""roster, agencies and round settings (issue 3)

Revision ID: 0003_roster
Revises: 0002_accounts
"""

from alembic import op
import sqlalchemy as sa


revision = '0003_roster'
down_revision = '0002_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('round_milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.CheckConstraint('starts_on IS NULL OR starts_on <= due_on', name=op.f('ck_round_milestones_dates_order')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_milestones_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_milestones'))
    )
    with op.batch_alter_table('round_milestones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_milestones_round_id'), ['round_id'], unique=False)

    op.create_table('roster_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'applied', 'discarded')", name=op.f('ck_roster_imports_known_status')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_roster_imports_agency_id_agencies')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_roster_imports_round_id_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_roster_imports_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_imports'))
    )
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_imports_round_id'), ['round_id'], unique=False)

    op.create_table('round_quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('expected', sa.Integer(), nullable=False),
    sa.CheckConstraint('expected >= 0', name=op.f('ck_round_quotas_expected_not_negative')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_round_quotas_agency_id_agencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['round_groups.id'], name=op.f('fk_round_quotas_group_id_round_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_quotas_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_quotas')),
    sa.UniqueConstraint('round_id', 'agency_id', 'group_id', name=op.f('uq_round_quotas_round_id_agency_id_group_id'))
    )
    with op.batch_alter_table('round_quotas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_quotas_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_quotas_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_quotas_round_id'), ['round_id'], unique=False)

    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_active', sa.Boolean(), server_default='1', nullable=False))

    # Existing data: the e-mail key of each address (the first holder if a round lists one twice,
    # so that the unique index can be built without losing anyone), the Ministry deadline and the
    # default plan for existing rounds.
    with op.batch_alter_table('respondents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_normalised', sa.String(length=320), nullable=True))
    op.execute(
        "UPDATE respondents SET email_normalised = lower(trim(email)) WHERE id IN "
        "(SELECT min(id) FROM respondents WHERE email IS NOT NULL AND trim(email) <> '' "
        "GROUP BY round_id, lower(trim(email)))"
    )
    with op.batch_alter_table('respondents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_respondents_name_not_blank'), 'length(trim(full_name)) > 0')
        batch_op.create_index('ix_respondents_round_email', ['round_id', 'email_normalised'], unique=True, sqlite_where=sa.text('removed_at IS NULL AND email_normalised IS NOT NULL'), postgresql_where=sa.text('removed_at IS NULL AND email_normalised IS NOT NULL'))
        batch_op.create_foreign_key(batch_op.f('fk_respondents_import_id_roster_imports'), 'roster_imports', ['import_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ministry_deadline', sa.Date(), nullable=True))
    _backfill_rounds()


def _backfill_rounds() -> None:
    from datetime import date

    # A copy of survey.rounds.services.DEFAULT_MILESTONES as it was: a revision never changes.
    default_milestones = [
        ("Gửi danh sách đối tượng khảo sát về Bộ Nội vụ", None, (12, 10), 0),
        ("Các cơ quan tự đánh giá, chấm điểm trên phần mềm", (12, 1), (12, 25), 0),
        ("Báo cáo tự đánh giá và tài liệu kiểm chứng gửi Sở Nội vụ", None, (1, 5), 1),
        ("Hội đồng thẩm định kết quả tự đánh giá", None, (1, 15), 1),
        ("Gửi báo cáo của tỉnh về Bộ Nội vụ", None, (1, 20), 1),
    ]
    connection = op.get_bind()
    milestones = sa.table('round_milestones', sa.column('round_id', sa.Integer), sa.column('position', sa.Integer),
                          sa.column('label', sa.String), sa.column('starts_on', sa.Date), sa.column('due_on', sa.Date))
    rounds = sa.table('rounds', sa.column('id', sa.Integer), sa.column('year', sa.Integer),
                      sa.column('ministry_deadline', sa.Date))
    for round_id, year in connection.execute(sa.select(rounds.c.id, rounds.c.year)).all():
        connection.execute(rounds.update().where(rounds.c.id == round_id).values(ministry_deadline=date(year, 12, 10)))
        connection.execute(milestones.insert(), [
            {"round_id": round_id, "position": i, "label": label,
             "starts_on": date(year + offset, *start) if start else None, "due_on": date(year + offset, *due)}
            for i, (label, start, due, offset) in enumerate(default_milestones)
        ])


def downgrade() -> None:
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('ministry_deadline')

    with op.batch_alter_table('respondents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_respondents_import_id_roster_imports'), type_='foreignkey')
        batch_op.drop_constraint(op.f('ck_respondents_name_not_blank'), type_='check')
        batch_op.drop_index('ix_respondents_round_email', sqlite_where=sa.text('removed_at IS NULL AND email_normalised IS NOT NULL'), postgresql_where=sa.text('removed_at IS NULL AND email_normalised IS NOT NULL'))
        batch_op.drop_column('import_id')
        batch_op.drop_column('removed_at')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('email_normalised')

    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('is_active')

    with op.batch_alter_table('round_quotas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_quotas_round_id'))
        batch_op.drop_index(batch_op.f('ix_round_quotas_group_id'))
        batch_op.drop_index(batch_op.f('ix_round_quotas_agency_id'))

    op.drop_table('round_quotas')
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_imports_round_id'))

    op.drop_table('roster_imports')
    with op.batch_alter_table('round_milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_milestones_round_id'))

    op.drop_table('round_milestones')
