"""Creating rounds and binding their groups to questionnaire versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from questionnaires import Catalog, Questionnaire
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


def get_or_create_agency(session: Session, province: Province, code: str, name: str, kind: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.province_id == province.id, Agency.code == code))
    if agency is None:
        agency = Agency(province_id=province.id, code=code, name=name, kind=kind)
        session.add(agency)
        session.flush()
    return agency


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
) -> Round:
    if closes_at <= opens_at:
        raise RoundError("Thời điểm đóng phải sau thời điểm mở.")
    if session.scalar(select(Round.id).where(Round.province_id == province.id, Round.year == year,
                                             Round.title == title)) is not None:
        raise RoundError("Đã có đợt khảo sát cùng năm và cùng tên.")
    round_ = Round(province_id=province.id, year=year, title=title, opens_at=opens_at, closes_at=closes_at,
                   ministry_deadline=date(year, 12, 10), milestones=default_milestones(year))
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
    return round_


# --- round settings (issue 3) -----------------------------------------------------------------

# The Lào Cai 2023 plan, as (label, (start month, day) or None, (due month, day), year offset).
DEFAULT_MILESTONES = [
    ("Gửi danh sách đối tượng khảo sát về Bộ Nội vụ", None, (12, 10), 0),
    ("Các cơ quan tự đánh giá, chấm điểm trên phần mềm", (12, 1), (12, 25), 0),
    ("Báo cáo tự đánh giá và tài liệu kiểm chứng gửi Sở Nội vụ", None, (1, 5), 1),
    ("Hội đồng thẩm định kết quả tự đánh giá", None, (1, 15), 1),
    ("Gửi báo cáo của tỉnh về Bộ Nội vụ", None, (1, 20), 1),
]


def default_milestones(year: int) -> list[RoundMilestone]:
    return [
        RoundMilestone(position=i, label=label,
                       starts_on=date(year + offset, *start) if start else None,
                       due_on=date(year + offset, *due))
        for i, (label, start, due, offset) in enumerate(DEFAULT_MILESTONES)
    ]


def bindings_locked(session: Session, round_: Round, now: datetime | None = None) -> bool:
    """After the round opened, or once any personal link exists, its questionnaires are fixed."""
    from survey.respond.models import AccessLink
    from survey.roster.models import Respondent

    if round_.state(now) != "scheduled":
        return True
    return session.scalar(
        select(exists().where(AccessLink.respondent_id == Respondent.id, Respondent.round_id == round_.id))
    )


def update_round(session: Session, round_: Round, *, title: str, year: int, opens_at: datetime,
                 closes_at: datetime, ministry_deadline: date | None) -> list[str]:
    """Edit the settings; returns the names of what changed (for the audit log)."""
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
    for name, value in new.items():
        old = getattr(round_, name)
        if isinstance(old, datetime):
            old = as_utc(old)
        if old != value:
            setattr(round_, name, value)
            changed.append(name)
    session.flush()
    return changed


def open_round(session: Session, round_: Round, now: datetime | None = None) -> None:
    now = now or utcnow()
    if round_.state(now) != "scheduled":
        raise RoundError("Đợt khảo sát đã mở hoặc đã đóng.")
    round_.opens_at = now
    session.flush()


def close_round(session: Session, round_: Round, now: datetime | None = None) -> None:
    now = now or utcnow()
    if round_.state(now) == "closed":
        raise RoundError("Đợt khảo sát đã đóng.")
    if round_.state(now) == "scheduled":
        raise RoundError("Đợt khảo sát chưa mở; hãy sửa thời gian nếu muốn hủy.")
    round_.closes_at = now
    session.flush()


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
    return group


def remove_group(session: Session, round_: Round, group: RoundGroup, now: datetime | None = None) -> None:
    from survey.roster.models import Respondent

    if bindings_locked(session, round_, now):
        raise RoundError("Đợt khảo sát đã mở (hoặc đã cấp đường dẫn): không thể thay đổi các nhóm.")
    if session.scalar(select(exists().where(Respondent.group_id == group.id))):
        raise RoundError(f"Nhóm “{group.label}” đã có người trong danh sách; hãy chuyển hoặc xóa họ trước.")
    round_.groups.remove(group)
    session.flush()


def set_quota(session: Session, round_: Round, agency: Agency, group: RoundGroup, expected: int) -> RoundQuota | None:
    """Expected respondents of an agency in a group; 0 removes the quota."""
    if expected < 0:
        raise RoundError("Số lượng dự kiến không được âm.")
    if agency.province_id != round_.province_id or group.round_id != round_.id:
        raise RoundError("Cơ quan hoặc nhóm không thuộc đợt khảo sát này.")
    quota = session.scalar(select(RoundQuota).where(
        RoundQuota.round_id == round_.id, RoundQuota.agency_id == agency.id, RoundQuota.group_id == group.id))
    if expected == 0:
        if quota is not None:
            session.delete(quota)
            session.flush()
        return None
    if quota is None:
        quota = RoundQuota(round_id=round_.id, agency_id=agency.id, group_id=group.id, expected=expected)
        session.add(quota)
    quota.expected = expected
    session.flush()
    return quota


def update_milestone(session: Session, milestone: RoundMilestone, *, label: str, starts_on: date | None,
                     due_on: date, done_on: date | None) -> None:
    if not label.strip():
        raise RoundError("Vui lòng nhập tên mốc thời gian.")
    if starts_on is not None and starts_on > due_on:
        raise RoundError("Ngày bắt đầu phải trước hạn hoàn thành.")
    milestone.label, milestone.starts_on, milestone.due_on, milestone.done_on = label.strip(), starts_on, due_on, done_on
    session.flush()


AGENCY_KINDS = {"department": "Sở, ban, ngành", "council": "Văn phòng HĐND", "district": "Cấp huyện",
                "commune": "Cấp xã", "other": "Khác"}


def import_agencies(session: Session, province: Province, rows: list[dict[str, str]]) -> tuple[int, int]:
    """Create or rename the province's agencies from rows with code, name, kind; returns (added, updated)."""
    added = updated = 0
    seen = set()
    existing = {a.code: a for a in session.scalars(select(Agency).where(Agency.province_id == province.id))}
    for number, row in enumerate(rows, start=2):
        code, name, kind = (row.get(k, "").strip() for k in ("code", "name", "kind"))
        if not code or not name:
            raise RoundError(f"Dòng {number}: thiếu mã hoặc tên cơ quan.")
        if kind not in AGENCY_KINDS:
            raise RoundError(f"Dòng {number}: loại cơ quan “{kind}” không hợp lệ ({', '.join(AGENCY_KINDS)}).")
        if code in seen:
            raise RoundError(f"Dòng {number}: mã cơ quan {code} lặp lại.")
        seen.add(code)
        agency = existing.get(code)
        if agency is None:
            session.add(Agency(province_id=province.id, code=code, name=name, kind=kind, is_active=True))
            added += 1
        elif (agency.name, agency.kind, agency.is_active) != (name, kind, True):
            agency.name, agency.kind, agency.is_active = name, kind, True
            updated += 1
    session.flush()
    return added, updated
