"""A round's lifecycle: create, edit, open, close; its groups, milestones and quotas.

Each action records its audit entry here, so the web page and the CLI log it the same way.
Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from questionnaires import Catalog, Questionnaire
from survey.accounts.services import record
from survey.rounds.datafiles import default_plan
from survey.rounds.models import Agency, Province, Round, RoundGroup, RoundMilestone, RoundQuota
from survey.timeutil import as_utc, utcnow


class RoundError(ValueError):
    pass


@dataclass(frozen=True)
class GroupBinding:
    questionnaire_key: str
    questionnaire_version: str
    code: str | None = None  # defaults to the questionnaire's group code
    label: str | None = None


def get_or_create_province(session: Session, code: str, name: str) -> Province:
    province = session.scalar(select(Province).where(Province.code == code))
    if province is None:
        province = Province(code=code, name=name)
        session.add(province)
        session.flush()
    return province


def create_round(
    session: Session,
    catalog: Catalog,
    *,
    province: Province,
    year: int,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    bindings: list[GroupBinding],
    ministry_deadline: date | None = None,
) -> Round:
    """A scheduled round with the default milestone plan; ``ministry_deadline`` defaults to the plan's."""
    if closes_at <= opens_at:
        raise RoundError("Thời điểm đóng phải sau thời điểm mở.")
    if session.scalar(select(Round.id).where(Round.province_id == province.id, Round.year == year,
                                             Round.title == title)) is not None:
        raise RoundError("Đã có đợt khảo sát cùng năm và cùng tên.")
    if ministry_deadline is None:
        ministry_deadline = date(year, *default_plan().ministry_deadline)
    round_ = Round(province_id=province.id, year=year, title=title, opens_at=opens_at, closes_at=closes_at,
                   ministry_deadline=ministry_deadline, milestones=default_milestones(year))
    session.add(round_)
    seen: set[str] = set()
    for position, binding in enumerate(bindings):
        try:
            questionnaire = catalog.get(binding.questionnaire_key, binding.questionnaire_version)
        except KeyError:
            raise RoundError(
                f"Không có phiếu {binding.questionnaire_key} phiên bản {binding.questionnaire_version}."
            ) from None
        code = binding.code or questionnaire.group_code
        if code in seen:
            raise RoundError(f"Nhóm đối tượng “{code}” bị khai báo hai lần.")
        seen.add(code)
        round_.groups.append(
            RoundGroup(
                code=code,
                label=binding.label or questionnaire.group_label,
                position=position,
                questionnaire_key=questionnaire.key,
                questionnaire_version=questionnaire.version,
                questionnaire_hash=questionnaire.content_hash,
            )
        )
    session.flush()
    record(session, "round.create", target=round_.title, round_id=round_.id, province_id=province.id,
           details={"groups": [g.code for g in round_.groups]})
    return round_


# --- round settings -------------------------------------------------------------------------

def default_milestones(year: int) -> list[RoundMilestone]:
    """The milestones of questionnaires/calendar/default-plan.yaml for a round of ``year``."""
    milestones = []
    for position, planned in enumerate(default_plan().milestones):
        starts_on, due_on = planned.dates(year)
        milestones.append(RoundMilestone(position=position, label=planned.label, starts_on=starts_on, due_on=due_on))
    return milestones


def bindings_locked(session: Session, round_: Round, now: datetime | None = None) -> bool:
    """After the round opened, or once any personal link exists, its questionnaires are fixed."""
    from survey.respond.models import AccessLink
    from survey.roster.models import Respondent

    if round_.state(now) != "scheduled":
        return True
    return session.scalar(
        select(exists().where(AccessLink.respondent_id == Respondent.id, Respondent.round_id == round_.id))
    )


def _in_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29/02 in a year without it
        return day.replace(year=day.year + years, day=28)


def _move_milestones(round_: Round, old_year: int, old_deadline: date | None,
                     new_deadline: date | None) -> None:
    """Move the milestones not edited by hand with the round: by years, then by the deadline's shift."""
    years = round_.year - old_year
    shift = (new_deadline - _in_year(old_deadline, years)) if (old_deadline and new_deadline) else timedelta(0)
    for milestone in round_.milestones:
        if milestone.is_fixed or milestone.done_on is not None:
            continue
        milestone.due_on = _in_year(milestone.due_on, years) + shift
        if milestone.starts_on is not None:
            milestone.starts_on = _in_year(milestone.starts_on, years) + shift


