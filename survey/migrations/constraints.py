"""Changing the list of values a named ``CHECK (column IN (...))`` constraint allows.

On SQLite the CHECK is rewritten in the schema record, the procedure SQLite documents for
constraint changes that leave the stored rows valid: recreating the table in batch mode would
fire the ON DELETE actions of the tables that refer to it (audit events would lose their user).
PostgreSQL drops the constraint and creates it again. The caller makes sure every stored row
satisfies the new list (a widening always does; a narrowing deletes or refuses first).

Revisions 0009 and 0015 call this: its behaviour is part of their history, so a change here
must leave what they produce unchanged (tests/test_migrations.py checks both databases).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def set_allowed_values(table: str, constraint: str, column: str, old: str, new: str) -> None:
    """Turns ``CHECK (column IN old)``, named ``ck_<table>_<constraint>``, into ``column IN new``.

    ``old`` and ``new`` are SQL lists as the model renders them, e.g. ``"('invitation', 'reminder')"``.
    """
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        table_sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table"),
                                 {"table": table}).scalar()
        if f"{column} IN {old}" not in table_sql:
            raise RuntimeError(f"{table}: the {column} CHECK constraint is not the one this revision expects")
        version = bind.execute(sa.text("PRAGMA schema_version")).scalar()
        bind.execute(sa.text("PRAGMA writable_schema = ON"))
        bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :table"),
                     {"sql": table_sql.replace(f"{column} IN {old}", f"{column} IN {new}"), "table": table})
        bind.execute(sa.text(f"PRAGMA schema_version = {version + 1}"))
        bind.execute(sa.text("PRAGMA writable_schema = OFF"))
        return
    op.drop_constraint(op.f(f"ck_{table}_{constraint}"), table, type_="check")
    op.create_check_constraint(constraint, table, f"{column} IN {new}")
