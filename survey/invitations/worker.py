"""The outbox worker: claims due messages, sends them over SMTP, records each outcome at once.

Guarantees, and how:

* **Claims**: a batch is claimed in one short transaction (``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL, so several workers share the queue; on SQLite the
  claim runs under ``BEGIN IMMEDIATE`` and is therefore atomic). A claim is a
  lease: the worker renews it while it works; a claim not renewed for
  ``lease`` seconds belongs to a dead worker and is taken over.
* **State per message**: each delivery outcome is committed on its own right
  after the server's reply, so a crash loses at most the message in flight.
* **At least once, recognisably**: if the worker dies after the server
  accepted a message and before the commit, the message is sent again after
  the lease expires with the *same* Message-ID (fixed at enqueue time); the
  receiving side can drop the copy. That window is the only way to a repeat.
* **Failures**: 4xx replies, refused connections, disconnects and timeouts
  are retried with exponential backoff; 5xx replies fail the message with the
  server's reply, kept for the administrator.
"""

from __future__ import annotations

import fcntl
import logging
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.pool import NullPool

from survey import db, dialects
from survey.accounts.services import record
from survey.invitations import services
from survey.invitations.emails import envelope_address
from survey.invitations.models import CANCELLED, FAILED, QUEUED, SENDING, SENT, OutboxMessage
from survey.respond.models import Submission
from survey.rounds.models import Round
from survey.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "none"  # none | starttls | ssl
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config) -> SmtpSettings:
        if not config.get("SMTP_HOST"):
            raise services.MailError("Chưa cấu hình máy chủ thư (SURVEY_SMTP_HOST).")
        return cls(host=config["SMTP_HOST"], port=int(config.get("SMTP_PORT", 25)),
                   security=config.get("SMTP_SECURITY", "none"), user=config.get("SMTP_USER"),
                   password=config.get("SMTP_PASSWORD"))


