"""provinces: a stamp that changes with every write to the province's list of procedures

A collection point's page offers the province's whole list of procedures. Its
read aggregated the list into one text on every view, to key the parsed list
and the cached page by it: more than half of the database's CPU per view. The
page now reads only ``provinces.procedure_list_stamp``, a random value that
triggers on ``procedures`` replace on every insert, update and delete (in the
writing statement itself, so no path can change the list and keep the stamp),
and reads the list again only for a stamp it has not seen. A province whose
stamp is NULL has never had a procedure.

The upgrade stamps every province that has procedures; nothing is deleted. The
downgrade drops the triggers (and, on PostgreSQL, their function) and the
column.

On SQLite a table rebuilt by ``batch_alter_table`` loses its triggers: a later
revision that rebuilds ``procedures`` must create these again
(``tests/collection/test_points.py`` changes the list by SQL and checks the page).

Revision ID: 0023_procedure_list_stamp
Revises: 0022_ledger_consumes_draft
Create Date: 2026-12-01 08:10:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0023_procedure_list_stamp'
down_revision = '0022_ledger_consumes_draft'
branch_labels = None
depends_on = None

TRIGGER = "procedures_restamp_province"
EVENTS = {"INSERT": ("NEW",), "UPDATE": ("NEW", "OLD"), "DELETE": ("OLD",)}
RANDOM_STAMP = {"sqlite": "lower(hex(randomblob(16)))", "postgresql": "md5(random()::text || clock_timestamp()::text)"}


def upgrade() -> None:
    op.add_column("provinces", sa.Column("procedure_list_stamp", sa.String(length=32), nullable=True))
    name = op.get_bind().dialect.name
    stamp = RANDOM_STAMP[name]
    op.execute(f"UPDATE provinces SET procedure_list_stamp = {stamp} "
               "WHERE id IN (SELECT province_id FROM procedures)")
    if name == "sqlite":
        for event, rows in EVENTS.items():
            updates = "\n".join(f"    UPDATE provinces SET procedure_list_stamp = {stamp} WHERE id = {row}.province_id;"
                                for row in rows)
            op.execute(f"CREATE TRIGGER {TRIGGER}_{event.lower()} AFTER {event} ON procedures FOR EACH ROW\n"
                       f"BEGIN\n{updates}\nEND")
        return
    op.execute(f"""CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        UPDATE provinces SET procedure_list_stamp = {stamp} WHERE id = NEW.province_id;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        UPDATE provinces SET procedure_list_stamp = {stamp} WHERE id = OLD.province_id;
    END IF;
    RETURN NULL;
END
$$""")
    op.execute(f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON procedures "
               f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in EVENTS:
            op.execute(f"DROP TRIGGER {TRIGGER}_{event.lower()}")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER} ON procedures")
        op.execute(f"DROP FUNCTION {TRIGGER}()")
    # Not batch_alter_table: on SQLite it rebuilds the table, and dropping the old provinces would
    # cascade to every agency, round and procedure. SQLite drops a plain column in place (3.35+).
    op.execute("ALTER TABLE provinces DROP COLUMN procedure_list_stamp")
