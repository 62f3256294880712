"""Differences between respondent groups for one question, from count tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._inputs import as_key, require_columns

__all__ = ["DistributionComparison", "ScoreComparison", "compare_distributions", "compare_scores"]


@dataclass
class DistributionComparison:
    table: pd.DataFrame
    chi2: float
    dof: int
    p_value: float
    cramers_v: float
    n: int
    min_expected: float
    share_expected_below_5: float


@dataclass
class ScoreComparison:
    groups: pd.DataFrame
    h: float
    dof: int
    p_value: float
    epsilon_squared: float
    n: int


def _one_question(counts: pd.DataFrame, question: str | None) -> pd.DataFrame:
    require_columns(counts, ["group", "option", "n"], "counts")
    c = counts
    if "question" in c.columns:
        qs = sorted(set(c["question"].astype(str)))
        if question is not None:
            c = c[c["question"].astype(str) == str(question)]
            if c.empty:
                raise ValueError(f"counts has no rows for question {question!r}")
        elif len(qs) > 1:
            raise ValueError(f"counts holds several questions {qs[:10]}: pass question=")
    out = pd.DataFrame({"group": as_key(c["group"], "counts.group"), "option": as_key(c["option"], "counts.option")})
    out["n"] = pd.to_numeric(c["n"], errors="coerce").to_numpy()
    if out["n"].isna().any() or (out["n"] < 0).any():
        raise ValueError("counts.n must be >= 0")
    if "question" in c.columns:
        out["question"] = c["question"].astype(str).to_numpy()
    return out


def _drop_missing(c: pd.DataFrame, items: pd.DataFrame | None) -> pd.DataFrame:
    if items is None:
        return c
    require_columns(items, ["group", "option", "is_missing"], "items")
    keys = ["group", "question", "option"] if "question" in c.columns and "question" in items.columns else ["group", "option"]
    it = items.loc[:, keys + ["is_missing"] + (["weight"] if "weight" in items.columns else [])].copy()
    for k in keys:
        it[k] = it[k].astype(str)
    merged = c.merge(it, on=keys, how="left")
    if merged["is_missing"].isna().any():
        raise ValueError("counts has options that are not in items")
    return merged[~merged["is_missing"].astype(bool)]


def compare_distributions(counts_for_question: pd.DataFrame, items: pd.DataFrame | None = None, question: str | None = None) -> DistributionComparison:
    """Pearson chi-square test of independence of the option distribution across groups.

    Parameters
    ----------
    counts_for_question : DataFrame
        ``group, option, n`` (and optionally ``question``) for one question.
    items : DataFrame, optional
        When given, don't-know options (``is_missing``) are left out.
    question : str, optional
        Selects the question when the frame holds several.

    Returns
    -------
    DistributionComparison
        ``chi2 = sum (O - E)^2 / E`` with ``E = row total * column total / n``,
        ``dof = (r - 1)(c - 1)``, no continuity correction, p from the chi-square
        distribution (scipy.stats.chi2_contingency, correction=False);
        Cramér's ``V = sqrt(chi2 / (n (min(r, c) - 1)))``.  Groups and options
        without any answer are dropped first.  ``min_expected`` and
        ``share_expected_below_5`` tell whether the chi-square approximation holds.
    """
    c = _drop_missing(_one_question(counts_for_question, question), items)
    table = c.pivot_table(index="group", columns="option", values="n", aggfunc="sum", fill_value=0)
    table = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    r, k = table.shape
    if r < 2 or k < 2:
        raise ValueError("need at least two groups and two options with answers")
    obs = table.to_numpy(dtype=float)
    chi2, p, dof, expected = stats.chi2_contingency(obs, correction=False)
    n = obs.sum()
    v = float(np.sqrt(chi2 / (n * (min(r, k) - 1))))
    return DistributionComparison(
        table=table,
        chi2=float(chi2),
        dof=int(dof),
        p_value=float(p),
        cramers_v=v,
        n=int(n),
        min_expected=float(expected.min()),
        share_expected_below_5=float((expected < 5).mean()),
    )


def compare_scores(counts_for_question: pd.DataFrame, items: pd.DataFrame, question: str | None = None) -> ScoreComparison:
    """Kruskal–Wallis test of the option weights across groups, from counts.

    Ranks are computed from counts: the distinct weights v_1 < ... < v_m with
    total frequencies t_j get mid-ranks ``r_j = sum_{i<j} t_i + (t_j + 1) / 2``.
    With ``R_g = sum_j n_gj r_j``::

        H = [12 / (N (N + 1)) * sum_g R_g^2 / n_g - 3 (N + 1)] / (1 - sum_j (t_j^3 - t_j) / (N^3 - N))
        p = P(chi2_{G-1} > H)
        epsilon^2 = H / ((N^2 - 1) / (N + 1)) = H / (N - 1)   (Tomczak & Tomczak 2014)

    Don't-know options are excluded; ``items`` provides ``weight`` and ``is_missing``.
    Returns NaN statistics when all valid answers share one weight.
    """
    c = _drop_missing(_one_question(counts_for_question, question), items)
    if "weight" not in c.columns or c["weight"].isna().any():
        raise ValueError("every non-missing option needs a weight in items")
    c = c[c["n"] > 0]
    groups = sorted(set(c["group"]))
    if len(groups) < 2:
        raise ValueError("need at least two groups with valid answers")
    table = c.pivot_table(index="group", columns="weight", values="n", aggfunc="sum", fill_value=0).sort_index(axis=1)
    obs = table.to_numpy(dtype=float)
    t = obs.sum(axis=0)
    N = t.sum()
    ranks = np.cumsum(t) - t + (t + 1) / 2
    n_g = obs.sum(axis=1)
    R_g = obs @ ranks
    h = 12 / (N * (N + 1)) * np.sum(R_g**2 / n_g) - 3 * (N + 1)
    ties = 1 - np.sum(t**3 - t) / (N**3 - N)
    dof = len(groups) - 1
    if ties <= 0:
        h_c = p = eps = float("nan")
    else:
        h_c = float(h / ties)
        p = float(stats.chi2.sf(h_c, dof))
        eps = float(h_c / (N - 1))
    summary = pd.DataFrame({"group": table.index, "n": n_g.astype(int), "rank_sum": R_g, "mean_rank": R_g / n_g,
                            "mean_weight": obs @ table.columns.to_numpy(dtype=float) / n_g})
    return ScoreComparison(groups=summary, h=h_c, dof=dof, p_value=p, epsilon_squared=eps, n=int(N))
