import io
import math

import pandas as pd
import pytest
from analysis_frames import SATISFACTION_SCALE, count_rows, frame, item_rows, structure

from analysis.options import AnalysisOptions
from analysis.par import SelfAssessmentError, classify, par_score, read_self_assessment
from analysis.sipas import sample_size, satisfaction

EXPECT = [("a", math.nan, False), ("b", math.nan, False), ("c", math.nan, False)]


def sipas_frames():
    items, counts = [], []
    # options 1..5 (weights 0, .25, .5, .75, 1) then 9 = don't know
    for q, el, pol, ns in [
        ("S1", 1, None, [1, 2, 3, 10, 4, 1]),  # valid 20, satisfied 10 + 4 = 14 -> 70 %
        ("S2", 2, None, [0, 1, 4, 5, 10, 0]),  # valid 20, satisfied 5 + 10 = 15 -> 75 %
        ("P1", None, "y_te", [2, 2, 2, 2, 2, 0]),  # valid 10, satisfied 4 -> 40 %
    ]:
        items += item_rows("CD", q, SATISFACTION_SCALE, element=el, policy=pol)
        counts += count_rows("CD", q, SATISFACTION_SCALE, ns)
    items += item_rows("CD", "E1", EXPECT, expectation=True)
    counts += count_rows("CD", "E1", EXPECT, [5, 8, 3])
    return frame(counts), frame(items)


def test_sipas_by_hand():
    counts, items = sipas_frames()
    r = satisfaction(counts, items, AnalysisOptions(bootstrap_samples=200), respondents=12)
    el = r.elements.set_index("code")
    assert el.loc["SI_1", "index"] == pytest.approx(70.0)
    assert el.loc["SI_2", "index"] == pytest.approx(75.0)
    # service = mean(70, 75) = 72.5; policy = 40; SIPAS = (72.5 + 40) / 2 = 56.25
    assert r.service_index == pytest.approx(72.5)
    assert r.policy_index == pytest.approx(40.0)
    assert r.sipas == pytest.approx(56.25)
    lo, hi = r.sipas_interval
    assert lo < 56.25 < hi
    # Wilson on 14/20 (by hand): p = 0.7, z^2/n = 0.192073, denominator 1.192073
    # centre = (0.7 + 0.096036)/1.192073 = 0.667776
    # half = 1.959964/1.192073 * sqrt(0.21/20 + 3.841459/1600) = 1.644168 * 0.113582 = 0.186748
    assert el.loc["SI_1", "index_low"] == pytest.approx(100 * (0.667776 - 0.186748), abs=1e-3)
    assert el.loc["SI_1", "index_high"] == pytest.approx(100 * (0.667776 + 0.186748), abs=1e-3)
    exp = r.expectations.set_index("option")
    # 5 of 12 respondents chose a: 41.67 %
    assert exp.loc["a", "share"] == pytest.approx(500 / 12)


def test_sipas_dont_know_zero_counts_as_not_satisfied():
    counts, items = sipas_frames()
    r = satisfaction(counts, items, AnalysisOptions(dont_know="zero", bootstrap_samples=50))
    # S1: 14 satisfied of 21 answers = 66.67 %
    assert r.elements.set_index("code").loc["SI_1", "index"] == pytest.approx(1400 / 21)
    # expectation denominators default to the sum of the option counts (5+8+3 = 16)
    assert r.expectations.set_index("option").loc["b", "share"] == pytest.approx(50.0)


def test_sipas_bootstrap_reproducible():
    counts, items = sipas_frames()
    opts = AnalysisOptions(bootstrap_samples=100, seed=5)
    assert satisfaction(counts, items, opts).sipas_interval == satisfaction(counts, items, opts).sipas_interval


def test_sample_size():
    assert sample_size(1000, 0.05) == 286  # 1000 / (1 + 1000*0.0025) = 1000/3.5 = 285.7 -> 286
    assert sample_size(400) == 200  # 400 / 2 = 200 exactly, not 201
    for bad in [(0, 0.05), (-3, 0.05), (100, 0), (100, 1), (100, 1.5)]:
        with pytest.raises(ValueError):
            sample_size(*bad)


STRUCT = structure([(1, "1.1.1", 30.0, True), (1, "1.1.2", 40.0, False), (2, "2.1.1", 30.0, False)])


def test_classes_at_boundaries():
    assert classify(90) == "A"
    assert classify(89.999) == "B"
    assert classify(80) == "B"
    assert classify(79.99) == "C"
    assert classify(70) == "C"
    assert classify(69.99) == "D"


def test_par_total_and_class():
    sp = pd.DataFrame({"subcriterion": ["1.1.1"], "points": [20.0]})
    sa = pd.DataFrame({"subcriterion": ["1.1.2", "2.1.1"], "points": [40.0, 30.0]})
    r = par_score(sp, sa, STRUCT)
    # 20 + 40 + 30 = 90 of 100 -> A
    assert r.total == 90.0 and r.percent == 90.0 and r.classification == "A"
    f = r.fields.set_index("field")
    assert f.loc[1, "points"] == 60.0 and f.loc[1, "max_points"] == 70.0
    sa2 = pd.DataFrame({"subcriterion": ["1.1.2", "2.1.1"], "points": [39.99, 30.0]})
    r2 = par_score(sp, sa2, STRUCT, previous=r)
    assert r2.classification == "B" and r2.delta == -0.01


def test_self_assessment_errors_list_every_row():
    sp = pd.DataFrame({"subcriterion": ["1.1.1"], "points": [20.0]})
    sa = pd.DataFrame({"subcriterion": ["1.1.1", "X.9", "2.1.1", "1.1.2"], "points": [1, 2, 31, -1]})
    with pytest.raises(SelfAssessmentError) as err:
        par_score(sp, sa, STRUCT)
    problems = err.value.problems
    assert len(problems) == 4
    assert "survey" in problems[0] and "unknown" in problems[1]
    assert "exceed" in problems[2] and "negative" in problems[3]


def test_read_self_assessment_csv_and_xlsx(tmp_path):
    csv = io.BytesIO("Mã tiêu chí;Điểm\n1.1.2;1,5\n2.1.1;3\n".encode("utf-8-sig"))
    got = read_self_assessment(csv)
    assert got["subcriterion"].tolist() == ["1.1.2", "2.1.1"] and got["points"].tolist() == [1.5, 3.0]
    path = tmp_path / "tu_danh_gia.xlsx"
    pd.DataFrame({"subcriterion": ["1.1.2"], "points": [2.25]}).to_excel(path, index=False)
    assert read_self_assessment(path)["points"].tolist() == [2.25]
    with pytest.raises(ValueError, match="Điểm"):
        read_self_assessment(io.BytesIO("Mã tiêu chí,x\n1,2\n".encode()), format="csv")
