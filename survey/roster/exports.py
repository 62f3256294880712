"""The consolidated list in the Ministry's layout: one .xlsx sheet per group, or one CSV."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.services import record
from survey.rounds.models import Agency, Round, RoundGroup
from survey.roster.models import Respondent
from survey.roster.normalise import fold
from survey.spreadsheets import SheetSpec, write_csv, write_xlsx

EXPORT_HEADER = ["STT", "Họ và tên", "Chức vụ", "Cơ quan/đơn vị", "Nhóm đối tượng", "Số điện thoại", "Email"]
COLUMN_WIDTHS = [6, 28, 36, 36, 32, 14, 30]
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}


# Within an agency the Ministry's lists run from the head down: director, deputies, heads of
# division, their deputies, then everyone else (delegates, officers).
_RANKS = [
    re.compile(r"^(giam doc|chu tich|chanh van phong|truong ban|bi thu|tong giam doc)\b"),
    re.compile(r"^pho (giam doc|chu tich|chanh van phong|truong ban|bi thu)\b"),
    re.compile(r"^(truong|chanh|giam doc)\b"),
    re.compile(r"^pho\b"),
]


def position_rank(position: str | None) -> int:
    folded = fold(position or "")
    return next((rank for rank, pattern in enumerate(_RANKS) if pattern.match(folded)), len(_RANKS))


def export_rows(session: Session, round_: Round, agency_id: int | None = None) -> list[tuple[RoundGroup, list[list]]]:
    """The consolidated list, grouped by respondent group, in the Ministry's column order.

    Each group's rows run agency by agency (alphabetically, people of no agency last), and within
    an agency by position from the head down.
    """
    query = (select(Respondent, Agency.name).outerjoin(Agency, Respondent.agency_id == Agency.id)
             .where(Respondent.round_id == round_.id, Respondent.removed_at.is_(None)))
    if agency_id is not None:
        query = query.where(Respondent.agency_id == agency_id)
    people = sorted(session.execute(query), key=lambda found: (
        found[1] is None, fold(found[1] or ""), position_rank(found[0].position), fold(found[0].position or ""),
        fold(found[0].full_name), found[0].id))
    by_group: dict[int, list[list]] = {g.id: [] for g in round_.groups}
    labels = {g.id: g.label for g in round_.groups}
    for person, agency_name in people:
        rows = by_group[person.group_id]
        rows.append([len(rows) + 1, person.full_name, person.position or "", agency_name or "",
                     labels[person.group_id], person.phone or "", person.email or ""])
    return [(g, by_group[g.id]) for g in round_.groups]


def ministry_workbook(round_: Round, grouped: list[tuple[RoundGroup, list[list]]]) -> bytes:
    return write_xlsx(
        SheetSpec(group.label, header=EXPORT_HEADER, rows=rows, widths=COLUMN_WIDTHS,
                  title_rows=[[f"DANH SÁCH ĐỐI TƯỢNG KHẢO SÁT — {group.label.upper()}"],
                              [f"{round_.province.name}, năm {round_.year}"], []])
        for group, rows in grouped
    )


def ministry_csv(grouped: list[tuple[RoundGroup, list[list]]]) -> bytes:
    numbered = (row for _group, rows in grouped for row in rows)
    return write_csv(EXPORT_HEADER, ([number, *row[1:]] for number, row in enumerate(numbered, start=1)))


def export_roster(session: Session, round_: Round, kind: str) -> tuple[bytes, int]:
    """The round's list as ``kind`` ("xlsx" or "csv") and how many people it holds; audited."""
    if kind not in FORMATS:
        raise ValueError(f"unknown export format {kind!r}")
    grouped = export_rows(session, round_)
    count = sum(len(rows) for _, rows in grouped)
    body = ministry_workbook(round_, grouped) if kind == "xlsx" else ministry_csv(grouped)
    record(session, "roster.export", target=round_.title, round_id=round_.id, province_id=round_.province_id,
           details={"format": kind, "rows": count})
    return body, count
