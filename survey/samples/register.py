"""Reading the dossier register: the portal's export of dossiers returned in a period.

Columns (found among the first 15 rows, with or without diacritics, in any
order): Mã hồ sơ, Mã thủ tục, Cơ quan, Ngày trả kết quả, Số điện thoại,
E-mail. Every row is checked and every problem is listed with its row and
column; one problem refuses the whole file, so a sample is never drawn from a
register that differs from the one the province holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from openpyxl.utils import get_column_letter

from survey.collection.services import normalise_dossier
from survey.roster.importing import AgencyRef
from survey.roster.normalise import InvalidValue, clean_text, fold, normalise_email, normalise_phone
from survey.spreadsheets import Limits, SpreadsheetRefused, excerpt, read_sheet
from survey.spreadsheets.reader import MB
from survey.timeutil import VIETNAM, utcnow

# A province returns some hundred thousand dossiers a year; a quarter's register fits well within.
LIMITS = Limits(file_bytes=20 * MB, rows=200_000, columns=40, cell_chars=1_000)
HEADER_SEARCH_ROWS = 15
MESSAGES_SHOWN = 200  # a file wrong on every row must not produce a page of 100,000 lines

COLUMNS = {  # field -> (label in messages, folded header pattern)
    "dossier": ("Mã hồ sơ", re.compile(r"^(ma|so)( so)? (ho so|hs)\b|^dossier")),
    "procedure": ("Mã thủ tục", re.compile(r"^(ma )?(thu tuc|tthc)\b|^procedure")),
    "agency": ("Cơ quan", re.compile(r"^(co quan|don vi)\b|^agency")),
    "returned_on": ("Ngày trả kết quả", re.compile(r"^ngay tra\b|^returned")),
    "phone": ("Số điện thoại", re.compile(r"^(so )?dien thoai\b|^sdt$|^phone")),
    "email": ("E-mail", re.compile(r"^e ?mail\b|^thu dien tu\b")),
}
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


class RegisterRefused(ValueError):
    """The register cannot be used; ``problems`` are Vietnamese lines naming rows and columns."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems[:3]))


@dataclass(frozen=True)
class ProcedureRef:
    id: int
    code: str


@dataclass(frozen=True)
class Dossier:
    """One checked row of the register."""

    row: int
    code: str  # normalised as at a collection point (survey.collection.services.normalise_dossier)
    procedure: ProcedureRef
    agency: AgencyRef
    returned_on: date
    phone: str  # "" or 0 + national number
    email: str  # "" or the normalised address

    @property
    def stratum(self) -> tuple[str, str]:
        return self.agency.code, self.procedure.code

    def digest_line(self) -> str:
        """What the register's digest covers: everything the draw depends on, no contact."""
        return f"{self.code}\t{self.procedure.code}\t{self.agency.code}\t{self.returned_on.isoformat()}"


@dataclass(frozen=True)
class Register:
    dossiers: list[Dossier]

    @property
    def period(self) -> tuple[date, date]:
        days = [d.returned_on for d in self.dossiers]
        return min(days), max(days)


