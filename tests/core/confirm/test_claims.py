"""Claims that hold: hierarchical hypotheses, centred terms, robust holdout tests, a verdict per
column, and one answer (DESIGN §4–5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hc4 import ols_hc4, overall_f

from greta_core.backends import open_backend
from greta_core.confirm.holdout import confirm
from greta_core.hypothesis_search.problem import Scored
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze, make_plan, statistics_pass
from greta_core.plan.design import canonical_features, split_keys
from greta_core.plan.schema import canonical
from greta_core.stats.centring import recentre
from greta_core.stats.linear import Gram

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def matters(doc: dict) -> set[str]:
    return {c["name"] for c in doc["columns"] if c["verdict"] == "matters"}


def claimed(doc: dict) -> set[str]:
    """Every column any confirmed hypothesis of the results names."""
    return {f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]}


def run(df: pd.DataFrame, tmp_path: Path, target: str = "y", **params) -> dict:
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target=target, **params))
    assert_hierarchical(doc)
    return doc


def assert_hierarchical(doc: dict) -> None:
    """Every reported hypothesis holds the main term of each column of its products and squares."""
    for h in doc["hypotheses"]:
        for term in h["terms"]:
            for part in term.split("*") if "*" in term else [term[:-2]] if term.endswith("^2") else []:
                assert part in h["terms"], (term, h["terms"])


@pytest.mark.parametrize("seed", range(5))
def test_churn_example_names_exactly_its_drivers(seed):
    doc = analyze(FileSpec(str(EXAMPLES / "churn.csv")), AnalysisParams(target="churned", seed=seed))
    assert_hierarchical(doc)
    assert matters(doc) == {"tenure_years", "support_calls", "contract", "monthly_fee"}
    assert "satisfaction_survey" not in claimed(doc)
    lead = doc["hypotheses"][0]
    assert lead["role"] == "lead" and lead["confirmed"]
    assert "support_calls" in lead["terms"] and "monthly_fee*support_calls" in lead["terms"]
    fee = next(c for c in doc["columns"] if c["name"] == "monthly_fee")
    assert "monthly_fee*support_calls" in fee["terms"] and fee["importance"] > 0
    # one answer: no other confirmed hypothesis nested in the lead or adding no column of its own
    for h in doc["hypotheses"][1:]:
        assert not set(h["terms"]) <= set(lead["terms"])
        if h["confirmed"]:
            assert h["role"] == "alternative"
            assert {c["name"] for c in h["column_tests"] if c["passed"]} - matters(doc)
    names = [c["name"] for c in doc["columns"] if c["verdict"] == "matters"]
    assert doc["summary"].startswith(f"What goes with churned: {', '.join(names[:-1])} and {names[-1]} ")


def _base(n: int, seed: int) -> tuple[np.random.Generator, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"noise{i}": rng.normal(size=n) for i in range(3)})
    return rng, df


@pytest.mark.parametrize("seed", [0, 1])
def test_a_date_like_column_times_a_driver_is_no_driver(tmp_path, seed):
    rng, df = _base(4000, seed)
    df["age"] = rng.integers(18, 80, len(df))
    days = rng.integers(0, 365, len(df))
    df["signup"] = (pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    df["y"] = 0.05 * df["age"] + rng.normal(size=len(df))
    doc = run(df, tmp_path, seed=seed)
    assert matters(doc) == {"age"} and claimed(doc) == {"age"}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_near_constant_noise_column_times_a_driver_is_no_driver(tmp_path, seed):
    rng, df = _base(4000, seed)
    df["calls"] = rng.poisson(1.5, len(df))
    df["satisfaction"] = np.round(rng.normal(7, 1.5, len(df)), 1)
    df["y"] = 0.4 * df["calls"] + rng.normal(size=len(df))
    doc = run(df, tmp_path, seed=seed)
    assert matters(doc) == {"calls"} and claimed(doc) == {"calls"}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_square_never_stands_in_for_its_line(tmp_path, seed):
    rng, df = _base(4000, seed)
    df["x"] = rng.uniform(1, 10, len(df))
    df["y"] = 0.5 * df["x"] + rng.normal(size=len(df))
    doc = run(df, tmp_path, seed=seed)
    assert matters(doc) == {"x"} and claimed(doc) == {"x"}
    for h in doc["hypotheses"]:
        if "x^2" in h["terms"]:
            assert "x" in h["terms"]


@pytest.mark.parametrize("seed", [0, 1, 12])  # 12: once confirmed a lone product x1*x3
def test_heteroskedastic_noise_confirms_nothing(tmp_path, seed):
    rng = np.random.default_rng(2000 + seed)  # bench/calibration.py's hetero case
    df = pd.DataFrame({f"x{i}": rng.normal(size=10_000) for i in range(1, 6)})
    df["y"] = rng.normal(size=len(df)) * np.exp(df["x1"])
    doc = run(df, tmp_path, seed=seed)
    assert claimed(doc) == set()
    if seed != 12:
        assert matters(doc) == set()
        return
    # This data set is one of the few in 40 whose own rows give a noise column a small p-value:
    # x3 passes the test on all rows (Holm at alpha / 2), as a statsmodels HC4 refit of every
    # column on every row says; bench/calibration.py measures how often (2 of 40 runs, either route).
    from hc4 import ols_hc4

    assert matters(doc) == {"x3"}
    test = next(c for c in doc["columns"] if c["name"] == "x3")["all_rows_test"]
    ref = ols_hc4(df.y.to_numpy(), np.column_stack([np.ones(len(df)), df[[f"x{i}" for i in range(1, 6)]]]))
    assert test["model"] == "main terms" and test["p_value"] == pytest.approx(ref.pvalues[3], rel=1e-6)


def _holdout_fit(df: pd.DataFrame, tmp_path: Path, terms: list[str], seed: int = 0):
    """The pipeline's own holdout fit of the hypothesis ``terms``, the centres it used and the
    holdout rows (as the pipeline split them)."""
    path = tmp_path / "fit.csv"
    df.to_csv(path, index=False)
    params = AnalysisParams(target="y", seed=seed, sample_size=10_000)
    backend = open_backend("pandas", FileSpec(str(path)), None, {})
    plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
    summary, layout, _ = statistics_pass(backend, plan, params, lambda *a: None, None)
    summary, delta = recentre(summary, layout, 1)
    centres = {n: plan.centre(n) + d for n, d in delta.items()}
    h = tuple(i for i, t in enumerate(layout.terms) if t.name in terms)
    assert len(h) == len(terms)
    disc = Gram.from_moments(summary.discovery, 1)
    [c] = confirm([Scored(h, (0.0, 0.0, 0.0), 0.0)], layout, disc, summary.holdout, summary.sample,
                  plan.target, 0.05, 1)
    u1, _ = split_keys(canonical_features(plan, df), seed)
    return c, centres, df[u1 < params.holdout_fraction].reset_index(drop=True), plan


def _statsmodels(x: pd.DataFrame, y: pd.Series):
    """statsmodels' HC4 fit (tests/hc4.py) of y on the columns of ``x`` (fitted on columns scaled to unit sd,
    the same model, so that statsmodels' own solve keeps its precision), as (b, se, p)."""
    sd = x.std().to_numpy()
    fit = ols_hc4(y.to_numpy(), sm.add_constant(x.to_numpy() / sd))
    return fit.params[1:] / sd, fit.bse[1:] / sd, fit.pvalues[1:], fit