def update_round(session: Session, round_: Round, *, title: str, year: int, opens_at: datetime,
                 closes_at: datetime, ministry_deadline: date | None) -> list[str]:
    """Edit the settings; returns the names of what changed (for the audit log).

    A new year moves the deadline with it when the deadline was left as it was; the milestones
    not edited by hand (and not done) follow the year and the deadline.
    """
    if ministry_deadline is not None and ministry_deadline == round_.ministry_deadline and year != round_.year:
        ministry_deadline = _in_year(ministry_deadline, year - round_.year)
    if closes_at <= opens_at:
        raise RoundError("Thời điểm đóng phải sau thời điểm mở.")
    if not title.strip():
        raise RoundError("Vui lòng nhập tên đợt khảo sát.")
    clash = session.scalar(select(Round.id).where(
        Round.province_id == round_.province_id, Round.year == year, Round.title == title.strip(),
        Round.id != round_.id))
    if clash is not None:
        raise RoundError("Đã có đợt khảo sát cùng năm và cùng tên.")
    new = {"title": title.strip(), "year": year, "opens_at": opens_at, "closes_at": closes_at,
           "ministry_deadline": ministry_deadline}
    changed = []
    old_year, old_deadline = round_.year, round_.ministry_deadline
    for name, value in new.items():
        old = getattr(round_, name)
        if isinstance(old, datetime):
            old = as_utc(old)
        if old != value:
            setattr(round_, name, value)
            changed.append(name)
    if "year" in changed or "ministry_deadline" in changed:
        _move_milestones(round_, old_year, old_deadline, ministry_deadline)
    session.flush()
    _audit(session, round_, "round.update", details={"changed": changed})
    return changed


def _audit(session: Session, round_: Round, action: str, target: str | None = None,
           details: dict | None = None) -> None:
    record(session, action, target=target or round_.title, round_id=round_.id, province_id=round_.province_id,
           details=details)


def next_milestone(round_: Round, today: date) -> RoundMilestone | None:
    """The first milestone not yet done, by due date: what the round page says comes next."""
    waiting = [m for m in round_.milestones if m.done_on is None]
    return min(waiting, key=lambda m: (m.due_on, m.position)) if waiting else None


@dataclass(frozen=True)
class Progress:
    listed: int
    submitted: int


def progress(session: Session, round_: Round) -> Progress:
    """How many people the round lists and how many have submitted: the round page's two numbers."""
    from survey.respond.models import Submission  # the round is below the roster and the answers
    from survey.roster.models import Respondent

    listed = session.scalar(select(func.count()).select_from(Respondent).where(
        Respondent.round_id == round_.id, Respondent.removed_at.is_(None)))
    submitted = session.scalar(select(func.count()).select_from(Submission).where(Submission.round_id == round_.id))
    return Progress(listed or 0, submitted or 0)


def open_round(session: Session, round_: Round, now: datetime | None = None) -> None:
    now = now or utcnow()
    if round_.state(now) != "scheduled":
        raise RoundError("Đợt khảo sát đã mở hoặc đã đóng.")
    round_.opens_at = now
    session.flush()
    _audit(session, round_, "round.open")


def close_round(session: Session, round_: Round, now: datetime | None = None) -> None:
    now = now or utcnow()
    if round_.state(now) == "closed":
        raise RoundError("Đợt khảo sát đã đóng.")
    if round_.state(now) == "scheduled":
        raise RoundError("Đợt khảo sát chưa mở; hãy sửa thời gian nếu muốn hủy.")
    round_.closes_at = now
    session.flush()
    _audit(session, round_, "round.close")


def previous_version(catalog: Catalog, key: str, version: str) -> Questionnaire | None:
    """The version of the same questionnaire published before ``version`` (last year's), if any."""
    earlier = [q for q in catalog.versions(key) if q.version_tuple < catalog.get(key, version).version_tuple]
    return earlier[-1] if earlier else None


