"""Reminders (đôn đốc) to the focal points of parts not yet submitted, through the invitations' outbox.

Timed against the parts' due day (the round's milestone, 5 January by default): a week
before, on the eve, and the day after it, each stage once per part, whenever the daily
command happens to run within it (a command run late sends the stage it is in, not every
stage it missed). Sở Nội vụ can also remind at once from the page ("manual"), at most once a
day per part. A submitted part is never reminded, and a reminder still queued when its part
is submitted is cancelled (``services.submit_part``). The messages are written to the outbox in
the caller's transaction and leave with the mail worker after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.models import FOCAL_POINT, User
from survey.accounts.services import record
from survey.assessment.models import AssessmentCycle, Part, Reminder
from survey.assessment.services import AssessmentError, frozen_version
from survey.config import PROJECT_ROOT
from survey.invitations.emails import Renderer, Wording, build_message, new_message_id
from survey.invitations.models import REMINDER, OutboxMessage
from survey.invitations.outbox import MailContext, normalised_email
from survey.timeutil import VIETNAM, utcnow

TEMPLATES = PROJECT_ROOT / "templates" / "emails"
SUBJECT = "Nhắc gửi phần tự đánh giá Chỉ số CCHC {{ year }} của {{ agency }} (hạn {{ due_on }})"
# Days from the due day at which each timed stage begins, in order.
STAGES = (("week", -7), ("eve", -1), ("late", 1))
MANUAL = "manual"
MANUAL_GAP = timedelta(hours=20)  # "once a day" that still allows the same office hour tomorrow


def stage_on(cycle: AssessmentCycle, today: date) -> str | None:
    """The timed stage ``today`` falls in, or None before the first one."""
    current = None
    for stage, offset in STAGES:
        if today >= cycle.due_on + timedelta(days=offset):
            current = stage
    return current


@dataclass
class Outcome:
    queued: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, agency: str) -> None:
        self.skipped.setdefault(reason, []).append(agency)

    def summary(self) -> str:
        parts = [f"Đã xếp {self.queued} thư nhắc vào hàng đợi gửi."]
        parts += [f"Không nhắc {', '.join(agencies)}: {SKIP_REASONS[reason]}."
                  for reason, agencies in sorted(self.skipped.items())]
        return " ".join(parts)


SKIP_REASONS = {
    "no_focal_point": "chưa có đầu mối nào có e-mail hợp lệ",
    "already": "đã được nhắc ở mốc này",
    "recent": "vừa được nhắc trong vòng một ngày",
}


def _wording() -> Wording:
    return Wording(SUBJECT, (TEMPLATES / "assessment_reminder.txt").read_text(encoding="utf-8"),
                   (TEMPLATES / "assessment_reminder.html").read_text(encoding="utf-8"))


def _focal_points(session: Session, part: Part) -> list[tuple[User, str]]:
    users = session.scalars(select(User).where(User.role == FOCAL_POINT, User.agency_id == part.agency_id,
                                               User.is_active.is_(True)).order_by(User.id))
    return [(u, address) for u in users if (address := normalised_email(u.email))]


def remind(session: Session, cycle: AssessmentCycle, context: MailContext, *, manual: bool,
           actor: User | None = None, today: date | None = None) -> Outcome:
    """Queue reminders to the focal points of every part not submitted; see the module's timing rules."""
    if cycle.opened_at is None:
        raise AssessmentError("Kỳ tự đánh giá chưa mở: chưa có phần nào để nhắc.")
    if frozen_version(session, cycle) is not None:
        raise AssessmentError("Hội đồng đã kết thúc thẩm định: không còn gì để nhắc.")
    now = utcnow()
    today = today or now.astimezone(VIETNAM).date()
    stage = MANUAL if manual else stage_on(cycle, today)
    outcome = Outcome()
    if stage is None:
        return outcome
    renderer = Renderer(_wording())
    round_ = cycle.round
    parts = session.scalars(select(Part).where(Part.cycle_id == cycle.id, Part.status != "submitted")
                            .order_by(Part.id)).all()
    for part in parts:
        earlier = select(Reminder.id).where(Reminder.part_id == part.id, Reminder.stage == stage)
        if manual:
            earlier = earlier.where(Reminder.created_at > now - MANUAL_GAP)
        if session.scalars(earlier.limit(1)).first() is not None:
            outcome.skip("recent" if manual else "already", part.agency.name)
            continue
        recipients = _focal_points(session, part)
        if not recipients:
            outcome.skip("no_focal_point", part.agency.name)
            continue
        link = f"{context.base_url}/admin/assessment/rounds/{round_.id}/agencies/{part.agency_id}"
        for user, address in recipients:
            rendered = renderer.render({
                "full_name": user.full_name, "agency": part.agency.name, "province": round_.province.name,
                "year": round_.year, "round_title": round_.title, "due_on": cycle.due_on.strftime("%d/%m/%Y"),
                "is_late": today > cycle.due_on, "is_returned": part.status == "returned",
                "return_comment": part.return_comment, "link": link})
            message_id = new_message_id(context.sender)
            # No respondent: the outbox's personal-link and "already submitted" rules do not apply to staff.
            message = OutboxMessage(
                round_id=round_.id, respondent_id=None, kind=REMINDER, message_id=message_id,
                sender=context.sender, recipient=address, subject=rendered.subject,
                body=build_message(sender=context.sender, recipient=address, message_id=message_id,
                                   rendered=rendered),
                created_by_id=actor.id if actor else None, next_attempt_at=now, created_at=now)
            session.add(message)
            session.flush()
            session.add(Reminder(cycle_id=cycle.id, part_id=part.id, stage=stage, user_id=user.id,
                                 recipient=address, outbox_message_id=message.id, created_at=now))
            outcome.queued += 1
    session.flush()
    record(session, "assessment.remind", target=stage, round_id=round_.id, province_id=round_.province_id,
           actor=actor, details={"queued": outcome.queued, "skipped": outcome.skipped})
    return outcome


def history(session: Session, cycle: AssessmentCycle) -> dict[int, list[Reminder]]:
    """Reminders per part, newest first, for the overview page."""
    out: dict[int, list[Reminder]] = {}
    for reminder in session.scalars(select(Reminder).where(Reminder.cycle_id == cycle.id)
                                    .order_by(Reminder.created_at.desc(), Reminder.id.desc())):
        out.setdefault(reminder.part_id, []).append(reminder)
    return out
