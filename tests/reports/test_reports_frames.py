"""Rows to frames and the indices computed from them, pinned to hand computations on both databases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import AnalysisOptions, compute_round
from survey import db
from survey.questionnaire_registry import catalog
from survey.reports import computation, frames
from survey.rounds.models import Round
from tests.reports.conftest import HAND_DATA
from tests.reports.cycle_points import give_points


def _compute(app, round_id, options=None, **kwargs):
    with app.app_context(), db.unit_of_work(write=False) as session:
        return computation.compute(session, session.get(Round, round_id), catalog(), options, **kwargs)


def test_counts_are_one_group_by_over_the_rounds_answers(app, answered_round):
    round_id = answered_round()
    other = answered_round(title="Đợt khác")  # a second round's answers must not leak into the first
    assert other != round_id
    with app.app_context(), db.unit_of_work(write=False) as session:
        counts = frames.counts_frame(session, session.get(Round, round_id))
    got = {(g, q, o): n for g, q, o, n in counts.itertuples(index=False)}
    assert got[("hdnd", "Q1.01", "A")] == 2 and got[("hdnd", "Q1.01", "E")] == 1
    assert got[("department", "Q1.02", "B")] == 5
    assert got[("citizen", "X1", "A")] == 3 and got[("citizen", "X1", "B")] == 2
    assert not any(q == "C1" for _, q, _ in got)  # free text is never counted
    assert sum(got.values()) == 6 + 10 + 4 + 5 + 7  # X1: 2 + 1 + 1 + 3 choices


def test_subcriterion_points_by_hand(app, answered_round):
    round_id = answered_round()
    computed = _compute(app, round_id)
    p = computed.result.subcriterion_points
    rows = p[p["subcriterion"] == "1.5.1"]
    by_group = rows[~rows["is_pooled"]].set_index("group")
    assert by_group.loc["hdnd", "score"] == pytest.approx(0.56)
    assert by_group.loc["hdnd", "points"] == pytest.approx(0.28)
    open_ = _compute(app, round_id, AnalysisOptions(min_cell=2)).result.subcriterion_points
    shown = open_[(open_["subcriterion"] == "1.5.1") & ~open_["is_pooled"]].set_index("group")
    assert shown.loc["department", "score"] == pytest.approx(0.8)
    assert shown.loc["division", "score"] == pytest.approx(0.5)
    # two division leaders: hidden (k = 5)
    assert by_group.loc["division", "suppressed"] and math.isnan(by_group.loc["division", "score"])
    pooled = rows[rows["is_pooled"]].iloc[0]
    # default hidden_groups="exclude": the hidden division is not pooled, (0.56 + 0.8) / 2 = 0.68 -> 0.34
    assert pooled["score"] == pytest.approx(0.68) and pooled["points"] == pytest.approx(0.34)
    assert not by_group.loc["department", "suppressed"]
    p = _compute(app, round_id, AnalysisOptions(hidden_groups="include")).result.subcriterion_points
    rows = p[p["subcriterion"] == "1.5.1"]
    by_group = rows[~rows["is_pooled"]].set_index("group")
    pooled = rows[rows["is_pooled"]].iloc[0]
    # include: equal pooling over the three groups with answers: (0.56 + 0.8 + 0.5) / 3, division = (0 + 0 + 1 + 1) / 4
    assert pooled["score"] == pytest.approx((0.56 + 0.8 + 0.5) / 3)
    assert pooled["points"] == pytest.approx(0.31)  # 0.5 * 0.62 = 0.31
    # the hidden division row must not be derivable: the smallest visible group is hidden too
    assert by_group.loc["department", "suppressed"] and not by_group.loc["hdnd", "suppressed"]


def test_pooling_by_size_and_dont_know_as_zero(app, answered_round):
    round_id = answered_round(data={k: v for k, v in HAND_DATA.items() if k != "division"})
    size = _compute(app, round_id, AnalysisOptions(pooling="size")).result.subcriterion_points
    pooled = size[(size["subcriterion"] == "1.5.1") & size["is_pooled"]].iloc[0]
    assert pooled["score"] == pytest.approx((5 * 0.56 + 10 * 0.8) / 15)  # 0.72
    zero = _compute(app, round_id, AnalysisOptions(dont_know="zero")).result.item_scores
    hdnd = zero[(zero["group"] == "hdnd") & (zero["question"] == "Q1.01")].iloc[0]
    assert hdnd["mean_weight"] == pytest.approx(2.8 / 6)


def test_sipas_shares_and_expectation_denominator(app, answered_round):
    round_id = answered_round()
    default = _compute(app, round_id).result.sipas
    # E1.1: 5 responses (k = 5 reached) -> shown; X1: answered by 4 -> hidden
    assert default.questions.set_index("question").loc["E1.1", "index"] == pytest.approx(75.0)
    assert default.expectations["suppressed"].all() and default.expectations["share"].isna().all()
    computed = _compute(app, round_id, AnalysisOptions(min_cell=4))
    assert computed.frames.sipas_respondents == {"X1": 4}
    sipas = computed.result.sipas
    e1 = sipas.questions[sipas.questions["question"] == "E1.1"].iloc[0]
    assert e1["index"] == pytest.approx(75.0)
    exp = sipas.expectations.set_index("option")
    assert exp.loc["A", "share"] == pytest.approx(75.0)


def test_response_and_roster_counts_and_provenance(app, answered_round):
    round_id = answered_round(per_group=3)
    computed = _compute(app, round_id)
    assert computed.response_counts == {"hdnd": 6, "department": 5, "division": 2, "district": 0, "citizen": 5}
    assert computed.roster_counts == {g: 3 for g in computed.response_counts}
    prov = computed.result.provenance
    assert prov["structure"]["key"] == "par-province" and len(prov["structure"]["content_hash"]) == 64
    assert prov["questionnaires"]["hdnd"]["version"] == "2023.1"
    assert computed.result.options == AnalysisOptions()


def test_responses_wide_streams_whole_responses_in_chunks(app, answered_round):
    round_id = answered_round()
    with app.app_context(), db.unit_of_work(write=False) as session:
        round_ = session.get(Round, round_id)
        items = frames.items_frame(frames.round_questionnaires(round_, catalog()))
        chunks = list(frames.responses_wide(session, round_, items, chunk_size=2))
    assert all(len(c) <= 3 for c in chunks) and len(chunks) >= 6
    wide = pd.concat(chunks)
    assert wide.index.is_unique and len(wide) == 6 + 5 + 2 + 5
    hdnd = wide[wide["group"] == "hdnd"]["Q1.01"]
    assert sorted(hdnd.dropna()) == [0.0, 0.2, 0.6, 1.0, 1.0] and hdnd.isna().sum() == 1


def test_weighting_uses_roster_sizes(app, answered_round):
    round_id = answered_round(per_group=10)
    computed = _compute(app, round_id, AnalysisOptions(weighting="group"))
    weights = computed.result.weights.set_index("group")
    # 10 people per group on the roster; hdnd has 6 of 18 responses in covered groups -> weight (1/4)/(6/18)
    covered = weights[weights["covered"]]
    assert set(covered.index) == {"hdnd", "department", "division", "citizen"}
    assert covered.loc["hdnd", "weight"] == pytest.approx((10 / 40) / (6 / 18))
    assert any("cơ quan" in n for n in computed.result.notes)


def test_group_comparison_by_hand(app, answered_round):
    round_id = answered_round()
    computed = _compute(app, round_id)
    [test] = [t for t in computation.group_comparisons(computed, "1.5.1") if t["question"] == "Q1.01"]
    # division (2 responses) takes no part; don't know left out.
    # hdnd A2 B1 C1 D1, department A5: expected 3.5, .5, .5, .5 per row
    assert test["groups"] == ["department", "hdnd"]
    chi2 = 2 * ((2 - 3.5) ** 2 / 3.5 + 3 * 0.5**2 / 0.5)
    assert test["chi2"] == pytest.approx(chi2) and test["dof"] == 3
    assert test["cramers_v"] == pytest.approx(math.sqrt(chi2 / 10))
    # mid-ranks: 0 -> 1, 0.2 -> 2, 0.6 -> 3, 1 (seven times) -> 7; R_hdnd = 20, R_department = 35
    h = (12 / (10 * 11) * (20**2 / 5 + 35**2 / 5) - 3 * 11) / (1 - (7**3 - 7) / (10**3 - 10))
    assert test["h"] == pytest.approx(h) and test["epsilon_squared"] == pytest.approx(h / 9)


def _earlier_and_current_self_assessed(app, earlier, current):
    """The earlier round moves to 2022; 1.1.1 gets 0.5 appraised points there, 0.25 self-assessed now."""
    with app.app_context(), db.unit_of_work() as session:
        session.get(Round, earlier).year = 2022
        give_points(session, earlier, appraised={"1.1.1": 0.5})
        give_points(session, current, self_points={"1.1.1": 0.25})


def test_par_score_compares_with_the_previous_round(app, answered_round, monkeypatch):
    earlier = answered_round(title="Đợt 2022")
    current = answered_round()
    _earlier_and_current_self_assessed(app, earlier, current)
    full_runs = []
    monkeypatch.setattr(computation, "compute_round",
                        lambda *a, **k: full_runs.append(1) or compute_round(*a, **k))
    result = _compute(app, current).result
    assert len(full_runs) == 1  # the earlier round's PAR score alone, not a second full computation
    assert result.par.delta == pytest.approx(-0.25)
    assert result.provenance["previous_round"]["year"] == 2022
    assert result.par.total == pytest.approx(0.25 + result.survey_total["points"])


def test_cronbach_alpha_from_streamed_responses_matches_the_textbook_formula(app, answered_round):
    import numpy as np

    rows = ["AABAB", "BBCBB", "CBCCD", "AAAAA", "DCDCD", "BABBC"]
    data = {"department": [{f"Q1.0{i + 1}": [o] for i, o in enumerate(r)} for r in rows]
            + [{"Q1.01": ["A"], "Q1.02": ["A"], "Q1.03": ["E"], "Q1.04": ["A"], "Q1.05": ["A"]}]}  # don't know: left out
    round_id = answered_round(data=data)
    result = _compute(app, round_id, reliability=True).result
    rel = result.reliability
    row = rel[(rel["scale"] == "field 1") & (rel["group"] == "department")].iloc[0]
    w = {"A": 1.0, "B": 0.6, "C": 0.2, "D": 0.0}
    x = np.array([[w[o] for o in r] for r in rows])
    k = x.shape[1]
    alpha = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))
    assert row["n"] == 6 and row["n_items"] == 5
    assert row["alpha"] == pytest.approx(alpha)


def test_sipas_element_scores_its_par_subcriterion_by_hand(app, answered_round):
    # Citizens' E1.1 (element 1): 4, 5, 3, 4 and one don't know -> 3 satisfied of 4 valid -> SI_1 = 75,
    # 5 respondents >= k -> 8.1.1 = 2.0 * 75 / 100 = 1.50 points.  No policy question was answered.
    computed = _compute(app, answered_round())
    p = computed.result.subcriterion_points
    pooled = p[p["is_pooled"]].set_index("subcriterion")
    assert pooled.at["8.1.1", "points"] == pytest.approx(1.50)
    assert pooled.at["8.1.1", "status"] == "scored"
    assert pooled.at["8.2.1", "status"] == "not_measured"
    assert computed.result.provenance["sipas_to_par"]["links"]["8.1.1"] == "SI_1"
    field8 = computed.result.field_totals.set_index("field").loc[8]
    assert field8["survey_points"] == pytest.approx(1.50)


def test_weighting_with_an_earlier_round_that_has_points_but_no_responses(app, answered_round):
    earlier = answered_round(title="Đợt 2022", data={})
    current = answered_round(per_group=10)
    _earlier_and_current_self_assessed(app, earlier, current)
    result = _compute(app, current, AnalysisOptions(weighting="group")).result
    # The earlier round has no survey points: its PAR score is its self-assessment alone.
    assert result.par.delta == pytest.approx(round(result.par.total - 0.5, 2))
    reply = app.test_cli_runner().invoke(args=["analysis", "compute", "--round", str(current), "--weighting", "group"])
    assert reply.exit_code == 0, reply.output
