"""Throw-away databases for tests: a SQLite file, or a PostgreSQL database created and dropped."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import text

from survey.db import Base, make_engine

POSTGRES_ADMIN = os.environ.get("SURVEY_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
POSTGRES_URL = os.environ.get("SURVEY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/{name}")


@contextmanager
def temporary_database(backend: str, directory: Path):
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'survey-test.db'}"
        return
    if backend != "postgresql":
        raise ValueError(backend)
    name = f"survey_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.format(name=name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Ids start again at 1 in every test on PostgreSQL: only the sequences a test used are restarted.
_RESTART_USED_SEQUENCES = """
DO $$
DECLARE s record;
BEGIN
  FOR s IN SELECT schemaname, sequencename FROM pg_sequences
           WHERE schemaname = current_schema() AND last_value IS NOT NULL LOOP
    EXECUTE format('ALTER SEQUENCE %I.%I RESTART', s.schemaname, s.sequencename);
  END LOOP;
END $$"""


def empty_all_tables(engine) -> None:
    # DELETE, children first, rather than TRUNCATE: a test leaves a few rows, and TRUNCATE of
    # fifty tables costs about half a second on PostgreSQL (new files for each), after every test.
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        for table in tables:
            connection.execute(text(f"DELETE FROM {table}"))
        if engine.dialect.name == "postgresql":
            connection.execute(text(_RESTART_USED_SEQUENCES))


@contextmanager
def engine_at(url: str):
    """An engine on ``url`` for a test's few statements, disposed afterwards (its pool holds connections)."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
