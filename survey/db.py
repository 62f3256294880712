"""Database engine, sessions and the declarative base.

One engine per application, one session per request (or per CLI command).
Services flush, never commit: the request edge commits once (see
``survey.create_app``), so a failed request writes nothing.
"""

from __future__ import annotations

import contextvars
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

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


# Whether the current unit of work intends to write. On SQLite a deferred
# transaction that reads and then writes can fail at once with "database is
# locked" when another writer committed in between (the busy timeout does not
# apply to a lock upgrade), so writing units start with BEGIN IMMEDIATE and
# queue behind each other instead. Reads keep a deferred BEGIN and run
# concurrently thanks to WAL.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _writer_lock_path(engine: Engine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writer.lock"


def _configure_sqlite(engine: Engine) -> None:
    lock_path = _writer_lock_path(engine)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions
        # begin (the documented recipe that makes SAVEPOINT work).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if not write_intent.get():
            connection.exec_driver_sql("BEGIN")
            return
        if lock_path is not None and "writer_lock" not in connection.info:
            # Queue writers on a blocking file lock first: SQLite's own busy
            # handler polls with sleeps growing to 100 ms, which starves
            # some writers under load; flock wakes the next one at once.
            # The lock belongs to the checked-out connection (several
            # transactions may run on it) and is released when it goes back.
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            connection.info["writer_lock"] = descriptor
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def release_writer_lock(record) -> None:
        descriptor = record.info.pop("writer_lock", None) if record is not None else None
        if descriptor is not None:
            os.close(descriptor)  # closing the descriptor releases the flock

    # Every way a connection leaves its user: returned (reset, then checkin) or thrown away.
    @event.listens_for(engine.pool, "reset")
    def on_reset(_dbapi_connection, record, _reset_state):
        release_writer_lock(record)

    @event.listens_for(engine.pool, "checkin")
    def on_checkin(_dbapi_connection, record):
        release_writer_lock(record)

    @event.listens_for(engine.pool, "invalidate")
    def on_invalidate(_dbapi_connection, record, _exception):
        release_writer_lock(record)

    @event.listens_for(engine.pool, "close")
    def on_close(_dbapi_connection, record):
        release_writer_lock(record)


def init_app(app) -> None:
    engine = make_engine(app.config["DATABASE_URL"], **app.config.get("ENGINE_OPTIONS", {}))
    app.extensions["survey.engine"] = engine
    # Same pool, connections switched to autocommit for the checkout (and back on return).
    # Not for SQLite: its BEGIN/COMMIT cost no round trip, and switching the
    # isolation level on every checkout measured slower than keeping them.
    app.extensions["survey.autocommit_engine"] = (
        None if engine.dialect.name == "sqlite" else engine.execution_options(isolation_level="AUTOCOMMIT")
    )
    app.extensions["survey.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()  # rolls back anything not committed at the edge


def session() -> Session:
    """The session of the current request or CLI command.

    A request that declared ``g.db_autocommit`` (a page that reads with one
    statement, or writes with one self-contained statement) runs without
    BEGIN/COMMIT on PostgreSQL, saving two round trips per page.
    """
    if "db_session" not in g:
        maker = current_app.extensions["survey.sessionmaker"]
        autocommit = current_app.extensions["survey.autocommit_engine"]
        if autocommit is not None and g.get("db_autocommit"):
            g.db_session = maker(bind=autocommit)
        else:
            g.db_session = maker()
    return g.db_session


def session_if_open() -> Session | None:
    return g.get("db_session")


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
