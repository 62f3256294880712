"""The worker against a real SMTP server on loopback: delivery, retries, permanent failures, outages."""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy

from sqlalchemy import select

from survey import db
from survey.invitations import campaigns
from survey.invitations.models import FAILED, SENT, OutboxMessage
from survey.invitations.worker import RateLimiter
from survey.rounds.models import Round
from tests.invitations.conftest import CONTEXT, FAST, worker_for
from tests.invitations.smtp import Behaviour


def invite_all(app, round_id: int) -> int:
    with app.app_context(), db.unit_of_work() as session:
        return campaigns.invite(session, session.get(Round, round_id), CONTEXT).enqueued


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        return db.session().scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_every_message_is_delivered_once_with_its_message_id_and_the_body_is_erased(app, campaign, smtp_server):
    round_id = campaign(per_group=2)
    assert invite_all(app, round_id) == 10
    server = smtp_server()
    stats = worker_for(app, server).run(until_idle=True)
    assert (stats.sent, stats.failed) == (10, 0)
    rows = outbox(app)
    assert all(r.status == SENT and r.body is None and r.sent_at is not None for r in rows)
    assert sorted(server.message_id_counts().items()) == sorted((r.message_id, 1) for r in rows)
    # The server received what was rendered: the right person, a personal link, UTF-8 Vietnamese.
    first = next(m for m in server.received if m.message_id == rows[0].message_id)
    message = message_from_bytes(first.content, policy=policy.default)
    assert message["To"] == rows[0].recipient == first.recipient
    assert message["Subject"].startswith("Thư mời tham gia")
    text = message.get_body(("plain",)).get_content()
    assert "http://localhost/r/" in text and "Kính gửi Người" in text
    assert "Hạn trả lời" in message.get_body(("html",)).get_content()


def test_temporary_failures_are_retried_until_accepted(app, campaign, smtp_server):
    round_id = campaign(per_group=1)
    invite_all(app, round_id)
    server = smtp_server(Behaviour(temporary_failures=3))
    stats = worker_for(app, server).run(until_idle=True)
    assert stats.retried == 3 and stats.sent == 5
    rows = outbox(app)
    assert all(r.status == SENT for r in rows)
    assert sum(r.attempts for r in rows) == 5 + 3
    assert set(server.message_id_counts().values()) == {1}


def test_a_permanent_refusal_fails_that_message_only_with_the_servers_reason(app, campaign, smtp_server):
    round_id = campaign(per_group=1)
    invite_all(app, round_id)
    refused = outbox(app)[2].recipient
    server = smtp_server(Behaviour(refuse={refused: "550 5.1.1 <%s>: Recipient address rejected" % refused}))
    stats = worker_for(app, server).run(until_idle=True)
    assert (stats.sent, stats.failed, stats.retried) == (4, 1, 0)
    rows = {r.recipient: r for r in outbox(app)}
    assert rows[refused].status == FAILED and rows[refused].attempts == 1 and rows[refused].body is None
    assert rows[refused].last_error.startswith("550 5.1.1") and "Recipient address rejected" in rows[refused].last_error
    assert refused not in {m.recipient for m in server.received}
    assert len(server.received) == 4


def test_server_down_at_start_then_up_delivers_everything_once(app, campaign, smtp_server):
    round_id = campaign(per_group=2)
    invite_all(app, round_id)
    server = smtp_server(running=False)  # connection refused
    worker = worker_for(app, server)
    thread = threading.Thread(target=worker.run, kwargs={"until_idle": True})
    thread.start()
    time.sleep(0.5)
    assert server.received == [] and worker.stats.retried >= 1
    server.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert all(r.status == SENT for r in outbox(app))
    assert sorted(server.message_id_counts().values()) == [1] * 10
    assert max(r.attempts for r in outbox(app)) > 1  # the refused attempts were counted


