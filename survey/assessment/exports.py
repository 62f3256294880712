"""What goes to the Ministry, written from a frozen version only: report (.docx, PDF), annex (.xlsx), evidence (.zip).

Every function reads the frozen rows, never the live tables, so a document downloaded twice
says the same thing even if someone edits afterwards.
"""

from __future__ import annotations

import copy
import functools
import io
import zipfile
from pathlib import Path

from analysis.pdf_table import draw_table
from survey.assessment.evidence import path_for
from survey.assessment.models import FrozenVersion
from survey.rounds.models import Round
from survey.spreadsheets import SheetSpec, write_xlsx
from survey.timeutil import VIETNAM

NATIONAL_MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
ANNEX_HEADER = ("Mã", "Tiêu chí thành phần", "Cơ quan chủ trì", "Điểm tối đa", "Điểm tự đánh giá",
                "Điểm thẩm định", "Điểm điều tra XHH", "Tài liệu kiểm chứng")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _fmt(value) -> str:
    return "" if value is None else f"{value:g}".replace(".", ",")


def summary(frozen: FrozenVersion) -> dict:
    rows = frozen.rows
    self_total = round(sum(r["appraised"] or 0 for r in rows if not r["survey_scored"]), 2)
    self_max = round(sum(r["max_points"] for r in rows if not r["survey_scored"]), 2)
    return {"self_total": self_total, "self_max": self_max,
            "self_assessed": round(sum(r["self_points"] or 0 for r in rows if not r["survey_scored"]), 2)}


def _frozen_line(frozen: FrozenVersion) -> str:
    return f"Phiên bản “{frozen.name}”, chốt lúc {frozen.frozen_at.astimezone(VIETNAM):%H:%M %d/%m/%Y} bởi {frozen.frozen_by}"


def add_rows(table, rows: list[tuple[str, ...]]) -> None:
    """Append ``rows`` of text to a python-docx ``table``: the XML ``row.cells[i].text = text`` would write.

    python-docx builds every cell element by element and every text character by character
    (about 157,000 Python calls for the 61-row annex, most of the report's time). Here one row
    is built by python-docx, emptied, and deep-copied (in C) for each row; each cell's run gets
    the ``<w:t>`` python-docx's ``add_t`` would append, or goes through python-docx's ``text``
    setter when the text has a tab or a line break, which become ``<w:tab/>`` and ``<w:br/>``.
    tests/assessment/test_exports.py compares the XML with python-docx's own.
    """
    from docx.oxml.ns import qn
    from lxml import etree

    t_tag, space = qn("w:t"), qn("xml:space")

    if not rows:
        return
    template = table.add_row()
    for cell in template.cells:
        cell.text = ""  # <w:tc><w:tcPr/><w:p><w:r/></w:p></w:tc>, as the setter leaves it before the text
    model = template._tr
    table._tbl.remove(model)
    for texts in rows:
        tr = copy.deepcopy(model)
        for run, text in zip(tr.iter(qn("w:r")), texts, strict=True):
            if not text:
                continue
            if "\t" in text or "\n" in text or "\r" in text:
                run.text = text
            else:
                t = etree.SubElement(run, t_tag)
                t.text = text
                if len(text.strip()) < len(text):
                    t.set(space, "preserve")
        table._tbl.append(tr)


@functools.cache
def _template():
    """python-docx's blank document, parsed once per process; never handed out, only copied."""
    from docx import Document

    return Document()


