"""Small-cell suppression of breakdowns.

Suppression is about the number of RESPONSES behind a breakdown (a group, an
agency, a sub-criterion in one group ...), never about a single option count:
a cell "3 people answered C" inside a breakdown of 40 responses is published.

A hidden cell must also stay hidden from the published figures that add cells
up (a pooled score is a weighted sum of group scores, a pooled frequency the
sum of the groups' frequencies): :func:`hide_complements` hides a second cell
wherever a published total would otherwise leave a single unknown.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ._inputs import require_columns

__all__ = ["suppress_small_cells", "hide_complements"]


def suppress_small_cells(
    frame: pd.DataFrame,
    n_column: str,
    k: int,
    columns: Iterable[str] | None = None,
    keep: Iterable[str] = (),
) -> pd.DataFrame:
    """Blank the statistics of rows backed by fewer than ``k`` responses.

    Parameters
    ----------
    frame : DataFrame
        One row per breakdown.
    n_column : str
        Column holding the number of responses behind each row.  Rows where it
        is missing are suppressed too (unknown support is not enough support).
    k : int
        Threshold: rows with ``frame[n_column] < k`` are suppressed.
    columns : iterable of str, optional
        Statistic columns to blank.  Default: every numeric (non-boolean)
        column except ``n_column`` and ``keep``.
    keep : iterable of str
        Numeric columns that are metadata, not statistics (e.g. ``max_points``).

    Returns
    -------
    DataFrame
        A copy with the statistic columns set to NA on suppressed rows (they
        become float) and a boolean ``suppressed`` column; an existing
        ``suppressed`` column is OR-ed with the new flag.
    """
    require_columns(frame, [n_column], "frame")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
    keep = set(keep)
    if columns is None:
        columns = [
            c
            for c in frame.columns
            if c not in keep
            and c not in (n_column, "suppressed")
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        ]
    else:
        columns = list(columns)
        require_columns(frame, columns, "frame")
    out = frame.copy()
    n = pd.to_numeric(out[n_column], errors="coerce")
    flag = (n.isna() | (n < k)).to_numpy(dtype=bool)
    if "suppressed" in out.columns:
        flag = flag | out["suppressed"].fillna(True).to_numpy(dtype=bool)
    for c in columns:
        if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]):
            values = out[c].astype(float).to_numpy(copy=True)
            values[flag] = np.nan
            out[c] = values
        else:
            col = out[c].astype(object).to_numpy(copy=True)
            col[flag] = None
            out[c] = col
    out["suppressed"] = flag
    return out


def hide_complements(n, hide, relations) -> np.ndarray:
    """Complementary suppression: no published total may leave a single hidden member.

    Parameters
    ----------
    n : array of numbers
        Responses behind each cell; the complement chosen is the visible member
        with the fewest (ties: the first), the least information given up.
    hide : array of bool
        Cells already hidden (primary suppression).
    relations : iterable of bool arrays
        One mask per published total: the cells it adds up (with known
        coefficients).  A relation whose total is itself hidden is left out by
        the caller.

    Returns
    -------
    ndarray of bool
        ``hide`` with complements added.  With exactly one hidden member, the
        total minus the visible members would be that member; hiding a second
        leaves two unknowns in the equation.  Repeated until stable, because a
        complement hidden for one relation can be the single hidden member of
        another.
    """
    n = np.asarray(n, dtype=float)
    out = np.asarray(hide, dtype=bool).copy()
    relations = [np.asarray(r, dtype=bool) for r in relations]
    changed = True
    while changed:
        changed = False
        for members in relations:
            if (members & out).sum() == 1:
                visible = np.flatnonzero(members & ~out)
                if len(visible):
                    out[visible[np.argmin(n[visible])]] = True
                    changed = True
    return out
