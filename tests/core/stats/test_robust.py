"""Robust (HC4) fits from co-moments and a sample of rows, checked against statsmodels' OLS with
the HC4 covariance computed from the whole design (tests/hc4.py)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hc4 import ols_hc4, overall_f

from greta_core.stats.moments import Moments
from greta_core.stats.robust import robust_fit


def _data(n: int = 900, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=n), rng.normal(50_000, 20_000, n), rng.random(n) < 0.3]).astype(float)
    x[:, 1] = (x[:, 1] - x[:, 1].mean()) ** 2  # a square in dollars next to a 0/1 flag
    y = 1 + 0.5 * x[:, 0] + 0.3 * x[:, 2] + rng.normal(size=n) * np.exp(x[:, 0])
    return x, y


def _reference(x: np.ndarray, y: np.ndarray):
    sd = x.std(axis=0)
    fit = ols_hc4(y, sm.add_constant((x - x.mean(axis=0)) / sd))
    return fit, sd


def test_regression_matches_the_hc4_reference() -> None:
    x, y = _data()
    rows = np.column_stack([x, y])
    f = robust_fit(Moments.of(rows), rows, np.arange(3), 3)
    ref, sd = _reference(x, y)
    np.testing.assert_allclose(f.b[:, 0], ref.params[1:] / sd, rtol=1e-9)
    np.testing.assert_allclose(f.std_errors()[:, 0], ref.bse[1:] / sd, rtol=1e-9)
    p, _, tcrit = f.coefficient_tests()
    np.testing.assert_allclose(p[:, 0], ref.pvalues[1:], rtol=1e-7)
    assert tcrit == pytest.approx(float(ref.t_test(np.eye(4)[1]).conf_int()[0, 1] - ref.params[1]) / ref.bse[1], rel=1e-9)
    overall = f.wald([0, 1, 2])
    assert overall.statistic == pytest.approx(float(np.squeeze(overall_f(ref).fvalue)), rel=1e-9)
    assert overall.p_value == pytest.approx(float(overall_f(ref).pvalue), rel=1e-7)
    pair = f.wald([1, 2])
    assert pair.statistic == pytest.approx(float(ref.f_test(np.eye(4)[[2, 3]]).fvalue), rel=1e-9)
    assert pair.df1 == 2 and pair.df2 == len(y) - 4


def test_each_class_of_a_multivariate_fit_is_its_own_hc4_regression() -> None:
    x, _ = _data(seed=1)
    rng = np.random.default_rng(2)
    cls = rng.integers(0, 3, len(x))
    ys = np.column_stack([cls == 1, cls == 2]).astype(float)
    rows = np.column_stack([x, ys])
    f = robust_fit(Moments.of(rows), rows, np.arange(3), 3)
    for c in range(2):
        ref, sd = _reference(x, ys[:, c])
        np.testing.assert_allclose(f.b[:, c], ref.params[1:] / sd, rtol=1e-9)
        np.testing.assert_allclose(f.std_errors()[:, c], ref.bse[1:] / sd, rtol=1e-9)
    assert f.wald([0]).df1 == 2  # one column, both classes


def test_a_sample_of_the_rows_estimates_the_same_covariance() -> None:
    x, y = _data(n=40_000, seed=3)
    rows = np.column_stack([x, y])
    m = Moments.of(rows)
    full = robust_fit(m, rows, np.arange(3), 3)
    part = robust_fit(m, rows[::8], np.arange(3), 3)
    np.testing.assert_array_equal(part.b, full.b)  # the estimates use every row
    np.testing.assert_allclose(part.std_errors(), full.std_errors(), rtol=0.1)
    assert part.rows == 5000 and full.rows == 40_000


def test_a_column_without_variance_drops_out_of_the_tests() -> None:
    x, y = _data(seed=4)
    x[:, 2] = 1.0
    rows = np.column_stack([x, y])
    f = robust_fit(Moments.of(rows), rows, np.arange(3), 3)
    assert f.wald([2]).df1 == 0 and f.wald([0, 2]).df1 == 1
    assert f.dfe == len(y) - 3
