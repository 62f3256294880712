"""Everything that differs between SQLite and PostgreSQL, in one place.

The rest of the application asks ``of(connection)`` for its database's
``Dialect`` and calls the same methods on either; no other module branches on
``dialect.name``. What lives here:

* the engines: SQLite's writer queue (a file lock, then ``BEGIN IMMEDIATE``)
  and its WAL checkpoints; PostgreSQL's check of pooled connections and its
  pool of statement-by-statement (AUTOCOMMIT) connections;
* turning a statement-by-statement connection into a transaction
  (``begin_writes``) and letting the next SQLite writer in (``end_writes``);
* the fast paths of the busiest requests: a one-row read through a kept
  psycopg cursor, and the writing of a response, its answers, its counts,
  its ledger entry or its arrival at a point (one statement on PostgreSQL, the driver's own statements
  on SQLite), plus their bulk form for data loads.

Column lists of the fast paths are taken from the tables' metadata, so a
column added to a model reaches them without being typed again here.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import fcntl
import functools
import io
import json
import logging
import os
import select
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, create_engine, event, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as postgresql_psycopg_dialect
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Whether the current unit of work intends to write. On SQLite a deferred
# transaction that reads and then writes can fail at once with "database is
# locked" when another writer committed in between (the busy timeout does not
# apply to a lock upgrade), so writing units start with BEGIN IMMEDIATE and
# queue behind each other instead. Reads keep a deferred BEGIN and run
# concurrently thanks to WAL.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)

# Execution option of the SQLite engine for statement-by-statement requests: no BEGIN is sent.
STATEMENT_AUTOCOMMIT = "survey_statement_autocommit"

# A writing transaction of a respondent adds ~20 pages to the WAL; SQLite's
# default checkpoint, every 1,000 pages, runs inside a commit, so the writer
# queue would wait for it. Each connection instead checkpoints after every
# CHECKPOINT_EVERY writes, once it has let the next writer in; PASSIVE never
# waits for, nor blocks, writers.
CHECKPOINT_EVERY = 32
AUTOCHECKPOINT_SAFETY_NET_PAGES = 20_000


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _discard_connections_closed_by_the_server(engine)
    return engine


def statement_by_statement_engine(engine: Engine, url: str, **options) -> Engine:
    """An engine whose connections commit each statement on its own (no BEGIN/COMMIT round trips).

    On SQLite, where switching the isolation level costs a PRAGMA on every
    return, the same pool simply sends no BEGIN (see ``_configure_sqlite``).
    On PostgreSQL, a pool of its own whose connections stay in AUTOCOMMIT:
    switching pooled connections in and out of it on every checkout costs
    psycopg's autocommit and isolation setters both ways, a tenth of a
    respondent's page under load. A sync worker then holds up to one
    connection in each pool.
    """
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{STATEMENT_AUTOCOMMIT: True})
    return make_engine(url, isolation_level="AUTOCOMMIT", **options)


def single_connection_engine(url: str, **options) -> Engine:
    """An engine for a process's own one connection whose statements each commit on their own.

    For writers outside a request that commit every statement (the mail worker's outcomes): on
    PostgreSQL the connection is in AUTOCOMMIT; SQLite's raw connections already are (see
    ``_configure_sqlite``).
    """
    if url.startswith("sqlite"):
        return make_engine(url, **options)
    return make_engine(url, isolation_level="AUTOCOMMIT", **options)


def writer_lock_path(engine: Engine) -> str | None:
    """The file SQLite writers of ``engine``'s database queue on; None without one (PostgreSQL, memory)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writer.lock"


# --- engines -----------------------------------------------------------------------------

