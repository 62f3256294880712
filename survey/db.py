"""Database engine, sessions and the declarative base.

One engine per application, one session or connection per request (or per
CLI command). Services flush, never commit: the request edge commits once
(see ``survey.create_app``), so a failed request writes nothing. What differs
between SQLite and PostgreSQL is in ``survey.dialects``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from survey import dialects
from survey.dialects import make_engine, write_intent

__all__ = ["Base", "make_engine", "write_intent", "reads_statement_by_statement", "session", "connection",
           "unit_of_work"]

# Stable constraint names, so Alembic revisions name what they create and
# drop identically on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def reads_statement_by_statement(view):
    """Declare a view whose database work needs no transaction around it.

    For pages that read with one statement, or write with one self-contained
    statement: its ``connection()`` sends no BEGIN/COMMIT, two round trips
    fewer per page on PostgreSQL; on SQLite, a read that takes no snapshot and
    a write that takes no lock until it runs. A view that then needs a
    transaction calls ``begin_writes``. The edge still commits on success and
    rolls back on an error status, whatever the view declared.
    """
    view.reads_statement_by_statement = True
    return view


def _declared_statement_by_statement() -> bool:
    if not has_request_context() or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "reads_statement_by_statement", False)


def init_app(app) -> None:
    url, options = app.config["DATABASE_URL"], app.config.get("ENGINE_OPTIONS", {})
    engine = make_engine(url, **options)
    app.extensions["survey.engine"] = engine
    app.extensions["survey.statement_engine"] = dialects.statement_by_statement_engine(engine, url, **options)
    app.extensions["survey.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()  # rolls back anything not committed at the edge
        connection = g.pop("db_connection", None)
        if connection is not None:
            connection.close()  # likewise


def dispose(app) -> None:
    """Close every pooled connection of ``app`` (tests, benchmarks, the end of a CLI run)."""
    for key in ("survey.statement_engine", "survey.engine"):
        app.extensions[key].dispose()


def forget_inherited_connections(app) -> None:
    """In a forked process: new pools for ``app``'s engines, leaving the parent's connections to the parent."""
    for key in ("survey.statement_engine", "survey.engine"):
        app.extensions[key].dispose(close=False)


def session() -> Session:
    """The ORM session of the current request or CLI command (always transactional)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["survey.sessionmaker"]()
    return g.db_session


def session_if_open() -> Session | None:
    return g.get("db_session")


def connection() -> Connection:
    """A Core connection for the current request, committed at the edge like the session.

    For the respondent's pages, which run a handful of prebuilt statements and
    load no ORM objects: the ORM session's bookkeeping cost more than the
    statements themselves on this, the busiest path of the application. In a
    view declared ``reads_statement_by_statement``, it commits statement by
    statement until ``begin_writes``.
    """
    if "db_connection" not in g:
        chosen = (current_app.extensions["survey.statement_engine"] if _declared_statement_by_statement()
                  else engine())
        g.db_connection = chosen.connect()
    return g.db_connection


def connection_if_open() -> Connection | None:
    return g.get("db_connection")


def begin_writes(connection: Connection) -> None:
    """Let a statement-by-statement connection write in a transaction (see ``survey.dialects``)."""
    dialects.of(connection).begin_writes(connection)


def end_writes(connection: Connection) -> None:
    """Let the next SQLite writer in once this connection's transaction is over.

    The writer queue is otherwise released when the connection goes back to
    the pool, after the rest of the request; a caller that is done with the
    database (the request edge, after its commit) shortens the queue.
    """
    dialects.of(connection).end_writes(connection)


def engine() -> Engine:
    return current_app.extensions["survey.engine"]


@contextmanager
def unit_of_work(*, write: bool = True) -> Iterator[Session]:
    """A session outside a request (CLI, worker): commit on success, else roll back."""
    token = write_intent.set(write)
    try:
        with current_app.extensions["survey.sessionmaker"]() as s:
            with s.begin():
                yield s
    finally:
        write_intent.reset(token)
