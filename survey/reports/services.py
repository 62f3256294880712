"""Computing a round's results and producing its exports (services flush, never commit)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from analysis import (AnalysisOptions, RoundResult, compare_distributions, compare_scores, compute_round,
                      read_self_assessment)
from analysis.charts import answer_distribution_chart, field_points_chart, sipas_elements_chart
from analysis.par import SelfAssessmentError, validate_self_assessment
from analysis.pdf_report import GroupCount, Issuer, write_report_pdf
from analysis.report import write_csvs, write_sav, write_workbook
from questionnaires import Catalog
from survey.accounts.services import record
from survey.reports import frames
from survey.reports.models import SelfAssessment
from survey.respond.models import Answer
from survey.rounds.models import Round
from survey.timeutil import VIETNAM, utcnow

OPTION_CHOICES = {
    "dont_know": {"exclude": "Loại trừ (không tính)", "zero": "Tính là 0 điểm"},
    "pooling": {"equal": "Trọng số bằng nhau", "size": "Theo số câu trả lời của nhóm"},
    "weighting": {"none": "Không gia quyền", "group": "Gia quyền hậu phân tầng theo nhóm"},
}
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class OptionsError(ValueError):
    """Analysis options that cannot be used; the message is Vietnamese."""


def parse_options(args: Mapping[str, str]) -> AnalysisOptions:
    """Options from a form or query string; defaults for what is absent."""
    values = {}
    for name, choices in OPTION_CHOICES.items():
        value = (args.get(name) or "").strip()
        if value:
            if value not in choices:
                raise OptionsError(f"Giá trị không hợp lệ cho tùy chọn {name}: {value!r}.")
            values[name] = value
    k = (args.get("min_cell") or "").strip()
    if k:
        if not k.isdigit() or not 1 <= int(k) <= 100:
            raise OptionsError("Ngưỡng ẩn ô nhỏ (k) phải là số nguyên từ 1 đến 100.")
        values["min_cell"] = int(k)
    return AnalysisOptions(**values)


def options_query(options: AnalysisOptions) -> dict[str, str]:
    """The options as URL parameters, so that downloads and charts use what the page showed."""
    return {"dont_know": options.dont_know, "pooling": options.pooling, "weighting": options.weighting,
            "min_cell": str(options.min_cell)}


@dataclass
class Computed:
    result: RoundResult
    frames: frames.RoundFrames
    response_counts: dict[str, int]
    roster_counts: dict[str, int]


def compute(session: Session, round_: Round, catalog: Catalog, options: AnalysisOptions | None = None, *,
            reliability: bool = False, progress: Callable[[str], None] | None = None) -> Computed:
    """Every index of the round from database counts (reliability streams responses when asked)."""
    options = options or AnalysisOptions()
    notify = progress or (lambda step: None)
    notify("counts")
    data = frames.round_frames(session, round_, catalog)
    if options.weighting == "group":
        _check_weighting(data)
    wide = frames.responses_wide(session, round_, data.items) if reliability else None
    previous = _previous_par(session, round_, catalog, options) if data.self_assessment is not None else None
    result = compute_round(
        data.counts, data.items, data.structure, options, data.provenance,
        responses_wide=wide,
        self_assessment=data.self_assessment,
        group_sizes=data.group_sizes if options.weighting == "group" else None,
        progress=notify,
        sipas_respondents=data.sipas_respondents or None,
        previous=previous[1] if previous else None,
    )
    if previous:
        result.provenance["previous_round"] = {"round_id": previous[0].id, "title": previous[0].title,
                                               "year": previous[0].year}
    if options.weighting == "group":
        result.notes.append("Gia quyền theo nhóm đối tượng; không thể gia quyền theo cơ quan vì phiếu trả lời "
                            "ẩn danh không gắn với cơ quan.")
    return Computed(result, data, data.response_counts, data.roster_counts)


def _check_weighting(data: frames.RoundFrames) -> None:
    """Post-stratification needs a roster count for every group that answered, at least its responses."""
    problems = []
    for group, n in data.response_counts.items():
        roster = data.roster_counts[group]
        if n and roster < n:
            problems.append(f"nhóm {group}: {n} phiếu nhưng danh sách chỉ có {roster} người")
    if problems or not any(data.response_counts.values()):
        raise OptionsError("Không thể gia quyền theo nhóm: " + ("; ".join(problems) or "chưa có phiếu trả lời") + ".")


def _previous_par(session: Session, round_: Round, catalog: Catalog, options: AnalysisOptions):
    """(round, PAR score) of the province's latest earlier round with self-assessment points, if any."""
    earlier = session.scalars(
        select(Round).where(Round.province_id == round_.province_id, Round.year < round_.year,
                            Round.id.in_(select(SelfAssessment.round_id)))
        .order_by(Round.year.desc(), Round.id.desc())
    ).first()
    if earlier is None:
        return None
    data = frames.round_frames(session, earlier, catalog)
    result = compute_round(data.counts, data.items, data.structure, options, data.provenance,
                           self_assessment=data.self_assessment,
                           group_sizes=data.group_sizes if options.weighting == "group" else None)
    return earlier, result.par


