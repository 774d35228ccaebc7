"""The reference for Greta's robust covariance: statsmodels' OLS with the HC4 covariance of
Cribari-Neto (2004), as R's ``sandwich::vcovHC(type = "HC4")`` computes it — from the whole
design matrix, the fit's residuals and statsmodels' own leverages (hat values), not from
Greta's streamed sums. statsmodels has HC0–HC3 built in; HC4 is the same sandwich with each
squared residual divided by (1 − h)^δ, δ = min(4, n·h/p)."""

from __future__ import annotations

from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import stats


class HC4Fit:
    """``sm.OLS(y, x).fit()`` read with the HC4 covariance: ``params``, ``bse``, ``pvalues``
    (t with the residual degrees of freedom), ``t_test`` and ``f_test`` (robust Wald tests)."""

    def __init__(self, y: np.ndarray, x: np.ndarray) -> None:
        self.ols = sm.OLS(y, x).fit()
        h = self.ols.get_influence().hat_matrix_diag
        n, p = len(y), int(round(h.sum()))
        omega = self.ols.resid**2 / (1.0 - h) ** np.minimum(4.0, n * h / p)
        pinv = np.linalg.pinv(x)
        self.cov = pinv @ (omega[:, None] * pinv.T)
        self.params = self.ols.params
        self.bse = np.sqrt(np.diag(self.cov))
        self.df_resid = self.ols.df_resid
        self.pvalues = 2 * stats.t.sf(np.abs(self.params / self.bse), self.df_resid)

    def cov_params(self) -> np.ndarray:
        return self.cov

    def t_test(self, r: Any) -> Any:
        return self.ols.t_test(r, cov_p=self.cov, use_t=True)

    def f_test(self, r: Any) -> Any:
        return self.ols.f_test(r, cov_p=self.cov)


def ols_hc4(y: np.ndarray, x: np.ndarray) -> HC4Fit:
    return HC4Fit(np.asarray(y, float), np.asarray(x, float))


def overall_f(fit: HC4Fit) -> Any:
    """The robust Wald F-test that every coefficient but the intercept (column 0) is zero."""
    return fit.f_test(np.eye(len(fit.params))[1:])
