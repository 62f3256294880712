"""Campaigns: deciding who gets an invitation, a reminder or a fresh link, and queueing it.

Each action records its audit entry here, once, so the web pages, the
command line and the schedules cannot log it differently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.accounts.services import record
from survey.invitations.emails import Wording
from survey.invitations.models import FAILED, INVITATION, REMINDER, MailSettings, OutboxMessage
from survey.invitations.outbox import Enqueuer, MailContext, MailError, normalised_email
from survey.invitations.wordings import wording_for
from survey.respond.models import AccessLink, Submission
from survey.rounds.models import Agency, Round, RoundGroup
from survey.roster.models import Respondent
from survey.timeutil import as_utc, utcnow


# --- reminder rules -----------------------------------------------------------------------

def settings_for(session: Session, round_: Round) -> MailSettings:
    settings = session.get(MailSettings, round_.id)
    return settings if settings is not None else MailSettings(round_id=round_.id, reminder_max=3,
                                                              reminder_interval_days=7)


def update_settings(session: Session, round_: Round, *, reminder_max: int, reminder_interval_days: int,
                    actor: User | None = None) -> MailSettings:
    if not 0 <= reminder_max <= 20:
        raise MailError("Số lần nhắc tối đa phải từ 0 đến 20.")
    if not 1 <= reminder_interval_days <= 60:
        raise MailError("Khoảng cách giữa hai lần nhắc phải từ 1 đến 60 ngày.")
    settings = session.get(MailSettings, round_.id)
    if settings is None:
        settings = MailSettings(round_id=round_.id)
        session.add(settings)
    settings.reminder_max = reminder_max
    settings.reminder_interval_days = reminder_interval_days
    settings.updated_at = utcnow()
    session.flush()
    record(session, "mail.settings", round_id=round_.id, province_id=round_.province_id, actor=actor,
           details={"reminder_max": reminder_max, "interval_days": reminder_interval_days})
    return settings


# --- choosing recipients ------------------------------------------------------------------

@dataclass
class Outcome:
    """What a campaign action did: how many were queued and why the others were skipped."""

    enqueued: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def preview(self, kind: str) -> list[str]:
        """What confirming would do, in the words of the confirmation page."""
        label = "thư mời" if kind == INVITATION else "thư nhắc"
        lines = [f"Sẽ xếp {self.enqueued} {label} vào hàng đợi gửi. Mỗi thư mang một đường dẫn mới: đường dẫn "
                 f"cũ của {self.enqueued} người này sẽ không còn dùng được (câu trả lời họ đã lưu vẫn giữ nguyên)."]
        lines += [f"Bỏ qua {n} người: {SKIP_REASONS[reason]}." for reason, n in sorted(self.skipped.items())]
        return lines

    def summary(self, kind: str) -> str:
        label = "thư mời" if kind == INVITATION else "thư nhắc"
        parts = [f"Đã xếp {self.enqueued} {label} vào hàng đợi gửi."]
        parts += [f"Bỏ qua {n} người: {SKIP_REASONS[reason]}." for reason, n in sorted(self.skipped.items())]
        return " ".join(parts)


SKIP_REASONS = {
    "no_email": "không có e-mail (hãy xuất đường dẫn ra bảng tính hoặc thư in)",
    "bad_email": "e-mail không hợp lệ (hãy sửa trong danh sách gửi lỗi)",
    "submitted": "đã gửi phiếu",
    "already_invited": "đã được mời",
    "not_invited": "chưa được mời lần nào",
    "cap": "đã nhận đủ số lần nhắc tối đa",
    "last_failed": "thư trước gửi lỗi (hãy sửa địa chỉ rồi gửi lại)",
    "too_recent": "vừa nhận thư gần đây (chưa đủ khoảng cách giữa hai lần nhắc)",
}


def respondents_query(round_: Round, *, group_id: int | None = None, agency_id: int | None = None,
                      respondent_ids: Iterable[int] | None = None):
    query = select(Respondent).where(Respondent.round_id == round_.id)
    if group_id is not None:
        query = query.where(Respondent.group_id == group_id)
    if agency_id is not None:
        query = query.where(Respondent.agency_id == agency_id)
    if respondent_ids is not None:
        query = query.where(Respondent.id.in_(list(respondent_ids)))
    return query.order_by(Respondent.id)


def check_target(session: Session, round_: Round, group_id: int | None, agency_id: int | None) -> None:
    """A group or agency that is not this round's (or province's) is refused, not silently ignored."""
    if group_id is not None:
        group = session.get(RoundGroup, group_id)
        if group is None or group.round_id != round_.id:
            raise MailError("Nhóm đối tượng không thuộc đợt khảo sát này.")
    if agency_id is not None:
        agency = session.get(Agency, agency_id)
        if agency is None or agency.province_id != round_.province_id:
            raise MailError("Cơ quan, đơn vị không thuộc tỉnh của đợt khảo sát này.")


@dataclass(frozen=True)
class History:
    messages: int
    reminders: int
    last_at: datetime | None
    last_failed: bool


def _histories(session: Session, round_: Round) -> dict[int, History]:
    """Per respondent of the round: messages so far, reminders, the latest time and whether it failed."""
    latest = (select(OutboxMessage.respondent_id, func.max(OutboxMessage.id).label("last_id"))
              .where(OutboxMessage.round_id == round_.id).group_by(OutboxMessage.respondent_id).subquery())
    rows = session.execute(
        select(OutboxMessage.respondent_id, func.count(),
               func.sum(case((OutboxMessage.kind == REMINDER, 1), else_=0)),
               func.max(OutboxMessage.created_at),
               func.max(case((and_(OutboxMessage.id == latest.c.last_id, OutboxMessage.status == FAILED), 1),
                             else_=0)))
        .join(latest, latest.c.respondent_id == OutboxMessage.respondent_id)
        .where(OutboxMessage.round_id == round_.id)
        .group_by(OutboxMessage.respondent_id)
    )
    return {rid: History(n, int(rem or 0), as_utc(last) if last else None, bool(failed))
            for rid, n, rem, last, failed in rows}


def _submitted_ids(session: Session, round_: Round) -> set[int]:
    return set(session.scalars(select(Submission.respondent_id).where(Submission.round_id == round_.id)))


def _refuse_closed(round_: Round, now: datetime) -> None:
    if round_.state(now) == "closed":
        raise MailError("Đợt khảo sát đã kết thúc; không gửi thư mời hay thư nhắc nữa.")


def invite(session: Session, round_: Round, context: MailContext, *, group_id: int | None = None,
           agency_id: int | None = None, respondent_ids: Iterable[int] | None = None,
           include_invited: bool = False, actor: User | None = None, now: datetime | None = None,
           dry_run: bool = False) -> Outcome:
    """Queue invitations for the chosen part of the roster (see ``queue_invitations``), and audit it.

    With ``dry_run``, only count who would be invited and who skipped (what the confirmation shows).
    """
    respondent_ids = None if respondent_ids is None else list(respondent_ids)
    outcome = queue_invitations(session, round_, context, group_id=group_id, agency_id=agency_id,
                                respondent_ids=respondent_ids, include_invited=include_invited, actor=actor, now=now,
                                dry_run=dry_run)
    if not dry_run:
        _audit_campaign(session, "mail.invite", round_, outcome, respondent_ids, actor)
    return outcome


def remind(session: Session, round_: Round, context: MailContext, *, group_id: int | None = None,
           agency_id: int | None = None, respondent_ids: Iterable[int] | None = None,
           actor: User | None = None, now: datetime | None = None, dry_run: bool = False) -> Outcome:
    """Queue reminders (see ``queue_reminders``), and audit it; with ``dry_run``, only count."""
    respondent_ids = None if respondent_ids is None else list(respondent_ids)
    outcome = queue_reminders(session, round_, context, group_id=group_id, agency_id=agency_id,
                              respondent_ids=respondent_ids, actor=actor, now=now, dry_run=dry_run)
    if not dry_run:
        _audit_campaign(session, "mail.remind", round_, outcome, respondent_ids, actor)
    return outcome


def _audit_campaign(session: Session, action: str, round_: Round, outcome: Outcome,
                    respondent_ids: list[int] | None, actor: User | None) -> None:
    record(session, action, round_id=round_.id, province_id=round_.province_id, actor=actor,
           details={"enqueued": outcome.enqueued, "skipped": outcome.skipped, "selected": len(respondent_ids or [])})


def queue_invitations(session: Session, round_: Round, context: MailContext, *, group_id: int | None = None,
                      agency_id: int | None = None, respondent_ids: Iterable[int] | None = None,
                      include_invited: bool = False, actor: User | None = None,
                      now: datetime | None = None, dry_run: bool = False, wording: Wording | None = None) -> Outcome:
    """Queue invitations for the chosen part of the roster, unaudited (the caller records its own action).

    People already invited are skipped unless ``include_invited``; someone
    whose last message failed counts as not invited, so correcting the
    address and inviting again works without that flag. ``wording`` replaces
    the round's invitation (a sample of citizens is written to differently).
    """
    now = now or utcnow()
    _refuse_closed(round_, now)

    def reason_to_skip(respondent: Respondent, history: History | None, address: str | None) -> str | None:
        if problem := _address_problem(respondent, address):
            return problem
        if history and not history.last_failed and not include_invited:
            return "already_invited"
        return None

    return _queue(session, round_, INVITATION, context, actor, reason_to_skip,
                  group_id=group_id, agency_id=agency_id, respondent_ids=respondent_ids, dry_run=dry_run,
                  wording=wording)


def queue_reminders(session: Session, round_: Round, context: MailContext, *, group_id: int | None = None,
                    agency_id: int | None = None, respondent_ids: Iterable[int] | None = None,
                    actor: User | None = None, now: datetime | None = None, dry_run: bool = False) -> Outcome:
    """Queue reminders to invited people who have not submitted, within the round's cap and interval (unaudited)."""
    now = now or utcnow()
    _refuse_closed(round_, now)
    if round_.state(now) == "scheduled":
        raise MailError("Đợt khảo sát chưa mở; chưa thể gửi thư nhắc.")
    settings = settings_for(session, round_)
    quiet_since = now - timedelta(days=settings.reminder_interval_days)

    def reason_to_skip(respondent: Respondent, history: History | None, address: str | None) -> str | None:
        if history is None:
            return "not_invited"
        if problem := _address_problem(respondent, address):
            return problem
        if history.last_failed:
            return "last_failed"
        if history.reminders >= settings.reminder_max:
            return "cap"
        if history.last_at is not None and history.last_at > quiet_since:
            return "too_recent"
        return None

    return _queue(session, round_, REMINDER, context, actor, reason_to_skip,
                  group_id=group_id, agency_id=agency_id, respondent_ids=respondent_ids, dry_run=dry_run)


