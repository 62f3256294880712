"""assessment: self-assessment, evidence and appraisal tables; council roles

Creates the tables of survey/assessment and widens ``ck_users_known_role`` to
the appraisal council's roles (council_chair, council_member, working_group).
On SQLite the CHECK is rewritten in the schema record rather than ``users``
recreated (see survey/migrations/constraints.py). The downgrade refuses while
accounts hold the new roles, rather than delete them.

Revision ID: 0009_assessment
Revises: 0007_answer_counts
Create Date: 2026-11-30 18:19:47.107211
"""

from alembic import op
import sqlalchemy as sa

from survey.migrations.constraints import set_allowed_values


revision = '0009_assessment'
down_revision = '0007_answer_counts'
branch_labels = None
depends_on = None


OLD_ROLES = "('system_admin', 'province_admin', 'focal_point', 'analyst')"
NEW_ROLES = ("('system_admin', 'province_admin', 'focal_point', 'analyst', "
             "'council_chair', 'council_member', 'working_group')")


def upgrade() -> None:
    set_allowed_values("users", "known_role", "role", OLD_ROLES, NEW_ROLES)
    op.create_table('assessment_cycles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('structure_key', sa.String(length=64), nullable=False),
    sa.Column('structure_version', sa.String(length=32), nullable=False),
    sa.Column('structure_hash', sa.String(length=64), nullable=False),
    sa.Column('rules_hash', sa.String(length=64), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_assessment_cycles_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_cycles')),
    sa.UniqueConstraint('round_id', name=op.f('uq_assessment_cycles_round_id'))
    )
    op.create_table('assessment_appraisals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('subcriterion', sa.String(length=32), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_assessment_appraisals_points_not_negative')),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'], name=op.f('fk_assessment_appraisals_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_appraisals')),
    sa.UniqueConstraint('cycle_id', 'subcriterion', name=op.f('uq_assessment_appraisals_cycle_id_subcriterion'))
    )
    with op.batch_alter_table('assessment_appraisals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_appraisals_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('assessment_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('subcriterion', sa.String(length=32), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_assessment_assignments_agency_id_agencies')),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'], name=op.f('fk_assessment_assignments_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_assignments')),
    sa.UniqueConstraint('cycle_id', 'subcriterion', name=op.f('uq_assessment_assignments_cycle_id_subcriterion'))
    )
    with op.batch_alter_table('assessment_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_assignments_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_assignments_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('assessment_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('subcriterion', sa.String(length=32), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=320), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_assessment_comments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'], name=op.f('fk_assessment_comments_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_comments'))
    )
    with op.batch_alter_table('assessment_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_comments_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('assessment_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('subcriterion', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('numerator', sa.Float(), nullable=True),
    sa.Column('denominator', sa.Float(), nullable=True),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('denominator IS NULL OR denominator > 0', name=op.f('ck_assessment_entries_denominator_positive')),
    sa.CheckConstraint('points IS NULL OR points >= 0', name=op.f('ck_assessment_entries_points_not_negative')),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'], name=op.f('fk_assessment_entries_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_assessment_entries_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_entries')),
    sa.UniqueConstraint('cycle_id', 'subcriterion', name=op.f('uq_assessment_entries_cycle_id_subcriterion'))
    )
    with op.batch_alter_table('assessment_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_entries_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('assessment_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_assessment_evidence_agency_id_agencies')),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'], name=op.f('fk_assessment_evidence_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_assessment_evidence_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_evidence'))
    )
    with op.batch_alter_table('assessment_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_evidence_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_evidence_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('assessment_frozen_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('frozen_by', sa.String(length=320), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'], name=op.f('fk_assessment_frozen_versions_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_frozen_versions')),
    sa.UniqueConstraint('cycle_id', name=op.f('uq_assessment_frozen_versions_cycle_id'))
    )
    op.create_table('assessment_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_comment', sa.Text(), nullable=False),
    sa.CheckConstraint("status <> 'submitted' OR submitted_at IS NOT NULL", name=op.f('ck_assessment_parts_submitted_has_time')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'returned')", name=op.f('ck_assessment_parts_known_status')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_assessment_parts_agency_id_agencies')),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'], name=op.f('fk_assessment_parts_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_parts')),
    sa.UniqueConstraint('cycle_id', 'agency_id', name=op.f('uq_assessment_parts_cycle_id_agency_id'))
    )
    with op.batch_alter_table('assessment_parts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_parts_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_parts_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('assessment_point_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('subcriterion', sa.String(length=32), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('from_points', sa.Float(), nullable=True),
    sa.Column('to_points', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stage IN ('self', 'appraisal')", name=op.f('ck_assessment_point_changes_known_stage')),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycles.id'], name=op.f('fk_assessment_point_changes_cycle_id_assessment_cycles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_assessment_point_changes_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_point_changes'))
    )
    with op.batch_alter_table('assessment_point_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_point_changes_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('assessment_evidence_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['assessment_evidence.id'], name=op.f('fk_assessment_evidence_links_document_id_assessment_evidence'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['assessment_entries.id'], name=op.f('fk_assessment_evidence_links_entry_id_assessment_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_evidence_links')),
    sa.UniqueConstraint('document_id', 'entry_id', name=op.f('uq_assessment_evidence_links_document_id_entry_id'))
    )
    with op.batch_alter_table('assessment_evidence_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_evidence_links_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_evidence_links_entry_id'), ['entry_id'], unique=False)



def downgrade() -> None:
    council = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM users WHERE role IN ('council_chair', 'council_member', 'working_group')")).scalar()
    if council:
        raise RuntimeError(f"{council} account(s) hold an appraisal council role; change or delete them "
                           "before downgrading below 0009_assessment")
    with op.batch_alter_table('assessment_evidence_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_evidence_links_entry_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_evidence_links_document_id'))

    op.drop_table('assessment_evidence_links')
    with op.batch_alter_table('assessment_point_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_point_changes_cycle_id'))

    op.drop_table('assessment_point_changes')
    with op.batch_alter_table('assessment_parts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_parts_cycle_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_parts_agency_id'))

    op.drop_table('assessment_parts')
    op.drop_table('assessment_frozen_versions')
    with op.batch_alter_table('assessment_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_evidence_cycle_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_evidence_agency_id'))

    op.drop_table('assessment_evidence')
    with op.batch_alter_table('assessment_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_entries_cycle_id'))

    op.drop_table('assessment_entries')
    with op.batch_alter_table('assessment_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_comments_cycle_id'))

    op.drop_table('assessment_comments')
    with op.batch_alter_table('assessment_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_assignments_cycle_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_assignments_agency_id'))

    op.drop_table('assessment_assignments')
    with op.batch_alter_table('assessment_appraisals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_appraisals_cycle_id'))

    op.drop_table('assessment_appraisals')
    op.drop_table('assessment_cycles')
    set_allowed_values("users", "known_role", "role", NEW_ROLES, OLD_ROLES)
