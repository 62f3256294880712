"""Campaigns planned ahead: an administrator schedules them, the outbox worker runs them when due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.accounts.services import record
from survey.invitations.campaigns import check_target, queue_invitations, queue_reminders
from survey.invitations.models import INVITATION, MailSchedule
from survey.invitations.outbox import MailContext, MailError
from survey.invitations.wordings import check_kind
from survey.rounds.models import Round
from survey.timeutil import as_utc, utcnow


def schedule(session: Session, round_: Round, kind: str, run_at: datetime, *, group_id: int | None = None,
             agency_id: int | None = None, actor: User | None = None) -> MailSchedule:
    check_kind(kind)
    if as_utc(run_at) <= utcnow():
        raise MailError("Thời điểm hẹn gửi phải ở tương lai.")
    if as_utc(run_at) >= as_utc(round_.closes_at):
        raise MailError("Thời điểm hẹn gửi phải trước khi đợt khảo sát kết thúc.")
    check_target(session, round_, group_id, agency_id)
    row = MailSchedule(round_id=round_.id, kind=kind, run_at=run_at, group_id=group_id, agency_id=agency_id,
                       created_by_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    record(session, "mail.schedule", round_id=round_.id, province_id=round_.province_id, target=kind, actor=actor,
           details={"run_at": as_utc(run_at).isoformat(), "group_id": group_id, "agency_id": agency_id})
    return row


def cancel_schedule(session: Session, round_: Round, schedule_id: int, *, actor: User | None = None) -> None:
    row = session.get(MailSchedule, schedule_id)
    if row is None or row.round_id != round_.id or row.done_at is not None:
        raise MailError("Lịch gửi không tồn tại hoặc đã chạy.")
    session.delete(row)
    session.flush()
    record(session, "mail.schedule_cancel", round_id=round_.id, province_id=round_.province_id, actor=actor,
           details={"schedule": schedule_id})


def run_due_schedule(session: Session, context: MailContext, now: datetime | None = None) -> MailSchedule | None:
    """Run one due schedule (locked, so two workers never run the same one); None when none is due."""
    now = now or utcnow()
    row = session.scalar(
        select(MailSchedule).where(MailSchedule.done_at.is_(None), MailSchedule.run_at <= now)
        .order_by(MailSchedule.run_at, MailSchedule.id).limit(1).with_for_update(skip_locked=True)
    )
    if row is None:
        return None
    round_ = session.get(Round, row.round_id)
    action = queue_invitations if row.kind == INVITATION else queue_reminders
    try:
        outcome = action(session, round_, context, group_id=row.group_id, agency_id=row.agency_id, now=now)
        row.enqueued = outcome.enqueued
    except MailError:
        row.enqueued = 0  # e.g. the round closed meanwhile: nothing to send, the schedule is spent
    row.done_at = now
    session.flush()
    # The schedule's run is the audited action (by the system, not by whoever planned it).
    record(session, "mail.schedule_run", round_id=row.round_id, target=row.kind, actor=None,
           province_id=round_.province_id, details={"schedule": row.id, "enqueued": row.enqueued})
    return row
