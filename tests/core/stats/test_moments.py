"""Tests of greta_core.stats.moments: the pairwise (Chan) merge equals one pass, in any order."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from greta_core.stats.moments import CrossMoments, Moments


def _data(rng: np.random.Generator, n: int = 1000, q: int = 5, offset: float = 0.0) -> np.ndarray:
    x = rng.normal(size=(n, q)) @ rng.normal(size=(q, q))
    x[:, 0] += offset
    return x


def _splits(rng: np.random.Generator, n: int, parts: int) -> list[np.ndarray]:
    """Random row order cut at random places into ``parts`` pieces (some may be empty)."""
    order = rng.permutation(n)
    cuts = np.sort(rng.integers(0, n + 1, size=parts - 1))
    return np.split(order, cuts)


def _merge_all(pieces: list[Moments]) -> Moments:
    return functools.reduce(lambda a, b: a.merge(b), pieces)


def _tree_merge(pieces: list[Moments]) -> Moments:
    while len(pieces) > 1:
        pieces = [pieces[i].merge(pieces[i + 1]) if i + 1 < len(pieces) else pieces[i]
                  for i in range(0, len(pieces), 2)]
    return pieces[0]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("parts", [2, 7, 40])
def test_merge_equals_one_pass(seed: int, parts: int) -> None:
    rng = np.random.default_rng(seed)
    x = _data(rng)
    whole = Moments.of(x)
    pieces = [Moments.of(x[i]) for i in _splits(rng, len(x), parts)]
    for merged in (_merge_all(pieces), _merge_all(pieces[::-1]), _tree_merge(pieces)):
        assert merged.n == len(x)
        np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-10, atol=1e-8)


def test_one_pass_matches_numpy_covariance() -> None:
    x = _data(np.random.default_rng(1))
    m = Moments.of(x)
    np.testing.assert_allclose(m.covariance(), np.cov(x, rowvar=False), rtol=1e-12)
    np.testing.assert_allclose(m.mean, x.mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_merge_is_stable_with_a_huge_offset(seed: int) -> None:
    """A column offset by 1e9: the merged co-moments keep its tiny variance exactly."""
    rng = np.random.default_rng(seed)
    x = _data(rng, offset=1e9)
    centred = x - np.array([1e9, 0, 0, 0, 0])
    expected = Moments.of(centred).m2  # the same co-moments, computed without the offset
    pieces = [Moments.of(x[i]) for i in _splits(rng, len(x), 25)]
    merged = _merge_all(pieces)
    np.testing.assert_allclose(merged.m2, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(merged.mean[0], 1e9 + centred[:, 0].mean(), rtol=1e-15)
    # the naive sum of squares loses every digit of this variance (catastrophic cancellation)
    naive = (x[:, 0] ** 2).sum() - len(x) * x[:, 0].mean() ** 2
    assert abs(naive - expected[0, 0]) > 1e-3 * expected[0, 0]


def test_merge_with_empty_and_single_rows() -> None:
    rng = np.random.default_rng(2)
    x = _data(rng, n=50)
    pieces = [Moments.empty(x.shape[1])] + [Moments.of(x[i : i + 1]) for i in range(len(x))]
    pieces.insert(10, Moments.of(x[:0]))
    merged = _merge_all(pieces)
    np.testing.assert_allclose(merged.m2, Moments.of(x).m2, rtol=1e-10, atol=1e-10)
    assert Moments.empty(3).merge(Moments.empty(3)).n == 0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("offset", [0.0, 1e9])
def test_cross_moments_merge_equals_one_pass(seed: int, offset: float) -> None:
    rng = np.random.default_rng(seed)
    e0 = _data(rng, q=6)
    y0 = np.column_stack([e0[:, 1] - 0.5 * e0[:, 2] + rng.normal(size=len(e0)),
                          rng.normal(size=len(e0))])
    shift_e, shift_y = np.array([offset, 0, 0, 0, 0, 0]), np.array([0.0, offset])
    e, y = e0 + shift_e, y0 + shift_y
    exact = CrossMoments.of(e0, y0)  # the same sums without the offset: the reference
    full = Moments.of(np.column_stack([e0, y0]))
    np.testing.assert_allclose(exact.c_ee, np.diag(full.m2)[:6], rtol=1e-10)
    np.testing.assert_allclose(exact.c_ey, full.m2[:6, 6:], rtol=1e-10, atol=1e-9)
    # with a 1e9 offset, each centred value carries ~1e-7 of rounding: allow for it, no more
    rtol, atol = (1e-10, 1e-9) if offset == 0 else (1e-6, 1e-4)
    pieces = [CrossMoments.of(e[i], y[i]) for i in _splits(rng, len(e), 17)]
    for order in (pieces, pieces[::-1], [pieces[i] for i in rng.permutation(len(pieces))]):
        merged = functools.reduce(lambda a, b: a.merge(b), order)
        assert merged.n == len(e)
        np.testing.assert_allclose(merged.mean_e, exact.mean_e + shift_e, rtol=1e-14, atol=1e-12)
        np.testing.assert_allclose(merged.mean_y, exact.mean_y + shift_y, rtol=1e-14, atol=1e-12)
        np.testing.assert_allclose(merged.c_ee, exact.c_ee, rtol=rtol, atol=atol)
        np.testing.assert_allclose(merged.c_ey, exact.c_ey, rtol=rtol, atol=atol)


def test_cross_moments_empty() -> None:
    c = CrossMoments.empty(3, 2)
    assert c.n == 0 and c.c_ey.shape == (3, 2)
    other = CrossMoments.of(np.ones((4, 3)), np.arange(8.0).reshape(4, 2))
    assert c.merge(other) is other and other.merge(c) is other
