"""The upload reader refuses every kind of spreadsheet bomb, with memory bounded."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import unicodedata
import zipfile

import openpyxl
import pytest

from survey.spreadsheets import Limits, SpreadsheetRefused, excerpt, read_sheet
from tests.roster.files import xlsx as workbook

# Python, openpyxl and pandas already loaded take about 100 MB; a bomb read without limits takes GBs.
RSS_BOUND_MB = 300


def with_part(data: bytes, name: str, chunk: bytes, repeat: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    """``data`` with part ``name`` replaced by head + chunk * repeat + tail, written in pieces."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info.filename))
        with target.open(name, "w", force_zip64=True) as part:
            part.write(head)
            for _ in range(repeat):
                part.write(chunk)
            part.write(tail)
    return out.getvalue()


def shared_strings_bomb() -> bytes:
    """About 400 MB of shared strings, each referenced by a cell, in a file of well under 2 MB."""
    base = workbook([["Họ và tên", "Email"], ["Nguyễn Văn An", "an@laocai.gov.vn"]])
    source = zipfile.ZipFile(io.BytesIO(base))
    # openpyxl writes inline strings; Excel writes a shared string table, which readers hold in memory.
    types = source.read("[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>'))
    rels = source.read("xl/_rels/workbook.xml.rels").replace(b"</Relationships>", (
        b'<Relationship Id="rIdStrings" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings"/></Relationships>'))
    sheet = re.sub(rb'<c r="A2" t="inlineStr"><is><t>[^<]*</t></is></c>', b'<c r="A2" t="s"><v>399999</v></c>',
                   source.read("xl/worksheets/sheet1.xml"))
    assert b'<v>399999</v>' in sheet
    base = with_part(with_part(with_part(base, "[Content_Types].xml", types, 1),
                               "xl/_rels/workbook.xml.rels", rels, 1), "xl/worksheets/sheet1.xml", sheet, 1)
    item = b"<si><t>" + b"a" * 1000 + b"</t></si>"
    return with_part(base, "xl/sharedStrings.xml", item, 400_000,
                     head=b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
                     tail=b"</sst>")


def many_parts_bomb() -> bytes:
    """Five parts of 40 MB each: every part is under the per-part limit, their total is not."""
    data = workbook([["Họ và tên"], ["An"]])
    for n in range(5):
        data = with_part(data, f"xl/media/padding{n}.bin", b"\0" * 1_000_000, 40)
    return data


def refused_in_child(tmp_path, data: bytes, filename: str = "ds.xlsx") -> tuple[str | None, float]:
    """Read ``data`` in a fresh interpreter: (the refusal message or None, the child's peak RSS in MB)."""
    path = tmp_path / filename
    path.write_bytes(data)
    script = f"""
import json, sys
import pandas, openpyxl  # loaded as in the web process, so the bound covers a realistic baseline
from survey.spreadsheets import SpreadsheetRefused, read_sheet
data = open({str(path)!r}, "rb").read()
try:
    read_sheet(data, {filename!r})
    message = None
except SpreadsheetRefused as problem:
    message = str(problem)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (pytest) across exec.
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps({{"message": message, "peak_mb": peak}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    print(f"peak RSS {result['peak_mb']:.0f} MB: {result['message']}")
    return result["message"], result["peak_mb"]


def test_a_file_whose_shared_strings_expand_to_400_mb_is_refused_with_memory_bounded(tmp_path):
    data = shared_strings_bomb()
    assert len(data) < 2 * 1024 * 1024
    message, peak = refused_in_child(tmp_path, data)
    assert message == ("Phần “xl/sharedStrings.xml” của tệp .xlsx khi giải nén lớn 388 MB; "
                       "giới hạn dung lượng giải nén của mỗi phần là 48 MB.")
    assert peak < RSS_BOUND_MB


def test_parts_each_under_the_limit_but_too_large_together_are_refused(tmp_path):
    message, peak = refused_in_child(tmp_path, many_parts_bomb())
    assert message == "Tệp .xlsx khi giải nén lớn hơn 160 MB (giới hạn tổng dung lượng giải nén)."
    assert peak < RSS_BOUND_MB


def test_one_cell_at_column_xfd_is_refused_without_padding_every_row(tmp_path):
    def edit(sheet):
        sheet["XFD2"] = "x"
        sheet["A100000"] = "cuối"  # rows below must not be padded either
    message, peak = refused_in_child(tmp_path, workbook([["Họ và tên"], ["An"]], edit=edit))
    assert message == ("Dòng 2 có dữ liệu ở cột XFD; giới hạn số cột là 200 (đến cột GR). "
                       "Vui lòng xóa các cột thừa.")
    assert peak < RSS_BOUND_MB


def test_a_declared_dimension_of_the_whole_sheet_is_not_trusted():
    data = workbook([["Họ và tên", "Email"], ["An", "an@laocai.gov.vn"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    xml = re.sub(rb'<dimension ref="A1:B2" ?/>', b'<dimension ref="A1:XFD1048576"/>',
                 source.read("xl/worksheets/sheet1.xml"))
    assert b"A1:XFD1048576" in xml
    forged = with_part(data, "xl/worksheets/sheet1.xml", xml, 1)
    assert read_sheet(forged, "ds.xlsx").rows == [(1, ["Họ và tên", "Email"]), (2, ["An", "an@laocai.gov.vn"])]


def test_a_huge_cell_is_refused_quoting_only_a_short_excerpt(tmp_path):
    message, peak = refused_in_child(tmp_path, workbook([["Họ và tên"], ["<b>" + "x" * 10_000]]))
    assert message == ("Ô A2 dài 10003 ký tự; giới hạn độ dài một ô là 4000 ký tự "
                       "(đầu ô: “<b>xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…”).")
    assert peak < RSS_BOUND_MB
    with pytest.raises(SpreadsheetRefused, match="^Ô B2 dài 5000 ký tự; giới hạn độ dài một ô là 4000 ký tự"):
        read_sheet(("Họ và tên;Ghi chú\nAn;" + "y" * 5000 + "\n").encode(), "ds.csv")
    with pytest.raises(SpreadsheetRefused, match="quá giới hạn độ dài một ô"):
        read_sheet(("Họ và tên\n" + "y" * 200_000 + "\n").encode(), "ds.csv")


def test_a_cell_far_down_the_sheet_is_refused_by_the_row_limit(tmp_path):
    def edit(sheet):
        sheet["A1000000"] = "x"
    message, peak = refused_in_child(tmp_path, workbook([["Họ và tên"], ["An"]], edit=edit))
    assert message == "Tệp có dữ liệu ở dòng 1000000; giới hạn số dòng là 200000. Vui lòng chia nhỏ danh sách."
    assert peak < RSS_BOUND_MB


@pytest.mark.parametrize("filename, data", [
    ("ds.xlsx", workbook([["a", "b", "c"], ["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"]])),
    ("ds.csv", b"a,b,c\n1,2,3\n4,5,6\n7,8,9\n"),
])
def test_rows_and_columns_over_the_callers_limits_are_refused(filename, data):
    assert len(read_sheet(data, filename, limits=Limits(rows=4, columns=3)).rows) == 4
    with pytest.raises(SpreadsheetRefused, match="^Tệp có dữ liệu ở dòng 4; giới hạn số dòng là 3"):
        read_sheet(data, filename, limits=Limits(rows=3))
    with pytest.raises(SpreadsheetRefused, match=r"^Dòng 1 có dữ liệu ở cột C; giới hạn số cột là 2 \(đến cột B\)"):
        read_sheet(data, filename, limits=Limits(columns=2))


def test_a_file_over_the_size_limit_is_refused_before_it_is_opened():
    with pytest.raises(SpreadsheetRefused, match="^Tệp quá lớn .*giới hạn dung lượng tệp là 1 MB"):
        read_sheet(b"PK\x03\x04" + b"\0" * (1024 * 1024), "ds.xlsx", limits=Limits(file_bytes=1024 * 1024))


@pytest.mark.parametrize("data", [
    "\ufeffHọ và tên;Email\nNguyễn Văn An;an@x.vn\n".encode(),
    "Họ và tên,Email\nNguyễn Văn An,an@x.vn\n".encode(),
    "Họ và tên\tEmail\r\nNguyễn Văn An\tan@x.vn\r\n".encode("utf-16"),
    "Họ và tên;Email\nNguy\u00ea\u0303n Văn An;an@x.vn\n".replace("ọ", "o\u0323").encode("cp1258"),
])
def test_csv_in_the_encodings_and_separators_offices_use(data):
    rows = read_sheet(data, "ds.csv").rows
    # Windows-1258 spells tones as combining marks; the roster's cell cleaning composes them.
    assert [[unicodedata.normalize("NFC", c) for c in cells] for _, cells in rows] == \
        [["Họ và tên", "Email"], ["Nguyễn Văn An", "an@x.vn"]]


def test_vertical_merges_fill_the_rows_they_span_and_blank_rows_are_skipped():
    def edit(sheet):
        sheet.merge_cells("B2:B3")
        sheet.merge_cells("A5:C5")
    rows = read_sheet(workbook([["Họ và tên", "Cơ quan"], ["An", "Sở Nội vụ"], ["Bình"], [], ["Tiêu đề"]], edit=edit),
                      "ds.xlsx").rows
    assert rows == [(1, ["Họ và tên", "Cơ quan"]), (2, ["An", "Sở Nội vụ"]), (3, ["Bình", "Sở Nội vụ"]),
                    (5, ["Tiêu đề"])]


def test_excerpts_are_short_and_printable():
    assert excerpt("a\x00b\nc" + "d" * 100, 8) == "a\\x00b\\x0acddd…"
    assert excerpt(None) == ""
