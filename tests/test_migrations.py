"""Migrations: empty -> head -> base on both databases, and the models match head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from survey import migrate
from survey.db import Base, make_engine
from tests.databases import temporary_database


def test_upgrade_to_head_then_downgrade_to_base(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "head")
        engine = make_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
            assert {t.name for t in Base.metadata.sorted_tables} <= tables
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"render_as_batch": True})
                assert compare_metadata(context, Base.metadata) == [], "models differ from the migrations"
        finally:
            engine.dispose()

        migrate.downgrade(url, "base")
        engine = make_engine(url)
        try:
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        finally:
            engine.dispose()
