"""The PDF report reads like an administrative report: checked on the text pdftotext extracts."""

import re
import subprocess
from datetime import date

import pandas as pd
import pytest
from analysis_frames import LEADER_SCALE, SATISFACTION_SCALE, count_rows, frame, item_rows, structure

from analysis.charts import field_points_chart, sipas_elements_chart
from analysis.options import AnalysisOptions
from analysis.pdf_report import GroupCount, Issuer, write_report_pdf
from analysis.results import compute_round


STRUCT = structure([(1, "1.1.1", 1.5, True), (1, "1.1.2", 2.0, False), (2, "2.1.1", 1.0, True),
                    (8, "8.1.1", 3.0, False), (8, "8.2.1", 2.0, True)])
PROVENANCE = {
    "round_id": 2, "round_title": "Khảo sát Chỉ số CCHC năm 2024", "year": 2024,
    "questionnaires": {
        "department": {"key": "par-lanh-dao-so", "version": "2024.1", "content_hash": "a1b2c3d4e5f6a7b8c9"},
        "hdnd": {"key": "par-hdnd", "version": "2024.2", "content_hash": "ffeeddccbbaa998877"},
        "citizen": {"key": "sipas", "version": "2023.2", "content_hash": "0123456789abcdef01"},
    },
    "structure": {"key": "par-876", "version": "2022.1", "content_hash": "9876543210fedcba98", "provisional": True},
}
GROUPS = [GroupCount("hdnd", "Đại biểu HĐND tỉnh", 9, 30), GroupCount("department", "Lãnh đạo sở, ban, ngành", 40, 57),
          GroupCount("citizen", "Người dân, tổ chức", 21, None)]


@pytest.fixture(scope="module")
def result():
    items = (item_rows("department", "Q1", LEADER_SCALE, "1.1.1") + item_rows("hdnd", "Q1", LEADER_SCALE, "1.1.1")
             + item_rows("department", "Q2", LEADER_SCALE, "2.1.1") + item_rows("hdnd", "Q3", LEADER_SCALE, "8.2.1")
             + item_rows("citizen", "S1", SATISFACTION_SCALE, element=1)
             + item_rows("citizen", "S2", SATISFACTION_SCALE, element=2))
    # 2.1.1 has 2 responses (< k = 5): unscored.  1.1.1: hdnd has 3 (hidden) and so the
    # department row is hidden too (complementary, hidden groups pooled).  SIPAS element 2 has 3 answers: hidden.
    counts = (count_rows("department", "Q1", LEADER_SCALE, [18, 12, 6, 2, 2])
              + count_rows("hdnd", "Q1", LEADER_SCALE, [1, 1, 1, 0, 0])
              + count_rows("department", "Q2", LEADER_SCALE, [1, 1, 0, 0, 0])
              + count_rows("hdnd", "Q3", LEADER_SCALE, [5, 3, 1, 0, 0])
              + count_rows("citizen", "S1", SATISFACTION_SCALE, [1, 2, 3, 10, 4, 1])
              + count_rows("citizen", "S2", SATISFACTION_SCALE, [0, 1, 1, 1, 0, 0]))
    return compute_round(frame(counts), frame(items), STRUCT, AnalysisOptions(bootstrap_samples=50, dont_know="zero", hidden_groups="include"),
                         PROVENANCE,
                         self_assessment=pd.DataFrame({"subcriterion": ["1.1.2", "8.1.1"], "points": [2.0, 2.5]}))


def _text(path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True)
    return out.stdout


