"""A worker killed between the server's acceptance and its commit; several workers sharing the outbox."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from survey.invitations.models import SENDING, SENT
from survey.invitations.worker import Pool, WorkerOptions
from tests.invitations.conftest import worker_for
from tests.invitations.crashing_worker import CRASH_STATUS
from tests.invitations.smtp import Behaviour
from tests.invitations.test_worker import invite_all, outbox
from tests.live_server import ROOT


def test_a_worker_killed_after_sending_resends_with_the_same_message_id(app, database_url, campaign, smtp_server):
    round_id = campaign(per_group=2)
    invite_all(app, round_id)
    server = smtp_server()
    process = subprocess.run([sys.executable, "-m", "tests.invitations.crashing_worker", database_url,
                              str(server.port), "3"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert process.returncode == CRASH_STATUS, process.stderr

    rows = outbox(app)
    # Two recorded, the third accepted by the server but not recorded, the rest of the batch still claimed.
    assert [r.status for r in rows].count(SENT) == 2
    assert len(server.received) == 3
    crashed = rows[2]
    assert crashed.status == SENDING and crashed.message_id == server.received[2].message_id

    # A new worker takes over the dead worker's claims once their lease has lapsed (here at once).
    options = WorkerOptions(rate_per_minute=0, batch_size=10, poll_interval=0.05, lease=0.0)
    stats = worker_for(app, server, options).run(until_idle=True)
    assert stats.sent == 8
    rows = outbox(app)
    assert all(r.status == SENT for r in rows)

    counts = server.message_id_counts()
    # At least once: every message arrived; the one in flight at the crash arrived twice,
    # with the same Message-ID and the same content, so the receiver can drop the copy.
    assert set(counts) == {r.message_id for r in rows}
    assert counts[crashed.message_id] == 2 and Counter(counts.values()) == Counter({1: 9, 2: 1})
    copies = [m.content for m in server.received if m.message_id == crashed.message_id]
    assert copies[0] == copies[1]


def test_several_workers_at_once_send_each_message_exactly_once(app, campaign, smtp_server):
    round_id = campaign(per_group=12)
    assert invite_all(app, round_id) == 60
    server = smtp_server(Behaviour(delay=0.005))
    options = WorkerOptions(rate_per_minute=0, batch_size=5, poll_interval=0.02)
    pool = Pool([worker_for(app, server, options, name=f"worker-{i}") for i in range(3)])
    stats = pool.run(until_idle=True)
    assert sum(s.sent for s in stats) == 60
    assert sum(1 for s in stats if s.sent) >= 2, "the workers did not share the queue"
    rows = outbox(app)
    assert all(r.status == SENT for r in rows)
    assert sorted(server.message_id_counts().values()) == [1] * 60
