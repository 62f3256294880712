"""Writers of computed results: Excel workbook, CSV files and SPSS .sav (the PDF: :mod:`analysis.pdf_report`).

They take already-computed result objects (:class:`analysis.results.RoundResult`),
never a database.  User-facing headers are Vietnamese.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from .results import RoundResult

__all__ = ["write_workbook", "write_csvs", "write_sav", "report_tables", "SHEET_NAMES", "dejavu_font_path"]

SHEET_NAMES = {
    "summary": "Tổng hợp",
    "fields": "Lĩnh vực",
    "subcriteria": "Tiêu chí thành phần",
    "questions": "Câu hỏi",
    "sipas": "SIPAS",
    "methodology": "Phương pháp",
    "reliability": "Độ tin cậy",
}

CSV_NAMES = {
    "summary": "tong_hop.csv",
    "fields": "linh_vuc.csv",
    "subcriteria": "tieu_chi_thanh_phan.csv",
    "questions": "cau_hoi.csv",
    "frequencies": "tan_suat.csv",
    "sipas": "sipas.csv",
    "methodology": "phuong_phap.csv",
    "reliability": "do_tin_cay.csv",
}

LABELS_VI = {
    "field": "Lĩnh vực",
    "field_title": "Tên lĩnh vực",
    "is_total": "Dòng tổng",
    "survey_points": "Điểm điều tra XHH",
    "survey_points_raw": "Điểm điều tra XHH (chưa làm tròn)",
    "survey_max": "Điểm tối đa điều tra XHH",
    "percent": "Tỷ lệ (%)",
    "n_unscored": "Số TCTP chưa có điểm",
    "criterion": "Tiêu chí",
    "subcriterion": "Mã tiêu chí thành phần",
    "title": "Tên tiêu chí thành phần",
    "max_points": "Điểm tối đa",
    "group": "Nhóm đối tượng",
    "is_pooled": "Gộp các nhóm",
    "alpha": "Trọng số nhóm",
    "n_responses": "Số phiếu trả lời",
    "n_valid": "Số câu trả lời hợp lệ",
    "n_missing": "Số câu không biết/không trả lời",
    "score": "Điểm trung bình (0-1)",
    "score_low": "Cận dưới KTC",
    "score_high": "Cận trên KTC",
    "points_raw": "Điểm (chưa làm tròn)",
    "points": "Điểm",
    "points_low": "Điểm - cận dưới KTC",
    "points_high": "Điểm - cận trên KTC",
    "suppressed": "Ẩn do cỡ mẫu nhỏ",
    "question": "Mã câu hỏi",
    "mean_weight": "Trọng số trung bình",
    "sd_weight": "Độ lệch chuẩn",
    "n_effective": "Cỡ mẫu hiệu dụng",
    "mean_low": "Cận dưới KTC",
    "mean_high": "Cận trên KTC",
    "option": "Phương án",
    "weight": "Trọng số phương án",
    "is_missing": "Không biết/không trả lời",
    "n": "Số lượt chọn",
    "pct": "Tỷ lệ (%)",
    "indicator": "Chỉ số",
    "value": "Giá trị",
    "low": "Cận dưới KTC",
    "high": "Cận trên KTC",
    "key": "Tham số",
    "section": "Mục",
}


def dejavu_font_path(bold: bool = False) -> Path:
    """DejaVu Sans bundled with matplotlib (present on every machine with matplotlib)."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    if not path.exists():  # pragma: no cover - matplotlib always ships it
        alt = Path("/usr/share/fonts/truetype/dejavu") / name
        if alt.exists():
            return alt
        raise FileNotFoundError(f"DejaVu Sans font not found at {path}")
    return path