def _queue(session: Session, round_: Round, kind: str, context: MailContext, actor: User | None,
           reason_to_skip: Callable[[Respondent, History | None, str | None], str | None], *,
           group_id: int | None, agency_id: int | None, respondent_ids: Iterable[int] | None,
           dry_run: bool = False, wording: Wording | None = None) -> Outcome:
    """Queue ``kind`` for the chosen people who have not submitted and whom ``reason_to_skip`` lets through.

    ``dry_run`` writes nothing (no link is revoked) but still compiles the wording, so a broken
    template is refused when the count is shown rather than after it was confirmed.
    """
    check_target(session, round_, group_id, agency_id)
    enqueuer = Enqueuer(session, round_, kind, wording or wording_for(session, round_, kind)[0], context, actor)
    histories = _histories(session, round_)
    submitted = _submitted_ids(session, round_)
    outcome, chosen = Outcome(), []
    query = respondents_query(round_, group_id=group_id, agency_id=agency_id, respondent_ids=respondent_ids)
    for respondent in session.scalars(query):
        address = normalised_email(respondent.email)
        if respondent.id in submitted:
            reason = "submitted"
        else:
            reason = reason_to_skip(respondent, histories.get(respondent.id), address)
        if reason:
            outcome.skip(reason)
        else:
            chosen.append((respondent, address))
    outcome.enqueued = len(chosen) if dry_run else enqueuer.enqueue_all(chosen)
    return outcome


