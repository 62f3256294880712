"""paper forms carry the administrative procedure, like the responses of a collection point

``paper_entries.procedure_id``: the procedure (mã thủ tục) a clerk keyed from the
paper form, compared between the two passes like the answers; the reconciled
form passes it to the stored response (``responses.procedure_id``, which exists
since 0012). A plain integer without a foreign key, as ``responses.procedure_id``:
procedures are never deleted, and on SQLite a constraint would mean batch mode,
copying the table. Existing passes get NULL: no procedure keyed.

Revision ID: 0021_paper_procedure
Revises: 0020_points_upload
"""

from alembic import op


revision = '0021_paper_procedure'
down_revision = '0020_points_upload'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE paper_entries ADD COLUMN procedure_id INTEGER")


def downgrade() -> None:
    # Stored responses keep their procedure; only the passes' keyed procedure goes.
    op.execute("ALTER TABLE paper_entries DROP COLUMN procedure_id")
