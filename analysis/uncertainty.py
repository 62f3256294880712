"""Interval estimates: Wilson score interval, t interval of a mean, percentile bootstrap."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["wilson_interval", "mean_interval", "t_interval", "bootstrap_interval", "z_value"]


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard normal quantile z = Phi^-1(1 - (1 - confidence) / 2)."""
    _check_confidence(confidence)
    return float(stats.norm.isf((1 - confidence) / 2))


def wilson_interval(successes, n, confidence: float = 0.95):
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    successes, n : int or array-like
        Number of successes and of trials (vectorised; broadcast together).
    confidence : float
        Confidence level, e.g. 0.95.

    Returns
    -------
    (low, high) : tuple of floats, or of numpy arrays for array input.
        NaN where ``n == 0``.

    Notes
    -----
    With :math:`\\hat p = x/n` and :math:`z` the two-sided normal quantile
    (Wilson 1927; Newcombe 1998, method 3):

    .. math::

        \\frac{\\hat p + z^2/(2n)}{1 + z^2/n} \\pm
        \\frac{z}{1 + z^2/n}\\sqrt{\\frac{\\hat p(1-\\hat p)}{n} + \\frac{z^2}{4n^2}}

    The lower bound is exactly 0 when x = 0 and the upper bound exactly 1 when
    x = n (set explicitly, to remove floating-point noise).
    """
    z = z_value(confidence)
    scalar = np.ndim(successes) == 0 and np.ndim(n) == 0
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    if np.any(m < 0) or np.any(x < 0) or np.any(x > m):
        raise ValueError("wilson_interval needs 0 <= successes <= n")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / m
        denom = 1 + z * z / m
        centre = (p + z * z / (2 * m)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    # The bounds are exactly 0 and 1 at the edges; remove the rounding noise.
    low = np.where(x == 0, 0.0, low)
    high = np.where(x == m, 1.0, high)
    low = np.where(m > 0, low, np.nan)
    high = np.where(m > 0, high, np.nan)
    if scalar:
        return float(low), float(high)
    return low, high


def t_interval(mean, variance, n, confidence: float = 0.95):
    """Student t interval of a mean from its moments (vectorised).

    ``mean +- t_{1-(1-c)/2, n-1} * sqrt(variance / n)`` with ``variance`` the
    (unbiased) sample variance and ``n`` the (effective) sample size.
    NaN where ``n < 2``.
    """
    _check_confidence(confidence)
    mean = np.asarray(mean, dtype=float)
    variance = np.asarray(variance, dtype=float)
    n = np.asarray(n, dtype=float)
    ok = n >= 2
    df = np.where(ok, n - 1, 1.0)
    t = stats.t.isf((1 - confidence) / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = t * np.sqrt(np.maximum(variance, 0.0) / np.where(ok, n, 1.0))
    low = np.where(ok, mean - half, np.nan)
    high = np.where(ok, mean + half, np.nan)
    return low, high


def mean_interval(values, counts=None, confidence: float = 0.95):
    """Mean and Student t interval of observations, or of a discrete distribution.

    Parameters
    ----------
    values : array-like
        Observations, or the distinct values of a discrete distribution when
        ``counts`` is given.  NaN values are dropped.
    counts : array-like, optional
        Frequency of each value (e.g. option counts of a question).

    Returns
    -------
    (mean, low, high) : floats.  low/high are NaN when fewer than 2 observations.

    Notes
    -----
    With :math:`N = \\sum n_i`, :math:`\\bar x = \\sum n_i x_i / N` and
    :math:`s^2 = (\\sum n_i x_i^2 - N\\bar x^2)/(N-1)`, the interval is
    :math:`\\bar x \\pm t_{1-\\alpha/2,\\,N-1}\\, s/\\sqrt N`.
    """
    x = np.asarray(values, dtype=float).ravel()
    if counts is None:
        c = np.ones_like(x)
    else:
        c = np.asarray(counts, dtype=float).ravel()
        if c.shape != x.shape:
            raise ValueError("values and counts must have the same length")
        if np.any(c < 0) or np.any(np.isnan(c)):
            raise ValueError("counts must be >= 0")
    keep = ~np.isnan(x)
    x, c = x[keep], c[keep]
    total = c.sum()
    if total == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float((c * x).sum() / total)
    if total < 2:
        return mean, float("nan"), float("nan")
    var = float((c * (x - mean) ** 2).sum() / (total - 1))
    low, high = t_interval(mean, var, total, confidence)
    return mean, float(low), float(high)


def bootstrap_interval(
    statistic: Callable,
    data,
    n_resamples: int = 2000,
    seed: int = 20231210,
    confidence: float = 0.95,
):
    """Percentile bootstrap interval of ``statistic(data)``.

    Rows of ``data`` (a 1-d array, 2-d array or DataFrame) are resampled with
    replacement ``n_resamples`` times with ``numpy.random.default_rng(seed)``;
    the interval is the (1-c)/2 and (1+c)/2 quantiles of the resampled
    statistics.  The same seed always gives the same interval.

    Returns
    -------
    (low, high) : floats
    """
    _check_confidence(confidence)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    frame = isinstance(data, (pd.DataFrame, pd.Series))
    arr = data if frame else np.asarray(data)
    size = len(arr)
    if size == 0:
        raise ValueError("bootstrap_interval needs at least one observation")
    rng = np.random.default_rng(seed)
    estimates = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, size, size)
        sample = arr.iloc[idx] if frame else arr[idx]
        estimates[i] = statistic(sample)
    tail = (1 - confidence) / 2
    low, high = np.quantile(estimates, [tail, 1 - tail])
    return float(low), float(high)
