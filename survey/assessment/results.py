"""After the Ministry publishes: its official points per sub-criterion, and where points were lost.

The import is strict like the platform's other uploads: the file is read through the bounded
reader, every problem is listed by row in Vietnamese, and nothing is written unless the whole
file is valid; a new file replaces the cycle's set. The comparison walks each self-assessed
sub-criterion from its maximum to the self-assessment (what the department did not claim),
to the provincial appraisal (what the council took off) and to the Ministry's result (what
the Ministry took off), then adds those up per field and per responsible agency, beside the
province's result of the previous year.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.accounts.services import record
from survey.assessment.models import AssessmentCycle, FrozenVersion, OfficialResult
from survey.assessment.services import AssessmentError, Context, frozen_version, previous_cycle
from survey.spreadsheets import Limits, SpreadsheetRefused, excerpt, read_sheet

# The Ministry's table has one row per sub-criterion (88): a small file is all it can be.
LIMITS = Limits(file_bytes=2 * 1024 * 1024, rows=2_000, columns=40, cell_chars=1_000)
HEADER_SEARCH_ROWS = 15  # the Ministry's sheets carry title lines above the header


class ImportRefused(AssessmentError):
    """Every problem of the file at once; nothing was written."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


def _plain(text: object) -> str:
    """Lower case, without diacritics or extra spaces: "Mã tiêu chí" and "MA TIEU CHI" are one header."""
    decomposed = unicodedata.normalize("NFD", str(text or "").replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().split())


def _is_code_header(cell: object) -> bool:
    return _plain(cell).startswith("ma")


def _is_points_header(cell: object) -> bool:
    text = _plain(cell)
    # "Điểm tối đa" is the maximum, printed beside the result in the Ministry's table.
    return text.startswith("diem") and "toi da" not in text


