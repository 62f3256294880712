"""Writing each delivery outcome as soon as the server has replied.

Each outcome is committed on its own before the next e-mail goes, so a crash
loses at most the message in flight; that message is then sent again, after
its lease lapses, with the same Message-ID fixed at enqueue time.
"""

from __future__ import annotations

import fcntl
import os
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.pool import NullPool

from survey import dialects
from survey.invitations.delivery import Result
from survey.invitations.leases import Claimed
from survey.invitations.models import FAILED, QUEUED, SENT, OutboxMessage
from survey.timeutil import utcnow

_OUTBOX = OutboxMessage.__table__
_BY_PK = _OUTBOX.c.id == bindparam("pk")
_MARK_SENT = update(_OUTBOX).where(_BY_PK).values(
    status=SENT, sent_at=bindparam("now"), body=None, last_error=None, attempts=bindparam("attempts"))
_MARK_FAILED = update(_OUTBOX).where(_BY_PK).values(
    status=FAILED, body=None, last_error=bindparam("reply"), attempts=bindparam("attempts"))
_MARK_RETRY = update(_OUTBOX).where(_BY_PK).values(
    status=QUEUED, claimed_at=None, claimed_by=None, last_error=bindparam("reply"), next_attempt_at=bindparam("due"),
    attempts=bindparam("attempts"))


def outcome_of(message: Claimed, result: Result, *, max_attempts: int, backoff) -> tuple[str, str | None, dict]:
    """(status written, reply kept, the statement's parameters) for ``result``; ``backoff(attempts)`` in seconds."""
    now = utcnow()
    attempts = message.attempts + 1
    params = {"pk": message.id, "attempts": attempts, "now": now}
    if result.status == SENT:
        return SENT, None, params
    if result.status == FAILED or attempts >= max_attempts:
        reply = result.reply if result.status == FAILED else f"{result.reply} (bỏ sau {attempts} lần thử)"
        params["reply"] = (reply or "")[:500]
        return FAILED, reply, params
    params.update(reply=result.reply, due=now + timedelta(seconds=backoff(attempts)))
    return QUEUED, result.reply, params


_STATEMENTS = {SENT: _MARK_SENT, FAILED: _MARK_FAILED, QUEUED: _MARK_RETRY}


class OutcomeWriter:
    """The worker's own database connection for outcomes: one autocommitted UPDATE per e-mail.

    It runs between two SMTP conversations for every e-mail, so it skips the statement-building
    layers: the statements are compiled once for the dialect and run on the DBAPI connection. A
    single UPDATE is its own transaction, committed before the next e-mail is sent. A connection
    that fails (e.g. the database restarted) is replaced once before the error is let through.
    """

    def __init__(self, url: str):
        self.url = url
        self._open: _Connection | None = None

    def write(self, status: str, params: dict) -> None:
        statement = _STATEMENTS[status]
        connection = self._connection()
        try:
            connection.write(statement, params)
        except connection.error:
            self.close()
            self._connection().write(statement, params)

    def _connection(self) -> _Connection:
        if self._open is None:
            self._open = _Connection(self.url)
        return self._open

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None


class _Connection:
    def __init__(self, url: str):
        self.engine = dialects.single_connection_engine(url, poolclass=NullPool)
        dialect = self.engine.dialect
        self.error = dialect.loaded_dbapi.Error
        self.connection = self.engine.raw_connection()  # SQLite: autocommit mode (see survey.db)
        self.compiled = {statement: statement.compile(dialect=dialect) for statement in _STATEMENTS.values()}
        self.positional = dialect.positional
        # Datetimes stored as the ORM stores them (SQLite keeps text in its own format).
        self.to_db = _OUTBOX.c.sent_at.type.bind_processor(dialect)
        # SQLite writers queue on a file lock before writing (see survey.db); this one does too.
        lock_path = dialects.writer_lock_path(self.engine)
        self.lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600) if lock_path else None
        # Outcomes are committed without waiting for the log flush: a dead worker loses nothing
        # (the server has the commit); only a crash of the database server itself within a
        # fraction of a second could lose one, and that message would then go again with its
        # same Message-ID.
        dialects.of(self.engine).relax_durability(lambda sql: self._execute(sql, None))

    def write(self, statement, params: dict) -> None:
        compiled = self.compiled[statement]
        if self.to_db is not None:
            params = {k: self.to_db(v) if isinstance(v, datetime) else v for k, v in params.items()}
        values = compiled.construct_params(params)
        args = tuple(values[name] for name in compiled.positiontup) if self.positional else values
        if self.lock is None:
            self._execute(compiled.string, args)
            return
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            self._execute(compiled.string, args)
        finally:
            fcntl.flock(self.lock, fcntl.LOCK_UN)

    def _execute(self, sql: str, args) -> None:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, args) if args is not None else cursor.execute(sql)
        finally:
            cursor.close()

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            if self.lock is not None:
                os.close(self.lock)
            self.engine.dispose()