# --- self-assessment ---------------------------------------------------------------------------

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
        sheet = read_self_assessment(io.BytesIO(data), format=suffix[1:])
    except ValueError as problem:
        if "lacks column" in str(problem):
            raise SelfAssessmentImportError(
                ['Tệp cần hai cột có tiêu đề "Mã tiêu chí" và "Điểm".']) from None
        raise SelfAssessmentImportError(["Không đọc được tệp: kiểm tra định dạng .xlsx/.csv."]) from None
    except Exception:  # a damaged workbook raises zip/XML errors from openpyxl
        raise SelfAssessmentImportError(["Không đọc được tệp: kiểm tra định dạng .xlsx/.csv."]) from None
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


def field_breakdown(computed: Computed, field) -> list[dict]:
    """Criterion -> sub-criterion -> question rows of one field, for the drill-down page."""
    result = computed.result
    points, items, freq = result.subcriterion_points, result.item_scores, result.frequencies
    out = []
    for criterion in field.criteria:
        subs = []
        for sub in criterion.subcriteria:
            questions = []
            for item in items[items["subcriterion"] == sub.code].to_dict("records"):
                q = computed.frames.questionnaires[item["group"]].question(item["question"])
                rows = freq[(freq["group"] == item["group"]) & (freq["question"] == item["question"])]
                options = [{**f, "label": (q.scale.option(f["option"]).label if q and q.scale and
                                           q.scale.option(f["option"]) else f["option"])}
                           for f in rows.to_dict("records")]
                questions.append({**item, "text": q.text if q else "", "options": options,
                                  "chartable": not rows["suppressed"].any()})
            subs.append({"model": sub, "rows": points[points["subcriterion"] == sub.code].to_dict("records"),
                         "questions": questions, "comparisons": group_comparisons(computed, sub.code)})
        out.append({"model": criterion, "subcriteria": subs})
    return out


def group_comparisons(computed: Computed, subcriterion: str) -> list[dict]:
    """Do groups answer a question differently?  Chi-square and Kruskal-Wallis, with effect sizes.

    Only groups with at least k responses to the question take part (the test of a
    small group against the others would describe that small group).
    """
    result = computed.result
    k = result.options.min_cell
    items = computed.frames.items
    scores = result.item_scores
    here = scores[(scores["subcriterion"] == subcriterion) & (scores["n_responses"] >= k)]
    counts = computed.frames.counts
    out = []
    for question, rows in here.groupby("question", sort=True):
        groups = sorted(set(rows["group"]))
        if len(groups) < 2:
            continue
        c = counts[(counts["question"] == question) & counts["group"].isin(groups)]
        it = items[(items["question"] == question) & items["group"].isin(groups)]
        dist = compare_distributions(c, it, question)
        score = compare_scores(c, it, question)
        out.append({"question": question, "groups": groups, "chi2": dist.chi2, "dof": dist.dof,
                    "p_chi2": dist.p_value, "cramers_v": dist.cramers_v, "min_expected": dist.min_expected,
                    "h": score.h, "p_kw": score.p_value, "epsilon_squared": score.epsilon_squared})
    return out


# --- charts -----------------------------------------------------------------------------------

def chart(computed: Computed, name: str, question: str | None = None, group: str | None = None) -> Figure | None:
    """A figure of the round, or None when it does not exist (unknown name, or a suppressed cell)."""
    result = computed.result
    if name == "fields" and computed.frames.structure_model is not None:
        return field_points_chart(result.field_totals, min_cell=result.options.min_cell)
    if name == "sipas":
        if result.sipas is None:
            return None
        return sipas_elements_chart(result.sipas.elements, min_cell=result.options.min_cell)
    if name == "question" and question and group:
        freq = result.frequencies
        rows = freq[(freq["group"] == group) & (freq["question"] == question)]
        if rows.empty or rows["suppressed"].any():
            return None  # a chart of a small cell would publish what the table hides
        q = computed.frames.questionnaires[group].question(question)
        labels = {o.code: o.label for o in q.scale.options} if q and q.scale else {}
        return answer_distribution_chart(rows[["group", "option", "n"]], labels,
                                         title=f"{question}. {q.text}" if q else question,
                                         group_labels=computed.frames.group_labels)
    return None


# --- exports ----------------------------------------------------------------------------------

