import json

import openpyxl
import pandas as pd
import pyreadstat
import pytest
from analysis_frames import LEADER_SCALE, SATISFACTION_SCALE, count_rows, frame, item_rows, structure

from analysis.charts import answer_distribution_chart, figure_bytes
from analysis.options import AnalysisOptions
from analysis.report import SHEET_NAMES, write_csvs, write_sav, write_workbook
from analysis.results import compute_round

STRUCT = structure([(1, "1.1.1", 1.5, True), (1, "1.1.2", 2.0, False), (8, "8.1.1", 3.0, False)])


@pytest.fixture(scope="module")
def result():
    items = item_rows("L", "Q1", LEADER_SCALE, "1.1.1") + item_rows("CD", "S1", SATISFACTION_SCALE, element=1)
    counts = count_rows("L", "Q1", LEADER_SCALE, [18, 12, 6, 2, 2]) + count_rows("CD", "S1", SATISFACTION_SCALE, [1, 2, 3, 10, 4, 1])
    steps = []
    wide = pd.DataFrame({"Q1": [1.0, 0.6, 0.2, 1.0, 0.6]})
    r = compute_round(
        frame(counts), frame(items), STRUCT, AnalysisOptions(bootstrap_samples=50),
        {"structure": "QĐ 876/QĐ-BNV", "structure_hash": "sha256:abc", "questionnaire_version": "2023.1"},
        responses_wide=wide,
        self_assessment=pd.DataFrame({"subcriterion": ["1.1.2", "8.1.1"], "points": [2.0, 2.5]}),
        progress=steps.append,
    )
    r.steps = steps
    return r


def test_compute_round(result):
    assert result.steps == ["items", "sipas", "subcriteria", "fields", "frequencies", "par", "reliability"]
    assert result.survey_total["points"] == 1.04
    # 1.04 + 2.0 + 2.5 = 5.54 of 6.5
    assert result.par.total == 5.54
    assert result.sipas.elements.iloc[0]["index"] == pytest.approx(70.0)
    payload = json.loads(json.dumps(result.to_json_dict()))
    assert payload["options"]["dont_know"] == "exclude"
    assert payload["provenance"]["structure_hash"] == "sha256:abc"


def test_workbook(result, tmp_path):
    path = tmp_path / "ket_qua.xlsx"
    write_workbook(path, result)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(SHEET_NAMES.values())
    ws = wb["Tổng hợp"]
    assert ws["A1"].value == "Chỉ số"
    assert ws["A2"].value == "Điểm điều tra XHH" and ws["B2"].value == 1.04
    method = [[c.value for c in row] for row in wb["Phương pháp"].iter_rows()]
    assert ["Nguồn gốc dữ liệu", "structure_hash", "sha256:abc"] in method
    assert ["Tùy chọn phân tích", "min_cell", "5"] in method
    # the group weight alpha_g and Cronbach's alpha keep their own headers
    sub_header = [c.value for c in wb[SHEET_NAMES["subcriteria"]][1]]
    assert "Trọng số nhóm" in sub_header and "Hệ số Cronbach alpha" not in sub_header
    assert "Hệ số Cronbach alpha" in [c.value for c in wb[SHEET_NAMES["reliability"]][1]]


def test_csvs_have_bom(result, tmp_path):
    paths = write_csvs(tmp_path, result)
    raw = (tmp_path / "linh_vuc.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "Tên lĩnh vực" in raw.decode("utf-8-sig")
    assert len(paths) == 8  # with reliability computed, "do_tin_cay.csv" too
    rel = pd.read_csv(tmp_path / "do_tin_cay.csv", encoding="utf-8-sig")
    assert "Hệ số Cronbach alpha" in rel.columns
    small = rel["Số phiếu trả lời đủ các câu"] < result.options.min_cell
    assert rel.loc[small, "Hệ số Cronbach alpha"].isna().all()


def test_sav_round_trip(tmp_path):
    path = tmp_path / "phieu.sav"
    data = pd.DataFrame({"Q1": [1.0, 2.0, 9.0], "Q2": [3.0, 9.0, 1.0]})
    write_sav(path, data, {"Q1": "Đánh giá chất lượng văn bản", "Q2": "Thủ tục"},
              {"Q1": {1: "Rất tốt", 2: "Tốt", 9: "Không biết"}}, [9])
    df, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert df["Q1"].tolist() == [1.0, 2.0, 9.0]
    assert meta.column_names_to_labels["Q1"] == "Đánh giá chất lượng văn bản"
    assert meta.variable_value_labels["Q1"][9.0] == "Không biết"
    assert meta.missing_ranges["Q1"] == [{"lo": 9.0, "hi": 9.0}]
    df2, _ = pyreadstat.read_sav(str(path))
    assert pd.isna(df2["Q2"][1])  # 9 is user-missing -> NaN by default
    with pytest.raises(ValueError, match="SPSS variable"):
        write_sav(path, data.rename(columns={"Q1": "1Q"}), {}, {}, [9])


def test_charts_render():
    counts = pd.DataFrame({"group": ["Lãnh đạo sở"] * 2 + ["Đại biểu HĐND"] * 2, "option": ["A", "B"] * 2, "n": [10, 20, 20, 10]})
    fig = answer_distribution_chart(counts, {"A": "Rất tốt", "B": "Chưa tốt"}, title="Câu hỏi 1")
    assert figure_bytes(fig, "png").startswith(b"\x89PNG\r\n\x1a\n")
    svg = figure_bytes(fig, "svg")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    with pytest.raises(ValueError):
        figure_bytes(fig, "gif")
