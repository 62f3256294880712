"""Charts a person can read at A4 width: checked on the drawn figure's texts and boxes, not on pixels."""

import math

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from analysis.charts import (A4_TEXT_WIDTH_IN, PARTIAL_MARK, answer_distribution_chart, field_points_chart,
                             figure_bytes, sipas_elements_chart)

FIELD_TITLES = [
    "Công tác chỉ đạo, điều hành CCHC",
    "Cải cách thể chế (xây dựng và tổ chức thực hiện VBQPPL)",
    "Cải cách thủ tục hành chính",
    "Cải cách tổ chức bộ máy hành chính nhà nước",
    "Cải cách chế độ công vụ",
    "Cải cách tài chính công",
    "Xây dựng và phát triển Chính quyền điện tử, chính quyền số",
    "Tác động của CCHC đến người dân, tổ chức và phát triển KT-XH",
]
LONG_TITLE = ("Điểm điều tra xã hội học theo lĩnh vực — Kết quả khảo sát Chỉ số cải cách hành chính "
              "tỉnh Lào Cai năm 2024, đợt chính thức")


def _drawn(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _inside(inner, outer, tol=1.0):
    return (inner.x0 >= outer.x0 - tol and inner.y0 >= outer.y0 - tol
            and inner.x1 <= outer.x1 + tol and inner.y1 <= outer.y1 + tol)


def _texts(fig):
    return [t for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_window_extent"))
            if t.get_visible() and t.get_text()]


def _assert_nothing_clipped(fig):
    renderer = _drawn(fig)
    frame = fig.bbox
    for text in _texts(fig):
        box = text.get_window_extent(renderer)
        assert _inside(box, frame), f"text {text.get_text()!r} leaves the figure: {box} vs {frame}"
    return renderer


def _field_totals(unscored=(0, 0, 0, 0, 0, 0, 0, 0)):
    maxima = [2, 2, 3, 2, 3, 2, 2, 16]
    points = [1.6, 1.5, 2.4, 1.7, 2.1, 1.4, 1.5, 12.8]
    rows = pd.DataFrame({"field": range(1, 9), "field_title": FIELD_TITLES, "survey_points": points,
                         "survey_max": maxima, "n_unscored": list(unscored), "is_total": False})
    total = pd.DataFrame([{"field": pd.NA, "field_title": "Tổng", "survey_points": sum(points),
                           "survey_max": 32.0, "n_unscored": sum(unscored), "is_total": True}])
    return pd.concat([rows, total], ignore_index=True)


def _bar_labels(ax):
    return [t.get_text() for t in ax.texts]


def test_field_chart_plots_percent_of_each_field_maximum_with_points_as_labels():
    fig = field_points_chart(_field_totals(), title=LONG_TITLE)
    ax = fig.axes[0]
    ticks = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    # Bottom to top is field 8 to 1, so field 1 reads first.
    assert ticks[-1] == "1. Công tác chỉ đạo, điều hành CCHC" and ticks[0].startswith("8. Tác động của CCHC")
    # The points bars are the second container; widths are percent of each field's own maximum.
    widths = [bar.get_width() for bar in ax.containers[1]]
    assert widths[0] == pytest.approx(80.0)  # field 8: 12.80 / 16
    assert widths[-1] == pytest.approx(80.0)  # field 1: 1.60 / 2, not flattened by field 8's maximum
    assert widths[3] == pytest.approx(100 * 2.1 / 3)  # field 5
    assert ax.get_xlim() == (0, 100)
    labels = _bar_labels(ax)
    assert labels[0] == "12.80 / 16" and labels[-1] == "1.60 / 2"
    assert not any(PARTIAL_MARK in label for label in labels)
    assert fig.get_figwidth() == pytest.approx(A4_TEXT_WIDTH_IN)
    # The long title is wrapped, and (like every text) lies inside the figure.
    assert "\n" in fig.get_suptitle() and fig.get_suptitle().replace("\n", " ") == LONG_TITLE
    _assert_nothing_clipped(fig)


def test_field_chart_marks_partial_fields_as_the_pages_do():
    fig = field_points_chart(_field_totals(unscored=(0, 1, 0, 0, 2, 0, 0, 0)), min_cell=5)
    ax = fig.axes[0]
    labels = _bar_labels(ax)
    field_of = {8 - i: label for i, label in enumerate(labels)}
    assert field_of[2] == f"1.50 / 2 {PARTIAL_MARK}" and field_of[5] == f"2.10 / 3 {PARTIAL_MARK}"
    assert field_of[1] == "1.60 / 2"
    hatches = {8 - i: bar.get_hatch() for i, bar in enumerate(ax.containers[1])}
    assert hatches[2] and hatches[5] and not hatches[1]
    note = fig.get_supxlabel().replace("\n", " ")
    assert "chưa đủ 5 phiếu" in note and "lĩnh vực 2: 1" in note and "lĩnh vực 5: 2" in note
    _assert_nothing_clipped(fig)


def test_sipas_chart_marks_suppressed_elements():
    elements = pd.DataFrame({"element": [1, 2, 3, 4, 5], "index": [83.0, 81.25, math.nan, 84.1, math.nan],
                             "index_low": [80, 78, math.nan, 81, math.nan],
                             "index_high": [86, 84, math.nan, 87, math.nan],
                             "suppressed": [False, False, True, False, False]})
    fig = sipas_elements_chart(elements, min_cell=5)
    ax = fig.axes[0]
    assert _bar_labels(ax) == ["83.0%", "81.2%", f"{PARTIAL_MARK} ẩn", "84.1%", "không có\ncâu trả lời"]
    ticks = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert ticks[0] == "1. Tiếp cận dịch vụ" and ticks[4] == "5. Tiếp nhận, xử lý phản ánh, kiến nghị"
    assert "dưới 5 phiếu" in fig.get_supxlabel()
    _assert_nothing_clipped(fig)


def test_answer_chart_names_groups_in_vietnamese_and_keeps_the_legend_off_the_bars():
    counts = pd.DataFrame({"group": ["department"] * 5 + ["hdnd"] * 5, "option": list("ABCDE") * 2,
                           "n": [10, 20, 5, 2, 1, 4, 8, 6, 3, 2]})
    labels = {"A": "Rất tốt", "B": "Tốt", "C": "Chưa tốt", "D": "Rất không tốt", "E": "Không biết / không trả lời"}
    fig = answer_distribution_chart(counts, labels, title=LONG_TITLE,
                                    group_labels={"department": "Lãnh đạo sở, ban, ngành", "hdnd": "Đại biểu HĐND tỉnh"})
    ax = fig.axes[0]
    ticks = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert ticks == ["Đại biểu HĐND tỉnh", "Lãnh đạo sở, ban, ngành"]  # first group on top
    assert not any(code in " ".join(ticks) for code in ("department", "hdnd"))
    renderer = _assert_nothing_clipped(fig)
    legend = fig.legends[0]
    assert [t.get_text().replace("\n", " ") for t in legend.get_texts()] == list(labels.values())
    legend_box = legend.get_window_extent(renderer)
    # Neither the data area nor the axis labels and ticks may lie under the legend.
    assert not legend_box.overlaps(ax.get_window_extent(renderer))
    assert not legend_box.overlaps(ax.xaxis.get_tightbbox(renderer))
    assert not legend_box.overlaps(ax.yaxis.get_tightbbox(renderer))
    # 53 % of the department's answers are "Tốt" (20 of 38).
    assert "53%" in _bar_labels(ax)


def test_answer_chart_without_labels_shows_codes_as_given():
    counts = pd.DataFrame({"group": ["Lãnh đạo sở"] * 2, "option": ["A", "B"], "n": [10, 30]})
    fig = answer_distribution_chart(counts)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Lãnh đạo sở"]
    assert fig.get_suptitle() == "Phân bố câu trả lời theo nhóm"


def test_figure_bytes_formats():
    fig = field_points_chart(_field_totals())
    assert figure_bytes(fig, "png").startswith(b"\x89PNG\r\n\x1a\n")
    svg = figure_bytes(fig, "svg")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    with pytest.raises(ValueError):
        figure_bytes(fig, "gif")