def _discard_connections_closed_by_the_server(engine: Engine) -> None:
    """Check a pooled connection on checkout without pool_pre_ping's round trip.

    When PostgreSQL restarts or ends a backend, it sends a termination notice
    and closes the socket, so an idle connection's socket then reads as ready.
    Polling it costs a system call; pre_ping's ``SELECT`` costs a round trip on
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


def _configure_sqlite(engine: Engine) -> None:
    lock_path = writer_lock_path(engine)

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
        _queue_as_writer(connection.info, lock_path)
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


def _queue_as_writer(info: dict, lock_path: str | None) -> None:
    """Wait for this connection's turn in the writer queue (nothing to wait for without a lock file).

    Writers queue on a blocking file lock first: SQLite's own busy handler
    polls with sleeps growing to 100 ms, which starves some writers under
    load; flock wakes the next one at once. The lock belongs to the
    checked-out connection (several transactions may run on it) and is
    released when it goes back, or by ``end_writes``.
    """
    if lock_path is not None and "writer_lock" not in info:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        info["writer_lock"] = descriptor


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


# --- what a response is written as ------------------------------------------------------

class Written(enum.Enum):
    STORED = "stored"
    # The respondent's draft is no longer the version read (another tab saved
    # or submitted): nothing was written.
    STALE = "stale"
    # The ledger already has this person: nothing was written.
    ALREADY = "already"


@dataclass(frozen=True)
class ResponseRows:
    """Every value one response writes, prepared before any write begins (see ``survey.responses``)."""

    response: dict  # a row of ``responses``
    answers: list[tuple]  # rows of ``answers`` without response_id and group_id: (question, option, text)
    counted: list[tuple[str, str, int]]  # (question, option, added) to ``answer_counts``
    ledger: dict | None = None  # a row of ``submissions``, when a person is behind the response
    draft_seen: datetime | None = None  # consume the person's draft, only in this version
    # A row of ``point_arrivals`` (point, window) written with an anonymous response: that it
    # arrived at a collection point, kept apart from it, for the burst watch.
    arrival: dict | None = None


def _tables():
    # Late: the models import survey.db, which imports this module.
    from survey.respond.models import Answer, AnswerCount, Draft, Response, Submission

    return (Response.__table__, Answer.__table__, AnswerCount.__table__, Submission.__table__, Draft.__table__)


def _arrivals() -> Table:
    from survey.collection.models import PointArrival

    return PointArrival.__table__


def written_columns(table: Table) -> list[str]:
    """The columns a writer supplies: all but a generated integer key."""
    return [c.name for c in table.c if c is not table.autoincrement_column]


# The answers' own values come after the two copied from their response.
_ANSWER_VALUES = ("question_code", "option_code", "text_value")


def _check_answer_columns(answers: Table) -> None:
    # The prepared rows are (question, option, text): a column added to answers must be added there too.
    if written_columns(answers) != ["response_id", "group_id", *_ANSWER_VALUES]:
        raise RuntimeError(f"answers has columns {written_columns(answers)}: teach ResponseRows the new ones")


class Dialect:
    name: str
    count_slots: int = 1
    # The collation that compares text as bytes, for grouping keys that only need telling apart
    # (None: the database's default already does).
    binary_collation: str | None = None

    @contextlib.contextmanager
    def large_aggregate(self, connection: Connection) -> Iterator[Connection]:
        """``connection``, for statements that group millions of rows into millions of groups."""
        yield connection

    def count_slot(self, response_id: str) -> int:
        """The ``answer_counts`` slot a response adds to: spread evenly by its random id."""
        return int(response_id[:4], 16) % self.count_slots

    def begin_writes(self, connection: Connection) -> None:
        """Let a connection that has read statement by statement write in a transaction.

        What it reads after this, and writes, is one transaction, begun at the
        next statement (on SQLite: in the writer queue, with BEGIN IMMEDIATE).
        A connection already transactional is left as it is.
        """

    def end_writes(self, connection: Connection) -> None:
        """Let the next writer in once this connection's transaction is over (SQLite's queue)."""

    def write_statement(self, connection: Connection, statement, parameters: dict):
        """Run one self-contained write; its result.

        On a statement-by-statement connection, PostgreSQL commits it on its
        own, without BEGIN or COMMIT around it; SQLite runs it in the writer
        queue, where every write waits its turn, in a transaction that the
        request edge commits.
        """
        return connection.execute(statement, parameters)

    def insert_first_draft(self, connection: Connection, row: dict) -> bool:
        """Insert a respondent's first draft (a row of ``drafts``) without a lock; whether it was inserted.

        Not inserted if they have a draft or are in the ledger: the caller then
        locks the respondent, reads again and saves on what it finds. On
        PostgreSQL it never inserts: under READ COMMITTED a guarded INSERT can
        wait for a concurrent submission that deletes the draft it conflicts
        with, then insert after it from a snapshot that did not see the ledger
        row, leaving a draft beside a submitted response. The respondent's lock
        closes that window.
        """
        return False

    def fetch_one(self, executor: Connection | Session, statement, parameters: dict):
        """One row of a prebuilt ``statement`` (or None)."""
        return executor.execute(statement, parameters).one_or_none()

    def fetch_plain_rows(self, connection: Connection, statement, parameters: dict) -> list[tuple]:
        """Every row of a prebuilt ``statement`` whose columns are integers and text only.

        Such values need no conversion on either database, so the subclasses
        read them straight through the driver: SQLAlchemy's execution and
        result wrapping cost twice the query for a few hundred rows.
        """
        return [tuple(row) for row in connection.execute(statement, parameters)]

    def relax_durability(self, execute: Callable[[str], None]) -> None:
        """Let this connection's commits return before their log is flushed to disk.

        For writes that are safe to repeat after a crash of the database server itself (an
        outcome of an e-mail, resent with its same Message-ID): it spares an fsync per write.
        SQLite has no such setting per connection; its WAL is already synchronous=NORMAL.
        """

    def write_response(self, connection: Connection, rows: ResponseRows) -> Written:
        raise NotImplementedError

    def write_responses_in_bulk(self, connection: Connection, responses, answers) -> None:
        raise NotImplementedError

    def add_counts(self, connection: Connection, rows: Sequence[tuple]) -> None:
        """Add ``(group_id, slot, question, option, n)`` rows to ``answer_counts``."""
        raise NotImplementedError


class SQLite(Dialect):
    """One writer at a time, in the writer queue: the statements are the driver's own.

    Every value is converted beforehand by its column's type (the text
    SQLAlchemy would store): compiling Core statements and processing each
    answer row cost a tenth of a submission in-process, inside the writer
    queue that every other submission waits for.
    """

    name = "sqlite"

    def begin_writes(self, connection: Connection) -> None:
        if connection.get_execution_options().get(STATEMENT_AUTOCOMMIT):
            connection.commit()  # ends SQLAlchemy's record of the reads; SQLite has no transaction to end
            connection.execution_options(**{STATEMENT_AUTOCOMMIT: False})

    def write_statement(self, connection: Connection, statement, parameters: dict):
        """One statement, atomic on its own: on a statement-by-statement connection, without BEGIN or COMMIT.

        Its turn in the writer queue is taken first and given up right after
        it: SQLite's own autocommit then begins, writes and commits it in one
        call, as BEGIN IMMEDIATE … COMMIT would in three (a single write
        statement takes the write lock and its snapshot at once).
        """
        if not connection.get_execution_options().get(STATEMENT_AUTOCOMMIT):
            return connection.execute(statement, parameters)
        # Straight through sqlite3, like fetch_one: SQLAlchemy's execution cost more than the write.
        sql, names, converters = _sqlite_write(statement, connection.dialect)
        values = [parameters[name] if convert is None else convert(parameters[name])
                  for name, convert in zip(names, converters)]
        _queue_as_writer(connection.info, writer_lock_path(connection.engine))
        try:
            return connection.connection.driver_connection.execute(sql, values)
        finally:
            _release_writer_lock(connection.info, connection.connection.driver_connection)

    def fetch_one(self, executor: Connection | Session, statement, parameters: dict):
        """On a statement-by-statement connection, straight through sqlite3.

        SQLAlchemy's execution and result wrapping cost four times SQLite's own
        work on the respondent's one read. The values go through the columns'
        own result processors, so they are those SQLAlchemy would return. The
        connection commits statement by statement (its driver connection is in
        autocommit), so a read outside SQLAlchemy leaves no transaction open.
        """
        if isinstance(executor, Connection) and executor.get_execution_options().get(STATEMENT_AUTOCOMMIT):
            sql, names, processors = _sqlite_read(statement, executor.dialect)
            row = executor.connection.driver_connection.execute(sql, [parameters[n] for n in names]).fetchone()
            if row is None:
                return None
            return tuple(value if convert is None else convert(value) for convert, value in zip(processors, row))
        return super().fetch_one(executor, statement, parameters)

    def insert_first_draft(self, connection: Connection, row: dict) -> bool:
        """One guarded INSERT: writers take turns, so nothing can enter the ledger between its check and its write."""
        return self.write_statement(connection, self._first_draft, row).rowcount == 1

    @functools.cached_property
    def _first_draft(self):
        import sqlalchemy
        from sqlalchemy.dialects.sqlite import insert

        _, _, _, submissions, drafts = _tables()
        columns = written_columns(drafts)
        values = sqlalchemy.select(*(sqlalchemy.bindparam(c, type_=drafts.c[c].type) for c in columns)).where(
            ~sqlalchemy.exists().where(submissions.c.respondent_id == sqlalchemy.bindparam("respondent_id")))
        return insert(drafts).from_select(columns, values).on_conflict_do_nothing(index_elements=["respondent_id"])

    def fetch_plain_rows(self, connection: Connection, statement, parameters: dict) -> list[tuple]:
        return connection.connection.driver_connection.execute(_sqlite_sql(statement), parameters).fetchall()

    def end_writes(self, connection: Connection) -> None:
        if not connection.in_transaction() and "writer_lock" in connection.info:
            _release_writer_lock(connection.info, connection.connection.driver_connection)

    @functools.cached_property
    def _statements(self) -> dict:
        responses, answers, counts, submissions, drafts = _tables()
        _check_answer_columns(answers)

        def insert(table: Table, conflict: str = "") -> str:
            columns = written_columns(table)
            return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}){conflict}"

        key = ", ".join(c.name for c in counts.primary_key)
        ledger = written_columns(submissions)
        return {
            "response": insert(responses),
            "answers": insert(answers),
            "counts": insert(counts, f" ON CONFLICT ({key}) DO UPDATE SET n = n + excluded.n"),
            "ledger": insert(submissions, " ON CONFLICT (respondent_id) DO NOTHING"),
            # The guard: the person enters the ledger only if their draft is still the
            # version read. The writer queue holds until commit, so it stays so. Entering
            # the ledger deletes the draft (the trigger of migration 0022).
            "ledger_if_draft": (f"INSERT INTO submissions ({', '.join(ledger)}) SELECT {', '.join('?' * len(ledger))} "
                                f"WHERE EXISTS (SELECT 1 FROM {drafts.name} WHERE respondent_id = ? AND updated_at = ?) "
                                "ON CONFLICT (respondent_id) DO NOTHING"),
            "draft_as_read": f"SELECT 1 FROM {drafts.name} WHERE respondent_id = ? AND updated_at = ?",
            "arrival": insert(_arrivals()),
            "arrival_columns": written_columns(_arrivals()),
            "ledger_columns": ledger,
            "response_columns": written_columns(responses),
            "answer_columns": written_columns(answers),
        }

    def write_response(self, connection: Connection, rows: ResponseRows) -> Written:
        sql = self._statements
        response = _stored(rows.response, _tables()[0], sql["response_columns"])
        self.begin_writes(connection)
        if rows.ledger is not None:
            ledger = _stored(rows.ledger, _tables()[3], sql["ledger_columns"])
            person, seen = rows.ledger["respondent_id"], None
            if rows.draft_seen is None:
                entered = connection.exec_driver_sql(sql["ledger"], ledger).rowcount
            else:
                seen = _storage(_tables()[4].c.updated_at)(rows.draft_seen)
                entered = connection.exec_driver_sql(sql["ledger_if_draft"], (*ledger, person, seen)).rowcount
            if entered != 1:
                if rows.draft_seen is not None and connection.exec_driver_sql(sql["draft_as_read"], (person, seen)).first() is None:
                    return Written.STALE  # as on PostgreSQL: the draft's guard comes first
                return Written.ALREADY
        connection.exec_driver_sql(sql["response"], response)
        response_id, group_id = rows.response["id"], rows.response["group_id"]
        if rows.answers:  # executemany: one loop in C
            connection.exec_driver_sql(sql["answers"], [(response_id, group_id, *a) for a in rows.answers])
        if rows.counted:
            slot = self.count_slot(response_id)
            connection.exec_driver_sql(sql["counts"], [(group_id, slot, q, o, n) for q, o, n in rows.counted])
        if rows.arrival is not None:
            connection.exec_driver_sql(sql["arrival"], _stored(rows.arrival, _arrivals(), sql["arrival_columns"]))
        return Written.STORED

    def write_responses_in_bulk(self, connection: Connection, responses, answers) -> None:
        sql = self._statements
        raw = connection.connection.driver_connection
        responses = _converted_frame(responses, _tables()[0], sql["response_columns"])
        answers = _converted_frame(answers, _tables()[1], sql["answer_columns"])
        raw.executemany(sql["response"], responses.itertuples(index=False, name=None))
        raw.executemany(sql["answers"], answers.itertuples(index=False, name=None))

    def add_counts(self, connection: Connection, rows: Sequence[tuple]) -> None:
        if rows:
            connection.exec_driver_sql(self._statements["counts"], list(rows))


class PostgreSQL(Dialect):
    name = "postgresql"
    # Submissions run concurrently; one row per cell would make them queue on its row lock.
    count_slots = 16
    _VISIT_CURSOR = "survey.kept_cursor"  # key of the pooled connection's info dict
    # The default collation (e.g. C.UTF-8) sorts through strcoll, several times the cost of memcmp.
    binary_collation = "C"
    # Settings for a statement that groups millions of rows into millions of groups. At the
    # default work_mem (4 MB) the groups spill to disk. The planner estimates a join with a VALUES
    # list at a handful of rows, so it sorts them, and the sort of millions of text keys spills
    # as well and costs more than hashing them (EXPLAIN ANALYZE on 200,000 respondents: 97 s of a
    # 119 s statement in the sort and its aggregate; with hashing, 67 s for the whole statement).
    LARGE_AGGREGATE_SETTINGS = {"work_mem": "256MB", "enable_sort": "off"}

    @contextlib.contextmanager
    def large_aggregate(self, connection: Connection) -> Iterator[Connection]:
        """Connection settings for the statements inside only.

        Inside a transaction the settings are local to it: a failed statement leaves nothing to
        undo (the rollback discards them). On a statement-by-statement connection they are the
        session's, and are put back whatever happens.
        """
        local = not connection.connection.driver_connection.autocommit
        names = list(self.LARGE_AGGREGATE_SETTINGS)
        change = text("SELECT " + ", ".join(
            f"current_setting(:name_{i}), set_config(:name_{i}, :value_{i}, :local)" for i in range(len(names))))
        parameters = {"local": local, **{f"name_{i}": n for i, n in enumerate(names)},
                      **{f"value_{i}": self.LARGE_AGGREGATE_SETTINGS[n] for i, n in enumerate(names)}}
        previous = connection.execute(change, parameters).first()[0::2]
        parameters.update({f"value_{i}": value for i, value in enumerate(previous)})
        if local:
            yield connection
            connection.execute(change, parameters)
            return
        try:
            yield connection
        finally:
            connection.execute(change, parameters)

    def relax_durability(self, execute: Callable[[str], None]) -> None:
        execute("SET synchronous_commit TO OFF")

    def begin_writes(self, connection: Connection) -> None:
        if connection.connection.driver_connection.autocommit:
            connection.commit()
            # For this checkout only: the pool puts the connection back in AUTOCOMMIT on return.
            connection.execution_options(isolation_level=connection.dialect.default_isolation_level)

    def fetch_one(self, executor: Connection | Session, statement, parameters: dict):
        """On a statement-by-statement connection, straight through psycopg.

        psycopg returns the very values SQLAlchemy would for statements whose
        columns have no result processor on PostgreSQL (the visit's), and
        SQLAlchemy's execution and result wrapping cost a sixth of the
        respondent's page in-process. One cursor per pooled connection, kept
        with it: creating one per read cost a quarter of psycopg's time.
        """
        cursor = self._kept_cursor(executor)
        if cursor is not None:
            return cursor.execute(_postgresql_sql(statement), parameters, prepare=True).fetchone()
        return super().fetch_one(executor, statement, parameters)

    def fetch_plain_rows(self, connection: Connection, statement, parameters: dict) -> list[tuple]:
        cursor = self._kept_cursor(connection)
        if cursor is None:
            return super().fetch_plain_rows(connection, statement, parameters)
        return cursor.execute(_postgresql_sql(statement), parameters, prepare=True).fetchall()

    def write_statement(self, connection: Connection, statement, parameters: dict):
        """On a statement-by-statement connection, straight through psycopg (committed on its own), like fetch_one.

        The parameters go through their columns' bind processors (the JSON of a
        draft is serialised as SQLAlchemy would), so the database stores the same.
        """
        cursor = self._kept_cursor(connection)
        if cursor is None:
            return super().write_statement(connection, statement, parameters)
        converters = _postgresql_converters(statement)
        values = {name: value if converters.get(name) is None else converters[name](value)
                  for name, value in parameters.items()}
        return cursor.execute(_postgresql_sql(statement), values, prepare=True)

    def _kept_cursor(self, executor):
        """The psycopg cursor kept with a pooled statement-by-statement connection; None for any other executor."""
        if not isinstance(executor, Connection):
            return None
        pooled = executor.connection
        driver = pooled.driver_connection
        if not driver.autocommit:
            return None
        cursor = pooled.info.get(self._VISIT_CURSOR)
        if cursor is None or cursor.connection is not driver or cursor.closed:
            cursor = pooled.info[self._VISIT_CURSOR] = driver.cursor()
        return cursor

    @functools.cached_property
    def _statements(self) -> dict:
        """The writing of one response as one statement, in four forms.

        The forms: a person with a draft, a person, nobody, nobody at a collection point.

        One statement is atomic on its own, so a statement-by-statement
        connection sends it without BEGIN or COMMIT: one round trip per
        submission instead of four, and one parse-plan-execute on the server
        instead of one per answer. Each step feeds the next: ``seen`` locks the
        draft only if it is still the version read (a concurrent save or
        submission makes it empty), the ledger row is entered only from it and
        only once (``ON CONFLICT DO NOTHING`` on the unique key), which deletes
        the draft (the trigger of migration 0022), and the response, its
        answers, its counts and its arrival at a point follow only from the
        ledger row. Whatever guard fails, nothing is written and no error
        leaves the caller's transaction unusable. Parent and child rows in one
        statement are fine for the foreign keys: they are checked at its end.

        The answers and the counts travel as one JSON text each, unpacked by
        the server: psycopg dumps a list parameter element by element in
        Python, which cost a quarter of a point submission's CPU in the worker.
        """
        responses, answers, counts, submissions, drafts = _tables()
        arrivals = _arrivals()
        _check_answer_columns(answers)
        response_columns, ledger_columns = written_columns(responses), written_columns(submissions)
        arrival_columns = written_columns(arrivals)
        key = ", ".join(c.name for c in counts.primary_key)
        given = ", ".join(f"given.a->>{i}" for i in range(len(_ANSWER_VALUES)))

        tail = f"""
