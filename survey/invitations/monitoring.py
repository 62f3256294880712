"""Response monitoring: who was invited, reached, opened, started and submitted, never what anyone answered.

Counts are computed in the database (one GROUP BY over the roster with
EXISTS tests per stage); only the call lists carry names, and only contact
details and delivery state, never an answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from survey.invitations.models import CANCELLED, FAILED, SENT, STATUS_LABELS, OutboxMessage
from survey.respond.models import AccessLink, Draft, Submission
from survey.rounds.models import Agency, Round
from survey.roster.models import Respondent
from survey.timeutil import VIETNAM, as_utc, utcnow

STAGES = ("invited", "delivered", "failed", "opened", "started", "submitted")
STAGE_LABELS = {"expected": "Theo danh sách", "invited": "Đã mời", "delivered": "Đã gửi tới",
                "failed": "Gửi lỗi", "opened": "Đã mở phiếu", "started": "Đã bắt đầu", "submitted": "Đã nộp"}
NO_AGENCY = "(không thuộc cơ quan, đơn vị)"


@dataclass
class Tally:
    label: str
    expected: int = 0
    counts: Counter = field(default_factory=Counter)

    def add(self, expected: int, counts: dict) -> None:
        self.expected += expected
        self.counts.update(counts)

    @property
    def rate(self) -> float | None:
        """Submitted over expected, in percent."""
        return 100.0 * self.counts["submitted"] / self.expected if self.expected else None


def stage_tests(round_: Round) -> dict:
    """Stage -> an EXISTS condition on ``Respondent``: true when that person has reached the stage.

    The monitoring counts sum them; the roster list shows them as columns of its own query.
    """
    later = aliased(OutboxMessage)
    has = lambda *conditions: exists().where(OutboxMessage.respondent_id == Respondent.id, *conditions)  # noqa: E731
    submitted = exists().where(Submission.respondent_id == Respondent.id)
    return {
        "invited": has(OutboxMessage.status != CANCELLED),
        "delivered": has(OutboxMessage.status == SENT),
        # Failed means the latest message failed: a corrected, re-sent address is no longer a failure.
        "failed": has(OutboxMessage.status == FAILED,
                      ~exists().where(later.respondent_id == OutboxMessage.respondent_id, later.id > OutboxMessage.id)),
        # Only openings inside the window count: a look at the "not open yet" page before the
        # opening (or after the close) says nothing about whether the person will answer.
        "opened": exists().where(AccessLink.respondent_id == Respondent.id,
                                 AccessLink.first_opened_at >= round_.opens_at,
                                 AccessLink.first_opened_at < round_.closes_at),
        # A draft is deleted when the response is submitted, so a submission also counts as started.
        "started": or_(exists().where(Draft.respondent_id == Respondent.id), submitted),
        "submitted": submitted,
    }


@dataclass
class Overview:
    total: Tally
    by_group: list[Tally]
    by_agency: list[Tally]


def overview(session: Session, round_: Round, *, agency_id: int | None = None) -> Overview:
    tests = stage_tests(round_)
    columns = [func.sum(case((test, 1), else_=0)).label(stage) for stage, test in tests.items()]
    query = (select(Respondent.group_id, Respondent.agency_id, func.count().label("expected"), *columns)
             .where(Respondent.round_id == round_.id).group_by(Respondent.group_id, Respondent.agency_id))
    if agency_id is not None:
        query = query.where(Respondent.agency_id == agency_id)
    rows = session.execute(query).all()
    groups = {g.id: Tally(g.label) for g in round_.groups}
    agency_names = dict(session.execute(select(Agency.id, Agency.name).where(
        Agency.id.in_({r.agency_id for r in rows if r.agency_id is not None}))).all())
    agencies: dict[int | None, Tally] = {}
    total = Tally("Tổng cộng")
    for row in rows:
        counts = {stage: int(getattr(row, stage) or 0) for stage in STAGES}
        total.add(row.expected, counts)
        groups[row.group_id].add(row.expected, counts)
        agencies.setdefault(row.agency_id, Tally(agency_names.get(row.agency_id, NO_AGENCY))).add(row.expected, counts)
    by_agency = sorted(agencies.values(), key=lambda t: (t.label == NO_AGENCY, t.label))
    return Overview(total, [t for t in groups.values() if t.expected or agency_id is None], by_agency)


@dataclass(frozen=True)
class Day:
    day: date
    count: int
    cumulative: int


def submissions_per_day(session: Session, round_: Round, *, agency_id: int | None = None) -> list[Day]:
    """Daily submissions (Vietnam dates) from the opening to today or the close, zeros included."""
    query = select(Submission.submitted_at).where(Submission.round_id == round_.id)
    if agency_id is not None:
        query = query.join(Respondent, Respondent.id == Submission.respondent_id).where(Respondent.agency_id == agency_id)
    counts = Counter(as_utc(moment).astimezone(VIETNAM).date() for moment in session.scalars(query))
    first = as_utc(round_.opens_at).astimezone(VIETNAM).date()
    last = min(as_utc(round_.closes_at), utcnow()).astimezone(VIETNAM).date()
    if counts:
        first, last = min(first, min(counts)), max(last, max(counts))
    days, running, day = [], 0, first
    while day <= last:
        running += counts.get(day, 0)
        days.append(Day(day, counts.get(day, 0), running))
        day += timedelta(days=1)
    return days


def chart(days: list[Day], *, width: int = 700, height: int = 180) -> dict:
    """Bar geometry for the inline SVG chart (no script: the pages' CSP allows none inline)."""
    if not days:
        return {"bars": [], "width": width, "height": height, "top": 0}
    top = max(1, max(d.count for d in days))
    step = width / len(days)
    bars = []
    for index, d in enumerate(days):
        h = round((height - 20) * d.count / top, 1)
        bars.append({"x": round(index * step + 1, 1), "y": round(height - 20 - h, 1), "w": max(1.0, round(step - 2, 1)),
                     "h": h, "label": d.day.strftime("%d/%m"), "count": d.count, "cumulative": d.cumulative})
    return {"bars": bars, "width": width, "height": height, "top": top,
            "label_every": max(1, len(days) // 10)}


@dataclass(frozen=True)
class Person:
    id: int
    full_name: str
    position: str | None
    group: str
    agency: str
    phone: str | None
    email: str | None
    last_status: str | None
    last_error: str | None
    opened: bool
    started: bool

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.last_status] if self.last_status else "Chưa mời"


def non_respondents(session: Session, round_: Round, *, agency_id: int | None = None, group_id: int | None = None,
                    only_failed: bool = False, limit: int | None = None) -> list[Person]:
    """People who have not submitted: the call list (with phone numbers) and the failed addresses."""
    tests = stage_tests(round_)
    latest = (select(OutboxMessage.respondent_id, func.max(OutboxMessage.id).label("last_id"))
              .where(OutboxMessage.round_id == round_.id).group_by(OutboxMessage.respondent_id).subquery())
    last = aliased(OutboxMessage)
    query = (
        select(Respondent, Agency.name, last.status, last.last_error, tests["opened"], tests["started"])
        .outerjoin(Agency, Agency.id == Respondent.agency_id)
        .outerjoin(latest, latest.c.respondent_id == Respondent.id)
        .outerjoin(last, last.id == latest.c.last_id)
        .where(Respondent.round_id == round_.id, ~tests["submitted"])
        .order_by(Agency.name, Respondent.group_id, Respondent.full_name, Respondent.id)
    )
    if agency_id is not None:
        query = query.where(Respondent.agency_id == agency_id)
    if group_id is not None:
        query = query.where(Respondent.group_id == group_id)
    if only_failed:
        query = query.where(last.status == FAILED)
    if limit is not None:
        query = query.limit(limit)
    groups = {g.id: g.label for g in round_.groups}
    return [Person(r.id, r.full_name, r.position, groups.get(r.group_id, ""), agency or "", r.phone, r.email,
                   status, error, bool(opened), bool(started))
            for r, agency, status, error, opened, started in session.execute(query)]


def count_non_respondents(session: Session, round_: Round, *, agency_id: int | None = None) -> int:
    query = select(func.count()).select_from(Respondent).where(
        Respondent.round_id == round_.id, ~exists().where(Submission.respondent_id == Respondent.id))
    if agency_id is not None:
        query = query.where(Respondent.agency_id == agency_id)
    return session.scalar(query)


def outbox_counts(session: Session, round_: Round) -> dict[tuple[str, str], int]:
    rows = session.execute(select(OutboxMessage.kind, OutboxMessage.status, func.count())
                           .where(OutboxMessage.round_id == round_.id)
                           .group_by(OutboxMessage.kind, OutboxMessage.status))
    return {(kind, status): n for kind, status, n in rows}


__all__ = ["overview", "submissions_per_day", "chart", "non_respondents", "outbox_counts"]
