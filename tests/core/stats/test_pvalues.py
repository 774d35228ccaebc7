"""Tests of greta_core.stats.pvalues: far-tail F p-values and Benjamini–Hochberg."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats
from statsmodels.stats.multitest import multipletests

from greta_core.stats.pvalues import benjamini_hochberg, log10_f_sf, log10_wilks_p, wilks_f

D1 = [1, 2, 3, 5, 8, 20, 60, 200]
D2 = [20, 100, 1e3, 1e4, 1e5, 1e6, 1e7]


def _scipy_log10(f: np.ndarray, d1: float, d2: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log10(special.fdtrc(d1, d2, f))


@pytest.mark.parametrize("d1", D1)
def test_matches_scipy_where_scipy_is_finite(d1: float) -> None:
    """scipy's fdtrc loses accuracy below ~1e-250, so compare down to 1e-240."""
    f = np.logspace(-3, 9, 3000)
    for d2 in D2:
        ref = _scipy_log10(f, d1, d2)
        ok = np.isfinite(ref) & (ref > -240)
        np.testing.assert_allclose(log10_f_sf(f[ok], d1, d2), ref[ok], rtol=1e-7, atol=1e-12)


# log10 P(F(d1, d2) > f) to 17 digits, from mpmath at 40 digits (scipy's fdtrc is -inf or off
# here). Generated with:
#     import mpmath as mp; mp.mp.dps = 40
#     a, b = mp.mpf(d2) / 2, mp.mpf(d1) / 2; x = mp.mpf(d2) / (mp.mpf(d2) + mp.mpf(d1) * mp.mpf(f))
#     mp.nstr(mp.log10(mp.betainc(a, b, 0, x, regularized=True)), 17)
MPMATH = [
    (1, 100, 4.0, -1.3168432421007158),
    (3, 50, 200.0, -27.107416593018345),
    (20, 1000, 150.0, -283.38202940639472),
    (20, 1000, 227.4, -354.07354384821147),
    (60, 100, 3400000.0, -293.95950102567316),
    (20, 100000.0, 71.55, -288.45329129238475),
    (60, 1000, 56.1, -275.61624767176549),
    (60, 3000, 30.0, -257.23363387263298),
    (8, 10000000.0, 505.6, -869.00000928068215),
    (2, 10000000.0, 1968.8, -854.87068007487837),
    (200, 10000000.0, 29.4, -1089.0641280492591),
    (5, 10000000.0, 100000000.0, -8537840.9685709672),
    (1000, 10000000.0, 1000.0, -205271.67087845841),
    (1, 20, 100000000.0, -67.74370223462325),
]


@pytest.mark.parametrize(("d1", "d2", "f", "expected"), MPMATH)
def test_far_tail_matches_mpmath(d1: float, d2: float, f: float, expected: float) -> None:
    ours = float(log10_f_sf(np.array([f]), d1, d2)[0])
    assert ours == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("d1", D1)
def test_continuous_across_the_switch_to_the_continued_fraction(d1: float) -> None:
    for d2 in D2:
        f = np.logspace(-3, 9, 20000)
        lp = log10_f_sf(f, d1, d2)
        ref = _scipy_log10(f, d1, d2)
        # where scipy still is accurate but the continued fraction already is used
        band = np.isfinite(ref) & (ref < -200) & (ref > -240)
        if band.any():
            np.testing.assert_allclose(lp[band], ref[band], rtol=1e-8)
        # no jump: steps of the fine grid stay as small as their neighbours' steps
        step = -np.diff(lp)
        assert np.all(step >= -1e-9)
        assert np.all(step[1:] <= 1.5 * step[:-1] + 1e-6) or np.all(np.abs(np.diff(step)) < 0.5)