, response AS (
    INSERT INTO {responses.name} ({', '.join(response_columns)})
    SELECT {', '.join(f':response_{c}' for c in response_columns)} FROM gate
    RETURNING id
), answer AS (
    INSERT INTO {answers.name} ({', '.join(written_columns(answers))})
    SELECT response.id, :response_group_id, {given}
    FROM response CROSS JOIN json_array_elements(CAST(:answers AS json)) AS given(a)
), counted AS (
    INSERT INTO {counts.name} ({key}, n)
    SELECT :response_group_id, :slot, added.a->>0, added.a->>1, CAST(added.a->>2 AS integer)
    FROM response CROSS JOIN json_array_elements(CAST(:counted AS json)) AS added(a)
    -- Rows locked in one order by every submission: two in the same slot queue, never deadlock.
    ORDER BY 3, 4
    ON CONFLICT ({key}) DO UPDATE SET n = {counts.name}.n + EXCLUDED.n
)"""
        result = "\nSELECT (SELECT count(*) FROM seen), (SELECT count(*) FROM gate)"
        arrival = f"""
, arrival AS (
    INSERT INTO {arrivals.name} ({', '.join(arrival_columns)})
    SELECT {', '.join(f':arrival_{c}' for c in arrival_columns)} FROM response
)"""
        enter = (f"INSERT INTO {submissions.name} ({', '.join(ledger_columns)}) "
                 f"SELECT {', '.join('seen.respondent_id' if c == 'respondent_id' else f':ledger_{c}' for c in ledger_columns)} "
                 "FROM seen ON CONFLICT (respondent_id) DO NOTHING RETURNING respondent_id")
        nobody = "WITH seen AS (SELECT 1), gate AS (SELECT 1)"
        return {
            "draft": text(f"""WITH seen AS (
    SELECT respondent_id FROM {drafts.name} WHERE respondent_id = :ledger_respondent_id AND updated_at = :draft_seen
    FOR UPDATE
), gate AS ({enter}
){tail}{result}"""),
            "person": text(f"WITH seen AS (SELECT CAST(:ledger_respondent_id AS INTEGER) AS respondent_id), "
                           f"gate AS ({enter}){tail}{result}"),
            "nobody": text(f"{nobody}{tail}{result}"),
            "nobody_at_point": text(f"{nobody}{tail}{arrival}{result}"),
            "counts": text(f"INSERT INTO {counts.name} ({key}, n) VALUES (:group_id, :slot, :question_code, "
                           f":option_code, :n) ON CONFLICT ({key}) DO UPDATE SET n = {counts.name}.n + EXCLUDED.n"),
            "response_columns": response_columns,
            "answer_columns": written_columns(answers),
        }

    def write_response(self, connection: Connection, rows: ResponseRows) -> Written:
        """One statement; on a statement-by-statement connection, through the kept cursor and committed on its own."""
        sql = self._statements
        parameters = {f"response_{c}": v for c, v in rows.response.items()}
        parameters.update(answers=json.dumps(rows.answers, ensure_ascii=False),
                          counted=json.dumps(rows.counted, ensure_ascii=False),
                          slot=self.count_slot(rows.response["id"]))
        if rows.ledger is None:
            statement = sql["nobody"]
            if rows.arrival is not None:
                statement = sql["nobody_at_point"]
                parameters.update({f"arrival_{c}": v for c, v in rows.arrival.items()})
        else:
            parameters.update({f"ledger_{c}": v for c, v in rows.ledger.items()})
            statement = sql["person"] if rows.draft_seen is None else sql["draft"]
            if rows.draft_seen is not None:
                parameters["draft_seen"] = rows.draft_seen
        seen, entered = self.write_statement(connection, statement, parameters).fetchone()
        if not seen:
            return Written.STALE
        if not entered:
            return Written.ALREADY
        return Written.STORED

    def write_responses_in_bulk(self, connection: Connection, responses, answers) -> None:
        """COPY, through a tab-separated buffer: the fastest load psycopg offers for plain values."""
        sql = self._statements
        responses_table, answers_table = _tables()[:2]
        with connection.connection.driver_connection.cursor() as cursor:
            for table, columns, frame in ((responses_table, sql["response_columns"], responses),
                                          (answers_table, sql["answer_columns"], answers)):
                buffer = io.StringIO()
                frame.reindex(columns=columns).to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
                with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())

    def add_counts(self, connection: Connection, rows: Sequence[tuple]) -> None:
        if rows:
            connection.execute(self._statements["counts"], [
                dict(zip(("group_id", "slot", "question_code", "option_code", "n"), row)) for row in rows])


@functools.cache
def _sqlite_read(statement, dialect) -> tuple[str, tuple[str, ...], tuple[Callable | None, ...]]:
    """A prebuilt SELECT as sqlite3 runs it: its SQL, its parameters' names in order, a converter per column."""
    compiled = statement.compile(dialect=dialect)
    processors = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                       for column in statement.selected_columns)
    return str(compiled), tuple(compiled.positiontup), processors


