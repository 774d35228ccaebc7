"""Tests of greta_core.stats.linear against statsmodels OLS/MANOVA and a hand-made Hotelling T².

The reference numbers come from statsmodels and scipy at test time, on data generated here.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.multivariate.manova import MANOVA

from greta_core.stats.linear import Gram, evaluate
from greta_core.stats.moments import Moments


def _gram(x: np.ndarray, y: np.ndarray) -> Gram:
    y = y.reshape(len(y), -1)
    return Gram.from_moments(Moments.of(np.column_stack([x, y])), y.shape[1])


def _design(seed: int = 0, n: int = 400) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Numeric x1, x2; categorical 'cat' (4 levels → 3 dummies); x3 with missing values
    (0 where missing + indicator); noise x4. The target depends weakly on all but x4."""
    rng = np.random.default_rng(seed)
    x1, x2, x4 = rng.normal(size=(3, n))
    cat = rng.integers(0, 4, size=n)
    dummies = np.column_stack([(cat == c).astype(float) for c in (1, 2, 3)])
    x3 = rng.normal(size=n)
    miss = rng.random(n) < 0.2
    x3v = np.where(miss, 0.0, x3)
    y = 0.25 * x1 - 0.15 * x2 + 0.3 * (cat == 2) + 0.2 * x3v - 0.3 * miss + rng.normal(size=n)
    x = np.column_stack([x1, x2, dummies, x3v, miss.astype(float), x4])
    terms = {"x1": np.array([0]), "x2": np.array([1]), "cat": np.array([2, 3, 4]),
             "x3": np.array([5, 6]), "x4": np.array([7])}
    return x, y, terms


HYPOTHESES = [
    ["x1"],
    ["cat"],
    ["x3"],
    ["x1", "cat"],
    ["x1", "x2", "x3"],
    ["cat", "x3", "x4"],
    ["x1", "x2", "cat", "x3", "x4"],
]


def _ols(x: np.ndarray, y: np.ndarray, cols: np.ndarray):
    return sm.OLS(y, sm.add_constant(x[:, cols], has_constant="add")).fit()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overall_and_partial_tests_match_statsmodels_ols(seed: int) -> None:
    x, y, terms = _design(seed)
    hyps = [[terms[t] for t in h] for h in HYPOTHESES]
    ev = evaluate(_gram(x, y), hyps)
    for i, h in enumerate(hyps):
        cols = np.concatenate(h)
        full = _ols(x, y, cols)
        assert ev.k[i] == len(cols)
        assert ev.dfe[i] == pytest.approx(full.df_resid)
        assert ev.r2[i] == pytest.approx(full.rsquared, rel=1e-7)
        assert ev.log10_p[i] == pytest.approx(np.log10(full.f_pvalue), rel=1e-6, abs=1e-9)
        for j, term in enumerate(h):
            rest = np.concatenate([c for jj, c in enumerate(h) if jj != j]) if len(h) > 1 else None
            if rest is None:
                p = full.f_pvalue
                ssr_r = full.centered_tss
            else:
                restricted = _ols(x, y, rest)
                _, p, df_diff = full.compare_f_test(restricted)
                assert df_diff == len(term)
                ssr_r = restricted.ssr
            assert ev.log10_p_terms[i, j] == pytest.approx(np.log10(p), rel=1e-6, abs=1e-9)
            assert ev.partial_r2_terms[i, j] == pytest.approx(1 - full.ssr / ssr_r, rel=1e-6)
        assert np.all(np.isnan(ev.log10_p_terms[i, len(h):]))


