"""Deciding who gets which e-mail, and writing it to the outbox in the same transaction.

Each message carries a new personal link: tokens are stored only as hashes,
so a reminder cannot repeat an earlier link. Issuing the link revokes the
previous one; the respondent's draft belongs to them, not to the link, so
nothing they saved is lost. The rendered message (with the token) sits in
the outbox only until it is delivered or fails, then is erased.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, case, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.invitations.emails import Renderer, TemplateProblem, Wording, build_message, check_wording, \
    default_wording, new_message_id
from survey.invitations.models import (
    FAILED,
    INVITATION,
    KINDS,
    REMINDER,
    MailSchedule,
    MailSettings,
    MailTemplate,
    OutboxMessage,
)
from survey.respond.links import issue_link, issue_links
from survey.respond.models import Submission
from survey.rounds.models import Agency, Round, RoundGroup
from survey.roster.models import Respondent
from survey.timeutil import as_utc, format_local, utcnow


class MailError(ValueError):
    """A refusal with a Vietnamese reason; nothing was written."""


@dataclass(frozen=True)
class MailContext:
    sender: str
    base_url: str


def mail_context(config) -> MailContext:
    sender = config.get("MAIL_FROM")
    if not sender:
        raise MailError("Chưa cấu hình địa chỉ gửi thư (SURVEY_SMTP_FROM); không thể xếp thư vào hàng đợi.")
    return MailContext(sender=sender, base_url=config["BASE_URL"].rstrip("/"))


# --- settings and templates ---------------------------------------------------------------

def settings_for(session: Session, round_: Round) -> MailSettings:
    settings = session.get(MailSettings, round_.id)
    return settings if settings is not None else MailSettings(round_id=round_.id, reminder_max=3,
                                                              reminder_interval_days=7)


def update_settings(session: Session, round_: Round, *, reminder_max: int, reminder_interval_days: int) -> MailSettings:
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
    return settings


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise MailError(f"Loại thư không hợp lệ: {kind}.")


def wording_for(session: Session, round_: Round, kind: str) -> tuple[Wording, bool]:
    """The round's wording of ``kind`` and whether it is the round's own (else the shipped default)."""
    _check_kind(kind)
    row = session.scalar(select(MailTemplate).where(MailTemplate.round_id == round_.id, MailTemplate.kind == kind))
    if row is None:
        return default_wording(kind), False
    return Wording(row.subject, row.body_text, row.body_html), True


def save_wording(session: Session, round_: Round, kind: str, wording: Wording, *, actor: User | None) -> MailTemplate:
    _check_kind(kind)
    try:
        check_wording(wording)
    except TemplateProblem as problem:
        raise MailError(str(problem)) from None
    row = session.scalar(select(MailTemplate).where(MailTemplate.round_id == round_.id, MailTemplate.kind == kind))
    if row is None:
        row = MailTemplate(round_id=round_.id, kind=kind)
        session.add(row)
    row.subject, row.body_text, row.body_html = wording.subject.strip(), wording.body_text, wording.body_html
    row.updated_at = utcnow()
    row.updated_by_id = actor.id if actor else None
    session.flush()
    return row


def reset_wording(session: Session, round_: Round, kind: str) -> None:
    _check_kind(kind)
    session.execute(delete(MailTemplate).where(MailTemplate.round_id == round_.id, MailTemplate.kind == kind))
    session.flush()


# --- choosing recipients ------------------------------------------------------------------

@dataclass
class Outcome:
    """What a campaign action did: how many were queued and why the others were skipped."""

    enqueued: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

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


def normalised_email(address: str | None) -> str | None:
    """The address ready for the envelope, or None if it is not a valid address."""
    if not address or not address.strip():
        return None
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def round_context(round_: Round) -> dict:
    """The template variables every message of a round shares."""
    return {"round_title": round_.title, "province": round_.province.name, "deadline": format_local(round_.closes_at)}


class Enqueuer:
    """Renders and queues messages of one kind for one round (compiles the templates once)."""

    def __init__(self, session: Session, round_: Round, kind: str, context: MailContext, actor: User | None):
        wording, _custom = wording_for(session, round_, kind)
        try:
            self.renderer = Renderer(wording)
        except TemplateProblem as problem:
            raise MailError(str(problem)) from None
        self.session, self.round, self.kind, self.context, self.actor = session, round_, kind, context, actor
        self.common = round_context(round_)
        self._groups = {g.id: g.label for g in round_.groups}
        self._agencies: dict[int, str] = {}

    def _agency_name(self, agency_id: int | None) -> str:
        if agency_id is None:
            return ""
        if agency_id not in self._agencies:
            self._agencies[agency_id] = self.session.get(Agency, agency_id).name
        return self._agencies[agency_id]

    def enqueue_all(self, recipients: list[tuple[Respondent, str]]) -> int:
        """Queue one message per (respondent, address), each with a new link replacing the previous one."""
        now = utcnow()
        tokens = issue_links(self.session, [respondent.id for respondent, _address in recipients])
        messages = [self._message(respondent, address, tokens[respondent.id], now) for respondent, address in recipients]
        for start in range(0, len(messages), 500):
            self.session.execute(insert(OutboxMessage), messages[start:start + 500])
        return len(recipients)

    def enqueue(self, respondent: Respondent, recipient: str) -> OutboxMessage:
        """One message (a re-send): issue_link revokes the previous link."""
        token = issue_link(self.session, respondent)
        message = OutboxMessage(**self._message(respondent, recipient, token, utcnow()))
        self.session.add(message)
        return message

    def _message(self, respondent: Respondent, recipient: str, token: str, now: datetime) -> dict:
        rendered = self.renderer.render({
            **self.common, "full_name": respondent.full_name, "link": f"{self.context.base_url}/r/{token}",
            "group": self._groups.get(respondent.group_id, ""), "agency": self._agency_name(respondent.agency_id),
        })
        message_id = new_message_id(self.context.sender)
        return {
            "round_id": self.round.id, "respondent_id": respondent.id, "kind": self.kind, "message_id": message_id,
            "sender": self.context.sender, "recipient": recipient, "subject": rendered.subject,
            "body": build_message(sender=self.context.sender, recipient=recipient, message_id=message_id,
                                  rendered=rendered),
            "created_by_id": self.actor.id if self.actor else None, "next_attempt_at": now, "created_at": now,
        }


def _refuse_closed(round_: Round, now: datetime) -> None:
    if round_.state(now) == "closed":
        raise MailError("Đợt khảo sát đã kết thúc; không gửi thư mời hay thư nhắc nữa.")


def invite(session: Session, round_: Round, context: MailContext, *, group_id: int | None = None,
           agency_id: int | None = None, respondent_ids: Iterable[int] | None = None,
           include_invited: bool = False, actor: User | None = None, now: datetime | None = None) -> Outcome:
    """Queue invitations for the chosen part of the roster.

    People already invited are skipped unless ``include_invited``; someone
    whose last message failed counts as not invited, so correcting the
    address and inviting again works without that flag.
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
                  group_id=group_id, agency_id=agency_id, respondent_ids=respondent_ids)


