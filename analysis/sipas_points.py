"""PAR points of the sub-criteria that a SIPAS index scores (field 8: 8.1.1-8.1.5, 8.2.1).

(provisional) rule, named in the index structure file (``sipas_index`` of a
sub-criterion, data rather than code)::

    points_k = max_points_k * index / 100      (shown half-up rounded to 2 decimals)

with ``index`` the SIPAS element index SI_e (sipas_index "SI_e") or the policy
index ("policy").  The interval is the index's own interval scaled the same way.
A sub-criterion whose index has no answers in the round is "not_measured"; one
whose index rests on fewer than k respondents is "withheld" and scores nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .options import AnalysisOptions
from .rounding import round_half_up
from .sipas import SipasResult

__all__ = ["RULE", "sipas_links", "sipas_subcriterion_points"]

RULE = "points = max_points * index / 100"


def sipas_links(st: pd.DataFrame) -> dict[str, str]:
    """Sub-criterion -> SIPAS index, from a checked structure."""
    linked = st[st["sipas_index"].notna()]
    return dict(zip(linked["subcriterion"], linked["sipas_index"]))


def _index_of(sipas: SipasResult | None, link: str, k: int) -> tuple[str, float, float, float, int, int]:
    """(status, index, low, high, respondents, valid answers) of one SIPAS index."""
    nan = float("nan")
    if sipas is None:
        return "not_measured", nan, nan, nan, 0, 0
    if link == "policy":
        pol = sipas.policies
        if pol.empty or not (pol["n_respondents"] > 0).any():
            return "not_measured", nan, nan, nan, 0, 0
        n = int(pol["n_respondents"].max())
        valid = int(pol["n_valid"].fillna(0).sum())
        low, high = sipas.policy_interval
        index = sipas.policy_index
    else:
        el = sipas.elements[sipas.elements["element"] == int(link[3:])]
        if el.empty:
            return "not_measured", nan, nan, nan, 0, 0
        row = el.iloc[0]
        n, valid = int(row["n_respondents"]), 0 if pd.isna(row["n_valid"]) else int(row["n_valid"])
        index, low, high = float(row["index"]), float(row["index_low"]), float(row["index_high"])
    if n < k:
        return "withheld", nan, nan, nan, n, valid
    if not np.isfinite(index):
        return "no_valid_answers", nan, nan, nan, n, valid
    return "scored", index, low, high, n, valid


def sipas_subcriterion_points(points: pd.DataFrame, st: pd.DataFrame, sipas: SipasResult | None,
                              options: AnalysisOptions) -> pd.DataFrame:
    """``points`` (from :func:`analysis.scoring.subcriterion_points`) with the pooled rows of
    SIPAS-fed sub-criteria scored from their index."""
    links = sipas_links(st)
    if not links:
        return points
    out = points.copy()
    for code, link in links.items():
        at = out.index[(out["subcriterion"] == code) & out["is_pooled"].astype(bool)]
        status, index, low, high, n, valid = _index_of(sipas, link, options.min_cell)
        mx = out.loc[at, "max_points"].to_numpy(dtype=float)
        score = index / 100
        out.loc[at, "n_responses"] = n
        out.loc[at, "n_valid"] = valid
        out.loc[at, "score"] = score
        out.loc[at, "score_low"] = low / 100
        out.loc[at, "score_high"] = high / 100
        out.loc[at, "points_raw"] = mx * score
        out.loc[at, "points"] = round_half_up(mx * score, 2)
        out.loc[at, "points_low"] = mx * low / 100
        out.loc[at, "points_high"] = mx * high / 100
        out.loc[at, "suppressed"] = status == "withheld"
        out.loc[at, "status"] = status
    return out