@dataclass(frozen=True)
class WorkerOptions:
    rate_per_minute: int = 60  # 0: no limit
    batch_size: int = 50
    lease: float = 300.0
    retry_base: float = 60.0
    retry_cap: float = 3600.0
    max_attempts: int = 12
    poll_interval: float = 5.0

    def backoff(self, attempts: int) -> float:
        return min(self.retry_cap, self.retry_base * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: str
    sender: str
    recipient: str
    body: bytes
    attempts: int


@dataclass(frozen=True)
class Result:
    status: str  # SENT, QUEUED (temporary failure) or FAILED (permanent)
    reply: str | None = None
    connection_lost: bool = False


@dataclass
class Stats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    schedules: int = 0


class RateLimiter:
    """At most ``per_minute`` sends per minute, evenly spaced (a province relay counts per minute)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self.clock = clock
        self.next_at = 0.0

    def delay(self) -> float:
        """Seconds to wait before the next send; books that send."""
        now = self.clock()
        wait = max(0.0, self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval
        return wait


def _reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"[:500]


class Worker:
    def __init__(self, app, smtp: SmtpSettings, options: WorkerOptions = WorkerOptions(), *,
                 name: str | None = None, after_send: Callable[[Claimed], None] | None = None):
        self.app, self.smtp, self.options = app, smtp, options
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.after_send = after_send  # tests inject a crash here: after the reply, before the commit
        self.limiter = RateLimiter(options.rate_per_minute)
        self.stats = Stats()
        self._connection: smtplib.SMTP | None = None
        self._outcomes: OutcomeWriter | None = None
        self._renewed_at = 0.0
        self._schedules_checked_at = 0.0

    # --- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None, *, until_idle: bool = False) -> Stats:
        """Work until ``stop`` is set (or, with ``until_idle``, until no message is queued or in flight)."""
        stop = stop or threading.Event()
        with self.app.app_context():
            try:
                while not stop.is_set():
                    self._run_due_schedules()
                    batch = self._claim()
                    if batch:
                        self._send_batch(batch, stop)
                        continue
                    self._disconnect()  # do not hold a relay connection open while idle
                    wait = self._idle_wait()
                    if wait is None and until_idle:
                        break
                    stop.wait(self.options.poll_interval if wait is None else wait)
            finally:
                self._disconnect()
                self._close_writer()
        return self.stats

    def _idle_wait(self) -> float | None:
        """Seconds until the next queued message is due (None when nothing is queued or in flight)."""
        with db.unit_of_work(write=False) as session:
            in_flight = session.scalar(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.status == SENDING))
            next_due = session.scalar(select(func.min(OutboxMessage.next_attempt_at))
                                      .where(OutboxMessage.status == QUEUED))
        if next_due is None:
            return None if not in_flight else self.options.poll_interval
        seconds = (as_utc(next_due) - utcnow()).total_seconds()
        return min(self.options.poll_interval, max(0.02, seconds))

    def _run_due_schedules(self) -> None:
        if time.monotonic() - self._schedules_checked_at < self.options.poll_interval:
            return
        self._schedules_checked_at = time.monotonic()
        try:
            context = services.mail_context(self.app.config)
        except services.MailError:
            return
        while True:
            with db.unit_of_work() as session:
                done = services.run_due_schedule(session, context)
                if done is None:
                    return
                record(session, "mail.schedule_run", round_id=done.round_id, target=done.kind,
                       details={"schedule": done.id, "enqueued": done.enqueued}, actor=None,
                       province_id=session.get(Round, done.round_id).province_id)
                self.stats.schedules += 1
                log.info("schedule %s (%s, round %s) queued %s messages", done.id, done.kind, done.round_id,
                         done.enqueued)

    # --- claiming ---------------------------------------------------------------------------

    def _cancel_obsolete(self, now) -> None:
        """Drop queued mail that has lost its purpose before it goes out.

        A reminder queued on Monday must not reach someone who submitted on
        Tuesday, and nothing is sent for a round that has closed. The body
        (which holds a personal link) is erased like a delivered one's.
        """
        submitted = exists().where(Submission.respondent_id == OutboxMessage.respondent_id)
        closed = exists().where(Round.id == OutboxMessage.round_id, Round.closes_at <= now)
        with db.unit_of_work() as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.status == QUEUED, or_(submitted, closed))
                .values(status=CANCELLED, body=None, last_error="Không gửi: người nhận đã nộp phiếu "
                                                                "hoặc đợt khảo sát đã đóng.")
                .execution_options(synchronize_session=False))

    def _claim(self) -> list[Claimed]:
        now = utcnow()
        self._cancel_obsolete(now)
        size = self.options.batch_size
        if self.options.rate_per_minute:
            size = max(1, min(size, self.options.rate_per_minute))  # a batch takes at most about a minute
        due = or_(
            and_(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == SENDING,
                 OutboxMessage.claimed_at < now - timedelta(seconds=self.options.lease)),
        )
        # One statement: lock the due rows (skipping those another worker holds), mark them ours,
        # return what is needed to send them.
        due_ids = (select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(size)
                   .with_for_update(skip_locked=True).scalar_subquery())
        with db.unit_of_work() as session:
            rows = session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(due_ids))
                .values(status=SENDING, claimed_at=now, claimed_by=self.name)
                .returning(OutboxMessage.id, OutboxMessage.message_id, OutboxMessage.sender,
                           OutboxMessage.recipient, OutboxMessage.body, OutboxMessage.attempts)
                .execution_options(synchronize_session=False)).all()
        if not rows:
            return []
        rows.sort(key=lambda row: row[0])
        self._renewed_at = time.monotonic()
        return [Claimed(*row) for row in rows]

    def _renew(self, pending: list[Claimed]) -> set[int]:
        """Extend the lease on what is left of the batch; returns the ids still ours."""
        with db.unit_of_work() as session:
            mine = session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([m.id for m in pending]), OutboxMessage.claimed_by == self.name,
                       OutboxMessage.status == SENDING)
                .values(claimed_at=utcnow()).returning(OutboxMessage.id)).all()
        self._renewed_at = time.monotonic()
        return set(mine)

    # --- sending ----------------------------------------------------------------------------

    def _send_batch(self, batch: list[Claimed], stop: threading.Event) -> None:
        for index, message in enumerate(batch):
            if stop.is_set():
                self._release(batch[index:], delay=0.0)
                return
            if time.monotonic() - self._renewed_at > self.options.lease / 3:
                mine = self._renew(batch[index:])
                if message.id not in mine:
                    continue  # our lease lapsed and another worker took it over
            wait = self.limiter.delay()
            if wait and stop.wait(wait):
                self._release(batch[index:], delay=0.0)
                return
            result = self._deliver(message)
            if result.status == SENT and self.after_send is not None:
                self.after_send(message)
            # Committed before the next e-mail goes: at most one accepted e-mail is ever unrecorded.
            self._record(message, result)
            if result.connection_lost and result.status == QUEUED:
                # The server is unreachable: the rest waits as long as this one.
                self._release(batch[index + 1:], delay=self.options.backoff(message.attempts + 1))
                return

    def _connect(self) -> smtplib.SMTP:
        if self._connection is None:
            settings = self.smtp
            if settings.security == "ssl":
                connection = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                              context=ssl.create_default_context())
            else:
                connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            try:
                connection.ehlo()
                if settings.security == "starttls":
                    connection.starttls(context=ssl.create_default_context())
                    connection.ehlo()
                if settings.user:
                    connection.login(settings.user, settings.password or "")
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _deliver(self, message: Claimed) -> Result:
        try:
            connection = self._connect()
            connection.sendmail(envelope_address(message.sender), [message.recipient], message.body)
            return Result(SENT)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = error.recipients.get(message.recipient, next(iter(error.recipients.values())))
            return self._classify(code, reply)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            return self._classify(error.smtp_code, error.smtp_error)
        except smtplib.SMTPAuthenticationError as error:
            # A configuration problem, not this recipient's: keep the message and retry later.
            self._drop()
            return Result(QUEUED, _reply_text(error.smtp_code, error.smtp_error), connection_lost=True)
        except smtplib.SMTPResponseException as error:
            self._drop()
            result = self._classify(error.smtp_code, error.smtp_error)
            return Result(result.status, result.reply, connection_lost=True)
        except smtplib.SMTPServerDisconnected as error:
            self._drop()
            return Result(QUEUED, f"máy chủ ngắt kết nối: {error}"[:500], connection_lost=True)
        except (TimeoutError, socket.timeout) as error:
            self._drop()
            return Result(QUEUED, f"quá thời gian chờ máy chủ: {error}"[:500], connection_lost=True)
        except (OSError, smtplib.SMTPException) as error:
            self._drop()
            return Result(QUEUED, f"không kết nối được máy chủ thư: {error}"[:500], connection_lost=True)

    def _classify(self, code: int, reply) -> Result:
        text = _reply_text(code, reply)
        if 500 <= code < 600:
            return Result(FAILED, text)
        if code == 421:  # the server is closing the connection
            self._drop()
            return Result(QUEUED, text, connection_lost=True)
        return Result(QUEUED, text)

    # --- recording --------------------------------------------------------------------------

    def _record(self, message: Claimed, result: Result) -> None:
        now = utcnow()
        attempts = message.attempts + 1
        params = {"pk": message.id, "attempts": attempts, "now": now}
        if result.status == SENT:
            statement = _MARK_SENT
            self.stats.sent += 1
        elif result.status == FAILED or attempts >= self.options.max_attempts:
            reply = result.reply if result.status == FAILED else f"{result.reply} (bỏ sau {attempts} lần thử)"
            statement, params["reply"] = _MARK_FAILED, (reply or "")[:500]
            self.stats.failed += 1
            log.warning("message %s to %s failed: %s", message.message_id, message.recipient, reply)
        else:
            statement, params["reply"] = _MARK_RETRY, result.reply
            params["due"] = now + timedelta(seconds=self.options.backoff(attempts))
            self.stats.retried += 1
            log.info("message %s to %s retried later: %s", message.message_id, message.recipient, result.reply)
        writer = self._writer()
        try:
            writer.write(statement, params)
        except writer.error:
            self._close_writer()  # e.g. the database restarted: one new connection, one more try
            self._writer().write(statement, params)

    def _writer(self) -> OutcomeWriter:
        if self._outcomes is None:
            self._outcomes = OutcomeWriter(self.app.config["DATABASE_URL"])
        return self._outcomes

    def _close_writer(self) -> None:
        if self._outcomes is not None:
            self._outcomes.close()
            self._outcomes = None

    def _release(self, messages: list[Claimed], *, delay: float) -> None:
        """Give back claimed messages that were not attempted (their attempt count is unchanged)."""
        if not messages:
            return
        with db.unit_of_work() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([m.id for m in messages]), OutboxMessage.claimed_by == self.name,
                       OutboxMessage.status == SENDING)
                .values(status=QUEUED, claimed_at=None, claimed_by=None,
                        next_attempt_at=utcnow() + timedelta(seconds=delay)))


_OUTBOX = OutboxMessage.__table__
_BY_PK = _OUTBOX.c.id == bindparam("pk")
_MARK_SENT = update(_OUTBOX).where(_BY_PK).values(
    status=SENT, sent_at=bindparam("now"), body=None, last_error=None, attempts=bindparam("attempts"))
_MARK_FAILED = update(_OUTBOX).where(_BY_PK).values(
    status=FAILED, body=None, last_error=bindparam("reply"), attempts=bindparam("attempts"))
_MARK_RETRY = update(_OUTBOX).where(_BY_PK).values(
    status=QUEUED, claimed_at=None, claimed_by=None, last_error=bindparam("reply"), next_attempt_at=bindparam("due"),
    attempts=bindparam("attempts"))


class OutcomeWriter:
    """The worker's own database connection for outcomes: one autocommitted UPDATE per e-mail.

    It runs between two SMTP conversations for every e-mail, so it skips the statement-building
    layers: the statements are compiled once for the dialect and run on the DBAPI connection. A
    single UPDATE is its own transaction, committed before the next e-mail is sent.
    """

    def __init__(self, url: str):
        options = {} if url.startswith("sqlite") else {"isolation_level": "AUTOCOMMIT"}
        self.engine = db.make_engine(url, poolclass=NullPool, **options)
        dialect = self.engine.dialect
        self.error = dialect.loaded_dbapi.Error
        self.connection = self.engine.raw_connection()  # SQLite: autocommit mode (see survey.db)
        self.compiled = {statement: statement.compile(dialect=dialect)
                         for statement in (_MARK_SENT, _MARK_FAILED, _MARK_RETRY)}
        self.positional = dialect.positional
        # Datetimes stored as the ORM stores them (SQLite keeps text in its own format).
        self.to_db = _OUTBOX.c.sent_at.type.bind_processor(dialect)
        # SQLite writers queue on a file lock before writing (see survey.db); this one does too.
        lock_path = dialects.writer_lock_path(self.engine)
        self.lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600) if lock_path else None
        if dialect.name == "postgresql":
            # Outcomes are committed without waiting for the WAL flush: a dead worker loses
            # nothing (the server has the commit); only a crash of the database server itself
            # within a fraction of a second could lose one, and that message would then go
            # again with its same Message-ID. It turns a ~3 ms fsync per e-mail into ~0.1 ms.
            self._execute("SET synchronous_commit TO OFF", None)

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


@dataclass
class Pool:
    """Several workers in threads of one process (tests, and `survey mail run --threads`)."""

    workers: list[Worker] = field(default_factory=list)

    def run(self, *, until_idle: bool = True, stop: threading.Event | None = None) -> list[Stats]:
        stop = stop or threading.Event()
        threads = [threading.Thread(target=w.run, kwargs={"stop": stop, "until_idle": until_idle}) for w in self.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [w.stats for w in self.workers]
