"""Gunicorn hooks for the journey benchmark: count the SQL statements each worker sends.

Loaded with ``gunicorn -c python:bench.statement_count``; the workers write their
running totals to ``$BENCH_STATEMENT_COUNT_DIR/<pid>`` after every request, and the
benchmark adds the files up before and after its measurement.

What is counted is every statement the database executes for the application,
transaction control included, because that is what each costs a round trip on
PostgreSQL:

* every statement the driver executes, counted at the driver (a psycopg cursor
  class, a sqlite3 connection and cursor class on every connection), so the
  respondent pages' reads that go straight through the driver are counted
  like SQLAlchemy's (on SQLite ``BEGIN``/``BEGIN IMMEDIATE`` included; not
  PRAGMAs, the connection's own upkeep);
* ``BEGIN`` on PostgreSQL, which psycopg sends before the first statement of a
  transaction (not in AUTOCOMMIT);
* ``COMMIT`` and ``ROLLBACK`` when a transaction is open on the driver (a commit
  of an AUTOCOMMIT or statement-by-statement connection sends nothing and is
  not counted), including the rollback of a connection returned to the pool.

Not counted: SQLite's passive WAL checkpoint, run by the driver directly after
one write in 32 (see ``survey.dialects``), a PRAGMA like the connection's settings.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import event


class Counter:
    """A running total of statements, kept by the listeners ``install`` adds to an engine."""

    def __init__(self):
        self.total = 0


def install(engine, counter: Counter) -> None:
    """Count every statement ``engine``'s connections send into ``counter``, from their next connection on."""
    if engine.dialect.name == "postgresql":
        import psycopg
        from psycopg.pq import TransactionStatus

        class CountingCursor(psycopg.Cursor):
            def _count(self):
                connection = self.connection
                if not connection.autocommit and connection.info.transaction_status == TransactionStatus.IDLE:
                    counter.total += 1  # the BEGIN psycopg sends first
                counter.total += 1

            def execute(self, *args, **kwargs):
                self._count()
                return super().execute(*args, **kwargs)

            def executemany(self, *args, **kwargs):
                self._count()
                return super().executemany(*args, **kwargs)

        def open_transaction(driver) -> bool:
            return driver.info.transaction_status != TransactionStatus.IDLE

        @event.listens_for(engine, "connect")
        def on_connect(dbapi_connection, _record):
            dbapi_connection.cursor_factory = CountingCursor
    else:
        import sqlite3

        def count(sql) -> None:
            # PRAGMAs are the connection's upkeep (its settings, the WAL checkpoint), not the app's work.
            if not (isinstance(sql, str) and sql.lstrip()[:6].upper() == "PRAGMA"):
                counter.total += 1

        class Counting:
            def execute(self, sql, *args, **kwargs):
                count(sql)
                return super().execute(sql, *args, **kwargs)

            def executemany(self, sql, *args, **kwargs):
                count(sql)
                return super().executemany(sql, *args, **kwargs)

        class CountingCursor(Counting, sqlite3.Cursor):
            pass

        class CountingConnection(Counting, sqlite3.Connection):
            def cursor(self, factory=CountingCursor):
                return super().cursor(factory)

        def open_transaction(driver) -> bool:
            return driver.in_transaction

        @event.listens_for(engine, "do_connect")
        def on_do_connect(_dialect, _record, _cargs, cparams):
            cparams["factory"] = CountingConnection

    def on_end(connection):
        if open_transaction(connection.connection.driver_connection):
            counter.total += 1

    event.listen(engine, "commit", on_end)
    event.listen(engine, "rollback", on_end)

    @event.listens_for(engine.pool, "reset")
    def on_reset(dbapi_connection, _record, _state):
        if open_transaction(dbapi_connection):
            counter.total += 1


def install_in_app(app, counter: Counter) -> None:
    """Count the statements of both of ``app``'s engines; connections already pooled are closed first."""
    for key in ("survey.engine", "survey.statement_engine"):
        engine = app.extensions[key]
        # The SQLite statement engine is the same engine with an option: one set of listeners.
        if key == "survey.statement_engine" and engine.pool is app.extensions["survey.engine"].pool:
            continue
        engine.dispose()
        install(engine, counter)


_counter = Counter()
_written = [-1]


def post_worker_init(worker):
    install_in_app(worker.wsgi, _counter)


def post_request(worker, _req, _environ, _resp):
    if _counter.total != _written[0]:
        _written[0] = _counter.total
        path = os.path.join(os.environ["BENCH_STATEMENT_COUNT_DIR"], str(os.getpid()))
        # Replaced, never truncated in place: a reader sees the old total or the new one.
        with open(path + ".new", "w") as out:
            out.write(str(_counter.total))
        os.replace(path + ".new", path)


def read_total(directory: str) -> int:
    total = 0
    for name in os.listdir(directory):
        if name.isdigit():
            with open(os.path.join(directory, name)) as counted:
                total += int(counted.read())
    return total


def settled_total(directory: str) -> int:
    """The total once the workers have written it: a worker writes after its response has gone."""
    total = read_total(directory)
    while True:
        time.sleep(0.5)
        again = read_total(directory)
        if again == total:
            return total
        total = again
