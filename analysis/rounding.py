"""Display rounding: half up on the decimal representation, as on official tables."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np

__all__ = ["round_half_up"]


def round_half_up(values, decimals: int = 2):
    """Round half up (1.125 -> 1.13, 1.005 -> 1.01), NaN stays NaN.

    numpy and Python round half to even on the binary value, so 1.005 (stored
    as 1.00499...) would show as 1.0; officials round the number they see.
    """
    q = Decimal(1).scaleb(-decimals)

    def one(x: float) -> float:
        if x is None or np.isnan(x):
            return float("nan")
        return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))

    if np.ndim(values) == 0:
        return one(float(values))
    arr = np.asarray(values, dtype=float)
    return np.array([one(x) for x in arr.ravel()]).reshape(arr.shape)
