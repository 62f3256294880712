"""A round's title typed as a formula stays text in every analysis export (workbook and CSV)."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_a_title_starting_like_a_formula_stays_text(app, client, answered_round, login, start):
    title = f'{start}HYPERLINK("http://example.invalid","x")'
    round_id = answered_round(title=title)
    login("analyst")
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/admin/rounds/{round_id}/analysis/export/xlsx").data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert title in [cell.value for cell in cells]  # shown as typed, with no apostrophe
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/admin/rounds/{round_id}/analysis/export/csv").data))
    values = [value for name in archive.namelist()
              for row in csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))) for value in row]
    assert "'" + title in values
    assert not [value for value in values if value.startswith(("=", "@")) or value.startswith(("+", "-"))
                and not value.lstrip("+-").replace(".", "", 1).isdigit()]
