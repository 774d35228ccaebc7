"""The search problem: its archive of scored hypotheses and its guided mutation (residual scores
of candidate terms)."""

from __future__ import annotations

from typing import Any

import numpy as np

from greta_core.hypothesis_search.problem import HypothesisProblem


def _problem(planted: dict[str, Any]) -> HypothesisProblem:
    gram, cols = planted["regression"]
    return HypothesisProblem(gram, cols, max_terms=5, alpha=0.05)


def test_a_hypothesis_is_scored_once_and_served_from_the_archive_after(planted: dict[str, Any],
                                                                       population: np.ndarray) -> None:
    p = _problem(planted)
    masks = population[:50]
    _, want_f, want_g = p.stats.score_masks(masks)
    f, g = p.score(masks)
    np.testing.assert_array_equal(f, want_f)
    np.testing.assert_array_equal(g[:, 0], want_g)
    distinct = len({tuple(np.flatnonzero(r)) for r in masks})
    assert p.evaluations == distinct == len(p.archive)
    again = np.concatenate([masks[::-1], population[50:60], population[50:60]])  # old, then new twice
    f2, g2 = p.score(again)
    assert p.evaluations == distinct + len({tuple(np.flatnonzero(r)) for r in population[50:60]})
    np.testing.assert_array_equal(f2[:50], f[::-1])
    np.testing.assert_array_equal(f2[60:], f2[50:60])
    np.testing.assert_array_equal(f2[50:60], p.stats.score_masks(population[50:60])[1])


def test_residual_scores_of_nothing_are_squared_correlations_with_the_target(planted: dict[str, Any]) -> None:
    p = _problem(planted)
    g, q = p.gram, p.gram.q
    r2 = np.where(g.valid, g.corr[:q, q] ** 2, 0.0)
    want = np.array([max(r2[c]) for c in planted["regression"][1]])
    np.testing.assert_allclose(p.residual_scores(np.array([], dtype=int)), want, rtol=1e-12, atol=1e-15)


def test_a_term_in_the_hypothesis_explains_itself_and_the_next_best_term_stands_out(planted: dict[str, Any]) -> None:
    p = _problem(planted)
    first = int(np.argmax(p.residual_scores(np.array([], dtype=int))))
    after = p.residual_scores(np.array([first]))
    assert after[first] < 1e-9
    second = int(np.argmax(after))
    assert second != first and after[second] > 10 * np.median(after)


def test_residual_scores_are_remembered_exactly(planted: dict[str, Any]) -> None:
    p = _problem(planted)
    rng = np.random.default_rng(0)
    for _ in range(20):
        terms = np.sort(rng.choice(len(planted["regression"][1]), size=int(rng.integers(0, 4)), replace=False))
        got = p.residual_scores(terms)
        assert p.residual_scores(terms.copy()) is got  # the second call is served from memory
        np.testing.assert_array_equal(got, p._residual_scores(terms))  # noqa: SLF001


def test_draw_takes_the_same_numbers_as_numpy_choice() -> None:
    from greta_core.hypothesis_search.operators import _draw

    a, b = np.random.default_rng(5), np.random.default_rng(5)
    for n in range(1, 200):
        values = np.arange(n) * 7
        w = np.random.default_rng(n).random(n) + 1e-12
        assert _draw(a, values) == b.choice(values)
        assert _draw(a, values, w / w.sum()) == b.choice(values, p=w / w.sum())


def test_mask_key_follows_the_mask() -> None:
    from pymoo.core.individual import Individual

    from greta_core.hypothesis_search.optimizers import _mask_key

    ind = Individual(X=np.array([True, False, True]))
    key = _mask_key(ind)
    assert key == np.packbits([1, 0, 1]).tobytes() and _mask_key(key) is key
    assert _mask_key(ind) is key  # remembered
    ind.X = np.array([False, True, True])  # a new mask: a new key
    assert _mask_key(ind) == np.packbits([0, 1, 1]).tobytes()


def test_duplicate_elimination_keeps_what_pymoos_keeps() -> None:
    from pymoo.core.duplicate import HashDuplicateElimination
    from pymoo.core.population import Population

    from greta_core.hypothesis_search.optimizers import _mask_key, _MaskDuplicateElimination

    rng = np.random.default_rng(2)
    for _ in range(20):
        pop, off, new = (Population.new("X", rng.random((n, 6)) < 0.3) for n in (30, 20, 40))
        ours = _MaskDuplicateElimination().do(new, pop, off, return_indices=True)[1]
        theirs = HashDuplicateElimination(_mask_key).do(new, pop, off, return_indices=True)[1]
        assert ours == theirs and 0 < len(ours) < 40


def test_repair_keeps_hypotheses_hierarchical_and_short() -> None:
    from greta_core.hypothesis_search.operators import TermCountRepair

    # terms 0..3 main, 4 = 0*1, 5 = 2^2, 6 = 1*3
    parents = [(), (), (), (), (0, 1), (2,), (1, 3)]
    repair = TermCountRepair(4, parents)
    rng = np.random.default_rng(0)
    x = rng.random((300, 7)) < 0.4
    out = repair._do(None, x, random_state=rng)
    for row in out:
        on = set(np.flatnonzero(row))
        assert 1 <= len(on) <= 4
        for c in on:
            assert set(parents[c]) <= on, (on, c)
    # a product on its own gains its two main terms
    lone = np.zeros((1, 7), dtype=bool)
    lone[0, 4] = True
    assert set(np.flatnonzero(repair._do(None, lone, random_state=rng)[0])) == {0, 1, 4}


def test_a_main_term_needed_by_a_product_need_not_pass_alone() -> None:
    from greta_core.hypothesis_search.problem import needed, parent_matrix

    parent = parent_matrix([(), (), (), (0, 1)])
    terms = np.array([[0, 1, 3, -1], [0, 1, 2, -1], [0, 3, -1, -1]])
    np.testing.assert_array_equal(needed(parent, terms), [[True, True, False, False],
                                                         [False, False, False, False],
                                                         [True, False, False, False]])
