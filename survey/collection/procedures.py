"""The province's list of administrative procedures, from a spreadsheet (mã thủ tục, tên, lĩnh vực, cơ quan).

The file is read by the one bounded reader of uploads (survey.spreadsheets.read_sheet:
xlsx read-only or CSV, with its size, row, column and cell limits); a file it cannot use, or
one without the two header columns, raises ``SpreadsheetRefused`` with a Vietnamese message.
Importing updates procedures by code and never deletes one: responses keep the id of the
procedure the citizen chose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.collection.models import Procedure
from survey.roster.normalise import clean_text, fold
from survey.spreadsheets import Limits, SpreadsheetRefused, read_sheet

HEADER_SEARCH_ROWS = 15
# A procedure's name is at most MAX_NAME characters: a much longer cell is refused with the file.
LIMITS = Limits(cell_chars=2_000)
_HEADERS = [  # folded header -> field; the more specific patterns first
    ("code", re.compile(r"^(ma( so)? (thu tuc|tthc)|ma|code)$")),
    ("field", re.compile(r"^(linh vuc|field)\b")),
    ("agency", re.compile(r"^(co quan|don vi|co quan (thuc hien|giai quyet)|agency)\b")),
    ("name", re.compile(r"^(ten( thu tuc| tthc)?( hanh chinh)?|thu tuc( hanh chinh)?|name)$")),
]
MAX_CODE = 64
MAX_NAME = 500


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    problems: list[str] = field(default_factory=list)


def _header(rows) -> tuple[int, dict[str, int]]:
    for index, (_number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping: dict[str, int] = {}
        for col, text in enumerate(cells):
            folded = fold(text) if text else ""
            for name, pattern in _HEADERS:
                if folded and name not in mapping and pattern.search(folded):
                    mapping[name] = col
                    break
        if "code" in mapping and "name" in mapping:
            return index, mapping
    raise SpreadsheetRefused("Không tìm thấy dòng tiêu đề có các cột “Mã thủ tục” và “Tên thủ tục” "
                        "(có thể thêm “Lĩnh vực” và “Cơ quan thực hiện”).")


def import_procedures(session: Session, province_id: int, data: bytes, filename: str) -> ImportResult:
    """Add or update the province's procedures from a file; raises SpreadsheetRefused for an unusable file.

    Rows with a problem are listed and skipped; the others are imported.
    """
    rows = read_sheet(data, filename, limits=LIMITS).rows
    start, mapping = _header(rows)
    existing = {p.code: p for p in session.scalars(select(Procedure).where(Procedure.province_id == province_id))}
    result, seen = ImportResult(), set()

    def cell(cells: list[str], name: str) -> str:
        col = mapping.get(name)
        return clean_text(cells[col]) if col is not None and col < len(cells) else ""

    for number, cells in rows[start + 1:]:
        code, name = cell(cells, "code"), cell(cells, "name")
        if not code and not name:
            continue
        if not code or not name:
            result.problems.append(f"Dòng {number}: thiếu mã hoặc tên thủ tục.")
            continue
        if len(code) > MAX_CODE or len(name) > MAX_NAME:
            result.problems.append(f"Dòng {number}: mã (tối đa {MAX_CODE} ký tự) hoặc tên (tối đa {MAX_NAME}) quá dài.")
            continue
        if code in seen:
            result.problems.append(f"Dòng {number}: mã thủ tục {code} bị lặp trong tệp.")
            continue
        seen.add(code)
        values = {"name": name, "field": cell(cells, "field")[:255], "agency_name": cell(cells, "agency")[:255]}
        procedure = existing.get(code)
        if procedure is None:
            session.add(Procedure(province_id=province_id, code=code, **values))
            result.added += 1
        elif any(getattr(procedure, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(procedure, key, value)
            result.updated += 1
    session.flush()
    return result
