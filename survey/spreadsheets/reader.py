"""The one reader of uploaded spreadsheets (.xlsx, .csv): bounded before any work is done.

An upload is untrusted. A 2 MB .xlsx can hold shared strings that expand to gigabytes, and one
cell at column XFD makes naive readers pad every row to 16,384 columns. So every limit is checked
as early as it can be: the file size first, then the declared size of every part of the zip
(Python's zipfile stops reading a part at its declared size, so a lying header cannot expand
further), then rows, columns and cell lengths while the sheet is streamed in openpyxl's
read-only mode. Over a limit, ``SpreadsheetRefused`` says in Vietnamese which limit, and the
caller stores nothing.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from posixpath import dirname, join, normpath
from xml.etree import ElementTree

from openpyxl.utils import get_column_letter, range_boundaries

MB = 1024 * 1024


class SpreadsheetRefused(ValueError):
    """The file cannot be read; the message is Vietnamese, names the reason and is shown as is."""


@dataclass(frozen=True)
class Limits:
    """What an upload may use. Pass your own to ``read_sheet`` when a file kind needs other bounds."""

    file_bytes: int = 20 * MB  # a province's whole list is about 1 MB
    part_bytes: int = 48 * MB  # one part of an .xlsx, uncompressed (shared strings are held in memory)
    total_bytes: int = 160 * MB  # all parts of an .xlsx, uncompressed
    rows: int = 200_000
    columns: int = 200
    cell_chars: int = 4_000


DEFAULT_LIMITS = Limits()


@dataclass
class Sheet:
    """The rows of the first visible sheet (or of the CSV) that hold anything.

    ``rows`` are (row number in the file, values) with trailing empty cells dropped; values are
    what the cell holds (str, int, float, datetime, bool) or None. In an .xlsx, a vertically
    merged cell (one agency name spanning its people) gives its value to every row it spans.
    """

    rows: list[tuple[int, list]]


def excerpt(value: object, length: int = 40) -> str:
    """A short, printable excerpt of a cell for a message: a bad cell must not fill the page."""
    text = "" if value is None else str(value)
    short = text[:length]
    shown = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"
                    for ch in short)
    return shown + ("…" if len(text) > length else "")


def read_sheet(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS,
               progress: Callable[[int], None] | None = None) -> Sheet:
    """Read an uploaded .xlsx or .csv under ``limits``; raises SpreadsheetRefused when unusable.

    ``progress`` is called with the number of rows read since its last call (every 1000 rows).
    """
    if len(data) > limits.file_bytes:
        raise SpreadsheetRefused(
            f"Tệp quá lớn ({len(data) / MB:.0f} MB); giới hạn dung lượng tệp là {limits.file_bytes // MB} MB. "
            "Vui lòng xóa các trang tính, hình ảnh không cần thiết hoặc chia nhỏ danh sách.")
    if not data.strip():
        raise SpreadsheetRefused("Tệp rỗng, không có dữ liệu.")
    name = (filename or "").lower()
    if data.startswith(b"%PDF"):
        raise SpreadsheetRefused("Tệp là tài liệu PDF, không phải bảng tính. Vui lòng tải lên tệp .xlsx hoặc .csv.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SpreadsheetRefused("Tệp Excel cũ (.xls) không được hỗ trợ. Vui lòng mở tệp và lưu lại dưới dạng .xlsx.")
    if data.startswith(b"PK\x03\x04"):
        cells = _xlsx_rows(data, limits)
    elif name.endswith((".xlsx", ".xlsm")):
        raise SpreadsheetRefused("Tệp có đuôi .xlsx nhưng không phải bảng tính Excel hợp lệ.")
    elif name.endswith((".csv", ".txt")):
        cells = _csv_rows(data)
    else:
        raise SpreadsheetRefused("Chỉ nhận tệp .xlsx hoặc .csv.")
    sheet = Sheet(rows=[])
    for number, values in cells:
        if progress is not None and number % 1000 == 0:
            progress(1000)
        width = _width(values)
        if width == 0:
            continue
        if number > limits.rows:
            raise SpreadsheetRefused(
                f"Tệp có dữ liệu ở dòng {number}; giới hạn số dòng là {limits.rows}. Vui lòng chia nhỏ danh sách.")
        if width > limits.columns:
            raise SpreadsheetRefused(
                f"Dòng {number} có dữ liệu ở cột {get_column_letter(width)}; giới hạn số cột là {limits.columns} "
                f"(đến cột {get_column_letter(limits.columns)}). Vui lòng xóa các cột thừa.")
        for col, value in enumerate(values[:width]):
            if isinstance(value, str) and len(value) > limits.cell_chars:
                raise SpreadsheetRefused(
                    f"Ô {get_column_letter(col + 1)}{number} dài {len(value)} ký tự; giới hạn độ dài một ô là "
                    f"{limits.cell_chars} ký tự (đầu ô: “{excerpt(value)}”).")
        sheet.rows.append((number, list(values[:width])))
    if not sheet.rows:
        raise SpreadsheetRefused("Tệp không có dữ liệu (mọi ô đều trống).")
    return sheet


def _width(values) -> int:
    for i in range(len(values) - 1, -1, -1):
        value = values[i]
        if value is not None and value != "":
            return i + 1
    return 0


# --- CSV ----------------------------------------------------------------------------------------

def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Vietnamese offices' Windows code page; its decomposed tones become NFC when cells are cleaned.
        return data.decode("cp1258", errors="replace")


def _csv_rows(data: bytes) -> Iterator[tuple[int, list]]:
    text = _decode(data)
    sample = text[:4096]
    delimiter = max((",", ";", "\t"), key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # csv bounds a field at 128 KB by itself; longer cells are refused below by the cell limit.
        yield from enumerate(reader, start=1)
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise SpreadsheetRefused(
                f"Tệp CSV có một ô dài hơn {csv.field_size_limit()} ký tự (quá giới hạn độ dài một ô).") from None
        raise SpreadsheetRefused(f"Tệp CSV bị lỗi định dạng: {excerpt(error, 120)}.") from None


# --- xlsx ---------------------------------------------------------------------------------------

_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _check_parts(archive: zipfile.ZipFile, limits: Limits) -> None:
    total = 0
    for part in archive.infolist():
        if part.file_size > limits.part_bytes:
            raise SpreadsheetRefused(
                f"Phần “{excerpt(part.filename)}” của tệp .xlsx khi giải nén lớn {part.file_size / MB:.0f} MB; "
                f"giới hạn dung lượng giải nén của mỗi phần là {limits.part_bytes // MB} MB.")
        total += part.file_size
        if total > limits.total_bytes:
            raise SpreadsheetRefused(
                f"Tệp .xlsx khi giải nén lớn hơn {limits.total_bytes // MB} MB "
                "(giới hạn tổng dung lượng giải nén).")


def _first_visible_sheet(archive: zipfile.ZipFile) -> tuple[str, str]:
    """(name, part path) of the first visible sheet, read from the package's own XML."""
    workbook_path = "xl/workbook.xml"
    for rel in ElementTree.fromstring(archive.read("_rels/.rels")).iter(_RELS):
        if rel.get("Type", "").endswith("/officeDocument"):
            workbook_path = rel.get("Target", workbook_path).lstrip("/")
    folder = dirname(workbook_path)
    rels_path = join(folder, "_rels", workbook_path.rsplit("/", 1)[-1] + ".rels")
    targets = {rel.get("Id"): rel.get("Target", "") for rel in ElementTree.fromstring(archive.read(rels_path)).iter(_RELS)}
    for sheet in ElementTree.fromstring(archive.read(workbook_path)).iter(f"{_MAIN}sheet"):
        if sheet.get("state", "visible") != "visible":
            continue
        target = targets.get(sheet.get(_R_ID), "")
        path = target.lstrip("/") if target.startswith("/") else normpath(join(folder, target))
        return sheet.get("name", ""), path
    raise SpreadsheetRefused("Tệp .xlsx không có trang tính nào.")


