"""The Ministry bundle is written faster than python-docx and zipfile would write it, and says exactly the same.

The references below are the straightforward ways (python-docx's ``cell.text`` for every cell,
``ZipFile.write`` for every file) that the exports used before; the exports must produce the
same XML and the same archive entries.
"""

from __future__ import annotations

import io
import os
import zipfile
from datetime import UTC, datetime
from types import SimpleNamespace

from docx import Document
from openpyxl import load_workbook

from survey.assessment import exports
from survey.assessment.evidence import path_for
from survey.assessment.models import FrozenVersion

TRICKY = ["", "plain", " leading", "trailing ", "a\tb", "line\nbreak", "cr\rhere", "<b>&amp; “quoted”</b>",
          "\t", "x\n", "Văn bản số 15/KH-UBND, 10/01/2023, UBND tỉnh: Kế hoạch"]


def _evidence(number: int, sha256: str) -> dict:
    return {"id": number, "reference": f"{number}/QĐ, không ghi ngày, UBND: Văn bản {TRICKY[number % len(TRICKY)]}",
            "filename": f"van-ban-{number}.pdf", "sha256": sha256}


def _frozen(evidence: list[dict]) -> FrozenVersion:
    rows = []
    for index, title in enumerate(TRICKY * 3):
        survey = index % 7 == 3
        rows.append({"field": 1 + index % 8, "criterion": "1.1", "code": f"{1 + index % 8}.{index}.1", "title": title,
                     "max_points": 0.5 + index % 3, "survey_scored": survey, "agency": "Sở Nội vụ",
                     "self_points": None if index % 5 == 0 else 0.25 * (index % 3), "survey_points": 0.31 if survey else None,
                     "appraised": None if survey else 0.25, "explanation": "",
                     "evidence": [] if survey else evidence[index % len(evidence):][:3]})
    return FrozenVersion(name="Kết quả thẩm định 2023", frozen_by="chu.tich@example.vn", rows=rows,
                         frozen_at=datetime(2024, 1, 14, 9, 30, tzinfo=UTC))


ROUND = SimpleNamespace(year=2023, province=SimpleNamespace(name="tỉnh Lào Cai"))


def test_the_annex_table_is_the_xml_python_docx_writes_cell_by_cell():
    reference = Document()
    table = reference.add_table(rows=1, cols=6)
    table.style = "Table Grid"
    rows = [tuple(TRICKY[(i + k) % len(TRICKY)] for k in range(6)) for i in range(len(TRICKY))]
    for texts in rows:
        for cell, text in zip(table.add_row().cells, texts):
            cell.text = text
    ours = Document()
    mine = ours.add_table(rows=1, cols=6)
    mine._tbl.tblPr.style = "TableGrid"  # what docx_bytes sets in place of table.style = "Table Grid"
    exports.add_rows(mine, rows)
    assert ours.element.body.xml == reference.element.body.xml
    assert "<w:tab/>" in ours.element.body.xml and "<w:br/>" in ours.element.body.xml


def test_the_report_says_what_python_docx_cell_by_cell_said():
    frozen = _frozen([_evidence(n, f"{n:064x}") for n in range(1, 9)])
    document = Document(io.BytesIO(exports.docx_bytes(ROUND, frozen)))
    annex = document.tables[1]
    assert annex.style.name == "Table Grid"
    expected = [["Mã", "Tiêu chí thành phần", "Tối đa", "Tự đánh giá", "Thẩm định", "Tài liệu kiểm chứng"]]
    for r in frozen.rows:
        if not r["survey_scored"]:
            expected.append([r["code"], r["title"], exports._fmt(r["max_points"]), exports._fmt(r["self_points"]),
                             exports._fmt(r["appraised"]), "; ".join(e["reference"] for e in r["evidence"])])
    # python-docx reads a tab back as a tab and a break (from \n or \r) as \n.
    assert [[c.text for c in row.cells] for row in annex.rows] == [
        [t.replace("\r", "\n") for t in row] for row in expected]


def test_the_evidence_zip_has_the_entries_zipfile_write_gives_and_its_index(tmp_path):
    root = tmp_path / "evidence"
    evidence = []
    for n in range(1, 9):
        data = b"%PDF-1.4\n" + os.urandom(50_000 + n)
        sha = f"{n:064x}"
        path = path_for(sha, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        evidence.append(_evidence(n, sha))
    frozen = _frozen(evidence)
    target = io.BytesIO()
    exports.evidence_zip(frozen, root, target)

    reference = io.BytesIO()
    with zipfile.ZipFile(reference, "w", zipfile.ZIP_STORED) as archive:
        for e in evidence:
            archive.write(path_for(e["sha256"], root), f"tai-lieu/{e['id']:05d}-{e['filename']}")
    ours, theirs = zipfile.ZipFile(target), zipfile.ZipFile(reference)
    assert ours.testzip() is None
    files = [i for i in ours.infolist() if i.filename.startswith("tai-lieu/")]
    assert [(i.filename, i.date_time, i.external_attr, i.compress_type, i.CRC, i.file_size) for i in files] == [
        (i.filename, i.date_time, i.external_attr, i.compress_type, i.CRC, i.file_size) for i in theirs.infolist()]
    assert all(ours.read(i.filename) == theirs.read(i.filename) for i in files)

    sheet = load_workbook(io.BytesIO(ours.read("danh-muc-tai-lieu.xlsx"))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Tệp trong gói", "Số, ký hiệu; ngày; cơ quan ban hành; trích yếu", "Tiêu chí thành phần",
                       "SHA-256")
    codes = {e["id"]: [r["code"] for r in frozen.rows if any(x["id"] == e["id"] for x in r["evidence"])]
             for e in evidence}
    assert rows[1:] == [(f"tai-lieu/{e['id']:05d}-{e['filename']}", e["reference"],
                         ", ".join(codes[e["id"]]), e["sha256"]) for e in evidence]


def test_each_report_starts_from_a_blank_document():
    # The template is parsed once per process and copied: a report must not see the one before.
    first = Document(io.BytesIO(exports.docx_bytes(ROUND, _frozen([_evidence(1, "1" * 64)]))))
    other = _frozen([_evidence(n, f"{n:064x}") for n in range(2, 5)])
    second = Document(io.BytesIO(exports.docx_bytes(ROUND, other)))
    for document in (first, second):
        assert len(document.tables) == 2  # the letterhead and the annex, nothing left over
        assert len(document.paragraphs) == 3
    assert [row.cells[0].text for row in second.tables[1].rows[1:]] == [
        r["code"] for r in other.rows if not r["survey_scored"]]
