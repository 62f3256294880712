"""agency_aliases and roster_imports.decisions: conflicts and unknown agencies settled on the preview

``agency_aliases`` remembers, per province, another name under which lists name one of its
agencies ("HĐND tỉnh Lào Cai" for the Council office), mapped by the province administrator from
an import preview. ``roster_imports.decisions`` keeps that administrator's choice for each person
already listed in another group or agency (keep the existing entry or take the new one).

``decisions`` is added and dropped with plain ALTER TABLE, the same on both databases: batch
mode on SQLite would copy ``roster_imports`` and drop the original, and with foreign keys on that
DROP would empty ``respondents.import_id`` through its ON DELETE SET NULL. Existing imports get
no decisions (NULL reads as none). The downgrade drops the aliases table: the names mapped since
are lost, the agencies and people they resolved to stay.

Revision ID: 0014_agency_aliases
Revises: 0013_sign_in_throttles
"""

import sqlalchemy as sa
from alembic import op

revision = '0014_agency_aliases'
down_revision = '0013_sign_in_throttles'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agency_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('folded', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_agency_aliases_agency_id_agencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['province_id'], ['provinces.id'], name=op.f('fk_agency_aliases_province_id_provinces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_aliases')),
    sa.UniqueConstraint('province_id', 'folded', name=op.f('uq_agency_aliases_province_id_folded'))
    )
    op.create_index(op.f('ix_agency_aliases_agency_id'), 'agency_aliases', ['agency_id'], unique=False)
    op.create_index(op.f('ix_agency_aliases_province_id'), 'agency_aliases', ['province_id'], unique=False)
    op.add_column('roster_imports', sa.Column('decisions', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('roster_imports', 'decisions')
    op.drop_index(op.f('ix_agency_aliases_province_id'), table_name='agency_aliases')
    op.drop_index(op.f('ix_agency_aliases_agency_id'), table_name='agency_aliases')
    op.drop_table('agency_aliases')
