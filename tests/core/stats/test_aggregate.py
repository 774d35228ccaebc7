"""Quantile aggregation of p-values over many splits (Meinshausen, Meier & Bühlmann 2009)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from greta_core.stats.aggregate import aggregate_columns, quantile_aggregate, split_pvalues

FACTOR = 1.0 - math.log(0.05)  # 3.9957...


def test_hand_computed_adaptive_value():
    # sorted 0.001, 0.002, 0.01, 0.5; k = 1..4: 0.004, 0.004, 0.0133, 0.5 -> 0.004 · (1 + ln 20)
    p = np.array([0.01, 0.5, 0.001, 0.002])
    assert quantile_aggregate(p)[0] == pytest.approx(0.004 * FACTOR, rel=1e-12)


def test_fixed_gamma_is_the_empirical_quantile_over_gamma():
    p = np.array([[0.01], [0.03], [0.02], [0.9]])
    assert quantile_aggregate(p, gamma=0.5)[0] == pytest.approx(0.02 / 0.5)  # 2nd smallest of 4
    assert quantile_aggregate(p, gamma=0.75)[0] == pytest.approx(0.03 / 0.75)  # 3rd smallest
    assert quantile_aggregate(p, gamma=1.0)[0] == pytest.approx(0.9)
    assert quantile_aggregate(np.array([0.3, 0.4]), gamma=0.5)[0] == pytest.approx(0.6)


def test_gamma_min_decides_the_smallest_quantile_searched():
    # one strong split among 20: with γ_min = 0.05 the 1st smallest counts (k = 1: 20·p),
    # with γ_min = 0.5 only the 10th and above do
    p = np.r_[1e-6, np.full(19, 0.8)]
    assert quantile_aggregate(p)[0] == pytest.approx(20e-6 * FACTOR)
    assert quantile_aggregate(p, gamma_min=0.5)[0] == 1.0
    # 0.05 · 20 is not exactly 1 in floating point: still the 1st smallest, never the 2nd
    assert quantile_aggregate(np.r_[1e-6, 0.5, np.full(18, 0.9)])[0] == pytest.approx(20e-6 * FACTOR)


def test_equal_pvalues_cost_only_the_search_factor_and_cap_at_one():
    p = np.full((50, 3), [0.001, 0.01, 0.5])
    assert np.allclose(quantile_aggregate(p), [0.001 * FACTOR, 0.01 * FACTOR, 1.0])


def test_monotone_in_every_split():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, size=(30, 200))
    base = quantile_aggregate(p)
    raised = p.copy()
    raised[rng.integers(0, 30, 200), np.arange(200)] += 0.3
    assert np.all(quantile_aggregate(np.minimum(raised, 1)) >= base - 1e-15)


def test_columns_are_aggregated_independently():
    rng = np.random.default_rng(4)
    p = rng.uniform(size=(25, 6))
    whole = quantile_aggregate(p)
    assert np.allclose(whole, [quantile_aggregate(p[:, j])[0] for j in range(6)])


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_keeps_the_error_rate_under_the_null(rho):
    # null p-values of B = 50 splits that share a component (splits of the same rows are
    # dependent): the aggregate is at most alpha in at most alpha of the data sets
    rng = np.random.default_rng(11)
    reps, b, alpha = 4000, 50, 0.05
    common = rng.normal(size=(reps, 1))
    z = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=(reps, b))
    p = stats.norm.sf(z).T  # (B, reps)
    rate = float(np.mean(quantile_aggregate(p) <= alpha))
    assert rate <= alpha
    # a single split at alpha is exact; the aggregate is valid, at some cost under the null
    assert float(np.mean(p[0] <= alpha)) == pytest.approx(alpha, abs=0.012)


def test_a_real_effect_survives_an_unlucky_minority_of_splits():
    # 45 of 50 splits find the column (p ~ 1e-6), 5 leave it out (p = 1): it still matters
    p = np.r_[np.full(45, 1e-6), np.ones(5)]
    assert quantile_aggregate(p)[0] < 1e-4


def test_split_pvalues_bonferroni_within_each_model():
    raw = np.array([[0.01, 0.02, 0.5], [0.001, 0.9, 0.9]])
    sel = np.array([[True, True, False], [True, False, False]])
    assert np.allclose(split_pvalues(raw, sel), [[0.02, 0.04, 1.0], [0.001, 1.0, 1.0]])
    assert np.allclose(split_pvalues(np.array([[0.6, 0.7]]), np.array([[True, True]])), [[1.0, 1.0]])


def test_aggregate_columns_counts_stability():
    raw = np.array([[0.001, 0.2], [0.002, 0.3], [0.5, 0.9]])
    sel = np.array([[True, True], [True, False], [True, False]])
    passed = np.array([[True, False], [True, True], [False, False]])  # a pass outside the model is not counted
    agg = aggregate_columns(raw, sel, passed)
    assert agg.splits == 3
    assert agg.selected.tolist() == [3, 1]
    assert agg.passed.tolist() == [2, 0]
    # column 0 per split: 0.001 · 2 (a model of two columns), 0.002, 0.5; sorted, k = 1..3:
    # 0.002 · 3, 0.002 · 3/2, 0.5 -> 0.003 · (1 + ln 20)
    assert agg.p_value[0] == pytest.approx(0.003 * FACTOR)
    assert agg.p_value[1] == 1.0


@pytest.mark.parametrize("bad", [np.array([0.1, np.nan]), np.array([1.2]), np.array([-0.1]), np.zeros((0, 2))])
def test_refuses_what_is_not_a_pvalue(bad):
    with pytest.raises(ValueError):
        quantile_aggregate(bad)
