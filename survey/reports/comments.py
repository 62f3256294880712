"""Open comments: the free-text answers of a round, per group and question, for analysts only.

A comment is the one answer a respondent writes in their own words, so it can name them (their
post, their agency, an incident only they know of). What leaves here is therefore cut down to the
words and where they were asked:

- only groups with at least ``min_cell`` responses (the analysis pages' *k*); a smaller group's
  texts are not even read from the database;
- no response id, week or time is read, and each list is sorted alphabetically. Storage order
  follows submission order, and any order shared by the questions (storage, response id) puts one
  person at matching places in every list, which links their comments together. Sorting by the
  words carries neither; it is chosen over shuffling because it is stable, so the page, the files
  and the tests agree from one request to the next.

Rows are read with SQLAlchemy Core into plain tuples: no DataFrame, nothing for ``analysis``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires import Catalog, Questionnaire
from survey.accounts.services import record
from survey.reports import frames
from survey.reports.computation import Computed
from survey.respond.models import Answer
from survey.rounds.models import Round
from survey.spreadsheets import SheetSpec, write_xlsx

SHEET_TITLE = "Ý kiến"
HEADER = ["Nhóm đối tượng", "Mã câu hỏi", "Câu hỏi", "Ý kiến"]
WARNING = ("Người trả lời có thể đã viết những chi tiết giúp nhận ra họ (tên, chức vụ, cơ quan, sự việc cụ thể). "
           "Các ý kiến này chỉ để phân tích nội bộ: không công bố nguyên văn; khi trích dẫn phải bỏ mọi chi tiết "
           "nhận dạng.")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class QuestionComments:
    group: str
    group_label: str
    question: str
    question_text: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class RoundComments:
    min_cell: int
    questions: list[QuestionComments]
    withheld: list[str]  # labels of the groups below k, whose comments are not shown

    def rows(self) -> list[list[str]]:
        return [[q.group_label, q.question, q.question_text, text] for q in self.questions for text in q.texts]


def _sort_key(text: str) -> tuple[str, str]:
    # Decomposed, so that "ảnh" sorts among the a's rather than after "z" as its code point would.
    return unicodedata.normalize("NFD", text.casefold()), text


def comments_of(session: Session, round_: Round, questionnaires: dict[str, Questionnaire],
                response_counts: dict[str, int], min_cell: int) -> RoundComments:
    """The round's comments, from the questionnaires and response counts the caller already has."""
    shown = [g for g in round_.groups if response_counts.get(g.code, 0) >= min_cell]
    withheld = [g.label for g in round_.groups if response_counts.get(g.code, 0) < min_cell]
    # Profile questions describe the person, not the administration: never listed even if free text.
    asked = {g.id: [q for q in questionnaires[g.code].questions if q.kind == "text" and not q.is_profile]
             for g in shown}
    codes = sorted({q.code for questions in asked.values() for q in questions})
    texts: dict[tuple[int, str], list[str]] = {}
    if codes:
        rows = session.execute(
            select(Answer.group_id, Answer.question_code, Answer.text_value)
            .where(Answer.group_id.in_(list(asked)), Answer.question_code.in_(codes), Answer.text_value.is_not(None))
        )
        for group_id, code, text in rows:
            if text.strip():
                texts.setdefault((group_id, code), []).append(text.strip())
    questions = [
        QuestionComments(g.code, g.label, q.code, q.text, tuple(sorted(texts.get((g.id, q.code), []), key=_sort_key)))
        for g in shown for q in asked[g.id]
    ]
    return RoundComments(min_cell, questions, withheld)


def round_comments(session: Session, round_: Round, catalog: Catalog, min_cell: int) -> RoundComments:
    """The round's comments for the page and the download (reads only questionnaires and counts)."""
    return comments_of(session, round_, frames.round_questionnaires(round_, catalog),
                       frames.response_counts(session, round_), min_cell)


def _sheet(comments: RoundComments) -> SheetSpec:
    return SheetSpec(SHEET_TITLE, header=HEADER, rows=comments.rows(), widths=[24, 12, 48, 80],
                     title_rows=[[WARNING], [f"Chỉ gồm các nhóm có từ {comments.min_cell} phiếu trở lên."]])


def comments_workbook(session: Session, round_: Round, catalog: Catalog, min_cell: int) -> tuple[bytes, str, str]:
    """The comments as an .xlsx download, its name and MIME type; the download is audited."""
    comments = round_comments(session, round_, catalog, min_cell)
    record(session, "reports.export_comments", target="y-kien.xlsx", round_id=round_.id,
           province_id=round_.province_id, details={"min_cell": min_cell, "comments": len(comments.rows())})
    return write_xlsx([_sheet(comments)]), f"dot-{round_.id}-y-kien.xlsx", XLSX


def add_comments_sheet(session: Session, round_: Round, computed: Computed, path: Path) -> None:
    """Append the "Ý kiến" sheet to the analysis workbook at ``path``, with the workbook's own k."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    spec = _sheet(comments_of(session, round_, computed.frames.questionnaires, computed.response_counts,
                              computed.result.options.min_cell))
    book = openpyxl.load_workbook(path)
    sheet = book.create_sheet(spec.title)
    lines = [*spec.title_rows, spec.header, *spec.rows]
    bold = {1, len(spec.title_rows) + 1}
    for number, values in enumerate(lines, start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(number, column, value)
            # The workbook is pandas' (analysis.report), not write_xlsx's: openpyxl would make a
            # formula of a comment starting with "=", so the cell is declared text as write_xlsx does.
            cell.data_type = "s"
            if number in bold:
                cell.font = Font(bold=True)
    for column, width in enumerate(spec.widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = f"A{len(spec.title_rows) + 2}"
    book.save(path)