def test_tiny_p_values_stay_finite() -> None:
    """A strong effect on many rows: statsmodels' p underflows to 0, ours stays ordered."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20000, 2))
    y_strong = 3 * x[:, 0] + rng.normal(size=len(x))
    y_weaker = 2 * x[:, 0] + rng.normal(size=len(x))
    ev_s = evaluate(_gram(x, y_strong), [[np.array([0])]])
    ev_w = evaluate(_gram(x, y_weaker), [[np.array([0])]])
    assert np.isfinite(ev_s.log10_p[0]) and np.isfinite(ev_w.log10_p[0])
    assert ev_s.log10_p[0] < ev_w.log10_p[0] < -300


def _hotelling_log10_p(x: np.ndarray, g: np.ndarray) -> float:
    """Two-sample Hotelling T² of the rows of x between g == 0 and g == 1, by hand."""
    a, b = x[g == 0], x[g == 1]
    n1, n2, k = len(a), len(b), x.shape[1]
    d = a.mean(axis=0) - b.mean(axis=0)
    pooled = ((n1 - 1) * np.cov(a, rowvar=False) + (n2 - 1) * np.cov(b, rowvar=False)) / (n1 + n2 - 2)
    t2 = n1 * n2 / (n1 + n2) * d @ np.linalg.solve(np.atleast_2d(pooled), d)
    f = (n1 + n2 - k - 1) / (k * (n1 + n2 - 2)) * t2
    return float(np.log10(stats.f.sf(f, k, n1 + n2 - k - 1)))


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_target_is_hotellings_t2(seed: int) -> None:
    x, _, terms = _design(seed, n=500)
    rng = np.random.default_rng(seed + 10)
    g = (0.4 * x[:, 0] - 0.3 * x[:, 5] + rng.normal(size=len(x)) > 0.2).astype(float)
    hyps = [[terms[t] for t in h] for h in HYPOTHESES]
    ev = evaluate(_gram(x, g), hyps)
    for i, h in enumerate(hyps):
        cols = np.concatenate(h)
        assert ev.log10_p[i] == pytest.approx(_hotelling_log10_p(x[:, cols], g), rel=1e-6, abs=1e-9)


def _manova_p(y: np.ndarray, x: np.ndarray, test_cols: np.ndarray) -> float:
    exog = sm.add_constant(x, has_constant="add")
    contrast = np.zeros((len(test_cols), exog.shape[1]))
    contrast[np.arange(len(test_cols)), test_cols + 1] = 1.0
    res = MANOVA(y, exog).mv_test([("h", contrast)])
    return float(res.results["h"]["stat"].loc["Wilks' lambda", "Pr > F"])


@pytest.mark.parametrize("n_classes", [3, 4])
def test_multiclass_target_matches_manova_wilks(n_classes: int) -> None:
    x, _, terms = _design(5, n=600)
    rng = np.random.default_rng(n_classes)
    score = 0.3 * x[:, 0] + 0.4 * x[:, 3] + rng.normal(size=len(x))
    cls = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))
    y = np.column_stack([(cls == c).astype(float) for c in range(1, n_classes)])  # K-1 indicators
    hyps = [[terms[t] for t in h] for h in HYPOTHESES]
    ev = evaluate(_gram(x, y), hyps)
    for i, h in enumerate(hyps):
        cols = np.concatenate(h)
        xs = x[:, cols]
        p = _manova_p(y, xs, np.arange(len(cols)))
        assert ev.log10_p[i] == pytest.approx(np.log10(p), rel=1e-6, abs=1e-9)
        start = 0
        for j, term in enumerate(h):
            pj = _manova_p(y, xs, np.arange(start, start + len(term)))
            assert ev.log10_p_terms[i, j] == pytest.approx(np.log10(pj), rel=1e-6, abs=1e-9)
            start += len(term)


def test_padding_and_buckets_give_the_same_numbers_as_one_by_one() -> None:
    rng = np.random.default_rng(7)
    n, q = 500, 24
    x = rng.normal(size=(n, q)) @ rng.normal(size=(q, q)) * 0.3 + rng.normal(size=(n, q))
    y = x[:, :6] @ rng.normal(size=6) * 0.2 + rng.normal(size=n)
    hyps = []
    for size in [1, 2, 3, 5, 1, 9, 4, 17, 2, 6, 12, 1]:  # columns spread over several buckets
        cols = rng.choice(q, size=size, replace=False)
        cuts = np.sort(rng.choice(np.arange(1, size), size=min(size - 1, 3), replace=False)) if size > 1 else []
        hyps.append(np.split(cols, cuts))
    gram = _gram(x, y)
    together = evaluate(gram, hyps)
    for i, h in enumerate(hyps):
        alone = evaluate(gram, [h])
        for field in ("r2", "log10_p", "k", "dfe"):
            np.testing.assert_allclose(getattr(together, field)[i], getattr(alone, field)[0], rtol=1e-9)
        width = len(h)
        np.testing.assert_allclose(together.log10_p_terms[i, :width], alone.log10_p_terms[0, :width],
                                   rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(together.partial_r2_terms[i, :width],
                                   alone.partial_r2_terms[0, :width], rtol=1e-8, atol=1e-14)
    # the same hypotheses in reverse order give the same numbers
    rev = evaluate(gram, hyps[::-1])
    np.testing.assert_allclose(rev.log10_p[::-1], together.log10_p, rtol=1e-9)


def test_constant_column_is_ignored() -> None:
    """A design column with no variance in the split does not count (and does not break)."""
    x, y, _ = _design(0)
    x = np.column_stack([x, np.full(len(x), 3.0)])
    const = np.array([x.shape[1] - 1])
    ev = evaluate(_gram(x, y), [[np.array([0]), const], [np.array([0])], [const]])
    assert ev.k.tolist() == [1, 1, 0]
    assert ev.log10_p[0] == pytest.approx(ev.log10_p[1])
    assert ev.log10_p[2] == 0.0 and ev.r2[2] == 0.0


def _wide_design(seed: int, n: int = 600, levels: int = 12) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """x1, x2, a 12-level categorical (11 dummies), x3 and x3 with a missing indicator."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=(3, n))
    g = rng.integers(0, levels, size=n)
    dummies = np.column_stack([(g == c).astype(float) for c in range(1, levels)])
    miss = (rng.random(n) < 0.1).astype(float)
    x = np.column_stack([x1, x2, dummies, x3, miss])
    d = dummies.shape[1]
    return x, {"x1": np.array([0]), "x2": np.array([1]), "g": np.arange(2, 2 + d),
               "x3": np.array([2 + d, 3 + d])}