@pytest.fixture(scope="module")
def report(result, tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "bao-cao.pdf"
    figures = {"Điểm điều tra xã hội học theo lĩnh vực": field_points_chart(result.field_totals, min_cell=5),
               "Chỉ số hài lòng theo yếu tố": sipas_elements_chart(result.sipas.elements, min_cell=5)}
    write_report_pdf(path, result, Issuer.for_province("tỉnh Lào Cai", date(2025, 1, 5)), GROUPS, figures)
    return path, _text(path)


def test_official_heading(report):
    path, text = report
    assert path.read_bytes().startswith(b"%PDF")
    head = text[:1500]
    for line in ("UBND TỈNH LÀO CAI", "SỞ NỘI VỤ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                 "Độc lập - Tự do - Hạnh phúc", "Lào Cai, ngày 05 tháng 01 năm 2025", "BÁO CÁO",
                 "Kính gửi: Hội đồng thẩm định"):
        assert line in head, line
    assert "GIÁM ĐỐC" in text and "Nơi nhận:" in text


def test_summary_and_fields(report, result):
    _, text = report
    # 1.1.1 pooled: 1.04 (department) and 1.5 * 0.6 (hdnd 3 answers) averaged; 2.1.1 unscored; 8.2.1 = 2 * 0.7778.
    total = result.survey_total
    assert re.search(rf"Điểm điều tra xã hội học \*\s+{total['points']:.2f} / 4\.50", text)
    assert "Xếp nhóm" in text and f"{result.par.total:.2f} / 9.50" in text
    assert re.search(r"2\. Lĩnh vực 2\s+0\.00 \*\s+1\.00\s+0\.0\s+1", text)
    assert re.search(r"Tổng cộng\s+[\d.]+ \*\s+4\.50", text)


def test_methodology_states_what_was_used(report):
    _, text = report
    flat = " ".join(text.split())
    for phrase in (
        "Ngưỡng công bố k = 5",
        "được tính là câu trả lời hợp lệ với 0 điểm",  # dont_know="zero"
        "các nhóm có trọng số bằng nhau",
        "Trọng số phiếu: không gia quyền",
        "Khoảng tin cậy (KTC) 95%", "bootstrap (50 lần",
        "Lãnh đạo sở, ban, ngành: phiếu par-lanh-dao-so, phiên bản 2024.1 (mã kiểm tra a1b2c3d4e5f6)",
        "Đại biểu HĐND tỉnh: phiếu par-hdnd, phiên bản 2024.2",
        "Bộ tiêu chí: par-876, phiên bản 2022.1", "điểm tối đa là số liệu tạm thời",
    ):
        assert phrase in flat, phrase
    # Responses against the roster: 40 of 57 = 70.2 %; no roster for citizens.
    assert re.search(r"Lãnh đạo sở, ban, ngành\s+57\s+40\s+70\.2", text)
    assert re.search(r"Đại biểu HĐND tỉnh\s+30\s+9\s+30\.0", text)
    assert re.search(r"Người dân, tổ chức\s+—\s+21\s+—", text)


def test_partial_results_are_marked_and_explained(report):
    _, text = report
    flat = " ".join(text.split())
    assert "GHI CHÚ VỀ KẾT QUẢ CHƯA ĐẦY ĐỦ" in flat
    assert re.search(r"2\.1\.1\s+Tiêu chí 2\.1\.1\s+2\s+1\.00\s+chưa đủ 5 phiếu \(2 phiếu\)", text)
    assert "1.1.1: Lãnh đạo sở, ban, ngành, Đại biểu HĐND tỉnh." in flat
    assert "Yếu tố 2 (Thủ tục hành chính): chưa đủ 5 phiếu" in flat
    assert "Yếu tố 3 (Công chức): chưa có câu trả lời" in flat
    assert "* ẩn" in flat and "* chưa có điểm" in flat
    assert "Hình 1. Điểm điều tra xã hội học theo lĩnh vực" in flat and "Hình 2." in flat


def test_no_raw_keys_or_codes(report):
    _, text = report
    for raw in ("round_id", "round_title", "content_hash", "dont_know", "min_cell", "pooling", "{'", "nan", "None"):
        assert raw not in text, raw
    # Group codes never stand for groups (a questionnaire's file key such as "par-hdnd" may contain one).
    for code in ("department", "hdnd", "citizen"):
        assert not re.search(rf"(?<![-\w]){code}(?![-\w])", text), code


def test_complete_round_says_so(tmp_path):
    items = frame(item_rows("department", "Q1", LEADER_SCALE, "1.1.1"))
    counts = frame(count_rows("department", "Q1", LEADER_SCALE, [18, 12, 6, 2, 2]))
    st = structure([(1, "1.1.1", 1.5, True)])
    result = compute_round(counts, items, st, AnalysisOptions(), {"round_title": "Đợt thử"})
    path = tmp_path / "r.pdf"
    write_report_pdf(path, result, Issuer.for_province("Thành phố Hà Nội", date(2024, 12, 31)),
                     [GroupCount("department", "Lãnh đạo sở, ban, ngành", 40, 50)])
    flat = " ".join(_text(path).split())
    assert "UBND THÀNH PHỐ HÀ NỘI" in flat and "Hà Nội, ngày 31 tháng 12 năm 2024" in flat
    assert "kết quả được công bố đầy đủ" in flat and "*" not in flat
    assert "BIỂU ĐỒ" not in flat and "III. GHI CHÚ" in flat


def test_refuses_what_is_not_a_result(tmp_path):
    with pytest.raises(ValueError, match="RoundResult"):
        write_report_pdf(tmp_path / "x.pdf", {"round_id": 1}, Issuer.for_province("Lào Cai", date(2025, 1, 1)))
