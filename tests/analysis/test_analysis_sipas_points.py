"""SIPAS indices score the PAR sub-criteria the structure links them to (issue 12, item 1)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import AnalysisOptions, compute_round, par_of_round
from tests.analysis.analysis_frames import LEADER_SCALE, SATISFACTION_SCALE, count_rows, frame, item_rows


def _structure():
    rows = [(1, "1.1.1", 1.5, True, None), (8, "8.1.1", 2.0, True, "SI_1"), (8, "8.1.2", 2.0, True, "SI_2"),
            (8, "8.1.3", 2.0, True, "SI_3"), (8, "8.2.1", 3.0, True, "policy"), (8, "8.4.1", 4.5, False, None)]
    return pd.DataFrame([dict(field=f, field_title=f"Lĩnh vực {f}", criterion=c.rsplit(".", 1)[0], subcriterion=c,
                              title=c, max_points=m, survey_scored=s, sipas_index=link)
                         for f, c, m, s, link in rows])


def _inputs():
    items = frame(item_rows("lead", "Q1", LEADER_SCALE, "1.1.1")
                  + item_rows("cit", "E1", SATISFACTION_SCALE, element=1)
                  + item_rows("cit", "E3", SATISFACTION_SCALE, element=3)
                  + item_rows("cit", "P1", SATISFACTION_SCALE, policy="water"))
    counts = frame(count_rows("lead", "Q1", LEADER_SCALE, [18, 12, 6, 2, 2])
                   # SI_1: 3 + 3 satisfied of 10 valid (1 don't know) -> 60 -> 2.0 * 0.60 = 1.20 points
                   + count_rows("cit", "E1", SATISFACTION_SCALE, [1, 1, 2, 3, 3, 1])
                   # SI_3: 3 respondents < k = 5 -> withheld
                   + count_rows("cit", "E3", SATISFACTION_SCALE, [0, 0, 1, 1, 1, 0])
                   # policy: 4 satisfied of 5 -> 80 -> 3.0 * 0.80 = 2.40 points
                   + count_rows("cit", "P1", SATISFACTION_SCALE, [0, 0, 1, 2, 2, 0]))
    return counts, items


def test_sipas_indices_score_their_subcriteria_by_hand():
    counts, items = _inputs()
    result = compute_round(counts, items, _structure(), AnalysisOptions(min_cell=5),
                           self_assessment=pd.DataFrame({"subcriterion": ["8.4.1"], "points": [4.0]}))
    pooled = result.subcriterion_points[result.subcriterion_points["is_pooled"]].set_index("subcriterion")
    assert pooled.at["8.1.1", "points"] == pytest.approx(1.20)
    assert pooled.at["8.2.1", "points"] == pytest.approx(2.40)
    assert pooled.at["1.1.1", "points"] == pytest.approx(1.04)  # 1.5 * 26.4 / 38
    assert pooled.at["8.1.1", "status"] == "scored" and pooled.at["8.2.1", "status"] == "scored"
    # Not asked in this round vs answered by too few: two different facts.
    assert pooled.at["8.1.2", "status"] == "not_measured" and pd.isna(pooled.at["8.1.2", "points"])
    assert pooled.at["8.1.3", "status"] == "withheld" and pd.isna(pooled.at["8.1.3", "points"])
    assert result.survey_total["points"] == pytest.approx(1.04 + 1.20 + 2.40)
    assert result.survey_total["n_unscored"] == 2
    assert result.par.total == pytest.approx(1.04 + 1.20 + 2.40 + 4.0)
    assert result.provenance["sipas_to_par"]["links"]["8.2.1"] == "policy"
    assert "index / 100" in result.provenance["sipas_to_par"]["rule"]
    # The earlier-round path scores them the same way.
    alone = par_of_round(counts, items, _structure(), pd.DataFrame({"subcriterion": ["8.4.1"], "points": [4.0]}),
                         AnalysisOptions(min_cell=5))
    assert alone.total == result.par.total


def test_round_without_citizens_marks_sipas_subcriteria_not_measured():
    counts, items = _inputs()
    leaders = items["group"] == "lead"
    result = compute_round(counts[counts["group"] == "lead"], items[leaders], _structure(),
                           AnalysisOptions(min_cell=5))
    pooled = result.subcriterion_points[result.subcriterion_points["is_pooled"]].set_index("subcriterion")
    assert set(pooled.loc[["8.1.1", "8.1.2", "8.1.3", "8.2.1"], "status"]) == {"not_measured"}
    assert result.sipas is None


def test_items_may_not_score_a_sipas_fed_subcriterion():
    counts, items = _inputs()
    items.loc[items["question"] == "Q1", "subcriterion"] = "8.1.1"
    with pytest.raises(ValueError, match="SIPAS index"):
        compute_round(counts, items, _structure(), AnalysisOptions())
