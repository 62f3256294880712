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
    pass


def downgrade() -> None:
    pass
