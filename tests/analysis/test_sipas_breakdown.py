"""analysis.sipas_breakdown on a hand-made frame of per-response sums (no database).

Six responses, two points, two channels, two months; per response the valid (x) and satisfied (y)
answers of elements 1 and 2, and the options chosen in X1 (the same citizens as
tests/reports/test_sipas_breakdown.py, which stores them through survey.responses).
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from PIL import Image

from analysis import AnalysisOptions
from analysis.charts import figure_bytes, sipas_trend_chart
from analysis.sipas_breakdown import month_of_week, response_columns, sipas_breakdown

COLUMNS = ["point", "channel", "month", "procedure", "agency", "x:SI_1", "y:SI_1", "x:SI_2", "y:SI_2",
           "e:X1:A", "e:X1:B", "e:X1:C"]
ROWS = [
    ("1", "point", "2024-01", "PA", "STP", 2, 2, 1, 0, 1, 1, 0),
    ("1", "point", "2024-01", "PA", "STP", 1, 0, 1, 1, 1, 0, 0),
    ("1", "kiosk", "2024-02", "PA", "STP", 2, 2, 1, 1, 0, 0, 1),
    ("2", "point", "2024-02", "PB", "STP", 2, 0, 1, 1, 1, 0, 0),
    ("2", "kiosk", "2024-01", "PB", "STP", 2, 2, 1, 0, 1, 0, 0),
    ("2", "kiosk", "2024-02", "PB", "STP", 2, 1, 1, 1, 0, 1, 0),
]
T_975_2 = 4.302652729749464


def _frame(rows=ROWS):
    frame = pd.DataFrame(rows, columns=COLUMNS).assign(group="citizen", any=3.0)
    columns = pd.DataFrame({"group": "citizen", "question": ["E1.1"] * 2 + ["E2.1"] * 2 + ["X1"] * 3,
                            "option": ["4", "4", "4", "4", "A", "B", "C"], "column": COLUMNS[5:], "value": 1.0})
    return frame, columns


def _row(b, dimension, key, indicator):
    i = b.indices
    return i[(i["dimension"] == dimension) & (i["key"] == key) & (i["indicator"] == indicator)].iloc[0]


def test_hand_values_per_point_channel_and_month():
    b = sipas_breakdown(*_frame(), AnalysisOptions(min_cell=3))
    assert _row(b, "point", "1", "SI_1")["index"] == pytest.approx(80.0)  # 4 satisfied of 5 valid
    assert _row(b, "point", "1", "service")["index"] == pytest.approx((80 + 200 / 3) / 2)
    assert _row(b, "channel", "point", "SI_1")["index"] == pytest.approx(40.0)
    assert _row(b, "month", "2024-02", "SI_2")["index"] == pytest.approx(100.0)
    assert _row(b, "agency", "STP", "SI_1")["n_respondents"] == 6
    # kiosk SI_1: R = 5/6, e_i = 1/3, 1/3, -2/3, Var = 3/2 * (2/3) / 6^2 = 1/36, t with 2 df
    assert _row(b, "channel", "kiosk", "SI_1")["index_low"] == pytest.approx(100 * (5 / 6 - T_975_2 / 6))
    assert _row(b, "month", "2024-01", "SI_1")["label"] == "01/2024"
    tests = b.channel_tests.set_index("indicator")
    assert tests.loc["service", "h"] == pytest.approx(245 / 93)  # see the database test for the ranks


def test_response_columns_follow_the_dont_know_option():
    items = pd.DataFrame({
        "group": "citizen", "question": ["E1.1"] * 3 + ["X1"] * 2, "option": ["4", "2", "9", "A", "B"],
        "weight": [0.75, 0.25, None, None, None], "is_missing": [False, False, True, False, False],
        "subcriterion": None, "sipas_element": pd.array([1, 1, 1, None, None], dtype="Int64"),
        "sipas_policy": None, "is_expectation": [False, False, False, True, True]})
    excluded = response_columns(items, AnalysisOptions()).set_index(["option", "column"])["value"]
    # "4" is valid and satisfied, "2" valid only, "9" (don't know) adds nothing but "any"
    assert excluded[("4", "x:SI_1")] == 1 and excluded[("4", "y:SI_1")] == 1
    assert ("2", "y:SI_1") not in excluded.index and ("9", "x:SI_1") not in excluded.index
    assert excluded[("9", "any")] == 1 and excluded[("A", "e:X1:A")] == 1
    zero = response_columns(items, AnalysisOptions(dont_know="zero")).set_index(["option", "column"])["value"]
    assert zero[("9", "x:SI_1")] == 1 and ("9", "y:SI_1") not in zero.index


def test_a_single_small_value_is_withheld_and_so_is_its_complement():
    frame, columns = _frame(ROWS + [("3", "point", "2024-01", "", "", 2, 2, 1, 1, 1, 0, 0)])
    b = sipas_breakdown(frame, columns, AnalysisOptions(min_cell=3))
    hidden = set(zip(b.indices.loc[b.indices["suppressed"], "dimension"], b.indices.loc[b.indices["suppressed"], "key"]))
    # point 3 (1 respondent) and, as the points add up to the round, the smaller of 1 and 2 (a tie: the first)
    assert ("point", "3") in hidden and len({k for d, k in hidden if d == "point"}) == 2
    # procedure "" is point 3's response alone (same respondents): withheld; agency STP is the round minus it
    assert {("procedure", ""), ("agency", ""), ("agency", "STP")} <= hidden
    withheld = b.indices[b.indices["suppressed"]]
    assert withheld["index"].isna().all() and withheld["index_low"].isna().all()
    assert not b.expectations.loc[b.expectations["dimension"] == "channel", "suppressed"].any()


def test_a_week_belongs_to_the_month_of_its_thursday():
    weeks = pd.Series(pd.to_datetime(["2024-01-29", "2024-02-26", "2024-01-08"]))
    # 29 Jan - 4 Feb: Thursday 1 Feb; 26 Feb - 3 Mar 2024: Thursday 29 Feb
    assert list(month_of_week(weeks)) == ["2024-02", "2024-02", "2024-01"]


def test_trend_chart_has_the_months_and_decodes_as_png():
    b = sipas_breakdown(*_frame(), AnalysisOptions(min_cell=4))  # every month withheld below 4
    months = b.indices[b.indices["dimension"] == "month"]
    figure = sipas_trend_chart(months, min_cell=4)
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels == ["01/2024 *", "02/2024 *"]
    shown = sipas_trend_chart(sipas_breakdown(*_frame(), AnalysisOptions(min_cell=3)).indices.query(
        "dimension == 'month'"), min_cell=3)
    assert [t.get_text() for t in shown.axes[0].get_xticklabels()] == ["01/2024", "02/2024"]
    image = Image.open(io.BytesIO(figure_bytes(shown)))
    image.load()
    assert image.format == "PNG" and image.width > 600


def test_expectation_rows_carry_the_options_text_and_keep_the_code():
    frame, columns = _frame()
    b = sipas_breakdown(frame, columns, AnalysisOptions(min_cell=3), option_labels={("X1", "A"): "Giảm giấy tờ"})
    e = b.expectations.set_index(["dimension", "key", "option"])
    assert e.loc[("channel", "point", "A"), "option_label"] == "Giảm giấy tờ"
    assert e.loc[("channel", "point", "B"), "option_label"] == "B"  # no text given: the code
    assert list(b.expectations.columns[3:6]) == ["question", "option", "option_label"]
    data = b.to_json_dict()
    assert data["min_cell"] == 3 and len(data["expectations"]) == len(b.expectations)
    assert {r["option_label"] for r in data["expectations"] if r["option"] == "A"} == {"Giảm giấy tờ"}


def test_the_json_says_withheld_where_the_frames_do():
    frame, columns = _frame(ROWS + [("3", "point", "2024-01", "", "", 2, 2, 1, 1, 1, 0, 0)])
    data = sipas_breakdown(frame, columns, AnalysisOptions(min_cell=3)).to_json_dict()
    point3 = [r for r in data["indices"] if (r["dimension"], r["key"]) == ("point", "3")]
    assert point3 and all(r["suppressed"] is True and r["index"] is None for r in point3)
    shown = next(r for r in data["indices"] if (r["dimension"], r["key"], r["indicator"]) == ("channel", "point", "SI_1"))
    assert shown["suppressed"] is False and shown["index"] == pytest.approx(400 / 7)  # 2/5 and #7 2/2: 4 of 7
