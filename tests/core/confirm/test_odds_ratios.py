"""The odds ratios of a yes/no target, their 95% intervals and p-values, and the separation
check, against statsmodels' ``Logit`` refitted on the same held-out rows, rebuilt here from the
file: the pipeline's split of the rows (``split_keys``: the holdout rows, and the holdout sample
as the ``sample_size`` of them with the smallest second key) and the design columns written out
by hand from the centres the results report."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from greta_core.backends import open_backend
from greta_core.confirm.logistic import SEPARATED
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze, make_plan
from greta_core.plan.design import canonical_features, split_keys

SEED = 4


def _run(df: pd.DataFrame, tmp_path: Path, **kw: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """The results of ``df`` and the rows its logistic fit used (the holdout sample)."""
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    params = AnalysisParams(target="y", seed=SEED, **kw)
    doc = analyze(FileSpec(str(path)), params)
    backend = open_backend("pandas", FileSpec(str(path)), None, {})
    plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
    u1, u2 = split_keys(canonical_features(plan, df), SEED)
    held = np.flatnonzero(u1 < params.holdout_fraction)
    sample = held[np.argsort(u2[held], kind="stable")[: params.sample_size]]
    return doc, df.iloc[sample].reset_index(drop=True)


def _design(rows: pd.DataFrame, doc: dict[str, Any], labels: list[str]) -> pd.DataFrame:
    """The design columns named ``labels``: numeric columns minus their reported centres, their
    products and squares, and 0/1 columns of a categorical's levels."""
    centre = {c["name"]: c["centre"] for c in doc["data"]["columns_used"] if c["kind"] == "numeric"}
    v = {n: rows[n] - c for n, c in centre.items()}
    out = {}
    for label in labels:
        if "=" in label:
            name, level = label.split("=", 1)
            out[label] = (rows[name] == level).astype(float)
        elif "*" in label:
            a, b = label.split("*")
            out[label] = v[a] * v[b]
        elif label.endswith("^2"):
            out[label] = v[label[:-2]] ** 2
        else:
            out[label] = v[label]
    return pd.DataFrame(out)


def _logit(rows: pd.DataFrame, x: pd.DataFrame) -> Any:
    y = (rows["y"] == "yes").to_numpy(float)
    return sm.Logit(y, sm.add_constant(x.to_numpy())).fit(disp=0, maxiter=200)


def test_odds_ratios_equal_a_statsmodels_logit_on_the_same_held_out_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    n = 16_000
    df = pd.DataFrame({"a": rng.normal(3, 2, n), "b": rng.uniform(0, 10, n), "noise": rng.normal(size=n),
                       "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])})
    eta = (-0.4 + 0.5 * (df.a - 3) - 0.15 * df.b + 0.12 * (df.a - 3) * (df.b - 5)
           + 0.7 * (df.plan == "pro") - 0.4 * (df.plan == "plus"))
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-eta)), "yes", "no")
    doc, rows = _run(df, tmp_path)
    confirmed = [h for h in doc["hypotheses"] if h["confirmed"]]
    assert confirmed and any("a*b" in h["terms"] for h in confirmed)
    for h in confirmed:
        info, odds = h["logistic"], h["odds_ratios"]
        # a sample of the held-out rows: the rows rebuilt here are that sample
        assert info["rows"] == len(rows) == 5000 < info["held_out_rows"] == doc["data"]["rows_holdout"]
        labels = [o["column"] for o in odds]
        assert {"a", "b", "plan=plus", "plan=pro", "a*b"} <= set(labels)
        fit = _logit(rows, _design(rows, doc, labels))
        assert fit.mle_retvals["converged"]
        ci = np.exp(fit.conf_int()[1:])
        for o, b, se, (lo, hi), p in zip(odds, fit.params[1:], fit.bse[1:], ci, fit.pvalues[1:]):
            assert o["estimate"] == pytest.approx(b, rel=1e-7, abs=1e-12), o
            assert o["std_error"] == pytest.approx(se, rel=1e-7), o
            assert o["odds_ratio"] == pytest.approx(np.exp(b), rel=1e-7), o
            assert (o["ci_low"], o["ci_high"]) == pytest.approx((lo, hi), rel=1e-7), o
            assert o["p_value"] == pytest.approx(p, rel=1e-6, abs=0.0), o
    lead = {o["column"]: o for o in confirmed[0]["odds_ratios"]}
    assert lead["a"]["odds_ratio"] > 1 > lead["b"]["odds_ratio"] and lead["plan=pro"]["ci_low"] > 1


def test_separated_rows_give_no_odds_ratios_where_statsmodels_finds_separation(tmp_path: Path) -> None:
    """``a`` tells the classes apart perfectly: on the same rows statsmodels' Logit does not
    converge (a ConvergenceWarning) and predicts every row's class with certainty, and Greta
    reports no odds ratio, but a note that says why."""
    rng = np.random.default_rng(9)
    n = 6000
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["y"] = np.where(df.a > 0.2, "yes", "no")
    doc, rows = _run(df, tmp_path)
    confirmed = [h for h in doc["hypotheses"] if h["confirmed"]]
    assert confirmed and all("a" in h["terms"] for h in confirmed)
    for h in confirmed:
        labels = list(h["terms"])  # numeric columns only: one design column each
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            fit = _logit(rows, _design(rows, doc, labels))
            p = fit.predict()
        assert any(issubclass(w.category, ConvergenceWarning) for w in seen)
        assert not fit.mle_retvals["converged"]
        assert np.mean((p < 1e-8) | (p > 1 - 1e-8)) > 0.95, np.mean((p < 1e-8) | (p > 1 - 1e-8))
        assert h["odds_ratios"] == []
    assert SEPARATED in doc["notes"]