@pytest.mark.parametrize("d1", [1, 2, 5, 20, 200, 1000])
def test_finite_and_monotone_up_to_huge_f_and_d2(d1: float) -> None:
    f = np.concatenate([np.linspace(0, 10, 200), np.logspace(1, 8, 2000)])
    for d2 in [5, 50, 1e3, 1e5, 1e6, 1e7]:
        lp = log10_f_sf(f, d1, d2)
        assert np.all(np.isfinite(lp)), (d1, d2)
        assert lp[0] == 0.0
        assert np.all(lp <= 0.0)
        assert np.all(np.diff(lp) <= 1e-12), (d1, d2)
    assert log10_f_sf(np.array([1e8]), d1, 1e7)[0] < -1e6


def test_scalar_inputs() -> None:
    near = log10_f_sf(3.0, 2, 100)
    far = log10_f_sf(1e4, 5, 1e6)
    assert float(near) == pytest.approx(np.log10(stats.f.sf(3.0, 2, 100)), rel=1e-10)
    assert np.isfinite(float(far)) and float(far) < -300


def test_a_far_tail_value_does_not_depend_on_the_values_computed_with_it() -> None:
    """The continued fraction stops for each value at its own convergence: a hypothesis'
    p-value is the same alone and in any population (the search archives it once)."""
    f = np.array([1996.2994933449247, 565.9447777662039, 302.5511779653392])
    d1, d2 = np.array([4.0, 3.0, 4.0]), np.full(3, 1e6)
    alone = [float(log10_f_sf(f[i: i + 1], d1[i], d2[i])[0]) for i in range(3)]
    slow = (np.array([1e3]), np.array([1.0]), np.array([1e6]))  # converges later
    together = log10_f_sf(*(np.concatenate([a, b]) for a, b in zip((f, d1, d2), slow)))
    assert together[:3].tolist() == alone
    assert max(alone) < -250  # the continued fraction's range


def test_wilks_f_is_exact_for_one_target() -> None:
    """For one target column Wilks' lambda is 1 − R² and Rao's F is the usual F of R²."""
    r2, k, dfe = 0.2, 3, 96
    f, df1, df2 = wilks_f(np.array([1 - r2]), 1, np.array([k]), np.array([dfe]))
    assert (df1, df2[0]) == (k, dfe)
    assert f[0] == pytest.approx(r2 / k / ((1 - r2) / dfe))
    lp = log10_wilks_p(np.array([1 - r2]), 1, np.array([k]), np.array([dfe]))
    assert lp[0] == pytest.approx(np.log10(stats.f.sf(f[0], k, dfe)))


@pytest.mark.parametrize("seed", range(5))
def test_benjamini_hochberg_matches_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 1e-3, size=10), [1.0, 0.0, 1e-300]])
    p[rng.integers(0, len(p), size=5)] = p[3]  # ties
    rng.shuffle(p)
    ours = benjamini_hochberg(p)
    _, ref, _, _ = multipletests(p, method="fdr_bh")
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_benjamini_hochberg_keeps_nan() -> None:
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan])
    q = benjamini_hochberg(p)
    assert np.isnan(q[[1, 4]]).all()
    _, ref, _, _ = multipletests(p[[0, 2, 3]], method="fdr_bh")
    np.testing.assert_allclose(q[[0, 2, 3]], ref)
    assert np.isnan(benjamini_hochberg(np.array([np.nan]))).all()
    assert benjamini_hochberg(np.array([])).shape == (0,)


def test_holm_and_benjamini_hochberg_equal_statsmodels():
    import numpy as np
    from statsmodels.stats.multitest import multipletests

    from greta_core.stats.pvalues import benjamini_hochberg, holm

    rng = np.random.default_rng(0)
    for _ in range(100):
        p = rng.random(int(rng.integers(1, 30))) ** 3
        assert np.allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12, atol=0)
        assert np.allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12, atol=0)
    got = holm(np.array([np.nan, 0.01, 0.04]))
    assert np.isnan(got[0]) and got[1:].tolist() == [0.02, 0.04]
