"""The roster import engine: file bytes -> table -> header -> validated rows -> plan.

Pure (no Flask, no database): the web page, the CLI and the benchmark feed it bytes and the
round's groups, agencies and existing respondents, and get back rows and problems with row
numbers, column names and Vietnamese messages. Nothing here writes anything.
"""

from __future__ import annotations

import difflib
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


# What a problem does to the file: errors and duplicates block confirmation; a warning is shown but
# the row is imported; a skipped row (totals, signatures, another agency's people) is listed, not read.
BLOCKING = frozenset({"error", "duplicate"})


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    message: str
    kind: str = "error"  # error | duplicate | warning | skipped
    # An agency name missing from the catalogue, so that the preview can offer to map or add it.
    agency_text: str | None = None
    suggestion: int | None = None  # id of the closest existing agency

    @property
    def blocking(self) -> bool:
        return self.kind in BLOCKING

    def as_dict(self) -> dict:
        found = {"row": self.row, "column": self.column, "message": self.message, "kind": self.kind}
        if self.agency_text is not None:
            found.update(agency_text=self.agency_text, suggestion=self.suggestion)
        return found


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

    def __init__(self, groups: Iterable[GroupRef], agencies: Iterable[AgencyRef],
                 aliases: Iterable[tuple[str, AgencyRef]] = ()):
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
        self.by_name = {fold(a.name): a for a in self.agencies.values() if a is not None}
        # Names the province administrator mapped by hand ("HĐND tỉnh" -> the Council office) win.
        for name, a in aliases:
            self.agencies[fold(name)] = a

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

    def suggest(self, text: str) -> AgencyRef | None:
        """The catalogue's agency whose name is closest to ``text`` ("UBND huyện Sa Pa" -> "UBND thị xã Sa Pa")."""
        folded = fold(text)
        best = difflib.get_close_matches(folded, list(self.by_name), n=1, cutoff=0.6)
        return self.by_name[best[0]] if best else None

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


# Rows under the list that are not people: a total ("Tổng cộng: 24 người", "Cộng"), or the start of
# the signature and notes block, after which nothing is a person any more.
_TOTAL_ROW = re.compile(r"^(tong cong|tong so|cong|tong)\b")
_FOOTER_START = re.compile(r"^(nguoi lap( bieu)?|ghi chu|luu y|noi nhan|thu truong|xac nhan|ky ten|"
                           r"(kt|tm|tl|ktl)\b|ngay \d+ thang|.{0,40}, ngay \d+ thang)")
_COUNT_ONLY = re.compile(r"^\d+( (nguoi|dong|ng))?$")


def footer_kind(cells: list[str]) -> str | None:
    """"total" or "footer" for a summary, signature or note row; None for anything else."""
    filled = [fold(c) for c in cells if c]
    if not filled or any("@" in c for c in cells):
        return None  # a row with an e-mail address is a person
    words = [c for c in filled if not _COUNT_ONLY.match(c)]  # a numbered row ("3", "Tổng cộng") too
    if not words and len(filled) <= 2:
        return "total"
    first = words[0] if words else ""
    # "Công" is also a name: a total has a count in it or stands almost alone on its row.
    if _TOTAL_ROW.match(first) and (len(filled) <= 3 or any(ch.isdigit() for ch in first)):
        return "total"
    if _FOOTER_START.match(first):
        return "footer"
    return None


