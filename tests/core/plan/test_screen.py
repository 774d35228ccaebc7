"""Screening candidate terms in blocks within a memory budget, on discovery rows only."""

from __future__ import annotations

import tracemalloc
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from greta_core.backends import open_backend
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import make_plan, statistics_pass
from greta_core.plan.design import DesignBuilder, split_keys
from greta_core.plan.screen import BLOCK_ARRAYS, screen
from greta_core.plan.terms import Plan

SEED = 5


def _frame(n: int, p: int, seed: int = 0) -> pd.DataFrame:
    """p noise columns; y depends on x3 and on the product x10*x20 (no main effects there)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    df = pd.DataFrame(np.round(x, 6), columns=[f"x{i}" for i in range(p)])
    df["y"] = np.round(1.5 * x[:, 3] + 1.2 * x[:, 10] * x[:, 20] + rng.normal(0, 1, n), 6)
    return df


def _plan(df: pd.DataFrame, **kw) -> Plan:  # noqa: ANN003
    return make_plan(df, list(df.columns), AnalysisParams(target="y", seed=SEED, **kw))


def _rows(plan: Plan, df: pd.DataFrame) -> np.ndarray:
    """The discovery rows in the design of the listed terms, then the target."""
    return DesignBuilder(plan, SEED, 0.5).batch(df, [], list(plan.listed)).e


def _names(terms) -> list[str]:  # noqa: ANN001
    return [t.name for t in terms]


def test_products_are_generated_on_demand_not_held_by_the_plan() -> None:
    df = _frame(60, 2000)
    plan = _plan(df)
    assert len(plan.listed) == 4000  # 2000 main terms and 2000 squares; no product is held
    assert plan.candidate_count == 4000 + 2000 * 1999 // 2
    small = _plan(_frame(60, 25))
    assert _names(small.terms)[-300:] == [f"x{a}*x{b}" for a, b in combinations(range(25), 2)]


def test_blocks_keep_the_same_terms_as_one_block() -> None:
    df = _frame(300, 80)
    plan = _plan(df)
    rows = _rows(plan, df)
    one = screen(rows, plan, 1, room=60, memory_mb=1024)
    many = screen(rows, plan, 1, room=60, memory_mb=0.5)
    side_by_side = screen(rows, plan, 1, room=60, memory_mb=0.5, workers=3)
    assert one.blocks == 1 and many.blocks >= 5
    assert _names(many.terms) == _names(one.terms) == _names(side_by_side.terms)
    assert {"x3", "x10", "x20", "x10*x20"} <= set(_names(one.terms))
    assert one.candidates == 160 + 80 * 79 // 2 and one.rows == len(rows)


def test_a_product_block_stays_within_the_memory_budget() -> None:
    df = _frame(120, 300, seed=1)
    plan = _plan(df)
    rows = _rows(plan, df)
    budget = 2.0  # MiB
    tracemalloc.start()
    try:
        found = screen(rows, plan, 1, room=50, memory_mb=budget, workers=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    block_bytes = budget * 2**20 - rows.nbytes - 3 * rows.shape[0] * 300 * 8
    assert found.blocks > 1
    assert 2 * found.largest_block * BLOCK_ARRAYS * 8 <= block_bytes  # candidates held at once, 2 blocks
    assert peak <= budget * 2**20  # and everything screening allocated, measured
    assert len(found.terms) <= 50


def test_the_cap_on_candidates_leaves_out_products_of_the_weakest_columns() -> None:
    df = _frame(300, 80)
    plan = _plan(df)
    found = screen(_rows(plan, df), plan, 1, room=60, max_candidates=160 + 40 * 39 // 2)
    assert found.candidates == 160 + 40 * 39 // 2
    assert found.left_out == 80 * 79 // 2 - 40 * 39 // 2
    assert "x3" in _names(found.terms)
    assert "not screened" in found.note()


def test_screening_never_looks_at_holdout_rows(tmp_path) -> None:  # noqa: ANN001
    """Planting a strong product in the holdout rows' target changes nothing that is kept."""
    df = _frame(400, 60, seed=2)
    params = AnalysisParams(target="y", seed=SEED, max_design_columns=40)
    plan = _plan(df, max_design_columns=40)
    hold = split_keys(df.drop(columns="y"), SEED)[0] < params.holdout_fraction
    leaky = df.copy()
    leaky.loc[hold, "y"] = 50.0 * df.x30[hold] * df.x31[hold]
    kept = []
    for frame, name in ((df, "a.csv"), (leaky, "b.csv")):
        frame.to_csv(tmp_path / name, index=False)
        backend = open_backend("pandas", FileSpec(str(tmp_path / name)))
        _, layout, notes = statistics_pass(backend, plan, params, lambda *a: None, None)
        kept.append(_names(layout.terms))
    assert kept[0] == kept[1]
    assert "x30*x31" not in kept[0]


