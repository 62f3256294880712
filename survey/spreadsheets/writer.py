"""The one writer of spreadsheets and CSV files the platform hands out.

Text stays text. In .xlsx every string is stored as an inline string cell, so ``=HYPERLINK(...)``
typed into a name (or a file name) is shown as typed and never runs, with no visible apostrophe.
CSV has no cell types: a value starting with = + - @, tab or CR is prefixed with ``'``, which
spreadsheet programs take as "this is text".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV value that a spreadsheet program will not run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class SheetSpec:
    """One worksheet: optional title lines above a bold, frozen header row, then the rows.

    ``widths`` are column widths in characters, left to right; missing ones keep Excel's default.
    """

    title: str
    header: Sequence[str] = ()
    rows: Iterable[Sequence[object]] = ()
    title_rows: Sequence[Sequence[object]] = ()
    widths: Sequence[float] = field(default_factory=tuple)


def sheet_title(label: str, used: set[str]) -> str:
    """A valid, unique worksheet name for ``label`` (Excel: at most 31 characters, none of []:*?/\\)."""
    title = "".join(" " if ch in "[]:*?/\\" else ch for ch in label)
    if len(title) > 31:  # cut at a word, not inside one
        title = title[:32].rsplit(" ", 1)[0].rstrip(" ,;-")
    title = title.strip()[:31] or "Trang"
    base, n = title, 2
    while title in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


def write_xlsx(sheets: Iterable[SheetSpec]) -> bytes:
    """An .xlsx workbook of ``sheets``; strings are text cells, never formulas."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook(write_only=True)
    bold = Font(bold=True)
    used: set[str] = set()

    def cells(sheet, values: Sequence[object], font: Font | None = None) -> list:
        row = []
        for value in values:
            if font is None and not (isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES)):
                # A plain value: openpyxl binds it to the one cell it reuses, the same cell as ours would
                # be. A cell object of ours is bound twice and refused once (an exception per cell), a
                # third of a large sheet's time.
                row.append(value)
                continue
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would make a formula of a string starting with "="
            if font is not None:
                cell.font = font
            row.append(cell)
        return row

    for spec in sheets:
        sheet = workbook.create_sheet(sheet_title(spec.title, used))
        for index, width in enumerate(spec.widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        if spec.header:
            # Frozen below the header so that it stays visible while scrolling a long list.
            sheet.freeze_panes = f"A{len(spec.title_rows) + 2}"
        for index, values in enumerate(spec.title_rows):
            sheet.append(cells(sheet, values, bold if index == 0 else None))
        if spec.header:
            sheet.append(cells(sheet, spec.header, bold))
        for values in spec.rows:
            sheet.append(cells(sheet, values))
    if not used:
        workbook.create_sheet("Trang 1")  # a workbook needs one sheet to open
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]], *, delimiter: str = ",") -> bytes:
    """UTF-8 CSV with a BOM (Excel then reads the diacritics); values that start like formulas are defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    if header:
        writer.writerow([csv_safe(v) for v in header])
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
