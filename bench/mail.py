"""Issue 4 benchmark: 5,000 invitations through the outbox worker to a local SMTP sink,
beside a bare smtplib loop sending the same messages over one connection, in the same run.

For each database: seed a round of 5,000 respondents with addresses, queue the
invitations (one transaction, timed), copy the rendered messages, then
(a) the bare loop sends the copies over one SMTP connection, and
(b) the worker (no rate limit) claims, sends and records each message, committing per message,
alternating in chunks of 1,000 so that the shared machine's changing load affects both alike.
The sink is aiosmtpd on loopback that counts messages by Message-ID.
"""

from __future__ import annotations

import smtplib
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta

from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

from survey import create_app, db, migrate
from survey.invitations import campaigns
from survey.invitations.outbox import mail_context
from survey.invitations.emails import envelope_address
from survey.invitations.models import SENT, OutboxMessage
from survey.invitations.worker import SmtpSettings, Worker, WorkerOptions
from survey.questionnaire_registry import catalog
from survey.rounds.services import GroupBinding, create_round, get_or_create_province
from survey.roster.models import Respondent
from survey.timeutil import utcnow
from tests.databases import temporary_database
from tests.live_server import free_port

MESSAGES = 5_000
CHUNK = 1_000
SENDER = "Sở Nội vụ tỉnh Thử nghiệm <khao-sat@snv.example.vn>"


class CountingSink:
    def __init__(self):
        self.counts: Counter = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        header = envelope.content[:2048]  # the Message-ID is in the headers; no full parse on the hot path
        start = header.find(b"Message-ID: ")
        message_id = header[start + 12:header.find(b"\r\n", start)] if start >= 0 else b""
        with self.lock:
            self.counts[message_id] += 1
        return "250 OK"


def seed(app) -> int:
    with app.app_context(), db.unit_of_work() as session:
        province = get_or_create_province(session, "BENCH", "tỉnh Thử nghiệm")
        now = utcnow()
        round_ = create_round(session, catalog(), province=province, year=2023, title="Đợt đo hiệu năng thư mời",
                              opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30),
                              bindings=[GroupBinding("par-department-leaders", "2023.1")])
        group = round_.groups[0]
        session.execute(Respondent.__table__.insert(), [
            {"round_id": round_.id, "group_id": group.id, "full_name": f"Người thứ {i}", "email": f"nguoi{i}@example.vn",
             "created_at": now} for i in range(MESSAGES)])
        return round_.id


def run_backend(backend: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as url:
        migrate.upgrade(url)
        app = create_app({"SECRET_KEY": "bench-secret-key-0123456789abcdef0123", "DATABASE_URL": url,
                          "QUESTIONNAIRE_DIR": None, "BASE_URL": "http://127.0.0.1", "MAIL_FROM": SENDER})
        round_id = seed(app)
        started = time.perf_counter()
        with app.app_context(), db.unit_of_work() as session:
            from survey.rounds.models import Round

            outcome = campaigns.invite(session, session.get(Round, round_id), mail_context(app.config))
        enqueue = time.perf_counter() - started
        with app.app_context(), db.unit_of_work() as session:
            table = OutboxMessage.__table__
            rows = [dict(row) for row in session.execute(select(table).order_by(table.c.id)).mappings()]
            session.execute(table.delete())  # put back chunk by chunk below
        size = sum(len(row["body"]) for row in rows) / len(rows)
        print(f"[{backend}] queued {outcome.enqueued} invitations in {enqueue:.1f} s "
              f"({outcome.enqueued / enqueue:.0f}/s, link issued and message rendered per person; "
              f"{size / 1024:.1f} KB per message)")

        sink = CountingSink()
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        bare = took = 0.0
        worker = Worker(app, SmtpSettings("127.0.0.1", port), WorkerOptions(rate_per_minute=0, batch_size=100))
        try:
            # Alternate the two in chunks, so that a change in the shared machine's load hits both alike.
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start:start + CHUNK]
                started = time.perf_counter()
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as connection:
                    for row in chunk:
                        connection.sendmail(envelope_address(row["sender"]), [row["recipient"]], row["body"])
                bare += time.perf_counter() - started
                with app.app_context(), db.unit_of_work() as session:
                    session.execute(table.insert(), chunk)
                started = time.perf_counter()
                worker.run(until_idle=True)
                took += time.perf_counter() - started
        finally:
            controller.stop()
        bare_rate, worker_rate = len(rows) / bare, worker.stats.sent / took
        with app.app_context():
            sent = db.session().scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == SENT))
            erased = db.session().scalar(text("SELECT count(*) FROM outbox_messages WHERE body IS NULL"))
        twice = sum(1 for n in sink.counts.values() if n == 2)  # each Message-ID: once by the loop, once by the worker
        print(f"[{backend}] bare smtplib loop, one connection per chunk: {len(rows)} in {bare:.2f} s = {bare_rate:.0f} msg/s")
        print(f"[{backend}] outbox worker (claim 100, commit per message): {worker.stats.sent} in {took:.2f} s = "
              f"{worker_rate:.0f} msg/s = {100 * worker_rate / bare_rate:.0f} % of the bare loop (target >= 60 %)")
        print(f"[{backend}] recorded sent: {sent}, bodies erased: {erased}, Message-IDs received once from each: "
              f"{twice} of {len(rows)}")
        db.dispose(app)


def main() -> None:
    for backend in ("sqlite", "postgresql"):
        run_backend(backend)



