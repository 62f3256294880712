"""Importing a round's self-assessment points (services flush, never commit)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from analysis.par import SelfAssessmentError, self_assessment_table, validate_self_assessment
from questionnaires import Catalog
from survey.accounts.services import record
from survey.reports import frames
from survey.reports.models import SelfAssessment
from survey.rounds.models import Round
from survey.spreadsheets import Limits, SpreadsheetRefused, read_sheet

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# A points sheet has one row per sub-criterion (88) and two columns that matter: anything far
# larger is not one, and the bounded reader refuses it before any work (a stray cell at column
# XFD once cost gigabytes through pandas' padding).
UPLOAD_LIMITS = Limits(file_bytes=MAX_UPLOAD_BYTES, rows=2_000, columns=30, cell_chars=1_000)

_PROBLEM_VI = {
    "empty": "thiếu mã tiêu chí thành phần",
    "unknown": "mã tiêu chí thành phần không có trong bộ tiêu chí",
    "survey_scored": "tiêu chí thành phần này chấm bằng điều tra xã hội học, không tự đánh giá",
    "not_number": "điểm không phải là số",
    "negative": "điểm âm",
}


class SelfAssessmentImportError(ValueError):
    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


def _problem_vi(detail: dict) -> str:
    code = detail["subcriterion"] or ""
    if detail["kind"] == "duplicate":
        rows = ", ".join(str(r + 1) for r in detail["rows"])
        return f"Dòng {rows}: mã {code} xuất hiện nhiều lần."
    text = _PROBLEM_VI.get(detail["kind"]) or f"điểm vượt quá điểm tối đa {detail['max_points']:g}"
    # +1: row 1 of the file is the header, the library counts data rows from 1.
    return f"Dòng {detail['row'] + 1} (mã {code!r}, điểm {detail['value']!r}): {text}."


def import_self_assessment(session: Session, round_: Round, catalog: Catalog, filename: str, data: bytes
                           ) -> int:
    """Replace the round's self-assessment points with a validated file; nothing is written on error."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise SelfAssessmentImportError(["Chỉ nhận tệp .xlsx hoặc .csv."])
    if not data:
        raise SelfAssessmentImportError(["Tệp rỗng."])
    if len(data) > MAX_UPLOAD_BYTES:
        raise SelfAssessmentImportError(["Tệp lớn hơn 2 MB."])
    structure = frames.round_structure(frames.round_questionnaires(round_, catalog), catalog)
    if structure is None:
        raise SelfAssessmentImportError(["Đợt khảo sát không dùng bộ tiêu chí Chỉ số CCHC nào."])
    try:
        rows = [values for _, values in read_sheet(data, filename, limits=UPLOAD_LIMITS).rows]
    except SpreadsheetRefused as refusal:
        raise SelfAssessmentImportError([str(refusal)]) from None
    width = max(len(values) for values in rows)
    header, *body = [values + [None] * (width - len(values)) for values in rows]
    try:
        sheet = self_assessment_table(pd.DataFrame(body, columns=[str(h) if h is not None else "" for h in header]))
    except ValueError:
        raise SelfAssessmentImportError(['Tệp cần hai cột có tiêu đề "Mã tiêu chí" và "Điểm".']) from None
    if sheet.empty:
        raise SelfAssessmentImportError(["Tệp không có dòng điểm nào."])
    try:
        valid = validate_self_assessment(sheet, frames.structure_frame(structure))
    except SelfAssessmentError as problem:
        raise SelfAssessmentImportError([_problem_vi(d) for d in problem.details]) from None
    session.execute(delete(SelfAssessment).where(SelfAssessment.round_id == round_.id))
    for code, points in valid.itertuples(index=False):
        session.add(SelfAssessment(round_id=round_.id, subcriterion=code, points=float(points),
                                   structure_key=structure.key, structure_version=structure.version,
                                   source_filename=Path(filename).name[:255]))
    session.flush()
    record(session, "reports.self_assessment_import", target=Path(filename).name[:255], round_id=round_.id,
           province_id=round_.province_id, details={"rows": len(valid)})
    return len(valid)


def self_assessment_rows(session: Session, round_: Round) -> list[SelfAssessment]:
    return list(session.scalars(select(SelfAssessment).where(SelfAssessment.round_id == round_.id)
                                .order_by(SelfAssessment.subcriterion)))