def _header(rows) -> tuple[int, dict[str, int]]:
    best: tuple[int, dict[str, int]] | None = None
    for index, (_number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping: dict[str, int] = {}
        for col, value in enumerate(cells):
            folded = fold(value) if value is not None else ""
            for name, (_label, pattern) in COLUMNS.items():
                if folded and name not in mapping and pattern.search(folded):
                    mapping[name] = col
                    break
        if best is None or len(mapping) > len(best[1]):
            best = (index, mapping)
    index, mapping = best if best is not None else (0, {})
    missing = [label for name, (label, _) in COLUMNS.items() if name not in mapping]
    if len(mapping) < 2:
        raise RegisterRefused(["Không tìm thấy dòng tiêu đề của sổ hồ sơ trong 15 dòng đầu. Tệp cần các cột: "
                               + ", ".join(label for label, _ in COLUMNS.values()) + "."])
    if missing:
        raise RegisterRefused([f"Tệp thiếu cột: {', '.join(missing)} (dòng tiêu đề là dòng {rows[index][0]})."])
    return index, mapping


def parse_date(value: object, today: date) -> date:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = clean_text(value)
        if not text:
            raise InvalidValue("thiếu ngày trả kết quả.")
        try:
            if match := _DATE.match(text):
                day = date(int(match[3]), int(match[2]), int(match[1]))
            elif match := _ISO_DATE.match(text):
                day = date(int(match[1]), int(match[2]), int(match[3]))
            else:
                raise ValueError(text)
        except ValueError:
            raise InvalidValue(f"ngày “{excerpt(text)}” không hợp lệ (viết theo dạng ngày/tháng/năm, "
                               "ví dụ 15/11/2023).") from None
    if day > today:
        raise InvalidValue(f"ngày trả kết quả {day:%d/%m/%Y} ở tương lai.")
    if day < today - timedelta(days=3 * 366):
        raise InvalidValue(f"ngày trả kết quả {day:%d/%m/%Y} đã quá ba năm.")
    return day


def read_register(data: bytes, filename: str, *, procedures: dict[str, ProcedureRef],
                  agency: Callable[[str], AgencyRef | None], today: date | None = None) -> Register:
    """Every row checked against the province's ``procedures`` (by code) and ``agency`` (a resolver).

    Raises RegisterRefused with every problem found (at most MESSAGES_SHOWN
    lines, then how many more), or with the spreadsheet reader's refusal.
    """
    try:
        rows = read_sheet(data, filename, limits=LIMITS).rows
    except SpreadsheetRefused as refused:
        raise RegisterRefused([str(refused)]) from None
    start, mapping = _header(rows)
    labels = {name: f"cột {get_column_letter(col + 1)} ({COLUMNS[name][0]})" for name, col in mapping.items()}
    today = today or utcnow().astimezone(VIETNAM).date()
    by_folded_code = {fold(code): ref for code, ref in procedures.items()}
    problems: list[str] = []
    unknown_procedures: dict[str, list[int]] = {}
    unknown_agencies: dict[str, list[int]] = {}
    first_row_of: dict[str, int] = {}
    dossiers: list[Dossier] = []

    for number, cells in rows[start + 1:]:
        def cell(name: str) -> object:
            col = mapping[name]
            return cells[col] if col < len(cells) else None

        def fail(name: str, message: str) -> None:
            problems.append(f"Dòng {number}, {labels[name]}: {message}")

        before = len(problems)
        raw_code = clean_text(cell("dossier"))
        code = normalise_dossier(raw_code) if raw_code else None
        if not raw_code:
            fail("dossier", "thiếu mã hồ sơ.")
        elif code is None:
            fail("dossier", f"mã hồ sơ “{excerpt(raw_code)}” không hợp lệ (chữ, số và các dấu . - / _, 4 đến 40 ký tự).")
        elif code in first_row_of:
            fail("dossier", f"mã hồ sơ {code} trùng với dòng {first_row_of[code]}.")
        else:
            first_row_of[code] = number
        procedure_text = clean_text(cell("procedure"))
        procedure = procedures.get(procedure_text) or by_folded_code.get(fold(procedure_text))
        if not procedure_text:
            fail("procedure", "thiếu mã thủ tục.")
        elif procedure is None:
            unknown_procedures.setdefault(procedure_text, []).append(number)
        agency_text = clean_text(cell("agency"))
        found_agency = agency(agency_text) if agency_text else None
        if not agency_text:
            fail("agency", "thiếu cơ quan.")
        elif found_agency is None:
            unknown_agencies.setdefault(agency_text, []).append(number)
        try:
            returned_on = parse_date(cell("returned_on"), today)
        except InvalidValue as invalid:
            fail("returned_on", str(invalid))
        phone = email = ""
        try:
            phone = normalise_phone(cell("phone"))
        except InvalidValue as invalid:
            fail("phone", f"{invalid}.")
        try:
            email = normalise_email(cell("email"))[0]
        except InvalidValue as invalid:
            fail("email", f"{invalid}.")
        if not phone and not email and not clean_text(cell("phone")) and not clean_text(cell("email")):
            fail("phone", "thiếu cả số điện thoại và e-mail: không thể mời người dân này.")
        if len(problems) == before and procedure is not None and found_agency is not None and code is not None:
            dossiers.append(Dossier(number, code, procedure, found_agency, returned_on, phone, email))

    for text, numbers in unknown_procedures.items():
        problems.append(f"{labels['procedure'].capitalize()}: mã thủ tục “{excerpt(text)}” không có trong danh mục "
                        f"thủ tục hành chính của tỉnh ({_rows(numbers)}). Hãy nhập danh mục thủ tục trước.")
    for text, numbers in unknown_agencies.items():
        problems.append(f"{labels['agency'].capitalize()}: cơ quan “{excerpt(text)}” không có trong danh mục cơ quan, "
                        f"đơn vị của tỉnh ({_rows(numbers)}).")
    if problems:
        shown = problems[:MESSAGES_SHOWN]
        if len(problems) > MESSAGES_SHOWN:
            shown.append(f"… và {len(problems) - MESSAGES_SHOWN} lỗi khác.")
        raise RegisterRefused(shown)
    if not dossiers:
        raise RegisterRefused(["Sổ hồ sơ không có dòng nào dưới dòng tiêu đề."])
    return Register(dossiers)


def _rows(numbers: list[int]) -> str:
    listed = ", ".join(str(n) for n in numbers[:10])
    more = f" và {len(numbers) - 10} dòng khác" if len(numbers) > 10 else ""
    return f"{'dòng' if len(numbers) == 1 else 'các dòng'} {listed}{more}"
