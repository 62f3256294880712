import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from analysis_frames import LEADER_SCALE, SATISFACTION_SCALE, count_rows, frame, item_rows, structure

from analysis.options import AnalysisOptions
from analysis.scoring import item_scores, subcriterion_points
from analysis.sipas import satisfaction
from analysis.suppression import suppress_small_cells

STRUCT = structure([(1, "1.1.1", 1.5, True), (2, "2.1.1", 0.75, True)])
counts5 = st.lists(st.integers(0, 40), min_size=5, max_size=5)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(ns):
    items, counts = [], []
    for i, (g, q, sub) in enumerate([("L", "Q1", "1.1.1"), ("H", "Q1", "1.1.1"), ("L", "Q2", "2.1.1")]):
        items += item_rows(g, q, LEADER_SCALE, sub)
        counts += count_rows(g, q, LEADER_SCALE, ns[i])
    return frame(counts), frame(items)


@SETTINGS
@given(st.tuples(counts5, counts5, counts5), st.sampled_from(["exclude", "zero"]), st.sampled_from(["equal", "size"]), st.integers(0, 10**6))
def test_points_bounded_and_order_free(ns, dont_know, pooling, seed):
    counts, items = build(ns)
    opts = AnalysisOptions(dont_know=dont_know, pooling=pooling, min_cell=3)
    a = subcriterion_points(counts, items, STRUCT, opts)
    shuffled = counts.sample(frac=1, random_state=seed % (2**32)).reset_index(drop=True)
    b = subcriterion_points(shuffled, items.sample(frac=1, random_state=seed % 97), STRUCT, opts)
    pd.testing.assert_frame_equal(a, b)
    pts = a["points"].dropna()
    mx = a.loc[pts.index, "max_points"]
    assert (pts >= 0).all() and (pts <= mx).all()
    assert (a["points_low"].dropna() >= 0).all()
    assert (a["points_high"].dropna() <= a.loc[a["points_high"].notna(), "max_points"] + 1e-12).all()


@SETTINGS
@given(st.lists(st.lists(st.integers(0, 30), min_size=6, max_size=6), min_size=3, max_size=3))
def test_sipas_indices_in_range(ns):
    items, counts = [], []
    for (q, el, pol), n in zip([("S1", 1, None), ("S2", 3, None), ("P1", None, "dien")], ns):
        items += item_rows("CD", q, SATISFACTION_SCALE, element=el, policy=pol)
        counts += count_rows("CD", q, SATISFACTION_SCALE, n)
    r = satisfaction(frame(counts), frame(items), AnalysisOptions(bootstrap_samples=20, min_cell=0))
    for v in [r.service_index, r.policy_index, r.sipas, *r.sipas_interval]:
        assert np.isnan(v) or 0 <= v <= 100
    for col in ("index", "index_low", "index_high"):
        vals = r.elements[col].dropna()
        assert ((vals >= 0) & (vals <= 100)).all()


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 20), st.floats(0, 1)), min_size=1, max_size=12), st.integers(0, 10))
def test_suppression_never_leaks(rows, k):
    t = pd.DataFrame({"key": [f"g{i}" for i in range(len(rows))], "n": [r[0] for r in rows], "stat": [r[1] for r in rows]})
    out = suppress_small_cells(t, "n", k)
    small = out["n"] < k
    assert out.loc[small, "stat"].isna().all()
    assert out.loc[small, "suppressed"].all()
    assert (out.loc[~small, "stat"] == t.loc[~small, "stat"]).all()


@SETTINGS
@given(st.tuples(counts5, counts5, counts5), st.integers(0, 12))
def test_item_scores_suppress_below_k(ns, k):
    counts, items = build(ns)
    out = item_scores(counts, items, AnalysisOptions(min_cell=k))
    small = out["n_responses"] < k
    assert out.loc[small, ["mean_weight", "mean_low", "mean_high", "n_valid"]].isna().all().all()
    means = out.loc[~small, "mean_weight"].dropna()
    assert ((means >= 0) & (means <= 1)).all()


@SETTINGS
@given(st.tuples(counts5, counts5, counts5), st.integers(0, 12), st.sampled_from(["equal", "size"]),
       st.sampled_from(["include", "exclude"]))
def test_pooled_row_never_reveals_a_single_hidden_group(ns, k, pooling, hidden_groups):
    counts, items = build(ns)
    options = AnalysisOptions(min_cell=k, pooling=pooling, hidden_groups=hidden_groups)
    points = subcriterion_points(counts, items, STRUCT, options)
    for _, rows in points.groupby("subcriterion"):
        pool = rows[rows["is_pooled"]].iloc[0]
        groups = rows[~rows["is_pooled"]]
        n = groups["n_responses"]
        # exclude: a pooled row of withheld groups only pools nothing and is withheld too
        nothing_pooled = hidden_groups == "exclude" and (n > 0).any() and not (n >= k).any()
        assert pool["suppressed"] == (n.sum() < k or nothing_pooled)
        assert (groups.loc[groups["n_responses"] < k, "suppressed"]).all()
        hidden_with_answers = groups["suppressed"] & (groups["n_responses"] > 0)
        # one hidden contributor next to a published pooled row would be pooled minus the rest
        assert pool["suppressed"] or hidden_with_answers.sum() != 1