def parse_rows(table: Table, header: Header, resolver: Resolver, *, forced_agency: AgencyRef | None = None,
               citizen_codes: frozenset[str] | None = None) -> Parsed:
    """Validate every data row; valid ones come back normalised, the others as problems.

    ``citizen_codes`` are the groups whose people need no agency (default: from groups.yaml).
    With ``forced_agency`` (a focal point's upload) rows of other agencies are skipped unread: a
    province-wide file can be uploaded, and nobody else's people are named back.
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
    in_footer = False
    for number, cells in table.rows[header.row_index + 1:]:
        if not any(cells):
            continue  # blank separator rows
        if header.titles and cells[: len(header.titles)] == header.titles:
            continue  # header repeated on every printed page
        kind = footer_kind(cells) if (result.data_rows or result.problems) else None
        if in_footer or kind:
            in_footer = in_footer or kind == "footer"
            text = " ".join(c for c in cells if c)
            result.problems.append(Problem(number, "", (
                f"Bỏ qua dòng tổng cộng, chữ ký hoặc ghi chú ở cuối danh sách: “{excerpt(text)}”."), "skipped"))
            continue
        values = {name: cell(cells, name) for name in columns}
        if not values.get("full_name") and not any(values.get(n) for n in ("email", "phone", "position")):
            continue  # a title or a note line, not a person
        result.data_rows += 1

        agency_text = values.get("agency", "")
        agency = resolver.agency(agency_text) if agency_text else None
        if forced_agency is not None and agency_text and agency != forced_agency:
            # Named by its agency only: the person is none of this focal point's business.
            result.problems.append(Problem(number, label["agency"], (
                f"Dòng của cơ quan, đơn vị khác (“{excerpt(agency_text)}”): bỏ qua, bạn chỉ nhập người "
                f"của {forced_agency.name}."), "skipped"))
            continue

        row_problems: list[Problem] = []

        def fail(name: str, message: str, **extra) -> None:
            row_problems.append(Problem(number, label.get(name, FIELD_LABELS[name]), message, **extra))

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

        if forced_agency is not None:
            agency = forced_agency
        elif agency_text and agency is None:
            # The same message for every row of this name, so that the preview can group them.
            near = resolver.suggest(agency_text)
            fail("agency", f"Cơ quan “{excerpt(agency_text)}” chưa có trong danh mục của tỉnh"
                           + (f" (gần nhất: “{near.name}”)." if near else "."),
                 agency_text=agency_text, suggestion=near.id if near else None)
        elif agency is None and not (group and group.code in citizen_codes):
            fail("agency", "Thiếu cơ quan, đơn vị.")
        row["agency_id"] = agency.id if agency else None

        if not row_problems:
            _check_in_file_duplicates(row, seen, resolver, row_problems)
        if row_problems:
            result.problems.extend(row_problems)
            continue
        result.rows.append(row)
        missing = [word for name, word in (("email", "e-mail"), ("phone", "số điện thoại")) if not row.get(name)]
        if missing:
            result.problems.append(Problem(number, label.get("email", FIELD_LABELS["email"]), (
                f"Thiếu {' và '.join(missing)}: dòng vẫn được nhập, nhưng Bộ Nội vụ cần cả e-mail và số điện thoại."),
                "warning"))
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
            message = (f"{row['full_name']} (dòng {row['row']}) trùng {_KEY_WORDS[key[0]]} với "
                       f"{earlier['full_name']} (dòng {earlier['row']})")
            if earlier["group_id"] != row["group_id"]:
                message += (f": cùng một người ở hai nhóm “{names[earlier['group_id']]}” và "
                            f"“{names[row['group_id']]}”")
            problems.append(Problem(row["row"], FIELD_LABELS["full_name" if key[0] == "name" else key[0]],
                                    message + "; hãy giữ một dòng.", "duplicate"))
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
    # The same person already listed in another group or agency: the province administrator decides.
    conflicts: list[dict] = field(default_factory=list)  # row + "id" + "existing" + "changes"
    kept: list[dict] = field(default_factory=list)  # conflicts decided "keep the existing entry"

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]


ELSEWHERE = ("đã có trong danh sách của một cơ quan, đơn vị khác; Sở Nội vụ (quản trị viên cấp tỉnh) "
             "có thể giải quyết")


class Viewer:
    """What a message may say about a listed person: a focal point sees only their agency's people."""

    def __init__(self, agency_names: dict[int, str], group_names: dict[int, str], own_agency_id: int | None):
        self.agency_names, self.group_names, self.own = agency_names, group_names, own_agency_id

    def may_see(self, person: dict) -> bool:
        return self.own is None or person.get("agency_id") == self.own

    def describe(self, person: dict) -> str:
        where = [self.agency_names.get(person.get("agency_id"), "không thuộc cơ quan, đơn vị nào"),
                 self.group_names.get(person.get("group_id"), "")]
        return f"{person['full_name']} ({', '.join(w for w in where if w)})"