def _address_problem(respondent: Respondent, address: str | None) -> str | None:
    if not respondent.email or not respondent.email.strip():
        return "no_email"
    if address is None:
        return "bad_email"
    return None


def resend(session: Session, round_: Round, respondent: Respondent, context: MailContext, *,
           new_email: str | None = None, actor: User | None = None) -> OutboxMessage:
    """Correct the address if given, then send a fresh link (the old one stops working)."""
    _refuse_closed(round_, utcnow())
    old_email = respondent.email
    if respondent.round_id != round_.id:
        raise MailError("Người này không thuộc đợt khảo sát.")
    if session.scalar(select(exists().where(Submission.respondent_id == respondent.id))):
        raise MailError(f"{respondent.full_name} đã gửi phiếu; không cần gửi lại đường dẫn.")
    if new_email is not None and new_email.strip():
        address = normalised_email(new_email)
        if address is None:
            raise MailError(f"Địa chỉ e-mail không hợp lệ: “{new_email.strip()}”.")
        respondent.email = address
    else:
        address = normalised_email(respondent.email)
        if address is None:
            raise MailError(f"{respondent.full_name} chưa có e-mail hợp lệ; hãy nhập địa chỉ đúng rồi gửi lại.")
    wording = wording_for(session, round_, INVITATION)[0]
    message = Enqueuer(session, round_, INVITATION, wording, context, actor).enqueue(respondent, address)
    session.flush()
    details = {"respondent": respondent.id}
    if respondent.email != old_email:
        details.update(old_email=old_email, new_email=respondent.email)
    record(session, "mail.resend", round_id=round_.id, province_id=round_.province_id, target=respondent.full_name,
           details=details, actor=actor)
    return message


def pending_ids(session: Session, round_: Round) -> list[int]:
    """Respondents of the round not yet submitted: the default selection of the call list."""
    return list(session.scalars(
        select(Respondent.id).where(Respondent.round_id == round_.id,
                                    ~exists().where(Submission.respondent_id == Respondent.id))
    ))


@dataclass(frozen=True)
class OpeningSummary:
    """What opening a round now fixes and whom it lets in: the confirmation page's numbers."""

    questionnaires: list[tuple[str, str, str]]  # (group, questionnaire, version)
    listed: int
    with_link: int


def opening_summary(session: Session, round_: Round) -> OpeningSummary:
    listed = session.scalar(select(func.count()).select_from(Respondent).where(Respondent.round_id == round_.id))
    with_link = session.scalar(select(func.count()).select_from(Respondent).where(
        Respondent.round_id == round_.id,
        exists().where(AccessLink.respondent_id == Respondent.id, AccessLink.revoked_at.is_(None))))
    return OpeningSummary([(g.label, g.questionnaire_key, g.questionnaire_version) for g in round_.groups],
                          listed, with_link)
