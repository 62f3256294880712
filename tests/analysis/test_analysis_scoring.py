import math

import pandas as pd
import pytest
from analysis_frames import LEADER_SCALE, count_rows, frame, item_rows, structure

from analysis.options import AnalysisOptions
from analysis.scoring import field_totals, item_scores, subcriterion_points

STRUCTURE = structure([(1, "1.1.1", 1.5, True), (1, "1.1.2", 2.0, False), (2, "2.1.1", 3.0, True)])


def worked_example(extra_groups=()):
    # domain.md: 18 A, 12 B, 6 C, 2 D, 2 E (don't know)
    items = item_rows("L", "Q1", LEADER_SCALE, "1.1.1")
    counts = count_rows("L", "Q1", LEADER_SCALE, [18, 12, 6, 2, 2])
    for g, ns in extra_groups:
        items += item_rows(g, "Q1", LEADER_SCALE, "1.1.1")
        counts += count_rows(g, "Q1", LEADER_SCALE, ns)
    return frame(counts), frame(items)


def pooled(points, code):
    row = points[(points["subcriterion"] == code) & points["is_pooled"]]
    assert len(row) == 1
    return row.iloc[0]


def test_worked_example_of_domain_brief():
    counts, items = worked_example()
    scores = item_scores(counts, items, AnalysisOptions())
    row = scores.iloc[0]
    # valid = 40 - 2 don't know = 38; sum of weights = 18*1 + 12*0.6 + 6*0.2 + 2*0 = 26.4
    assert row["n_valid"] == 38 and row["n_missing"] == 2 and row["n_responses"] == 40
    assert row["mean_weight"] == pytest.approx(26.4 / 38)
    assert round(row["mean_weight"], 4) == 0.6947
    points = subcriterion_points(counts, items, STRUCTURE, AnalysisOptions())
    p = pooled(points, "1.1.1")
    # 1.5 * 0.694737 = 1.042105 -> 1.04
    assert p["points_raw"] == pytest.approx(1.5 * 26.4 / 38)
    assert p["points"] == 1.04


def test_item_interval_is_student_t_on_discrete_weights():
    counts, items = worked_example()
    row = item_scores(counts, items).iloc[0]
    # sum n w^2 = 18*1 + 12*0.36 + 6*0.04 = 22.56; SS = 22.56 - 26.4^2/38 = 4.218947
    # s^2 = 4.218947/37 = 0.114026, sd = 0.337677, se = sd/sqrt(38) = 0.054778
    # t(0.975, 37) = 2.02619 (table) -> half width 0.110991
    assert row["sd_weight"] == pytest.approx(0.337677, abs=1e-6)
    assert row["mean_low"] == pytest.approx(0.694737 - 0.110991, abs=1e-5)
    assert row["mean_high"] == pytest.approx(0.694737 + 0.110991, abs=1e-5)


def test_dont_know_scored_zero():
    counts, items = worked_example()
    points = subcriterion_points(counts, items, STRUCTURE, AnalysisOptions(dont_know="zero"))
    p = pooled(points, "1.1.1")
    # 26.4 / 40 = 0.66; 1.5 * 0.66 = 0.99
    assert p["score"] == pytest.approx(0.66)
    assert p["points"] == 0.99
    assert p["n_valid"] == 40


def test_pooling_equal_and_by_size():
    # group H: 5 A + 5 C -> (5*1 + 5*0.2) / 10 = 0.6
    counts, items = worked_example([("H", [5, 0, 5, 0, 0])])
    eq = pooled(subcriterion_points(counts, items, STRUCTURE, AnalysisOptions(pooling="equal")), "1.1.1")
    # (26.4/38 + 0.6) / 2 = (0.694737 + 0.6) / 2 = 0.647368; * 1.5 = 0.971053 -> 0.97
    assert eq["score"] == pytest.approx((26.4 / 38 + 0.6) / 2)
    assert eq["points"] == 0.97
    size = pooled(subcriterion_points(counts, items, STRUCTURE, AnalysisOptions(pooling="size")), "1.1.1")
    # alpha = 38/48 and 10/48: (26.4 + 6) / 48 = 0.675; * 1.5 = 1.0125 -> 1.01
    assert size["score"] == pytest.approx(0.675)
    assert size["points"] == 1.01
    groups = subcriterion_points(counts, items, STRUCTURE, AnalysisOptions(pooling="size"))
    alphas = groups[~groups["is_pooled"]].set_index("group")["alpha"]
    assert alphas["L"] == pytest.approx(38 / 48) and alphas["H"] == pytest.approx(10 / 48)


def test_explicit_group_weights_override_pooling():
    counts, items = worked_example([("H", [5, 0, 5, 0, 0])])
    p = pooled(subcriterion_points(counts, items, STRUCTURE, group_weights={"L": 3, "H": 1}), "1.1.1")
    # 0.75 * 0.694737 + 0.25 * 0.6 = 0.671053
    assert p["score"] == pytest.approx(0.75 * 26.4 / 38 + 0.25 * 0.6)


def _derive_hidden(points, code):
    """Every group score an outsider can solve for from one published sub-criterion."""
    rows = points[points["subcriterion"] == code]
    pool = rows[rows["is_pooled"]].iloc[0]
    groups = rows[~rows["is_pooled"]]
    if pool["suppressed"]:
        return {}
    unknown = groups[groups["suppressed"] & (groups["n_responses"] > 0)]
    if len(unknown) != 1:
        return {}
    known = groups[~groups["suppressed"]]
    # equal pooling: alpha_g = 1/G over contributing groups, public from the options
    g = len(groups[groups["n_responses"] > 0])
    return {unknown.iloc[0]["group"]: g * pool["score"] - known["score"].sum()}


