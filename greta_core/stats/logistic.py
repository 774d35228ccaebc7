"""Logistic regression by Newton's method, as statsmodels' ``Logit(y, x).fit()`` computes it,
without importing statsmodels (which takes over a second, more than a small analysis).

Same algorithm and stopping rule as statsmodels' default (``method="newton"``: start at zero,
the Hessian of the mean negative log-likelihood with a 1e-10 ridge, stop when no coefficient
moves more than ``tol``), the same covariance (the inverse Hessian at the estimate) and Wald
intervals and p-values; ``tests/core/stats/test_logistic.py`` compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

_Z975 = 1.959963984540054  # the normal distribution's 97.5% point


@dataclass(frozen=True)
class LogitFit:
    params: np.ndarray
    bse: np.ndarray
    converged: bool
    fitted: np.ndarray  # predicted probabilities
    iterations: int = 0
    cov: np.ndarray | None = None  # the inverse Hessian at the estimate (k × k): statsmodels' cov_params()

    @property
    def pvalues(self) -> np.ndarray:
        return 2.0 * special.ndtr(-np.abs(self.params / self.bse))

    def conf_int(self) -> np.ndarray:
        """95% Wald intervals (k × 2)."""
        return np.column_stack([self.params - _Z975 * self.bse, self.params + _Z975 * self.bse])


def logit(y: np.ndarray, x: np.ndarray, maxiter: int = 200, tol: float = 1e-8) -> LogitFit:
    """Fit P(y = 1) = 1 / (1 + exp(-x b)); ``x`` holds the constant column if one is wanted.
    Raises ``numpy.linalg.LinAlgError`` when the Hessian cannot be inverted."""
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    n, k = x.shape
    new, old = np.zeros(k), np.full(k, np.inf)
    iterations = 0
    while iterations < maxiter and np.any(np.abs(new - old) > tol):
        p = special.expit(x @ new)
        hess = (x.T * (p * (1.0 - p))) @ x / n
        hess[np.diag_indices(k)] += 1e-10
        old, new = new, new - np.linalg.solve(hess, -(x.T @ (y - p)) / n)
        iterations += 1
    p = special.expit(x @ new)
    hess = (x.T * (p * (1.0 - p))) @ x
    if not np.isfinite(hess).all():
        raise np.linalg.LinAlgError("The logistic fit's Hessian is not finite.")
    cov = np.linalg.inv(hess)
    return LogitFit(new, np.sqrt(np.diag(cov)), iterations < maxiter, p, iterations, cov)
