"""Rank-based tests as scipy.stats computes them, without importing scipy.stats.

``scipy.stats`` takes ~0.6 s to import, more than a whole analysis of a small file; these four
tests need only ranks and the chi-square, normal and t tails of ``scipy.special``. Each
function returns ``(statistic, p_value)`` equal to scipy.stats' default (two-sided) result
(``tests/core/stats/test_ranks.py`` compares them), and hands the cases it does not cover
(Mann–Whitney's exact distribution for a sample of 8 or fewer without ties, missing values)
to scipy.stats itself.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def rankdata(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based) of ``values`` and the size of each group of equal values."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="mergesort")
    s = v[order]
    new = np.r_[True, s[1:] != s[:-1]]
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    counts = np.diff(np.r_[starts, len(s)])
    ranks = np.empty(len(v))
    ranks[order] = (starts + (counts + 1) / 2.0)[group]
    return ranks, counts


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``scipy.stats.spearmanr(x, y)``: rank correlation and its t-test p-value."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if _has_nan(x, y):
        from scipy import stats

        r = stats.spearmanr(x, y)
        return float(r.statistic), float(r.pvalue)
    n = len(x)
    if n <= 1 or np.all(x == x[0]) or np.all(y == y[0]):
        return np.nan, np.nan
    rs = float(np.corrcoef(rankdata(x)[0], rankdata(y)[0])[0, 1])
    dof = n - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = rs * np.sqrt(max(dof / ((rs + 1.0) * (1.0 - rs)), 0.0))
    return rs, float(2.0 * special.stdtr(dof, -abs(t)))


def kruskal(*groups: np.ndarray) -> tuple[float, float]:
    """``scipy.stats.kruskal(*groups)``: the H statistic (tie-corrected) and its chi-square p-value."""
    if _has_nan(*groups):
        from scipy import stats

        r = stats.kruskal(*groups)
        return float(r.statistic), float(r.pvalue)
    n = np.array([len(g) for g in groups], dtype=float)
    ranks, ties = rankdata(np.concatenate(groups))
    total = n.sum()
    bounds = np.r_[0, np.cumsum(n).astype(int)]
    ssbn = sum(ranks[a:b].sum() ** 2 / k for a, b, k in zip(bounds[:-1], bounds[1:], n))
    h = 12.0 / (total * (total + 1)) * ssbn - 3 * (total + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h /= 1 - np.sum(ties.astype(float) ** 3 - ties) / (total**3 - total)
    return float(h), float(special.chdtrc(len(groups) - 1, h))


def chi2_contingency(table: np.ndarray) -> tuple[float, float]:
    """``scipy.stats.chi2_contingency(table)``: Pearson's chi-square with Yates' correction
    when there is one degree of freedom."""
    observed = np.asarray(table, dtype=float)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    if dof == 0:
        return 0.0, 1.0
    if dof == 1:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    stat = float(np.sum((observed - expected) ** 2 / expected))
    return stat, float(special.chdtrc(dof, stat))


def mannwhitneyu(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``scipy.stats.mannwhitneyu(a, b)``: U of ``a`` and the two-sided p-value (normal
    approximation with tie and continuity corrections)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(a), len(b)
    ranks, ties = rankdata(np.concatenate([a, b]))
    if _has_nan(a, b) or ((n1 <= 8 or n2 <= 8) and not np.any(ties > 1)):  # scipy's exact method
        from scipy import stats

        r = stats.mannwhitneyu(a, b)
        return float(r.statistic), float(r.pvalue)
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    n = n1 + n2
    t = ties.astype(float)
    s = np.sqrt(n1 * n2 / 12 * ((n + 1) - np.sum(t**3 - t) / (n * (n - 1))))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (u - n1 * n2 / 2 - 0.5) / s
    return float(u1), float(np.clip(2.0 * special.ndtr(-z), 0.0, 1.0))


def _has_nan(*arrays: np.ndarray) -> bool:
    return any(np.isnan(np.asarray(a, dtype=float)).any() for a in arrays)
