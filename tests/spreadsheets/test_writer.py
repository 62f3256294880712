"""The writer stores text as text: no value becomes a live formula in .xlsx or CSV."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.utils.exceptions import IllegalCharacterError

from survey.spreadsheets import SheetSpec, sheet_title, write_csv, write_xlsx

FORMULA_LIKE = ['=HYPERLINK("http://x","Bấm")', "+84912345678", "-1+2", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", FORMULA_LIKE[:-1])  # XML reads a CR in text back as LF
def test_xlsx_keeps_a_formula_like_string_as_its_own_text(value):
    body = write_xlsx([SheetSpec("Danh sách", header=["Ghi chú"], rows=[[value, 3]], title_rows=[[value]])])
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    for row in (1, 3):
        cell = sheet.cell(row=row, column=1)
        assert (cell.value, cell.data_type) == (value, "s")  # text, no apostrophe, not a formula
    assert (sheet["B3"].value, sheet["B3"].data_type) == (3, "n")  # numbers stay numbers
    assert openpyxl.load_workbook(io.BytesIO(body), data_only=False).active["A3"].value == value


@pytest.mark.parametrize("value", FORMULA_LIKE)
def test_csv_prefixes_a_formula_like_value_with_an_apostrophe(value):
    text = write_csv(["Ghi chú", "Số"], [[value, -3]]).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows == [["Ghi chú", "Số"], ["'" + value, "-3"]]


def test_header_is_bold_and_frozen_below_the_title_rows_and_widths_are_kept():
    body = write_xlsx([SheetSpec("Nhóm: HĐND/tỉnh", header=["STT", "Họ và tên"], rows=[[1, "An"]],
                                 title_rows=[["DANH SÁCH"], ["tỉnh Lào Cai"], []], widths=[6, 30])])
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet.title == "Nhóm  HĐND tỉnh"
    assert sheet.freeze_panes == "A5"
    assert sheet["A4"].font.b and sheet["A1"].font.b and not sheet["A5"].font.b
    assert (sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width) == (6, 30)


def test_sheet_titles_are_cut_at_a_word_and_made_unique():
    used: set[str] = set()
    assert sheet_title("Lãnh đạo cấp phòng thuộc sở, ban, ngành", used) == "Lãnh đạo cấp phòng thuộc sở"
    assert sheet_title("Lãnh đạo cấp phòng thuộc sở, ban, ngành", used) == "Lãnh đạo cấp phòng thuộc sở (2)"


def test_a_workbook_without_sheets_still_opens():
    assert openpyxl.load_workbook(io.BytesIO(write_xlsx([]))).sheetnames == ["Trang 1"]


def test_xlsx_keeps_error_codes_and_plain_values_as_typed():
    # Plain values take openpyxl's own cell; error-code and formula-like strings our text cell.
    row = ["#N/A", "#DIV/0!", "=", "=1+1", "văn bản", 0, 2.5, True, None, "x"]
    sheet = openpyxl.load_workbook(io.BytesIO(write_xlsx([SheetSpec("A", header=["h"], rows=[row])]))).active
    got = [(c.value, c.data_type) for c in sheet[2]]
    assert got == [("#N/A", "s"), ("#DIV/0!", "s"), ("=", "s"), ("=1+1", "s"), ("văn bản", "s"), (0, "n"),
                   (2.5, "n"), (True, "b"), (None, "n"), ("x", "s")]


def _openpyxl_workbook(sheets: list[SheetSpec]) -> bytes:
    """What write_xlsx wrote through openpyxl's write-only workbook: the reference it must equal."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook(write_only=True)
    used: set[str] = set()

    def cells(sheet, values, bold):
        row = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            if bold:
                cell.font = Font(bold=True)
            row.append(cell)
        return row

    for spec in sheets:
        sheet = workbook.create_sheet(sheet_title(spec.title, used))
        for index, width in enumerate(spec.widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        if spec.header:
            sheet.freeze_panes = f"A{len(spec.title_rows) + 2}"
        for index, values in enumerate(spec.title_rows):
            sheet.append(cells(sheet, values, index == 0))
        if spec.header:
            sheet.append(cells(sheet, spec.header, True))
        for values in spec.rows:
            sheet.append(cells(sheet, values, False))
    if not used:
        workbook.create_sheet("Trang 1")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _parts(body: bytes) -> list[tuple[str, int, bytes]]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        # The document's properties hold the time of writing and the writer's name and version.
        return [(i.filename, i.compress_type, b"" if i.filename.startswith("docProps/") else archive.read(i))
                for i in archive.infolist()]


TEXTS = ["", " leading", "trailing ", "a\tb", "line\nbreak", "cr\rhere", '<b>&amp; "quoted" \'x\'</b>', "=1+1", "=",
         "#N/A", "@SUM(A1)", "Văn bản số 15/KH-UBND — “trích yếu”", "x" * 33_000]


@pytest.mark.parametrize("sheets", [
    [],
    [SheetSpec("Danh sách", header=["Ghi chú", "Số"], rows=[[text, n] for n, text in enumerate(TEXTS)],
               title_rows=[[text] for text in TEXTS[:4]], widths=[6, 30.5, 12.25])],
    [SheetSpec("Số & ngày", header=["Ngày", date(2024, 1, 1), None, ""], title_rows=[[date(2020, 2, 2), None, "tiêu đề"], []],
               rows=[[date(2024, 1, 2), datetime(2024, 1, 2, 3, 4, 5, 600), time(3, 4), timedelta(hours=30)],
                     [1e20, 1 / 3, -0.0, 10**20, float("nan"), float("inf"), Decimal("1.25"), True, False, None, 0]]),
     SheetSpec('Nhóm <"A"> & B', rows=[[None, "x"], []], widths=[5])],
    [SheetSpec("Dài", header=["STT", "Họ và tên"], rows=[[n, f"Người số {n}"] for n in range(1, 2502)])],
], ids=["empty", "texts", "types", "long"])
def test_xlsx_is_the_workbook_openpyxl_writes_part_for_part(sheets):
    # Rows may come from a generator, read once: each writer gets the rows as an iterator of its own.
    rows = [list(s.rows) for s in sheets]
    ours, theirs = ([SheetSpec(s.title, s.header, iter(r), s.title_rows, s.widths) for s, r in zip(sheets, rows)]
                    for _ in range(2))
    assert _parts(write_xlsx(ours)) == _parts(_openpyxl_workbook(theirs))


@pytest.mark.parametrize(("value", "error"), [("a\x01b", IllegalCharacterError), (datetime.now(UTC), TypeError),
                                             (object(), ValueError)])
def test_xlsx_refuses_what_openpyxl_refuses(value, error):
    with pytest.raises(error):
        write_xlsx([SheetSpec("A", rows=[[value]])])
    with pytest.raises(error):
        _openpyxl_workbook([SheetSpec("A", rows=[[value]])])
