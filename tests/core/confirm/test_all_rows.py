"""The test on all rows of the models fixed before looking (greta_core.confirm.all_rows): its
numbers are a statsmodels refit's, its verdicts do not move with the seed, and it runs only
when every row is in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from engines import need
from hc4 import ols_hc4
from scipy import stats

from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze
from greta_core.stats.pvalues import holm


def run(df: pd.DataFrame, tmp_path: Path, **params) -> dict:
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return analyze(FileSpec(str(path)), AnalysisParams(target="y", **params))


def matters(doc: dict) -> set[str]:
    return {c["name"] for c in doc["columns"] if c["verdict"] == "matters"}


def weak(rows: int = 3000, seed: int = 5) -> pd.DataFrame:
    """A strong driver, a weak one a single split often misses, a level effect and noise."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(1, 5)})
    df["g"] = rng.choice(["a", "b", "c"], rows)
    df["y"] = 0.8 * df.x1 + 0.09 * df.x2 + 0.3 * (df.g == "c") + rng.normal(size=rows) * (1 + 0.5 * (df.x3 > 1))
    return df


def _source(doc: dict) -> str | None:
    return doc["metrics"]["all_rows"]["source"]


def test_the_column_tests_are_a_statsmodels_hc4_refit_on_all_rows(tmp_path):
    df = weak()
    doc = run(df, tmp_path, interactions=False, squares=False, logs=False)
    assert _source(doc) == "rows in memory"
    _check_refit(df, doc)


@pytest.mark.parametrize("how", ["local copy", "second pass", "dask"])
def test_rows_not_in_memory_get_the_same_refit(tmp_path, monkeypatch, how):
    """More rows than the planning read: every row's robust middle term comes from the local
    copy of the statistics pass, or from a second pass over the source (no room for a copy, or
    Dask's workers), and the tests are still the statsmodels refit on all rows."""
    from greta_core.stats import local_copy

    if how == "second pass":
        monkeypatch.setattr(local_copy, "MARGIN", 1 << 62)  # no room for a copy: the source is read again
    extra = {"backend": "dask", "extra": {"dask_config": {}, "blocksize": 64 << 10}} if how == "dask" else {}
    if how == "dask":
        need("dask", "dask")
    df = weak()
    doc = run(df, tmp_path, interactions=False, squares=False, logs=False, sample_rows=1000, **extra)
    assert doc["data"]["rows"] == len(df) > 1000
    assert _source(doc) == {"local copy": "local copy of the rows", "dask": "local copy of the rows"}.get(how, _source(doc))
    if how == "second pass":
        assert _source(doc).startswith("second pass")
    _check_refit(df, doc)


def test_spark_rows_not_in_memory_get_the_same_refit(tmp_path, spark_local):
    df = weak()
    doc = run(df, tmp_path, interactions=False, squares=False, logs=False, sample_rows=1000, backend="spark",
              extra={"spark_config": {"spark.master": "local[2]"}})
    assert _source(doc) == "second pass"
    _check_refit(df, doc)


def _check_refit(df: pd.DataFrame, doc: dict) -> None:
    fixed = doc["all_rows"]
    assert fixed is not None and fixed["rows"] == len(df) and [m["name"] for m in fixed["models"]] == ["main terms"]
    design = pd.concat([df[["x1", "x2", "x3", "x4"]], pd.get_dummies(df.g, prefix="g", drop_first=True, dtype=float)],
                       axis=1)
    ref = ols_hc4(df.y.to_numpy(), np.column_stack([np.ones(len(df)), design.to_numpy()]))
    where = {"x1": [1], "x2": [2], "x3": [3], "x4": [4], "g": [5, 6]}
    got = {c["name"]: c for c in fixed["models"][0]["column_tests"]}
    assert set(got) == set(where)
    for name, idx in where.items():
        b = ref.params[idx]
        w = float(b @ np.linalg.solve(ref.cov[np.ix_(idx, idx)], b)) / len(idx)
        assert got[name]["f_statistic"] == pytest.approx(w, rel=1e-7)
        assert got[name]["p_value"] == pytest.approx(stats.f.sf(w, len(idx), ref.df_resid), rel=1e-6)
    names = list(got)
    adjusted = holm(np.array([got[n]["p_value"] for n in names]))
    for n, q in zip(names, adjusted):
        assert got[n]["q_value"] == pytest.approx(q, rel=1e-12)
        assert got[n]["passed"] == (q <= fixed["alpha"]) and fixed["alpha"] == 0.025
    assert matters(doc) == {n for n in names if got[n]["passed"]} == {"x1", "x2", "g"}
    x2 = next(c for c in doc["columns"] if c["name"] == "x2")
    assert "all rows" in x2["evidence"] and x2["all_rows_test"]["model"] == "main terms"