def _assert_close(c, names: list[str], b, se, p) -> None:
    got = {e["column"]: e for e in c.effects}
    for name, bi, si, pi in zip(names, b, se, p):
        e = got[name]
        assert e["estimate"] == pytest.approx(bi, rel=1e-8), name
        assert e["std_error"] == pytest.approx(si, rel=1e-8), name
        assert e["p_value"] == pytest.approx(pi, rel=1e-6), name


def test_estimates_keep_their_precision_in_any_units(tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    income = rng.lognormal(10.8, 0.5, n).round(2)  # dollars: income² ~ 1e9, its sd ~ 3e9
    flag = (rng.random(n) < 0.3).astype(int)
    y = 1e-5 * income + 0.8 * flag + 2e-10 * (income - income.mean()) ** 2 + rng.normal(size=n)
    df = pd.DataFrame({"income": income, "flag": flag, "y": y})
    c, centres, hold, _ = _holdout_fit(df, tmp_path, ["income", "flag", "income^2"])
    v = hold["income"] - centres["income"]
    x = pd.DataFrame({"income": v, "flag": hold["flag"] - centres["flag"], "income^2": v**2})
    b, se, p, fit = _statsmodels(x, hold["y"])
    _assert_close(c, list(x.columns), b, se, p)
    assert c.holdout["f_statistic"] == pytest.approx(float(np.squeeze(overall_f(fit).fvalue)), rel=1e-8)
    assert c.holdout["n"] == len(hold)
    flag_effect = next(e for e in c.effects if e["column"] == "flag")
    assert 0.6 < flag_effect["estimate"] < 1.0


def test_a_datetime_over_thirty_days_keeps_its_curve(tmp_path):
    rng = np.random.default_rng(6)
    n = 3000
    seconds = rng.uniform(0, 30 * 86400, n)
    when = pd.Timestamp("2021-03-01") + pd.to_timedelta(seconds, unit="s")
    day = seconds / 86400
    df = pd.DataFrame({"when": when.strftime("%Y-%m-%d %H:%M:%S"),
                       "y": 0.01 * (day - 15) ** 2 + rng.normal(size=n)})
    c, centres, hold, _ = _holdout_fit(df, tmp_path, ["when", "when^2"])
    years = canonical(hold["when"], "datetime") - centres["when"]
    x = pd.DataFrame({"when": years, "when^2": years**2})
    b, se, p, fit = _statsmodels(x, hold["y"])
    _assert_close(c, list(x.columns), b, se, p)
    square = next(t for t in c.term_tests if t["term"] == "when^2")
    reduced = sm.OLS(hold["y"].to_numpy(), sm.add_constant(x[["when"]].to_numpy())).fit()
    partial = 1 - fit.ols.ssr / reduced.ssr
    assert square["partial_r2"] == pytest.approx(partial, rel=1e-8) and partial > 0.05
    assert square["p_value"] == pytest.approx(fit.pvalues[2], rel=1e-6)


def test_a_column_with_a_tiny_spread_is_not_constant(tmp_path):
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"tiny": rng.normal(size=2000) * 1e-7, "other": rng.normal(size=2000)})
    df["y"] = df["tiny"] * 1e7 + rng.normal(size=2000)
    doc = run(df, tmp_path)
    assert matters(doc) == {"tiny"}