def test_complementary_suppression_leaves_no_group_derivable():
    # L: 40 responses (worked example), H: 3 responses (below k=5).
    counts, items = worked_example([("H", [2, 0, 1, 0, 0])])
    points = subcriterion_points(counts, items, STRUCTURE, AnalysisOptions(min_cell=5, hidden_groups="include"))
    rows = points[points["subcriterion"] == "1.1.1"].set_index("group", drop=False)
    # H's true score is (2*1 + 1*0.2)/3 = 0.7333: without the complement it would be
    # 2*pooled - s_L.  Both group rows are hidden; the pooled (43 responses) is shown.
    assert rows.loc["H", "suppressed"] and rows.loc["L", "suppressed"]
    assert math.isnan(rows.loc["L", "score"]) and math.isnan(rows.loc["L", "n_valid"])
    p = pooled(points, "1.1.1")
    assert not p["suppressed"] and p["score"] == pytest.approx((26.4 / 38 + 2.2 / 3) / 2)
    assert _derive_hidden(points, "1.1.1") == {}


def test_complement_hides_the_smallest_visible_group_only():
    counts, items = worked_example([("H", [2, 0, 1, 0, 0]), ("M", [5, 5, 0, 0, 0]), ("N", [6, 6, 0, 0, 0])])
    points = subcriterion_points(counts, items, STRUCTURE, AnalysisOptions(min_cell=5, hidden_groups="include"))
    groups = points[~points["is_pooled"]].set_index("group")["suppressed"].to_dict()
    assert groups == {"H": True, "M": True, "N": False, "L": False}
    assert _derive_hidden(points, "1.1.1") == {}


def test_pooled_row_below_k_is_suppressed_and_unscored_in_totals():
    items = frame(item_rows("H", "Q1", LEADER_SCALE, "1.1.1"))
    counts = frame(count_rows("H", "Q1", LEADER_SCALE, [2, 1, 0, 0, 0]))
    points = subcriterion_points(counts, items, STRUCTURE, AnalysisOptions(min_cell=5))
    assert points["suppressed"].all() and points["score"].isna().all()
    totals = field_totals(points, STRUCTURE)
    assert totals.loc[totals["is_total"], "n_unscored"].item() == 2


def test_field_totals():
    counts, items = worked_example()
    items2 = frame(item_rows("L", "Q2", LEADER_SCALE, "2.1.1"))
    counts2 = frame(count_rows("L", "Q2", LEADER_SCALE, [10, 0, 0, 0, 0]))
    counts = pd.concat([counts, counts2], ignore_index=True)
    items = pd.concat([items, items2], ignore_index=True)
    points = subcriterion_points(counts, items, STRUCTURE)
    totals = field_totals(points, STRUCTURE).set_index("field_title")
    # field 1: 1.04 of 1.5 (69.33 %); field 2: 10 A -> 3.00 of 3.0; total 4.04 of 4.5
    assert totals.loc["Lĩnh vực 1", "survey_points"] == 1.04
    assert totals.loc["Lĩnh vực 1", "survey_max"] == 1.5
    assert totals.loc["Lĩnh vực 1", "percent"] == pytest.approx(100 * 1.04 / 1.5)
    assert totals.loc["Lĩnh vực 2", "survey_points"] == 3.0
    assert totals.loc["Tổng", "survey_points"] == 4.04
    assert totals.loc["Tổng", "survey_max"] == 4.5


def test_input_errors_name_the_problem():
    counts, items = worked_example()
    with pytest.raises(ValueError, match="counts is missing column.*n"):
        item_scores(counts.drop(columns="n"), items)
    with pytest.raises(ValueError, match="no matching option"):
        item_scores(pd.concat([counts, frame([dict(group="L", question="Q1", option="Z", n=1)])]), items)
    with pytest.raises(ValueError, match="n_weighted"):
        item_scores(counts, items, AnalysisOptions(weighting="group"))
    with pytest.raises(ValueError, match="dont_know"):
        AnalysisOptions(dont_know="maybe")
    bad = STRUCTURE.assign(survey_scored=[False, False, True])
    with pytest.raises(ValueError, match="not mark survey_scored"):
        subcriterion_points(counts, items, bad)


def test_no_interval_when_a_pooled_variance_is_undefined():
    items = frame(item_rows("a", "Q1", LEADER_SCALE, "1.1.1") + item_rows("b", "Q1", LEADER_SCALE, "1.1.1"))
    # group a: one valid answer (A) and 4 don't know -> s_a = 1.0, variance undefined
    # group b: 1 A, 1 B, 1 C, 1 D, 1 B -> s_b = 2.4 / 5 = 0.48
    counts = frame(count_rows("a", "Q1", LEADER_SCALE, [1, 0, 0, 0, 4]) + count_rows("b", "Q1", LEADER_SCALE, [1, 2, 1, 1, 0]))
    pts = subcriterion_points(counts, items, structure([(1, "1.1.1", 1.0, True)]), AnalysisOptions(min_cell=1))
    pooled = pts[pts["is_pooled"]].iloc[0]
    assert pooled["score"] == pytest.approx((1.0 + 0.48) / 2)
    assert math.isnan(pooled["score_low"]) and math.isnan(pooled["score_high"])
    assert math.isnan(pooled["points_low"]) and math.isnan(pooled["points_high"])
    a = pts[pts["group"] == "a"].iloc[0]
    assert math.isnan(a["score_low"])
