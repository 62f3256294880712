"""PAR Index survey points: item scores, sub-criterion points, field totals.

Formulas (domain brief, configurable per round)::

    valid_k  = answers to the questions of sub-criterion k, excluding "don't know"
               (options.dont_know="zero": don't-know answers are valid with weight 0)
    s_k,g    = sum(n_o * w_o) / sum(n_o)   over valid answers of group g
    s_k      = sum_g alpha_g * s_k,g,      sum alpha_g = 1
               alpha_g = 1/G (pooling="equal") or n_valid_g / sum n_valid (pooling="size")
    points_k = max_points_k * s_k          (shown half-up rounded to 2 decimals)

Worked example: max 1.5; 18 A (1.0), 12 B (0.6), 6 C (0.2), 2 D (0.0), 2 E (don't
know) -> s = 26.4 / 38 = 0.6947 -> 1.04 points.

Intervals.  The mean weight of one question (or of one group's answers to a
sub-criterion) gets a Student t interval from the option-count distribution:
``s +- t_{1-a/2, n-1} * sd / sqrt(n)`` with ``sd`` the sample standard deviation of
the discrete weights (one answer per respondent, so these are respondent-level).
With post-stratification weights ``n`` is Kish's effective sample size
``(sum w)^2 / sum w^2``.  A group's sub-criterion score pools several answers of
each respondent; given the respondent-level moments from the database its
variance is taken over respondents (:mod:`analysis.respondents`), otherwise
(counts alone) over answers, which is too narrow and noted in the result.
The pooled score uses ``Var(s_k) = sum alpha_g^2 Var(s_k,g)`` and a normal (z)
interval.  All intervals are clipped to [0, 1] (points: [0, max_points]).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._inputs import check_counts, check_items, check_structure, listing, require_columns
from .options import AnalysisOptions
from .rounding import round_half_up
from .suppression import hide_complements, suppress_small_cells
from .uncertainty import t_interval, z_value

__all__ = ["item_scores", "subcriterion_points", "field_totals", "scored_answers", "point_status", "STATUS_VI"]


def scored_answers(counts: pd.DataFrame, items: pd.DataFrame, options: AnalysisOptions) -> pd.DataFrame:
    """Count rows joined to their scoring metadata, with validity applied.

    Returns one row per (group, question, option) of every *scored* question
    (not an expectation question; every non-missing option has a weight), with
    zero counts for options nobody chose, and columns ``valid`` (bool) and
    ``score_weight`` (the weight used: 0 for don't-know under dont_know="zero").
    """
    if not isinstance(options, AnalysisOptions):
        raise ValueError("options must be an AnalysisOptions")
    return score_answers(check_counts(counts, weighted=options.weighting == "group"), check_items(items), options)


def score_answers(c: pd.DataFrame, it: pd.DataFrame, options: AnalysisOptions) -> pd.DataFrame:
    """:func:`scored_answers` of counts and items already passed through the input checks."""
    keys = ["group", "question", "option"]
    unknown = c.merge(it[keys], on=keys, how="left", indicator=True)
    unknown = unknown[unknown["_merge"] == "left_only"]
    if len(unknown):
        raise ValueError(f"counts has rows with no matching option in items: {listing(unknown[keys])}")
    # A question is scored when every substantive option carries a weight.
    substantive = it[~it["is_missing"]]
    # Vectorised: a per-question Python lambda dominated the run time of a whole round.
    has_w = substantive.assign(_w=substantive["weight"].notna()).groupby(["group", "question"])["_w"].agg(["all", "any"])
    mixed = list(has_w.index[has_w["any"] & ~has_w["all"]])
    if mixed:
        raise ValueError(f"items: questions with weights on some options only: {mixed[:10]}")
    scored_q = set(has_w.index[has_w["all"]])
    expectation_q = set(map(tuple, it.loc[it["is_expectation"], ["group", "question"]].to_numpy()))
    scored_q -= expectation_q
    it_keys = list(zip(it["group"], it["question"]))
    sel = it[[k in scored_q for k in it_keys]]
    out = sel.merge(c, on=keys, how="left")
    for col in ("n", "n_weighted", "n_w2"):
        out[col] = out[col].fillna(0.0)
    zero = options.dont_know == "zero"
    out["valid"] = ~out["is_missing"] | zero
    out["score_weight"] = np.where(out["is_missing"], 0.0, out["weight"].fillna(0.0))
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def _moments(answers: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per-cell sums: responses, valid answers, weighted sums and Kish terms."""
    a = answers.assign(
        n_missing=np.where(answers["is_missing"], answers["n"], 0.0),
        v_n=np.where(answers["valid"], answers["n"], 0.0),
        v_m=np.where(answers["valid"], answers["n_weighted"], 0.0),
        v_m2=np.where(answers["valid"], answers["n_w2"], 0.0),
        v_s1=np.where(answers["valid"], answers["n_weighted"] * answers["score_weight"], 0.0),
        v_s2=np.where(answers["valid"], answers["n_weighted"] * answers["score_weight"] ** 2, 0.0),
    )
    return a.groupby(by, as_index=False, sort=True)[["n", "n_missing", "v_n", "v_m", "v_m2", "v_s1", "v_s2"]].sum()


def _mean_and_var(m: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Weighted mean, variance of the mean and t interval from `_moments` sums."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(m["v_m"] > 0, m["v_s1"] / m["v_m"], np.nan)
        n_eff = np.where(m["v_m2"] > 0, m["v_m"] ** 2 / m["v_m2"], 0.0)
        pop_var = np.maximum(np.where(m["v_m"] > 0, m["v_s2"] / m["v_m"] - mean**2, np.nan), 0.0)
        var = np.where(n_eff >= 2, pop_var * n_eff / (n_eff - 1), np.nan)
        var_mean = np.where(n_eff >= 2, var / n_eff, np.nan)
    low, high = t_interval(mean, var, n_eff, confidence)
    out = m.copy()
    out["mean_weight"] = mean
    out["n_effective"] = n_eff
    out["sd_weight"] = np.sqrt(var)
    out["var_mean"] = var_mean
    out["mean_low"] = np.clip(low, 0.0, 1.0)
    out["mean_high"] = np.clip(high, 0.0, 1.0)
    return out


def item_scores(counts: pd.DataFrame, items: pd.DataFrame, options: AnalysisOptions | None = None) -> pd.DataFrame:
    """Mean option weight of every scored question, per respondent group.

    Parameters
    ----------
    counts : DataFrame
        ``group, question, option, n`` (+ ``n_weighted`` when options.weighting="group").
    items : DataFrame
        Scoring metadata, see :mod:`analysis`.
    options : AnalysisOptions

    Returns
    -------
    DataFrame, one row per (group, question):
        ``subcriterion``, ``n_responses`` (all answers incl. don't know),
        ``n_missing`` (don't know), ``n_valid``, ``mean_weight`` s = sum(n w)/n_valid,
        ``sd_weight``, ``n_effective``, ``mean_low``/``mean_high`` (Student t interval,
        see module notes) and ``suppressed`` (n_responses < options.min_cell: the
        statistics are blanked).
    """
    options = options or AnalysisOptions()
    return scores_of_items(scored_answers(counts, items, options), options)


def scores_of_items(answers: pd.DataFrame, options: AnalysisOptions) -> pd.DataFrame:
    """:func:`item_scores` from the output of :func:`scored_answers`."""
    m = _moments(answers, ["group", "question"])
    m = _mean_and_var(m, options.confidence)
    sub = answers.groupby(["group", "question"], sort=True)["subcriterion"].first().reset_index()
    m = m.merge(sub, on=["group", "question"], how="left")
    out = pd.DataFrame(
        {
            "group": m["group"],
            "question": m["question"],
            "subcriterion": m["subcriterion"],
            "n_responses": m["n"].astype(int),
            "n_missing": m["n_missing"].astype(int),
            "n_valid": m["v_n"].astype(int),
            "mean_weight": m["mean_weight"],
            "sd_weight": m["sd_weight"],
            "n_effective": m["n_effective"],
            "mean_low": m["mean_low"],
            "mean_high": m["mean_high"],
        }
    )
    out = suppress_small_cells(out, "n_responses", options.min_cell, keep=())
    out.attrs["options"] = options.as_dict()
    return out


def _respondent_level(per_g: pd.DataFrame, cell_intervals: pd.DataFrame) -> pd.DataFrame:
    """Group rows with the variance and t interval over respondents instead of over answers."""
    ci = cell_intervals.rename(columns={"cell": "subcriterion"})[["group", "subcriterion", "variance", "low", "high"]]
    out = per_g.merge(ci, on=["group", "subcriterion"], how="left")
    # A cell the database did not see has no respondent-level variance: no interval, never the narrow one.
    out["var_mean"] = out["variance"]
    out["mean_low"] = np.clip(out["low"], 0.0, 1.0)
    out["mean_high"] = np.clip(out["high"], 0.0, 1.0)
    return out.drop(columns=["variance", "low", "high"])


def _alphas(cells: pd.DataFrame, pooling: str, group_weights: Mapping[str, float] | None,
            in_pool: np.ndarray) -> np.ndarray:
    has = (cells["v_m"].to_numpy() > 0) & in_pool
    if group_weights is not None:
        raw = np.array([float(group_weights.get(g, 0.0)) for g in cells["group"]])
        if np.any(raw < 0) or np.any(np.isnan(raw)):
            raise ValueError("group_weights must be >= 0")
    elif pooling == "equal":
        raw = np.ones(len(cells))
    else:
        raw = cells["v_m"].to_numpy(dtype=float)
    raw = np.where(has, raw, 0.0)
    total = raw.sum()
    return raw / total if total > 0 else np.full(len(cells), np.nan)


def subcriterion_points(
    counts: pd.DataFrame,
    items: pd.DataFrame,
    structure: pd.DataFrame,
    options: AnalysisOptions | None = None,
    group_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Points of every survey-scored sub-criterion, per group and pooled.

    Parameters
    ----------
    counts, items, structure : DataFrame
        See :mod:`analysis`.
    options : AnalysisOptions
        ``pooling`` chooses alpha_g; ``dont_know`` the validity of don't-know.
    group_weights : mapping group -> weight, optional
        Explicit alpha_g (e.g. fixed by MoHA), renormalised over the groups that
        have valid answers for the sub-criterion.  Overrides ``options.pooling``.

    Returns
    -------
    DataFrame in long form, sorted by sub-criterion:
        one row per (sub-criterion, group) with ``is_pooled`` False and the
        group score s_k,g, and one pooled row per sub-criterion with ``group``
        NA and ``is_pooled`` True.  Columns: ``field, criterion, subcriterion,
        title, max_points, group, is_pooled, alpha, n_responses`` (max over the
        questions of answers incl. don't know: a lower bound of the respondents),
        ``n_valid, n_missing, score, score_low, score_high, points_raw`` (unrounded
        max_points * score), ``points`` (half-up, 2 decimals), ``points_low,
        points_high, suppressed``.  Group rows with fewer than ``options.min_cell``
        responses are suppressed, and so is a pooled row whose groups total fewer
        (its points then count as unscored in :func:`field_totals`); when that
        would leave a single hidden group derivable from the pooled row, the
        smallest visible group is suppressed too (complementary suppression).

    Notes
    -----
    points_k = max_points_k * sum_g alpha_g s_k,g.  Interval: see module notes.
    A survey-scored sub-criterion without any valid answer has score NaN.
    """
    options = options or AnalysisOptions()
    return points_of_subcriteria(scored_answers(counts, items, options), check_structure(structure), options,
                                 group_weights)


def points_of_subcriteria(
    answers: pd.DataFrame,
    st: pd.DataFrame,
    options: AnalysisOptions,
    group_weights: Mapping[str, float] | None = None,
    cell_intervals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`subcriterion_points` from :func:`scored_answers` and a checked structure.

    ``cell_intervals`` (``analysis.respondents.cell_variances``: ``group, cell,
    variance, low, high`` per group and sub-criterion, over respondents) replaces
    the answer-level variance of each group row; the scores themselves are
    unchanged.
    """
    answers = answers[answers["subcriterion"].notna()]
    unknown = sorted(set(answers["subcriterion"]) - set(st["subcriterion"]))
    if unknown:
        raise ValueError(f"items reference sub-criteria not in structure: {unknown}")
    scored = st[st["survey_scored"]]
    fed = sorted(set(answers["subcriterion"]) & set(st.loc[st["sipas_index"].notna(), "subcriterion"]))
    if fed:
        raise ValueError(f"items score sub-criteria that the structure feeds from a SIPAS index: {fed}")
    not_survey = sorted(set(answers["subcriterion"]) - set(scored["subcriterion"]))
    if not_survey:
        raise ValueError(f"items score sub-criteria that the structure does not mark survey_scored: {not_survey}")

    per_q = _moments(answers, ["subcriterion", "group", "question"])
    per_g = _moments(answers, ["subcriterion", "group"])
    per_g = per_g.merge(
        per_q.groupby(["subcriterion", "group"], as_index=False)["n"].max().rename(columns={"n": "n_resp"}),
        on=["subcriterion", "group"],
    )
    per_g = _mean_and_var(per_g, options.confidence)
    if cell_intervals is not None:
        per_g = _respondent_level(per_g, cell_intervals)
    z = z_value(options.confidence)
    rows = []
    for _, meta in scored.iterrows():
        code = meta["subcriterion"]
        cells = per_g[per_g["subcriterion"] == code].reset_index(drop=True)
        base = {
            "field": meta["field"],
            "criterion": meta["criterion"],
            "subcriterion": code,
            "title": meta["title"],
            "max_points": meta["max_points"],
        }
        n_resp = cells["n_resp"].to_numpy(dtype=float)
        in_pool = n_resp > 0
        if options.hidden_groups == "exclude":  # a withheld group takes no part in the pooled row
            in_pool &= n_resp >= options.min_cell
        alphas = _alphas(cells, options.pooling, group_weights, in_pool) if len(cells) else np.array([])
        for i, cell in cells.iterrows():
            rows.append(
                {
                    **base,
                    "group": cell["group"],
                    "is_pooled": False,
                    "alpha": alphas[i],
                    "n_responses": cell["n_resp"],
                    "n_valid": cell["v_n"],
                    "n_missing": cell["n_missing"],
                    "score": cell["mean_weight"],
                    "score_low": cell["mean_low"],
                    "score_high": cell["mean_high"],
                    "_in_pool": bool(in_pool[i]),
                }
            )
        used = alphas > 0 if len(cells) else np.array([], dtype=bool)
        if used.any():
            s = float(np.sum(alphas[used] * cells["mean_weight"].to_numpy()[used]))
            var = float(np.sum(alphas[used] ** 2 * cells["var_mean"].to_numpy()[used]))
            if np.isfinite(var):
                half = z * np.sqrt(var)
                low, high = max(0.0, s - half), min(1.0, s + half)
            else:  # a group with one valid answer has no variance: no interval rather than [0, 1]
                low = high = np.nan
        else:
            s = low = high = np.nan
        rows.append(
            {
                **base,
                "group": pd.NA,
                "is_pooled": True,
                "alpha": np.nan,
                # Every group's response count is published, so is their sum; the other counts are
                # over the pooled groups only (a withheld group's don't-knows must not be a difference).
                "n_responses": float(n_resp.sum()) if len(cells) else 0.0,
                "n_valid": float(cells.loc[in_pool, "v_n"].sum()) if len(cells) else 0.0,
                "n_missing": float(cells.loc[in_pool, "n_missing"].sum()) if len(cells) else 0.0,
                "score": s,
                "score_low": low,
                "score_high": high,
                "_in_pool": False,
            }
        )
    cols = [
        "field", "criterion", "subcriterion", "title", "max_points", "group", "is_pooled", "alpha",
        "n_responses", "n_valid", "n_missing", "score", "score_low", "score_high", "_in_pool",
    ]
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out["group"] = out["group"].astype(object).where(out["group"].notna(), None)
    for col in ("n_responses", "n_valid", "n_missing"):
        out[col] = out[col].astype(int)
    out["alpha"] = out["alpha"].astype(float)
    out["points_raw"] = out["max_points"] * out["score"]
    out["points"] = round_half_up(out["points_raw"].to_numpy(), 2) if len(out) else []
    out["points_low"] = out["max_points"] * out["score_low"]
    out["points_high"] = out["max_points"] * out["score_high"]
    out = _suppress_points(out, options.min_cell)
    out["status"] = point_status(out)
    out = out.sort_values(["field", "subcriterion", "is_pooled", "group"], kind="stable", na_position="last")
    out = out.reset_index(drop=True)
    out.attrs["options"] = options.as_dict()
    return out


STATUS_VI = {
    "scored": "đã tính điểm",
    "withheld": "ẩn vì dưới ngưỡng k phiếu",
    "not_measured": "không đo trong đợt này (không có câu hỏi hoặc phiếu trả lời)",
    "no_valid_answers": "không có câu trả lời hợp lệ (chỉ có \"không biết\")",
}


def point_status(points: pd.DataFrame) -> np.ndarray:
    """Why a row has points or not: scored, withheld (fewer than k), not measured, or no valid answers.

    "Not measured" (nobody was asked, or nobody answered) and "withheld" (answered
    by fewer than k) are different facts and are reported differently.
    """
    has = points["points"].notna().to_numpy()
    hidden = points["suppressed"].to_numpy(dtype=bool)
    none = points["n_responses"].fillna(0).to_numpy() == 0
    return np.select([has & ~hidden, none, hidden], ["scored", "not_measured", "withheld"], "no_valid_answers")


def _suppress_points(out: pd.DataFrame, k: int) -> pd.DataFrame:
    """Primary and complementary suppression of the long points frame.

    Primary: a group row backed by fewer than ``k`` responses, and a pooled row
    whose groups together have fewer than ``k`` (it would then be a small cell
    itself) or that pools none of its groups (all withheld under
    hidden_groups="exclude").  Complementary: a shown pooled row is two
    published equations in the pooled groups, its score (a combination with
    known alpha_g: published, or following from the options) and its counts
    (sums).  When one of them holds a single hidden group, the visible group
    with the fewest responses is hidden too (:func:`hide_complements`).  Under
    hidden_groups="exclude" no hidden group is pooled and nothing more is hidden.
    """
    keep = ["field", "max_points"]
    n = out["n_responses"].to_numpy(dtype=float)
    pooled = out["is_pooled"].to_numpy(dtype=bool)
    in_pool = out["_in_pool"].to_numpy(dtype=bool)
    scored = out["alpha"].fillna(0).to_numpy(dtype=float) > 0
    hide = n < k
    codes = out["subcriterion"].to_numpy()
    relations = []
    for code in pd.unique(codes):
        here = codes == code
        if not (here & in_pool).any() and (here & ~pooled & (n > 0)).any():
            hide[here & pooled] = True
        if hide[here & pooled].all():
            continue  # nothing to derive from: the pooled row is hidden too
        relations += [here & in_pool, here & scored]
    # ties: the first group in code order (rows are sorted by group)
    hide = hide_complements(n, hide, relations)
    frame = out.drop(columns="_in_pool").assign(_hide=np.where(hide, 0, 1))
    # The number of responses per group stays visible (it is the response
    # count published on the summary anyway); what they answered is hidden.
    frame = suppress_small_cells(frame, "_hide", 1, keep=keep + ["n_responses"])
    return frame.drop(columns="_hide")


def field_totals(points: pd.DataFrame, structure: pd.DataFrame) -> pd.DataFrame:
    """Survey points per field and the survey total (out of 32 with the 2022-2030 table).

    Parameters
    ----------
    points : DataFrame
        Output of :func:`subcriterion_points` (pooled rows are used) or any frame
        with ``subcriterion`` and ``points``.
    structure : DataFrame

    Returns
    -------
    DataFrame, one row per field of the structure, then a total row (``is_total``
    True, ``field`` NA): ``survey_points`` = sum of the displayed (2-decimal)
    points so that the table adds up, ``survey_points_raw`` = sum of unrounded
    points, ``survey_max`` = sum of max_points of survey-scored sub-criteria,
    ``percent`` = 100 * survey_points / survey_max, ``n_unscored`` = survey-scored
    sub-criteria without a score (counted as 0 points).
    """
    return totals_of_fields(points, check_structure(structure))


def totals_of_fields(points: pd.DataFrame, st: pd.DataFrame) -> pd.DataFrame:
    """:func:`field_totals` with a checked structure."""
    require_columns(points, ["subcriterion", "points"], "points")
    p = points
    if "is_pooled" in p.columns:
        p = p[p["is_pooled"].astype(bool)]
    dup = p["subcriterion"].duplicated(keep=False)
    if dup.any():
        raise ValueError(f"points has several rows for sub-criteria {sorted(set(p.loc[dup, 'subcriterion']))}")
    raw_col = "points_raw" if "points_raw" in p.columns else "points"
    p = p.assign(subcriterion=p["subcriterion"].astype(str))
    unknown = sorted(set(p["subcriterion"]) - set(st.loc[st["survey_scored"], "subcriterion"]))
    if unknown:
        raise ValueError(f"points has sub-criteria that are not survey-scored in the structure: {unknown}")
    given = pd.DataFrame(
        {"subcriterion": p["subcriterion"], "points": p["points"].astype(float), "raw": p[raw_col].astype(float)}
    )
    merged = st[st["survey_scored"]].merge(given, on="subcriterion", how="left")
    merged["unscored"] = merged["points"].isna()
    fields = st.groupby("field", sort=True)["field_title"].first().reset_index()
    agg = merged.groupby("field").agg(
        survey_points=("points", lambda s: float(s.fillna(0).sum())),
        survey_points_raw=("raw", lambda s: float(s.fillna(0).sum())),
        survey_max=("max_points", "sum"),
        n_unscored=("unscored", "sum"),
    )
    out = fields.merge(agg, left_on="field", right_index=True, how="left")
    out["survey_points"] = out["survey_points"].fillna(0.0)
    out["survey_points_raw"] = out["survey_points_raw"].fillna(0.0)
    out["survey_max"] = out["survey_max"].fillna(0.0)
    out["n_unscored"] = out["n_unscored"].fillna(0).astype(int)
    total = {
        "field": pd.NA,
        "field_title": "Tổng",
        "survey_points": float(round_half_up(out["survey_points"].sum(), 2)),
        "survey_points_raw": float(out["survey_points_raw"].sum()),
        "survey_max": float(out["survey_max"].sum()),
        "n_unscored": int(out["n_unscored"].sum()),
    }
    out["is_total"] = False
    out = pd.concat([out, pd.DataFrame([{**total, "is_total": True}])], ignore_index=True)
    out["field"] = out["field"].astype("Int64")
    out["survey_points"] = round_half_up(out["survey_points"].to_numpy(), 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["percent"] = np.where(out["survey_max"] > 0, 100 * out["survey_points"] / out["survey_max"], np.nan)
    return out[["field", "field_title", "is_total", "survey_points", "survey_points_raw", "survey_max", "percent", "n_unscored"]]
