"""The rank-based tests of greta_core.stats.ranks give scipy.stats' numbers (its default,
two-sided versions), on data with and without ties, small and large samples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from greta_core.stats import ranks


def _samples(seed: int, n: int, ties: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=n)
    return np.round(v, 0) if ties else v


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_rankdata_is_scipys_average_ranks(seed: int, ties: bool) -> None:
    v = _samples(seed, 50, ties)
    got, counts = ranks.rankdata(v)
    np.testing.assert_array_equal(got, stats.rankdata(v))
    assert counts.sum() == len(v) and (counts > 1).any() == ties


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_spearman_matches_scipy(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(100 + seed)
    x = _samples(seed, 80, ties)
    y = 0.3 * x + rng.normal(size=80)
    ref = stats.spearmanr(x, y)
    assert ranks.spearman(x, y) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-10, abs=1e-300)


def test_spearman_of_a_constant_or_perfect_relation() -> None:
    x = np.arange(10.0)
    assert np.isnan(ranks.spearman(x, np.ones(10))).all()
    rho, p = ranks.spearman(x, 2 * x)
    assert (rho, p) == pytest.approx((1.0, stats.spearmanr(x, 2 * x).pvalue))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_kruskal_matches_scipy(seed: int, ties: bool) -> None:
    groups = [_samples(seed * 10 + k, n, ties) + 0.2 * k for k, n in enumerate((30, 12, 45, 7))]
    ref = stats.kruskal(*groups)
    assert ranks.kruskal(*groups) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-10)


@pytest.mark.parametrize("shape", [(2, 2), (3, 2), (4, 3)])
def test_chi2_contingency_matches_scipy(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    table = rng.integers(3, 40, size=shape)
    ref = stats.chi2_contingency(table)
    assert ranks.chi2_contingency(table) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-10)


@pytest.mark.parametrize("sizes", [(40, 60), (9, 30), (5, 30), (3, 4)])
@pytest.mark.parametrize("ties", [False, True])
def test_mannwhitneyu_matches_scipy(sizes: tuple[int, int], ties: bool) -> None:
    """Small samples without ties take scipy's exact distribution (handed to scipy)."""
    a = _samples(sizes[0], sizes[0], ties) + 0.4
    b = _samples(sizes[1] + 1, sizes[1], ties)
    ref = stats.mannwhitneyu(a, b)
    assert ranks.mannwhitneyu(a, b) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-10)
