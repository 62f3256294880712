import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from analysis.reliability import cronbach_alpha, reliability_by_scale

# Hand-computed example (4 responses, 3 items):
#   X1 = 1 2 3 4   var = 5/3
#   X2 = 1 3 3 5   var = 8/3
#   X3 = 2 2 4 4   var = 4/3      sum of item variances = 17/3
#   total = 4 7 10 13              var = 45/3 = 15
#   alpha = 3/2 * (1 - (17/3)/15) = 3/2 * 28/45 = 42/45 = 0.933333
# Same value from the covariance form k*c/(v + (k-1)c) with mean covariance
# c = (2 + 4/3 + 4/3)/3 = 14/9 and mean variance v = 17/9: (42/9)/(45/9).
# Feldt interval (n=4, k=3: df 3 and 6), F table values F_.975(3,6) = 6.5988,
# F_.025(3,6) = 1/F_.975(6,3) = 1/14.735 = 0.067866:
#   low  = 1 - (1/15) * 6.5988   = 0.56008
#   high = 1 - (1/15) * 0.067866 = 0.99548
DATA = pd.DataFrame({"X1": [1, 2, 3, 4], "X2": [1, 3, 3, 5], "X3": [2, 2, 4, 4]}, dtype=float)


def test_alpha_by_hand():
    alpha, (low, high) = cronbach_alpha(DATA)
    assert alpha == pytest.approx(42 / 45)
    assert low == pytest.approx(0.56008, abs=2e-4)
    assert high == pytest.approx(0.99548, abs=2e-4)


def test_listwise_deletion():
    with_missing = pd.concat([DATA, pd.DataFrame({"X1": [5.0], "X2": [np.nan], "X3": [1.0]})], ignore_index=True)
    assert cronbach_alpha(with_missing)[0] == pytest.approx(42 / 45)


def test_parallel_items_give_one():
    # Textbook property: identical (perfectly parallel) items have alpha = 1.
    x = [1.0, 2.0, 4.0, 3.0, 5.0]
    assert cronbach_alpha(pd.DataFrame({"a": x, "b": x, "c": x}))[0] == pytest.approx(1.0)


def test_chunked_equals_one_shot():
    rng = np.random.default_rng(7)
    latent = rng.normal(size=500)
    frame = pd.DataFrame({f"q{i}": np.clip(np.round(2 + latent + rng.normal(size=500)), 0, 4) / 4 for i in range(5)})
    frame.iloc[rng.integers(0, 500, 40), 2] = np.nan
    whole = cronbach_alpha(frame)
    chunks = (frame.iloc[i : i + 37] for i in range(0, len(frame), 37))
    chunked = cronbach_alpha(chunks)
    assert chunked[0] == pytest.approx(whole[0], rel=1e-12)
    assert chunked[1] == pytest.approx(whole[1], rel=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="two items"):
        cronbach_alpha(DATA[["X1"]])
    with pytest.raises(ValueError, match="two complete"):
        cronbach_alpha(DATA.iloc[:1])
    with pytest.raises(ValueError, match="missing item column"):
        cronbach_alpha(iter([DATA, DATA.drop(columns="X3")]))


def test_reliability_by_scale_per_group():
    a = DATA.assign(group="L")
    b = DATA.rename(columns={"X1": "Y1", "X2": "Y2", "X3": "Y3"}).assign(group="H")
    wide = pd.concat([a, b], ignore_index=True)
    out = reliability_by_scale([wide.iloc[:5], wide.iloc[5:]], {"field 1": ["X1", "X2", "X3", "Y1", "Y2", "Y3"]}, group_column="group")
    assert list(out["group"]) == ["H", "L"]
    assert out["alpha"].tolist() == pytest.approx([42 / 45, 42 / 45])
    assert out["n_items"].tolist() == [3, 3]


# --- a published reference value ----------------------------------------------------------------
# StatsBase.jl documents (as a doctest its CI runs) Cronbach's alpha for the covariance matrix
# below: 0.8136 for all items, and 0.7500 / 0.7606 / 0.7714 / 0.7826 with item 1 / 2 / 3 / 4
# dropped. Alpha depends on the data only through the sample covariance matrix, so data built
# to have exactly that covariance must reproduce the published figures.
PUBLISHED_COVARIANCE = np.array([[10, 6, 6, 6], [6, 11, 6, 6], [6, 6, 12, 6], [6, 6, 6, 13]], dtype=float)


def data_with_covariance(covariance: np.ndarray, n: int = 50, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, covariance.shape[0]))
    z -= z.mean(axis=0)
    # Whiten: make the sample covariance (ddof=1) exactly the identity, then colour it.
    whitening = np.linalg.cholesky(np.cov(z, rowvar=False))
    z = z @ np.linalg.inv(whitening).T
    x = z @ np.linalg.cholesky(covariance).T + 3.0
    return pd.DataFrame(x, columns=[f"item{i}" for i in range(1, covariance.shape[0] + 1)])


def test_alpha_matches_the_published_statsbase_example():
    frame = data_with_covariance(PUBLISHED_COVARIANCE)
    np.testing.assert_allclose(np.cov(frame.to_numpy(), rowvar=False), PUBLISHED_COVARIANCE, atol=1e-9)
    alpha, _ = cronbach_alpha(frame)
    assert round(alpha, 4) == 0.8136
    dropped = [round(cronbach_alpha(frame.drop(columns=[c]))[0], 4) for c in frame.columns]
    assert dropped == [0.7500, 0.7606, 0.7714, 0.7826]


# --- order and chunking do not matter (issue 12, item 5) ----------------------------------------


@settings(max_examples=60, deadline=None)
@given(seed=hst.integers(0, 2**32 - 1), cuts=hst.lists(hst.integers(1, 39), max_size=6))
def test_reliability_by_scale_is_the_same_for_any_order_and_chunking(seed, cuts):
    rng = np.random.default_rng(seed)
    n = 40
    base = rng.integers(0, 5, size=(n, 1)) / 4
    values = np.clip(base + rng.integers(-1, 2, size=(n, 4)) / 4, 0, 1)
    values[rng.random((n, 4)) < 0.15] = np.nan  # don't know
    wide = pd.DataFrame(values, columns=["X1", "X2", "X3", "X4"])
    wide["group"] = rng.choice(["H", "L"], size=n)
    wide.loc[wide["group"] == "L", "X4"] = np.nan  # a question group L is never asked
    scales = {"field 1": ["X1", "X2", "X3", "X4"], "SI_1": ["X2", "X3"]}
    one_shot = reliability_by_scale(wide, scales, group_column="group")
    shuffled = wide.iloc[rng.permutation(n)]  # random response ids reorder the stream
    bounds = [0, *sorted(set(cuts)), n]
    chunked = reliability_by_scale([shuffled.iloc[a:b] for a, b in zip(bounds, bounds[1:])], scales,
                                   group_column="group")
    assert chunked[["scale", "group", "n_items", "n"]].equals(one_shot[["scale", "group", "n_items", "n"]])
    for col in ("alpha", "alpha_low", "alpha_high"):
        np.testing.assert_allclose(chunked[col], one_shot[col], rtol=1e-9, equal_nan=True)
