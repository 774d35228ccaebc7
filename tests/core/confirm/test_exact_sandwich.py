"""The robust (HC4) covariance of a tested hypothesis is summed over every held-out row, not a
sample (DESIGN §5): Greta's held-out standard errors and joint tests equal statsmodels' OLS with
an HC4 covariance from the whole design (tests/hc4.py)
refitted on exactly the same held-out rows, with many more held-out rows than
``statistics.sample_size``, on every backend, with a row filter, and for class targets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from engines import need
from hc4 import ols_hc4, overall_f

from greta_core.backends import open_backend
from greta_core.confirm.holdout import confirm
from greta_core.hypothesis_search.problem import Scored
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.plan.row_filter import parse_optional
from greta_core.pipeline import _filtered, analyze, holdout_meats, make_plan, statistics_pass
from greta_core.plan.design import DesignBuilder, canonical_features, split_keys
from greta_core.stats.centring import recentre
from greta_core.stats.linear import Gram

TERMS = ["s1", "x1", "g", "s1^2", "s1*x1"]
SAMPLE = 500  # statistics.sample_size: far fewer than the ~10,000 held-out rows


def _data(n: int = 20_000, seed: int = 0, target: str = "regression") -> pd.DataFrame:
    """Noise whose spread grows with a skewed positive column: a few rows of high leverage and
    large noise decide the robust variance. ``x1`` has missing values, ``g`` is categorical."""
    rng = np.random.default_rng(seed)
    s1 = rng.lognormal(0.0, 1.0, n)
    x1 = rng.normal(size=n)
    df = pd.DataFrame({"s1": s1.round(6), "x1": x1.round(6), "g": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
                       "noise": rng.normal(size=n).round(6)})
    df.loc[rng.random(n) < 0.05, "x1"] = np.nan
    signal = 0.2 * s1 + 0.3 * np.nan_to_num(x1) + s1 * rng.normal(size=n)
    if target == "regression":
        df["y"] = signal
    elif target == "binary":
        df["y"] = np.where(signal + rng.normal(size=n) > 0.5, "yes", "no")
    else:
        df["y"] = np.select([signal < -0.5, signal < 0.8], ["low", "mid"], "high")
    return df


def _greta(path: str, backend: str, terms: list[str], options: dict[str, Any] | None = None,
           batch_rows: int = 65536, **kw: Any) -> tuple[Any, dict[str, Any], Any, dict[str, float], dict[str, float]]:
    """The pipeline's own steps: statistics pass, recentring, the held-out pass of the robust
    middle term and the holdout tests of hypothesis ``terms``. Returns the confirmed result,
    how the middle term was got, the plan and the centres before and after recentring."""
    params = AnalysisParams(target="y", seed=0, sample_size=SAMPLE, sample_rows=2000, **kw)
    b = open_backend(backend, FileSpec(path, batch_rows=batch_rows), None, options or {})
    try:
        plan = make_plan(_filtered(b.sample(params.sample_rows), parse_optional(params.row_filter)), b.columns(), params)
        summary, layout, notes = statistics_pass(b, plan, params, lambda *a: None, None)
        t = plan.target.width
        summary, delta = recentre(summary, layout, t)
        h = tuple(i for i, term in enumerate(layout.terms) if term.name in terms)
        assert len(h) == len(terms)
        meats, _, info = holdout_meats(b, plan, layout, summary, delta, [h], params, None, lambda *a: None, None,
                                       notes)
        before = dict(plan.centres)
        after = {n: plan.centre(n) + d for n, d in delta.items()}
        final = replace(plan, centres=tuple(after.items()))
        [c] = confirm([Scored(h, (0.0, 0.0, 0.0), 0.0)], layout, Gram.from_moments(summary.discovery, t),
                      summary.holdout, summary.sample, final.target, 0.05, 1, after, meats)
        assert len(summary.sample) == SAMPLE < summary.holdout.n
    finally:
        if hasattr(b, "close"):
            b.close()
    return c, info, plan, before, after


def _holdout(df: pd.DataFrame, plan: Any, row_filter: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The held-out rows as the pipeline splits them (after the row filter), and their design
    columns of TERMS: missing values at the planning centre, every numeric column then centred
    at its discovery mean; the dummies of ``g`` from Greta's design code."""
    df = (df if row_filter is None else df.query(row_filter)).reset_index(drop=True)  # pandas: the reference
    u1, _ = split_keys(canonical_features(plan, df), 0)
    return df[u1 < 0.5].reset_index(drop=True), df


def _design(hold: pd.DataFrame, plan: Any, before: dict[str, float], after: dict[str, float]) -> pd.DataFrame:
    s1 = hold["s1"] - after["s1"]
    x1 = hold["x1"].fillna(before["x1"]) - after["x1"]
    g_term = next(t for t in plan.terms if t.name == "g")
    frame = canonical_features(plan, hold)
    dummies = DesignBuilder(plan, 0, 0.5).matrix(frame, [g_term])
    x = pd.DataFrame({"s1": s1, "x1": x1, "x1:missing": hold["x1"].isna().astype(float)})
    for i, label in enumerate(g_term.labels):
        x[label] = dummies[:, i]
    x["s1^2"] = s1**2
    x["s1*x1"] = s1 * x1
    return x.loc[:, x.std() > 0]  # a level no row has ("(other)") is no column of the fit


def _statsmodels(x: pd.DataFrame, y: np.ndarray) -> Any:
    return ols_hc4(y, sm.add_constant(x.to_numpy()))