def _matched_on(row: dict, person: dict) -> str:
    """Which identity keys the row shares with a listed person, in words ("e-mail và số điện thoại")."""
    common = {key[0] for key in set(_identity_keys(row)) & set(_identity_keys(person))}
    return " và ".join(_KEY_WORDS[k] for k in ("email", "phone", "name") if k in common) or "thông tin"


def plan_rows(rows: list[dict], existing: list[dict], *, agency_names: dict[int, str],
              group_names: dict[int, str] | None = None, own_agency_id: int | None = None,
              locked_ids: frozenset[int] = frozenset(), decisions: dict | None = None) -> Plan:
    """Match each row with the roster (e-mail, else phone, else name + agency) and decide its action.

    ``existing`` are the round's current respondents as dicts with "id" and COMPARED fields.
    Empty values in the file never erase known ones: a corrected file can omit a column.
    A match in another group or agency is never an update but a conflict, settled by
    ``decisions`` ({"<row>": {"id": respondent id, "choice": "keep" | "take"}}); a focal point's
    file (``own_agency_id``) never touches another agency's people, nor names them.
    ``locked_ids`` are respondents who already submitted: their group can no longer change.
    """
    viewer = Viewer(agency_names, group_names or {}, own_agency_id)
    decisions = decisions or {}
    index: dict[tuple, dict] = {}
    for person in existing:
        for key in _identity_keys(person):
            index.setdefault(key, person)
    plan = Plan()
    claimed: dict[int, dict] = {}
    for row in rows:
        number, name = row["row"], row["full_name"]
        matches = []
        for key in _identity_keys(row):
            person = index.get(key)
            if person is not None and person not in matches:
                matches.append(person)
        if len(matches) > 1:
            shown = [viewer.describe(m) for m in matches if viewer.may_see(m)]
            hidden = len(matches) - len(shown)
            parts = shown + (["một người " + ELSEWHERE] if hidden else [])
            plan.problems.append(Problem(number, "Email", (
                f"{name} (dòng {number}): e-mail, số điện thoại hoặc họ tên trùng với hai người khác nhau "
                f"đã có trong danh sách: {' và '.join(parts)}."), "duplicate"))
            continue
        if not matches:
            plan.add.append(row)
            continue
        person = matches[0]
        if not viewer.may_see(person):
            plan.problems.append(Problem(number, "Họ và tên", (
                f"{name} (dòng {number}): {_matched_on(row, person)} {ELSEWHERE}. Dòng này được bỏ qua; "
                "không ai bị chuyển khỏi cơ quan của họ."), "skipped"))
            continue
        if person["id"] in claimed:
            earlier = claimed[person["id"]]
            plan.problems.append(Problem(number, "Họ và tên", (
                f"{name} (dòng {number}) và {earlier['full_name']} (dòng {earlier['row']}) cùng trùng với "
                f"{viewer.describe(person)} đã có trong danh sách; hãy giữ một dòng."), "duplicate"))
            continue
        claimed[person["id"]] = row
        merged = {k: (row.get(k) if row.get(k) not in (None, "") else person.get(k)) for k in COMPARED}
        changes = [k for k in COMPARED if k != "email_normalised" and merged[k] != person.get(k)]
        moved = "group_id" in changes or "agency_id" in changes
        if "group_id" in changes and person["id"] in locked_ids:
            plan.problems.append(Problem(number, "Nhóm đối tượng", (
                f"{name} (dòng {number}) trùng với {viewer.describe(person)}, người đã nộp phiếu; "
                "không thể đổi nhóm đối tượng."), "duplicate"))
            continue
        entry = {**merged, "row": number, "id": person["id"], "changes": changes}
        if moved:
            entry.update(existing={k: person.get(k) for k in COMPARED}, matched_on=_matched_on(row, person))
            decision = decisions.get(str(number)) or {}
            choice = decision.get("choice") if decision.get("id") == person["id"] else None
            # A focal point's file only reaches here for their own agency's people (may_see above).
            if choice == "take":
                plan.update.append(entry)
            elif choice == "keep":
                plan.kept.append(entry)
            else:
                plan.conflicts.append(entry)
        elif changes:
            plan.update.append(entry)
        else:
            plan.unchanged.append({**row, "id": person["id"]})
    return plan