def _columns(rows: list[tuple[int, list]]) -> tuple[int, int, int]:
    """(header row index in ``rows``, code column, points column)."""
    for index, (_number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        code = next((i for i, c in enumerate(cells) if _is_code_header(c)), None)
        points = next((i for i, c in enumerate(cells) if _is_points_header(c)), None)
        if code is not None and points is not None:
            return index, code, points
    raise ImportRefused(['Không tìm thấy dòng tiêu đề có cột “Mã tiêu chí” và cột “Điểm” (điểm Bộ Nội vụ công bố) '
                         f'trong {HEADER_SEARCH_ROWS} dòng đầu của tệp.'])


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # the Vietnamese decimal comma
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse(ctx: Context, filename: str, data: bytes) -> dict[str, float]:
    """The file's points per sub-criterion code, or ImportRefused listing every problem."""
    try:
        sheet = read_sheet(data, filename, limits=LIMITS)
    except SpreadsheetRefused as refused:
        raise ImportRefused([str(refused)]) from None
    header, code_col, points_col = _columns(sheet.rows)
    known = {s.code: s for s in ctx.structure.subcriteria}
    problems: list[str] = []
    seen: dict[str, int] = {}
    points: dict[str, float] = {}
    for number, cells in sheet.rows[header + 1:]:
        raw_code = cells[code_col] if code_col < len(cells) else None
        raw_points = cells[points_col] if points_col < len(cells) else None
        code = "" if raw_code is None else str(raw_code).strip()
        if not code and (raw_points is None or str(raw_points).strip() == ""):
            continue
        where = f"Dòng {number}"
        if not code:
            problems.append(f"{where}: thiếu mã tiêu chí thành phần.")
            continue
        sub = known.get(code)
        if sub is None:
            problems.append(f"{where}: mã “{excerpt(code)}” không có trong bộ tiêu chí "
                            f"{ctx.structure.key} {ctx.structure.version}.")
            continue
        if code in seen:
            problems.append(f"{where}: mã {code} đã có ở dòng {seen[code]}.")
            continue
        seen[code] = number
        if raw_points is None or str(raw_points).strip() == "":
            problems.append(f"{where} (mã {code}): thiếu điểm.")
            continue
        value = _number(raw_points)
        if value is None:
            problems.append(f"{where} (mã {code}): điểm “{excerpt(raw_points)}” không phải là số.")
        elif value < 0:
            problems.append(f"{where} (mã {code}): điểm {value:g} là số âm.")
        elif value > sub.max_points + 1e-9:
            problems.append(f"{where} (mã {code}): điểm {value:g} vượt quá điểm tối đa {sub.max_points:g}.")
        else:
            points[code] = round(value, 2)
    if not problems and not points:
        problems.append("Tệp không có dòng điểm nào dưới dòng tiêu đề.")
    if problems:
        raise ImportRefused(problems)
    return points


def import_official(session: Session, ctx: Context, user: User, filename: str, data: bytes) -> int:
    """Replace the cycle's official results with a valid file; nothing is written on any problem."""
    if frozen_version(session, ctx.cycle) is None:
        raise ImportRefused(["Chỉ nhập kết quả của Bộ Nội vụ sau khi Hội đồng thẩm định đã chốt điểm: "
                             "kết quả được so sánh với phiên bản đã chốt."])
    name = PurePath((filename or "").replace("\\", "/")).name[:255]
    points = parse(ctx, name, data)
    session.execute(delete(OfficialResult).where(OfficialResult.cycle_id == ctx.cycle.id))
    session.add_all(OfficialResult(cycle_id=ctx.cycle.id, subcriterion=code, points=value, source_filename=name,
                                   imported_by=user.email) for code, value in sorted(points.items()))
    session.flush()
    record(session, "assessment.official_import", target=name, round_id=ctx.cycle.round_id,
           details={"rows": len(points)})
    return len(points)


def official_points(session: Session, cycle: AssessmentCycle) -> dict[str, float]:
    return dict(session.execute(select(OfficialResult.subcriterion, OfficialResult.points)
                                .where(OfficialResult.cycle_id == cycle.id)).all())


def official_source(session: Session, cycle: AssessmentCycle) -> OfficialResult | None:
    return session.scalars(select(OfficialResult).where(OfficialResult.cycle_id == cycle.id).limit(1)).first()


# --- where points were lost ------------------------------------------------------------------------------


@dataclass
class Losses:
    """Points along the path maximum → self-assessed → appraised → Ministry, for a set of sub-criteria."""

    label: str
    max_points: float = 0.0
    self_points: float = 0.0
    appraised: float = 0.0
    official: float | None = None
    last_year: float | None = None
    codes: list[str] = field(default_factory=list)

    def add(self, row: dict, official: float | None, last_year: float | None) -> None:
        self.codes.append(row["code"])
        self.max_points += row["max_points"]
        self.self_points += row["self_points"] or 0.0
        self.appraised += row["appraised"] or 0.0
        if official is not None:
            self.official = (self.official or 0.0) + official
        if last_year is not None:
            self.last_year = (self.last_year or 0.0) + last_year

    @property
    def not_claimed(self) -> float:
        return round(self.max_points - self.self_points, 2)

    @property
    def cut_by_council(self) -> float:
        return round(self.self_points - self.appraised, 2)

    @property
    def cut_by_ministry(self) -> float | None:
        return None if self.official is None else round(self.appraised - self.official, 2)

    @property
    def change(self) -> float | None:
        """This year's result (the Ministry's, else the appraisal) against last year's."""
        if self.last_year is None:
            return None
        current = self.official if self.official is not None else self.appraised
        return round(current - self.last_year, 2)


def previous_results(session: Session, cycle: AssessmentCycle) -> dict[str, float]:
    """Last year's points per sub-criterion: the Ministry's if imported, else the frozen appraisal."""
    earlier = previous_cycle(session, cycle)
    if earlier is None:
        return {}
    official = official_points(session, earlier)
    frozen = frozen_version(session, earlier)
    appraised = {r["code"]: r["appraised"] for r in frozen.rows if r["appraised"] is not None} if frozen else {}
    return {**appraised, **official}


@dataclass
class Comparison:
    lines: list[dict]
    by_field: list[Losses]
    by_agency: list[Losses]
    total: Losses
    has_official: bool


def compare(session: Session, ctx: Context, frozen: FrozenVersion) -> Comparison:
    """Self-assessed sub-criteria of the frozen version beside the Ministry's result and last year."""
    official = official_points(session, ctx.cycle)
    previous = previous_results(session, ctx.cycle)
    titles = {f.number: f.title for f in ctx.structure.fields}
    fields: dict[int, Losses] = {}
    agencies: dict[str, Losses] = {}
    total = Losses("Tổng phần tự đánh giá")
    lines = []
    for row in frozen.rows:
        if row["survey_scored"]:
            continue
        mine, before = official.get(row["code"]), previous.get(row["code"])
        for group in (fields.setdefault(row["field"], Losses(f"{row['field']}. {titles.get(row['field'], '')}")),
                      agencies.setdefault(row["agency"] or "chưa phân công", Losses(row["agency"] or "chưa phân công")),
                      total):
            group.add(row, mine, before)
        line = Losses(row["code"])
        line.add(row, mine, before)
        lines.append({"row": row, "losses": line})
    return Comparison(lines, [fields[k] for k in sorted(fields)], sorted(agencies.values(), key=lambda a: a.label),
                      total, bool(official))
