"""SIPAS: satisfaction of citizens and organisations with public services and policies.

(provisional) formulas of Decision 1001/QĐ-BNV as in the domain brief::

    satisfied answer  = option with weight >= 0.75 on the 5-level scale
                        (weights 0, .25, .5, .75, 1 = Rất không hài lòng, Không hài lòng,
                        Bình thường, Hài lòng, Rất hài lòng), i.e. Hài lòng + Rất hài lòng
    SI_e              = 100 * #satisfied / #valid answers on the items of element e
    service index     = mean(SI_1 .. SI_5)
    PI_p              = 100 * #satisfied / #valid answers on the items of policy group p
    policy index      = mean over policy groups of PI_p
    SIPAS             = mean(policy index, service index)
                        (= service index when the round has no policy items)
    expectation share = 100 * #choosing option / #respondents of the question

Valid answers exclude "don't know" (options.dont_know="zero": they are valid and
not satisfied).  Answers of all groups in ``counts`` are pooled (pass only the
SIPAS groups); with options.weighting="group" the post-stratified ``n_weighted``
is used.  Each proportion gets a Wilson interval (on unweighted counts, or on
Kish's effective n when weighted).  Element and policy indices pool several
answers of each respondent: with the respondent-level moments from the database
their intervals, and those of the service, policy and SIPAS indices, are taken
over respondents (:mod:`analysis.respondents`, Student t).  From counts alone
the element intervals are Wilson intervals over answers and the three indices
get a seeded parametric bootstrap (every element / policy proportion redrawn as
Binomial(n_valid, p_hat) / n_valid), both too narrow; the result says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy import stats

from ._inputs import check_counts, check_items, listing
from .options import AnalysisOptions
from .suppression import suppress_small_cells
from .uncertainty import wilson_interval

__all__ = ["SipasResult", "satisfaction", "sample_size", "SATISFIED_THRESHOLD"]

SATISFIED_THRESHOLD = 0.75
_EPS = 1e-9


@dataclass
class SipasResult:
    """SIPAS indices with their breakdowns (percentages 0..100)."""

    questions: pd.DataFrame
    elements: pd.DataFrame
    policies: pd.DataFrame
    expectations: pd.DataFrame
    service_index: float
    service_interval: tuple[float, float]
    policy_index: float
    policy_interval: tuple[float, float]
    sipas: float
    sipas_interval: tuple[float, float]
    options: AnalysisOptions
    provenance: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _proportions(frame: pd.DataFrame, by: list[str], options: AnalysisOptions) -> pd.DataFrame:
    g = frame.groupby(by, as_index=False, sort=True)[["n", "valid_n", "valid_m", "valid_m2", "sat_m"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(g["valid_m"] > 0, g["sat_m"] / g["valid_m"], np.nan)
        n_eff = np.where(g["valid_m2"] > 0, g["valid_m"] ** 2 / g["valid_m2"], 0.0)
    low, high = wilson_interval(np.nan_to_num(p) * n_eff, n_eff, options.confidence)
    return pd.DataFrame(
        {
            **{k: g[k] for k in by},
            "n_answers": g["n"].astype(int),
            "n_valid": g["valid_n"].astype(int),
            "n_satisfied": (g["sat_m"] if options.weighting == "group" else g["sat_m"].round()).astype(float),
            "n_effective": n_eff,
            "index": 100 * p,
            "index_low": 100 * low,
            "index_high": 100 * high,
        }
    )


def _with_cells(frame: pd.DataFrame, cells: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """Index intervals over respondents (``analysis.respondents.ratio_intervals`` by cell, 0..1)."""
    by = cells.set_index("cell")
    low = by["low"].reindex(codes).to_numpy(dtype=float)
    high = by["high"].reindex(codes).to_numpy(dtype=float)
    out = frame.copy()
    out["index_low"] = 100 * np.clip(low, 0.0, 1.0)
    out["index_high"] = 100 * np.clip(high, 0.0, 1.0)
    return out


def _t_bounds(value: float, variance: float, df: int, confidence: float) -> tuple[float, float]:
    if math.isnan(value) or not np.isfinite(variance) or df < 1:
        return (float("nan"), float("nan"))
    half = float(stats.t.isf((1 - confidence) / 2, df)) * math.sqrt(max(variance, 0.0))
    return (max(0.0, value - half), min(100.0, value + half))


def _bootstrap(parts: list[pd.DataFrame], options: AnalysisOptions) -> list[tuple[float, float]]:
    """Parametric bootstrap intervals of the service, policy and SIPAS indices."""
    rng = np.random.default_rng(options.seed)
    b = options.bootstrap_samples
    draws = []
    for part in parts:
        ok = part["n_effective"].to_numpy() > 0
        if not ok.any():
            draws.append(None)
            continue
        n = np.maximum(np.round(part["n_effective"].to_numpy()[ok]).astype(int), 1)
        p = part["index"].to_numpy()[ok] / 100
        sims = rng.binomial(n[None, :], p[None, :], size=(b, len(n))) / n[None, :]
        draws.append(100 * sims.mean(axis=1))
    service, policy = draws
    if policy is None:
        sipas = service
    elif service is None:
        sipas = None
    else:
        sipas = (service + policy) / 2
    tail = (1 - options.confidence) / 2

    def ci(d):
        if d is None:
            return (float("nan"), float("nan"))
        lo, hi = np.quantile(d, [tail, 1 - tail])
        return (float(lo), float(hi))

    return [ci(service), ci(policy), ci(sipas)]


def satisfaction(
    counts: pd.DataFrame,
    items: pd.DataFrame,
    options: AnalysisOptions | None = None,
    respondents=None,
    provenance: dict | None = None,
) -> SipasResult:
    """Compute the SIPAS element, service, policy and overall indices.

    Parameters
    ----------
    counts, items : DataFrame
        See :mod:`analysis`.  Satisfaction items are those with a
        ``sipas_element`` (1..5) or a ``sipas_policy``; expectation items have
        ``is_expectation`` True.
    options : AnalysisOptions
    respondents : int, mapping question -> int, or DataFrame(question, respondents), optional
        Number of responses that answered each expectation question (the
        denominator of its shares; needed for multiple-choice questions).
        Default: the sum of the option counts of the question, which is exact
        for single-choice questions only.
    provenance : dict, optional

    Returns
    -------
    SipasResult
        ``questions`` (one row per satisfaction question), ``elements`` (SI_1..SI_5),
        ``policies`` (one row per policy group), ``expectations`` (one row per
        option), all with Wilson intervals and small-cell suppression on the number
        of answers/respondents; and the service, policy and SIPAS indices with
        bootstrap intervals (see module notes).
    """
    options = options or AnalysisOptions()
    c = check_counts(counts, weighted=options.weighting == "group")
    return satisfaction_of(c, check_items(items), options, respondents, provenance)


def satisfaction_of(c: pd.DataFrame, it: pd.DataFrame, options: AnalysisOptions, respondents=None,
                    provenance: dict | None = None, respondent_level: tuple | None = None) -> SipasResult:
    """:func:`satisfaction` of counts and items already passed through the input checks.

    ``respondent_level`` = (pooled cell intervals, index variances) from
    :mod:`analysis.respondents`: the element, policy, service, policy-index and
    SIPAS intervals are then taken over respondents (the indices are unchanged).
    """
    keys = ["group", "question", "option"]
    merged = c.merge(it, on=keys, how="left", indicator=True)
    orphan = merged["_merge"] == "left_only"
    if orphan.any():
        raise ValueError(f"counts has rows with no matching option in items: {listing(merged.loc[orphan, keys])}")
    merged = merged.drop(columns="_merge")
    notes: list[str] = []

    sat = merged[(merged["sipas_element"].notna() | merged["sipas_policy"].notna()) & ~merged["is_expectation"]].copy()
    bad_el = sat["sipas_element"].notna() & ~sat["sipas_element"].isin([1, 2, 3, 4, 5])
    if bad_el.any():
        raise ValueError(f"items.sipas_element must be 1..5; offending rows: {listing(sat.loc[bad_el, keys + ['sipas_element']])}")
    unweighted = sat["weight"].isna() & ~sat["is_missing"]
    if unweighted.any():
        raise ValueError(f"satisfaction options without a weight: {listing(sat.loc[unweighted, keys])}")
    valid = ~sat["is_missing"] | (options.dont_know == "zero")
    satisfied = valid & ~sat["is_missing"] & (sat["weight"].fillna(0) >= SATISFIED_THRESHOLD - _EPS)
    sat["valid_n"] = np.where(valid, sat["n"], 0.0)
    sat["valid_m"] = np.where(valid, sat["n_weighted"], 0.0)
    sat["valid_m2"] = np.where(valid, sat["n_w2"], 0.0)
    sat["sat_m"] = np.where(satisfied, sat["n_weighted"], 0.0)

    q = _proportions(sat, ["question"], options)
    meta = sat.groupby("question", sort=True).agg(sipas_element=("sipas_element", "first"), sipas_policy=("sipas_policy", "first")).reset_index()
    q = meta.merge(q, on="question")
    q = suppress_small_cells(q, "n_answers", options.min_cell, keep=["sipas_element"])

    el_rows = sat[sat["sipas_element"].notna()].assign(element=lambda d: d["sipas_element"].astype(int))
    # Answers per element: max over its questions, a lower bound of its respondents.
    el_resp = el_rows.groupby(["element", "question"])["n"].sum().groupby("element").max()
    elements = _proportions(el_rows, ["element"], options)
    elements["n_respondents"] = elements["element"].map(el_resp).astype(int)
    elements.insert(1, "code", [f"SI_{e}" for e in elements["element"]])
    pol_rows = sat[sat["sipas_policy"].notna()].assign(policy=lambda d: d["sipas_policy"])
    pol_resp = pol_rows.groupby(["policy", "question"])["n"].sum().groupby("policy").max()
    policies = _proportions(pol_rows, ["policy"], options)
    policies["n_respondents"] = policies["policy"].map(pol_resp).astype(int) if len(policies) else []

    missing_el = sorted(set(range(1, 6)) - set(elements["element"]))
    if missing_el:
        notes.append(f"no answers for element(s) {missing_el}: service index is the mean of the others")
    service = float(np.nanmean(elements["index"])) if elements["index"].notna().any() else float("nan")
    policy = float(np.nanmean(policies["index"])) if len(policies) and policies["index"].notna().any() else float("nan")
    if math.isnan(policy):
        notes.append("no policy items: SIPAS equals the service index")
        overall = service
    elif math.isnan(service):
        overall = policy
    else:
        overall = (service + policy) / 2
    if respondent_level is None:
        service_ci, policy_ci, sipas_ci = _bootstrap([elements, policies], options)
        notes.append("element and index intervals over answers (respondents treated as independent): too narrow")
    else:
        cells, index_var = respondent_level
        both = not (math.isnan(policy) or math.isnan(service))
        index_var = {**index_var, "sipas": index_var["mean"] if both else
                     index_var["service"] if math.isnan(policy) else index_var["policy"]}
        elements = _with_cells(elements, cells, [f"SI_{e}" for e in elements["element"]])
        policies = _with_cells(policies, cells, [f"PI:{p}" for p in policies["policy"]])
        service_ci, policy_ci, sipas_ci = (
            _t_bounds(value, index_var[name], index_var["df"], options.confidence)
            for name, value in (("service", service), ("policy", policy), ("sipas", overall)))

    elements = suppress_small_cells(elements, "n_respondents", options.min_cell, keep=["element"])
    policies = suppress_small_cells(policies, "n_respondents", options.min_cell)

    exp = merged[merged["is_expectation"]]
    expectations = _expectations(exp, respondents, options)
    return SipasResult(
        questions=q,
        elements=elements,
        policies=policies,
        expectations=expectations,
        service_index=service,
        service_interval=service_ci,
        policy_index=policy,
        policy_interval=policy_ci,
        sipas=overall,
        sipas_interval=sipas_ci,
        options=options,
        provenance=dict(provenance or {}),
        notes=notes,
    )


def _expectations(exp: pd.DataFrame, respondents, options: AnalysisOptions) -> pd.DataFrame:
    cols = ["question", "option", "n", "respondents", "share", "share_low", "share_high", "suppressed"]
    if exp.empty:
        return pd.DataFrame(columns=cols)
    exp = exp[~exp["is_missing"]]
    by_q = exp.groupby("question")["n"].sum()
    if respondents is None:
        resp = by_q
    elif isinstance(respondents, pd.DataFrame):
        if not {"question", "respondents"} <= set(respondents.columns):
            raise ValueError("respondents frame needs columns question, respondents")
        resp = respondents.set_index(respondents["question"].astype(str))["respondents"]
    elif isinstance(respondents, (int, np.integer)):
        resp = pd.Series(int(respondents), index=by_q.index)
    else:
        resp = pd.Series(dict(respondents))
    r = exp["question"].map(resp)
    if r.isna().any():
        raise ValueError(f"respondents missing for expectation question(s) {sorted(set(exp.loc[r.isna(), 'question']))}")
    r = r.astype(float)
    if (exp["n"].to_numpy() > r.to_numpy()).any():
        raise ValueError("an expectation option has more choices than the question has respondents")
    low, high = wilson_interval(exp["n"].to_numpy(), r.to_numpy(), options.confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(r > 0, 100 * exp["n"] / r, np.nan)
    out = pd.DataFrame(
        {
            "question": exp["question"].to_numpy(),
            "option": exp["option"].to_numpy(),
            "n": exp["n"].to_numpy().astype(int),
            "respondents": r.to_numpy().astype(int),
            "share": share,
            "share_low": 100 * low,
            "share_high": 100 * high,
        }
    ).groupby(["question", "option"], as_index=False, sort=True).first()
    return suppress_small_cells(out, "respondents", options.min_cell)


def sample_size(N: int, e: float = 0.05) -> int:
    """Minimum sample size n = ceil(N / (1 + N e^2)) (Yamane / Slovin formula).

    Computed in exact rational arithmetic from the decimal value of ``e`` so
    that exact integers are not pushed up by binary rounding
    (N=400, e=0.05 gives exactly 200).  N=1000, e=0.05: 1000 / 3.5 = 285.7 -> 286.
    """
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N <= 0:
        raise ValueError(f"N must be a positive integer, got {N!r}")
    if not isinstance(e, (int, float, np.floating)) or not 0 < e < 1:
        raise ValueError(f"e must be in (0, 1), got {e!r}")
    fe = Fraction(str(float(e)))
    return math.ceil(Fraction(int(N)) / (1 + int(N) * fe * fe))
