"""Checks shared by the functions that receive the documented input frames."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

COUNTS_COLUMNS = ("group", "question", "option", "n")
ITEMS_COLUMNS = (
    "group",
    "question",
    "option",
    "weight",
    "is_missing",
    "subcriterion",
    "sipas_element",
    "sipas_policy",
    "is_expectation",
)
# The SIPAS indices that may score a sub-criterion (optional structure column ``sipas_index``).
SIPAS_INDICES = ("SI_1", "SI_2", "SI_3", "SI_4", "SI_5", "policy")
STRUCTURE_COLUMNS = (
    "field",
    "field_title",
    "criterion",
    "subcriterion",
    "title",
    "max_points",
    "survey_scored",
)


def require_frame(frame, name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    require_frame(frame, name)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s): {', '.join(missing)}")


def _listing(frame: pd.DataFrame, limit: int = 10) -> str:
    rows = frame.head(limit).to_dict("records")
    more = f" (and {len(frame) - limit} more)" if len(frame) > limit else ""
    return "; ".join(str(r) for r in rows) + more


def as_key(series: pd.Series, name: str) -> pd.Series:
    """A key column as str, rejecting missing codes."""
    if series.isna().any():
        raise ValueError(f"{name} has missing values in rows {list(series.index[series.isna()][:10])}")
    return series.astype(str)


def as_bool(series: pd.Series, name: str) -> pd.Series:
    if series.isna().any():
        raise ValueError(f"{name} has missing values; expected True/False")
    return series.astype(bool)


def check_counts(counts: pd.DataFrame, weighted: bool) -> pd.DataFrame:
    """Validated copy of a count table, aggregated over an optional ``agency`` column.

    Adds ``n_weighted`` (= ``n`` unless post-stratified) and ``n_w2`` = sum of squared
    respondent weights (= ``n`` when unweighted) used by Kish's effective sample size.
    """
    require_columns(counts, COUNTS_COLUMNS, "counts")
    if weighted and "n_weighted" not in counts.columns:
        raise ValueError(
            "counts is missing column n_weighted: options.weighting='group' needs counts "
            "passed through analysis.weighting.apply_weights"
        )
    out = pd.DataFrame(
        {
            "group": as_key(counts["group"], "counts.group"),
            "question": as_key(counts["question"], "counts.question"),
            "option": as_key(counts["option"], "counts.option"),
        }
    )
    n = pd.to_numeric(counts["n"], errors="coerce").astype(float)
    bad = n.isna() | (n < 0) | (n != np.floor(n))
    if bad.any():
        raise ValueError(f"counts.n must be integers >= 0; offending rows: {_listing(counts[bad])}")
    out["n"] = n.to_numpy()
    if weighted:
        m = pd.to_numeric(counts["n_weighted"], errors="coerce").astype(float)
        bad = m.isna() | (m < 0) | ((n == 0) & (m > 0))
        if bad.any():
            raise ValueError(f"counts.n_weighted must be >= 0 (0 where n is 0); offending rows: {_listing(counts[bad])}")
        m = m.to_numpy()
    else:
        m = n.to_numpy()
    nn = n.to_numpy()
    out["n_weighted"] = m
    with np.errstate(divide="ignore", invalid="ignore"):
        out["n_w2"] = np.where(nn > 0, m * m / np.where(nn > 0, nn, 1.0), 0.0)
    out = out.groupby(["group", "question", "option"], as_index=False, sort=True)[
        ["n", "n_weighted", "n_w2"]
    ].sum()
    return out


def check_items(items: pd.DataFrame) -> pd.DataFrame:
    """Validated copy of the scoring metadata (one row per group/question/option)."""
    require_columns(items, ITEMS_COLUMNS, "items")
    out = pd.DataFrame(
        {
            "group": as_key(items["group"], "items.group"),
            "question": as_key(items["question"], "items.question"),
            "option": as_key(items["option"], "items.option"),
        }
    )
    out["weight"] = pd.to_numeric(items["weight"], errors="coerce").astype(float).to_numpy()
    out["is_missing"] = as_bool(items["is_missing"], "items.is_missing").to_numpy()
    out["is_expectation"] = as_bool(items["is_expectation"], "items.is_expectation").to_numpy()
    sub = items["subcriterion"].astype(object)
    out["subcriterion"] = [None if pd.isna(v) else str(v) for v in sub]
    out["sipas_element"] = pd.array(
        [pd.NA if pd.isna(v) else int(v) for v in items["sipas_element"].astype(object)], dtype="Int64"
    )
    out["sipas_policy"] = [None if pd.isna(v) else str(v) for v in items["sipas_policy"].astype(object)]
    w = out["weight"]
    bad = w.notna() & ((w < 0) | (w > 1))
    if bad.any():
        raise ValueError(f"items.weight must be in [0, 1]; offending rows: {_listing(items[bad.to_numpy()])}")
    dup = out.duplicated(["group", "question", "option"], keep=False)
    if dup.any():
        raise ValueError(
            f"items has duplicate (group, question, option) rows: {_listing(out.loc[dup, ['group', 'question', 'option']])}"
        )
    return out.reset_index(drop=True)


def check_structure(structure: pd.DataFrame) -> pd.DataFrame:
    require_columns(structure, STRUCTURE_COLUMNS, "structure")
    out = structure.loc[:, list(STRUCTURE_COLUMNS)].copy()
    out["subcriterion"] = as_key(out["subcriterion"], "structure.subcriterion")
    out["field"] = pd.to_numeric(out["field"], errors="coerce")
    if out["field"].isna().any():
        raise ValueError("structure.field must be an integer 1..8 in every row")
    out["field"] = out["field"].astype(int)
    out["max_points"] = pd.to_numeric(out["max_points"], errors="coerce").astype(float)
    bad = out["max_points"].isna() | (out["max_points"] < 0)
    if bad.any():
        raise ValueError(f"structure.max_points must be >= 0; offending rows: {_listing(out[bad])}")
    out["survey_scored"] = as_bool(out["survey_scored"], "structure.survey_scored")
    links = structure["sipas_index"] if "sipas_index" in structure.columns else pd.Series(None, index=out.index)
    linked = [None if pd.isna(v) or v == "" else str(v) for v in links.astype(object)]
    bad = [v for v in linked if v is not None and v not in SIPAS_INDICES]
    if bad:
        raise ValueError(f"structure.sipas_index must be one of {', '.join(SIPAS_INDICES)}; got {sorted(set(bad))}")
    # object dtype: None stays None (a str column would turn it into NaN)
    out["sipas_index"] = pd.Series(linked, index=out.index, dtype=object)
    unscored = out["sipas_index"].notna() & ~out["survey_scored"]
    if unscored.any():
        raise ValueError(f"structure: SIPAS-fed sub-criteria must be survey_scored: {list(out.loc[unscored, 'subcriterion'])}")
    dup = out["subcriterion"].duplicated(keep=False)
    if dup.any():
        raise ValueError(f"structure has duplicate sub-criterion codes: {sorted(set(out.loc[dup, 'subcriterion']))}")
    return out.reset_index(drop=True)


def listing(frame: pd.DataFrame, limit: int = 10) -> str:
    return _listing(frame, limit)
