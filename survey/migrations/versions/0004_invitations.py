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
    pass


def downgrade() -> None:
    pass
