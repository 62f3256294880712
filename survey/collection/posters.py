"""A collection point's printed invitations: an A4 poster and a table card, each with a QR code.

fpdf2 lays out the page and embeds the DejaVu fonts (they cover every
Vietnamese diacritic); segno draws the QR code. The short address is printed
too, for a citizen whose phone has no QR reader.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
from fpdf import FPDF

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
INVITATION = ("Xin Ông/Bà dành ít phút cho biết mức độ hài lòng với dịch vụ hành chính công vừa sử dụng. "
              "Phiếu không hỏi họ tên, số điện thoại hay địa chỉ; câu trả lời chỉ được tổng hợp.")


def _pdf(orientation: str, format_) -> FPDF:
    pdf = FPDF(orientation=orientation, format=format_)
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    return pdf


def _qr(pdf: FPDF, address: str, *, x: float, y: float, size: float) -> None:
    image = io.BytesIO()
    segno.make(address, error="m").save(image, kind="png", scale=12, border=2)
    image.seek(0)
    pdf.image(image, x=x, y=y, w=size, h=size)


def poster(*, point_name: str, place: str, round_title: str, address: str) -> bytes:
    """An A4 portrait poster for a wall or a counter."""
    pdf = _pdf("portrait", "A4")
    pdf.set_title(f"Khảo sát sự hài lòng — {point_name}")
    pdf.set_margins(18, 18, 18)
    pdf.set_y(20)
    pdf.set_font("DejaVu", "B", 24)
    pdf.multi_cell(0, 11, "Ý KIẾN CỦA ÔNG/BÀ\nGIÚP CẢI THIỆN DỊCH VỤ HÀNH CHÍNH CÔNG", align="C",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 13)
    pdf.multi_cell(0, 7, round_title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 14)
    pdf.multi_cell(0, 7.5, INVITATION, align="C", new_x="LMARGIN", new_y="NEXT")
    size = 110
    _qr(pdf, address, x=(pdf.w - size) / 2, y=pdf.get_y() + 6, size=size)
    pdf.set_y(pdf.get_y() + size + 10)
    pdf.set_font("DejaVu", "", 13)
    pdf.multi_cell(0, 7, "Quét mã QR bằng điện thoại, hoặc nhập địa chỉ:", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(0, 10, address, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 8, point_name, align="C", new_x="LMARGIN", new_y="NEXT")
    if place:
        pdf.set_font("DejaVu", "", 12)
        pdf.multi_cell(0, 6.5, place, align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def table_card(*, point_name: str, place: str, round_title: str, address: str) -> bytes:
    """An A5 landscape card to stand on a counter: QR on the left, the words on the right."""
    pdf = _pdf("landscape", (148, 210))  # A5, in millimetres
    pdf.set_title(f"Thẻ để bàn — {point_name}")
    size = 95
    _qr(pdf, address, x=12, y=(pdf.h - size) / 2, size=size)
    left = 12 + size + 8
    pdf.set_left_margin(left)
    pdf.set_right_margin(10)
    pdf.set_xy(left, 18)
    pdf.set_font("DejaVu", "B", 17)
    pdf.multi_cell(0, 8.5, "Ông/Bà hài lòng với dịch vụ hôm nay?", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 6, "Quét mã QR để trả lời phiếu khảo sát ẩn danh (khoảng 5 phút), hoặc nhập:",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 7, address, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 6.5, point_name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    if place:
        pdf.multi_cell(0, 5.5, place, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5.5, round_title, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
