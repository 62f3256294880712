"""Database engine, sessions and the declarative base.

One engine per application, one session per request (or per CLI command).
Services flush, never commit: the request edge commits once (see
``survey.create_app``), so a failed request writes nothing.
"""

from __future__ import annotations

import contextvars
import fcntl
import logging
import os
import select
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)

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

# Execution option of the SQLite engine for requests declared ``g.db_autocommit``: no BEGIN is sent.
STATEMENT_AUTOCOMMIT = "survey_statement_autocommit"


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _discard_connections_closed_by_the_server(engine)
    return engine


def _discard_connections_closed_by_the_server(engine: Engine) -> None:
    """Check a pooled connection on checkout without pool_pre_ping's round trip.

    When PostgreSQL restarts or ends a backend, it sends a termination notice
    and closes the socket, so an idle connection's socket then reads as ready.
    Polling it costs a system call; pre_ping's ``SELECT`` cost a round trip on
    every request, the largest fixed cost of a respondent's page after its one
    query. A connection that dies silently (a network partition) still fails
    its first statement; SQLAlchemy then invalidates the pool, so the next
    request reconnects.
    """

    @event.listens_for(engine.pool, "checkout")
    def on_checkout(dbapi_connection, _record, _proxy):
        if dbapi_connection.closed or _has_pending_input(dbapi_connection.fileno()):
            # The pool discards this connection and checks out another (documented behaviour).
            raise DisconnectionError("the server closed this pooled connection while it was idle")


def _has_pending_input(descriptor: int) -> bool:
    poller = select.poll()
    poller.register(descriptor, select.POLLIN)
    return bool(poller.poll(0))  # POLLIN, or POLLHUP/POLLERR, which poll always reports


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
        if lock_path is not None:
            # Checkpoints run after the writer queue is released (_release_writer_lock);
            # SQLite's own, inside a commit, stays only as a safety net for a long WAL.
            cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_SAFETY_NET_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get(STATEMENT_AUTOCOMMIT):
            # The statements commit one by one (the connection's isolation_level
            # is None), as PostgreSQL's AUTOCOMMIT does; the commit SQLAlchemy
            # sends later finds no transaction and does nothing.
            return
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

    # Every way a connection leaves its user: returned (reset, then checkin) or thrown away.
    @event.listens_for(engine.pool, "reset")
    def on_reset(dbapi_connection, record, _reset_state):
        if record is not None:
            _release_writer_lock(record.info, dbapi_connection)

    @event.listens_for(engine.pool, "checkin")
    def on_checkin(dbapi_connection, record):
        if record is not None:
            _release_writer_lock(record.info, dbapi_connection)

    @event.listens_for(engine.pool, "invalidate")
    def on_invalidate(_dbapi_connection, record, _exception):
        if record is not None:
            _release_writer_lock(record.info)

    @event.listens_for(engine.pool, "close")
    def on_close(_dbapi_connection, record):
        if record is not None:
            _release_writer_lock(record.info)


# A writing transaction of a respondent adds ~20 pages to the WAL; SQLite's
# default checkpoint, every 1,000 pages, ran inside a commit, so the writer
# queue waited for it (about 0.4 ms per submission on average). Each
# connection instead checkpoints after every CHECKPOINT_EVERY writes, once it
# has let the next writer in; PASSIVE never waits for, nor blocks, writers.
CHECKPOINT_EVERY = 32
AUTOCHECKPOINT_SAFETY_NET_PAGES = 20_000


def _release_writer_lock(info: dict, dbapi_connection=None) -> None:
    descriptor = info.pop("writer_lock", None)
    if descriptor is None:
        return
    os.close(descriptor)  # closing the descriptor releases the flock
    if dbapi_connection is None:
        return
    writes = info.get("writes_since_checkpoint", 0) + 1
    if writes < CHECKPOINT_EVERY:
        info["writes_since_checkpoint"] = writes
        return
    info["writes_since_checkpoint"] = 0
    try:
        dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.OperationalError:
        log.warning("WAL checkpoint skipped", exc_info=True)  # the next one, or the safety net, will do it


def begin_writes(connection: Connection) -> None:
    """Let a connection that has read statement by statement (``g.db_autocommit``) write in a transaction.

    What it reads after this, and writes, is one transaction, begun at the next
    statement (on SQLite: in the writer queue, with BEGIN IMMEDIATE). A
    connection already transactional is left as it is.
    """
    if connection.get_execution_options().get(STATEMENT_AUTOCOMMIT):
        connection.commit()  # ends SQLAlchemy's record of the reads; SQLite has no transaction to end
        connection.execution_options(**{STATEMENT_AUTOCOMMIT: False})
    elif connection.dialect.name == "postgresql" and connection.connection.driver_connection.autocommit:
        connection.commit()
        # For this checkout only: the pool puts the connection back in AUTOCOMMIT on return.
        connection.execution_options(isolation_level=connection.dialect.default_isolation_level)


def end_writes(connection: Connection) -> None:
    """Let the next SQLite writer in once this connection's transaction is over.

    The writer queue is otherwise released when the connection goes back to
    the pool, after the rest of the request; a caller that is done with the
    database (the request edge, after its commit) shortens the queue by
    calling this. Nothing happens on PostgreSQL or without the lock.
    """
    if not connection.in_transaction() and "writer_lock" in connection.info:
        _release_writer_lock(connection.info, connection.connection.driver_connection)


def init_app(app) -> None:
    engine = make_engine(app.config["DATABASE_URL"], **app.config.get("ENGINE_OPTIONS", {}))
    app.extensions["survey.engine"] = engine
    # Statements committed one by one. On SQLite, where switching the isolation
    # level costs a PRAGMA on every return, the same pool simply sends no BEGIN
    # (see _configure_sqlite). On PostgreSQL, a pool of its own whose
    # connections stay in AUTOCOMMIT: switching pooled connections in and out
    # of it on every checkout cost about a tenth of a respondent's page under
    # load (psycopg's autocommit and isolation setters, both ways). A sync
    # worker then holds up to one connection in each pool.
    app.extensions["survey.autocommit_engine"] = (
        engine.execution_options(**{STATEMENT_AUTOCOMMIT: True}) if engine.dialect.name == "sqlite"
        else make_engine(app.config["DATABASE_URL"], isolation_level="AUTOCOMMIT",
                         **app.config.get("ENGINE_OPTIONS", {}))
    )
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
    for key in ("survey.autocommit_engine", "survey.engine"):
        app.extensions[key].dispose()


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
    statements themselves on this, the busiest path of the application.

    A request that declared ``g.db_autocommit`` (pages that read with one
    statement, or write with one self-contained statement) gets a connection
    that sends no BEGIN/COMMIT: two round trips fewer per page on PostgreSQL;
    on SQLite, a read that takes no snapshot and a write that takes no lock
    until it runs. ``begin_writes`` turns it into a transaction when needed.
    """
    if "db_connection" not in g:
        chosen = current_app.extensions["survey.autocommit_engine"] if g.get("db_autocommit") else engine()
        g.db_connection = chosen.connect()
    return g.db_connection


def connection_if_open() -> Connection | None:
    return g.get("db_connection")


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
