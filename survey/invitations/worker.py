"""The outbox worker loop: runs due schedules, claims due messages, sends them, records each outcome.

The pieces, each in its own module:

* ``leases``: claiming a batch as a renewable lease (several workers share the queue; a dead
  worker's claim is taken over once its lease lapses);
* ``delivery``: one SMTP conversation per message and what the reply means;
* ``outcomes``: each outcome committed right after the server's reply, so a crash loses at most
  the message in flight, which is then sent again with the *same* Message-ID (fixed at enqueue
  time) and can be dropped by the receiving side. That window is the only way to a repeat;
* ``schedules``: campaigns an administrator planned ahead, run here when due;
* ``digests``: the periodic digests to agencies' focal points, queued here when due.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from survey import db
from survey.invitations import digests, leases, schedules
from survey.invitations.delivery import Relay, SmtpSettings
from survey.invitations.leases import Claimed
from survey.invitations.models import FAILED, QUEUED, SENT
from survey.invitations.outbox import MailError, mail_context
from survey.invitations.outcomes import OutcomeWriter, outcome_of

log = logging.getLogger(__name__)

__all__ = ["Pool", "RateLimiter", "SmtpSettings", "Stats", "Worker", "WorkerOptions"]


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


@dataclass
class Stats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    schedules: int = 0
    digests: int = 0


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


class Worker:
    def __init__(self, app, smtp: SmtpSettings, options: WorkerOptions = WorkerOptions(), *,
                 name: str | None = None, after_send: Callable[[Claimed], None] | None = None):
        self.app, self.smtp, self.options = app, smtp, options
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.after_send = after_send  # tests inject a crash here: after the reply, before the commit
        self.limiter = RateLimiter(options.rate_per_minute)
        self.stats = Stats()
        self.relay = Relay(smtp)
        self.outcomes = OutcomeWriter(app.config["DATABASE_URL"])
        self._renewed_at = 0.0
        self._schedules_checked_at = 0.0

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
                    self.relay.close()  # do not hold a relay connection open while idle
                    wait = leases.next_due_in(self.options.poll_interval)
                    if wait is None and until_idle:
                        break
                    stop.wait(self.options.poll_interval if wait is None else wait)
            finally:
                self.relay.close()
                self.outcomes.close()
        return self.stats

    def _run_due_schedules(self) -> None:
        if time.monotonic() - self._schedules_checked_at < self.options.poll_interval:
            return
        self._schedules_checked_at = time.monotonic()
        try:
            context = mail_context(self.app.config)
        except MailError:
            return
        for run_one, done in ((schedules.run_due_schedule, self._schedule_done),
                              (digests.run_due_digest, self._digest_done)):
            # One transaction per run: its messages, its schedule row and its audit entry commit together.
            while True:
                with db.unit_of_work() as session:
                    ran = run_one(session, context)
                if ran is None:
                    break
                done(ran)

    def _schedule_done(self, row) -> None:
        self.stats.schedules += 1
        log.info("schedule %s (%s, round %s) queued %s messages", row.id, row.kind, row.round_id, row.enqueued)

    def _digest_done(self, row) -> None:
        self.stats.digests += 1
        log.info("digests of round %s: %s queued%s", row.round_id, row.last_enqueued,
                 f", stopped ({row.stop_reason})" if row.stop_reason else "")

    def _claim(self) -> list[Claimed]:
        size = self.options.batch_size
        if self.options.rate_per_minute:
            size = max(1, min(size, self.options.rate_per_minute))  # a batch takes at most about a minute
        batch = leases.claim(self.name, size=size, lease=self.options.lease)
        self._renewed_at = time.monotonic()
        return batch

    def _send_batch(self, batch: list[Claimed], stop: threading.Event) -> None:
        for index, message in enumerate(batch):
            if stop.is_set():
                leases.release(self.name, batch[index:], delay=0.0)
                return
            if time.monotonic() - self._renewed_at > self.options.lease / 3:
                mine = leases.renew(self.name, batch[index:])
                self._renewed_at = time.monotonic()
                if message.id not in mine:
                    continue  # our lease lapsed and another worker took it over
            wait = self.limiter.delay()
            if wait and stop.wait(wait):
                leases.release(self.name, batch[index:], delay=0.0)
                return
            result = self.relay.deliver(message.sender, message.recipient, message.body)
            if result.status == SENT and self.after_send is not None:
                self.after_send(message)
            # Committed before the next e-mail goes: at most one accepted e-mail is ever unrecorded.
            self._record(message, result)
            if result.connection_lost and result.status == QUEUED:
                # The server is unreachable: the rest waits as long as this one.
                leases.release(self.name, batch[index + 1:], delay=self.options.backoff(message.attempts + 1))
                return

    def _record(self, message: Claimed, result) -> None:
        status, reply, params = outcome_of(message, result, max_attempts=self.options.max_attempts,
                                           backoff=self.options.backoff)
        if status == SENT:
            self.stats.sent += 1
        elif status == FAILED:
            self.stats.failed += 1
            log.warning("message %s to %s failed: %s", message.message_id, message.recipient, reply)
        else:
            self.stats.retried += 1
            log.info("message %s to %s retried later: %s", message.message_id, message.recipient, reply)
        self.outcomes.write(status, params)


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