@functools.cache
def _sqlite_write(statement, dialect) -> tuple[str, tuple[str, ...], tuple[Callable | None, ...]]:
    """A prebuilt write as sqlite3 runs it: its SQL, its parameters' names in order, a converter per parameter."""
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup)
    converters = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    return str(compiled), names, converters


@functools.cache
def _postgresql_sql(statement) -> str:
    return str(statement.compile(dialect=postgresql_psycopg_dialect()))


@functools.cache
def _postgresql_converters(statement) -> dict[str, Callable]:
    """The bind processors of a prebuilt statement's parameters on PostgreSQL, by name (those that have one)."""
    dialect = postgresql_psycopg_dialect()
    compiled = statement.compile(dialect=dialect)
    converters = {name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()}
    return {name: convert for name, convert in converters.items() if convert is not None}


@functools.cache
def _sqlite_sql(statement) -> str:
    # Named parameters (:name), which sqlite3 takes from a dict as SQLAlchemy's own would be.
    return str(statement.compile(dialect=sqlite_dialect(paramstyle="named")))


@functools.cache
def _storage(column) -> Callable:
    """The conversion SQLAlchemy applies to ``column``'s values on SQLite (identity when there is none)."""
    dialect = sqlite_dialect()
    return column.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)


def _stored(row: dict, table: Table, columns: Iterable[str]) -> tuple:
    return tuple(_storage(table.c[c])(row[c]) for c in columns)


def _converted_frame(frame, table: Table, columns: list[str]):
    """``frame``'s ``columns``, in order, converted as SQLAlchemy would store them on SQLite."""
    frame = frame.reindex(columns=columns)  # a column the frame lacks is stored as NULL
    converted = {c: frame[c].map(_storage(table.c[c])) for c in columns
                 if table.c[c].type.dialect_impl(sqlite_dialect()).bind_processor(sqlite_dialect()) is not None}
    return frame.assign(**converted) if converted else frame


_DIALECTS = {d.name: d for d in (SQLite(), PostgreSQL())}


def of(executor: Connection | Session | Engine) -> Dialect:
    """The database behind a connection, session or engine."""
    if isinstance(executor, Session):
        executor = executor.get_bind()
    return _DIALECTS[executor.dialect.name]
