"""Cronbach's alpha from sufficient statistics, so that chunked input equals one-shot input."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.stats import f

__all__ = ["cronbach_alpha", "ItemMoments", "reliability_by_scale"]


class ItemMoments:
    """Accumulated n, sum and cross-products of complete rows (listwise deletion).

    Rows are shifted by a fixed reference row (the first complete row seen)
    before accumulating, which keeps the sums of squares well conditioned; the
    covariance does not depend on the shift.
    """

    def __init__(self, columns: list[str]):
        self.columns = list(columns)
        k = len(self.columns)
        self.n = 0
        self.shift: np.ndarray | None = None
        self.s1 = np.zeros(k)
        self.s2 = np.zeros((k, k))

    def update(self, frame: pd.DataFrame) -> None:
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"chunk is missing item column(s): {', '.join(map(str, missing))}")
        block = frame.loc[:, self.columns]
        non_numeric = [c for c in self.columns if not pd.api.types.is_numeric_dtype(block[c]) or pd.api.types.is_bool_dtype(block[c])]
        if non_numeric:
            raise ValueError(f"item columns must be numeric: {', '.join(map(str, non_numeric))}")
        x = block.to_numpy(dtype=float)
        x = x[~np.isnan(x).any(axis=1)]
        if len(x) == 0:
            return
        if self.shift is None:
            self.shift = x[0].copy()
        d = x - self.shift
        self.n += len(d)
        self.s1 += d.sum(axis=0)
        self.s2 += d.T @ d

    def covariance(self) -> np.ndarray:
        if self.n < 2:
            raise ValueError("at least two complete responses are required")
        mean = self.s1 / self.n
        return (self.s2 - self.n * np.outer(mean, mean)) / (self.n - 1)

    def alpha(self, ci: float = 0.95) -> tuple[float, tuple[float, float]]:
        k = len(self.columns)
        if k < 2:
            raise ValueError("at least two items are required")
        if not 0 < ci < 1:
            raise ValueError(f"ci must be in (0, 1), got {ci!r}")
        c = self.covariance()
        total_var = c.sum()
        if total_var <= 0:
            return float("nan"), (float("nan"), float("nan"))
        a = (k / (k - 1)) * (1 - np.trace(c) / total_var)
        df1 = self.n - 1
        df2 = df1 * (k - 1)
        tail = 1 - ci
        low = 1 - (1 - a) * f.isf(tail / 2, df1, df2)
        high = 1 - (1 - a) * f.isf(1 - tail / 2, df1, df2)
        return float(a), (float(low), float(high))


def _chunks(data) -> Iterable[pd.DataFrame]:
    if isinstance(data, pd.DataFrame):
        yield data
        return
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise ValueError("data must be a DataFrame or an iterable of DataFrames")
    for chunk in data:
        if not isinstance(chunk, pd.DataFrame):
            raise ValueError(f"every chunk must be a DataFrame, got {type(chunk).__name__}")
        yield chunk


def cronbach_alpha(data, ci: float = 0.95, items: list[str] | None = None) -> tuple[float, tuple[float, float]]:
    """Cronbach's alpha with Feldt's confidence interval (listwise deletion).

    Parameters
    ----------
    data : DataFrame or iterable of DataFrames
        Wide frame(s): one row per response, one numeric column per item, NaN
        for don't know / missing.  Chunks are accumulated (n, sums and
        cross-products), so the result equals that of the concatenated frame.
    ci : float
        Confidence level.
    items : list of str, optional
        Item columns; default all columns of the first chunk.

    Returns
    -------
    (alpha, (low, high))

    Notes
    -----
    With C the item covariance matrix of the n complete responses and k items:

    .. math::

        \\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\operatorname{tr} C}{\\sum_{ij} C_{ij}}\\right)

    Feldt, Woodruff & Salih (1987) interval, as in pingouin::

        low  = 1 - (1 - alpha) * F_{1-(1-ci)/2}(n-1, (n-1)(k-1))
        high = 1 - (1 - alpha) * F_{(1-ci)/2}(n-1, (n-1)(k-1))

    Unlike pingouin the bounds are not rounded.  alpha is NaN when the total
    score has zero variance.
    """
    moments = None
    for chunk in _chunks(data):
        if moments is None:
            cols = list(items) if items is not None else [c for c in chunk.columns]
            moments = ItemMoments(cols)
        moments.update(chunk)
    if moments is None:
        raise ValueError("data has no chunk")
    return moments.alpha(ci)


def reliability_by_scale(
    data,
    scales: Mapping[str, list[str]],
    ci: float = 0.95,
    group_column: str | None = None,
) -> pd.DataFrame:
    """Cronbach's alpha of several scales (fields, SIPAS elements) in one pass over the chunks.

    Parameters
    ----------
    data : DataFrame or iterable of DataFrames
        ``responses_wide`` (columns = question codes).
    scales : mapping scale name -> list of question codes
        Scales with fewer than 2 items are reported with alpha NaN.
    group_column : str, optional
        When given (e.g. ``"group"``), alpha is computed per (scale, group):
        each group answers its own questionnaire, and listwise deletion across
        questionnaires would leave no complete response.

    Returns
    -------
    DataFrame: ``scale, group, n_items, n, alpha, alpha_low, alpha_high``.
    Questions of a scale absent from the data are ignored (per group: questions
    that no response of the group answered).
    """
    # The scale's items for a group are those its responses answer anywhere in the input, and its
    # complete responses those that answer all of them: decided over the whole input, not on first
    # sight of a group, so that chunked input gives the one-shot result.  The set of items only
    # grows while streaming, and a response that misses one item of the current set can never be
    # complete, so only the moments of responses answering exactly the current set are kept (reset
    # when the set grows).  Sums are unshifted: item weights are bounded, and a data-dependent shift
    # would make them depend on row order.
    acc: dict[tuple, list] = {}  # (scale, group) -> [items answered so far, n, s1, s2]
    for chunk in _chunks(data):
        parts = [(None, chunk)] if group_column is None else list(chunk.groupby(group_column, sort=True))
        for group, part in parts:
            for scale, cols in scales.items():
                x = part.reindex(columns=cols).to_numpy(dtype=float)
                answered = ~np.isnan(x)
                k = len(cols)
                state = acc.setdefault((scale, group), [np.zeros(k, dtype=bool), 0, np.zeros(k), np.zeros((k, k))])
                union = state[0] | answered.any(axis=0)
                if (union != state[0]).any():
                    state[:] = [union, 0, np.zeros(k), np.zeros((k, k))]
                if not union.any():
                    continue
                rows = np.nan_to_num(x[answered[:, union].all(axis=1)])
                state[1] += len(rows)
                state[2] += rows.sum(axis=0)
                state[3] += rows.T @ rows
    moments: dict[tuple, ItemMoments] = {}
    for (scale, group), (union, n, s1, s2) in acc.items():
        m = ItemMoments([c for c, used in zip(scales[scale], union) if used])
        m.shift = np.zeros(len(m.columns))
        m.n, m.s1, m.s2 = n, s1[union], s2[np.ix_(union, union)]
        moments[(scale, group)] = m
    rows = []
    for (scale, group), m in sorted(moments.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        k = len(m.columns)
        if k >= 2 and m.n >= 2:
            a, (lo, hi) = m.alpha(ci)
        else:
            a = lo = hi = float("nan")
        rows.append({"scale": scale, "group": group, "n_items": k, "n": m.n, "alpha": a, "alpha_low": lo, "alpha_high": hi})
    return pd.DataFrame(rows, columns=["scale", "group", "n_items", "n", "alpha", "alpha_low", "alpha_high"])