def _assert_matches(c: Any, plan: Any, x: pd.DataFrame, y: np.ndarray, cls: str | None = None) -> None:
    ref = _statsmodels(x, y)
    rows = {e["column"]: e for e in c.effects if e.get("class") == cls}
    assert set(rows) == set(x.columns)
    for j, name in enumerate(x.columns, start=1):
        assert rows[name]["estimate"] == pytest.approx(ref.params[j], rel=1e-7, abs=1e-12), name
        assert rows[name]["std_error"] == pytest.approx(ref.bse[j], rel=1e-7), name
        assert rows[name]["p_value"] == pytest.approx(ref.pvalues[j], rel=1e-5, abs=1e-300), name
    if cls is not None:
        return
    # one target column: the overall, term and column tests are statsmodels' robust Wald tests
    overall = overall_f(ref)
    assert c.holdout["f_statistic"] == pytest.approx(float(np.squeeze(overall.fvalue)), rel=1e-7)
    assert c.holdout["p_value"] == pytest.approx(float(overall.pvalue), rel=1e-5, abs=1e-300)
    names = list(x.columns)
    labels = {t.name: t.labels for t in plan.terms}

    def wald(terms: list[str]) -> Any:
        return ref.f_test(np.eye(len(names) + 1)[[names.index(lab) + 1 for t in terms for lab in labels[t]
                                                         if lab in names]])

    for row in c.term_tests:
        test = wald([row["term"]])
        assert row["f_statistic"] == pytest.approx(float(np.squeeze(test.fvalue)), rel=1e-7), row["term"]
    for col in c.column_tests:
        test = wald(col["terms"])
        assert col["f_statistic"] == pytest.approx(float(np.squeeze(test.fvalue)), rel=1e-7), col["name"]
        assert col["p_value"] == pytest.approx(float(test.pvalue), rel=1e-5, abs=1e-300), col["name"]


@pytest.fixture(scope="module")
def regression_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pd.DataFrame]:
    df = _data()
    path = tmp_path_factory.mktemp("sandwich") / "data.csv"
    df.to_csv(path, index=False)
    return str(path), pd.read_csv(path)


def _check_regression(path: str, df: pd.DataFrame, backend: str, options: dict[str, Any] | None = None,
                      row_filter: str | None = None, batch_rows: int = 65536) -> None:
    c, info, plan, before, after = _greta(path, backend, TERMS, options, batch_rows, row_filter=row_filter)
    hold, _ = _holdout(df, plan, row_filter)
    assert info["source"] == "second pass" and info["rows"] == len(hold) == c.holdout["n"]
    assert c.holdout["covariance_rows"] == len(hold) > 10 * SAMPLE
    _assert_matches(c, plan, _design(hold, plan, before, after), hold["y"].to_numpy())


@pytest.mark.parametrize("batch_rows", [65536, 1500])  # one batch; many batches whose sums merge
def test_pandas_robust_variance_over_every_held_out_row_is_statsmodels(regression_csv: tuple[str, pd.DataFrame],
                                                           batch_rows: int) -> None:
    _check_regression(*regression_csv, "pandas", batch_rows=batch_rows)


def test_the_row_filter_keeps_the_same_held_out_rows(regression_csv: tuple[str, pd.DataFrame]) -> None:
    _check_regression(*regression_csv, "pandas", row_filter="s1 < 8")


def test_dask_robust_variance_over_every_held_out_row_is_statsmodels(regression_csv: tuple[str, pd.DataFrame]) -> None:
    need("dask", "dask")
    _check_regression(*regression_csv, "dask", {"dask_config": {}, "blocksize": 256 << 10})


def test_spark_robust_variance_over_every_held_out_row_is_statsmodels(spark_local: Any,
                                                          regression_csv: tuple[str, pd.DataFrame]) -> None:
    _check_regression(*regression_csv, "spark", {"spark_config": {"spark.master": "local[2]"}})


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_each_class_column_gets_its_own_exact_robust_variance(tmp_path: Path, task: str) -> None:
    df = _data(12_000, seed=1, target=task)
    path = tmp_path / "classes.csv"
    df.to_csv(path, index=False)
    df = pd.read_csv(path)
    c, info, plan, before, after = _greta(str(path), "pandas", TERMS)
    hold, _ = _holdout(df, plan)
    assert info["source"] == "second pass" and c.holdout["covariance_rows"] == len(hold)
    x = _design(hold, plan, before, after)
    if task == "binary":
        _assert_matches(c, plan, x, (hold["y"] == plan.target.classes[1]).to_numpy(float))
        return
    for cls in plan.target.classes[1:]:
        _assert_matches(c, plan, x, (hold["y"] == cls).to_numpy(float), cls)


def test_rows_in_memory_need_no_second_read(tmp_path: Path) -> None:
    """When the planning sample held every row, the middle term is summed over them directly;
    the numbers are those of the second pass."""
    df = _data(6000, seed=2)
    path = tmp_path / "small.csv"
    df.to_csv(path, index=False)
    common = {"target": "y", "seed": 0, "sample_size": 300, "num_generations": 3, "pop_size": 20}
    mem = analyze(FileSpec(str(path)), AnalysisParams(**common, sample_rows=50_000))
    read = analyze(FileSpec(str(path)), AnalysisParams(**common, sample_rows=2000))
    assert mem["metrics"]["robust_variance"]["source"] == "rows in memory"
    assert read["metrics"]["robust_variance"]["source"] == "local copy of the rows"  # kept by the statistics pass
    held = mem["data"]["rows_holdout"]
    assert held > 10 * 300 and read["data"]["rows_holdout"] == held
    assert any(f"over all {held:,} held-out rows" in n for n in mem["notes"])
    for a, b in zip(mem["hypotheses"], read["hypotheses"]):
        assert a["terms"] == b["terms"] and a["holdout"]["covariance_rows"] == held
        assert a["holdout"]["f_statistic"] == pytest.approx(b["holdout"]["f_statistic"], rel=1e-9)