def _summary(result: RoundResult) -> pd.DataFrame:
    rows = [
        ("Điểm điều tra XHH", result.survey_total["points"], None, None),
        ("Điểm tối đa điều tra XHH", result.survey_total["max_points"], None, None),
        ("Tỷ lệ điểm điều tra XHH (%)", result.survey_total["percent"], None, None),
    ]
    if result.par is not None:
        rows += [
            ("Chỉ số CCHC (điểm)", result.par.total, None, None),
            ("Chỉ số CCHC (%)", result.par.percent, None, None),
            ("Xếp nhóm", result.par.classification, None, None),
        ]
        source = result.par.source_label
        if source:
            rows.append(("Nguồn điểm tự đánh giá", source, None, None))
        if result.par.delta is not None:
            rows.append(("Thay đổi so với kỳ trước (điểm)", result.par.delta, None, None))
    if result.sipas is not None:
        s = result.sipas
        rows += [
            ("SIPAS (%)", s.sipas, *s.sipas_interval),
            ("Chỉ số hài lòng về dịch vụ (%)", s.service_index, *s.service_interval),
            ("Chỉ số hài lòng về chính sách (%)", s.policy_index, *s.policy_interval),
        ]
    return pd.DataFrame(rows, columns=["indicator", "value", "low", "high"])