def test_the_verdicts_do_not_move_with_the_seed(tmp_path):
    df = weak()
    docs = [run(df, tmp_path, seed=s) for s in range(5)]
    assert all(matters(d) == {"x1", "x2", "g"} for d in docs)
    assert all(d["all_rows"]["models"][-1]["name"] == "all terms" for d in docs)  # rows far outnumber every term
    held = [{c["name"] for c in d["hypotheses"][0]["column_tests"] if c["passed"]} for d in docs]
    assert all(h <= {"x1", "x2", "g"} for h in held)


def test_a_product_without_main_effects_is_found_by_the_all_terms_model(tmp_path):
    rng = np.random.default_rng(3)
    df = pd.DataFrame({f"x{i}": rng.normal(size=4000) for i in range(1, 6)})
    df["y"] = 0.25 * df.x1 * df.x2 + rng.normal(size=len(df))
    doc = run(df, tmp_path)
    assert matters(doc) == {"x1", "x2"}
    test = next(c for c in doc["columns"] if c["name"] == "x1")["all_rows_test"]
    assert test["model"] == "all terms" and test["passed"]


def test_columns_that_cannot_be_told_apart_are_said_so(tmp_path):
    rng = np.random.default_rng(4)
    a = rng.normal(size=400)
    df = pd.DataFrame({"a": a, "b": a + rng.normal(scale=0.02, size=len(a)), "c": rng.normal(size=len(a))})
    df["y"] = 0.5 * (df.a + df.b) + rng.normal(size=len(a))
    doc = run(df, tmp_path, interactions=False, squares=False, logs=False)
    assert doc["hypotheses"][0]["confirmed"] and matters(doc) == set()
    assert "no single column was confirmed once every other column is held fixed" in doc["summary"]
    assert "cannot tell which of them" in doc["summary"]


def test_a_small_table_is_tested_on_all_its_rows(tmp_path):
    rng = np.random.default_rng(6)
    df = pd.DataFrame({f"x{i}": rng.normal(size=40) for i in range(1, 5)})
    df["y"] = 1.5 * df.x1 + rng.normal(size=len(df))
    doc = run(df, tmp_path)
    assert matters(doc) == {"x1"} and doc["all_rows"]["rows"] == 40
    x1 = next(c for c in doc["columns"] if c["name"] == "x1")
    assert "all rows" in x1["evidence"] and x1["all_rows_test"]["passed"]


def test_not_run_when_the_main_terms_were_screened(tmp_path):
    """Screening that drops main terms looked at the target: no model is fixed before looking."""
    df = weak()
    for i in range(5, 40):
        df[f"z{i}"] = np.random.default_rng(i).normal(size=len(df))
    doc = run(df, tmp_path, max_design_columns=20, sample_rows=1000)
    assert doc["all_rows"] is None and not doc["metrics"]["all_rows"]["tested"]
    assert all("all rows" not in c["evidence"] for c in doc["columns"])
    assert any("screening (which looks at the target) left out" in n for n in doc["notes"])


def test_beyond_memory_a_model_too_costly_is_left_out_and_said(tmp_path, monkeypatch):
    """Rows not in memory: past MAX_CELLS the all-terms model goes first (curves and products
    are then judged on held-out rows), then the main-terms model, with a note."""
    from greta_core.confirm import all_rows

    df = weak()
    main_only = 3000 * 7 ** 2  # the main-terms model: 7 design columns over 3,000 rows
    monkeypatch.setattr(all_rows, "MAX_CELLS", main_only)
    doc = run(df, tmp_path, sample_rows=1000)
    assert [m["name"] for m in doc["all_rows"]["models"]] == ["main terms"]
    monkeypatch.setattr(all_rows, "MAX_CELLS", main_only - 1)
    doc = run(df, tmp_path, sample_rows=1000)
    assert doc["all_rows"] is None
    assert any(n.startswith("The columns were not tested on all rows: the model of every column's main terms has 7")
               for n in doc["notes"])


def test_without_the_all_terms_model_curves_are_judged_on_held_out_rows():
    """Whatever left the all-terms model out (its width, its cost, screening), a curve or a
    product is judged by the lead model's held-out tests; with it, on all rows."""
    from greta_core.confirm import all_rows
    from greta_core.confirm.layout import Layout
    from greta_core.plan.terms import Term
    from greta_core.stats.moments import Moments

    terms = [Term("a", "numeric", ("a",), ("a",)), Term("b", "numeric", ("b",), ("b",)),
             Term("a^2", "square", ("a",), ("a^2",))]
    layout = Layout.of(terms)
    m = Moments.of(np.random.default_rng(0).normal(size=(500, 4)))
    assert all_rows.fixed_models(layout, m) == ([(0, 1), (0, 1, 2)], False)
    assert all_rows.fixed_models(layout, m, all_terms=False) == ([(0, 1)], True)
    assert all_rows.fixed_models(layout, m, rows_read=500) == ([(0, 1), (0, 1, 2)], False)
    old = all_rows.MAX_CELLS
    try:
        all_rows.MAX_CELLS = 500 * 4
        assert all_rows.fixed_models(layout, m, rows_read=500) == ([(0, 1)], True)
        all_rows.MAX_CELLS = 500 * 4 - 1
        assert all_rows.fixed_models(layout, m, rows_read=500) == ([], False)
        two = Moments.of(np.random.default_rng(1).normal(size=(500, 5)))  # two target columns: twice the side
        all_rows.MAX_CELLS = 500 * 4
        assert all_rows.fixed_models(layout, two, rows_read=500) == ([], False)
        all_rows.MAX_CELLS = 500 * (2 * 2) ** 2
        assert all_rows.fixed_models(layout, two, rows_read=500) == ([(0, 1)], True)
    finally:
        all_rows.MAX_CELLS = old