def test_missing_values_the_plan_never_saw_are_counted(tmp_path):
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"x": rng.normal(size=3000), "z": rng.normal(size=3000)})
    df["y"] = df["x"] + rng.normal(size=3000)
    df.loc[df.index[1000:1100], "z"] = np.nan
    doc = run(df, tmp_path, sample_rows=500)
    note = next(n for n in doc["notes"] if "'z'" in n and "missing" in n)
    assert "100 missing values" in note
    assert matters(doc) == {"x"}


def test_column_verdicts_cover_every_column_used(tmp_path):
    rng, df = _base(3000, 3)
    df["x"] = rng.normal(size=len(df))
    df["y"] = df["x"] + rng.normal(size=len(df))
    doc = run(df, tmp_path)
    verdicts = {c["name"]: c for c in doc["columns"]}
    assert set(verdicts) == {c["name"] for c in doc["data"]["columns_used"]}
    x = verdicts["x"]
    assert x["verdict"] == "matters" and x["direction"] == "up" and x["terms"] == ["x"]
    assert x["joint_test"]["q_value"] < 1e-10 and 0.3 < x["importance"] < 0.7
    assert all(v["verdict"] == "not in the model" for k, v in verdicts.items() if k != "x")
    assert doc["schema_version"] == 2
    assert doc["hypotheses"][0]["holdout"]["covariance"] == "HC4"
