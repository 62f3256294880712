import numpy as np
import pandas as pd
import pytest
from scipy import stats
from analysis_frames import LEADER_SCALE, count_rows, frame, item_rows, structure

from analysis.compare import compare_distributions, compare_scores
from analysis.options import AnalysisOptions
from analysis.scoring import subcriterion_points
from analysis.suppression import suppress_small_cells
from analysis.weighting import apply_weights, poststratification_weights

TABLE = pd.DataFrame({"group": ["a", "a", "b", "b"], "option": ["x", "y", "x", "y"], "n": [10, 20, 20, 10]})
ITEMS = pd.DataFrame({"group": ["a", "a", "b", "b"], "option": ["x", "y", "x", "y"], "weight": [0.0, 1.0, 0.0, 1.0], "is_missing": False})


def test_chi_square_by_hand():
    r = compare_distributions(TABLE)
    # every expected count = 30*30/60 = 15; chi2 = 4 * (5^2)/15 = 6.6667, dof 1
    assert r.chi2 == pytest.approx(20 / 3)
    assert r.dof == 1
    # Cramér's V = sqrt(6.6667 / (60 * 1)) = 1/3
    assert r.cramers_v == pytest.approx(1 / 3)
    # cross-check: df=1 -> p = P(|Z| > sqrt(chi2))
    assert r.p_value == pytest.approx(2 * stats.norm.sf(np.sqrt(20 / 3)))


def test_kruskal_wallis_by_hand():
    r = compare_scores(TABLE, ITEMS)
    # 30 zeros get mid-rank 15.5, 30 ones 45.5
    # R_a = 10*15.5 + 20*45.5 = 1065, R_b = 20*15.5 + 10*45.5 = 765
    # H = 12/(60*61) * (1065^2 + 765^2)/30 - 3*61 = 187.918033 - 183 = 4.918033
    # ties: 1 - 2*(30^3 - 30)/(60^3 - 60) = 1 - 53940/215940 = 0.750208
    # H = 4.918033 / 0.750208 = 6.555556;  epsilon^2 = H/(N-1) = 6.555556/59 = 0.111111
    assert r.h == pytest.approx(6.555556, abs=1e-6)
    assert r.epsilon_squared == pytest.approx(0.111111, abs=1e-6)
    # cross-check against scipy on the expanded answers
    ref = stats.kruskal([0] * 10 + [1] * 20, [0] * 20 + [1] * 10)
    assert r.h == pytest.approx(ref.statistic) and r.p_value == pytest.approx(ref.pvalue)


def test_poststratification_by_hand():
    sizes = pd.DataFrame({"group": ["L", "H"], "population": [100, 100], "respondents": [10, 30]})
    w = poststratification_weights(sizes).set_index("group")["weight"]
    # population shares .5/.5, respondent shares .25/.75 -> weights 2 and 2/3
    assert w["L"] == pytest.approx(2.0) and w["H"] == pytest.approx(2 / 3)
    items = frame(item_rows("L", "Q1", LEADER_SCALE, "1.1.1") + item_rows("H", "Q1", LEADER_SCALE, "1.1.1"))
    counts = frame(count_rows("L", "Q1", LEADER_SCALE, [10, 0, 0, 0, 0]) + count_rows("H", "Q1", LEADER_SCALE, [0, 0, 30, 0, 0]))
    weighted = apply_weights(counts, poststratification_weights(sizes))
    st = structure([(1, "1.1.1", 1.0, True)])
    p = subcriterion_points(weighted, items, st, AnalysisOptions(pooling="size", weighting="group"))
    pooled = p[p["is_pooled"]].iloc[0]
    # weighted valid n: L 10*2 = 20, H 30*2/3 = 20 -> equal alphas: (1.0 + 0.2)/2 = 0.6
    assert pooled["score"] == pytest.approx(0.6)
    unweighted = subcriterion_points(counts, items, st, AnalysisOptions(pooling="size"))
    # without weights: (10*1 + 30*0.2)/40 = 0.4
    assert unweighted[unweighted["is_pooled"]].iloc[0]["score"] == pytest.approx(0.4)


def test_weights_reject_uncovered_cells():
    sizes = pd.DataFrame({"group": ["L"], "population": [10], "respondents": [5]})
    counts = frame(count_rows("H", "Q1", LEADER_SCALE, [1, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="without a post-stratification weight"):
        apply_weights(counts, poststratification_weights(sizes))


def test_suppression_blanks_statistics_of_small_breakdowns():
    t = pd.DataFrame({"group": ["a", "b", "c"], "n_responses": [4, 5, 30], "mean": [0.5, 0.6, 0.7], "max_points": [1.5, 1.5, 1.5]})
    out = suppress_small_cells(t, "n_responses", 5, keep=["max_points"])
    assert out["suppressed"].tolist() == [True, False, False]
    assert np.isnan(out.loc[0, "mean"]) and out.loc[1, "mean"] == 0.6
    assert out.loc[0, "max_points"] == 1.5
    assert t.loc[0, "mean"] == 0.5  # input untouched
