"""The reports' table: every word printed, long text wrapped inside its column, headings repeated per page."""

import subprocess

from fpdf import FPDF

from analysis.pdf_table import draw_table
from analysis.report import dejavu_font_path

LONG = ("Hiệu quả chỉ đạo, điều hành cải cách hành chính của Ủy ban nhân dân tỉnh đối với các sở, ban, ngành "
        "và Ủy ban nhân dân cấp huyện trên địa bàn")


def _pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(dejavu_font_path()))
    pdf.add_font("DejaVu", "B", str(dejavu_font_path(bold=True)))
    pdf.add_page()
    pdf.set_font("DejaVu", "", 9)
    return pdf


def _pages(pdf: FPDF, tmp_path) -> list[str]:
    path = tmp_path / "table.pdf"
    pdf.output(str(path))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    return text.split("\f")[:pdf.page_no()]


def test_rows_past_a_page_repeat_the_headings_and_keep_every_word(tmp_path):
    pdf = _pdf()
    rows = [(f"{i}.1.1", LONG if i % 10 == 0 else f"Tiêu chí {i}", f"{i / 4:.2f}") for i in range(1, 91)]
    draw_table(pdf, ("Mã", "Tiêu chí thành phần", "Điểm tối đa"), rows, (20, 60, 30), ("LEFT", "LEFT", "RIGHT"),
               line_height=4.6, padding=1, heading_fill=(230, 230, 230))
    pages = _pages(pdf, tmp_path)
    assert len(pages) >= 2
    for page in pages:
        assert "Tiêu chí thành phần" in page and "Điểm tối đa" in page
    text = "\n".join(pages)
    for code, title, points in rows:
        assert code in text and points in text
        if title != LONG:
            assert title in text
    # a 60 mm column cannot hold the long title on one line: it is wrapped, every word printed, in order
    assert LONG not in text
    tokens = iter(text[text.index("10.1.1"):].split())
    assert all(word in tokens for word in LONG.split())
    assert pdf.x == pdf.l_margin


def test_a_short_table_stays_together_with_its_headings(tmp_path):
    pdf = _pdf()
    pdf.set_y(pdf.page_break_trigger - 8)  # room for the headings, not for the headings and a row
    draw_table(pdf, ("Mã", "Điểm"), [("1.1.1", "0.50")], (20, 30), ("LEFT", "RIGHT"), line_height=6, padding=0)
    first, second = _pages(pdf, tmp_path)
    assert "Mã" not in first and "Mã" in second and "1.1.1" in second
