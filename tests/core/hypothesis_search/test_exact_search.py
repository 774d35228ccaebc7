"""The exact search: every hierarchical hypothesis once, the same front as brute force, and
chosen by ``auto`` exactly when the space is small."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from greta_core.errors import InvalidConfigError
from greta_core.hypothesis_search.exact import EXACT_HARD_LIMIT, ExactSearch, HypothesisSpace, choose, non_dominated
from greta_core.hypothesis_search.scoring import SearchStats

# 3 numeric columns a, b, c (terms 0-2), a categorical (3), a log (4, no parents), squares of a
# and b (5, 6) and the products a*b, a*c, b*c (7-9): the plan's shape
PARENTS = ((), (), (), (), (), (0,), (1,), (0, 1), (0, 2), (1, 2))


def _hierarchical(parents: tuple[tuple[int, ...], ...], max_terms: int) -> list[tuple[int, ...]]:
    """Brute force: every subset of at most max_terms terms, kept when hierarchical."""
    m = len(parents)
    return [h for k in range(1, max_terms + 1) for h in combinations(range(m), k)
            if all(set(parents[c]) <= set(h) for c in h)]


@pytest.mark.parametrize("max_terms", [1, 2, 3, 5, 10])
def test_the_space_lists_every_hierarchical_hypothesis_once(max_terms: int) -> None:
    space = HypothesisSpace(PARENTS, max_terms)
    listed = [tuple(int(i) for i in row if i >= 0) for batch in space.batches(7) for row in batch]
    want = _hierarchical(PARENTS, max_terms)
    assert sorted(listed) == sorted(want)
    assert len(listed) == len(set(listed)) == space.count(10**6)
    assert all(list(h) == sorted(h) for h in listed)


def test_count_stops_at_the_limit() -> None:
    space = HypothesisSpace(PARENTS, 5)
    n = space.count(10**6)
    assert space.count(n) == n
    assert space.count(n - 1) is None


def test_non_dominated_agrees_with_pymoo_including_ties() -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        f = np.column_stack([rng.integers(0, 6, 200), rng.integers(0, 6, 200), rng.integers(1, 4, 200)]).astype(float)
        want = NonDominatedSorting().do(f, only_non_dominated_front=True)
        np.testing.assert_array_equal(non_dominated(f), np.sort(want))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[np.ndarray], tuple, list[str]]:
    """Discovery statistics of 400 rows: y = x1 + x2*x3 + a 6-level group effect + noise."""
    from greta_core.backends import open_backend
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import make_plan, statistics_pass
    from greta_core.plan.terms import parents
    from greta_core.stats.centring import recentre
    from greta_core.stats.linear import Gram

    path = _tiny_csv(tmp_path_factory.mktemp("tiny") / "tiny.csv", 400)
    params = AnalysisParams(target="y", logs=False)
    backend = open_backend("pandas", FileSpec(str(path)))
    plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
    summary, layout, _ = statistics_pass(backend, plan, params, lambda *a: None, None)
    summary, _ = recentre(summary, layout, plan.target.width)
    gram = Gram.from_moments(summary.discovery, plan.target.width)
    return gram, [np.asarray(c) for c in layout.columns], parents(layout.terms), [t.name for t in layout.terms]


def _tiny_csv(path: Path, n: int, levels: int = 6, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    g = rng.integers(0, levels, n)
    y = x[:, 0] + 0.8 * x[:, 1] * x[:, 2] + 0.6 * (g % 2) + rng.normal(size=n)
    lines = ["x1,x2,x3,group,y"] + [f"{a:.5f},{b:.5f},{c:.5f},L{k},{t:.5f}" for (a, b, c), k, t in zip(x, g, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_exact_front_is_the_brute_force_front(tiny: tuple) -> None:
    gram, cols, needs, _ = tiny
    max_terms = 4
    result = ExactSearch(gram, cols, max_terms=max_terms, parents=needs).run()
    # brute force: score every subset of at most 4 terms one by one, keep the hierarchical,
    # feasible ones, and sort them with pymoo
    stats = SearchStats.of(gram, cols, max_terms, 0.05, needs)
    hyps = _hierarchical(needs, max_terms)
    terms = np.full((len(hyps), max_terms), -1, dtype=np.int64)
    for i, h in enumerate(hyps):
        terms[i, : len(h)] = h
    f, g, _ = stats.objectives(terms)
    ok = np.flatnonzero(g <= 0)
    front = ok[NonDominatedSorting().do(f[ok], only_non_dominated_front=True)]
    assert result.evaluations == len(hyps) and result.strategy == "exact"
    assert sorted(s.terms for s in result.front) == sorted(hyps[i] for i in front)
    got = {s.terms: s.objectives for s in result.front}
    for i in front:
        np.testing.assert_allclose(got[hyps[i]], f[i], rtol=1e-12)


def test_exact_search_needs_no_seed(tiny: tuple) -> None:
    gram, cols, needs, _ = tiny
    a = ExactSearch(gram, cols, max_terms=5, parents=needs, seed=1).run()
    b = ExactSearch(gram, cols, max_terms=5, parents=needs, seed=2).run()
    assert [(s.terms, s.objectives) for s in a.front] == [(s.terms, s.objectives) for s in b.front]


def test_auto_chooses_exact_only_when_the_space_is_small() -> None:
    n = HypothesisSpace(PARENTS, 5).count(10**6)
    assert choose(PARENTS, 5, "auto", limit=n).strategy == "exact"
    assert choose(PARENTS, 5, "auto", limit=n).space == n
    assert choose(PARENTS, 5, "auto", limit=n - 1).strategy == "genetic"
    assert choose(PARENTS, 5, "genetic", limit=10**9).strategy == "genetic"
    assert choose(PARENTS, 5, "exact", limit=0).strategy == "exact"


def test_exact_refuses_a_space_too_large_to_list() -> None:
    wide = tuple(() for _ in range(400))  # C(400, 5) hypotheses
    with pytest.raises(InvalidConfigError, match="more than 20,000,000"):
        choose(wide, 5, "exact")
    assert choose(wide, 5, "auto", limit=EXACT_HARD_LIMIT).strategy == "genetic"
    with pytest.raises(InvalidConfigError, match="Allowed: auto, exact, genetic"):
        choose(wide, 5, "fastest")


def test_a_categorical_is_one_term_of_the_space_whatever_its_levels(tmp_path: Path) -> None:
    """A 25-level categorical adds one term, like a 3-level one: the space does not grow with
    its levels, and in every hypothesis its dummies come and go together."""
    from greta_core.backends import open_backend
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import make_plan
    from greta_core.plan.terms import parents

    sizes = {}
    for levels in (3, 25):
        path = _tiny_csv(tmp_path / f"g{levels}.csv", 2000, levels)
        params = AnalysisParams(target="y", max_levels=30)
        backend = open_backend("pandas", FileSpec(str(path)))
        plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
        group = next(t for t in plan.terms if t.name == "group")
        assert group.width == levels  # levels - 1 dummies and "(other)"
        sizes[levels] = HypothesisSpace(parents(plan.terms), 5).count(10**6)
    assert sizes[3] == sizes[25]


def test_the_pipeline_records_which_search_ran(tmp_path: Path) -> None:
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import analyze

    path = _tiny_csv(tmp_path / "t.csv", 600)
    exact = analyze(FileSpec(str(path)), AnalysisParams(target="y", max_terms=5))
    search = exact["metrics"]["search"]
    assert search["strategy"] == "exact" and search["hypotheses"] == exact["metrics"]["evaluations"] > 0
    assert f"scored all {search['hypotheses']:,} possible hypotheses" in exact["summary"]
    genetic = analyze(FileSpec(str(path)), AnalysisParams(target="y", max_terms=5, search_strategy="genetic",
                                                          pop_size=40, num_generations=15))
    assert genetic["metrics"]["search"]["strategy"] == "genetic"
    assert genetic["metrics"]["search"]["hypotheses"] is None
    lead = [h["terms"] for h in exact["hypotheses"] if h["role"] == "lead"]
    assert lead == [h["terms"] for h in genetic["hypotheses"] if h["role"] == "lead"]
    assert {"x1", "x2", "x3", "group"} <= set(exact["hypotheses"][0]["features"])
