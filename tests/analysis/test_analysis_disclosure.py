"""Small-cell suppression holds against everything compute_round publishes.

Hand-computed examples of both ``hidden_groups`` settings, then an attacker: from
every published figure (group and pooled sub-criterion rows, item scores, item
frequencies, the SIPAS tables, response counts) it writes the linear relations
they satisfy and asks whether a hidden cell is determined by them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import AnalysisOptions, compute_round
from tests.analysis.analysis_frames import (LEADER_SCALE, SATISFACTION_SCALE, count_rows, frame, item_rows,
                                            structure)

STRUCT = structure([(1, "1.1.1", 1.5, True), (2, "2.1.1", 0.75, True)])


def _three_groups():
    # One question of 1.1.1 (max 1.5 points), k = 5.  Weights A 1, B 0.6, C 0.2, D 0, E don't know.
    #   a: 3 responses  [0, 0, 1, 2, 0]  s = 0.2 / 3       = 1/15     (withheld: 3 < 5)
    #   b: 6 responses  [2, 2, 0, 1, 1]  s = 3.2 / 5       = 16/25
    #   c: 10 responses [4, 2, 2, 2, 0]  s = 5.6 / 10      = 14/25
    items, counts = [], []
    for g, ns in (("a", [0, 0, 1, 2, 0]), ("b", [2, 2, 0, 1, 1]), ("c", [4, 2, 2, 2, 0])):
        items += item_rows(g, "Q1", LEADER_SCALE, "1.1.1")
        counts += count_rows(g, "Q1", LEADER_SCALE, ns)
    return frame(counts), frame(items)


def _by_group(frame_: pd.DataFrame) -> pd.DataFrame:
    return frame_[~frame_["is_pooled"]].set_index("group")


def test_default_leaves_a_withheld_group_out_of_the_pooled_score():
    counts, items = _three_groups()
    assert AnalysisOptions().hidden_groups == "exclude"
    r = compute_round(counts, items, STRUCT, AnalysisOptions(min_cell=5))
    points = r.subcriterion_points[r.subcriterion_points["subcriterion"] == "1.1.1"]
    pooled = points[points["is_pooled"]].iloc[0]
    # (16/25 + 14/25) / 2 = 0.6 -> 1.5 * 0.6 = 0.90 points; counts over b and c only.
    assert pooled["score"] == pytest.approx(0.6) and pooled["points"] == 0.90
    assert (pooled["n_valid"], pooled["n_missing"], pooled["n_responses"]) == (15, 1, 19)
    groups = _by_group(points)
    assert groups["suppressed"].to_dict() == {"a": True, "b": False, "c": False}
    assert groups.loc["b", "alpha"] == pytest.approx(0.5) and groups.loc["b", "score"] == pytest.approx(0.64)
    # b's items stay published: the pooled row says nothing about a.
    freq = r.frequencies.set_index(["group", "option"])
    assert freq.loc[("b", "A"), "n"] == 2 and np.isnan(freq.loc[("a", "C"), "n"])
    assert dict(r.options.choices())["hidden_groups"].startswith("Nhóm có dưới k phiếu (bị ẩn): không tính")


def test_include_pools_the_withheld_group_and_hides_the_complement_everywhere():
    counts, items = _three_groups()
    r = compute_round(counts, items, STRUCT, AnalysisOptions(min_cell=5, hidden_groups="include"))
    points = r.subcriterion_points[r.subcriterion_points["subcriterion"] == "1.1.1"]
    pooled = points[points["is_pooled"]].iloc[0]
    # (1/15 + 16/25 + 14/25) / 3 = 19/45 -> 1.5 * 19/45 = 0.6333 -> 0.63 points.
    assert pooled["score"] == pytest.approx(19 / 45) and pooled["points"] == 0.63
    assert (pooled["n_valid"], pooled["n_missing"]) == (18, 1)
    assert _by_group(points)["suppressed"].to_dict() == {"a": True, "b": True, "c": False}
    # b is the complement: its frequencies and item score would give s_b, then s_a = 3 * pooled - s_b - s_c.
    freq = r.frequencies
    assert freq.loc[freq["group"] == "b", "suppressed"].all() and freq.loc[freq["group"] == "b", "n"].isna().all()
    assert freq.loc[freq["group"] == "c", "n"].tolist() == [4, 2, 2, 2, 0]
    scores = r.item_scores.set_index("group")
    assert scores.loc["b", "suppressed"] and np.isnan(scores.loc["b", "mean_weight"])
    assert scores.loc["b", "n_responses"] == 6  # response counts are published anyway
    assert scores.loc["c", "mean_weight"] == pytest.approx(0.56)
    assert r.to_json_dict()["options"]["hidden_groups"] == "include"


def _three_groups_answering_two_questions():
    # 1.1.1 asked in Q1 and Q2; per response (Q1, Q2).  a: 3 responses (withheld), b: 6, c: 10.
    weight = {o: w for o, w, _ in LEADER_SCALE}
    answers = {"a": ["AB", "CC", "DC"], "b": ["AA", "AB", "BB", "CB", "DC", "DD"],
               "c": ["AA", "AA", "AB", "BA", "BB", "BC", "CC", "CD", "DC", "DD"]}
    items, counts, wide = [], [], []
    for g, pairs in answers.items():
        for position, q in enumerate(("Q1", "Q2")):
            items += item_rows(g, q, LEADER_SCALE, "1.1.1")
            counts += count_rows(g, q, LEADER_SCALE, [sum(p[position] == o for p in pairs) for o, _, _ in LEADER_SCALE])
        wide += [{"Q1": weight[p[0]], "Q2": weight[p[1]], "group": g} for p in pairs]
    return frame(counts), frame(items), pd.DataFrame(wide)


def test_alpha_of_a_complementary_hidden_group_is_blank():
    counts, items, wide = _three_groups_answering_two_questions()
    alpha = {}
    for hidden_groups in ("exclude", "include"):
        r = compute_round(counts, items, STRUCT, AnalysisOptions(min_cell=5, hidden_groups=hidden_groups),
                          responses_wide=wide)
        alpha[hidden_groups] = r.reliability.set_index("group")
        assert r.to_json_dict()["reliability"] is not None
    # b (6 complete responses) is shown under exclude; under include it is the complement of a,
    # hidden in the sub-criterion table, its items, and so its alpha.  c keeps its alpha.
    # b's alpha by hand: Q1 1, 1, .6, .2, 0, 0 (variance 16.4/75), Q2 1, .6, .6, .6, .2, 0 (9.3/75), totals
    # 2, 1.6, 1.2, .8, .2, 0 (46.1/75) -> 2 * (1 - 25.7/46.1) = 40.8/46.1.
    assert alpha["exclude"].loc["b", "alpha"] == pytest.approx(40.8 / 46.1)
    assert not alpha["exclude"].loc["b", "suppressed"]
    assert alpha["include"].loc["b", "suppressed"] and np.isnan(alpha["include"].loc["b", "alpha"])
    assert np.isnan(alpha["include"].loc["b", "alpha_low"]) and np.isnan(alpha["include"].loc["b", "alpha_high"])
    assert alpha["include"].loc["a", "suppressed"] and not alpha["include"].loc["c", "suppressed"]
    assert np.isfinite(alpha["include"].loc["c", "alpha"])


def test_pooled_sipas_question_gets_its_own_complement():
    # S1 answered by three groups; the SIPAS question table publishes it pooled (19 answers), so
    # x (3 answers) would be pooled minus y minus z: y (6) is hidden as well, z (10) stays.
    items, counts = [], []
    for g, ns in (("x", [0, 1, 1, 1, 0, 0]), ("y", [1, 1, 1, 1, 2, 0]), ("z", [0, 2, 2, 2, 2, 2])):
        items += item_rows(g, "S1", SATISFACTION_SCALE, element=1)
        counts += count_rows(g, "S1", SATISFACTION_SCALE, ns)
    r = compute_round(frame(counts), frame(items), STRUCT, AnalysisOptions(min_cell=5, bootstrap_samples=20))
    assert r.sipas.questions["n_answers"].tolist() == [19]
    hidden = r.frequencies.groupby("group")["suppressed"].all().to_dict()
    assert hidden == {"x": True, "y": True, "z": False}
    assert r.item_scores.set_index("group")["suppressed"].to_dict() == {"x": True, "y": True, "z": False}


def test_a_question_below_k_inside_a_shown_group_row_gets_a_complement():
    # One group, 1.1.1 asked in Q1 (10 answers), Q2 (3, optional) and Q3 (8): the group row (10) is
    # shown, so Q2 would be the row minus Q1 and Q3; Q3, the smaller visible question, is hidden too.
    items, counts = [], []
    for q, ns in (("Q1", [4, 2, 2, 2, 0]), ("Q2", [1, 1, 1, 0, 0]), ("Q3", [2, 2, 2, 2, 0])):
        items += item_rows("g", q, LEADER_SCALE, "1.1.1")
        counts += count_rows("g", q, LEADER_SCALE, ns)
    r = compute_round(frame(counts), frame(items), STRUCT, AnalysisOptions(min_cell=5))
    assert r.item_scores.set_index("question")["suppressed"].to_dict() == {"Q1": False, "Q2": True, "Q3": True}
    assert not _by_group(r.subcriterion_points.query("subcriterion == '1.1.1'"))["suppressed"].any()


# --- the attacker ---------------------------------------------------------------------------------

class _System:
    """Linear relations over the option counts of every (group, question), from published figures."""

    def __init__(self, items: pd.DataFrame):
        self.cells = list(items[["group", "question", "option"]].itertuples(index=False, name=None))
        self.index = {c: i for i, c in enumerate(self.cells)}
        # Each cell's item row as a dict: a pandas lookup per cell and vector was half the test's time.
        self.meta = dict(zip(self.cells, items.to_dict("records")))
        self.rows: list[np.ndarray] = []

    def vector(self, pick) -> np.ndarray:
        """Coefficients: pick(group, question, option, item row) -> coefficient."""
        return np.array([pick(g, q, o, self.meta[(g, q, o)]) for g, q, o in self.cells], dtype=float)

    def add(self, vec: np.ndarray) -> None:
        if np.any(vec):
            self.rows.append(vec)

    def determined(self, vec: np.ndarray) -> bool:
        """Is the value of vec . counts the same in every solution?  (vec in the row space)"""
        if not self.rows:
            return not np.any(vec)
        a = np.vstack(self.rows)
        coef, *_ = np.linalg.lstsq(a.T, vec, rcond=None)
        return bool(np.allclose(a.T @ coef, vec, atol=1e-7))


def _valid(dont_know):
    return lambda it: (not it["is_missing"]) or dont_know == "zero"


def _weight(it):
    return 0.0 if it["is_missing"] else float(it["weight"])


def _attack(items: pd.DataFrame, counts: pd.DataFrame, options: AnalysisOptions):
    """Everything compute_round publishes, as linear relations over the counts.

    Stronger than a reader: it knows which groups each pooled row pools (the rule is an option) and
    substitutes every group score it can solve into the equal-pooling equation (nonlinear in the
    counts otherwise).  Returns the result, the system and a test of "group g's score on k is known".
    """
    r = compute_round(counts, items, STRUCT, options)
    valid = _valid(options.dont_know)
    s = _System(items)

    def sums(groups, questions, what):
        groups, questions = set(groups), set(questions)
        return s.vector(lambda g, q, o, it: what(it) if g in groups and q in questions else 0.0)

    def w_sum(groups, qs):
        return sums(groups, qs, lambda it: _weight(it) if valid(it) else 0.0)

    def v_sum(groups, qs):
        return sums(groups, qs, lambda it: 1.0 if valid(it) else 0.0)

    def m_sum(groups, qs):
        return sums(groups, qs, lambda it: 1.0 if it["is_missing"] else 0.0)

    questions_of = items.dropna(subset=["subcriterion"]).groupby(["group", "subcriterion"])["question"].apply(set)
    truth = compute_round(counts, items, STRUCT, AnalysisOptions(**{**options.as_dict(), "min_cell": 0}))
    true_score = {(t.group, t.subcriterion): t.score
                  for t in truth.subcriterion_points.query("~is_pooled").itertuples(index=False)}

    def score_known(g, code) -> bool:
        qs = questions_of[(g, code)]
        return s.determined(w_sum([g], qs) - true_score[(g, code)] * v_sum([g], qs))

    for (g, q), _ in items.groupby(["group", "question"]):  # response counts are published
        s.add(sums([g], [q], lambda it: 1.0))
    for f in r.frequencies.itertuples(index=False):
        if not f.suppressed:
            s.add(s.vector(lambda g, q, o, it: float((g, q, o) == (f.group, f.question, f.option))))
    for i in r.item_scores.itertuples(index=False):
        if not i.suppressed:
            s.add(w_sum([i.group], [i.question]) - i.mean_weight * v_sum([i.group], [i.question]))
            s.add(v_sum([i.group], [i.question]))
            s.add(m_sum([i.group], [i.question]))
    points = r.subcriterion_points
    for p in points.query("~is_pooled and ~suppressed").itertuples(index=False):
        qs = questions_of[(p.group, p.subcriterion)]
        if not np.isnan(p.score):
            s.add(w_sum([p.group], qs) - p.score * v_sum([p.group], qs))
        s.add(v_sum([p.group], qs))
        s.add(m_sum([p.group], qs))
    pools = {}
    for code, rows in points.groupby("subcriterion"):
        pool, groups = rows[rows["is_pooled"]].iloc[0], rows[~rows["is_pooled"]]
        n = groups["n_responses"]
        pooled = groups.loc[(n > 0) & ((n >= options.min_cell) | (options.hidden_groups == "include")), "group"]
        if pool["suppressed"] or pooled.empty:
            continue
        qs = set().union(*(questions_of[(g, code)] for g in pooled))
        s.add(v_sum(pooled, qs))
        s.add(m_sum(pooled, qs))
        if options.pooling == "size":  # sum of W_g = pooled score x pooled valid answers
            s.add(w_sum(pooled, qs) - pool["score"] * v_sum(pooled, qs))
        else:  # groups with valid answers carry 1/G each (G can be read off a visible alpha)
            pools[code] = [g for g in pooled if not np.isnan(true_score[(g, code)])]
    if r.sipas is not None:
        satisfied = lambda it: 1.0 if not it["is_missing"] and _weight(it) >= 0.75 - 1e-9 else 0.0  # noqa: E731
        every = set(items["group"])
        for q in r.sipas.questions.query("~suppressed").itertuples(index=False):
            s.add(sums(every, [q.question], lambda it: 1.0))
            s.add(v_sum(every, [q.question]))
            s.add(sums(every, [q.question], satisfied))
    changed = True
    while changed:  # sum of s_g / G = pooled: one unknown score left is solved and substituted
        changed = False
        for code, used in pools.items():
            unknown = [g for g in used if not score_known(g, code)]
            if len(unknown) == 1:
                g = unknown[0]
                s.add(w_sum([g], questions_of[(g, code)]) - true_score[(g, code)] * v_sum([g], questions_of[(g, code)]))
                changed = True
    return r, s, score_known, true_score


def _random_round(draw):
    groups = ["g1", "g2", "g3", "g4"][: draw(st.integers(2, 4))]
    items, counts = [], []
    for g in groups:
        for q, sub in (("Q1", "1.1.1"), ("Q2", "1.1.1"), ("Q3", "2.1.1")):
            if draw(st.booleans()) or q == "Q1":
                items += item_rows(g, q, LEADER_SCALE, sub)
                counts += count_rows(g, q, LEADER_SCALE, draw(st.lists(st.integers(0, 4), min_size=5, max_size=5)))
        if draw(st.booleans()):
            items += item_rows(g, "S1", SATISFACTION_SCALE, element=1)
            counts += count_rows(g, "S1", SATISFACTION_SCALE, draw(st.lists(st.integers(0, 3), min_size=6, max_size=6)))
    return frame(items), frame(counts)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(3, 9), st.sampled_from(["equal", "size"]), st.sampled_from(["include", "exclude"]),
       st.sampled_from(["exclude", "zero"]))
def test_no_hidden_cell_can_be_solved_from_what_is_published(data, k, pooling, hidden_groups, dont_know):
    items, counts = data.draw(st.builds(lambda: None).flatmap(lambda _: st.composite(_random_round)()))
    options = AnalysisOptions(min_cell=k, pooling=pooling, hidden_groups=hidden_groups, dont_know=dont_know,
                              bootstrap_samples=20)
    r, s, score_known, true_score = _attack(items, counts, options)
    rows = r.subcriterion_points.query("~is_pooled and suppressed and n_responses > 0")
    for row in rows.itertuples(index=False):
        if not np.isnan(true_score[(row.group, row.subcriterion)]):
            assert not score_known(row.group, row.subcriterion), (row.group, row.subcriterion)
    hidden = r.frequencies[r.frequencies["suppressed"] & (r.frequencies["n_responses"] > 0)]
    for f in hidden.itertuples(index=False):
        cell = s.vector(lambda g, q, o, it: float((g, q, o) == (f.group, f.question, f.option)))
        assert not s.determined(cell), (f.group, f.question, f.option)
