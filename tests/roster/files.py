"""Spreadsheets as offices send them, built by the tests (never stored binaries)."""

from __future__ import annotations

import csv
import io
import unicodedata

import openpyxl

HEADER = ["STT", "Họ và tên", "Chức vụ", "Cơ quan/đơn vị", "Nhóm đối tượng", "Email", "Số điện thoại"]


def xlsx(rows: list[list], *, title_rows: list[list] | None = None, merges: list[str] = (),
         edit=None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (title_rows or []):
        sheet.append(row)
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    if edit is not None:
        edit(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text(rows: list[list], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue()


def csv_utf8(rows: list[list], *, bom: bool = False) -> bytes:
    return ("\ufeff" if bom else "").encode() + csv_text(rows).encode("utf-8")


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def decomposed_tones(text: str) -> str:
    """Windows-1258 spelling: letters with their vowel marks (â, ơ, ư…) and a separate combining tone."""
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(m for m in parts if m in TONE_MARKS)
        out.append(unicodedata.normalize("NFC", "".join(m for m in parts if m not in TONE_MARKS)) + tones)
    return "".join(out)


def csv_cp1258(rows: list[list]) -> bytes:
    return decomposed_tones(csv_text(rows)).encode("cp1258")