def _vertical_merges(archive: zipfile.ZipFile, path: str, rows: int) -> dict[int, list[tuple[int, tuple[int, int]]]]:
    """Row -> [(column index, (top row, column index))] for cells under a vertically merged cell.

    Read-only worksheets do not expose merges; ``<mergeCells>`` follows ``<sheetData>``, so the
    end of the part is enough.
    """
    try:
        with archive.open(path) as handle:
            size = archive.getinfo(path).file_size
            handle.seek(max(0, size - 2 * MB))
            tail = handle.read()
    except KeyError:
        return {}
    spans: dict[int, list[tuple[int, tuple[int, int]]]] = {}
    for ref in _MERGE.findall(tail):
        left, top, _right, bottom = range_boundaries(ref.decode())
        bottom = min(bottom, rows)
        if bottom <= top:
            continue  # a title spread across columns: its value belongs to its first cell only
        for row in range(top + 1, bottom + 1):
            spans.setdefault(row, []).append((left - 1, (top, left - 1)))
    return spans


def _xlsx_rows(data: bytes, limits: Limits) -> Iterator[tuple[int, list]]:
    import openpyxl

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        _check_parts(archive, limits)
        sheet_name, sheet_path = _first_visible_sheet(archive)
        spans = _vertical_merges(archive, sheet_path, limits.rows)
        # read_only streams the sheet; data_only takes the value Excel last showed and never
        # evaluates a formula (one without a stored value reads as empty).
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except SpreadsheetRefused:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, ElementTree.ParseError) as error:
        raise SpreadsheetRefused(
            f"Không đọc được tệp .xlsx (tệp hỏng hoặc không phải Excel): {excerpt(error, 120)}.") from None
    return _stream(workbook, sheet_name, spans)


def _stream(workbook, sheet_name: str, spans) -> Iterator[tuple[int, list]]:
    sources = {source: None for cells in spans.values() for _, source in cells}
    try:
        sheet = workbook[sheet_name]
        # The <dimension> a file declares may claim XFD1048576; without it each row is only as
        # wide as its last cell, and the caller refuses the first row wider than its limit.
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = list(values)
            if sources:
                for col, value in enumerate(cells):
                    if (number, col) in sources:
                        sources[(number, col)] = value
            for col, source in spans.get(number, ()):
                if col >= len(cells):
                    cells.extend([None] * (col + 1 - len(cells)))
                if cells[col] is None:
                    cells[col] = sources.get(source)
            yield number, cells
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise SpreadsheetRefused(f"Không đọc được tệp .xlsx: {excerpt(error, 120)}.") from None
    finally:
        workbook.close()