def test_a_first_pass_keeps_the_same_sample_as_the_whole_planning_sample(tmp_path) -> None:  # noqa: ANN001
    df = _frame(400, 50, seed=3)
    path = tmp_path / "w.csv"
    df.to_csv(path, index=False)
    params = AnalysisParams(target="y", seed=SEED, max_design_columns=40)
    plan = _plan(df, max_design_columns=40)
    spec = FileSpec(str(path), batch_rows=1000)
    whole = statistics_pass(open_backend("pandas", spec), plan, params, lambda *a: None, None, df)
    passed = statistics_pass(open_backend("pandas", spec), plan, params, lambda *a: None, None)
    assert _names(whole[1].terms) == _names(passed[1].terms)
    assert whole[2] == passed[2] and "candidate terms were screened on" in whole[2][-1]


@pytest.mark.parametrize("target", ["regression", "binary", "multiclass"])
def test_a_planted_driver_among_many_noise_columns_is_found(tmp_path, target: str) -> None:  # noqa: ANN001
    from greta_core.pipeline import analyze

    df = _frame(600, 400, seed=4)
    if target == "binary":
        df["y"] = np.where(df.y > df.y.median(), "yes", "no")
    elif target == "multiclass":
        df["y"] = np.array(["low", "mid", "high"])[np.digitize(df.y, df.y.quantile([1 / 3, 2 / 3]))]
    path = tmp_path / "wide.csv"
    df.to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", seed=1))
    screened = doc["data"]["screening"]
    assert screened["candidate_terms"] == 800 + 400 * 399 // 2 and screened["products_left_out"] == 0
    assert screened["kept_terms"] == doc["data"]["candidate_terms"]
    assert screened["discovery_rows"] == doc["data"]["rows_discovery"]
    assert screened["kept_terms"] <= screened["discovery_rows"] // 2
    assert any(f"{screened['candidate_terms']:,} candidate terms were screened" in n for n in doc["notes"])
    matters = {c["name"] for c in doc["columns"] if c["verdict"] == "matters"}
    assert "x3" in matters
    assert matters <= {"x3", "x10", "x20"}


@pytest.mark.parametrize("target", ["regression", "binary"])
def test_the_kept_squares_and_products_are_the_strongest_by_scikit_learns_f_test(target: str) -> None:
    """With room for every main term and 20 more columns, the 20 squares and products kept are
    the 20 of highest F (each alone against the target, scikit-learn's ``f_regression``) among
    all 30 squares and 435 products, formed one by one on the same discovery rows; whatever
    the blocks."""
    from sklearn.feature_selection import f_regression

    df = _frame(400, 30, seed=6)
    if target == "binary":
        df["y"] = np.where(df.y > df.y.median(), "yes", "no")
    plan = _plan(df)
    rows = _rows(plan, df)
    names = _names(plan.listed)
    main = [n for n in names if not n.endswith("^2")]
    x = {n: rows[:, i] for i, n in enumerate(names)}  # listed terms: one design column each
    cands = {n: x[n] for n in names if n.endswith("^2")}
    cands.update({f"{a}*{b}": x[a] * x[b] for a, b in combinations(main, 2)})
    f, _ = f_regression(np.column_stack(list(cands.values())), rows[:, len(names)])
    order = np.argsort(-f, kind="stable")
    assert f[order[19]] > f[order[20]] * (1 + 1e-6)  # no tie at the cut
    strongest = {list(cands)[i] for i in order[:20]}
    assert "x10*x20" in strongest
    for memory_mb in (1024, 0.05):
        found = screen(rows, plan, 1, room=len(main) + 20, memory_mb=memory_mb)
        kept = _names(found.terms)
        assert kept[: len(main)] == main and found.blocks >= (1 if memory_mb > 1 else 5)
        assert set(kept[len(main):]) == strongest, memory_mb
