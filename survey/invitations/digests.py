"""Digests to agencies' focal points: each agency's response rate and who has not submitted.

The plan asks every agency to urge its own people ("đôn đốc, chỉ đạo"), so on a schedule the
administrator sets, the worker queues for each focal point a digest of their own agency only:
how many of the listed people submitted, and the names of those who have not. It says nothing
of what anyone answered (it reads the submission ledger, never the responses) and carries no
personal link (those belong to the respondents alone). Digests go through the outbox like any
other message and stop by themselves when the round closes or everyone has submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import render_template
from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from survey.accounts.models import FOCAL_POINT, User
from survey.accounts.services import record
from survey.invitations.emails import Rendered, build_message, new_message_id
from survey.invitations.models import DIGEST, STOP_CANCELLED, STOP_CLOSED, STOP_COMPLETE, DigestSchedule, \
    OutboxMessage
from survey.invitations.outbox import MailContext, MailError, normalised_email
from survey.respond.models import Submission
from survey.rounds.models import Agency, Round
from survey.roster.models import Respondent
from survey.timeutil import as_utc, format_local, utcnow


def digest_for(session: Session, round_: Round) -> DigestSchedule | None:
    return session.get(DigestSchedule, round_.id)


def set_digest(session: Session, round_: Round, *, first_at: datetime, interval_days: int,
               actor: User | None = None, now: datetime | None = None) -> DigestSchedule:
    """Start (or restart with new timing) the digests of a round."""
    now = now or utcnow()
    if round_.state(now) == "closed":
        raise MailError("Đợt khảo sát đã kết thúc; không gửi thư tổng hợp nữa.")
    if not 1 <= interval_days <= 30:
        raise MailError("Chu kỳ gửi phải từ 1 đến 30 ngày.")
    if as_utc(first_at) <= now:
        raise MailError("Thời điểm gửi lần đầu phải ở tương lai.")
    if as_utc(first_at) >= as_utc(round_.closes_at):
        raise MailError("Thời điểm gửi lần đầu phải trước khi đợt khảo sát kết thúc.")
    row = session.get(DigestSchedule, round_.id)
    if row is None:
        row = DigestSchedule(round_id=round_.id)
        session.add(row)
    row.interval_days, row.next_run_at = interval_days, first_at
    row.stopped_at = row.stop_reason = None
    row.updated_at, row.updated_by_id = now, actor.id if actor else None
    session.flush()
    record(session, "mail.digest_schedule", round_id=round_.id, province_id=round_.province_id, actor=actor,
           details={"first_at": as_utc(first_at).isoformat(), "interval_days": interval_days})
    return row


def stop_digest(session: Session, round_: Round, *, actor: User | None = None) -> None:
    row = session.get(DigestSchedule, round_.id)
    if row is None or row.stopped_at is not None:
        raise MailError("Thư tổng hợp của đợt này không còn được gửi.")
    _stop(row, STOP_CANCELLED, utcnow())
    session.flush()
    record(session, "mail.digest_stop", round_id=round_.id, province_id=round_.province_id, actor=actor)


def _stop(row: DigestSchedule, reason: str, now: datetime) -> None:
    row.stopped_at, row.stop_reason = now, reason


@dataclass(frozen=True)
class Pending:
    full_name: str
    position: str
    group: str


@dataclass(frozen=True)
class AgencyDigest:
    agency: str
    expected: int
    submitted: int
    pending: list[Pending]
    recipients: list[tuple[str, str]]  # (full name, address) of the agency's focal points

    @property
    def rate(self) -> float:
        return 100.0 * self.submitted / self.expected if self.expected else 0.0


def agency_digests(session: Session, round_: Round) -> list[AgencyDigest]:
    """One digest per agency that still has someone to urge and an active focal point to tell."""
    submitted = exists().where(Submission.respondent_id == Respondent.id)
    totals = {agency_id: (expected, int(done or 0)) for agency_id, expected, done in session.execute(
        select(Respondent.agency_id, func.count(), func.sum(case((submitted, 1), else_=0)))
        .where(Respondent.round_id == round_.id, Respondent.agency_id.is_not(None))
        .group_by(Respondent.agency_id))}
    waiting = [agency_id for agency_id, (expected, done) in totals.items() if done < expected]
    if not waiting:
        return []
    recipients: dict[int, list[tuple[str, str]]] = {}
    for user in session.scalars(select(User).where(
            User.role == FOCAL_POINT, User.is_active.is_(True), User.province_id == round_.province_id,
            User.agency_id.in_(waiting)).order_by(User.id)):
        address = normalised_email(user.email)
        if address is not None:
            recipients.setdefault(user.agency_id, []).append((user.full_name, address))
    if not recipients:
        return []
    groups = {g.id: g.label for g in round_.groups}
    pending: dict[int, list[Pending]] = {}
    for person in session.scalars(
            select(Respondent).where(Respondent.round_id == round_.id, Respondent.agency_id.in_(list(recipients)),
                                     ~submitted)
            .order_by(Respondent.group_id, Respondent.full_name, Respondent.id)):
        pending.setdefault(person.agency_id, []).append(
            Pending(person.full_name, person.position or "", groups.get(person.group_id, "")))
    names = dict(session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(list(recipients)))).all())
    return sorted((AgencyDigest(names[agency_id], *totals[agency_id], pending[agency_id], recipients[agency_id])
                   for agency_id in recipients), key=lambda digest: digest.agency)


def _message(round_: Round, digest: AgencyDigest, name: str, address: str, context: MailContext,
             now: datetime) -> dict:
    values = {"round": round_, "digest": digest, "recipient_name": name, "deadline": format_local(round_.closes_at),
              "monitor_url": f"{context.base_url}/admin/rounds/{round_.id}/monitor"}
    rendered = Rendered(
        subject=f"Tiến độ {round_.title} — {digest.agency}: {digest.submitted}/{digest.expected} đã nộp phiếu"[:255],
        text=render_template("emails/digest.txt", **values), html=render_template("emails/digest.html", **values))
    message_id = new_message_id(context.sender)
    return {"round_id": round_.id, "respondent_id": None, "kind": DIGEST, "message_id": message_id,
            "sender": context.sender, "recipient": address, "subject": rendered.subject,
            "body": build_message(sender=context.sender, recipient=address, message_id=message_id, rendered=rendered),
            "created_by_id": None, "next_attempt_at": now, "created_at": now}


def run_due_digest(session: Session, context: MailContext, now: datetime | None = None) -> DigestSchedule | None:
    """Run one due digest schedule (locked, so two workers never run the same one); None when none is due.

    A run after the close, or when everyone has submitted, stops the schedule instead of sending.
    A run before the opening sends nothing (nobody could answer yet) and waits for the next one.
    """
    now = now or utcnow()
    row = session.scalar(
        select(DigestSchedule).where(DigestSchedule.stopped_at.is_(None), DigestSchedule.next_run_at <= now)
        .order_by(DigestSchedule.next_run_at, DigestSchedule.round_id).limit(1).with_for_update(skip_locked=True))
    if row is None:
        return None
    round_ = session.get(Round, row.round_id)
    state = round_.state(now)
    messages = []
    if state == "closed":
        _stop(row, STOP_CLOSED, now)
    elif not session.scalar(select(exists().where(Respondent.round_id == round_.id,
                                                  ~exists().where(Submission.respondent_id == Respondent.id)))):
        _stop(row, STOP_COMPLETE, now)
    elif state == "open":
        messages = [_message(round_, digest, name, address, context, now)
                    for digest in agency_digests(session, round_) for name, address in digest.recipients]
        if messages:
            session.execute(OutboxMessage.__table__.insert(), messages)
    row.last_run_at, row.last_enqueued = now, len(messages)
    # Missed runs (a worker stopped for days) are not caught up in a burst: the next is in the future.
    interval = timedelta(days=row.interval_days)
    while as_utc(row.next_run_at) <= now:
        row.next_run_at = as_utc(row.next_run_at) + interval
    session.flush()
    record(session, "mail.digest_run", round_id=round_.id, province_id=round_.province_id, actor=None,
           details={"enqueued": len(messages), "stopped": row.stop_reason})
    return row