def bind_group(session: Session, catalog: Catalog, round_: Round, binding: GroupBinding,
               now: datetime | None = None) -> RoundGroup:
    """Add a group to a round, or move an existing group to another questionnaire version."""
    if bindings_locked(session, round_, now):
        raise RoundError("Đợt khảo sát đã mở (hoặc đã cấp đường dẫn): không thể thay đổi phiếu của các nhóm.")
    try:
        questionnaire = catalog.get(binding.questionnaire_key, binding.questionnaire_version)
    except KeyError:
        raise RoundError(
            f"Không có phiếu {binding.questionnaire_key} phiên bản {binding.questionnaire_version}.") from None
    code = binding.code or questionnaire.group_code
    group = next((g for g in round_.groups if g.code == code), None)
    if group is None:
        group = RoundGroup(code=code, position=len(round_.groups), label="",
                           questionnaire_key="", questionnaire_version="", questionnaire_hash="")
        round_.groups.append(group)
    group.label = binding.label or questionnaire.group_label
    group.questionnaire_key = questionnaire.key
    group.questionnaire_version = questionnaire.version
    group.questionnaire_hash = questionnaire.content_hash
    session.flush()
    _audit(session, round_, "round.bind_group", target=group.code,
           details={"questionnaire": questionnaire.key, "version": questionnaire.version})
    return group


def remove_group(session: Session, round_: Round, group: RoundGroup, now: datetime | None = None) -> None:
    from survey.roster.models import Respondent

    if bindings_locked(session, round_, now):
        raise RoundError("Đợt khảo sát đã mở (hoặc đã cấp đường dẫn): không thể thay đổi các nhóm.")
    if session.scalar(select(exists().where(Respondent.group_id == group.id))):
        raise RoundError(f"Nhóm “{group.label}” đã có người trong danh sách; hãy chuyển hoặc xóa họ trước.")
    round_.groups.remove(group)
    session.flush()
    _audit(session, round_, "round.remove_group", target=group.code)


def set_quotas(session: Session, round_: Round, expected: dict[tuple[int, int], int]) -> int:
    """Expected respondents per (agency id, group id); 0 removes a quota. All or none; returns the cells."""
    agencies = {a.id: a for a in session.scalars(select(Agency).where(Agency.province_id == round_.province_id))}
    groups = {g.id: g for g in round_.groups}
    for (agency_id, group_id), value in expected.items():
        if agency_id not in agencies or group_id not in groups:
            raise RoundError("Cơ quan hoặc nhóm không thuộc đợt khảo sát này.")
        if value < 0:
            raise RoundError(f"{agencies[agency_id].name} / {groups[group_id].label}: "
                             "số lượng dự kiến không được âm.")
    existing = {(q.agency_id, q.group_id): q
                for q in session.scalars(select(RoundQuota).where(RoundQuota.round_id == round_.id))}
    for (agency_id, group_id), value in expected.items():
        quota = existing.get((agency_id, group_id))
        if value == 0:
            if quota is not None:
                session.delete(quota)
        elif quota is None:
            session.add(RoundQuota(round_id=round_.id, agency_id=agency_id, group_id=group_id, expected=value))
        else:
            quota.expected = value
    session.flush()
    _audit(session, round_, "round.quotas", details={"cells": len(expected)})
    return len(expected)


def save_milestone(session: Session, round_: Round, milestone: RoundMilestone | None, *, label: str,
                   starts_on: date | None, due_on: date, done_on: date | None) -> RoundMilestone:
    """Edit a milestone of the round, or add one (``milestone`` None); checked before anything changes."""
    if not label.strip():
        raise RoundError("Vui lòng nhập tên mốc thời gian.")
    if starts_on is not None and starts_on > due_on:
        raise RoundError("Ngày bắt đầu phải trước hạn hoàn thành.")
    if milestone is None:
        milestone = RoundMilestone(round_id=round_.id, position=len(round_.milestones), label="", due_on=due_on,
                                   is_fixed=True)
        round_.milestones.append(milestone)
    elif milestone.round_id != round_.id:
        raise RoundError("Mốc thời gian không thuộc đợt khảo sát này.")
    if (starts_on, due_on) != (milestone.starts_on, milestone.due_on):
        milestone.is_fixed = True  # dates set by hand no longer follow the round
    milestone.label, milestone.starts_on, milestone.due_on, milestone.done_on = label.strip(), starts_on, due_on, done_on
    session.flush()
    _audit(session, round_, "round.milestone", target=milestone.label,
           details={"due_on": due_on.isoformat(), "done_on": str(done_on or "")})
    return milestone
