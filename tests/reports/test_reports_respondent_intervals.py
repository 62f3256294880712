"""Intervals over respondents (issue 12, item 2), pinned to hand computations on both databases.

Each respondent answers two questions of a sub-criterion / SIPAS element, so the
answers are clustered; the interval is over the respondents' scores.
"""

from __future__ import annotations

import pytest

from analysis import AnalysisOptions
from survey import db
from survey.questionnaire_registry import catalog
from survey.reports import computation
from survey.rounds.models import Round

T_975_4 = 2.7764451051977987  # Student t, 0.975 quantile, 4 degrees of freedom (tables: 2.776)

# 1.5.1 by department leaders, weights A 1, B .6, C .2, D 0.  Per-respondent scores (2 answers each):
# (1+1)/2 = 1, (1+.6)/2 = .8, (.6+.2)/2 = .4, (.6+.2)/2 = .4, (.2+.2)/2 = .2 -> mean .56 (= 5.6 / 10 pooled)
# deviations .44 .24 -.16 -.16 -.36, squares sum .432, s^2 = .108, var of mean .0216
DEPARTMENT = [{"Q1.01": [a], "Q1.02": [b]} for a, b in (("A", "A"), ("A", "B"), ("B", "C"), ("B", "C"), ("C", "C"))]
# SIPAS element 1, satisfied = 4 or 5, 9 = don't know (excluded):
# y/x per citizen: 2/2, 1/2, 0/1, 2/2, 1/2 -> SI_1 = 100 * 6/9
# e_i = y - (2/3) x: 2/3, -1/3, -2/3, 2/3, -1/3 -> sum e^2 = 14/9; Var = 5/4 * (14/9) / 9^2 = 70/2916
CITIZEN = [{"E1.1": [a], "E1.2": [b]} for a, b in (("4", "5"), ("4", "2"), ("3", "9"), ("5", "5"), ("1", "4"))]


def _compute(app, round_id, options=None):
    with app.app_context(), db.unit_of_work(write=False) as session:
        return computation.compute(session, session.get(Round, round_id), catalog(), options)


def test_subcriterion_interval_is_over_respondents(app, answered_round):
    round_id = answered_round(data={"department": DEPARTMENT})
    result = _compute(app, round_id).result
    p = result.subcriterion_points
    row = p[(p["subcriterion"] == "1.5.1") & (p["group"] == "department")].iloc[0]
    assert row["score"] == pytest.approx(0.56)  # the point estimate stays the item-pooled mean
    half = T_975_4 * (0.0216 ** 0.5)
    assert row["score_low"] == pytest.approx(0.56 - half, abs=1e-9)
    assert row["score_high"] == pytest.approx(0.56 + half, abs=1e-9)
    assert result.provenance["intervals"]["unit"] == "respondent"


def test_sipas_element_and_service_intervals_are_over_respondents(app, answered_round):
    round_id = answered_round(data={"citizen": CITIZEN})
    sipas = _compute(app, round_id).result.sipas
    el = sipas.elements.set_index("code").loc["SI_1"]
    assert el["index"] == pytest.approx(100 * 2 / 3)
    low = 100 * (2 / 3 - T_975_4 * (70 / 2916) ** 0.5)
    assert el["index_low"] == pytest.approx(low, abs=1e-9)
    assert el["index_high"] == pytest.approx(100.0)  # 66.67 + 43.02 is clipped to 100
    # One element: the service index is SI_1, and its interval (from each respondent's contribution,
    # summed in the database) is the same; no policy items, so SIPAS is the service index.
    assert sipas.service_index == pytest.approx(100 * 2 / 3)
    assert sipas.service_interval[0] == pytest.approx(low, abs=1e-9)
    assert sipas.sipas_interval[0] == pytest.approx(low, abs=1e-9)


def test_dont_know_as_zero_counts_it_in_the_respondents_base(app, answered_round):
    round_id = answered_round(data={"citizen": CITIZEN})
    el = _compute(app, round_id, AnalysisOptions(dont_know="zero")).result.sipas.elements.set_index("code").loc["SI_1"]
    # x = 2 for everyone: SI_1 = 6/10; per-respondent shares 1, .5, 0, 1, .5, deviations .4 -.1 -.6 .4 -.1,
    # squares sum .70 -> s^2 = .175, var of mean .035
    assert el["index"] == pytest.approx(60.0)
    assert el["index_low"] == pytest.approx(100 * (0.6 - T_975_4 * 0.035 ** 0.5), abs=1e-9)


def test_multiple_choice_percentages_are_over_respondents_and_said_so(app, answered_round):
    from analysis.report import report_tables
    from tests.reports.conftest import HAND_DATA

    round_id = answered_round(data={"citizen": HAND_DATA["citizen"]})
    result = _compute(app, round_id, AnalysisOptions(min_cell=2)).result
    f = result.frequencies.set_index(["question", "option"])
    # X1 answered by 4 people, A chosen by 3 of them: 75 %, not 3 of 7 choices
    assert f.loc[("X1", "A"), "pct"] == pytest.approx(75.0)
    assert f.loc[("X1", "B"), "pct"] == pytest.approx(50.0)
    method = report_tables(result)["methodology"]
    said = method[method["section"] == "Lựa chọn phương pháp"].set_index("key")["value"]
    assert "trên số người trả lời" in said["multiple_choice"]
    assert "luôn bỏ" in said["dont_know"] and "weighting" in said.index


def test_multiple_choice_question_of_fewer_than_k_respondents_is_hidden(app, answered_round):
    from tests.reports.conftest import HAND_DATA

    round_id = answered_round(data={"citizen": HAND_DATA["citizen"]})
    f = _compute(app, round_id).result.frequencies.set_index(["question", "option"])
    assert f.loc[("X1", "A"), "suppressed"]  # 7 choices but only 4 people (k = 5)
