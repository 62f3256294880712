"""Intervals at the level of the respondent (issue 12, item 2).

One respondent answers several questions of a sub-criterion or of a SIPAS
element, and those answers are not independent: an interval that counts each
answer as an observation is two to three times too narrow.  The point
estimates stay the item-pooled ratios of the counts (``sum y / sum x`` over
answers); only their variance is taken over respondents, the clusters.

Per respondent i and cell c (a sub-criterion, a SIPAS element "SI_e" or a
policy group "PI:<code>"), the database returns ``x_ic`` (valid answers; with
dont_know="exclude" the don't-knows are not counted) and ``y_ic`` (sum of the
option weights; for SIPAS the number of satisfied answers), summed per
(group, cell) as moments ``m, sum x, sum y, sum x^2, sum xy, sum y^2``.
The ratio R = sum y / sum x has the linearised (Taylor) variance over
respondents, with groups as strata and w_g the group's post-stratification
weight (1 without weighting)::

    e_i    = y_i - R x_i
    Var(R) = sum_g w_g^2 m_g/(m_g-1) [sum_i e_i^2 - (sum_i e_i)^2 / m_g] / (sum_g w_g sum_i x_i)^2

Within one group sum e_i = 0, so this is ``m/(m-1) sum e_i^2 / (sum x)^2``; when
every respondent gives the same number of valid answers it is exactly the
variance of the mean of the per-respondent scores y_i / x_i (the t interval of
those scores).  Intervals use Student t with ``sum m_g - (number of groups)``
degrees of freedom.

The service, policy and SIPAS indices are means of correlated element ratios;
their respondent-level variance uses each respondent's linearised contribution
``u_i = w_g sum_c coef_c (y_ic - R_c x_ic) / X_c`` (coef_c = 100 / number of
elements, or of policy groups), which :func:`index_coefficients` gives per
(group, cell) so that the database can add it up per respondent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .options import AnalysisOptions
from .sipas import SATISFIED_THRESHOLD
from .uncertainty import t_interval
from .weighting import apply_weights, poststratification_weights

__all__ = ["MOMENT_COLUMNS", "INDEX_MOMENT_COLUMNS", "answer_cells", "cell_variances", "index_coefficients",
           "index_contributions", "index_variances", "ratio_intervals", "group_weights", "METHOD"]

METHOD = ("respondent-level: linearised variance of the item-pooled ratio with respondents as clusters and "
          "groups as strata, Student t")
_EPS = 1e-9

#: Per (group, cell): respondents with any answer (m0) / with a valid non-don't-know answer (m1),
#: and the sums over respondents of x0 (all answers), x1 (answers other than don't know), y and products.
MOMENT_COLUMNS = ["group", "cell", "m0", "m1", "sx0", "sx1", "sy", "sx0x0", "sx1x1", "sx0y", "sx1y", "syy"]
#: Per group: respondents with any SIPAS answer and the sums of their service (s) / policy (p) contributions.
INDEX_MOMENT_COLUMNS = ["group", "m", "su", "suu", "sv", "svv", "suv"]


def answer_cells(items: pd.DataFrame) -> pd.DataFrame:
    """``group, question, option, cell, value, is_missing`` of every option that enters a ratio.

    ``value`` is the option weight (0 for don't know) of a scored PAR question, or
    1/0 for a satisfied / other answer of a SIPAS satisfaction question.  The same
    rules as :func:`analysis.scoring.score_answers` and :mod:`analysis.sipas`.
    """
    it = items[~items["is_expectation"].astype(bool)]
    substantive = it[~it["is_missing"]]
    weighted = substantive.assign(_w=substantive["weight"].notna()).groupby(["group", "question"])["_w"].all()
    scored = set(weighted.index[weighted])
    sipas = it["sipas_element"].notna() | it["sipas_policy"].notna()
    keys = list(zip(it["group"], it["question"]))
    par = it["subcriterion"].notna() & ~sipas & np.array([k in scored for k in keys], dtype=bool)
    element = it["sipas_element"].astype("Int64").astype(str)
    sipas_cell = np.where(it["sipas_element"].notna(), "SI_" + element, "PI:" + it["sipas_policy"].astype(str))
    cell = np.where(sipas, sipas_cell, it["subcriterion"].astype(object))
    weight = it["weight"].fillna(0.0).to_numpy(dtype=float)
    satisfied = (~it["is_missing"] & (it["weight"].fillna(0) >= SATISFIED_THRESHOLD - _EPS)).to_numpy()
    value = np.where(sipas, satisfied.astype(float), np.where(it["is_missing"], 0.0, weight))
    out = pd.DataFrame({"group": it["group"], "question": it["question"], "option": it["option"], "cell": cell,
                        "value": value, "is_missing": it["is_missing"].astype(bool)})
    return out[(par | sipas).to_numpy()].reset_index(drop=True)


def _xy(moments: pd.DataFrame, options: AnalysisOptions) -> pd.DataFrame:
    """m, sx, sy, sxx, sxy, syy under the options' treatment of don't know."""
    v = "1" if options.dont_know == "exclude" else "0"
    # Columns beyond the moments (a breakdown's key, analysis.sipas_breakdown) travel along for ``by``.
    extra = {c: moments[c] for c in moments.columns if c not in MOMENT_COLUMNS}
    return pd.DataFrame({**extra, "group": moments["group"], "cell": moments["cell"], "m": moments[f"m{v}"].astype(float),
                         "sx": moments[f"sx{v}"].astype(float), "sy": moments["sy"].astype(float),
                         "sxx": moments[f"sx{v}x{v}"].astype(float), "sxy": moments[f"sx{v}y"].astype(float),
                         "syy": moments["syy"].astype(float)})


def ratio_intervals(moments: pd.DataFrame, options: AnalysisOptions, by: list[str],
                    group_weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Ratio, its respondent-level variance and t interval per ``by`` (groups are strata).

    ``by=["group", "cell"]``: one ratio per group and cell (a group row of a
    sub-criterion); ``by=["cell"]``: the groups pooled (a SIPAS element).
    Returns ``by + [ratio, variance, respondents, low, high]``; variance NaN when
    fewer than two respondents (no interval rather than a made-up one).
    """
    if moments.empty:
        return pd.DataFrame(columns=by + ["ratio", "variance", "respondents", "low", "high"])
    d = _xy(moments, options)
    d["w"] = d["group"].map(group_weights or {}).fillna(1.0) if group_weights else 1.0
    d["wx"], d["wy"] = d["w"] * d["sx"], d["w"] * d["sy"]
    tot = d.groupby(by, sort=True)[["wx", "wy"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        tot["ratio"] = np.where(tot["wx"] > 0, tot["wy"] / tot["wx"], np.nan)
    d = d.merge(tot[["ratio", "wx"]].rename(columns={"wx": "X"}), left_on=by, right_index=True)
    r = d["ratio"]
    se = d["sy"] - r * d["sx"]
    sse = np.maximum(d["syy"] - 2 * r * d["sxy"] + r * r * d["sxx"], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d["part"] = np.where(d["m"] >= 2, d["w"] ** 2 * d["m"] / (d["m"] - 1) * (sse - se * se / d["m"]), np.nan)
        d["part"] = np.where(d["m"] == 0, 0.0, d["part"])  # a group without valid answers adds nothing
    d["strata"] = (d["m"] > 0).astype(float)
    agg = d.groupby(by, sort=True).agg(m=("m", "sum"), part=("part", lambda s: s.sum(min_count=len(s))),
                                       strata=("strata", "sum"))
    out = tot[["ratio", "wx"]].join(agg)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["variance"] = np.where(out["wx"] > 0, np.maximum(out["part"], 0.0) / out["wx"] ** 2, np.nan)
    df_n = out["m"] - out["strata"] + 1  # t_interval uses n - 1 degrees of freedom
    ok = (out["m"] - out["strata"] >= 1) & out["variance"].notna()
    low, high = t_interval(out["ratio"], out["variance"] * df_n, np.where(ok, df_n, 0), options.confidence)
    out["low"], out["high"] = low, high
    out = out.rename(columns={"m": "respondents"}).reset_index()
    out.loc[~ok.to_numpy(), "variance"] = np.nan
    return out[by + ["ratio", "variance", "respondents", "low", "high"]]


def cell_variances(moments: pd.DataFrame, options: AnalysisOptions) -> pd.DataFrame:
    """Per (group, cell): the respondent-level variance of the group's ratio and its t interval."""
    return ratio_intervals(moments, options, ["group", "cell"])


def group_weights(counts: pd.DataFrame) -> dict[str, float]:
    """The post-stratification weight of each group (constant within a group), from weighted counts."""
    if "n_weighted" not in counts.columns:
        return {}
    g = counts.groupby("group")[["n", "n_weighted"]].sum()
    g = g[g["n"] > 0]
    return dict(zip(g.index, g["n_weighted"] / g["n"]))


def index_coefficients(counts: pd.DataFrame, cells: pd.DataFrame, options: AnalysisOptions,
                       group_sizes: pd.DataFrame | None = None) -> pd.DataFrame:
    """``group, cell, a_u, b_u, a_v, b_v``: a respondent's service (u) and policy (v) contribution is
    ``sum_c a_c y_ic + b_c x_ic`` over its SIPAS cells (see module notes).

    ``counts`` and ``group_sizes`` as given to :func:`analysis.compute_round`.
    """
    cols = ["group", "cell", "a_u", "b_u", "a_v", "b_v"]
    if options.weighting == "group" and group_sizes is not None:
        counts = apply_weights(counts, poststratification_weights(group_sizes))
    sip = cells[cells["cell"].astype(str).str.match(r"^(SI_|PI:)")]
    c = counts.merge(sip, on=["group", "question", "option"], how="inner")
    if c.empty:
        return pd.DataFrame(columns=cols)
    w = group_weights(counts)
    c["w"] = c["group"].map(w).fillna(1.0) if w else 1.0
    valid = ~c["is_missing"] | (options.dont_know == "zero")
    c["X"] = np.where(valid, c["n"] * c["w"], 0.0)
    c["Y"] = np.where(valid, c["n"] * c["w"] * c["value"], 0.0)
    tot = c.groupby("cell")[["X", "Y"]].sum()
    tot = tot[tot["X"] > 0]
    tot["R"] = tot["Y"] / tot["X"]
    is_el = tot.index.str.startswith("SI_")
    n_el, n_pol = int(is_el.sum()), int((~is_el).sum())
    tot["coef_u"] = np.where(is_el, 100.0 / max(n_el, 1), 0.0)
    tot["coef_v"] = np.where(~is_el, 100.0 / max(n_pol, 1), 0.0)
    pairs = c[["group", "cell", "w"]].drop_duplicates(["group", "cell"]).merge(tot, left_on="cell", right_index=True)
    out = pd.DataFrame({"group": pairs["group"], "cell": pairs["cell"]})
    for s in ("u", "v"):
        out[f"a_{s}"] = pairs["w"] * pairs[f"coef_{s}"] / pairs["X"]
        out[f"b_{s}"] = -pairs["w"] * pairs[f"coef_{s}"] * pairs["R"] / pairs["X"]
    return out.reset_index(drop=True)


def index_contributions(cells: pd.DataFrame, coefficients: pd.DataFrame, dont_know: str = "exclude") -> pd.DataFrame:
    """``cells`` with what each answer adds to its respondent's service (``u``) and policy (``v``)
    contributions, and ``indexed`` (1 where the cell enters the indices).

    A respondent's contribution ``sum_c a_c y_ic + b_c x_ic`` is linear in its
    answers, so each option carries ``a_c value + b_c counted`` (counted: 0 for
    don't know under dont_know="exclude", else 1) and the database adds them up
    per respondent together with the cell sums, in one pass over the answers.
    """
    out = cells.merge(coefficients, on=["group", "cell"], how="left")
    indexed = out["a_u"].notna().to_numpy()
    counted = np.where(out["is_missing"].to_numpy(dtype=bool) & (dont_know == "exclude"), 0.0, 1.0)
    value = out["value"].to_numpy(dtype=float)
    for s in ("u", "v"):
        a, b = out[f"a_{s}"].fillna(0.0).to_numpy(dtype=float), out[f"b_{s}"].fillna(0.0).to_numpy(dtype=float)
        out[s] = a * value + b * counted
    out["indexed"] = indexed.astype(int)
    return out.drop(columns=["a_u", "b_u", "a_v", "b_v"])


def index_variances(moments: pd.DataFrame) -> dict[str, float]:
    """Variances of the service index, the policy index and of their mean (percentage points squared)
    and the degrees of freedom.  SIPAS is that mean when the round has policy items, else the service index."""
    if moments is None or moments.empty:
        return {"service": np.nan, "policy": np.nan, "mean": np.nan, "df": 0}
    m = moments["m"].astype(float)
    ok = m >= 2

    def part(sxy, sx, sy):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.where(ok, m / (m - 1) * (sxy - sx * sy / m), 0.0).sum())

    vu = part(moments["suu"], moments["su"], moments["su"])
    vv = part(moments["svv"], moments["sv"], moments["sv"])
    cuv = part(moments["suv"], moments["su"], moments["sv"])
    df = int(m[ok].sum() - ok.sum())
    return {"service": vu, "policy": vv, "mean": (vu + vv + 2 * cuv) / 4, "df": df}
