"""Claiming due outbox messages as leases, so that several workers share one queue.

A batch is claimed in one short transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite the claim runs under ``BEGIN IMMEDIATE`` and is
therefore atomic). The worker renews its lease while it works; a claim not
renewed for ``lease`` seconds belongs to a dead worker and is taken over.
Each function here is its own unit of work: a claim must be visible to the
other workers before the first e-mail of the batch goes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update

from survey import db
from survey.invitations.models import CANCELLED, QUEUED, SENDING, OutboxMessage
from survey.respond.models import Submission
from survey.rounds.models import Round
from survey.timeutil import as_utc, utcnow


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: str
    sender: str
    recipient: str
    body: bytes
    attempts: int


def cancel_obsolete(now: datetime) -> None:
    """Drop queued mail that has lost its purpose before it goes out.

    A reminder queued on Monday must not reach someone who submitted on
    Tuesday, and nothing is sent for a round that has closed. The body
    (which holds a personal link) is erased like a delivered one's.
    """
    submitted = exists().where(Submission.respondent_id == OutboxMessage.respondent_id)
    # The survey's window says nothing about staff mail (self-assessment reminders run into January).
    closed = and_(OutboxMessage.respondent_id.is_not(None),
                  exists().where(Round.id == OutboxMessage.round_id, Round.closes_at <= now))
    with db.unit_of_work() as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.status == QUEUED, or_(submitted, closed))
            .values(status=CANCELLED, body=None, last_error="Không gửi: người nhận đã nộp phiếu "
                                                            "hoặc đợt khảo sát đã đóng.")
            .execution_options(synchronize_session=False))


def claim(owner: str, *, size: int, lease: float) -> list[Claimed]:
    """Up to ``size`` due messages (queued and due, or held by a lapsed lease), now leased to ``owner``."""
    now = utcnow()
    cancel_obsolete(now)
    due = or_(
        and_(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < now - timedelta(seconds=lease)),
    )
    # One statement: lock the due rows (skipping those another worker holds), mark them ours,
    # return what is needed to send them.
    due_ids = (select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(size)
               .with_for_update(skip_locked=True).scalar_subquery())
    with db.unit_of_work() as session:
        rows = session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(due_ids))
            .values(status=SENDING, claimed_at=now, claimed_by=owner)
            .returning(OutboxMessage.id, OutboxMessage.message_id, OutboxMessage.sender,
                       OutboxMessage.recipient, OutboxMessage.body, OutboxMessage.attempts)
            .execution_options(synchronize_session=False)).all()
    rows.sort(key=lambda row: row[0])
    return [Claimed(*row) for row in rows]


def _still_mine(owner: str, messages: list[Claimed]):
    return (OutboxMessage.id.in_([m.id for m in messages]), OutboxMessage.claimed_by == owner,
            OutboxMessage.status == SENDING)


def renew(owner: str, pending: list[Claimed]) -> set[int]:
    """Extend the lease on what is left of a batch; returns the ids still ``owner``'s."""
    with db.unit_of_work() as session:
        return set(session.scalars(update(OutboxMessage).where(*_still_mine(owner, pending))
                                   .values(claimed_at=utcnow()).returning(OutboxMessage.id)).all())


def release(owner: str, messages: list[Claimed], *, delay: float) -> None:
    """Give back claimed messages that were not attempted (their attempt count is unchanged)."""
    if not messages:
        return
    with db.unit_of_work() as session:
        session.execute(update(OutboxMessage).where(*_still_mine(owner, messages))
                        .values(status=QUEUED, claimed_at=None, claimed_by=None,
                                next_attempt_at=utcnow() + timedelta(seconds=delay)))


def next_due_in(poll_interval: float) -> float | None:
    """Seconds until the next queued message is due (None when nothing is queued or in flight)."""
    with db.unit_of_work(write=False) as session:
        in_flight = session.scalar(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.status == SENDING))
        next_due = session.scalar(select(func.min(OutboxMessage.next_attempt_at))
                                  .where(OutboxMessage.status == QUEUED))
    if next_due is None:
        return None if not in_flight else poll_interval
    seconds = (as_utc(next_due) - utcnow()).total_seconds()
    return min(poll_interval, max(0.02, seconds))
