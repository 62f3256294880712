"""The roster import engine: file bytes -> table -> header -> validated rows -> plan.

Pure (no Flask, no database): the web page, the CLI and the benchmark feed it bytes and the
round's groups, agencies and existing respondents, and get back rows and problems with row
numbers, column names and Vietnamese messages. Nothing here writes anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from openpyxl.utils import get_column_letter

from survey.rounds.datafiles import group_words
from survey.spreadsheets import Limits, SpreadsheetRefused, excerpt, read_sheet
from survey.roster.normalise import (
    InvalidValue,
    clean_text,
    fold,
    name_key,
    normalise_email,
    normalise_name,
    normalise_phone,
)

# The roster's own bounds on top of the reader's: a list needs a few columns, never long cells.
LIMITS = Limits(columns=200, cell_chars=2_000)
MAX_COLUMNS = LIMITS.columns
HEADER_SEARCH_ROWS = 30

FIELDS = ("stt", "full_name", "position", "agency", "group", "email", "phone")
FIELD_LABELS = {
    "stt": "STT", "full_name": "Họ và tên", "position": "Chức vụ", "agency": "Cơ quan/đơn vị",
    "group": "Nhóm đối tượng", "email": "Email", "phone": "Số điện thoại",
}
# Folded header text -> field; checked in order, so the more specific patterns come first.
_HEADER_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("stt", re.compile(r"^(stt|tt|so tt|so thu tu|no)$")),
    ("group", re.compile(r"^(nhom( doi tuong)?( khao sat)?|doi tuong( khao sat)?|group)$")),
    ("email", re.compile(r"^(e ?mail|thu dien tu|dia chi (e ?mail|thu dien tu))\b")),
    ("phone", re.compile(r"^(so )?(dien thoai|dt|sdt|so dt)( di dong| lien he)?$|^phone")),
    ("full_name", re.compile(r"^(ho (va )?ten|ten|full ?name|name)\b")),
    ("position", re.compile(r"^(chuc vu|chuc danh|position)\b")),
    ("agency", re.compile(r"^(co quan|don vi|ten (co quan|don vi)|agency)\b")),
]


class ImportRefused(ValueError):
    """The whole file is unusable; the message says why, in Vietnamese."""


@dataclass
class Table:
    rows: list[tuple[int, list[str]]]  # (row number in the file, cleaned cells)


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    message: str
    kind: str = "error"  # error | duplicate

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message, "kind": self.kind}


def column_letter(index: int) -> str:
    """The letter of a 0-based column index (A, B, … AA)."""
    return get_column_letter(index + 1)


# --- reading files ----------------------------------------------------------------------------

def read_table(data: bytes, filename: str, progress: Callable[[int], None] | None = None) -> Table:
    """Rows of the first sheet (xlsx) or of the CSV, cells cleaned; refuses unusable files."""
    try:
        sheet = read_sheet(data, filename, limits=LIMITS, progress=progress)
    except SpreadsheetRefused as problem:
        raise ImportRefused(str(problem)) from None
    return Table(rows=[(number, [clean_text(c) for c in cells]) for number, cells in sheet.rows])


# --- header -----------------------------------------------------------------------------------

def field_of_header(text: str) -> str | None:
    folded = fold(text)
    for name, pattern in _HEADER_PATTERNS:
        if pattern.search(folded):
            return name
    return None


@dataclass
class Header:
    row_index: int  # index into Table.rows
    row_number: int
    mapping: dict[str, int]  # field -> column index
    titles: list[str]


def find_header(table: Table, mapping: dict[str, int] | None = None) -> Header:
    """The header row (title rows above it are skipped) and which column holds which field."""
    for index, (number, cells) in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        found: dict[str, list[int]] = {}
        for col, text in enumerate(cells):
            name = field_of_header(text) if text else None
            if name:
                found.setdefault(name, []).append(col)
        if "full_name" not in found or len(found) < 2:
            continue
        doubled = [(name, cols) for name, cols in found.items() if len(cols) > 1]
        if doubled:
            name, cols = doubled[0]
            raise ImportRefused(
                f"Dòng tiêu đề {number}: cột “{FIELD_LABELS[name]}” xuất hiện nhiều lần "
                f"({', '.join(column_letter(c) for c in cols)}). Vui lòng giữ một cột.")
        return Header(index, number, mapping or {name: cols[0] for name, cols in found.items()}, cells)
    if mapping:
        return Header(-1, 0, mapping, [])
    raise ImportRefused(
        "Không tìm thấy dòng tiêu đề (cần ít nhất cột “Họ và tên” và một cột khác như “Chức vụ”, "
        "“Cơ quan/đơn vị”, “Email”). Vui lòng kiểm tra tệp hoặc chọn cột thủ công.")


# --- rows -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupRef:
    id: int
    code: str
    label: str


@dataclass(frozen=True)
class AgencyRef:
    id: int
    code: str
    name: str


def citizen_codes() -> frozenset[str]:
    """Group codes whose people belong to no agency (questionnaires/groups.yaml)."""
    return group_words().without_agency


@lru_cache(maxsize=4096)
def position_group(position: str) -> str | None:
    folded = fold(position)
    for code, pattern in group_words().positions:
        if pattern.search(folded):
            return code
    return None


class Resolver:
    """Finds a round's group and the province's agency named in a cell, however it is spelled."""

    def __init__(self, groups: Iterable[GroupRef], agencies: Iterable[AgencyRef]):
        self.groups = list(groups)
        self.group_codes = {g.code: g for g in self.groups}
        self.group_exact = {}
        for g in self.groups:
            self.group_exact[fold(g.code)] = g
            self.group_exact[fold(g.label)] = g
        self.agencies: dict[str, AgencyRef | None] = {}
        self._groups_seen: dict[str, GroupRef | None] = {}
        self._agencies_seen: dict[str, AgencyRef | None] = {}
        for a in agencies:
            for alias in self._agency_aliases(a):
                # An alias two agencies share resolves to neither.
                self.agencies[alias] = a if self.agencies.get(alias, a) == a else None

    @staticmethod
    def _agency_aliases(agency: AgencyRef) -> set[str]:
        name = fold(agency.name)
        aliases = {fold(agency.code), name}
        short = re.sub(r"^(ubnd|uy ban nhan dan) ", "", name)
        aliases.add(short)
        aliases.add(re.sub(r"^(huyen|thi xa|thanh pho|xa|phuong|thi tran) ", "", short))
        return {a for a in aliases if a}

    def group(self, text: str) -> GroupRef | None:
        # A list repeats the same few group and agency spellings thousands of times.
        if text not in self._groups_seen:
            self._groups_seen[text] = self._group(text)
        return self._groups_seen[text]

    def agency(self, text: str) -> AgencyRef | None:
        if text not in self._agencies_seen:
            self._agencies_seen[text] = self._agency(text)
        return self._agencies_seen[text]

    def _group(self, text: str) -> GroupRef | None:
        folded = fold(text)
        if folded in self.group_exact:
            return self.group_exact[folded]
        for code, pattern in group_words().words:
            if code in self.group_codes and pattern.search(folded):
                return self.group_codes[code]
        return None

    def _agency(self, text: str) -> AgencyRef | None:
        folded = fold(text)
        found = self.agencies.get(folded)
        if found is None:
            found = self.agencies.get(re.sub(r"^(ubnd|uy ban nhan dan) ", "", folded))
        return found


@dataclass
class Parsed:
    rows: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    data_rows: int = 0


def parse_rows(table: Table, header: Header, resolver: Resolver, *, forced_agency: AgencyRef | None = None,
               citizen_codes: frozenset[str] | None = None) -> Parsed:
    """Validate every data row; valid ones come back normalised, the others as problems.

    ``citizen_codes`` are the groups whose people need no agency (default: from groups.yaml).
    """
    if citizen_codes is None:
        citizen_codes = group_words().without_agency
    result = Parsed()
    columns = header.mapping
    label = {name: f"{FIELD_LABELS[name]} ({column_letter(col)})" for name, col in columns.items()}
    if "full_name" not in columns:
        raise ImportRefused("Chưa chọn cột “Họ và tên”.")

    def cell(cells: list[str], name: str) -> str:
        col = columns.get(name)
        return cells[col] if col is not None and col < len(cells) else ""

    seen: dict[tuple, dict] = {}
    for number, cells in table.rows[header.row_index + 1:]:
        if not any(cells):
            continue  # blank separator rows
        if header.titles and cells[: len(header.titles)] == header.titles:
            continue  # header repeated on every printed page
        values = {name: cell(cells, name) for name in columns}
        if not values.get("full_name") and not any(values.get(n) for n in ("email", "phone", "position")):
            continue  # a title, a total or a note line, not a person
        result.data_rows += 1
        row_problems: list[Problem] = []

        def fail(name: str, message: str) -> None:
            row_problems.append(Problem(number, label.get(name, FIELD_LABELS[name]), message))

        row: dict = {"row": number}
        try:
            row["full_name"] = normalise_name(values.get("full_name"))
        except InvalidValue as error:
            fail("full_name", str(error))
        position = values.get("position", "")
        if len(position) > 255:
            fail("position", "Chức vụ dài quá 255 ký tự.")
        row["position"] = position or None
        try:
            row["email"], row["email_normalised"] = normalise_email(values.get("email"))
        except InvalidValue as error:
            fail("email", str(error))
        try:
            row["phone"] = normalise_phone(values.get("phone"))
        except InvalidValue as error:
            fail("phone", str(error))

        group_text = values.get("group", "")
        inferred = position_group(position) if position else None
        group = resolver.group(group_text) if group_text else None
        if group_text and group is None:
            fail("group", f"Nhóm đối tượng “{excerpt(group_text)}” không có trong đợt khảo sát này.")
        elif group is None:
            group = resolver.group_codes.get(inferred) if inferred else None
            if group is None:
                fail("group", "Thiếu nhóm đối tượng (không suy ra được từ chức vụ).")
        elif inferred and inferred in resolver.group_codes and inferred != group.code:
            fail("group", f"Chức vụ “{excerpt(position)}” thuộc nhóm “{resolver.group_codes[inferred].label}”, "
                          f"không phải “{group.label}”.")
        row["group_id"] = group.id if group else None

        agency_text = values.get("agency", "")
        agency = resolver.agency(agency_text) if agency_text else None
        if forced_agency is not None:
            if agency_text and agency != forced_agency:
                fail("agency", f"Cơ quan “{excerpt(agency_text)}” không phải cơ quan của bạn ({forced_agency.name}); "
                               "bạn chỉ nhập được danh sách của cơ quan mình.")
            agency = forced_agency
        elif agency_text and agency is None:
            fail("agency", f"Cơ quan, đơn vị “{excerpt(agency_text)}” không có trong danh mục của tỉnh.")
        elif agency is None and not (group and group.code in citizen_codes):
            fail("agency", "Thiếu cơ quan, đơn vị.")
        row["agency_id"] = agency.id if agency else None

        if not row_problems:
            _check_in_file_duplicates(row, seen, resolver, row_problems)
        if row_problems:
            result.problems.extend(row_problems)
        else:
            result.rows.append(row)
    if result.data_rows == 0:
        raise ImportRefused("Tệp chỉ có dòng tiêu đề, không có người nào trong danh sách.")
    return result


def _identity_keys(row: dict) -> list[tuple]:
    keys = []
    if row.get("email_normalised"):
        keys.append(("email", row["email_normalised"]))
    if row.get("phone"):
        keys.append(("phone", row["phone"]))
    keys.append(("name", name_key(row["full_name"]), row.get("agency_id")))
    return keys


_KEY_WORDS = {"email": "e-mail", "phone": "số điện thoại", "name": "họ tên và cơ quan"}


def _check_in_file_duplicates(row: dict, seen: dict, resolver: Resolver, problems: list[Problem]) -> None:
    names = {g.id: g.label for g in resolver.groups}
    for key in _identity_keys(row):
        earlier = seen.get(key)
        if earlier is not None:
            message = f"Trùng {_KEY_WORDS[key[0]]} với dòng {earlier['row']}"
            if earlier["group_id"] != row["group_id"]:
                message += (f" (cùng một người ở hai nhóm: “{names[earlier['group_id']]}” và "
                            f"“{names[row['group_id']]}”)")
            problems.append(Problem(row["row"], FIELD_LABELS["full_name" if key[0] == "name" else key[0]],
                                    message + ".", "duplicate"))
            return
    for key in _identity_keys(row):
        seen[key] = row


# --- plan against the roster ------------------------------------------------------------------

COMPARED = ("full_name", "position", "agency_id", "group_id", "email", "email_normalised", "phone")


@dataclass
class Plan:
    add: list[dict] = field(default_factory=list)
    update: list[dict] = field(default_factory=list)  # row + "id" + "changes"
    unchanged: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def plan_rows(rows: list[dict], existing: list[dict], *, agency_names: dict[int, str],
              own_agency_id: int | None = None, locked_ids: frozenset[int] = frozenset()) -> Plan:
    """Match each row with the roster (e-mail, else phone, else name + agency) and decide its action.

    ``existing`` are the round's current respondents as dicts with "id" and COMPARED fields.
    Empty values in the file never erase known ones: a corrected file can omit a column.
    ``locked_ids`` are respondents who already submitted: their group can no longer change.
    """
    index: dict[tuple, dict] = {}
    for person in existing:
        for key in _identity_keys(person):
            index.setdefault(key, person)
    plan = Plan()
    claimed: dict[int, int] = {}
    for row in rows:
        matches = []
        for key in _identity_keys(row):
            person = index.get(key)
            if person is not None and person not in matches:
                matches.append(person)
        if len(matches) > 1:
            plan.problems.append(Problem(row["row"], "Email", (
                f"E-mail, số điện thoại hoặc họ tên trùng với hai người khác nhau đã có trong danh sách "
                f"({matches[0]['full_name']} và {matches[1]['full_name']})."), "duplicate"))
            continue
        if not matches:
            plan.add.append(row)
            continue
        person = matches[0]
        where = agency_names.get(person["agency_id"], "không thuộc cơ quan nào")
        if own_agency_id is not None and person["agency_id"] != own_agency_id:
            plan.problems.append(Problem(row["row"], "Họ và tên", (
                f"Người này đã có trong danh sách của {where}; liên hệ Sở Nội vụ nếu cần chuyển."), "duplicate"))
            continue
        if person["id"] in claimed:
            plan.problems.append(Problem(row["row"], "Họ và tên", (
                f"Cùng một người đã có trong danh sách với dòng {claimed[person['id']]}."), "duplicate"))
            continue
        claimed[person["id"]] = row["row"]
        merged = {k: (row.get(k) if row.get(k) not in (None, "") else person.get(k)) for k in COMPARED}
        changes = [k for k in COMPARED if k != "email_normalised" and merged[k] != person.get(k)]
        if "group_id" in changes and person["id"] in locked_ids:
            plan.problems.append(Problem(row["row"], "Nhóm đối tượng",
                                         "Người này đã nộp phiếu; không thể đổi nhóm đối tượng."))
            continue
        if changes:
            plan.update.append({**merged, "row": row["row"], "id": person["id"], "changes": changes})
        else:
            plan.unchanged.append({**row, "id": person["id"]})
    return plan
