import numpy as np
import pytest

from analysis.uncertainty import bootstrap_interval, mean_interval, wilson_interval

Z = 1.959964  # Phi^-1(0.975)


def test_wilson_newcombe_example():
    # Newcombe (1998), Table I example 81/263, method 3 (Wilson score): 0.2553 - 0.3662.
    # By hand: p = 0.307985, z^2/n = 3.841459/263 = 0.014606, denominator 1.014606
    # centre = (0.307985 + 3.841459/526) / 1.014606 = 0.310749
    # half = 1.959964/1.014606 * sqrt(0.307985*0.692015/263 + 3.841459/(4*263^2))
    #      = 1.931749 * sqrt(0.00081038 + 0.00001388) = 1.931749 * 0.028710 = 0.055461
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.310749 - 0.055461, abs=2e-6)
    assert high == pytest.approx(0.310749 + 0.055461, abs=2e-6)
    assert round(low, 4) == 0.2553 and round(high, 4) == 0.3662


def test_wilson_edges():
    # x = 0: low = 0, high = (z^2/n) / (1 + z^2/n) = 0.384146 / 1.384146 = 0.277533
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.277533, abs=1e-6))
    # x = n: symmetric, low = 1 - 0.277533
    low, high = wilson_interval(10, 10)
    assert low == pytest.approx(0.722467, abs=1e-6) and high == 1.0
    assert all(np.isnan(wilson_interval(0, 0)))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_wilson_vectorised_matches_scalar():
    low, high = wilson_interval(np.array([0, 81, 10]), np.array([10, 263, 10]))
    assert low[1] == pytest.approx(wilson_interval(81, 263)[0])
    assert high[0] == pytest.approx(0.277533, abs=1e-6)


def test_mean_interval_from_counts():
    # values 0 and 1, 2 each: mean 0.5, s^2 = 4*0.25/3 = 1/3, se = sqrt(1/12) = 0.288675
    # t(0.975, 3) = 3.182446 -> half = 0.918694
    mean, low, high = mean_interval([0.0, 1.0], counts=[2, 2])
    assert mean == 0.5
    assert low == pytest.approx(0.5 - 0.918694, abs=1e-5) and high == pytest.approx(0.5 + 0.918694, abs=1e-5)
    assert mean_interval([0, 0, 1, 1]) == pytest.approx((mean, low, high))


def test_bootstrap_is_seeded_and_reproducible():
    data = np.arange(20, dtype=float)
    a = bootstrap_interval(np.mean, data, n_resamples=200, seed=1)
    b = bootstrap_interval(np.mean, data, n_resamples=200, seed=1)
    assert a == b
    assert a[0] < 9.5 < a[1]
    # a constant sample has a degenerate interval
    assert bootstrap_interval(np.mean, np.ones(5), n_resamples=50, seed=3) == (1.0, 1.0)