def docx_bytes(round_: Round, frozen: FrozenVersion) -> bytes:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    # Document() parses the template's 17 parts (800 KB of styles) for every report, 15 ms; a
    # deep copy of the parsed one costs 5. Each report gets its own copy: nothing is shared.
    document = copy.deepcopy(_template())
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = f"UBND {round_.province.name.upper()}"
    table.cell(1, 0).text = "Số:      /BC-UBND"
    table.cell(0, 1).text = NATIONAL_MOTTO[0]
    table.cell(1, 1).text = NATIONAL_MOTTO[1]
    for cell in (table.cell(0, 0), table.cell(0, 1), table.cell(1, 1)):
        for paragraph in cell.paragraphs:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            for run in paragraph.runs:
                run.bold = True
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.add_run(f"BÁO CÁO\nKết quả tự đánh giá, chấm điểm Chỉ số cải cách hành chính năm {round_.year}").bold = True
    totals = summary(frozen)
    document.add_paragraph(_frozen_line(frozen) + ".")
    document.add_paragraph(f"Tổng điểm tự đánh giá sau thẩm định: {_fmt(totals['self_total'])}/{_fmt(totals['self_max'])} "
                           f"(các cơ quan tự chấm: {_fmt(totals['self_assessed'])}).")
    annex = document.add_table(rows=1, cols=6)
    # annex.style = "Table Grid" would search the styles part twice for it; its id is TableGrid.
    annex._tbl.tblPr.style = "TableGrid"
    for cell, text in zip(annex.rows[0].cells, ("Mã", "Tiêu chí thành phần", "Tối đa", "Tự đánh giá", "Thẩm định",
                                                "Tài liệu kiểm chứng")):
        cell.text = text
    add_rows(annex, [(r["code"], r["title"], _fmt(r["max_points"]), _fmt(r["self_points"]), _fmt(r["appraised"]),
                      "; ".join(e["reference"] for e in r["evidence"])) for r in frozen.rows if not r["survey_scored"]])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_bytes(round_: Round, frozen: FrozenVersion) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(DEJAVU / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(DEJAVU / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(80, 6, f"UBND {round_.province.name.upper()}", align="C")
    pdf.cell(0, 6, NATIONAL_MOTTO[0], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(80, 6, "")
    pdf.cell(0, 6, NATIONAL_MOTTO[1], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 7, f"BÁO CÁO kết quả tự đánh giá, chấm điểm Chỉ số CCHC năm {round_.year}", align="C",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    totals = summary(frozen)
    pdf.multi_cell(0, 5, _frozen_line(frozen) + f". Tổng điểm sau thẩm định: {_fmt(totals['self_total'])}/"
                   f"{_fmt(totals['self_max'])}.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    # The layout table() gave: columns as shares of the page width, lines twice the font size.
    draw_table(pdf, ("Mã", "Tiêu chí thành phần", "Tối đa", "Tự đánh giá", "Thẩm định"),
               [(r["code"], r["title"], _fmt(r["max_points"]), _fmt(r["self_points"]), _fmt(r["appraised"]))
                for r in frozen.rows if not r["survey_scored"]],
               [pdf.epw * w / 160 for w in (14, 90, 16, 20, 20)], ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
               line_height=2 * pdf.font_size, padding=0)
    return bytes(pdf.output())


def xlsx_bytes(round_: Round, frozen: FrozenVersion) -> bytes:
    # Through write_xlsx: a title or a document summary typed as "=..." stays text, never a formula.
    return write_xlsx([SheetSpec(
        "Phụ biểu",
        title_rows=[[f"Phụ biểu: điểm tự đánh giá và thẩm định Chỉ số CCHC năm {round_.year} — {round_.province.name}"],
                    [_frozen_line(frozen)]],
        header=ANNEX_HEADER,
        rows=[[r["code"], r["title"], r["agency"], r["max_points"], r["self_points"], r["appraised"],
               r["survey_points"], "; ".join(e["reference"] for e in r["evidence"])] for r in frozen.rows],
        widths=(8, 60, 28, 10, 12, 12, 12, 80))])


def _store(archive: zipfile.ZipFile, path: Path, name: str, buffer: bytearray) -> None:
    """``archive.write(path, name)``, stored, read into ``buffer`` (reused for every file) rather than new bytes.

    Stored, not deflated: PDFs, pictures and Office files are compressed already. ``write`` reads
    the file 8 KB at a time into new bytes objects; a mapping saves that copy but pays page faults
    and an unmapping per file. Reading into one buffer that stays in the processor's cache is the
    cheapest (500 files of 200 KB: 160 ms against 190 mapped and 215 through ``write``). Each byte
    is read once: the CRC and the copy into the archive both take it from the buffer. The entry is
    the same: name, time, attributes, bytes.
    """
    info = zipfile.ZipInfo.from_file(path, name)
    info.compress_type = zipfile.ZIP_STORED
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as source, archive.open(info, "w") as entry:
        while size := source.readinto(buffer):
            entry.write(view[:size])


def evidence_zip(frozen: FrozenVersion, root: Path, target) -> None:
    """Every document once, named by its id, with an index sheet linking it to its sub-criteria."""
    documents: dict[int, dict] = {}
    for r in frozen.rows:
        for e in r["evidence"]:
            documents.setdefault(e["id"], {**e, "codes": []})["codes"].append(r["code"])
    index = []
    buffer = bytearray(1 << 20)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for doc_id, e in sorted(documents.items()):
            name = f"tai-lieu/{doc_id:05d}-{e['filename']}"
            _store(archive, path_for(e["sha256"], root), name, buffer)
            index.append([name, e["reference"], ", ".join(e["codes"]), e["sha256"]])
        archive.writestr("danh-muc-tai-lieu.xlsx", write_xlsx([SheetSpec(
            "Danh mục", header=["Tệp trong gói", "Số, ký hiệu; ngày; cơ quan ban hành; trích yếu",
                                "Tiêu chí thành phần", "SHA-256"], rows=index)]))


KINDS = {
    "docx": ("bao-cao-tu-danh-gia.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "pdf": ("bao-cao-tu-danh-gia.pdf", "application/pdf"),
    "xlsx": ("phu-bieu-diem.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "zip": ("tai-lieu-kiem-chung.zip", "application/zip"),
}


def render(kind: str, round_: Round, frozen: FrozenVersion, root: Path) -> tuple[io.BytesIO, str, str]:
    filename, mimetype = KINDS[kind]
    if kind == "docx":
        data = io.BytesIO(docx_bytes(round_, frozen))
    elif kind == "pdf":
        data = io.BytesIO(pdf_bytes(round_, frozen))
    elif kind == "xlsx":
        data = io.BytesIO(xlsx_bytes(round_, frozen))
    else:
        data = io.BytesIO()
        evidence_zip(frozen, root, data)
        data.seek(0)
    return data, f"{round_.year}-{filename}", mimetype
