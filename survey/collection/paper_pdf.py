"""A questionnaire version printed as paper forms: a form number, and a box per option with its code.

The option code is printed next to each box because it is what a clerk
types when the form comes back (survey.collection.paper); the form number
is repeated on every page so that pages separated in a pile can be matched.
A citizens' form carries the administrative procedure (mã thủ tục) like a
response at a collection point: printed beforehand when forms are handed out
at one procedure's counter, or written in by hand.
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


def _procedure(pdf: FPDF, procedure: tuple[str, str] | None) -> None:
    """The procedure the citizen used: printed (code, name), or lines to write them on."""
    pdf.set_font("DejaVu", "B", 9.5)
    pdf.cell(0, 5, "Thủ tục hành chính Ông/Bà vừa thực hiện", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    if procedure is not None:
        code, name = procedure
        pdf.multi_cell(0, 5, f"Mã thủ tục: {code} — {name}", new_x="LMARGIN", new_y="NEXT")
    else:
        y = pdf.get_y()
        pdf.cell(24, 6, "Mã thủ tục:")
        pdf.rect(pdf.get_x(), y + 0.5, 60, 5.5)
        pdf.set_x(pdf.get_x() + 64)
        pdf.cell(0, 6, "(cán bộ hoặc Ông/Bà ghi; để trống nếu không rõ)", new_x="LMARGIN", new_y="NEXT")
        y = pdf.get_y() + 6
        pdf.cell(24, 6, "Tên thủ tục:")
        pdf.line(pdf.l_margin + 24, y, pdf.w - pdf.r_margin, y)
        pdf.set_y(y)
    pdf.ln(3)


def questionnaire_pdf(questionnaire: Questionnaire, *, numbers: list[int | None], subtitle: str = "",
                      asks_procedure: bool = False, procedure: tuple[str, str] | None = None) -> bytes:
    """One copy of the form per entry of ``numbers`` (None: a blank box for the number, written by hand).

    With ``asks_procedure``, each copy names the procedure: ``procedure`` (code, name) printed, or a box.
    """
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
        if asks_procedure:
            _procedure(pdf, procedure)
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