def remind(session: Session, round_: Round, context: MailContext, *, group_id: int | None = None,
           agency_id: int | None = None, respondent_ids: Iterable[int] | None = None,
           actor: User | None = None, now: datetime | None = None) -> Outcome:
    """Queue reminders to invited people who have not submitted, within the round's cap and interval."""
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
                  group_id=group_id, agency_id=agency_id, respondent_ids=respondent_ids)


def _queue(session: Session, round_: Round, kind: str, context: MailContext, actor: User | None,
           reason_to_skip: Callable[[Respondent, History | None, str | None], str | None], *,
           group_id: int | None, agency_id: int | None, respondent_ids: Iterable[int] | None) -> Outcome:
    """Queue ``kind`` for the chosen people who have not submitted and whom ``reason_to_skip`` lets through."""
    check_target(session, round_, group_id, agency_id)
    enqueuer = Enqueuer(session, round_, kind, context, actor)
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
    outcome.enqueued = enqueuer.enqueue_all(chosen)
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
    message = Enqueuer(session, round_, INVITATION, context, actor).enqueue(respondent, address)
    session.flush()
    return message


# --- schedules ----------------------------------------------------------------------------

def schedule(session: Session, round_: Round, kind: str, run_at: datetime, *, group_id: int | None = None,
             agency_id: int | None = None, actor: User | None = None) -> MailSchedule:
    _check_kind(kind)
    if as_utc(run_at) <= utcnow():
        raise MailError("Thời điểm hẹn gửi phải ở tương lai.")
    if as_utc(run_at) >= as_utc(round_.closes_at):
        raise MailError("Thời điểm hẹn gửi phải trước khi đợt khảo sát kết thúc.")
    check_target(session, round_, group_id, agency_id)
    row = MailSchedule(round_id=round_.id, kind=kind, run_at=run_at, group_id=group_id, agency_id=agency_id,
                       created_by_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    return row


def cancel_schedule(session: Session, round_: Round, schedule_id: int) -> None:
    row = session.get(MailSchedule, schedule_id)
    if row is None or row.round_id != round_.id or row.done_at is not None:
        raise MailError("Lịch gửi không tồn tại hoặc đã chạy.")
    session.delete(row)
    session.flush()


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
    action = invite if row.kind == INVITATION else remind
    try:
        outcome = action(session, round_, context, group_id=row.group_id, agency_id=row.agency_id, now=now)
        row.enqueued = outcome.enqueued
    except MailError:
        row.enqueued = 0  # e.g. the round closed meanwhile: nothing to send, the schedule is spent
    row.done_at = now
    session.flush()
    return row


def pending_ids(session: Session, round_: Round) -> list[int]:
    """Respondents of the round not yet submitted: the default selection of the call list."""
    return list(session.scalars(
        select(Respondent.id).where(Respondent.round_id == round_.id,
                                    ~exists().where(Submission.respondent_id == Respondent.id))
    ))


__all__ = ["MailError", "MailContext", "Outcome", "invite", "remind", "resend", "schedule"]
