"""A questionnaire version printed as paper forms: a form number, and a box per option with its code.

The option code is printed next to each box because it is what a clerk
types when the form comes back (survey.collection.paper); the form number
is repeated on every page so that pages separated in a pile can be matched.
"""

from __future__ import annotations

from fpdf import FPDF

from questionnaires import Question, Questionnaire
from survey.collection.posters import FONT_DIR

BOX = 3.6  # mm, a box to tick
MAX_COPIES = 500
INSTRUCTION = ("Xin Ông/Bà đánh dấu X vào ô tương ứng với câu trả lời. Phiếu không hỏi họ tên, "
               "số điện thoại hay địa chỉ; câu trả lời chỉ được tổng hợp thành số liệu thống kê.")


class _Form(FPDF):
    number_text = ""
    title_text = ""

    def header(self):
        self.set_font("DejaVu", "", 8)
        self.set_text_color(90)
        self.cell(130, 5, self.title_text[:95], new_x="RIGHT", new_y="TOP")
        self.set_font("DejaVu", "B", 10)
        self.set_text_color(0)
        self.cell(0, 5, f"Số phiếu: {self.number_text}", align="R", new_x="LMARGIN", new_y="NEXT")
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(3)

    def footer(self):
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(90)
        self.cell(0, 5, f"Phiếu số {self.number_text} · trang {self.page_no() - self.first_page + 1}", align="C")
        self.set_text_color(0)


def _needed_height(pdf: FPDF, question: Question, width: float) -> float:
    lines = len(pdf.multi_cell(width, 5, f"{question.code}. {question.text}", dry_run=True, output="LINES"))
    if question.kind == "text":
        return lines * 5 + 20
    return lines * 5 + 6 * ((len(question.scale.options) + 1) // 2) + 3


def _question(pdf: FPDF, question: Question) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    if pdf.get_y() + _needed_height(pdf, question, width) > pdf.h - 16:
        pdf.add_page()
    pdf.set_font("DejaVu", "B", 9.5)
    pdf.multi_cell(0, 5, f"{question.code}. {question.text}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    if question.kind == "text":
        for _ in range(3):
            y = pdf.get_y() + 5.5
            pdf.line(pdf.l_margin + 2, y, pdf.w - pdf.r_margin, y)
            pdf.set_y(y)
        pdf.ln(3)
        return
    if question.kind == "multi":
        pdf.set_font("DejaVu", "", 8)
        limit = f"tối đa {question.max_choices} " if question.max_choices else ""
        pdf.cell(0, 4, f"(Có thể chọn {limit}nhiều phương án)", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)
    column = width / 2
    for index, option in enumerate(question.scale.options):
        x = pdf.l_margin + 2 + (index % 2) * column
        if index % 2 == 0 and index:
            pdf.ln(6)
        y = pdf.get_y()
        pdf.rect(x, y + 0.7, BOX, BOX)
        pdf.set_xy(x + BOX + 1.5, y)
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(7, 5, option.code)
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(column - BOX - 11, 5, _fit(pdf, option.label, column - BOX - 11))
        pdf.set_xy(pdf.l_margin, y)
    pdf.ln(8)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def questionnaire_pdf(questionnaire: Questionnaire, *, numbers: list[int | None], subtitle: str = "") -> bytes:
    """One copy of the form per entry of ``numbers`` (None: a blank box for the number, written by hand)."""
    pdf = _Form(orientation="portrait", format="A4")
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_margins(14, 12, 14)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_title(questionnaire.title)
    pdf.title_text = f"{questionnaire.key} {questionnaire.version}"
    for number in numbers:
        pdf.number_text = f"{number:06d}" if number is not None else "……………"
        pdf.add_page()
        pdf.first_page = pdf.page_no()
        pdf.set_font("DejaVu", "B", 12)
        pdf.multi_cell(0, 6, questionnaire.title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
        if subtitle:
            pdf.set_font("DejaVu", "", 9.5)
            pdf.multi_cell(0, 5, subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(0, 4.6, INSTRUCTION, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for section in questionnaire.sections:
            if pdf.get_y() > pdf.h - 50:
                pdf.add_page()
            pdf.set_fill_color(235)
            pdf.set_font("DejaVu", "B", 10.5)
            pdf.multi_cell(0, 6, section.title, fill=True, new_x="LMARGIN", new_y="NEXT")
            if section.description:
                pdf.set_font("DejaVu", "", 8.5)
                pdf.multi_cell(0, 4.5, section.description, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
            for question in section.questions:
                _question(pdf, question)
        pdf.set_font("DejaVu", "B", 10)
        pdf.multi_cell(0, 6, "Xin trân trọng cảm ơn Ông/Bà!", align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