def _sipas_table(result: RoundResult) -> pd.DataFrame:
    if result.sipas is None:
        return pd.DataFrame(columns=["indicator", "value", "low", "high", "n_valid", "suppressed"])
    s = result.sipas
    el = s.elements.assign(indicator=s.elements["code"])
    pol = s.policies.assign(indicator="Chính sách: " + s.policies["policy"].astype(str)) if len(s.policies) else s.policies.assign(indicator=[])
    parts = [
        frame.rename(columns={"index": "value", "index_low": "low", "index_high": "high"})[["indicator", "value", "low", "high", "n_valid", "suppressed"]]
        for frame in (el, pol)
        if len(frame)
    ]
    exp = s.expectations
    if len(exp):
        parts.append(
            pd.DataFrame(
                {
                    "indicator": "Kỳ vọng " + exp["question"].astype(str) + ": " + exp["option"].astype(str),
                    "value": exp["share"],
                    "low": exp["share_low"],
                    "high": exp["share_high"],
                    "n_valid": exp["respondents"],
                    "suppressed": exp["suppressed"],
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["indicator", "value", "low", "high", "n_valid", "suppressed"])


def _methodology(result: RoundResult) -> pd.DataFrame:
    rows = [("Tùy chọn phân tích", k, json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v) for k, v in result.options.as_dict().items()]

    def flatten(prefix, value):
        if isinstance(value, Mapping):
            for k, v in value.items():
                yield from flatten(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            yield prefix, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)

    rows += [("Nguồn gốc dữ liệu", k, v) for k, v in flatten("", result.provenance)]
    rows += [("Ghi chú", str(i + 1), n) for i, n in enumerate(result.notes)]
    if result.sipas is not None:
        rows += [("Ghi chú SIPAS", str(i + 1), n) for i, n in enumerate(result.sipas.notes)]
    rows += [("Lựa chọn phương pháp", key, text) for key, text in result.options.choices()]
    rows += [
        ("Công thức", "s_k", "Trung bình trọng số phương án trên các câu trả lời hợp lệ"),
        ("Công thức", "points_k", "Điểm tối đa × Σ_g α_g s_k,g, làm tròn 2 chữ số thập phân"),
        ("Công thức", "SI_e", "100 × (Hài lòng + Rất hài lòng) / số câu trả lời hợp lệ"),
        ("Công thức", "KTC", f"Khoảng tin cậy {result.options.confidence:.0%}: t (điểm câu hỏi; tiêu chí thành phần và chỉ số SIPAS "
                              "theo người trả lời), Wilson (tỷ lệ của một câu hỏi)"),
    ]
    return pd.DataFrame(rows, columns=["section", "key", "value"])


def report_tables(result: RoundResult) -> dict[str, pd.DataFrame]:
    """The tables of a report, keyed like :data:`SHEET_NAMES` (plus ``frequencies``), English column codes."""
    if not isinstance(result, RoundResult):
        raise ValueError("result must be a RoundResult")
    fields = result.field_totals
    if result.par is not None:
        fields = fields.merge(
            result.par.fields[["field", "self_points", "self_max_points", "points", "max_points"]].rename(
                columns={"self_points": "self_points", "points": "par_points", "max_points": "par_max_points"}
            ),
            on="field",
            how="left",
        )
    tables = {
        "summary": _summary(result),
        "fields": fields,
        "subcriteria": result.subcriterion_points,
        "questions": result.item_scores,
        "frequencies": result.frequencies,
        "sipas": _sipas_table(result),
        "methodology": _methodology(result),
    }
    if result.reliability is not None:
        # Renamed: "alpha" is the group weight of the sub-criterion table, and one label map serves both.
        tables["reliability"] = result.reliability.rename(  # suppressed by compute_round
            columns={"n": "n_complete", "alpha": "cronbach_alpha", "alpha_low": "cronbach_alpha_low",
                     "alpha_high": "cronbach_alpha_high"})
    return tables


_EXTRA_VI = {
    "self_points": "Điểm tự đánh giá",
    "self_max_points": "Điểm tối đa tự đánh giá",
    "par_points": "Tổng điểm",
    "par_max_points": "Tổng điểm tối đa",
    "n_satisfied": "Số câu hài lòng",
    "scale": "Thang đo",
    "n_items": "Số câu hỏi",
    "n_complete": "Số phiếu trả lời đủ các câu",
    "cronbach_alpha": "Hệ số Cronbach alpha",
    "cronbach_alpha_low": "Cận dưới KTC",
    "cronbach_alpha_high": "Cận trên KTC",
    "status": "Tình trạng (scored: có điểm; withheld: ẩn, dưới k phiếu; not_measured: không đo trong đợt)",
}


def _vi(frame: pd.DataFrame) -> pd.DataFrame:
    labels = {**LABELS_VI, **_EXTRA_VI}
    return frame.rename(columns={c: labels.get(c, c) for c in frame.columns})


def write_workbook(path_or_buffer, result: RoundResult) -> None:
    """Write the report workbook (.xlsx) with the sheets of :data:`SHEET_NAMES`.

    "Câu hỏi" holds the per-question scores followed, after a blank row, by the
    answer frequencies; "Phương pháp" lists every option, provenance entry and
    note.
    """
    tables = report_tables(result)
    with pd.ExcelWriter(path_or_buffer, engine="openpyxl") as writer:
        for key in ("summary", "fields", "subcriteria", "questions", "sipas", "methodology", "reliability"):
            if key not in tables:
                continue
            sheet = SHEET_NAMES[key]
            _vi(tables[key]).to_excel(writer, sheet_name=sheet, index=False)
            if key == "questions":
                start = len(tables[key]) + 3
                _vi(tables["frequencies"]).to_excel(writer, sheet_name=sheet, index=False, startrow=start)
        for ws in writer.book.worksheets:
            _format_sheet(ws)


def _format_sheet(ws) -> None:
    """Header row frozen, text kept as text, columns as wide as their content (up to 60)."""
    ws.freeze_panes = "A2"
    _keep_text_as_text(ws)
    for col in ws.columns:
        width = max((len(str(c.value)) for c in col if c.value is not None), default=8)
        ws.column_dimensions[col[0].column_letter].width = min(max(width + 2, 8), 60)


# What a spreadsheet program would run as a formula at the start of a cell it opens.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _keep_text_as_text(ws) -> None:
    """Text typed by users (a round's title, group labels) stays text: openpyxl stores a string
    starting with "=" as a formula, and nothing this workbook writes is one."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def _csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Strings starting with a formula character get a leading apostrophe (numbers stay numbers)."""
    def safe(value):
        return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value
    return frame.apply(lambda column: column.map(safe) if column.dtype == object or
                       pd.api.types.is_string_dtype(column) else column)


def write_csvs(directory, result: RoundResult, labels: str = "vi") -> list[Path]:
    """Write one CSV per table (UTF-8 with BOM so Excel shows the diacritics).

    ``labels="vi"`` writes Vietnamese headers, ``"code"`` the English column codes.
    Returns the written paths.
    """
    if labels not in ("vi", "code"):
        raise ValueError("labels must be 'vi' or 'code'")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, frame in report_tables(result).items():
        path = directory / CSV_NAMES[key]
        _csv_safe(_vi(frame) if labels == "vi" else frame).to_csv(path, index=False, encoding="utf-8-sig")
        paths.append(path)
    return paths


_SPSS_NAME = re.compile(r"^[A-Za-z@#$][A-Za-z0-9_.@#$]{0,63}$")


def write_sav(
    path,
    responses_wide_labeled: pd.DataFrame,
    variable_labels: Mapping[str, str],
    value_labels: Mapping[str, Mapping[float, str]],
    missing_codes: Mapping[str, Sequence[float]] | Sequence[float],
    file_label: str = "",
) -> None:
    """Write respondent-level data to SPSS .sav with labels and user-missing codes.

    Parameters
    ----------
    responses_wide_labeled : DataFrame
        One row per response, one numeric column per question holding the option
        *code* (e.g. 1..5, 9 = don't know); not the weights.
    variable_labels : mapping column -> label (question text)
    value_labels : mapping column -> {code: label}
    missing_codes : mapping column -> codes, or one list of codes for every column
        Codes declared user-missing (at most 3 per variable, an SPSS limit), so
        SPSS excludes "don't know" from statistics while keeping the code.
    """
    import pyreadstat

    if not isinstance(responses_wide_labeled, pd.DataFrame):
        raise ValueError("responses_wide_labeled must be a DataFrame")
    df = responses_wide_labeled.reset_index(drop=True)
    bad = [c for c in df.columns if not _SPSS_NAME.match(str(c)) or str(c).endswith(".")]
    if bad:
        raise ValueError(f"not valid SPSS variable names: {bad}")
    unknown = sorted(set(variable_labels) - set(df.columns)) + sorted(set(value_labels) - set(df.columns))
    if unknown:
        raise ValueError(f"labels for unknown columns: {unknown}")
    if isinstance(missing_codes, Mapping):
        missing = {str(k): list(v) for k, v in missing_codes.items()}
        extra = sorted(set(missing) - set(map(str, df.columns)))
        if extra:
            raise ValueError(f"missing_codes for unknown columns: {extra}")
    else:
        codes = list(missing_codes)
        missing = {str(c): codes for c in df.columns if pd.api.types.is_numeric_dtype(df[c])}
    too_many = [k for k, v in missing.items() if len(v) > 3]
    if too_many:
        raise ValueError(f"SPSS allows at most 3 discrete missing values per variable: {too_many}")
    pyreadstat.write_sav(
        df,
        str(path),
        file_label=file_label,
        column_labels={str(k): str(v) for k, v in variable_labels.items()},
        variable_value_labels={str(k): {float(c): str(l) for c, l in v.items()} for k, v in value_labels.items()},
        missing_ranges={k: [float(c) for c in v] for k, v in missing.items() if v},
    )


# SIPAS by point, agency, procedure, channel and month (analysis.sipas_breakdown): sheets and files of their own,
# added to the round's workbook and CSV archive.
BREAKDOWN_SHEETS = {
    "channel": "SIPAS theo kênh",
    "month": "SIPAS theo tháng",
    "point": "SIPAS theo điểm",
    "agency": "SIPAS theo cơ quan",
    "procedure": "SIPAS theo thủ tục",
    "expectations": "SIPAS kỳ vọng theo phân tổ",
    "channel_tests": "SIPAS so sánh kênh",
    "method": "SIPAS phân tổ - phương pháp",
}
BREAKDOWN_CSV = {
    "channel": "sipas_theo_kenh.csv",
    "month": "sipas_theo_thang.csv",
    "point": "sipas_theo_diem.csv",
    "agency": "sipas_theo_co_quan.csv",
    "procedure": "sipas_theo_thu_tuc.csv",
    "expectations": "sipas_ky_vong_theo_phan_to.csv",
    "channel_tests": "sipas_so_sanh_kenh.csv",
    "method": "sipas_phan_to_phuong_phap.csv",
}
_BREAKDOWN_VI = {
    "dimension": "Phân tổ",
    "key": "Mã",
    "label": "Tên",
    "indicator_code": "Mã chỉ số",
    "index": "Chỉ số (%)",
    "index_low": "Cận dưới KTC",
    "index_high": "Cận trên KTC",
    "n_respondents": "Số người trả lời hợp lệ",
    "respondents": "Số người trả lời câu hỏi",
    "option": "Mã phương án",
    "option_label": "Phương án",
    "share": "Tỷ lệ chọn (%)",
    "share_low": "Cận dưới KTC",
    "share_high": "Cận trên KTC",
    "channels": "Các kênh so sánh",
    "h": "H (Kruskal-Wallis)",
    "dof": "Bậc tự do",
    "p_value": "Giá trị p",
    "epsilon_squared": "ε²",
}


def breakdown_tables(breakdown) -> dict[str, pd.DataFrame]:
    """The tables of a :class:`analysis.sipas_breakdown.SipasBreakdown`, keyed like :data:`BREAKDOWN_SHEETS`."""
    from .sipas_breakdown import DIMENSION_TITLES, DIMENSIONS, INDICATOR_TITLES, RULES

    indices = breakdown.indices.assign(
        indicator_code=breakdown.indices["indicator"],
        indicator=[INDICATOR_TITLES.get(i, "Chính sách: " + i[3:] if i.startswith("PI:") else i)
                   for i in breakdown.indices["indicator"]])
    columns = ["key", "label", "indicator", "indicator_code", "index", "index_low", "index_high", "n_respondents",
               "suppressed"]
    tables = {d: indices.loc[indices["dimension"] == d, columns].reset_index(drop=True) for d in DIMENSIONS}
    tables["expectations"] = breakdown.expectations.assign(
        dimension=breakdown.expectations["dimension"].map(DIMENSION_TITLES))
    tables["channel_tests"] = breakdown.channel_tests.assign(
        indicator=breakdown.channel_tests["indicator"].map(lambda i: INDICATOR_TITLES.get(i, i)))
    rows = [("Tùy chọn phân tích", k, v if isinstance(v, str) else json.dumps(v)) for k, v in
            breakdown.options.as_dict().items()]
    rows += [("Phiếu", g, f"{q['key']} {q['version']} ({q['content_hash']})")
             for g, q in breakdown.provenance.get("questionnaires", {}).items()]
    rows += [("Quy tắc", key, text) for key, text in RULES]
    rows += [("Ghi chú", str(i + 1), note) for i, note in enumerate(breakdown.notes)]
    tables["method"] = pd.DataFrame(rows, columns=["section", "key", "value"])
    return tables


def _breakdown_vi(frame: pd.DataFrame) -> pd.DataFrame:
    labels = {**LABELS_VI, **_EXTRA_VI, **_BREAKDOWN_VI}
    return frame.rename(columns={c: labels.get(c, c) for c in frame.columns})


def add_breakdown_sheets(path, breakdown) -> None:
    """Append the sheets of :data:`BREAKDOWN_SHEETS` to the workbook written by :func:`write_workbook`."""
    with pd.ExcelWriter(path, engine="openpyxl", mode="a") as writer:
        for key, frame in breakdown_tables(breakdown).items():
            _breakdown_vi(frame).to_excel(writer, sheet_name=BREAKDOWN_SHEETS[key], index=False)
            _format_sheet(writer.book[BREAKDOWN_SHEETS[key]])


def write_breakdown_csvs(directory, breakdown) -> list[Path]:
    """One CSV per table of :func:`breakdown_tables` (UTF-8 with BOM, Vietnamese headers); the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, frame in breakdown_tables(breakdown).items():
        path = directory / BREAKDOWN_CSV[key]
        _csv_safe(_breakdown_vi(frame)).to_csv(path, index=False, encoding="utf-8-sig")
        paths.append(path)
    return paths