def test_server_down_in_the_middle_of_a_batch_then_up_delivers_everything_once(app, campaign, smtp_server):
    round_id = campaign(per_group=6)
    invite_all(app, round_id)
    server = smtp_server(Behaviour(delay=0.02))
    worker = worker_for(app, server)
    thread = threading.Thread(target=worker.run, kwargs={"until_idle": True})
    thread.start()
    deadline = time.monotonic() + 20
    while len(server.received) < 7 and time.monotonic() < deadline:
        time.sleep(0.005)
    server.stop()  # mid-batch: the worker holds a claimed batch of 10
    time.sleep(0.4)
    down_count = len(server.received)
    assert 7 <= down_count < 30
    server.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    rows = outbox(app)
    assert all(r.status == SENT for r in rows) and len(rows) == 30
    assert worker.stats.retried >= 1
    assert sorted(server.message_id_counts().values()) == [1] * 30


def test_a_slow_server_within_the_timeout_gets_each_message_once(app, campaign, smtp_server):
    round_id = campaign(per_group=1)
    invite_all(app, round_id)
    server = smtp_server(Behaviour(delay=0.3))
    stats = worker_for(app, server, timeout=2.0).run(until_idle=True)
    assert (stats.sent, stats.retried) == (5, 0)
    assert sorted(server.message_id_counts().values()) == [1] * 5


def test_a_server_slower_than_the_timeout_is_retried_and_duplicates_carry_the_same_message_id(app, campaign, smtp_server):
    round_id = campaign(per_group=1)
    invite_all(app, round_id)
    server = smtp_server(Behaviour(delay=0.6))
    worker = worker_for(app, server, timeout=0.3)
    thread = threading.Thread(target=worker.run, kwargs={"until_idle": True})
    thread.start()
    time.sleep(1.5)
    server.behaviour.delay = 0.0  # the server recovers
    thread.join(timeout=30)
    assert not thread.is_alive()
    rows = outbox(app)
    assert all(r.status == SENT for r in rows) and worker.stats.retried >= 1
    # The server may have accepted a message whose reply came too late: it then holds
    # copies with one Message-ID, and deduplicating by Message-ID gives each message once.
    counts = server.message_id_counts()
    assert set(counts) == {r.message_id for r in rows}
    assert len({m.message_id: m for m in server.received}) == 5


def test_rate_limiter_spaces_sends_evenly():
    now = [100.0]
    limiter = RateLimiter(120, clock=lambda: now[0])  # one every 0.5 s
    assert limiter.delay() == 0.0
    assert limiter.delay() == 0.5
    assert limiter.delay() == 1.0
    now[0] = 110.0  # idle for a while: no burst credit is kept
    assert limiter.delay() == 0.0
    assert limiter.delay() == 0.5
    assert RateLimiter(0).delay() == 0.0


def test_backoff_doubles_up_to_the_cap():
    assert [FAST.backoff(n) for n in (1, 2, 3, 4)] == [0.05, 0.1, 0.2, 0.2]


def test_queued_mail_is_dropped_once_the_person_submitted_or_the_round_closed(app, campaign, smtp_server):
    from datetime import timedelta

    from survey.invitations.models import CANCELLED
    from survey.respond.models import Submission
    from survey.timeutil import utcnow

    open_round = campaign(per_group=1)
    closing_round = campaign(per_group=1, title="Đợt sắp đóng")
    assert invite_all(app, open_round) == 5 and invite_all(app, closing_round) == 5
    with app.app_context(), db.unit_of_work() as session:
        # After queuing: one person of the open round submits, the other round closes.
        submitter = next(m.respondent_id for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.round_id == open_round).order_by(OutboxMessage.id)))
        session.add(Submission(respondent_id=submitter, round_id=open_round))
        session.get(Round, closing_round).closes_at = utcnow() - timedelta(minutes=1)
    server = smtp_server()
    stats = worker_for(app, server).run(until_idle=True)
    assert stats.sent == 4
    rows = outbox(app)
    cancelled = [r for r in rows if r.status == CANCELLED]
    assert {(r.round_id, r.respondent_id) for r in cancelled} == (
        {(open_round, submitter)} | {(closing_round, r.respondent_id) for r in rows if r.round_id == closing_round})
    assert all(r.body is None for r in cancelled)
    assert {r.recipient for r in server.received} == {r.recipient for r in rows if r.status == SENT}
    assert len(server.received) == 4
