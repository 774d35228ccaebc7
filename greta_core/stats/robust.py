"""Heteroskedasticity-robust (HC3) estimates and Wald tests of a linear model.

The fit itself comes from the co-moments of a split (any number of rows); the sandwich's
"meat" needs each row's residual, so it is summed over a uniform sample of that split's rows,
kept during the statistics pass, and scaled up to the split's size. When the sample holds every
row of the split (up to ``statistics.sample_size`` rows), the result is exactly statsmodels'
``OLS(y, [1, X]).fit(cov_type="HC3", use_t=True)``: with X centred at the split's means the
bread is block-diagonal, so the slopes' block needs nothing but the co-moments.

A target with t > 1 columns (the class indicators of a multiclass target) is the multivariate
model: one slope vector per class, and the sandwich of all of them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from greta_core.stats.linear import scaled_inverse
from greta_core.stats.moments import Moments
from greta_core.stats.pvalues import log10_f_sf

COV_TYPE = "HC3"


@dataclass(frozen=True)
class WaldTest:
    statistic: float  # F = W / df1
    df1: int
    df2: float
    log10_p: float

    @property
    def p_value(self) -> float:
        return float(10.0**self.log10_p)


@dataclass(frozen=True)
class RobustFit:
    """Slopes of the targets on k design columns, and their HC3 covariance."""

    b: np.ndarray  # (k, t)
    cov: np.ndarray  # (k·t, k·t): class-major (class c's k slopes are c·k .. c·k + k - 1)
    n: float
    dfe: float
    rows: int  # rows the sandwich was summed over
    r2: np.ndarray  # (t,) each target column's R²

    @property
    def k(self) -> int:
        return self.b.shape[0]

    @property
    def t(self) -> int:
        return self.b.shape[1]

    def std_errors(self) -> np.ndarray:
        """(k, t) robust standard errors."""
        return np.sqrt(np.maximum(np.diag(self.cov), 0.0)).reshape(self.t, self.k).T

    def coefficient_tests(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(k, t) two-sided p-values of each slope, (k, t) standard errors, and the t quantile
        of a 95% interval."""
        se = self.std_errors()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, self.b / se, 0.0)
        p = 2.0 * special.stdtr(self.dfe, -np.abs(z))
        return np.where(se > 0, p, np.nan), se, float(special.stdtrit(self.dfe, 0.975))

    def wald(self, columns: Sequence[int]) -> WaldTest:
        """Joint test that the slopes of ``columns`` (positions among the k) are zero for
        every target column: F = W / rank with (rank, n − k − 1) degrees of freedom."""
        idx = np.array([c * self.k + j for c in range(self.t) for j in columns], dtype=int)
        beta = self.b.T.ravel()[idx]
        v = self.cov[np.ix_(idx, idx)]
        d = np.sqrt(np.maximum(np.diag(v), 0.0))
        live = d > 0
        if not live.any():
            return WaldTest(0.0, 0, self.dfe, 0.0)
        beta, v, d = beta[live], v[np.ix_(live, live)], d[live]
        corr = v / np.outer(d, d)
        vals, vecs = np.linalg.eigh(corr)
        keep = vals > 1e-10 * vals.max()
        z = vecs[:, keep].T @ (beta / d)
        w = float(np.sum(z * z / vals[keep]))
        rank = int(keep.sum())
        f = w / rank
        return WaldTest(f, rank, self.dfe, float(log10_f_sf(f, rank, max(self.dfe, 1.0))))


def robust_fit(m: Moments, sample: np.ndarray, cols: np.ndarray, q: int) -> RobustFit:
    """HC3 fit of the target columns (``q`` onwards) on design columns ``cols`` of a split
    with co-moments ``m``, the sandwich summed over ``sample`` (rows of that split)."""
    cols = np.asarray(cols, dtype=int)
    n, k = float(m.n), len(cols)
    sxx, sxy, syy = m.m2[np.ix_(cols, cols)], m.m2[cols, q:], m.m2[q:, q:]
    w = scaled_inverse(sxx)
    b = w @ sxy
    rank = int(round(float(np.trace(sxx @ w)))) if k else 0  # sxx·sxx⁺ projects onto its range
    dfe = max(n - 1.0 - rank, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(np.diag(syy) > 0, np.einsum("it,it->t", sxy, b) / np.diag(syy), 0.0)
    xs = sample[:, cols] - m.mean[cols]
    e = (sample[:, q:] - m.mean[q:]) - xs @ b
    h = 1.0 / max(n, 1.0) + np.einsum("ij,jk,ik->i", xs, w, xs)
    weight = 1.0 / np.maximum(1.0 - h, 1e-12) ** 2
    g = (e[:, :, None] * xs[:, None, :]).reshape(len(xs), -1)  # class-major, as vec(b')
    meat = (g * weight[:, None]).T @ g * (n / max(len(xs), 1))
    t = b.shape[1]
    bread = np.kron(np.eye(t), w)
    cov = bread @ meat @ bread
    return RobustFit(b, (cov + cov.T) / 2.0, n, dfe, len(xs), np.clip(r2, 0.0, 1.0))
