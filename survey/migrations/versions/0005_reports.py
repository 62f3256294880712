"""analysis inputs and results (issue 5)

Revision ID: 0005_reports
Revises: 0004_invitations
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_reports'
down_revision = '0004_invitations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
