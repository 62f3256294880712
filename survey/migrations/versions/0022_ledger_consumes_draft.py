"""drafts: a person's entry in the ledger deletes their draft, by a trigger

A draft holds answers next to a respondent only until they submit. The
submission deleted it with a statement of its own; the database now does it
as part of the ledger's INSERT (an AFTER INSERT trigger on ``submissions``),
so no path that enters a person in the ledger can leave their draft behind,
and SQLite's submission, which has no data-modifying CTE to fold it into,
sends one statement fewer inside the writer queue.

Nothing is deleted by the upgrade itself. The downgrade drops the trigger
(and, on PostgreSQL, its function); the submission code of the previous
revision deletes the draft itself again.

On SQLite a table rebuilt by ``batch_alter_table`` loses its triggers: a
later revision that rebuilds ``submissions`` must create this one again
(``tests/respond/test_storage.py`` checks that a submission leaves no draft).

Revision ID: 0022_ledger_consumes_draft
Revises: 0021_paper_procedure
Create Date: 2026-11-30 21:40:00
"""

from alembic import op


revision = '0022_ledger_consumes_draft'
down_revision = '0021_paper_procedure'
branch_labels = None
depends_on = None

TRIGGER = "submissions_consume_draft"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"""CREATE TRIGGER {TRIGGER} AFTER INSERT ON submissions FOR EACH ROW
BEGIN
    DELETE FROM drafts WHERE respondent_id = NEW.respondent_id;
END""")
        return
    op.execute(f"""CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM drafts WHERE respondent_id = NEW.respondent_id;
    RETURN NULL;
END
$$""")
    op.execute(f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON submissions FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()")


def downgrade() -> None:
    op.execute(f"DROP TRIGGER {TRIGGER}" + ("" if op.get_bind().dialect.name == "sqlite" else " ON submissions"))
    if op.get_bind().dialect.name != "sqlite":
        op.execute(f"DROP FUNCTION {TRIGGER}()")
