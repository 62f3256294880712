"""The writer stores text as text: no value becomes a live formula in .xlsx or CSV."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

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