EXPORTS = {
    "xlsx": ("ket-qua.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": ("ket-qua-csv.zip", "application/zip"),
    "sav": ("phieu-an-danh.sav", "application/x-spss-sav"),
    "pdf": ("bao-cao.pdf", "application/pdf"),
}


def _figures(computed: Computed) -> dict[str, Figure]:
    figures = {"Điểm theo lĩnh vực": chart(computed, "fields"), "Chỉ số hài lòng SIPAS": chart(computed, "sipas")}
    return {title: figure for title, figure in figures.items() if figure is not None}


def export_bytes(session: Session, round_: Round, computed: Computed, kind: str) -> tuple[bytes, str, str]:
    """The file of one export kind, its download name and MIME type; the export is audited."""
    if kind not in EXPORTS:
        raise KeyError(kind)
    name, mimetype = EXPORTS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if kind == "xlsx":
            write_workbook(path, computed.result)
        elif kind == "csv":
            written = write_csvs(Path(tmp) / "csv", computed.result)
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in written:
                    archive.write(file, file.name)
        elif kind == "sav":
            write_anonymised_sav(session, round_, computed, path)
        else:
            groups = [GroupCount(g.code, g.label, computed.response_counts[g.code], computed.roster_counts[g.code])
                      for g in round_.groups]
            issuer = Issuer.for_province(round_.province.name, utcnow().astimezone(VIETNAM).date())
            write_report_pdf(path, computed.result, issuer, groups, _figures(computed))
        payload = path.read_bytes()
    record(session, f"reports.export_{kind}", target=name, round_id=round_.id, province_id=round_.province_id,
           details={"options": computed.result.options.as_dict()})
    return payload, f"dot-{round_.id}-{name}", mimetype


def write_report_directory(session: Session, round_: Round, computed: Computed, directory: Path,
                           progress: Callable[[str], None] | None = None) -> list[Path]:
    """Every export of the round into ``directory`` (the CLI's `report`)."""
    notify = progress or (lambda step: None)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in EXPORTS:
        notify(kind)
        payload, name, _ = export_bytes(session, round_, computed, kind)
        target = directory / name
        target.write_bytes(payload)
        written.append(target)
    return written


def _sav_name(code: str) -> str:
    # SPSS names: letters, digits, underscore; must start with a letter.
    name = "".join(ch if ch.isalnum() else "_" for ch in code)
    return name if name[:1].isalpha() else f"Q_{name}"


def write_anonymised_sav(session: Session, round_: Round, computed: Computed, path: Path) -> None:
    """Response-level closed answers as SPSS .sav: codes 1..k in scale order, don't know user-missing.

    Left out on purpose: free-text answers (they can name people), the submission
    week, and every group with fewer than k responses (its rows would be a
    breakdown below the disclosure threshold).
    """
    k = computed.result.options.min_cell
    kept = {g for g, n in computed.response_counts.items() if n >= k}
    ids = {g.id: g.code for g in round_.groups if g.code in kept}
    columns: dict[str, dict] = {}  # sav column -> meta
    option_value: dict[tuple[str, str, str], tuple[str, float]] = {}
    for group, questionnaire in computed.frames.questionnaires.items():
        if group not in kept:
            continue
        for q in questionnaire.questions:
            if q.scale is None:
                continue
            if q.kind == "multi":
                for o in q.scale.options:
                    col = _sav_name(f"{q.code}_{o.code}")
                    meta = columns.setdefault(col, {"label": f"{q.text} — {o.label}", "missing": [], "groups": set(),
                                                    "values": {0.0: "Không chọn", 1.0: "Có chọn"}})
                    meta["groups"].add(group)
                    option_value[(group, q.code, o.code)] = (col, 1.0)
            else:
                col = _sav_name(q.code)
                meta = columns.setdefault(col, {"label": q.text, "values": {}, "missing": []})
                for i, o in enumerate(q.scale.options, start=1):
                    meta["values"][float(i)] = o.label
                    if o.is_missing and float(i) not in meta["missing"]:
                        meta["missing"].append(float(i))
                    option_value[(group, q.code, o.code)] = (col, float(i))
    records: dict[str, dict] = {}
    if ids:
        query = (select(Answer.response_id, Answer.group_id, Answer.question_code, Answer.option_code)
                 .where(Answer.group_id.in_(list(ids)), Answer.option_code.is_not(None))
                 .order_by(Answer.response_id).execution_options(stream_results=True, yield_per=20_000))
        for response_id, group_id, question, option in session.execute(query):
            group = ids[group_id]
            hit = option_value.get((group, question, option))
            if hit is None:
                continue
            row = records.setdefault(response_id, {"nhom": group})
            row[hit[0]] = hit[1]
    frame = pd.DataFrame(list(records.values()), columns=["nhom", *columns])
    # Random ids are not exported either: a sequence number is enough to tell rows apart.
    frame.insert(0, "stt", np.arange(1, len(frame) + 1, dtype=float))
    for col, meta in columns.items():
        frame[col] = frame[col].astype(float)
        if "groups" in meta:  # multiple choice: "not chosen" is 0 for the groups that were asked
            frame.loc[frame["nhom"].isin(meta["groups"]) & frame[col].isna(), col] = 0.0
    frame["nhom"] = frame["nhom"].astype(object).fillna("")
    labels = {"stt": "Số thứ tự", "nhom": "Nhóm đối tượng", **{c: m["label"][:250] for c, m in columns.items()}}
    write_sav(path, frame, labels, {c: m["values"] for c, m in columns.items()},
              {c: m["missing"][:3] for c, m in columns.items() if m["missing"]},
              file_label=f"{round_.title} - phiếu ẩn danh, nhóm dưới {k} phiếu bị loại")

