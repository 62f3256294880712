"""Post-stratification weights per respondent group (and optionally agency).

A cell's weight is (population share) / (respondent share)::

    w_c = (N_c / sum N) / (r_c / sum r)

with N_c the roster count and r_c the number of responses of cell c.  Weighted
counts ``n_weighted = n * w_c`` keep the total number of answers while giving
each cell its population share.  Every index uses them consistently when
``AnalysisOptions.weighting == "group"``: the scoring and SIPAS functions then read
``n_weighted`` for means and proportions and keep ``n`` for response counts
(suppression) and Kish effective sample sizes for intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._inputs import as_key, listing, require_columns

__all__ = ["poststratification_weights", "apply_weights"]


def poststratification_weights(group_sizes: pd.DataFrame) -> pd.DataFrame:
    """Post-stratification weight of each group (or group x agency) cell.

    Parameters
    ----------
    group_sizes : DataFrame
        Columns ``group``, optional ``agency``, ``population`` (roster count,
        > 0) and ``respondents`` (responses, >= 0).

    Returns
    -------
    DataFrame
        The cells with ``population_share``, ``respondent_share`` and ``weight``.
        Cells without respondents get weight NaN (their population cannot be
        represented) and ``covered`` False; shares are computed over covered
        cells so that covered weights still average to 1 per response.
    """
    require_columns(group_sizes, ["group", "population", "respondents"], "group_sizes")
    keys = ["group", "agency"] if "agency" in group_sizes.columns else ["group"]
    out = pd.DataFrame({k: as_key(group_sizes[k], f"group_sizes.{k}") for k in keys})
    out["population"] = pd.to_numeric(group_sizes["population"], errors="coerce").astype(float).to_numpy()
    out["respondents"] = pd.to_numeric(group_sizes["respondents"], errors="coerce").astype(float).to_numpy()
    bad = out["population"].isna() | (out["population"] <= 0) | out["respondents"].isna() | (out["respondents"] < 0)
    if bad.any():
        raise ValueError(f"group_sizes needs population > 0 and respondents >= 0; offending rows: {listing(out[bad])}")
    over = out["respondents"] > out["population"]
    if over.any():
        raise ValueError(f"group_sizes has more respondents than population: {listing(out[over])}")
    dup = out.duplicated(keys, keep=False)
    if dup.any():
        raise ValueError(f"group_sizes has duplicate cells: {listing(out.loc[dup, keys])}")
    covered = out["respondents"] > 0
    if not covered.any():
        raise ValueError("group_sizes has no cell with respondents")
    out["covered"] = covered
    pop = out["population"].where(covered)
    out["population_share"] = pop / pop.sum()
    out["respondent_share"] = out["respondents"] / out["respondents"].sum()
    out["weight"] = (out["population_share"] / out["respondent_share"]).where(covered)
    return out


def apply_weights(counts: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Add ``n_weighted = n * weight`` to a count table.

    ``weights`` is the output of :func:`poststratification_weights`.  When it is
    per agency, ``counts`` must have an ``agency`` column too.  Every count row
    must find a covered cell, otherwise a ValueError lists the rows.
    """
    require_columns(counts, ["group", "n"], "counts")
    require_columns(weights, ["group", "weight"], "weights")
    keys = ["group", "agency"] if "agency" in weights.columns else ["group"]
    require_columns(counts, keys, "counts")
    left = counts.copy()
    for k in keys:
        left[k] = as_key(left[k], f"counts.{k}")
    right = weights.loc[:, keys + ["weight"]].copy()
    for k in keys:
        right[k] = right[k].astype(str)
    merged = left.merge(right, on=keys, how="left", validate="many_to_one")
    missing = merged["weight"].isna() & (pd.to_numeric(merged["n"]) > 0)
    if missing.any():
        raise ValueError(
            f"counts has cells without a post-stratification weight: "
            f"{listing(merged.loc[missing, keys].drop_duplicates())}"
        )
    merged["n_weighted"] = pd.to_numeric(merged["n"]).astype(float) * merged["weight"].fillna(0.0)
    merged["n_weighted"] = np.where(pd.to_numeric(merged["n"]) > 0, merged["n_weighted"], 0.0)
    return merged.drop(columns=["weight"])