@pytest.mark.parametrize("n_targets", [1, 2])
def test_a_categorical_solved_as_one_block_gives_the_same_tests(n_targets: int) -> None:
    """Partialling the categorical's dummies out (Blocks) changes nothing in the tests: the
    overall test, each term's partial test (the categorical's: the joint F-test of all its
    dummies, as statsmodels computes it) and the R²."""
    from greta_core.stats.linear import Blocks, TermTable, evaluate_terms

    x, terms = _wide_design(n_targets)
    rng = np.random.default_rng(9)
    y = 0.3 * x[:, 0] + 0.5 * x[:, 5] - 0.4 * x[:, 7] + rng.normal(size=(len(x), n_targets)).T
    y = y.T if n_targets > 1 else y[0]
    gram = _gram(x, y)
    names = list(terms)
    table = TermTable.of([terms[t] for t in names])
    hyps = [["g"], ["x1", "g"], ["g", "x2", "x3"], ["x1", "x2", "x3"], ["x1", "x2", "g", "x3"]]
    idx = np.full((len(hyps), 4), -1)
    for i, h in enumerate(hyps):
        idx[i, : len(h)] = [names.index(t) for t in h]
    blocks = Blocks.of(gram, table)
    assert set(blocks.factors) == {names.index("g")}  # only the categorical is wide enough
    plain, fast = evaluate_terms(gram, table, idx), evaluate_terms(gram, table, idx, blocks)
    for field in ("r2", "log10_p", "k", "dfe", "log10_p_terms", "partial_r2_terms"):
        np.testing.assert_allclose(getattr(fast, field), getattr(plain, field), rtol=1e-9, atol=1e-12)
    if n_targets == 1:
        full = _ols(x, y, np.concatenate([terms[t] for t in hyps[4]]))
        rest = _ols(x, y, np.concatenate([terms[t] for t in ("x1", "x2", "x3")]))
        _, p, df = full.compare_f_test(rest)
        assert df == len(terms["g"])
        assert fast.log10_p_terms[4, 2] == pytest.approx(np.log10(p), rel=1e-6)
