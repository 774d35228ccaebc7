"""greta_core.stats.logistic gives statsmodels' Logit numbers: estimates, standard errors,
95% intervals, p-values and convergence, on ordinary and on separated data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from statsmodels.discrete.discrete_model import Logit

from greta_core.stats.logistic import logit


def _data(seed: int, n: int = 400, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, k - 1)) * [1.0, 5.0, 0.2][: k - 1]])
    eta = x @ np.r_[-0.3, 0.8, -0.1, 2.0][:k]
    return (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float), x


@pytest.mark.parametrize("seed", range(5))
def test_logit_matches_statsmodels(seed: int) -> None:
    y, x = _data(seed)
    ref = Logit(y, x).fit(disp=0, maxiter=200)
    got = logit(y, x, maxiter=200)
    np.testing.assert_allclose(got.params, ref.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got.bse, ref.bse, rtol=1e-8)
    np.testing.assert_allclose(got.conf_int(), ref.conf_int(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got.pvalues, ref.pvalues, rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(got.fitted, ref.predict(), rtol=1e-8)
    assert got.converged == ref.mle_retvals["converged"] is True


def test_separated_data_do_not_converge_as_in_statsmodels() -> None:
    x = np.column_stack([np.ones(60), np.r_[np.linspace(-3, -0.1, 30), np.linspace(0.1, 3, 30)]])
    y = (x[:, 1] > 0).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Logit(y, x).fit(disp=0, maxiter=30)
        got = logit(y, x, maxiter=30)
    assert got.converged == ref.mle_retvals["converged"]
    assert np.mean((got.fitted < 1e-8) | (got.fitted > 1 - 1e-8)) > 0.5


def test_a_singular_design_raises() -> None:
    y, x = _data(0)
    with pytest.raises(np.linalg.LinAlgError):
        logit(y, np.column_stack([x, x[:, 1]]), maxiter=5)