def test_a_size_that_flips_with_every_column_in_the_model_is_said():
    from greta_core.narrate.templates import Narrator

    def size(change: float) -> dict:
        return {"kind": "middle half", "from": 1.0, "to": 3.0,
                "changes": [{"change": change, "ci_low": change - 0.1, "ci_high": change + 0.1, "std_error": 0.05}]}

    n = Narrator("mpg", "regression")
    said = n.with_every_column(size(-10.4), size(0.45), 32)
    assert said == (" With every other column in the model (on all 32 rows), mpg rises by 0.450 over the same range "
                    "(95% CI 0.350 to 0.550) instead: part of what the lead model gives this column belongs to "
                    "columns related to it.")
    assert "falls by 4.00" in n.with_every_column(size(-10.4), size(-4.0), 32)  # more than half smaller
    assert n.with_every_column(size(-10.4), size(-6.0), 32) == ""  # within a factor of two: nothing to say
    assert n.with_every_column(size(-10.4), None, 32) == ""


def test_the_metrics_say_whether_and_how_long(tmp_path):
    doc = run(weak(), tmp_path)
    got = doc["metrics"]["all_rows"]
    assert got["tested"] and got["models"] == 2 and 0 < got["seconds"] < doc["metrics"]["stages"]["confirm"]["seconds"]
    doc = run(weak(), tmp_path, sample_rows=1000)  # beyond memory: from the local copy of the rows
    got = doc["metrics"]["all_rows"]
    assert got["tested"] and got["models"] == 2 and got["source"] == "local copy of the rows"
    assert doc["metrics"]["robust_variance"]["fixed_models"] == 2
    assert doc["metrics"]["search"]["splits"] == 1


def birthwt_like(seed: int) -> pd.DataFrame:
    """189 births, as R's MASS::birthwt: a low birth weight driven by smoking, race and uterine
    irritability (logistic), next to five columns that do nothing."""
    rng = np.random.default_rng(seed)
    n = 189
    df = pd.DataFrame({"age": rng.normal(23, 5, n).round(), "lwt": rng.normal(130, 30, n).round(),
                       "race": rng.choice(["white", "black", "other"], n, p=[0.5, 0.15, 0.35]),
                       "smoke": rng.choice(["no", "yes"], n, p=[0.6, 0.4]), "ptl": rng.poisson(0.2, n),
                       "ht": rng.choice(["no", "yes"], n, p=[0.94, 0.06]),
                       "ui": rng.choice(["no", "yes"], n, p=[0.85, 0.15]), "ftv": rng.poisson(0.8, n)})
    logit = -2.2 + 1.3 * (df.smoke == "yes") + 1.4 * (df.race != "white") + 1.5 * (df.ui == "yes")
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return df


def test_a_birthwt_sized_table_finds_what_ols_with_bonferroni_on_all_rows_finds(tmp_path):
    import statsmodels.api as sm

    df = birthwt_like(3)
    x = pd.get_dummies(df.drop(columns="y"), drop_first=True, dtype=float)
    ref = sm.OLS((df.y == "yes").astype(float), sm.add_constant(x)).fit()
    found = {c.split("_")[0] for c, p in ref.pvalues.items() if c != "const" and p < 0.05 / x.shape[1]}
    assert found == {"race", "smoke", "ui"}
    for seed in range(3):  # the split alone (preprocessing.sample_rows=100) confirms none of them
        doc = run(df, tmp_path, seed=seed)
        assert matters(doc) == found
        assert doc["summary"].startswith("What goes with y: ") and "No column was confirmed" not in doc["summary"]


def test_with_too_many_terms_for_the_all_terms_model_a_product_is_judged_on_held_out_rows(tmp_path):
    rng = np.random.default_rng(8)
    df = pd.DataFrame({f"x{i}": rng.normal(size=8000) for i in range(20)})  # 230 candidate terms
    df["y"] = df.x0 + 0.3 * df.x3 * df.x4 + rng.normal(size=len(df))
    doc = run(df, tmp_path)
    assert [m["name"] for m in doc["all_rows"]["models"]] == ["main terms"]
    assert matters(doc) == {"x0", "x3", "x4"}
    x3 = next(c for c in doc["columns"] if c["name"] == "x3")
    assert x3["evidence"] == ["held-out rows"] and "x3*x4" in x3["terms"]
